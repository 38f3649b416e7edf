"""MultiHotVectorizer: the multi-hot encoding, its unknown-id policy, bad input."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skimdb import MultiHotVectorizer, NBLogCountRatio


def vectorize_sequences(sequences, dimension):
    """The notebook's reference implementation (dense, a Python loop)."""
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        results[i, sequence] = 1.0
    return results


reviews = st.lists(st.lists(st.integers(0, 49), max_size=30), min_size=1, max_size=20)


@settings(max_examples=100, deadline=None)
@given(reviews)
def test_agrees_with_the_notebooks_loop(X):
    out = MultiHotVectorizer(num_words=50).fit_transform(X)
    assert sp.isspmatrix_csr(out) and out.dtype == np.float32
    np.testing.assert_array_equal(out.toarray(), vectorize_sequences(X, 50))
    assert out.has_canonical_format
    assert (out.data == 1).all()


@settings(max_examples=50, deadline=None)
@given(reviews, st.integers(1, 19))
def test_transform_does_not_depend_on_batching(X, cut):
    vec = MultiHotVectorizer(num_words=50).fit(X)
    whole = vec.transform(X)
    parts = (
        sp.vstack([vec.transform(X[:cut]), vec.transform(X[cut:])])
        if cut < len(X)
        else whole
    )
    np.testing.assert_array_equal(whole.toarray(), parts.toarray())


@pytest.mark.parametrize(
    "container",
    [
        list,
        lambda X: [tuple(r) for r in X],
        lambda X: [np.asarray(r, dtype=np.int32) for r in X],
        lambda X: np.array([list(r) for r in X], dtype=object),
        lambda X: pd.Series([list(r) for r in X]),
        lambda X: [np.asarray(r, dtype=np.uint16) for r in X],
    ],
)
def test_accepts_the_usual_containers(container):
    X = [[1, 4, 4, 2], [3], [], [0, 9]]
    out = MultiHotVectorizer(num_words=10).fit_transform(container(X))
    np.testing.assert_array_equal(out.toarray(), vectorize_sequences(X, 10))


def test_padded_2d_int_array_rows_are_reviews():
    X = np.array([[0, 0, 5, 6], [1, 2, 3, 3]])
    out = MultiHotVectorizer(num_words=8).fit_transform(X)
    np.testing.assert_array_equal(out.toarray(), vectorize_sequences(X.tolist(), 8))


def test_unknown_ids_policies():
    X = [[1, 12, 3], [15]]
    oov = MultiHotVectorizer(num_words=10).fit_transform(X).toarray()
    np.testing.assert_array_equal(oov, vectorize_sequences([[1, 2, 3], [2]], 10))
    ignore = MultiHotVectorizer(num_words=10, handle_unknown="ignore").fit_transform(X)
    np.testing.assert_array_equal(
        ignore.toarray(), vectorize_sequences([[1, 3], []], 10)
    )
    with pytest.raises(ValueError, match="Review 0 holds word id 12 >= num_words=10"):
        MultiHotVectorizer(num_words=10, handle_unknown="error").fit_transform(X)


def test_oov_policy_matches_keras_num_words_cut():
    # load_data(num_words=5) maps ids >= 5 to oov 2; vectorizing the full-vocabulary
    # data with num_words=5 must give the same matrix.
    full = [[1, 7, 3, 9, 4], [1, 2, 6]]
    cut = [[w if w < 5 else 2 for w in r] for r in full]
    np.testing.assert_array_equal(
        MultiHotVectorizer(num_words=5).fit_transform(full).toarray(),
        MultiHotVectorizer(num_words=5).fit_transform(cut).toarray(),
    )


def test_num_words_none_learns_the_width():
    vec = MultiHotVectorizer(num_words=None).fit([[1, 17], [4]])
    assert vec.num_words_ == 18
    assert vec.transform([[30]]).toarray()[0, 2] == 1  # unseen id -> oov column
    assert (
        MultiHotVectorizer(num_words=None, handle_unknown="ignore")
        .fit([[0]])
        .num_words_
        == 1
    )


