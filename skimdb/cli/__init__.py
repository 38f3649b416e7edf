"""The ``skimdb`` command line: train, evaluate, predict, explain, top-words,
mistakes, experiments.

Each command composes skimdb's public API; run ``skimdb COMMAND --help`` for its
options. Results go to standard output, progress to standard error. A user error
(missing data, a bad path or option) prints one line and exits with status 1
(2 for a bad command line); ``--debug`` shows the traceback instead.

Models are saved and read as skimdb's no-pickle model folders
(:mod:`skimdb.persistence`); a pickle or joblib file is read only when
``--allow-pickle`` is given, since loading one runs the code it holds.

The package: ``_options`` declares every option once and builds the parser from
that table, ``_commands`` runs the commands, ``_reports`` prints and draws their
results, ``_files`` reads and writes models and reviews, ``_quiet`` keeps
TensorFlow's C++ start-up logs off the output (it is imported first, before
anything imports TensorFlow).
"""

import contextlib
import os
import sys

from skimdb.cli import _quiet  # noqa: F401  (first: sets TF_CPP_MIN_LOG_LEVEL)
from skimdb.cli._commands import HANDLERS
from skimdb.cli._files import UserError
from skimdb.cli._options import build_parser, parse_args
from skimdb.cli._reports import say

__all__ = ["UserError", "build_parser", "main"]


def main(argv=None):
    """Run the ``skimdb`` command line; return the exit status.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 for a user error, 2 for a bad command line.

    Examples
    --------
    >>> from skimdb.cli import main
    >>> main(["--version"])
    Traceback (most recent call last):
    SystemExit: 0
    """
    args = parse_args(argv)
    try:
        status = HANDLERS[args.command](args)
        sys.stdout.flush()  # a closed pipe fails here, not at the interpreter's exit
        return status
    except BrokenPipeError:
        return _stdout_closed()
    except KeyboardInterrupt:
        say("skimdb: interrupted")
        return 130
    except MemoryError:
        if args.debug:
            raise
        say(f"skimdb {args.command}: error: out of memory; for a big file, train "
            "with --chunk-size N, which streams it in bounded memory")  # fmt: skip
        return 1
    except (UserError, OSError, ValueError, TypeError, ImportError) as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        say(f"skimdb {args.command}: error: {message}")  # escaped: a path may hold ESC
        return 1


#: The status of a command whose reader went away (``| head -1``): that of a
#: filter such as ``cat`` killed by SIGPIPE, as shells report it.
SIGPIPE_STATUS = 128 + 13


def _stdout_closed():
    """Stop quietly once standard output's reader has gone: the rest of the
    output goes to ``os.devnull``, so that Python's final flush does not fail
    again (as the documentation of Python's :mod:`signal` module recommends)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return SIGPIPE_STATUS
