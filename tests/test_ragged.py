"""Unit tests of skimdb._ragged, each helper against a plain Python list of rows."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skimdb import _ragged

ROWS = [[7, 8], [], [9, 5, 7], [], [4]]


def _flat(rows, dtype=np.int64):
    """``rows`` (lists) as flat values and offsets, built without _ragged."""
    values = np.array([v for row in rows for v in row], dtype=dtype)
    offsets = np.array([0] + list(np.cumsum([len(r) for r in rows])), dtype=np.int64)
    return values, offsets


def _rows(values, offsets):
    return [
        values[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:], strict=True)
    ]


ragged_rows = st.lists(st.lists(st.integers(0, 50), max_size=6), max_size=12)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_offsets_from_lengths_is_int64_running_total(dtype):
    offsets = _ragged.offsets_from_lengths(np.array([2, 0, 3], dtype=dtype))
    assert offsets.dtype == np.int64
    np.testing.assert_array_equal(offsets, [0, 2, 2, 5])


def test_offsets_from_lengths_of_no_rows_is_zero():
    np.testing.assert_array_equal(_ragged.offsets_from_lengths([]), [0])
    assert _ragged.offsets_from_lengths([]).dtype == np.int64


def test_offsets_from_lengths_does_not_overflow_int32_lengths():
    lengths = np.full(3, 2**30, dtype=np.int32)
    assert _ragged.offsets_from_lengths(lengths)[-1] == 3 * 2**30


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_row_ids_repeat_each_row_by_its_length(dtype):
    _, offsets = _flat(ROWS)
    rows = _ragged.row_ids(offsets, dtype)
    assert rows.dtype == dtype
    np.testing.assert_array_equal(rows, [0, 0, 2, 2, 2, 4])


def test_row_ids_of_empty_input():
    assert _ragged.row_ids(np.zeros(1, np.int64)).size == 0
    assert _ragged.row_ids(np.zeros(4, np.int64)).size == 0


def test_row_ids_of_a_slice_of_offsets_counts_from_its_first_row():
    _, offsets = _flat(ROWS)
    np.testing.assert_array_equal(_ragged.row_ids(offsets[2:5]), [0, 0, 0])


def test_repeat_rows_keeps_the_row_values_dtype():
    _, offsets = _flat(ROWS)
    out = _ragged.repeat_rows(np.array([1, 2, 3, 4, 5], np.int32) * 10, offsets)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [10, 10, 30, 30, 30, 50])


def test_offsets_from_rows_keeps_trailing_and_leading_empty_rows():
    offsets = _ragged.offsets_from_rows(np.array([1, 1, 3]), 5)
    assert offsets.dtype == np.int64
    np.testing.assert_array_equal(offsets, [0, 0, 2, 2, 3, 3])
    np.testing.assert_array_equal(
        _ragged.offsets_from_rows(np.zeros(0, np.int64), 2), [0, 0, 0]
    )


def test_row_at_skips_empty_rows():
    _, offsets = _flat(ROWS)  # values 0-1 in row 0, 2-4 in row 2, 5 in row 4
    assert [_ragged.row_at(offsets, p) for p in range(6)] == [0, 0, 2, 2, 2, 4]
    assert type(_ragged.row_at(offsets, np.int64(3))) is int
    positions = np.arange(6)
    np.testing.assert_array_equal(
        _ragged.row_at(offsets, positions), [0, 0, 2, 2, 2, 4]
    )


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_compress_drops_masked_values_and_moves_the_offsets(dtype):
    values, offsets = _flat(ROWS, dtype)
    kept, new_offsets = _ragged.compress(values, offsets, values != 7)
    assert kept.dtype == dtype and new_offsets.dtype == np.int64
    assert _rows(kept, new_offsets) == [[8], [], [9, 5], [], [4]]


def test_compress_everything_or_nothing():
    values, offsets = _flat(ROWS)
    kept, new_offsets = _ragged.compress(values, offsets, np.zeros(values.size, bool))
    assert kept.size == 0
    np.testing.assert_array_equal(new_offsets, np.zeros(len(ROWS) + 1))
    kept, new_offsets = _ragged.compress(values, offsets, np.ones(values.size, bool))
    np.testing.assert_array_equal(kept, values)
    np.testing.assert_array_equal(new_offsets, offsets)


def test_compress_of_no_rows():
    values, offsets = _flat([])
    kept, new_offsets = _ragged.compress(values, offsets, np.zeros(0, bool))
    assert kept.size == 0
    np.testing.assert_array_equal(new_offsets, [0])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_take_rows_in_any_order_with_repeats(dtype):
    values, offsets = _flat(ROWS, dtype)
    taken, new_offsets = _ragged.take_rows(values, offsets, np.array([2, 1, 0, 2]))
    assert taken.dtype == dtype and new_offsets.dtype == np.int64
    assert _rows(taken, new_offsets) == [ROWS[2], ROWS[1], ROWS[0], ROWS[2]]


def test_take_no_rows():
    values, offsets = _flat(ROWS)
    taken, new_offsets = _ragged.take_rows(values, offsets, np.zeros(0, np.int64))
    assert taken.size == 0
    np.testing.assert_array_equal(new_offsets, [0])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_prepend_starts_every_row_empty_ones_too(dtype):
    values, offsets = _flat(ROWS, dtype)
    longer, new_offsets = _ragged.prepend(values, offsets, 1)
    assert longer.dtype == dtype and new_offsets.dtype == np.int64
    assert _rows(longer, new_offsets) == [[1, *row] for row in ROWS]


def test_prepend_to_no_rows():
    longer, new_offsets = _ragged.prepend(*_flat([]), 1)
    assert longer.size == 0
    np.testing.assert_array_equal(new_offsets, [0])


@given(ragged_rows, st.data())
def test_helpers_agree_with_python_lists(rows, data):
    values, offsets = _flat(rows)
    assert _ragged.offsets_from_lengths([len(r) for r in rows]).tolist() == (
        offsets.tolist()
    )
    row_of = _ragged.row_ids(offsets)
    assert row_of.tolist() == [i for i, row in enumerate(rows) for _ in row]
    np.testing.assert_array_equal(_ragged.offsets_from_rows(row_of, len(rows)), offsets)
    if values.size:
        positions = np.arange(values.size)
        np.testing.assert_array_equal(_ragged.row_at(offsets, positions), row_of)
    threshold = data.draw(st.integers(0, 51))
    kept, kept_offsets = _ragged.compress(values, offsets, values < threshold)
    assert _rows(kept, kept_offsets) == [[v for v in r if v < threshold] for r in rows]
    order = data.draw(st.lists(st.integers(0, max(len(rows) - 1, 0)), max_size=8))
    order = order if rows else []
    taken, taken_offsets = _ragged.take_rows(values, offsets, np.array(order, np.int64))
    assert _rows(taken, taken_offsets) == [rows[i] for i in order]


# -- RaggedIds: the container ReviewEncoder gives ------------------------------------


def test_ragged_ids_rows_slices_masks_and_index_arrays():
    X = _ragged.RaggedIds.from_rows(ROWS)
    assert len(X) == len(ROWS) and X.shape == (len(ROWS),)
    assert X.tolist() == [list(r) for r in ROWS]
    assert [row.tolist() for row in X] == X.tolist()
    assert X[-1].tolist() == list(ROWS[-1]) and not X[0].flags.writeable
    assert X[1:4].tolist() == X.tolist()[1:4] and X[4:1].tolist() == []
    assert X[::2].tolist() == X.tolist()[::2]
    order = np.array([3, 0, 0, -1])
    assert X[order].tolist() == [X.tolist()[i] for i in order]
    mask = np.arange(len(ROWS)) % 2 == 0
    assert X[mask].tolist() == [r for r, m in zip(X.tolist(), mask, strict=True) if m]
    assert X[np.array([], int)].tolist() == []
    assert np.asarray(X).dtype == object and len(np.asarray(X)) == len(ROWS)


@pytest.mark.parametrize(
    "values, offsets, error, match",
    [
        ([1, 2], [0, 3], ValueError, "rise from 0"),
        ([1, 2], [0, 2, 1, 2], ValueError, "rise from 0"),
        ([1, -2], [0, 2], ValueError, r"\[0, 2\*\*31\)"),
        ([1, 2**31], [0, 2], ValueError, r"\[0, 2\*\*31\)"),
        ([1.5], [0, 1], TypeError, "int word ids"),
        ([[1]], [0, 1], TypeError, "int word ids"),
        ([1], [], TypeError, "offsets"),
    ],
)
def test_ragged_ids_refuses_what_is_not_reviews(values, offsets, error, match):
    with pytest.raises(error, match=match):
        _ragged.RaggedIds(np.asarray(values), np.asarray(offsets))


def test_ragged_ids_bad_indices_are_named():
    X = _ragged.RaggedIds.from_rows(ROWS)
    with pytest.raises(IndexError, match="out of range"):
        X[len(ROWS)]
    with pytest.raises(IndexError, match="out of range"):
        X[np.array([0, 99])]
    with pytest.raises(IndexError, match="boolean mask"):
        X[np.array([True])]
    with pytest.raises(IndexError, match="1-d"):
        X[0, 1]
    with pytest.raises(TypeError, match="object array"):
        np.asarray(X, dtype=np.int32)


def test_raw_text_pipeline_composes_with_sklearn_tools():
    """clone, train_test_split, cross_val_score and GridSearchCV split the compact
    form as they split a list of reviews, with the same scores."""
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.utils import _safe_indexing

    from skimdb import MultiHotVectorizer, ReviewEncoder

    rng = np.random.default_rng(0)
    good, bad = ["great", "superb", "moving"], ["dull", "awful", "boring"]
    texts, y = [], []
    for i in range(60):
        words = rng.choice(good if i % 2 else bad, 3).tolist() + ["the", "film"]
        texts.append(" ".join(rng.permutation(words)))
        y.append(i % 2)
    y = np.array(y)
    ids = ReviewEncoder().fit_transform(texts)
    assert _safe_indexing(ids, np.array([5, 1])).tolist() == [
        ids[5].tolist(),
        ids[1].tolist(),
    ]
    a, b, ya, yb = train_test_split(ids, y, random_state=0)
    assert isinstance(a, _ragged.RaggedIds) and len(a) + len(b) == len(ids)
    pipe = Pipeline(
        [
            ("enc", ReviewEncoder()),
            ("vec", MultiHotVectorizer(num_words=None)),
            ("clf", LogisticRegression()),
        ]
    )
    on_text = cross_val_score(clone(pipe), texts, y, cv=3)
    on_ids = cross_val_score(clone(pipe[1:]), ids, y, cv=3)
    assert on_text.mean() > 0.9 and on_ids.mean() > 0.9
    search = GridSearchCV(pipe[1:], {"clf__C": [0.1, 1.0]}, cv=3).fit(ids, y)
    assert search.best_score_ > 0.9
