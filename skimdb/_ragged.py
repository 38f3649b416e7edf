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

import numpy as np

__all__ = [
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
