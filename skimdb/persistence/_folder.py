"""The atomic folder swap that :func:`skimdb.persistence.save` ends with, and
the rule of which existing folders it may replace (the command line's too)."""

import contextlib
import ctypes
import errno
import os
import re
import secrets
import shutil
import sys

from skimdb.persistence._format import MANIFEST

__all__ = ["holds_saved_model"]


def holds_saved_model(folder):
    """Whether ``folder`` holds a model :func:`~skimdb.persistence.save` wrote
    (its manifest, a regular file): only such a folder is ever replaced."""
    manifest = os.path.join(folder, MANIFEST)
    return not os.path.islink(manifest) and os.path.isfile(manifest)


def _check_target(folder, overwrite):
    if not os.path.lexists(folder):
        return
    if folder.is_symlink() or not folder.is_dir():
        raise FileExistsError(
            f"{str(folder)!r} exists and is not a folder; save into a new one."
        )
    if not any(folder.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(
            f"{str(folder)!r} exists and is not an empty folder; save into a new "
            "one, or pass overwrite=True to replace a saved model."
        )
    if not holds_saved_model(folder):
        raise FileExistsError(
            f"{str(folder)!r} holds no saved model (no {MANIFEST}); refusing to "
            "replace it even with overwrite=True."
        )


def _partial_pattern(folder):
    return re.compile(rf"\.{re.escape(folder.name)}-(\d+)-[0-9a-f]{{16}}\.partial")


def _new_partial_folder(folder):
    while True:
        name = f".{folder.name}-{os.getpid()}-{secrets.token_hex(8)}.partial"
        tmp = folder.parent / name
        try:
            os.mkdir(tmp, 0o777)  # the umask applies, unlike mkdtemp's 0o700
        except FileExistsError:
            continue
        return tmp


def _remove_stale_partials(folder):
    """Remove the partial folders of this target left by processes now dead."""
    pattern = _partial_pattern(folder)
    for entry in os.scandir(folder.parent):
        match = pattern.fullmatch(entry.name)
        if not match or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _alive(pid):
            continue  # another save of this target may still be writing it
        shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _swap_in(tmp, folder):
    """Put ``tmp`` at ``folder`` in one step; a previous model ends up at ``tmp``."""
    try:
        os.rename(tmp, folder)  # absent or empty target: one atomic rename
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    if _rename_exchange(tmp, folder):
        return
    # no atomic exchange here: two renames, undone if the second fails
    aside = tmp.with_name(tmp.name[: -len(".partial")] + ".old")
    os.rename(folder, aside)
    try:
        os.rename(tmp, folder)
    except BaseException:
        os.rename(aside, folder)
        raise
    os.rename(aside, tmp)


_RENAME_EXCHANGE = 2


def _rename_exchange(a, b):
    """Swap two paths atomically (Linux renameat2); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p] * 2 + [ctypes.c_uint]
    at_fdcwd = -100
    result = renameat2(
        at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(error, os.strerror(error), str(b))


def _sync_folder(folder):
    for path in folder.iterdir():
        _fsync_path(path)
    _fsync_path(folder)


def _fsync_path(path):
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
