"""``python -m minigrad.l2l``: see :mod:`minigrad.l2l.cli`."""

import signal
import sys

from .cli import main


def run() -> int:
    """:func:`~minigrad.l2l.cli.main`'s status. A run stopped by Ctrl-C or SIGTERM has saved
    and returns 130 or 143 with the signal handlers it found put back; a second Ctrl-C right
    after the first (a double tap) would then hit Python's handler as the process exits and
    turn the clean, saved stop into a crash (status -2). So a Ctrl-C that reaches this level
    means 130, and a stopped process ignores further signals while it exits."""
    try:
        status = main()
    except KeyboardInterrupt:
        status = 130
    if status in (130, 143):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    return status


if __name__ == "__main__":
    sys.exit(run())