def test_feature_names_and_dtype():
    vec = MultiHotVectorizer(num_words=3, dtype=np.float64).fit([[1]])
    assert list(vec.get_feature_names_out()) == [
        "multihotvectorizer0",
        "multihotvectorizer1",
        "multihotvectorizer2",
    ]
    assert vec.transform([[1]]).dtype == np.float64


def test_clone_and_params():
    vec = MultiHotVectorizer(num_words=7, handle_unknown="ignore")
    assert clone(vec).get_params() == vec.get_params()
    assert not hasattr(vec, "num_words_")


@pytest.mark.parametrize(
    "X, error, match",
    [
        ("a review", TypeError, "X must be a sequence of reviews"),
        (5, TypeError, "X must be a sequence of reviews"),
        ([], ValueError, "X holds 0 reviews"),
        (["good movie"], TypeError, r"Review 0 .* holds a str \('good movie'\)"),
        ([[1, 2], [1.5]], TypeError, r"Review 1 .* element 1.5 of type float"),
        ([[1, None]], TypeError, r"Review 0 .* element None of type NoneType"),
        ([[1, [2, 3]]], TypeError, r"Review 0 .* element \[2, 3\] of type list"),
        ([[1, "2"]], TypeError, r"Review 0 .* element '2' of type str"),
        ([[1], 7], TypeError, r"Review 1 .* holds a scalar int"),
        ([None], TypeError, r"Review 0 .* holds a scalar NoneType"),
        ([[1, -3]], ValueError, "Review 0 holds the negative word id -3"),
        ([np.array([1.0, 2.0])], TypeError, "1-d array of dtype float64"),
        ([np.array([[1, 2]])], TypeError, "2-d array of dtype int64"),
        ([[2**70]], TypeError, "an id too large for int64"),
        (np.ones((2, 3)), TypeError, "2-d with integer ids"),
        (sp.csr_matrix(np.ones((2, 3))), TypeError, "X must be a sequence of reviews"),
    ],
)
def test_bad_input_is_refused_by_name(X, error, match):
    with pytest.raises(error, match=match):
        MultiHotVectorizer(num_words=10).fit_transform(X)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(num_words=0), "'num_words' parameter of MultiHotVectorizer must be"),
        (dict(num_words=2**62), r"'num_words' .* range \[1, 2147483648\] or None"),
        (dict(handle_unknown="keep"), "'handle_unknown' parameter"),
        (dict(oov_id=-1), "'oov_id' parameter"),
        (dict(num_words=2, oov_id=2), "oov_id=2 is not a column of the output"),
        (dict(dtype=np.int32), "dtype=.*int32.* is not supported"),
    ],
)
def test_bad_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        MultiHotVectorizer(**params).fit([[1]])


def test_widest_num_words_encodes_the_last_column():
    X = MultiHotVectorizer(num_words=2**31).fit_transform([[5, 1], [2**31 - 1, 3]])
    assert X.shape == (2, 2**31)
    assert X.indices.tolist() == [1, 5, 3, 2**31 - 1]


def test_transform_before_fit():
    with pytest.raises(NotFittedError):
        MultiHotVectorizer().transform([[1]])


