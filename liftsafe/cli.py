"""The `liftsafe` command line.

`liftsafe demo`, `liftsafe serve`, `liftsafe import …` and every Django management
command (`liftsafe migrate`, `liftsafe createsuperuser` …) share one entry point:
each is a management command living in the app it belongs to.
"""
from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Run a liftsafe / Django management command; returns the exit status."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftsafe.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    if len(argv) == 1:
        argv.append("help")
    execute_from_command_line(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
