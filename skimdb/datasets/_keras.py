"""Keras' ``imdb.load_data`` semantics, applied to flat raw arrays.

The raw data set is held as two :class:`_RawSplit` (train and test): every
review's word ranks (from the word index, no offset) back to back in one
``int32`` array, ``int64`` offsets delimiting the reviews, and ``int64``
labels. :func:`_apply_load_data` turns it into exactly what
``keras.datasets.imdb.load_data`` returns for the same arguments, with
vectorized numpy instead of Keras' per-word Python loops.
"""

import contextlib
import gc
import numbers
from typing import NamedTuple

import numpy as np

from skimdb import _ragged
from skimdb._codec import check_id_param as _check_id_param

_INT64_MAX = np.iinfo(np.int64).max


class _RawSplit(NamedTuple):
    """One split of the raw data set, as flat arrays."""

    ids: np.ndarray
    """``int32`` word ranks of all reviews back to back (no offset applied)."""
    offsets: np.ndarray
    """``int64``, ``n_reviews + 1`` entries: review ``i`` is
    ``ids[offsets[i]:offsets[i + 1]]``."""
    labels: np.ndarray
    """``int64`` labels, 1 positive and 0 negative."""

    @classmethod
    def from_sequences(cls, sequences, labels):
        """Build a split from a sequence of int sequences and labels."""
        sequences = [np.asarray(seq, dtype=np.int64).reshape(-1) for seq in sequences]
        offsets = _ragged.offsets_from_lengths(
            np.array([len(seq) for seq in sequences], dtype=np.int64)
        )
        ids = np.concatenate(sequences) if sequences else np.zeros(0, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() > np.iinfo(np.int32).max):
            raise ValueError("word ids must be in [0, 2**31)")
        split = cls(ids.astype(np.int32), offsets, np.asarray(labels).astype(np.int64))
        split.check("sequences")
        return split

    def __len__(self):
        return len(self.labels)

    def check(self, name):
        """Raise ``ValueError`` unless the arrays form a consistent split."""
        ids, offsets, labels = self
        problems = []
        if ids.ndim != 1 or ids.dtype != np.int32:
            problems.append(f"ids must be 1-D int32, got {ids.dtype} {ids.shape}")
        elif ids.size and ids.min() < 0:
            problems.append("ids must be >= 0")
        if offsets.ndim != 1 or offsets.dtype != np.int64 or offsets.size == 0:
            problems.append("offsets must be non-empty 1-D int64")
        elif offsets[0] != 0 or offsets[-1] != ids.size or np.any(np.diff(offsets) < 0):
            problems.append("offsets must rise from 0 to len(ids)")
        if labels.ndim != 1 or labels.dtype != np.int64:
            problems.append("labels must be 1-D int64")
        elif labels.size != offsets.size - 1:
            problems.append("there must be one label per review")
        elif not np.isin(labels, (0, 1)).all():
            problems.append("labels must be 0 or 1")
        if problems:
            raise ValueError(f"inconsistent {name} arrays: {'; '.join(problems)}")

    def sequences(self):
        """The reviews as a list of lists of Python ints."""
        return _to_object_array(self.ids, self.offsets).tolist()


class _RawIMDB(NamedTuple):
    """The raw data set: train and test splits in their original order."""

    train: _RawSplit
    test: _RawSplit


def _check_load_params(
    *, num_words, skip_top, maxlen, seed, start_char, oov_char, index_from
):
    """Validate ``load_data``'s arguments; return them as Python ints or None."""
    params = {
        "num_words": _check_id_param(
            num_words, "num_words", allow_none=True, minimum=1
        ),
        "skip_top": _check_id_param(skip_top, "skip_top", allow_none=False),
        "maxlen": _check_id_param(maxlen, "maxlen", allow_none=True, minimum=1),
        "start_char": _check_id_param(start_char, "start_char", allow_none=True),
        "oov_char": _check_id_param(oov_char, "oov_char", allow_none=True),
        "index_from": _check_id_param(index_from, "index_from", allow_none=False),
    }
    if seed is not None:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
            raise TypeError(
                f"seed must be an int or None, got {type(seed).__name__}: {seed!r}"
            )
        if not 0 <= seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {seed}")
        seed = int(seed)
    params["seed"] = seed
    return params


