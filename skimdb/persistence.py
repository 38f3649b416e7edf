"""Save and load fitted skimdb models without pickle.

:func:`save` writes a fitted :class:`~skimdb.IMDBNet`, one of skimdb's own
transformers (:class:`~skimdb.MultiHotVectorizer` and the other steps of
``skimdb.preprocessing`` and ``skimdb.text``), or a
:class:`~sklearn.pipeline.Pipeline` of them, into a folder: ``skimdb.json``
(the classes, parameters and small fitted attributes, as plain JSON),
``arrays.npz`` (the fitted numeric arrays, read back with
``allow_pickle=False``) and one ``.keras`` file per network (Keras' own format:
a zip of the model's JSON configuration and its weights). :func:`load` reads
it back; the loaded model predicts exactly as the saved one did, in any
process.

Which format to trust
---------------------
Pickle and joblib files can run any code when they are loaded: load them only
from sources you trust, exactly as the Python documentation warns. The folder
:func:`save` writes holds no pickle, and :func:`load` runs no code from it and
is bounded: it rebuilds only the classes above (a name in the file is looked up
only among them); checks every parameter with the estimator's own constraints
and every fitted attribute against those ``fit`` produces before building
anything; reads only regular files inside the folder (symlinks, FIFOs and
devices are refused by name) and only the arrays the manifest names, their
sizes and shapes checked before decompression against what the estimator's
parameters and state imply; bounds the manifest, each array, the word index
and nesting (the user guide's persistence page lists the limits); checks
each network's configuration against size bounds before Keras builds it, then
reads it with
``keras.saving.load_model(..., safe_mode=True)``, which refuses to deserialize
Python code (lambda layers). Every refusal is a :class:`ModelFileError` naming
the file and the field. That makes it the format to exchange models in. It is
not a sandbox: its safety is that of these checks and of Keras' loader (keep
Keras up to date), and a model from an unknown source can still predict
nonsense. The user guide's persistence page lists each guarantee.

Each estimator owns what it saves: a class may define ``_get_saved_state()``
(its fitted values, ``keras.Model`` instances among them) and the classmethod
``_from_saved_state(params, state)`` (which checks them), as ``IMDBNet`` does;
skimdb's plain transformers are saved as their parameters and fitted attributes.

The price of the safety is scope: parameters must be plain values. An
``IMDBNet`` whose ``optimizer`` is an instance rather than a name, or that has
``callbacks`` or a ``numpy.random.RandomState`` as ``random_state``, is refused
with a ``TypeError`` naming the parameter; use pickle for those, or set the
parameter to a plain value first (it only matters for training). Steps other
than skimdb's are refused the same way.

Reproducibility
---------------
A loaded model predicts bit for bit what the saved one did (same weights,
same float32 arithmetic on the same kind of machine). Training is reproducible
too: ``IMDBNet(random_state=<int>)`` derives the seed of each layer's
initializer and a stateless per-epoch shuffle seed from the int, so two fits
with the same data and ``random_state`` give identical predictions, in the
same or in separate processes, without reading or setting any global random
state. TensorFlow's CPU kernels for this network (sparse-dense and dense matrix
products, element-wise ops) are deterministic, so nothing else is needed on
CPU; ``tf.config.experimental.enable_op_determinism()`` is not called (on a GPU
it would be needed for bitwise equality, at some speed cost). The cost on CPU
is nil: seeding only fixes which numbers are drawn.

Examples
--------
>>> import numpy as np
>>> from sklearn.pipeline import Pipeline
>>> from skimdb import IMDBNet, MultiHotVectorizer
>>> from skimdb.persistence import load, save
>>> reviews = [[1, 5, 7], [1, 6, 8], [1, 5, 9], [1, 6]] * 5
>>> labels = [1, 0, 1, 0] * 5
>>> pipe = Pipeline([("vec", MultiHotVectorizer(num_words=10)),
...                  ("clf", IMDBNet(epochs=2, random_state=0))])
>>> pipe = pipe.fit(reviews, labels)
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
>>> save(pipe, folder)
>>> sorted(p.name for p in folder.iterdir())
['1_clf.keras', 'arrays.npz', 'skimdb.json']
>>> np.array_equal(load(folder).predict_proba(reviews), pipe.predict_proba(reviews))
True
"""

import contextlib
import ctypes
import errno
import json
import math
import numbers
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["ModelFileError", "load", "save"]

#: The name of the JSON file in a saved folder.
MANIFEST = "skimdb.json"
#: The fitted arrays of the steps (no pickle: object arrays are refused).
ARRAYS = "arrays.npz"
FORMAT = "skimdb-model"
#: Bump when the layout changes; :func:`load` refuses versions it does not know.
FORMAT_VERSION = 1
_NUMPY_FLOAT_TYPES = {"float32": np.float32, "float64": np.float64}

#: The widest layer or input a saved network may have (TensorFlow's int32 indices).
MAX_WIDTH = 2**31 - 1
#: The most weights a saved network may have (1 GiB of float32).
MAX_NETWORK_PARAMETERS = 2**28
#: The largest array read from arrays.npz: the weights of the largest network.
MAX_ARRAY_BYTES = 4 * MAX_NETWORK_PARAMETERS
#: The most bytes all the arrays of one folder may declare together.
MAX_ARRAYS_BYTES = 2 * MAX_ARRAY_BYTES
#: The most a compressed array member may expand (save writes them stored).
_MAX_EXPANSION = 64
#: Room for a .npy header (numpy writes them in 64 to a few hundred bytes).
_MAX_NPY_HEADER = 2**16
#: The most words a saved word index may hold: 12 times IMDB's 88,584.
MAX_WORD_INDEX = 2**20
#: The largest skimdb.json, and the largest config.json inside a .keras file.
_MAX_JSON_BYTES = 2**27
_MAX_KERAS_CONFIG_BYTES = 2**24
#: How deep values (and Pipelines) may nest in skimdb.json; skimdb's own nest
#: three levels at most, and Python's recursion limit is about 1000 frames.
_MAX_DEPTH = 32
#: Keras layers a saved network may hold; anything else is refused unread.
_NETWORK_LAYERS = {"InputLayer", "Dense", "SparseDense", "Dropout"}
_DENSE_LAYERS = {"Dense", "SparseDense"}


