"""Keep TensorFlow's C++ start-up logs off the command line's output.

Imported first by :mod:`skimdb.cli`, before anything imports TensorFlow: unless
the user set ``TF_CPP_MIN_LOG_LEVEL`` themselves, it is set to 3 (no C++ log).
TensorFlow 2.20 and later also log their start-up (oneDNN, CUDA, CPU features)
through absl before they read that variable, so :func:`import_tensorflow` loads
TensorFlow with the process's standard error (file descriptor 2) pointed
elsewhere: at ``os.devnull``, or where the user set the level, at a temporary
file whose lines are then passed on only if their severity (absl's ``I``,
``W``, ``E``, ``F``) is at or above that level. Python's own errors still
reach the user, raised after it is restored.
"""

import contextlib
import os
import re
import sys
import tempfile

LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
#: Whether the user chose TensorFlow's C++ log level: then it is left alone.
USER_SET_LOG_LEVEL = LOG_LEVEL_ENV in os.environ
os.environ.setdefault(LOG_LEVEL_ENV, "3")

#: A log line's severity: absl's ``I0000 00:00:...`` prefix, or its
#: ``WARNING: All log messages before absl::InitializeLog() ...`` line.
_SEVERITY = re.compile(rb"([IWEF])\d{4} |(INFO|WARNING|ERROR|FATAL):")
_LEVELS = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


def _severity(line):
    """0 (info) to 3 (fatal) for an absl log line; None for any other line."""
    match = _SEVERITY.match(line)
    if match is None:
        return None
    return _LEVELS[(match.group(1) or match.group(2))[:1]]


def _user_level():
    """The user's ``TF_CPP_MIN_LOG_LEVEL`` as TensorFlow reads it (0 if not a
    number)."""
    try:
        return int(os.environ.get(LOG_LEVEL_ENV, "0"))
    except ValueError:
        return 0


@contextlib.contextmanager
def _native_stderr_filtered(min_level):
    """Point file descriptor 2 (C++ code writes there directly, bypassing
    ``sys.stderr``) at a temporary file, then restore it and pass on the lines
    logged at ``min_level`` or above (with the lines continuing them), and
    those before any log line; with ``min_level`` None, pass on nothing."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        try:
            os.dup2(capture.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if min_level is not None:
                capture.seek(0)
                severity = None
                for line in capture:  # a line of no severity continues the last
                    if (own := _severity(line)) is not None:
                        severity = own
                    if severity is None or severity >= min_level:
                        os.write(2, line)


def import_tensorflow():
    """Import TensorFlow now: its start-up logs dropped, or where the user set
    ``TF_CPP_MIN_LOG_LEVEL``, filtered at that level (TensorFlow itself
    ignores it for the lines it logs before reading it).

    Call it before the first import of anything that imports TensorFlow (IMDBNet,
    a saved network); later calls do nothing.
    """
    if "tensorflow" in sys.modules:
        return
    with _native_stderr_filtered(_user_level() if USER_SET_LOG_LEVEL else None):
        import tensorflow  # noqa: F401
