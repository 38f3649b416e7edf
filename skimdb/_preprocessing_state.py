"""The checks of the saved state of ``skimdb.preprocessing``'s estimators.

``MultiHotVectorizer`` and ``NBLogCountRatio`` own their saved state: their
``_get_saved_state`` and ``_from_saved_state`` (the last block of each class)
run these checks, kept here so that ``preprocessing.py`` holds the maths. Each
table lists a class's fitted attributes in order with the check of each; a
check sees, on ``step``, the parameters and the attributes checked before it.
"""

import numpy as np

from skimdb.persistence._format import check_array, check_int_in, shape_of


def _check_num_words(value, step):
    check_int_in(value, 1, 2**31)
    if step.num_words is not None and value != step.num_words:
        raise ValueError(f"{value} differs from num_words={step.num_words}")


def _check_vocabulary(value, step):
    check_array(value, "i", 2)
    if value.size and (value.min() < -1 or value.max() >= step.num_words_):
        raise ValueError(f"holds ids outside [-1, num_words_={step.num_words_})")


def _check_ngram_keys(value, step):
    if not isinstance(value, dict):
        raise TypeError(f"must be a dict; got {type(value).__name__}")
    min_n, max_n = step.ngram_range
    total = 0
    for n, keys in value.items():
        check_int_in(n, max(min_n, 2), max_n, "an n-gram order")
        check_array(keys, "i", 1, f"the keys of order {n}")
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


#: MultiHotVectorizer's fitted attributes, in order, and their checks (each sees
#: the attributes checked before it on ``step``).
_MULTI_HOT_STATE = {
    "num_words_": _check_num_words,
    "vocabulary_": _check_vocabulary,
    "_ngram_keys": _check_ngram_keys,
}


def _check_multi_hot_shapes(params, state):
    """The arrays' shapes against the parameters, before their data is read."""
    vocabulary = state.get("vocabulary_")
    if vocabulary is None:
        return
    shape = shape_of(vocabulary, "vocabulary_")
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
        sizes = [np.prod(shape_of(v, "_ngram_keys")) for v in keys.values()]
        if sum(sizes) != shape[0]:
            raise ValueError(
                f"_ngram_keys holds {sum(sizes)} n-grams, vocabulary_ {shape[0]}"
            )


def _check_classes(value, step):
    check_array(value, "biufUO", 1)
    if len(value) != 2 or len(np.unique(value)) != 2:
        raise ValueError(f"must be two distinct labels; got {value!r:.60}")


def _check_ratio(value, step):
    check_array(value, "f", 1)
    if len(value) != step.n_features_in_ or not np.isfinite(value).all():
        raise ValueError(f"must be {step.n_features_in_} finite numbers")


def _check_feature_names(value, step):
    check_array(value, "OU", 1)
    if len(value) != step.n_features_in_ or not all(isinstance(v, str) for v in value):
        raise ValueError(f"must be {step.n_features_in_} str names")


#: NBLogCountRatio's fitted attributes, in order, and their checks.
_RATIO_STATE = {
    "n_features_in_": lambda value, step: check_int_in(value, 1, 2**31 - 1),
    "classes_": _check_classes,
    "log_count_ratio_": _check_ratio,
    "feature_names_in_": _check_feature_names,
}


def _check_ratio_shapes(state):
    """The arrays' shapes against ``n_features_in_``, before their data is read."""
    n_features = state.get("n_features_in_")
    if not isinstance(n_features, int):
        raise TypeError(f"n_features_in_ must be an int; got {n_features!r:.40}")
    for key, expected in (("log_count_ratio_", (n_features,)), ("classes_", (2,))):
        if key in state and shape_of(state[key], key) != expected:
            raise ValueError(
                f"{key} has shape {shape_of(state[key], key)}, not {expected}"
            )
