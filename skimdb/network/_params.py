"""IMDBNet's parameter constraints and the checks of its saved state, without
TensorFlow.

:func:`skimdb.persistence.load` rebuilds a saved ``IMDBNet`` either as the
estimator (``network="keras"``, which imports TensorFlow) or as a NumPy
predictor (``network="numpy"``, which must not). Both run the checks here, so
both refuse the same folders: the estimator's own parameter constraints
(``IMDBNet._parameter_constraints`` is built from :data:`PARAMETER_CONSTRAINTS`)
and the same checks of its fitted state.
"""

import numbers

import numpy as np
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

__all__ = [
    "MAX_FEATURES",
    "PARAMETER_CONSTRAINTS",
    "check_saved_params",
    "check_saved_state",
    "network_shapes",
]

LOSSES = {"binary_crossentropy", "mse", "mean_squared_error"}
#: The widest input: columns travel to TensorFlow as int32.
MAX_FEATURES = np.iinfo(np.int32).max

#: IMDBNet's parameters and their constraints; ``IMDBNet`` adds a Keras
#: optimizer instance as an allowed ``optimizer`` (a saved one is a name).
PARAMETER_CONSTRAINTS: dict = {
    "units": [Interval(numbers.Integral, 1, None, closed="left")],
    "hidden_layers": [Interval(numbers.Integral, 0, None, closed="left")],
    "activation": [str],
    "loss": [StrOptions(LOSSES)],
    "optimizer": [str],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither"), None],
    "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "validation_split": [Interval(numbers.Real, 0, 1, closed="left")],
    "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "l2": [Interval(numbers.Real, 0, None, closed="left")],
    "early_stopping": ["boolean"],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "callbacks": [list, None],
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def check_saved_params(params):
    """Check a saved IMDBNet's parameters as ``IMDBNet._validate_params`` does.

    Raises
    ------
    ValueError, TypeError
        For a parameter IMDBNet does not have, or a value its constraints refuse
        (``sklearn.utils._param_validation.InvalidParameterError``, a
        ``ValueError`` and ``TypeError``).
    """
    unknown = sorted(set(params) - set(PARAMETER_CONSTRAINTS))
    if unknown:
        raise ValueError(f"IMDBNet has no parameter {unknown[0]!r}.")
    validate_parameter_constraints(PARAMETER_CONSTRAINTS, params, caller_name="IMDBNet")


def network_shapes(params, n_features, n_classes):
    """The shapes of the network's weights (Keras' ``get_weights()`` order) that
    ``params`` (checked), ``n_features`` inputs and ``n_classes`` classes give."""
    units = params.get("units", 16)
    hidden = params.get("hidden_layers", 2)
    widths = [n_features] + [units] * hidden + [1 if n_classes == 2 else n_classes]
    shapes = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        shapes += [(fan_in, fan_out), (fan_out,)]
    return shapes


def check_saved_state(params, state):
    """Check a saved IMDBNet's fitted state (its JSON values and arrays) against
    its parameters: classes, feature count, input dtype and weights.

    ``state["weights_"]``, when present, must be float32 arrays of exactly the
    shapes :func:`network_shapes` gives, every value finite: a network with a
    NaN or infinite weight predicts NaN probabilities.

    Raises
    ------
    ValueError, TypeError
        Naming the field.
    """
    classes = np.asarray(state["classes_"])
    if classes.ndim != 1 or len(classes) < 2 or len(np.unique(classes)) != len(classes):
        raise ValueError(f"classes_ must be 2 or more distinct labels: {classes!r:.80}")
    n_features = state["n_features_in_"]
    if (
        isinstance(n_features, bool)
        or not isinstance(n_features, numbers.Integral)
        or not 1 <= n_features <= MAX_FEATURES
    ):
        raise ValueError(
            f"n_features_in_ must be an int in [1, {MAX_FEATURES}]; "
            f"got {n_features!r:.40}"
        )
    if state.get("X_dtype_", "float32") not in ("float32", "float64"):
        raise ValueError(f"X_dtype_ must be float32 or float64: {state['X_dtype_']!r}")
    weights = state.get("weights_")
    if weights is None:
        return
    shapes = network_shapes(params, n_features, len(classes))
    if not isinstance(weights, list) or len(weights) != len(shapes):
        raise ValueError(
            f"weights_ must be {len(shapes)} arrays (a kernel and a bias per layer, "
            f"as hidden_layers={params.get('hidden_layers', 2)!r} gives); got "
            f"{len(weights) if isinstance(weights, list) else type(weights).__name__}"
        )
    for i, (weight, shape) in enumerate(zip(weights, shapes, strict=True)):
        if not isinstance(weight, np.ndarray) or weight.dtype != np.float32:
            raise ValueError(f"weights_[{i}] must be a float32 array")
        if weight.shape != shape:
            raise ValueError(
                f"weights_[{i}] has shape {weight.shape}; the parameters, "
                f"n_features_in_ and classes_ give {shape}"
            )
        if not np.isfinite(weight).all():
            raise ValueError(
                f"weights_[{i}] holds NaN or infinite values; the network would "
                "predict NaN"
            )
