"""``python -m bench.reliability [options]``: the same as ``python -m bench reliability``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
