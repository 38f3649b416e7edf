"""``python -m skimdb``: the command line (see :mod:`skimdb.cli`)."""

import sys

from skimdb.cli import main  # first: quiets TensorFlow's start-up before it loads

if __name__ == "__main__":
    sys.exit(main())
