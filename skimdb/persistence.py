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
:func:`save` writes holds no pickle: :func:`load` parses JSON, rebuilds only
the classes above (a name in the file is looked up only among them), refuses
model file names that leave the folder, and reads each network with
``keras.saving.load_model(..., safe_mode=True)``, which refuses to deserialize
Python code (lambda layers). That makes it the format to exchange models in.
It is not a sandbox: its safety is that of Keras' loader (keep Keras up to
date), and a model from an unknown source can still predict nonsense.

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

import json
import numbers
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["load", "save"]

#: The name of the JSON file in a saved folder.
MANIFEST = "skimdb.json"
#: The fitted arrays of the steps (no pickle: object arrays are refused).
ARRAYS = "arrays.npz"
FORMAT = "skimdb-model"
#: Bump when the layout changes; :func:`load` refuses versions it does not know.
FORMAT_VERSION = 1
_NUMPY_FLOAT_TYPES = {"float32": np.float32, "float64": np.float64}


def save(estimator, folder):
    """Save a fitted skimdb model into a new folder, without pickle.

    Parameters
    ----------
    estimator : IMDBNet, a skimdb transformer, or a Pipeline of them
        A fitted model.
    folder : str or path-like
        Where to save it. It must not exist, or be empty. The files are
        written into a temporary folder beside it that is renamed at the end,
        so an interrupted save leaves no half-written model behind.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the model (or a step) is not fitted.
    TypeError
        When a step is not a skimdb one, or a parameter is not a plain value
        (see the module's documentation).
    FileExistsError
        When ``folder`` exists and is not empty.
    """
    folder = Path(os.fspath(folder)).expanduser()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(
            f"{str(folder)!r} exists and is not an empty folder; save into a new one."
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
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
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if folder.exists():
            folder.rmdir()
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load(folder):
    """Load a model saved by :func:`save`.

    Parameters
    ----------
    folder : str or path-like
        The folder :func:`save` wrote.

    Returns
    -------
    estimator : IMDBNet, a skimdb transformer, or a Pipeline of them
        The fitted model, predicting exactly as the saved one.

    Raises
    ------
    FileNotFoundError
        When the folder or its files are missing.
    ValueError
        When the folder was not written by :func:`save`, by a newer format,
        or names a class or file this function does not load.
    """
    folder = Path(os.fspath(folder)).expanduser()
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{str(path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} was not written by skimdb.persistence.save.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has format version {manifest.get('format_version')!r}; "
            f"this skimdb reads version {FORMAT_VERSION}. Load it with the skimdb "
            f"version that saved it ({manifest.get('skimdb_version')!r})."
        )
    arrays = {}
    if (folder / ARRAYS).is_file():
        with np.load(folder / ARRAYS, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    return _rebuild(manifest["estimator"], folder, arrays)


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
    if _is_plain_step(estimator):
        check_is_fitted(estimator)
        params = estimator.get_params(deep=False)
        return {
            "class": type(estimator).__name__,
            "module": type(estimator).__module__,
            "params": _encode_params(estimator, prefix),
            "fitted": {
                key: _encode(value, f"{prefix or 'estimator'}.{key}", arrays)
                for key, value in vars(estimator).items()
                if key not in params
            },
        }
    if type(estimator).__name__ == "IMDBNet" and _is_imdbnet(estimator):
        return _describe_imdbnet(estimator, prefix or "model", folder, arrays)
    raise TypeError(
        "skimdb.persistence saves IMDBNet, skimdb's own transformers and "
        f"Pipelines of them; got {type(estimator).__name__} (step "
        f"{prefix or 'root'!r}). Use pickle or joblib for other steps, and load "
        "those files only from sources you trust."
    )


#: The modules whose estimators are saved as parameters plus fitted arrays.
_PLAIN_MODULES = ("skimdb.preprocessing", "skimdb.text")


def _plain_class(module_name, class_name):
    """A class of skimdb's own plain steps, or None: nothing else is ever loaded."""
    import importlib

    from sklearn.base import BaseEstimator

    if module_name not in _PLAIN_MODULES:
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


def _is_plain_step(estimator):
    cls = type(estimator)
    return _plain_class(cls.__module__, cls.__name__) is cls


def _is_imdbnet(estimator):
    from skimdb.network import IMDBNet

    return type(estimator) is IMDBNet


def _describe_imdbnet(net, prefix, folder, arrays):
    # the estimator says what its fitted state is; this module only stores it
    state = net._get_saved_state()
    model = state.pop("model_")
    # step names may hold any character: keep the file name a plain one
    model_file = re.sub(r"[^A-Za-z0-9_.-]", "_", prefix) + ".keras"
    model.save(folder / model_file)
    return {
        "class": "IMDBNet",
        "params": _encode_params(net, prefix),
        "fitted": {key: _encode(value, key, arrays) for key, value in state.items()},
        "model": model_file,
    }


def _encode_params(estimator, prefix):  # parameters: JSON only
    return {
        name: _encode(value, f"{prefix}__{name}" if prefix else name)
        for name, value in estimator.get_params(deep=False).items()
    }


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
    ):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
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


# -- rebuilding ----------------------------------------------------------------------


def _decode(value, arrays=None):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__dict__" in value:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["__dict__"]}
    if "__array__" in value:
        if arrays is None or value["__array__"] not in arrays:
            raise ValueError(f"the array {value['__array__']!r} is missing")
        return arrays[value["__array__"]]
    if "__numpy_type__" in value:
        return _NUMPY_FLOAT_TYPES[value["__numpy_type__"]]
    if "__numpy_dtype__" in value:
        return np.dtype(_NUMPY_FLOAT_TYPES[value["__numpy_dtype__"]])
    if "__ndarray__" in value:
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in "biufUO":
            raise ValueError(f"unexpected array dtype {value['dtype']!r}")
        return np.array(value["__ndarray__"], dtype=dtype)
    raise ValueError(f"unexpected value {value!r:.80}")


def _decode_params(params):
    if not isinstance(params, dict):
        raise ValueError(f"unexpected parameters {params!r:.80}")
    return {str(name): _decode(value) for name, value in params.items()}


def _rebuild(description, folder, arrays):
    kind = description.get("class") if isinstance(description, dict) else None
    if kind == "Pipeline":
        return Pipeline(
            [
                (name, _rebuild(step, folder, arrays))
                for name, step in description["steps"]
            ],
            verbose=description["verbose"],
        )
    if kind == "IMDBNet":
        return _rebuild_imdbnet(description, folder, arrays)
    cls = _plain_class(description.get("module"), kind) if kind else None
    if cls is None:
        raise ValueError(
            "skimdb.persistence.load rebuilds Pipelines, IMDBNet and the steps of "
            f"{', '.join(_PLAIN_MODULES)} only; the file names {kind!r}."
        )
    step = cls(**_decode_params(description["params"]))
    step._validate_params()
    for key, value in description["fitted"].items():
        setattr(step, key, _decode(value, arrays))
    return step


def _rebuild_imdbnet(description, folder, arrays):
    import keras

    from skimdb.network import IMDBNet

    model_file = description["model"]
    if Path(model_file).name != model_file or not model_file.endswith(".keras"):
        raise ValueError(f"refusing the model file name {model_file!r}")
    state = {
        str(key): _decode(value, arrays) for key, value in description["fitted"].items()
    }
    state["model_"] = keras.saving.load_model(folder / model_file, safe_mode=True)
    return IMDBNet._from_saved_state(_decode_params(description["params"]), state)
