"""Property-based tests: the vectorizer against a reference, batching, round trips.

They extend the fixed-width and one-cut properties of test_preprocessing.py and
the fixed-vocabulary round trip of test_datasets.py to any width, any
unknown-id policy, any container, any split into batches, and random
vocabularies and texts.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import _object_array
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from skimdb import MultiHotVectorizer
from skimdb._codec import FILTERS as _FILTERS
from skimdb.datasets import decode_review, encode_review


def reference(X, width, handle_unknown, oov_id):
    """Multi-hot encoding with Python sets, one review at a time."""
    out = np.zeros((len(X), width))
    for row, review in enumerate(X):
        for i in review:
            if i < width:
                out[row, i] = 1
            elif handle_unknown == "oov":
                out[row, oov_id] = 1
            elif handle_unknown == "error":
                raise ValueError(f"Review {row} holds word id {i}")
    return out


CONTAINERS = {
    "lists": list,
    "tuples": lambda X: [tuple(r) for r in X],
    "int32 arrays": lambda X: [np.asarray(r, dtype=np.int32) for r in X],
    "uint8 arrays": lambda X: [np.asarray(r, dtype=np.uint8) for r in X],
    "object array": lambda X: _object_array(X),
}


reviews = st.lists(st.lists(st.integers(0, 255), max_size=25), min_size=1, max_size=15)
settings_ = st.fixed_dictionaries(
    {
        "num_words": st.none() | st.integers(1, 300),
        "handle_unknown": st.sampled_from(["oov", "ignore", "error"]),
        "oov_id": st.integers(0, 300),
        "container": st.sampled_from(sorted(CONTAINERS)),
    }
)


@settings(max_examples=200, deadline=None)
@given(X=reviews, params=settings_)
def test_vectorizer_agrees_with_the_reference_for_any_width(X, params):
    container = CONTAINERS[params.pop("container")]
    vec = MultiHotVectorizer(**params)
    num_words, handle_unknown, oov_id = (
        params["num_words"],
        params["handle_unknown"],
        params["oov_id"],
    )
    if num_words is None:
        width = max([i + 1 for r in X for i in r], default=1)
        if handle_unknown == "oov":
            width = max(width, oov_id + 1)
    else:
        width = num_words
    if handle_unknown == "oov" and oov_id >= width:
        with pytest.raises(ValueError, match=f"oov_id={oov_id} is not a column"):
            vec.fit(container(X))
        return
    vec.fit(container(X))
    assert vec.num_words_ == width
    try:
        expected = reference(X, width, handle_unknown, oov_id)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)):
            vec.transform(container(X))
        return
    out = vec.transform(container(X))
    assert sp.isspmatrix_csr(out) and out.shape == (len(X), width)
    assert_canonical(out)
    assert (out.data == 1).all()
    np.testing.assert_array_equal(out.toarray(), expected)


def assert_canonical(X):
    """Sorted, unique columns in every row, checked on the arrays themselves (the
    matrix's own ``has_canonical_format`` flag may have been set by its maker)."""
    assert X.has_canonical_format
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    same_row = rows[1:] == rows[:-1]
    assert (np.diff(X.indices)[same_row] > 0).all()


# ids of every size a Python list can hold for a review, in every int type
big_ids = st.one_of(
    st.integers(0, 400),
    st.integers(2**31 - 3, 2**31 + 3),
    st.integers(0, 2**62),
)
mixed_reviews = st.lists(
    st.lists(
        st.tuples(big_ids, st.sampled_from([int, np.int64, np.uint32, bool])),
        max_size=25,
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=200, deadline=None)
@given(
    X=mixed_reviews,
    handle_unknown=st.sampled_from(["oov", "ignore"]),
    chunk=st.sampled_from([1, 3, 2**16]),
)
def test_lists_of_any_int_read_like_int64_arrays(X, handle_unknown, chunk):
    import skimdb.preprocessing

    def cast(value, kind):
        if kind is bool:
            return bool(value % 2)
        if kind is np.uint32:
            return np.uint32(value % 2**32)
        return kind(value)

    lists = [[cast(v, kind) for v, kind in review] for review in X]
    arrays = [np.asarray([int(v) for v in review], dtype=np.int64) for review in lists]
    vec = MultiHotVectorizer(num_words=300, handle_unknown=handle_unknown)
    # any size of sort chunk gives the same matrix (tiny ones split every review)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(skimdb.preprocessing, "_SORT_CHUNK", chunk)
        out = vec.fit_transform(lists)
    assert_canonical(out)
    expected = reference(arrays, 300, handle_unknown, vec.oov_id)
    np.testing.assert_array_equal(out.toarray(), expected)


@settings(max_examples=100, deadline=None)
@given(
    X=reviews,
    num_words=st.integers(1, 300),
    handle_unknown=st.sampled_from(["oov", "ignore"]),
    cuts=st.lists(st.integers(0, 15), max_size=4),
)
def test_transform_does_not_depend_on_batching(X, num_words, handle_unknown, cuts):
    assume(handle_unknown == "ignore" or num_words > 2)
    vec = MultiHotVectorizer(num_words=num_words, handle_unknown=handle_unknown)
    vec.fit(X)
    whole = vec.transform(X)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(X)), len(X)]
    parts = [
        vec.transform(X[a:b])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        if b > a
    ]
    batched = sp.vstack(parts, format="csr")
    assert batched.shape == whole.shape
    assert (batched != whole).nnz == 0
    np.testing.assert_array_equal(batched.indptr, whole.indptr)
    np.testing.assert_array_equal(batched.indices, whole.indices)


