"""The entry point PyInstaller freezes into the sidecar binary (tools/build-sidecar): the
``ait42-session`` command line, whose ``serve`` the editor runs."""

import sys

from ait42_session.cli import main

if __name__ == "__main__":
    sys.exit(main())