@contextlib.contextmanager
def _gc_paused(*, promote=False):
    """Pause the cyclic garbage collector while making many containers.

    Making tens of thousands of lists (which hold no cycles) otherwise
    triggers collections that traverse their millions of items again and
    again, which takes most of the time.

    With ``promote=True`` the objects made meanwhile are moved to the oldest
    generation on exit (``gc.freeze`` then ``gc.unfreeze``), so that the
    first young collection after it does not traverse them all either. They
    are still collected as usual by the next full collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if promote:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _to_object_array(values, offsets):
    """A 1-D object array whose items are lists of Python ints (one per review)."""
    with _gc_paused(promote=True):
        flat = _shared_ints(values).tolist()
        bounds = offsets.tolist()
        out = np.empty(len(bounds) - 1, dtype=object)
        for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            out[i] = flat[start:stop]
        del flat
    return out


def _shared_ints(values):
    """``values`` as an object array of Python ints, one int object per distinct
    value, shared by all its occurrences.

    ``values.tolist()`` makes a new int object for each of the 11.7 million ids
    above 256 (most of them): about 0.7 s, 70% of loading, and 330 MB. Indexing
    a pool of the distinct ints copies references instead, and code reading the
    lists later (the vectorizer) finds the few thousand ints in cache.
    """
    top = int(values.max()) + 1 if values.size else 0
    if top > 2 * values.size:  # sparse huge ids: a pool would cost more than it saves
        return values.astype(object)
    return np.arange(top).astype(object)[values]


def _prepare_split(split, rng, *, maxlen, start_char, index_from):
    """Shuffle, add the offset and start mark, drop long reviews (one split)."""
    order = np.arange(len(split))
    rng.shuffle(order)
    with_start = start_char is not None
    if maxlen:
        lengths = np.diff(split.offsets)[order] + with_start
        order = order[lengths < maxlen]
    ids, offsets = _ragged.take_rows(split.ids, split.offsets, order)
    values = ids.astype(np.int64)
    if with_start or index_from:
        values += index_from
    if with_start:  # start_char before each review, empty ones included
        values, offsets = _ragged.prepend(values, offsets, start_char)
    return values, offsets, split.labels[order]


def _apply_load_data(
    raw, *, num_words, skip_top, maxlen, seed, start_char, oov_char, index_from
):
    """Apply ``keras.datasets.imdb.load_data``'s processing to raw data.

    The arguments must have been validated by :func:`_check_load_params`.
    The result equals Keras' for the same arguments, with one exception: the
    sequence arrays are always 1-D object arrays of lists, where Keras'
    ``np.array(lists, dtype="object")`` makes a 2-D array when every kept
    review has the same length.

    Parameters
    ----------
    raw : _RawIMDB
        The raw data set in its original order.
    num_words, skip_top, maxlen, seed, start_char, oov_char, index_from
        As in :func:`skimdb.datasets.load_data`.

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuple of tuples of ndarray
        Object arrays of lists of Python ints, and int64 labels.
    """
    rng = np.random.RandomState(seed)
    prepared = [
        _prepare_split(
            split, rng, maxlen=maxlen, start_char=start_char, index_from=index_from
        )
        for split in raw
    ]
    if maxlen and any(len(labels) == 0 for _, _, labels in prepared):
        raise ValueError(
            f"After filtering for sequences shorter than maxlen={maxlen}, "
            "no sequence was kept. Increase maxlen."
        )
    if not num_words:
        # Keras: num_words = max(max(x) for x in xs), so the single largest id
        # (over train and test) becomes out-of-vocabulary too.
        largest = [values.max() for values, _, _ in prepared if values.size]
        num_words = int(max(largest)) if largest else _INT64_MAX
    result = []
    for values, offsets, labels in prepared:
        keep = (values >= skip_top) & (values < num_words)
        if oov_char is not None:
            values = np.where(keep, values, oov_char)
        else:
            values, offsets = _ragged.compress(values, offsets, keep)
        result.append((_to_object_array(values, offsets), labels.astype(np.int64)))
    return tuple(result)
