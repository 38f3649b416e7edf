"""Ragged arrays as flat values plus CSR-style offsets, the way skimdb holds reviews.

A ragged array of ``n_rows`` rows is a pair ``(values, offsets)``: every row's
values back to back in one 1-d array, and ``n_rows + 1`` ``int64`` offsets rising
from 0 to ``len(values)``, row ``i`` being ``values[offsets[i]:offsets[i + 1]]``
(scipy's ``indptr``). The loader, the vectorizer and the training loop share
these helpers rather than rewriting the numpy idioms each time.

Hand-written: numpy has no ragged type, and scipy's CSR matrix would need a
column array and a width that these arrays do not have.

Examples
--------
>>> import numpy as np
>>> from skimdb._ragged import compress, offsets_from_lengths, row_ids
>>> offsets = offsets_from_lengths([2, 0, 3])  # rows [7, 8], [], [9, 5, 7]
>>> offsets
array([0, 2, 2, 5])
>>> row_ids(offsets)
array([0, 0, 2, 2, 2])
>>> values = np.array([7, 8, 9, 5, 7])
>>> compress(values, offsets, values != 7)  # rows [8], [], [9, 5]
(array([8, 9, 5]), array([0, 1, 1, 3]))
"""

import numbers

import numpy as np

__all__ = [
    "RaggedIds",
    "compress",
    "offsets_from_lengths",
    "offsets_from_rows",
    "prepend",
    "repeat_rows",
    "row_at",
    "row_ids",
    "take_rows",
]


def offsets_from_lengths(lengths):
    """The ``int64`` offsets of rows of the given lengths.

    Parameters
    ----------
    lengths : array-like of int, shape (n_rows,)
        The number of values in each row.

    Returns
    -------
    offsets : ndarray of int64, shape (n_rows + 1,)
        ``0`` then the running total of ``lengths``.
    """
    lengths = np.asarray(lengths)
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def offsets_from_rows(rows, n_rows):
    """The offsets of values already grouped by row, from the row of each value.

    Parameters
    ----------
    rows : ndarray of int, shape (n_values,)
        The row of each value, non-decreasing (as :func:`row_ids` gives).
    n_rows : int
        The number of rows; rows without values get empty ranges.

    Returns
    -------
    offsets : ndarray of int64, shape (n_rows + 1,)
        The inverse of :func:`row_ids`: ``offsets_from_rows(row_ids(o), len(o) - 1)``
        equals ``o``.
    """
    return offsets_from_lengths(np.bincount(rows, minlength=n_rows))


def repeat_rows(row_values, offsets):
    """Each row's value repeated once per value of that row.

    Parameters
    ----------
    row_values : ndarray, shape (n_rows,)
        One value per row.
    offsets : ndarray of int, shape (n_rows + 1,)
        The rows' offsets; they need not start at 0 (a slice of longer offsets).

    Returns
    -------
    repeated : ndarray, shape (offsets[-1] - offsets[0],)
        Of ``row_values``' dtype.
    """
    return np.repeat(row_values, np.diff(offsets))


def row_ids(offsets, dtype=np.int64):
    """The row of each value.

    Parameters
    ----------
    offsets : ndarray of int, shape (n_rows + 1,)
        The rows' offsets.
    dtype : numpy dtype, default=numpy.int64
        The dtype of the result (``numpy.int32`` halves what a copy moves).

    Returns
    -------
    rows : ndarray, shape (offsets[-1] - offsets[0],)
        Non-decreasing; row ``i`` appears ``offsets[i + 1] - offsets[i]`` times.
    """
    return repeat_rows(np.arange(len(offsets) - 1, dtype=dtype), offsets)


def row_at(offsets, positions):
    """The row holding the value at each of ``positions`` of the flat values.

    Parameters
    ----------
    offsets : ndarray of int, shape (n_rows + 1,)
        The rows' offsets.
    positions : int or ndarray of int
        Positions in ``[offsets[0], offsets[-1])``; empty rows hold none.

    Returns
    -------
    rows : int or ndarray of int
        A Python int for an int position, else an array like ``positions``.
    """
    rows = np.searchsorted(offsets, positions, "right") - 1
    return int(rows) if np.ndim(rows) == 0 else rows


