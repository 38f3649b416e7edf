"""Reading a saved folder: bounded, no-follow reads of its files, and the
loader that decodes the manifest and hands each estimator its saved state."""

import json
import math
import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from skimdb.persistence import _allowlist, _format
from skimdb.persistence._format import (
    ARRAYS,
    MANIFEST,
    NUMPY_FLOAT_TYPES,
    ArrayRef,
    FieldError,
    KerasRef,
    ModelFileError,
)

__all__ = ["Loader", "field", "parse_json", "read_file"]


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


def read_file(folder, name, max_bytes):
    with _open_regular(folder, name) as file:
        size = os.fstat(file.fileno()).st_size
        if size > max_bytes:
            raise ModelFileError(
                f"{str(Path(folder) / name)!r} is {size} bytes; at most {max_bytes} "
                "are read."
            )
        return file.read(max_bytes + 1)


def parse_json(raw, path):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{str(path)!r} is not valid JSON: {exc}") from None


def field(mapping, key, kind, where, path):
    if not isinstance(mapping, dict) or key not in mapping:
        raise ModelFileError(f"{path!r}, field {where!r}: is missing.")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ModelFileError(
            f"{path!r}, field {where!r}: must be a "
            f"{getattr(kind, '__name__', kind)}; got {value!r:.80}."
        )
    return value


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


class Loader:
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
            if depth >= _format.MAX_DEPTH:
                raise self.error(
                    where,
                    f"Pipelines nested deeper than {_format.MAX_DEPTH} are refused.",
                )
            return self.rebuild_pipeline(description, where, depth + 1)
        name = where or "estimator"
        cls = _allowlist.loadable_class(description.get("module"), kind, self.network)
        if cls is None:
            raise self.error(
                f"{name}.class",
                "skimdb.persistence.load rebuilds Pipelines, "
                f"{_allowlist.DESCRIPTION} only; the file names {kind!r:.80}.",
            )
        raw = field(description, "params", dict, f"{name}.params", self.manifest)
        params = {
            key: self.decode(value, f"{name}.params.{key}", arrays=False)
            for key, value in raw.items()
        }
        fitted = field(description, "fitted", dict, f"{name}.fitted", self.manifest)
        state = {
            str(key): self.decode(value, f"{name}.fitted.{key}")
            for key, value in fitted.items()
        }
        if "model" in description:  # the first layout: the network file beside
            state["model"] = KerasRef(description["model"], f"{name}.model", self)
        try:
            return cls._from_saved_state(params, state)
        except ModelFileError:
            raise
        except FieldError as exc:
            raise self.error(f"{name}.{exc.field}", exc.message) from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise self.error(f"{name}.fitted", f"{type(exc).__name__}: {exc}") from None

    def rebuild_pipeline(self, description, where, depth):
        from sklearn.pipeline import Pipeline

        name = where or "estimator"
        steps = field(description, "steps", list, f"{name}.steps", self.manifest)
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

    # -- values

    def decode(self, value, where, arrays=True, depth=0):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if depth >= _format.MAX_DEPTH:  # before Python's own recursion limit is hit
            raise self.error(
                where,
                f"values nested deeper than {_format.MAX_DEPTH} levels are refused.",
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
            if (
                len(pairs) > _format.MAX_WORD_INDEX
            ):  # the largest dict saved: a word index
                raise self.error(
                    where,
                    f"a dict of {len(pairs)} items; at most {_format.MAX_WORD_INDEX}.",
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
            return KerasRef(value["__keras__"], where, self)
        if keys == {"__numpy_type__"} and value["__numpy_type__"] in NUMPY_FLOAT_TYPES:
            return NUMPY_FLOAT_TYPES[value["__numpy_type__"]]
        if (
            keys == {"__numpy_dtype__"}
            and value["__numpy_dtype__"] in NUMPY_FLOAT_TYPES
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
        """One array of arrays.npz, as an :class:`ArrayRef`: its zip entry's
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
            if info.file_size > _format.MAX_ARRAY_BYTES + _format.MAX_NPY_HEADER:
                raise ValueError(
                    f"it declares {info.file_size} bytes; arrays of at most "
                    f"{_format.MAX_ARRAY_BYTES} bytes are read"
                )
            if (
                info.file_size > 2**20
                and info.file_size > _format.MAX_EXPANSION * info.compress_size
            ):
                raise ValueError(
                    f"{info.compress_size} bytes expand to {info.file_size} bytes, "
                    f"over {_format.MAX_EXPANSION} times (save writes arrays "
                    "uncompressed)"
                )
            self._array_bytes += info.file_size
            if self._array_bytes > _format.MAX_ARRAYS_BYTES:
                raise ValueError(
                    f"the arrays named so far declare {self._array_bytes} bytes; at "
                    f"most {_format.MAX_ARRAYS_BYTES} are read"
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
            return ArrayRef(self, info, shape, fortran, dtype, header, path)
        except KeyError:
            raise ModelFileError(f"{path} is missing.") from None
        except Exception as exc:  # zip, zlib and header errors alike
            raise ModelFileError(f"{path}: {type(exc).__name__}: {exc}") from None

    # -- networks

    def load_keras(self, ref, check_config):
        """A ``.keras`` network, its config checked against the bounds and by
        ``check_config`` (the estimator's, returning its number of weights)
        before Keras builds anything, then read in safe mode."""
        name, where = ref.name, ref.where
        if not (_plain_name(name) and name.endswith(".keras")):
            raise self.error(where, f"refusing the model file name {name!r:.80}.")
        path = self.folder / name
        with _open_regular(self.folder, name) as file:
            try:
                with zipfile.ZipFile(file) as archive:
                    info = archive.getinfo("config.json")
                    if info.file_size > _format.MAX_KERAS_CONFIG_BYTES:
                        raise ValueError(f"config.json is {info.file_size} bytes")
                    config = json.loads(archive.read(info).decode("utf-8"))
                    _check_shapes(config)
                    weights = check_config(config)
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
                            _format.check_width(dim, f"a {key}")
                stack.append(sub)
        elif isinstance(item, list):
            stack.extend(item)
