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

Each estimator owns what it saves: its class defines ``_get_saved_state()``
(its fitted values, ``keras.Model`` instances among them) and the classmethod
``_from_saved_state(params, state)``, which checks the parameters and the state
(the arrays' shapes before their data is read) and builds the fitted estimator.
This package is the format only: the atomic folder swap (``_folder``), the JSON
and npz codec and the checks estimators share (``_format``), bounded, no-follow
reads (``_read``) and the allowlist of loadable classes (``_allowlist``).

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

import errno
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from skimdb.persistence import _format
from skimdb.persistence._allowlist import DESCRIPTION, saveable
from skimdb.persistence._folder import (
    _check_target,
    _fsync_path,
    _new_partial_folder,
    _remove_stale_partials,
    _swap_in,
    _sync_folder,
    holds_saved_model,
)
from skimdb.persistence._format import (
    ARRAYS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MAX_ARRAY_BYTES,
    MAX_NETWORK_PARAMETERS,
    MAX_WIDTH,
    MAX_WORD_INDEX,
    FieldError,
    ModelFileError,
    encode,
)
from skimdb.persistence._read import Loader, field, parse_json, read_file

__all__ = ["ModelFileError", "load", "save"]
# its public home, for reprs, tracebacks and pickles (defined in _format)
ModelFileError.__module__ = __name__
# re-exported: the names of a saved folder's files, and the bounds load applies
_PUBLIC_CONSTANTS = (
    ARRAYS,
    MANIFEST,
    MAX_ARRAY_BYTES,
    MAX_NETWORK_PARAMETERS,
    MAX_WIDTH,
    MAX_WORD_INDEX,
    holds_saved_model,
)


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
        if len(text) > _format.MAX_JSON_BYTES:  # ASCII: json.dumps escapes the rest
            raise ValueError(
                f"the model's {MANIFEST} would be {len(text)} bytes; load reads at "
                f"most {_format.MAX_JSON_BYTES}. Its word index or vocabulary is too "
                "large."
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
    raw = read_file(folder, MANIFEST, _format.MAX_JSON_BYTES)
    manifest = parse_json(raw, folder / MANIFEST)
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
    with Loader(folder, network) as loader:
        return loader.rebuild(
            field(manifest, "estimator", dict, "estimator", str(path)), ""
        )


def _skimdb_version():
    from skimdb import __version__

    return __version__


def _describe(estimator, prefix, folder, arrays):
    """A JSON-able description of a fitted estimator; Keras models go to files."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

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
    cls = type(estimator)
    if not saveable(estimator):
        raise TypeError(
            f"skimdb.persistence saves {DESCRIPTION} and Pipelines of them; got "
            f"{cls.__name__} (step {prefix or 'root'!r}). Use pickle or joblib for "
            "other steps, and load those files only from sources you trust."
        )
    check_is_fitted(estimator)
    name = prefix or "estimator"
    try:  # the estimator's own checks: nothing is saved that load would refuse
        state = estimator._get_saved_state()
    except FieldError as exc:
        raise ValueError(
            f"{name}.{exc.field} can't be saved: load would refuse it, as it "
            f"{exc.message}"
        ) from None
    fitted = {}
    for key, value in state.items():
        if _is_keras_model(value):
            # step names may hold any character: keep the file name a plain one
            model_file = re.sub(r"[^A-Za-z0-9_.-]", "_", prefix or "model")
            model_file += (
                f"_{key}"
                if any(  # a second network: named by its key
                    v.get("__keras__") for v in fitted.values() if isinstance(v, dict)
                )
                else ""
            )
            model_file += ".keras"
            value.save(folder / model_file)
            fitted[key] = {"__keras__": model_file}
        else:
            fitted[key] = encode(value, f"{name}.{key}", arrays)
    return {
        "class": cls.__name__,
        "module": cls.__module__,
        "params": {
            key: encode(value, f"{prefix}__{key}" if prefix else key)
            for key, value in estimator.get_params(deep=False).items()
        },
        "fitted": fitted,
    }


def _is_keras_model(value):
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.Model)
