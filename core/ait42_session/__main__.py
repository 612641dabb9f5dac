"""``python -m ait42_session``: the ``ait42-session`` command line."""

from .cli import main

raise SystemExit(main())
