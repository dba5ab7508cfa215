"""The service entry: ``.venv/bin/python scheduler.py [--settings PATH]`` is ``newsmon run``."""

from __future__ import annotations

import sys

from crawler.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