class ModelFileError(ValueError):
    """A saved model folder that :func:`load` refuses: corrupt, edited or unsafe.

    The message names the file and the field. Raised for anything in the folder
    that is not what :func:`save` writes: a file that is a symlink, a FIFO or a
    device, invalid JSON or JSON of the wrong types, a class or parameter the
    estimator does not accept, a fitted attribute the class does not produce,
    an array whose size differs from the one declared or from the one the
    estimator's parameters and state imply, an array, word index or manifest
    over the bounds, weights that are NaN or infinite, values nested too deep,
    a network larger than the bounds, or a zip file that cannot be read.
    """


def save(estimator, folder, *, overwrite=False, _beside=None):
    """Save a fitted skimdb model into a folder, without pickle.

    Parameters
    ----------
    estimator : IMDBNet, a skimdb transformer, or a Pipeline of them
        A fitted model.
    folder : str or path-like
        Where to save it. The files are written into a new folder beside it
        (``.NAME-PID-TOKEN.partial``) that takes its place only when complete,
        so a failed or interrupted save never leaves a half-written model at
        ``folder``. Partial folders left by a killed save of the same target
        are removed by the next save. The folder's mode follows the umask.
    overwrite : bool, default=False
        Whether to replace a model already saved at ``folder``. The previous
        model stays loadable at ``folder`` until the new one is complete, and
        is then swapped out in one step and removed. Only a folder holding a
        saved model (or an empty one) is ever replaced.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the model (or a step) is not fitted.
    TypeError
        When a step is not a skimdb one, or a parameter is not a plain value
        (see the module's documentation).
    FileExistsError
        When ``folder`` is not an empty folder, and ``overwrite`` is False or
        it holds something other than a saved model.
    OSError
        When writing fails (disk full, say); ``folder`` is then as it was.
    """
    folder = Path(os.path.abspath(Path(os.fspath(folder)).expanduser()))
    _check_target(folder, overwrite)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(folder)
    tmp = _new_partial_folder(folder)
    try:
        arrays = {}
        description = _describe(estimator, "", tmp, arrays)
        if arrays:
            with open(tmp / ARRAYS, "wb") as file:
                np.savez(file, **arrays)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "skimdb_version": _skimdb_version(),
            "estimator": description,
        }
        text = json.dumps(manifest, indent=1)
        if len(text) > _MAX_JSON_BYTES:  # ASCII: json.dumps escapes the rest
            raise ValueError(
                f"the model's {MANIFEST} would be {len(text)} bytes; load reads at "
                f"most {_MAX_JSON_BYTES}. Its word index or vocabulary is too large."
            )
        (tmp / MANIFEST).write_text(text, encoding="utf-8")
        if _beside is not None:  # the command line's files that go with the model
            _beside(tmp)
        _sync_folder(tmp)
        _check_target(folder, overwrite)  # again: it may have changed meanwhile
        _swap_in(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)  # the previous model, if any
    _fsync_path(folder.parent)


def load(folder, *, network="keras"):
    """Load a model saved by :func:`save`, running no code from the folder.

    Parameters
    ----------
    folder : str or path-like
        The folder :func:`save` wrote.
    network : {"keras", "numpy"}, default="keras"
        How each :class:`~skimdb.IMDBNet` comes back. ``"keras"``: an
        ``IMDBNet`` with its Keras network, ready to predict and to train
        further (this imports TensorFlow: 3.5 to 5 s and about 0.5 GB).
        ``"numpy"``: a predictor computing the same network's forward pass in
        NumPy and SciPy from the saved weights (probabilities within 1e-6 of
        Keras'), with ``predict``, ``predict_proba``, ``score`` and
        ``classes_``, but no training; TensorFlow is not imported. This is what
        ``skimdb predict`` uses.

    Returns
    -------
    estimator : IMDBNet, a skimdb transformer, or a Pipeline of them
        The fitted model, predicting exactly as the saved one.

    Raises
    ------
    FileNotFoundError
        When there is no ``skimdb.json`` in ``folder``.
    ModelFileError
        When anything in the folder is not what :func:`save` writes (see
        :class:`ModelFileError`); a ``ValueError``.
    """
    if network not in ("keras", "numpy"):
        raise ValueError(f"network must be 'keras' or 'numpy'; got {network!r}")
    folder = Path(os.fspath(folder)).expanduser()
    if not os.path.lexists(folder / MANIFEST):
        raise FileNotFoundError(
            errno.ENOENT, f"no saved model (no {MANIFEST})", str(folder)
        )
    raw = _read_file(folder, MANIFEST, _MAX_JSON_BYTES)
    manifest = _parse_json(raw, folder / MANIFEST)
    path = folder / MANIFEST
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(
            f"{str(path)!r} was not written by skimdb.persistence.save."
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} has format version {manifest.get('format_version')!r}; "
            f"this skimdb reads version {FORMAT_VERSION}. Load it with the skimdb "
            f"version that saved it ({manifest.get('skimdb_version')!r})."
        )
    with _Loader(folder, network) as loader:
        return loader.rebuild(
            _field(manifest, "estimator", dict, "estimator", str(path)), ""
        )


