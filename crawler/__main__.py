"""``python -m crawler`` is the ``newsmon`` command."""

import sys

from crawler.cli import main

sys.exit(main())
