#!/usr/bin/env python
"""Django's command-line utility; `liftsafe` is the same with a friendlier name."""
import sys

from liftsafe.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