# -- encoding and decoding ------------------------------------------------------------

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz'", min_size=1, max_size=8)
separators = st.text(alphabet=_FILTERS + " ", min_size=1, max_size=3)


@st.composite
def vocabulary_and_text(draw):
    vocabulary = draw(st.lists(words, min_size=1, max_size=30, unique=True))
    ranks = draw(st.permutations(range(1, len(vocabulary) + 1)))
    word_index = dict(zip(vocabulary, ranks, strict=True))
    chosen = draw(st.lists(st.sampled_from(vocabulary), max_size=20))
    pieces = [draw(separators) if draw(st.booleans()) else ""]
    for word in chosen:
        shouted = "".join(
            c.upper() if draw(st.booleans()) else c for c in word
        )  # ASCII case is folded
        pieces += [shouted, draw(separators)]
    return word_index, chosen, "".join(pieces)


@settings(max_examples=200, deadline=None)
@given(data=vocabulary_and_text(), index_from=st.integers(0, 5))
def test_decoding_the_encoding_gives_the_words_back(data, index_from):
    word_index, chosen, text = data
    ids = encode_review(
        text, word_index=word_index, index_from=index_from, start_char=None
    )
    assert len(ids) == len(chosen)
    assert all(
        i == word_index[w] + index_from for i, w in zip(ids, chosen, strict=True)
    )
    decoded = decode_review(
        ids, word_index=word_index, index_from=index_from, start_char=None
    )
    # An id equal to the out-of-vocabulary mark 2 (index_from < 2) shows as "?".
    expected = ["?" if word_index[w] + index_from == 2 else w for w in chosen]
    assert decoded == " ".join(expected)
    if "?" not in expected:  # and the decoded text encodes to the same ids
        assert (
            encode_review(
                decoded, word_index=word_index, index_from=index_from, start_char=None
            )
            == ids
        )
    marked = encode_review(text, word_index=word_index, index_from=index_from + 3)
    assert decode_review(marked, word_index=word_index, index_from=index_from + 3) == (
        " ".join(["?", *chosen])
    )


@settings(max_examples=100, deadline=None)
@given(data=vocabulary_and_text(), num_words=st.integers(1, 40))
def test_words_beyond_num_words_decode_as_unknown(data, num_words):
    word_index, chosen, text = data
    ids = encode_review(text, word_index=word_index, num_words=num_words)
    assert ids[0] == 1 and all(i < num_words or i == 2 for i in ids[1:])
    expected = [w if word_index[w] + 3 < num_words else "?" for w in chosen]
    assert decode_review(ids, word_index=word_index) == " ".join(["?", *expected])
