"""``python -m minigrad.l2l``: see :mod:`minigrad.l2l.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
