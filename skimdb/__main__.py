"""``python -m skimdb``: the command line (see :mod:`skimdb.cli`)."""

import sys

from skimdb.cli import main

if __name__ == "__main__":
    sys.exit(main())