# -- saving: the folder swap --------------------------------------------------------


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
    manifest = folder / MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
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


# -- describing estimators ----------------------------------------------------------


def _skimdb_version():
    from skimdb import __version__

    return __version__


def _describe(estimator, prefix, folder, arrays):
    """A JSON-able description of a fitted estimator; Keras models go to files."""
    if type(estimator) is Pipeline:
        check_is_fitted(estimator)
        params = estimator.get_params(deep=False)
        extra = {k: v for k, v in params.items() if k not in ("steps", "verbose")}
        if any(value is not None for value in extra.values()):
            raise TypeError(
                f"Only Pipelines without {', '.join(sorted(extra))} can be saved; "
                f"got {extra}."
            )
        steps = []
        for i, (name, step) in enumerate(estimator.steps):
            steps.append([name, _describe(step, f"{prefix}{i}_{name}", folder, arrays)])
        return {"class": "Pipeline", "verbose": bool(params["verbose"]), "steps": steps}
    cls = _known_class(type(estimator).__module__, type(estimator).__name__)
    if cls is not type(estimator):
        raise TypeError(
            "skimdb.persistence saves IMDBNet, skimdb's own transformers and "
            f"Pipelines of them; got {type(estimator).__name__} (step "
            f"{prefix or 'root'!r}). Use pickle or joblib for other steps, and load "
            "those files only from sources you trust."
        )
    check_is_fitted(estimator)
    name = prefix or "estimator"
    state = _get_saved_state(estimator)
    for key, check in _FITTED_CHECKS.get(cls.__name__, {}).items():
        if key in state:  # save nothing that load would refuse
            try:
                check(state[key], estimator)
            except (ValueError, TypeError, OverflowError) as exc:
                raise ValueError(
                    f"{name}.{key} can't be saved: load would refuse it, as it {exc}"
                ) from None
    fitted = {}
    for key, value in state.items():
        if _is_keras_model(value):
            # step names may hold any character: keep the file name a plain one
            model_file = re.sub(r"[^A-Za-z0-9_.-]", "_", prefix or "model")
            model_file += "" if key == "model_" else f"_{key}"
            model_file += ".keras"
            value.save(folder / model_file)
            fitted[key] = {"__keras__": model_file}
        else:
            fitted[key] = _encode(value, f"{name}.{key}", arrays)
    return {
        "class": cls.__name__,
        "module": cls.__module__,
        "params": {
            key: _encode(value, f"{prefix}__{key}" if prefix else key)
            for key, value in estimator.get_params(deep=False).items()
        },
        "fitted": fitted,
    }


def _get_saved_state(estimator):
    """The estimator's own saved state, or the default: its fitted attributes."""
    if hasattr(type(estimator), "_get_saved_state"):
        return estimator._get_saved_state()
    params = estimator.get_params(deep=False)
    return {key: v for key, v in vars(estimator).items() if key not in params}


def _is_keras_model(value):
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.Model)


#: The modules whose estimators are saved as parameters plus fitted arrays.
_PLAIN_MODULES = ("skimdb.preprocessing", "skimdb.text")
_NETWORK_MODULE = "skimdb.network"


def _known_class(module_name, class_name):
    """A class of skimdb's own steps, or None: nothing else is ever loaded."""
    import importlib

    from sklearn.base import BaseEstimator

    if module_name == _NETWORK_MODULE and class_name == "IMDBNet":
        from skimdb.network import IMDBNet

        return IMDBNet
    if module_name not in _PLAIN_MODULES or not isinstance(class_name, str):
        return None
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if (
        isinstance(cls, type)
        and issubclass(cls, BaseEstimator)
        and cls.__module__ == module_name
        and not class_name.startswith("_")
    ):
        return cls
    return None


