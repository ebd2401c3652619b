"""``python -m asfl``: the same command line as the ``asfl`` script."""

import sys

from asfl.cli import main

sys.exit(main())
