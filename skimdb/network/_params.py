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
    "DEFAULTS",
    "MAX_FEATURES",
    "PARAMETER_CONSTRAINTS",
    "check_saved_network",
    "check_saved_params",
    "check_saved_shapes",
    "check_saved_state",
    "network_shapes",
]

#: The Keras layers a saved network may hold; anything else is refused unread.
NETWORK_LAYERS = {"InputLayer", "Dense", "SparseDense", "Dropout"}
DENSE_LAYERS = {"Dense", "SparseDense"}
LOSSES = {"binary_crossentropy", "mse", "mean_squared_error"}
#: The widest input: columns travel to TensorFlow as int32.
MAX_FEATURES = np.iinfo(np.int32).max

#: IMDBNet's parameters and their defaults, readable without TensorFlow (the
#: command line's options take theirs from here); ``IMDBNet.__init__`` has
#: exactly these (a test checks).
DEFAULTS = {
    "units": 16,
    "hidden_layers": 2,
    "activation": "relu",
    "loss": "binary_crossentropy",
    "optimizer": "rmsprop",
    "learning_rate": None,
    "epochs": 4,
    "batch_size": 512,
    "validation_split": 0.0,
    "dropout": 0.0,
    "l2": 0.0,
    "early_stopping": False,
    "n_iter_no_change": 2,
    "shuffle": True,
    "class_weight": None,
    "callbacks": None,
    "warm_start": False,
    "random_state": None,
    "verbose": 0,
}

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
    units = params.get("units", DEFAULTS["units"])
    hidden = params.get("hidden_layers", DEFAULTS["hidden_layers"])
    widths = [n_features] + [units] * hidden + [1 if n_classes == 2 else n_classes]
    shapes = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        shapes += [(fan_in, fan_out), (fan_out,)]
    return shapes


def check_saved_shapes(params, state):
    """Check the shapes and dtypes of a saved IMDBNet's arrays against its
    parameters and JSON state, before their data is read.

    The arrays may be anything with ``shape`` and ``dtype`` (the loader passes
    them with only their ``.npy`` headers read): ``weights_`` must be float32
    arrays (float64 where Keras' floatx was set so) of exactly the shapes
    :func:`network_shapes` gives for the parameters, ``n_features_in_`` and the
    number of classes, so no array larger than the network the manifest
    describes is ever decompressed.

    Raises
    ------
    ValueError, TypeError
        Naming the field.
    """
    classes = state["classes_"]
    shape = getattr(classes, "shape", None)
    if shape is None:
        shape = np.shape(classes)
    if len(shape) != 1 or shape[0] < 2:
        raise ValueError(f"classes_ must be 2 or more distinct labels; shape {shape}")
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
    weights = state.get("weights_")
    if weights is None:
        return
    hidden = params.get("hidden_layers", DEFAULTS["hidden_layers"])
    layers = hidden + 1
    if not isinstance(weights, list) or len(weights) != 2 * layers:
        raise ValueError(
            f"weights_ must be {2 * layers} arrays (a kernel and a bias per layer, "
            f"as hidden_layers={hidden!r} gives); got "
            f"{len(weights) if isinstance(weights, list) else type(weights).__name__}"
        )
    shapes = network_shapes(params, n_features, shape[0])
    for i, (weight, expected) in enumerate(zip(weights, shapes, strict=True)):
        if getattr(weight, "dtype", None) not in (np.float32, np.float64):
            raise ValueError(f"weights_[{i}] must be a float32 (or float64) array")
        if tuple(weight.shape) != expected:
            raise ValueError(
                f"weights_[{i}] has shape {tuple(weight.shape)}; the parameters, "
                f"n_features_in_ and classes_ give {expected}"
            )


def check_saved_state(params, state):
    """Check a saved IMDBNet's fitted state (its JSON values and arrays) against
    its parameters: classes, feature count, input dtype and weights.

    Beyond :func:`check_saved_shapes`: the classes must be distinct and the
    weights finite (a network with a NaN or infinite weight predicts NaN).

    Raises
    ------
    ValueError, TypeError
        Naming the field.
    """
    check_saved_shapes(params, state)
    classes = np.asarray(state["classes_"])
    if len(np.unique(classes)) != len(classes):
        raise ValueError(f"classes_ must be 2 or more distinct labels: {classes!r:.80}")
    if state.get("X_dtype_", "float32") not in ("float32", "float64"):
        raise ValueError(f"X_dtype_ must be float32 or float64: {state['X_dtype_']!r}")
    for i, weight in enumerate(state.get("weights_") or ()):
        if not isinstance(weight, np.ndarray):
            raise ValueError(f"weights_[{i}] must be an array")
        if not np.isfinite(weight).all():
            raise ValueError(
                f"weights_[{i}] holds NaN or infinite values; the network would "
                "predict NaN"
            )


def read_saved_state(params, state):
    """A saved IMDBNet's state, checked against its parameters (checked first)
    and with its arrays read: the checks that ``IMDBNet._from_saved_state`` and
    ``NetworkPredictor._from_saved_state`` share, so that both refuse the same
    folders. Array shapes are checked before any array's data is read.

    Raises
    ------
    skimdb.persistence._format.FieldError, ValueError, TypeError, KeyError
        Naming the field.
    """
    from skimdb.persistence._format import FieldError, read_arrays

    try:
        check_saved_params(params)
    except (ValueError, TypeError) as exc:
        raise FieldError("params", str(exc)) from None
    state = dict(state)
    if "model" in state:  # the first saves put the network's file there
        state["model_"] = state.pop("model")
    check_saved_shapes(params, state)
    state = read_arrays(state)
    check_saved_state(params, state)
    return state


def check_saved_network(config, params, state):
    """Check a saved network's Keras config before Keras builds it: its layers
    (of :data:`NETWORK_LAYERS` only), their widths and number of weights
    against the format's bounds, and against the saved parameters and
    ``n_features_in_``; return its number of weights."""
    from skimdb.persistence import _format

    if not isinstance(config, dict) or config.get("class_name") != "Functional":
        raise ValueError("the network is not a Functional model")
    layers = config.get("config", {}).get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError("the network lists no layers")
    width, total, dense = None, 0, []
    for i, layer in enumerate(layers):
        kind = layer.get("class_name") if isinstance(layer, dict) else None
        layer_config = layer.get("config") if isinstance(layer, dict) else None
        if kind not in NETWORK_LAYERS or not isinstance(layer_config, dict):
            raise ValueError(
                f"layer {i} is a {kind!r}, not one of {sorted(NETWORK_LAYERS)}"
            )
        if (kind == "InputLayer") != (i == 0):
            raise ValueError("the network must start with its one InputLayer")
        if kind == "InputLayer":
            shape = layer_config.get(
                "batch_shape", layer_config.get("batch_input_shape")
            )
            if not (isinstance(shape, list) and len(shape) == 2):
                raise ValueError(f"the input shape {shape!r:.80} is not (None, width)")
            width = first_width = _format.check_width(shape[1], "the input width")
        elif kind in DENSE_LAYERS:
            units = _format.check_width(layer_config.get("units"), f"layer {i}'s units")
            total += width * units + units
            if total > _format.MAX_NETWORK_PARAMETERS:
                raise ValueError(
                    f"the network has over {_format.MAX_NETWORK_PARAMETERS} weights"
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