def compress(values, offsets, keep):
    """Drop the values where ``keep`` is False, each row keeping its kept values.

    Parameters
    ----------
    values : ndarray, shape (n_values,)
        The flat values.
    offsets : ndarray of int, shape (n_rows + 1,)
        Their offsets, from 0.
    keep : ndarray of bool, shape (n_values,)
        Which values stay.

    Returns
    -------
    values : ndarray
        ``values[keep]``.
    offsets : ndarray of int64, shape (n_rows + 1,)
        Their offsets: each old offset moved back by the values dropped before it.
    """
    # one pass over keep; counting the kept values per row (bincount of their
    # rows) would first have to build the row of every value
    n_kept = np.zeros(keep.size + 1, dtype=np.int64)
    np.cumsum(keep, out=n_kept[1:])
    return values[keep], n_kept[offsets]


def take_rows(values, offsets, order):
    """The rows ``order`` (indices, repeats allowed) back to back, in that order.

    Parameters
    ----------
    values : ndarray, shape (n_values,)
        The flat values.
    offsets : ndarray of int, shape (n_rows + 1,)
        Their offsets.
    order : ndarray of int, shape (n_taken,)
        The rows to take.

    Returns
    -------
    values : ndarray
        The rows' values, of ``values``' dtype.
    offsets : ndarray of int64, shape (n_taken + 1,)
        Their offsets.
    """
    starts = offsets[:-1][order]
    new_offsets = offsets_from_lengths(offsets[1:][order] - starts)
    # each taken value's source position: its new position plus its row's shift
    positions = np.arange(new_offsets[-1], dtype=np.int64)
    positions += repeat_rows(starts - new_offsets[:-1], new_offsets)
    return values[positions], new_offsets


def prepend(values, offsets, value):
    """Insert ``value`` at the start of every row, empty rows included.

    Parameters
    ----------
    values : ndarray, shape (n_values,)
        The flat values.
    offsets : ndarray of int, shape (n_rows + 1,)
        Their offsets, from 0.
    value : scalar
        What each row starts with, cast to ``values``' dtype.

    Returns
    -------
    values : ndarray, shape (n_values + n_rows,)
        The longer values.
    offsets : ndarray of int64, shape (n_rows + 1,)
        Their offsets.
    """
    return (
        np.insert(values, offsets[:-1], value),
        offsets + np.arange(len(offsets), dtype=np.int64),
    )


