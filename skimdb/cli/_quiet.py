"""Keep TensorFlow's C++ start-up logs off the command line's output.

Imported first by :mod:`skimdb.cli`, before anything imports TensorFlow: unless
the user set ``TF_CPP_MIN_LOG_LEVEL`` themselves, it is set to 3 (no C++ log).
TensorFlow 2.20 and later also log their start-up (oneDNN, CUDA, CPU features)
through absl before they read that variable, so :func:`import_tensorflow` loads
TensorFlow with the process's standard error (file descriptor 2) pointed at
``os.devnull``; Python's own errors still reach the user, raised after it is
restored.
"""

import contextlib
import os
import sys

LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
#: Whether the user chose TensorFlow's C++ log level: then it is left alone.
USER_SET_LOG_LEVEL = LOG_LEVEL_ENV in os.environ
os.environ.setdefault(LOG_LEVEL_ENV, "3")


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at ``os.devnull`` (C++ code writes there directly,
    bypassing ``sys.stderr``), and restore it afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow():
    """Import TensorFlow now, quietly unless the user set ``TF_CPP_MIN_LOG_LEVEL``.

    Call it before the first import of anything that imports TensorFlow (IMDBNet,
    a saved network); later calls do nothing.
    """
    if "tensorflow" in sys.modules:
        return
    if USER_SET_LOG_LEVEL:
        import tensorflow  # noqa: F401

        return
    with _native_stderr_silenced():
        import tensorflow  # noqa: F401
