"""The saved-model format's bounds, errors and codec, and the helpers that
skimdb's estimators use to check their own saved state.

This module names no estimator: each estimator's ``_get_saved_state`` and
``_from_saved_state`` (see ``docs/developers.rst``) call the generic checks
here (:func:`check_int_in`, :func:`check_array`, :func:`shape_of`,
:func:`check_saved_params`, :func:`check_fitted`, :func:`restore_fitted`,
:func:`read_arrays`) and raise :class:`FieldError` naming the field; the loader
turns that into a :class:`ModelFileError` naming the file and the field.
"""

import math
import numbers

import numpy as np

__all__ = [
    "FieldError",
    "ModelFileError",
    "check_array",
    "check_fitted",
    "check_int_in",
    "check_width",
    "check_saved_params",
    "read_arrays",
    "restore_fitted",
    "shape_of",
]

#: The name of the JSON file in a saved folder.
MANIFEST = "skimdb.json"
#: The fitted arrays of the steps (no pickle: object arrays are refused).
ARRAYS = "arrays.npz"
FORMAT = "skimdb-model"
#: Bump when the layout changes; :func:`load` refuses versions it does not know.
FORMAT_VERSION = 1
NUMPY_FLOAT_TYPES = {"float32": np.float32, "float64": np.float64}

#: The widest layer or input a saved network may have (TensorFlow's int32 indices).
MAX_WIDTH = 2**31 - 1
#: The most weights a saved network may have (1 GiB of float32).
MAX_NETWORK_PARAMETERS = 2**28
#: The largest array read from arrays.npz: the weights of the largest network.
MAX_ARRAY_BYTES = 4 * MAX_NETWORK_PARAMETERS
#: The most bytes all the arrays of one folder may declare together.
MAX_ARRAYS_BYTES = 2 * MAX_ARRAY_BYTES
#: The most a compressed array member may expand (save writes them stored).
MAX_EXPANSION = 64
#: Room for a .npy header (numpy writes them in 64 to a few hundred bytes).
MAX_NPY_HEADER = 2**16
#: The most items a saved dict may hold (the largest: a word index), 12 times
#: IMDB's 88,584 words.
MAX_WORD_INDEX = 2**20
#: The largest skimdb.json, and the largest config.json inside a .keras file.
MAX_JSON_BYTES = 2**27
MAX_KERAS_CONFIG_BYTES = 2**24
#: How deep values (and Pipelines) may nest in skimdb.json; skimdb's own nest
#: three levels at most, and Python's recursion limit is about 1000 frames.
MAX_DEPTH = 32


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


class FieldError(ValueError):
    """An estimator's saved state refused at ``field`` (``"params"``,
    ``"fitted"`` or ``"fitted.<attribute>"``, relative to the estimator)."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field, self.message = field, message


# -- generic checks, for the estimators' own ----------------------------------------


def check_int_in(value, low, high, what="it"):
    """Refuse anything but an int (not a bool) in ``[low, high]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an int; got {value!r:.40}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be in [{low}, {high}]; got {value!r:.40}")


def check_array(value, kinds, ndim, what="it"):
    """Refuse anything but an ndarray of dtype kind in ``kinds`` and ``ndim``."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds:
        raise TypeError(f"{what} must be an array of kind {kinds!r}; got {value!r:.60}")
    if value.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions; got {value.shape}")


def check_width(value, what):
    """Refuse anything but an int in [1, :data:`MAX_WIDTH`] (a layer's width)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_WIDTH
    ):
        raise ValueError(
            f"{what} must be an int in [1, {MAX_WIDTH}]; got {value!r:.40}"
        )
    return value


def shape_of(value, what):
    """The shape of an array, or of an array not read yet (its header only)."""
    shape = getattr(value, "shape", None)
    if shape is None:
        raise TypeError(f"{what} must be an array")
    return tuple(shape)


def check_saved_params(cls, params, probe=None):
    """Check saved parameters with the class's own constraints (and, with
    ``probe``, by fitting a copy on tiny data); :class:`FieldError` if refused."""
    from sklearn.base import clone

    allowed = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise FieldError("params", f"{cls.__name__} has no parameter {unknown[0]!r}.")
    try:
        estimator = cls(**params)
        estimator._validate_params()
        if probe is not None:
            probe(clone(estimator))
    except (ValueError, TypeError) as exc:
        raise FieldError("params", str(exc)) from None
    return estimator


def check_fitted(estimator, state, checks):
    """Run ``checks`` (attribute name -> ``check(value, estimator)``) on the
    state about to be saved: nothing is saved that load would refuse."""
    for key, check in checks.items():
        if key in state:
            try:
                check(state[key], estimator)
            except (ValueError, TypeError, OverflowError) as exc:
                raise FieldError(f"fitted.{key}", str(exc)) from None
    return state


def restore_fitted(estimator, state, checks, optional=()):
    """Set each fitted attribute of ``state`` on ``estimator``, in the order of
    ``checks``, once its check passes; each check sees those set before it.

    An attribute without a check, or a missing one (other than ``optional``),
    is refused."""
    name = type(estimator).__name__
    for key in state:
        if key not in checks:
            raise FieldError(
                f"fitted.{key}", f"{name} has no fitted attribute {key!r}."
            )
    for key in checks:
        if key not in state and key not in optional:
            raise FieldError(f"fitted.{key}", "is missing.")
    for key, check in checks.items():
        if key not in state:
            continue
        try:
            check(state[key], estimator)
        except (ValueError, TypeError, OverflowError) as exc:
            raise FieldError(f"fitted.{key}", str(exc)) from None
        setattr(estimator, key, state[key])
    return estimator


def read_arrays(value):
    """``value`` (a saved state) with each array not read yet read; call it once
    the arrays' shapes (known from their headers) pass the estimator's checks."""
    if isinstance(value, ArrayRef):
        return value.read()
    if isinstance(value, list):
        return [read_arrays(v) for v in value]
    if isinstance(value, tuple):
        return tuple(read_arrays(v) for v in value)
    if isinstance(value, dict):
        if not any(isinstance(v, _HOLDERS) for v in value.values()):
            return value  # a word index, say: nothing to read
        return {k: read_arrays(v) for k, v in value.items()}
    return value


# -- values not read yet -------------------------------------------------------------


class KerasRef:
    """A ``.keras`` file named by the manifest; :meth:`load` reads it."""

    def __init__(self, name, where, loader=None):
        self.name, self.where, self.loader = name, where, loader

    def load(self, check_config):
        """The Keras model, once ``check_config(config)`` (which returns its
        number of weights) passes on its configuration, before Keras builds it."""
        return self.loader.load_keras(self, check_config)


class ArrayRef:
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


_HOLDERS = (ArrayRef, list, tuple, dict)


# -- the codec -------------------------------------------------------------------------


def encode(value, name, arrays=None):
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
        return [encode(v, name, arrays) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, name, arrays) for v in value]}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [encode(k, name, arrays), encode(v, name, arrays)]
                for k, v in value.items()
            ]
        }
    if isinstance(value, type) and value.__name__ in NUMPY_FLOAT_TYPES:
        if NUMPY_FLOAT_TYPES[value.__name__] is value:
            return {"__numpy_type__": value.__name__}
    if isinstance(value, np.dtype) and value.name in NUMPY_FLOAT_TYPES:
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