def _encode(value, name, arrays=None):
    """``value`` as JSON; dicts, arrays and numpy types tagged to come back alike."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, list):
        return [_encode(v, name, arrays) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, name, arrays) for v in value]}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_encode(k, name, arrays), _encode(v, name, arrays)]
                for k, v in value.items()
            ]
        }
    if isinstance(value, type) and value.__name__ in _NUMPY_FLOAT_TYPES:
        if _NUMPY_FLOAT_TYPES[value.__name__] is value:
            return {"__numpy_type__": value.__name__}
    if isinstance(value, np.dtype) and value.name in _NUMPY_FLOAT_TYPES:
        return {"__numpy_dtype__": value.name}
    if (
        isinstance(value, np.ndarray)
        and arrays is not None
        and value.dtype.kind in "biufU"
        and value.dtype.fields is None
    ):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key, "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.ndarray) and value.ndim == 1:
        if value.dtype.kind in "biufU" or (
            value.dtype == object and all(isinstance(v, str) for v in value)
        ):
            return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    raise TypeError(
        f"{name}={value!r:.80} can't be saved by skimdb.persistence, which stores "
        "parameters as plain JSON values. Set it to a plain value (a name, a "
        "number, None) before saving, or use pickle/joblib and load that file only "
        "from sources you trust."
    )


# -- loading: reading files ---------------------------------------------------------


def _plain_name(name):
    return (
        isinstance(name, str)
        and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name) is not None
        and name not in (".", "..")
    )


def _open_regular(folder, name):
    """An open binary file for ``folder/name``, only if it is a regular file.

    Symlinks, FIFOs, devices and sockets are refused by name, before and after
    opening (``O_NOFOLLOW``; ``O_NONBLOCK`` so that opening a FIFO never waits).
    """
    path = Path(folder) / name
    if not _plain_name(name):
        raise ModelFileError(f"{str(path)!r}: refusing the file name {name!r}.")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ModelFileError(f"{str(path)!r} is missing.") from None
    _check_regular(info, path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ModelFileError(f"{str(path)!r} cannot be opened: {exc}") from None
    try:
        _check_regular(os.fstat(fd), path)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _check_regular(info, path):
    if stat.S_ISLNK(info.st_mode):
        raise ModelFileError(
            f"{str(path)!r} is a symbolic link; a saved model holds regular files only."
        )
    if not stat.S_ISREG(info.st_mode):
        raise ModelFileError(
            f"{str(path)!r} is not a regular file (a FIFO, device, socket or "
            "folder); a saved model holds regular files only."
        )


def _read_file(folder, name, max_bytes):
    with _open_regular(folder, name) as file:
        size = os.fstat(file.fileno()).st_size
        if size > max_bytes:
            raise ModelFileError(
                f"{str(Path(folder) / name)!r} is {size} bytes; at most {max_bytes} "
                "are read."
            )
        return file.read(max_bytes + 1)


def _parse_json(raw, path):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{str(path)!r} is not valid JSON: {exc}") from None


def _field(mapping, key, kind, where, path):
    if not isinstance(mapping, dict) or key not in mapping:
        raise ModelFileError(f"{path!r}, field {where!r}: is missing.")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ModelFileError(
            f"{path!r}, field {where!r}: must be a "
            f"{getattr(kind, '__name__', kind)}; got {value!r:.80}."
        )
    return value


class _KerasRef:
    """A ``.keras`` file named by the manifest, loaded once its checks pass."""

    def __init__(self, name, where):
        self.name, self.where = name, where


class _ArrayRef:
    """An array of ``arrays.npz`` whose header is read and checked, its data not:
    ``shape`` and ``dtype`` are known, and :meth:`read` decompresses it."""

    def __init__(self, loader, info, shape, fortran, dtype, header, path):
        self.loader, self.info, self.header, self.path = loader, info, header, path
        self.shape, self.fortran, self.dtype = tuple(shape), fortran, dtype

    @property
    def ndim(self):
        return len(self.shape)

    def read(self):
        nbytes = math.prod(self.shape) * self.dtype.itemsize
        try:
            with self.loader.arrays().open(self.info) as file:
                file.read(self.header)
                data = file.read(nbytes)
        except Exception as exc:  # zip and zlib errors alike
            raise ModelFileError(f"{self.path}: {type(exc).__name__}: {exc}") from None
        if len(data) != nbytes:
            raise ModelFileError(f"{self.path}: truncated.")
        return (
            np.frombuffer(data, dtype=self.dtype)
            .reshape(self.shape, order="F" if self.fortran else "C")
            .copy()
        )


def _read_refs(value):
    """``value`` with each :class:`_ArrayRef` in it read (nesting is bounded)."""
    if isinstance(value, _ArrayRef):
        return value.read()
    if isinstance(value, list):
        return [_read_refs(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_read_refs(v) for v in value)
    if isinstance(value, dict):
        if not any(isinstance(v, _HOLDERS) for v in value.values()):
            return value  # a word index, say: nothing to read
        return {k: _read_refs(v) for k, v in value.items()}
    return value


_HOLDERS = (_ArrayRef, list, tuple, dict)


def _read_npy_header(file):
    """The shape, order and dtype of a ``.npy`` file, of the plain kinds only."""
    version = npy_format.read_magic(file)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(file)
    elif version == (2, 0):
        shape, fortran, dtype = npy_format.read_array_header_2_0(file)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biufU":
        raise ValueError(f"unsupported dtype {dtype.str!r}")
    return shape, fortran, dtype


# -- loading: rebuilding ------------------------------------------------------------


class _Loader:
    def __init__(self, folder, network="keras"):
        self.network = network
        self.folder = Path(folder)
        self.manifest = str(self.folder / MANIFEST)
        self._npz = None
        self._npz_file = None
        self._array_bytes = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._npz is not None:
            self._npz.close()
            self._npz_file.close()

    def error(self, where, message):
        return ModelFileError(f"{self.manifest!r}, field {where!r}: {message}")

    # -- the tree of estimators

    def rebuild(self, description, where, depth=0):
        if not isinstance(description, dict):
            raise self.error(where or "estimator", "must be a JSON object.")
        kind = description.get("class")
        if kind == "Pipeline":
            if depth >= _MAX_DEPTH:
                raise self.error(
                    where, f"Pipelines nested deeper than {_MAX_DEPTH} are refused."
                )
            return self.rebuild_pipeline(description, where, depth + 1)
        module = description.get("module")
        if kind == "IMDBNet" and module is None:
            module = _NETWORK_MODULE
        if (kind, module, self.network) == ("IMDBNet", _NETWORK_MODULE, "numpy"):
            return self.rebuild_predictor(description, where or "estimator")
        cls = _known_class(module, kind) if isinstance(module, str) else None
        if cls is None:
            raise self.error(
                f"{where or 'estimator'}.class",
                "skimdb.persistence.load rebuilds Pipelines, IMDBNet and the steps "
                f"of {', '.join(_PLAIN_MODULES)} only; the file names {kind!r}.",
            )
        name = where or "estimator"
        params = self.params(cls, description, name)
        fitted = _field(description, "fitted", dict, f"{name}.fitted", self.manifest)
        state = {
            str(key): self.decode(value, f"{name}.fitted.{key}")
            for key, value in fitted.items()
        }
        if "model" in description:  # the layout of the first saves
            state["model_"] = _KerasRef(description["model"], f"{name}.model")
        state = self.read_arrays(cls.__name__, params, state, name)
        if hasattr(cls, "_from_saved_state"):
            for key, value in state.items():
                if isinstance(value, _KerasRef):
                    state[key] = self.load_keras(value, params, state)
            try:
                return cls._from_saved_state(params, state)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise self.error(
                    f"{name}.fitted", f"{type(exc).__name__}: {exc}"
                ) from exc
        return self.restore_plain(cls, params, state, name)

    def rebuild_predictor(self, description, name):
        """A saved IMDBNet as a NumPy predictor, from its weights and classes;
        neither TensorFlow nor the ``.keras`` file is touched. Its parameters and
        fitted state pass the same checks as with ``network="keras"``."""
        from skimdb.network._inference import predictor_from_saved_state
        from skimdb.network._params import check_saved_params, check_saved_state

        raw = _field(description, "params", dict, f"{name}.params", self.manifest)
        params = {
            key: self.decode(value, f"{name}.params.{key}", arrays=False)
            for key, value in raw.items()
        }
        try:
            check_saved_params(params)
        except (ValueError, TypeError) as exc:
            raise self.error(f"{name}.params", str(exc)) from None
        fitted = _field(description, "fitted", dict, f"{name}.fitted", self.manifest)
        state = {
            str(key): self.decode(value, f"{name}.fitted.{key}")
            for key, value in fitted.items()
            if key != "model_"  # the .keras file: not read here
        }
        state = self.read_arrays("IMDBNet", params, state, name)
        try:
            check_saved_state(params, state)
            return predictor_from_saved_state(params, state)
        except (ValueError, TypeError, KeyError) as exc:
            raise self.error(f"{name}.fitted", f"{type(exc).__name__}: {exc}") from None

    def rebuild_pipeline(self, description, where, depth):
        name = where or "estimator"
        steps = _field(description, "steps", list, f"{name}.steps", self.manifest)
        verbose = description.get("verbose", False)
        if not isinstance(verbose, bool) or not steps:
            raise self.error(f"{name}", "a Pipeline needs steps and a bool verbose.")
        built = []
        for i, step in enumerate(steps):
            if not (
                isinstance(step, list) and len(step) == 2 and isinstance(step[0], str)
            ):
                raise self.error(f"{name}.steps[{i}]", "must be a [name, step] pair.")
            built.append((step[0], self.rebuild(step[1], f"{name}.steps[{i}]", depth)))
        pipe = Pipeline(built, verbose=verbose)
        try:
            pipe._validate_steps()  # scikit-learn's own check of names and steps
        except (ValueError, TypeError) as exc:
            raise self.error(f"{name}.steps", str(exc)) from None
        return pipe

    def params(self, cls, description, where):
        """The parameters, checked by the class's own constraints (and, for the
        plain steps, by fitting a copy on tiny data) before anything is built."""
        raw = _field(description, "params", dict, f"{where}.params", self.manifest)
        allowed = cls().get_params(deep=False)
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            raise self.error(
                f"{where}.params", f"{cls.__name__} has no parameter {unknown[0]!r}."
            )
        params = {
            key: self.decode(value, f"{where}.params.{key}", arrays=False)
            for key, value in raw.items()
        }
        try:
            estimator = cls(**params)
            estimator._validate_params()
            probe = _PROBES.get(cls.__name__)
            if probe is not None:
                probe(clone(estimator))
        except (ValueError, TypeError) as exc:
            raise self.error(f"{where}.params", str(exc)) from None
        return params

    def restore_plain(self, cls, params, state, where):
        step = cls(**params)
        produced = _produced_attributes(cls, params)
        for key in state:
            if hasattr(cls, key) or key in params or key not in produced:
                raise self.error(
                    f"{where}.fitted.{key}",
                    f"{cls.__name__} has no fitted attribute {key!r}.",
                )
        checks = _FITTED_CHECKS.get(cls.__name__, {})
        for key in produced:
            if key not in state and key not in _OPTIONAL_ATTRIBUTES:
                raise self.error(f"{where}.fitted.{key}", "is missing.")
        order = list(checks)
        for key in sorted(state, key=lambda k: order.index(k) if k in order else 99):
            value, check = state[key], checks.get(key)
            try:
                if isinstance(value, _KerasRef):
                    raise ValueError("is not a network")
                if check is not None:
                    check(value, step)
            except (ValueError, TypeError, OverflowError) as exc:
                raise self.error(f"{where}.fitted.{key}", str(exc)) from None
            setattr(step, key, value)
        return step

    # -- values

    def decode(self, value, where, arrays=True, depth=0):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if depth >= _MAX_DEPTH:  # before Python's own recursion limit is hit
            raise self.error(
                where, f"values nested deeper than {_MAX_DEPTH} levels are refused."
            )
        depth += 1
        if isinstance(value, list):
            return [
                self.decode(v, f"{where}[{i}]", arrays, depth)
                for i, v in enumerate(value)
            ]
        if not isinstance(value, dict):
            raise self.error(where, f"unexpected value {value!r:.80}.")
        keys = set(value)
        if keys == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(self.decode(value["__tuple__"], where, arrays, depth))
        if keys == {"__dict__"} and isinstance(value["__dict__"], list):
            pairs = value["__dict__"]
            if len(pairs) > MAX_WORD_INDEX:  # the largest dict saved: a word index
                raise self.error(
                    where, f"a dict of {len(pairs)} items; at most {MAX_WORD_INDEX}."
                )
            out = {}
            for i, pair in enumerate(pairs):
                if (
                    type(pair) is list
                    and len(pair) == 2
                    and type(pair[0]) is str
                    and type(pair[1]) is int
                ):  # a word and its rank: the common case, kept fast
                    out[pair[0]] = pair[1]
                    continue
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise self.error(f"{where}[{i}]", "must be a [key, value] pair.")
                key = pair[0]
                if not (key is None or isinstance(key, (bool, int, float, str))):
                    raise self.error(
                        f"{where}[{i}]", f"the key {key!r:.80} is not plain."
                    )
                out[key] = self.decode(pair[1], f"{where}[{key!r}]", arrays, depth)
            return out
        if "__array__" in keys and keys <= {"__array__", "dtype", "shape"} and arrays:
            return self.read_array(value, where)
        if keys == {"__keras__"} and arrays:
            return _KerasRef(value["__keras__"], where)
        if keys == {"__numpy_type__"} and value["__numpy_type__"] in _NUMPY_FLOAT_TYPES:
            return _NUMPY_FLOAT_TYPES[value["__numpy_type__"]]
        if (
            keys == {"__numpy_dtype__"}
            and value["__numpy_dtype__"] in _NUMPY_FLOAT_TYPES
        ):
            return np.dtype(value["__numpy_dtype__"])
        if keys == {"__ndarray__", "dtype"}:
            return self.small_array(value, where)
        raise self.error(where, f"unexpected value {value!r:.80}.")

    def small_array(self, value, where):
        items, dtype = value["__ndarray__"], value["dtype"]
        if not (
            isinstance(items, list)
            and all(isinstance(v, (bool, int, float, str)) for v in items)
            and isinstance(dtype, str)
        ):
            raise self.error(where, "must be a list of plain values and a dtype.")
        try:
            dtype = np.dtype(dtype)
            if dtype.kind not in "biufUO" or dtype.fields is not None:
                raise ValueError(f"unexpected array dtype {dtype.str!r}")
            if dtype.kind == "O" and not all(isinstance(v, str) for v in items):
                raise ValueError("an object array may hold str only")
            return np.array(items, dtype=dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self.error(where, str(exc)) from None

    def arrays(self):
        if self._npz is None:
            self._npz_file = _open_regular(self.folder, ARRAYS)
            try:
                self._npz = zipfile.ZipFile(self._npz_file)
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                OSError,
                ValueError,
            ) as exc:
                self._npz_file.close()
                raise ModelFileError(
                    f"{str(self.folder / ARRAYS)!r} is not a readable zip: {exc}"
                ) from None
        return self._npz

    def read_array(self, ref, where):
        """One array of arrays.npz, as an :class:`_ArrayRef`: its zip entry's
        declared size and its ``.npy`` header are checked against the bounds and
        the manifest, and nothing past the header is decompressed."""
        key = ref["__array__"]
        if not (isinstance(key, str) and re.fullmatch(r"a[0-9]{1,9}", key)):
            raise self.error(where, f"refusing the array name {key!r:.80}.")
        npz = self.arrays()
        member = f"{key}.npy"
        path = f"{str(self.folder / ARRAYS)!r}, member {member!r} (field {where!r})"
        try:
            info = npz.getinfo(member)
            # the zip's declared size caps what reading it decompresses: check it
            # before the member is opened
            if info.file_size > MAX_ARRAY_BYTES + _MAX_NPY_HEADER:
                raise ValueError(
                    f"it declares {info.file_size} bytes; arrays of at most "
                    f"{MAX_ARRAY_BYTES} bytes are read"
                )
            if (
                info.file_size > 2**20
                and info.file_size > _MAX_EXPANSION * info.compress_size
            ):
                raise ValueError(
                    f"{info.compress_size} bytes expand to {info.file_size} bytes, "
                    f"over {_MAX_EXPANSION} times (save writes arrays uncompressed)"
                )
            self._array_bytes += info.file_size
            if self._array_bytes > MAX_ARRAYS_BYTES:
                raise ValueError(
                    f"the arrays named so far declare {self._array_bytes} bytes; at "
                    f"most {MAX_ARRAYS_BYTES} are read"
                )
            with npz.open(info) as file:
                shape, fortran, dtype = _read_npy_header(file)
                header = file.tell()
            if "dtype" in ref and ref["dtype"] != dtype.str:
                raise ValueError(f"dtype {dtype.str!r}, declared {ref['dtype']!r}")
            if "shape" in ref and ref["shape"] != list(shape):
                raise ValueError(f"shape {shape}, declared {ref['shape']!r}")
            nbytes = math.prod(shape) * dtype.itemsize
            if info.file_size != header + nbytes:
                raise ValueError(
                    f"{info.file_size} bytes, but its header declares {header + nbytes}"
                )
            return _ArrayRef(self, info, shape, fortran, dtype, header, path)
        except KeyError:
            raise ModelFileError(f"{path} is missing.") from None
        except Exception as exc:  # zip, zlib and header errors alike
            raise ModelFileError(f"{path}: {type(exc).__name__}: {exc}") from None

    def read_arrays(self, kind, params, state, where):
        """``state`` with its arrays read, once their shapes (from the headers)
        pass the checks that the estimator's parameters and JSON state imply."""
        check = _SHAPE_CHECKS.get(kind)
        if check is not None:
            try:
                check(params, state)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise self.error(
                    f"{where}.fitted", f"{type(exc).__name__}: {exc}"
                ) from None
        return _read_refs(state)

    # -- networks

    def load_keras(self, ref, params, state):
        """A ``.keras`` network, its config checked against the bounds and the
        parameters before Keras builds anything, then read in safe mode."""
        name, where = ref.name, ref.where
        if not (_plain_name(name) and name.endswith(".keras")):
            raise self.error(where, f"refusing the model file name {name!r:.80}.")
        path = self.folder / name
        with _open_regular(self.folder, name) as file:
            try:
                with zipfile.ZipFile(file) as archive:
                    info = archive.getinfo("config.json")
                    if info.file_size > _MAX_KERAS_CONFIG_BYTES:
                        raise ValueError(f"config.json is {info.file_size} bytes")
                    config = json.loads(archive.read(info).decode("utf-8"))
                    weights = _check_network_config(config, params, state)
                    total = sum(i.file_size for i in archive.infolist())
                    if total > 64 * weights + 2**24:
                        raise ValueError(
                            f"its members hold {total} bytes, more than a network "
                            f"of {weights} weights needs"
                        )
            except Exception as exc:
                raise ModelFileError(
                    f"{str(path)!r} (field {where!r}): {type(exc).__name__}: {exc}"
                ) from None
            import keras

            with tempfile.TemporaryDirectory(prefix="skimdb-load-") as tmp:
                # Keras reads a private copy of the very bytes checked above
                copy = Path(tmp) / "model.keras"
                file.seek(0)
                with open(copy, "wb") as out:
                    shutil.copyfileobj(file, out)
                try:
                    return keras.saving.load_model(copy, safe_mode=True)
                except Exception as exc:
                    raise ModelFileError(
                        f"{str(path)!r} (field {where!r}): Keras refused it: "
                        f"{type(exc).__name__}: {exc}"
                    ) from None