def reference_ngrams(train, test, num_words, ngram_range, min_df=1, max_features=None):
    """Plain-Python n-gram multi-hot encoding (oov policy for ids >= num_words)."""
    lo, hi = ngram_range

    def grams(review, n):
        review = [w if w < num_words else 2 for w in review]
        return {tuple(review[i : i + n]) for i in range(len(review) - n + 1)}

    vocab = []
    for n in range(max(lo, 2), hi + 1):
        df = {}
        for review in train:
            for g in grams(review, n):
                df[g] = df.get(g, 0) + 1
        vocab += [(n, g, c) for g, c in df.items() if c >= min_df]
    if max_features is not None:
        vocab = sorted(vocab, key=lambda t: (-t[2], t[0], t[1]))[:max_features]
    vocab = sorted((n, g) for n, g, _ in vocab)
    words = num_words if lo == 1 else 0
    column = {g: words + j for j, (_, g) in enumerate(vocab)}
    out = np.zeros((len(test), words + len(vocab)))
    for i, review in enumerate(test):
        if lo == 1:
            for w in review:
                out[i, w if w < num_words else 2] = 1
        for n in range(max(lo, 2), hi + 1):
            for g in grams(review, n):
                if g in column:
                    out[i, column[g]] = 1
    return out, vocab


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 12), max_size=15), min_size=1, max_size=15),
    st.lists(st.lists(st.integers(0, 12), max_size=15), min_size=1, max_size=5),
    st.sampled_from([(1, 2), (1, 3), (2, 2), (2, 3)]),
    st.integers(1, 3),
    st.sampled_from([None, 1, 5]),
)
def test_ngrams_agree_with_a_plain_reference(train, test, ngram_range, min_df, top):
    vec = MultiHotVectorizer(
        num_words=10, ngram_range=ngram_range, min_df=min_df, max_features=top
    ).fit(train)
    expected, vocab = reference_ngrams(train, test, 10, ngram_range, min_df, top)
    out = vec.transform(test)
    assert out.has_canonical_format
    np.testing.assert_array_equal(out.toarray(), expected)
    assert [tuple(int(i) for i in row if i >= 0) for row in vec.vocabulary_] == [
        g for _, g in vocab
    ]
    assert len(vec.get_feature_names_out()) == out.shape[1]
    refit = clone(vec).fit_transform(train)
    np.testing.assert_array_equal(refit.toarray(), vec.transform(train).toarray())
    assert refit.has_canonical_format


def test_ngrams_do_not_cross_review_boundaries():
    vec = MultiHotVectorizer(num_words=10, ngram_range=(2, 2)).fit([[1, 2], [3, 4]])
    assert vec.vocabulary_.tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("ngram_range", [(0, 1), (2, 1), (1,), (1.0, 2.0)])
def test_bad_ngram_range_is_named(ngram_range):
    with pytest.raises(ValueError, match="ngram_range=.* must be a pair"):
        MultiHotVectorizer(ngram_range=ngram_range).fit([[1, 2]])


def test_ngram_keys_beyond_int64_are_refused():
    with pytest.raises(ValueError, match="n-gram keys beyond int64"):
        MultiHotVectorizer(num_words=100000, ngram_range=(1, 4)).fit([[1, 2, 3, 4]])


def test_nb_log_count_ratio_matches_wang_and_manning():
    rng = np.random.RandomState(0)
    X = sp.random(50, 8, density=0.4, format="csr", random_state=rng)
    X.data[:] = 1
    y = rng.randint(0, 2, 50)
    nb = NBLogCountRatio(alpha=0.5).fit(X, np.where(y, "pos", "neg"))
    dense = X.toarray()
    p = 0.5 + dense[y == 1].sum(axis=0)
    q = 0.5 + dense[y == 0].sum(axis=0)
    r = np.log((p / p.sum()) / (q / q.sum()))
    np.testing.assert_allclose(nb.log_count_ratio_, r)
    out = nb.transform(X)
    assert sp.isspmatrix_csr(out)
    np.testing.assert_allclose(out.toarray(), dense * r)
    assert list(nb.classes_) == ["neg", "pos"]


@pytest.mark.parametrize("to_sparse", [sp.coo_matrix, sp.csc_matrix, np.asarray])
def test_nb_log_count_ratio_takes_any_format_alike(to_sparse):
    rng = np.random.RandomState(0)
    X = sp.random(40, 6, density=0.4, format="csr", random_state=rng)
    y = rng.randint(0, 2, 40)
    expected = NBLogCountRatio().fit(X, y).log_count_ratio_
    other = X.toarray() if to_sparse is np.asarray else to_sparse(X)
    np.testing.assert_allclose(
        NBLogCountRatio().fit(other, y).log_count_ratio_, expected
    )


