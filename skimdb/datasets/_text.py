"""Text to word ids and back, the way the Keras IMDB word index was built."""

import numbers

import numpy as np

from skimdb._tokenize import (  # noqa: F401 (the loaders import them from here)
    _FILTERS,
    _tokenize,
    _tokenize_bytes,
)

_INT32_MAX = int(np.iinfo(np.int32).max)

#: What ids without a word (padding, start, out-of-vocabulary, unknown) show as.
_UNKNOWN = "?"


def _check_id_param(value, name, *, allow_none, minimum=0):
    """Validate an integer parameter and return it as a Python int (or None)."""
    if value is None:
        if allow_none:
            return None
        raise TypeError(f"{name} must be an int, got None")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        kind = "an int or None" if allow_none else "an int"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}: {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if value > _INT32_MAX:
        raise ValueError(f"{name} must be < 2**31, got {value}")
    return value


def _check_word_index(word_index):
    """Validate a word index: a dict mapping str words to int ranks >= 1."""
    if not isinstance(word_index, dict):
        raise TypeError(
            "word_index must be a dict mapping words to ranks, "
            f"got {type(word_index).__name__}"
        )
    for word, rank in word_index.items():
        if type(word) is str and type(rank) is int and 1 <= rank <= _INT32_MAX:
            continue  # the common case, checked cheaply (88,584 words per call)
        if (
            not isinstance(word, str)
            or isinstance(rank, bool)
            or not isinstance(rank, numbers.Integral)
            or not 1 <= rank <= _INT32_MAX
        ):
            raise ValueError(
                "word_index must map str words to int ranks >= 1 (and < 2**31), "
                f"got {word!r}: {rank!r}"
            )
    return word_index


def _check_sequence(sequence):
    """Validate a sequence of word ids and return it as a list of Python ints."""
    if isinstance(sequence, (str, bytes)):
        raise TypeError(
            "sequence must be a sequence of int word ids, got a "
            f"{type(sequence).__name__}; use encode_review to turn text into ids"
        )
    if not isinstance(sequence, np.ndarray) and (
        isinstance(sequence, (set, frozenset, dict)) or not hasattr(sequence, "__len__")
    ):
        raise TypeError(
            "sequence must be a sequence of int word ids (a list, tuple or 1-d "
            f"array), got {type(sequence).__name__}: {sequence!r:.60}"
        )
    array = np.asarray(sequence) if not isinstance(sequence, np.ndarray) else sequence
    if array.ndim != 1:
        raise ValueError(
            f"sequence must be one-dimensional, got an array of shape {array.shape}"
        )
    if array.dtype == object:
        bad = [
            v
            for v in array
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral)
        ]
        if bad:
            raise TypeError(
                f"sequence must hold int word ids, got {type(bad[0]).__name__}: "
                f"{bad[0]!r}"
            )
        ids = [int(v) for v in array]
    elif array.size == 0:
        ids = []
    elif np.issubdtype(array.dtype, np.integer):
        ids = array.tolist()
    else:
        raise TypeError(f"sequence must hold int word ids, got dtype {array.dtype}")
    negative = [v for v in ids if v < 0]
    if negative:
        raise ValueError(f"sequence must hold word ids >= 0, got {negative[0]}")
    return ids


def _reverse_index(word_index, *, index_from, start_char, oov_char):
    """Word id to word, for :func:`_decode`; the markers have no word."""
    reverse = {rank + index_from: word for word, rank in word_index.items()}
    for marker in (start_char, oov_char):
        if marker is not None:
            reverse.pop(marker, None)
    return reverse


def _decode(ids, reverse):
    """Turn word ids into text with a :func:`_reverse_index`; others become "?"."""
    return " ".join(reverse.get(i, _UNKNOWN) for i in ids)


def _encode(words, word_index, *, num_words, index_from, start_char, oov_char):
    """Turn words into ids the way ``load_data`` numbers them."""
    ids = [] if start_char is None else [start_char]
    for word in words:
        rank = word_index.get(word)
        if rank is not None:
            rank += index_from
        if rank is None or (num_words is not None and rank >= num_words):
            if oov_char is not None:
                ids.append(oov_char)
        else:
            ids.append(rank)
    return ids