def _check_network_config(config, params, state):
    """Check a Keras config before it is built, against the bounds and the saved
    parameters and ``n_features_in_``; return its number of weights."""
    if not isinstance(config, dict) or config.get("class_name") != "Functional":
        raise ValueError("the network is not a Functional model")
    layers = config.get("config", {}).get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError("the network lists no layers")
    _check_shapes(config)
    width, total, dense = None, 0, []
    for i, layer in enumerate(layers):
        kind = layer.get("class_name") if isinstance(layer, dict) else None
        layer_config = layer.get("config") if isinstance(layer, dict) else None
        if kind not in _NETWORK_LAYERS or not isinstance(layer_config, dict):
            raise ValueError(
                f"layer {i} is a {kind!r}, not one of {sorted(_NETWORK_LAYERS)}"
            )
        if (kind == "InputLayer") != (i == 0):
            raise ValueError("the network must start with its one InputLayer")
        if kind == "InputLayer":
            shape = layer_config.get(
                "batch_shape", layer_config.get("batch_input_shape")
            )
            if not (isinstance(shape, list) and len(shape) == 2):
                raise ValueError(f"the input shape {shape!r:.80} is not (None, width)")
            width = first_width = _bounded_int(shape[1], "the input width")
        elif kind in _DENSE_LAYERS:
            units = _bounded_int(layer_config.get("units"), f"layer {i}'s units")
            total += width * units + units
            if total > MAX_NETWORK_PARAMETERS:
                raise ValueError(
                    f"the network has over {MAX_NETWORK_PARAMETERS} weights"
                )
            width = units
            dense.append(units)
    n_features = state.get("n_features_in_")
    if n_features is not None and n_features != first_width:
        raise ValueError(
            f"the network's input is {first_width} wide, but n_features_in_="
            f"{n_features!r:.40}"
        )
    if "hidden_layers" in params and len(dense) != params["hidden_layers"] + 1:
        raise ValueError(
            f"{len(dense)} Dense layers, but hidden_layers={params['hidden_layers']!r}"
        )
    if "units" in params and any(u != params["units"] for u in dense[:-1]):
        raise ValueError(
            f"hidden layers of {dense[:-1]} units, but units={params['units']!r}"
        )
    return total