def test_nb_log_count_ratio_refuses_bad_input():
    with pytest.raises(ValueError, match="exactly two classes; y holds 3 classes"):
        NBLogCountRatio().fit(np.ones((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="exactly two classes; y holds 1 class"):
        NBLogCountRatio().fit(np.ones((3, 2)), [1, 1, 1])
    with pytest.raises(ValueError, match="Negative values"):
        NBLogCountRatio().fit(-np.ones((2, 2)), [0, 1])
    with pytest.raises(ValueError, match="'alpha' parameter"):
        NBLogCountRatio(alpha=0).fit(np.ones((2, 2)), [0, 1])


# -- words as feature names ------------------------------------------------------


def test_feature_names_are_words_with_a_word_index():
    from skimdb.datasets import decode_review

    word_index = {"good": 1, "film": 2, "bad": 3}
    reviews = [[1, 4, 5], [1, 6, 5, 9], [5, 4]]
    vec = MultiHotVectorizer(num_words=8, ngram_range=(1, 2), word_index=word_index)
    names = vec.fit(reviews).get_feature_names_out()
    assert list(names[:8]) == [
        "<pad>", "<start>", "<oov>", "<unused>", "good", "film", "bad", "<unused>",
    ]  # fmt: skip
    # each n-gram's name is decode_review's words of its ids, spaces between
    for row, name in zip(vec.vocabulary_, names[8:], strict=True):
        decoded = decode_review(row[row >= 0], word_index=word_index)
        markers = {"<pad>", "<start>", "<oov>", "<unused>"}
        shown = ["?" if word in markers else word for word in name.split(" ")]
        assert shown == decoded.split(" ")
    assert "good film" in names and "bad film" in names and "film good" in names
    # the ids of a review name its words; 9 is beyond num_words: the oov column
    X = vec.transform([[1, 6, 5, 9]])
    assert {"<start>", "bad", "film", "<oov>", "bad film"} <= set(names[X.indices])


def test_feature_names_from_the_input_features():
    table = np.array(["<pad>", "<start>", "<oov>", "<unused>", "good", "film"], object)
    vec = MultiHotVectorizer(num_words=8, ngram_range=(2, 2)).fit([[1, 4, 5]])
    assert list(vec.get_feature_names_out(table)) == ["<start> good", "good film"]
    # a narrower table leaves the vectorizer's extra columns unused
    wide = MultiHotVectorizer(num_words=8).fit([[1]])
    assert list(wide.get_feature_names_out(table)[5:]) == [
        "film",
        "<unused>",
        "<unused>",
    ]
    # a table wider than the vectorizer is cut to its columns
    assert (
        len(MultiHotVectorizer(num_words=3).fit([[1]]).get_feature_names_out(table))
        == 3
    )
    # input_features win over word_index: they describe the ids that arrive
    vec = MultiHotVectorizer(num_words=6, word_index={"bad": 1}).fit([[1]])
    assert vec.get_feature_names_out(table)[4] == "good"
    assert vec.get_feature_names_out()[4] == "bad"


def test_generic_feature_names_where_no_words_are_known():
    vec = MultiHotVectorizer(num_words=3).fit([[1]])
    generic = ["multihotvectorizer0", "multihotvectorizer1", "multihotvectorizer2"]
    assert list(vec.get_feature_names_out()) == generic
    assert list(vec.get_feature_names_out(["word_ids"])) == generic  # one column


def test_bad_word_index_and_input_features_are_named():
    with pytest.raises(ValueError, match="word_index must map str words"):
        MultiHotVectorizer(word_index={"good": 0}).fit([[1]])
    with pytest.raises(Exception, match="word_index"):
        MultiHotVectorizer(word_index=["good"]).fit([[1]])
    vec = MultiHotVectorizer(num_words=3).fit([[1]])
    with pytest.raises(
        ValueError, match="input_features must be a 1-d sequence of str"
    ):
        vec.get_feature_names_out([1, 2, 3])
    assert clone(MultiHotVectorizer(word_index={"a": 1})).word_index == {"a": 1}
