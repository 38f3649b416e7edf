"""Where the IMDB files live (the data home) and where derived caches go."""

import os
import stat
from pathlib import Path

#: Environment variable naming the data home.
DATA_HOME_ENV = "SKIMDB_DATA"
#: Environment variable naming the cache folder used when the data home is
#: read-only.
CACHE_ENV = "SKIMDB_CACHE"
_DEFAULT_DATA_HOME = "~/skimdb_data"


def _expand(path, name):
    """``Path(path).expanduser()``, naming ``name`` when ``~user`` is unknown."""
    try:
        return Path(path).expanduser()
    except RuntimeError as exc:  # pathlib: "Could not determine home directory."
        raise ValueError(
            f"{name}={os.fspath(path)!r} starts with a '~' whose home folder is "
            f"unknown ({exc}); give the folder's full path instead."
        ) from None


def _as_path(value, name):
    """Return ``value`` (str or path-like) as an expanded :class:`~pathlib.Path`."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a str or path-like object (or None), "
            f"got {type(value).__name__}: {value!r}"
        )
    return _expand(os.fspath(value), name)


def get_data_home(data_home=None):
    """Return the folder holding the IMDB files.

    The folder is, in order of precedence, ``data_home`` when given, the
    ``SKIMDB_DATA`` environment variable when set (and not empty), else
    ``~/skimdb_data``. A leading ``~`` is expanded (an unknown ``~user`` is a
    ``ValueError`` naming the parameter or the variable). Nothing is created or
    written here: the folder may be missing or read-only. The loaders create
    it only when they need to write into it (to download files) and can.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. ``None`` means ``SKIMDB_DATA``, else
        ``~/skimdb_data``.

    Returns
    -------
    data_home : pathlib.Path
        The data home folder, which may not exist.

    Examples
    --------
    >>> from skimdb.datasets import get_data_home
    >>> str(get_data_home("/srv/imdb"))
    '/srv/imdb'
    """
    if data_home is not None:
        return _as_path(data_home, "data_home")
    if os.environ.get(DATA_HOME_ENV):
        return _expand(
            os.environ[DATA_HOME_ENV], f"the environment variable {DATA_HOME_ENV}"
        )
    return _expand(_DEFAULT_DATA_HOME, "the default data home")


def _is_writable_dir(path):
    """Whether ``path`` is an existing folder that we may write into.

    A folder without any write permission bit counts as read-only even when
    the process could write there anyway (root ignores permission bits): such
    a folder was made read-only on purpose, e.g. a shared copy of the data.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return (
        stat.S_ISDIR(mode)
        and bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        and os.access(path, os.W_OK | os.X_OK)
    )


def _keras_datasets_dir():
    """The folder where Keras keeps downloaded data sets (honours KERAS_HOME)."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return _expand(keras_home, "the environment variable KERAS_HOME") / "datasets"


def _cache_dir(data_home):
    """The folder for derived caches of the data found in ``data_home``.

    It is the data home itself when it is writable, else the ``SKIMDB_CACHE``
    environment variable when set, else ``$XDG_CACHE_HOME/skimdb`` or
    ``~/.cache/skimdb``. The folder may not exist yet.
    """
    if _is_writable_dir(data_home):
        return Path(data_home)
    cache = os.environ.get(CACHE_ENV)
    if cache:
        return _expand(cache, f"the environment variable {CACHE_ENV}")
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = (
        _expand(xdg, "the environment variable XDG_CACHE_HOME")
        if xdg
        else _expand(Path("~", ".cache"), "the default cache folder")
    )
    return base / "skimdb"