def _check_shapes(value):
    """Every shape anywhere in a Keras config: ints within :data:`MAX_WIDTH`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, sub in item.items():
                if key in ("shape", "batch_shape", "batch_input_shape", "input_shape"):
                    dims = sub if isinstance(sub, list) else [sub]
                    for dim in dims:
                        if dim is not None and not isinstance(dim, list):
                            _bounded_int(dim, f"a {key}")
                stack.append(sub)
        elif isinstance(item, list):
            stack.extend(item)


def _bounded_int(value, what):
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_WIDTH
    ):
        raise ValueError(
            f"{what} must be an int in [1, {MAX_WIDTH}]; got {value!r:.40}"
        )
    return value


# -- the plain steps: what fit produces, and checks of each attribute -----------------

#: Fits a copy of each plain step on tiny data: its own checks of every parameter
#: run, and its attributes show the names fit really produces.
_PROBES = {
    "MultiHotVectorizer": lambda e: e.fit([[0]]),
    "NBLogCountRatio": lambda e: e.fit(np.ones((2, 1)), [0, 1]),
    # never reads or downloads a word index (a saved model loads offline): one
    # tiny text, or a tiny index in place of "imdb"
    "ReviewEncoder": lambda e: (
        e.fit(["a"])
        if e.word_index is None
        else e.set_params(
            word_index=e.word_index if isinstance(e.word_index, dict) else {"a": 1}
        ).fit()
    ),
}
_OPTIONAL_ATTRIBUTES = {"feature_names_in_"}


def _produced_attributes(cls, params):
    probe = _PROBES.get(cls.__name__)
    if probe is None:  # a step without a probe: only its declared attributes
        return set(_FITTED_CHECKS.get(cls.__name__, {}))
    fitted = probe(cls(**params))
    names = {key for key in vars(fitted) if key not in params}
    if "n_features_in_" in names:
        names |= _OPTIONAL_ATTRIBUTES
    return names


def _int_in(value, low, high, what="it"):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an int; got {value!r:.40}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be in [{low}, {high}]; got {value!r:.40}")


def _array(value, kinds, ndim, what="it"):
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds:
        raise TypeError(f"{what} must be an array of kind {kinds!r}; got {value!r:.60}")
    if value.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions; got {value.shape}")


def _check_num_words(value, step):
    _int_in(value, 1, 2**31)
    if step.num_words is not None and value != step.num_words:
        raise ValueError(f"{value} differs from num_words={step.num_words}")


def _check_vocabulary(value, step):
    _array(value, "i", 2)
    if value.size and (value.min() < -1 or value.max() >= step.num_words_):
        raise ValueError(f"holds ids outside [-1, num_words_={step.num_words_})")


def _check_ngram_keys(value, step):
    if not isinstance(value, dict):
        raise TypeError(f"must be a dict; got {type(value).__name__}")
    min_n, max_n = step.ngram_range
    total = 0
    for n, keys in value.items():
        _int_in(n, max(min_n, 2), max_n, "an n-gram order")
        _array(keys, "i", 1, f"the keys of order {n}")
        if keys.size and (
            keys[0] < 0
            or int(keys[-1]) >= step.num_words_**n
            or (keys.size > 1 and not (np.diff(keys) > 0).all())
        ):
            raise ValueError(f"the keys of order {n} are not sorted keys in range")
        total += keys.size
    if total != len(step.vocabulary_):
        raise ValueError(
            f"{total} n-grams, but vocabulary_ has {len(step.vocabulary_)}"
        )


def _check_classes(value, step):
    _array(value, "biufUO", 1)
    if len(value) != 2 or len(np.unique(value)) != 2:
        raise ValueError(f"must be two distinct labels; got {value!r:.60}")


def _check_ratio(value, step):
    _array(value, "f", 1)
    if len(value) != step.n_features_in_ or not np.isfinite(value).all():
        raise ValueError(f"must be {step.n_features_in_} finite numbers")


def _check_feature_names(value, step):
    _array(value, "OU", 1)
    if len(value) != step.n_features_in_ or not all(isinstance(v, str) for v in value):
        raise ValueError(f"must be {step.n_features_in_} str names")


def _check_word_index(value, step):
    if not isinstance(value, dict):
        raise TypeError(f"must be a dict; got {type(value).__name__}")
    # what fit keeps: ranks below num_words - index_from, as many words at most
    limit = MAX_WIDTH if step.num_words is None else step.num_words - step.index_from
    if len(value) > MAX_WORD_INDEX or len(value) > max(limit, 0):
        raise ValueError(
            f"holds {len(value)} words; a saved word index holds at most "
            f"{MAX_WORD_INDEX}"
            + (
                ""
                if step.num_words is None
                else f", and at most {max(limit, 0)} "
                f"with num_words={step.num_words} and index_from={step.index_from}"
            )
        )
    high = MAX_WIDTH if step.num_words is None else limit - 1
    for word, rank in value.items():
        if type(word) is str and type(rank) is int and 0 <= rank <= high:
            continue  # the common case, checked cheaply (a million words a second)
        if not isinstance(word, str):
            raise TypeError(f"the word {word!r:.40} is not a str")
        _int_in(rank, 0, high, f"the rank of {word!r:.40}")


def _imdbnet_shapes(params, state):
    from skimdb.network._params import check_saved_shapes

    check_saved_shapes(params, state)


def _shape(value, what):
    shape = getattr(value, "shape", None)
    if shape is None:
        raise TypeError(f"{what} must be an array")
    return tuple(shape)


def _multi_hot_shapes(params, state):
    vocabulary = state.get("vocabulary_")
    if vocabulary is None:
        return
    shape = _shape(vocabulary, "vocabulary_")
    max_n = max(params.get("ngram_range", (1, 1)) or (1,))
    max_features = params.get("max_features")
    if len(shape) != 2 or not (isinstance(max_n, int) and shape[1] <= max(max_n, 1)):
        raise ValueError(f"vocabulary_ has shape {shape}, not (n, <= {max_n})")
    if isinstance(max_features, int) and shape[0] > max_features:
        raise ValueError(
            f"vocabulary_ holds {shape[0]} n-grams, but max_features={max_features}"
        )
    keys = state.get("_ngram_keys")
    if isinstance(keys, dict):
        sizes = [math.prod(_shape(v, "_ngram_keys")) for v in keys.values()]
        if sum(sizes) != shape[0]:
            raise ValueError(
                f"_ngram_keys holds {sum(sizes)} n-grams, vocabulary_ {shape[0]}"
            )


def _ratio_shapes(params, state):
    n_features = state.get("n_features_in_")
    if not isinstance(n_features, int):
        raise TypeError(f"n_features_in_ must be an int; got {n_features!r:.40}")
    for key, expected in (("log_count_ratio_", (n_features,)), ("classes_", (2,))):
        if key in state and _shape(state[key], key) != expected:
            raise ValueError(
                f"{key} has shape {_shape(state[key], key)}, not {expected}"
            )


#: For each estimator, the check of its arrays' shapes against its parameters and
#: JSON state, run on their headers before any array data is read.
_SHAPE_CHECKS = {
    "IMDBNet": _imdbnet_shapes,
    "MultiHotVectorizer": _multi_hot_shapes,
    "NBLogCountRatio": _ratio_shapes,
}


#: For each plain step, in order: its fitted attributes and their checks (each
#: sees the attributes checked before it on ``step``).
_FITTED_CHECKS = {
    "MultiHotVectorizer": {
        "num_words_": _check_num_words,
        "vocabulary_": _check_vocabulary,
        "_ngram_keys": _check_ngram_keys,
    },
    "NBLogCountRatio": {
        "n_features_in_": lambda v, s: _int_in(v, 1, MAX_WIDTH),
        "classes_": _check_classes,
        "log_count_ratio_": _check_ratio,
        "feature_names_in_": _check_feature_names,
    },
    "ReviewEncoder": {"word_index_": _check_word_index},
}