class RaggedIds:
    """Reviews as word ids: one flat ``values`` array and ``int64`` ``offsets``.

    What :class:`~skimdb.ReviewEncoder` gives and :class:`~skimdb.MultiHotVectorizer`
    takes: 4 bytes an id rather than a Python int each. It composes with
    scikit-learn as a 1-d array of reviews does: ``len``, ``shape``, rows selected
    by an index array or a boolean mask (what cross-validation, ``train_test_split``
    and :func:`sklearn.utils._safe_indexing` do), a slice, or one row (a read-only
    numpy view). Iterating gives the rows; ``np.asarray`` an object array of them.

    Parameters
    ----------
    values : array-like of int, shape (n_values,)
        Every review's ids back to back, each in ``[0, 2**31)``; kept as ``int32``.
    offsets : array-like of int, shape (n_reviews + 1,)
        Non-decreasing from 0 to ``n_values``: review ``i`` is
        ``values[offsets[i]:offsets[i + 1]]``.

    Examples
    --------
    >>> from skimdb import RaggedIds
    >>> X = RaggedIds.from_rows([[1, 14, 22], [], [1, 5]])
    >>> len(X), X.shape
    (3, (3,))
    >>> X[0]
    array([ 1, 14, 22], dtype=int32)
    >>> X[[2, 0]].tolist()
    [[1, 5], [1, 14, 22]]
    >>> X
    RaggedIds(n_reviews=3, n_ids=5)
    """

    __slots__ = ("offsets", "values")

    def __init__(self, values, offsets):
        values = np.asarray(values)
        offsets = np.asarray(offsets)
        if values.ndim != 1 or (values.size and values.dtype.kind not in "iu"):
            raise TypeError(
                "values must be a 1-d array of int word ids, got a "
                f"{values.ndim}-d array of dtype {values.dtype}"
            )
        if offsets.ndim != 1 or offsets.size == 0 or offsets.dtype.kind not in "iu":
            raise TypeError(
                "offsets must be a 1-d int array of n_reviews + 1 entries, got "
                f"shape {offsets.shape}, dtype {offsets.dtype}"
            )
        offsets = offsets.astype(np.int64, copy=False)
        if (
            offsets[0] != 0
            or offsets[-1] != values.size
            or (offsets.size > 1 and (offsets[1:] < offsets[:-1]).any())
        ):
            raise ValueError(
                f"offsets must rise from 0 to len(values) ({values.size}); got "
                f"{offsets[0]} .. {offsets[-1]}"
            )
        if values.size and (
            values.min() < 0
            or (values.dtype != np.int32 and values.max() > np.iinfo(np.int32).max)
        ):
            raise ValueError("values must be word ids in [0, 2**31)")
        self.values = values.astype(np.int32, copy=False)
        self.offsets = offsets

    @classmethod
    def from_rows(cls, rows):
        """Build from a sequence of int sequences (one per review)."""
        arrays = [np.asarray(row, dtype=np.int64).reshape(-1) for row in rows]
        values = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
        return cls(values, offsets_from_lengths([a.size for a in arrays]))

    def __len__(self):
        return self.offsets.size - 1

    @property
    def shape(self):
        """``(n_reviews,)``, as a 1-d array of reviews."""
        return (len(self),)

    @property
    def ndim(self):
        """1: a sequence of reviews."""
        return 1

    def lengths(self):
        """The number of ids in each review."""
        return np.diff(self.offsets)

    def __getitem__(self, key):
        if isinstance(key, tuple):  # sklearn's _safe_indexing asks X[key, ...]
            if len(key) != 2 or key[1] is not Ellipsis:
                raise IndexError(f"RaggedIds is 1-d; got the index {key!r}")
            key = key[0]
        n = len(self)
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            i = int(key) + n if key < 0 else int(key)
            if not 0 <= i < n:
                raise IndexError(f"review {key} is out of range for {n} reviews")
            row = self.values[self.offsets[i] : self.offsets[i + 1]]
            row.flags.writeable = False
            return row
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step != 1:
                return self[np.arange(start, stop, step)]
            offsets = self.offsets[start : max(start, stop) + 1]
            values = self.values[offsets[0] : offsets[-1]]
            return RaggedIds(values, offsets - offsets[0])
        key = np.asarray(key)
        if key.dtype == bool:
            if key.shape != (n,):
                raise IndexError(
                    f"a boolean mask must have {n} entries, got shape {key.shape}"
                )
            key = np.flatnonzero(key)
        elif key.size == 0:
            key = key.astype(np.int64)
        if key.ndim != 1 or key.dtype.kind not in "iu":
            raise IndexError(
                "RaggedIds takes an int, a slice, or a 1-d array of ints or bools; "
                f"got {key.dtype} of shape {key.shape}"
            )
        if key.size and (key.min() < -n or key.max() >= n):
            raise IndexError(f"review indices out of range for {n} reviews")
        key = np.where(key < 0, key + n, key)
        return RaggedIds(*take_rows(self.values, self.offsets, key))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != object:
            raise TypeError(
                "RaggedIds holds reviews of different lengths: it converts to an "
                "object array of them only"
            )
        out = np.empty(len(self), dtype=object)
        for i, row in enumerate(self):
            out[i] = row
        return out

    def tolist(self):
        """The reviews as lists of Python ints."""
        values = self.values.tolist()
        bounds = self.offsets.tolist()
        return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def __eq__(self, other):
        return (
            isinstance(other, RaggedIds)
            and np.array_equal(self.offsets, other.offsets)
            and np.array_equal(self.values, other.values)
        )

    __hash__ = None

    def __repr__(self):
        return f"RaggedIds(n_reviews={len(self)}, n_ids={self.values.size})"
