"""ReviewEncoder: raw text to word ids as the IMDB word index; offline once fitted."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skimdb import IMDBNet, MultiHotVectorizer, RaggedIds, ReviewEncoder
from skimdb.datasets import decode_review, encode_review, get_word_index

WORD_INDEX = {
    "the": 1,
    "film": 2,
    "great": 3,
    "awful": 4,
    "br": 5,
    "it's": 6,
    "caf\u00e9": 7,
}
TEXTS = [
    "The film was GREAT!<br />Great, great.",
    "it's (really) AWFUL; the end",
    "Caf\u00e9 \u00c9toile: the film\tthe\nend",
    "",
    "???",
]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"num_words": 7},
        {"index_from": 0, "start_char": None},
        {"oov_char": None, "num_words": 6},
        {"start_char": 9, "oov_char": 8, "index_from": 10},
    ],
)
def test_encodes_each_review_like_encode_review(params):
    enc = ReviewEncoder(word_index=WORD_INDEX, **params).fit()
    out = enc.transform(TEXTS)
    assert isinstance(out, RaggedIds) and out.shape == (len(TEXTS),)
    assert out.values.dtype == np.int32 and out.offsets.dtype == np.int64
    assert out.tolist() == [
        encode_review(text, word_index=WORD_INDEX, **params) for text in TEXTS
    ]


def test_num_words_keeps_only_the_words_it_can_encode():
    enc = ReviewEncoder(num_words=7, word_index=WORD_INDEX).fit()
    assert enc.word_index_ == {"the": 1, "film": 2, "great": 3}
    assert enc.transform(["awful great film"])[0].tolist() == [1, 2, 6, 5]


def test_ids_pass_through_and_text_mixes_with_them():
    enc = ReviewEncoder(word_index=WORD_INDEX).fit()
    ids = [[1, 14, 22], [1, 2]]
    assert enc.transform(ids) is ids
    padded = np.array([[1, 4, 0], [1, 5, 6]])
    assert enc.transform(padded) is padded
    mixed = enc.transform([[1, 99], "the film"])
    assert mixed.tolist() == [[1, 99], [1, 4, 5]]


def test_takes_numpy_and_pandas_text():
    enc = ReviewEncoder(word_index=WORD_INDEX).fit()
    expected = [[1, 4, 5], [1, 6]]
    for X in (np.array(["the film", "great"]), pd.Series(["the film", "great"])):
        assert [list(ids) for ids in enc.transform(X)] == expected


def test_fit_reads_the_word_index_from_the_data_home(tmp_path):
    (tmp_path / "imdb_word_index.json").write_text(json.dumps(WORD_INDEX))
    enc = ReviewEncoder(word_index="imdb", data_home=tmp_path).fit(["ignored text"])
    assert enc.word_index_ == WORD_INDEX
    enc = ReviewEncoder(word_index="imdb", data_home=tmp_path).fit()
    assert enc.word_index_ == WORD_INDEX
    assert enc.get_params()["word_index"] == "imdb"  # parameters left untouched


def test_fitted_pipeline_predicts_text_offline(tmp_path, monkeypatch):
    """Fit on ids, pickle, then predict raw text with no data file anywhere."""
    rng = np.random.RandomState(0)
    good, bad = [3 + 3, 7 + 3], [4 + 3, 6 + 3]  # great, café / awful, it's
    X = [[1, *rng.choice(good if i % 2 else bad, 5)] for i in range(60)]
    y = np.arange(60) % 2
    pipe = Pipeline(
        [
            ("text", ReviewEncoder(num_words=12, word_index=WORD_INDEX)),
            ("vec", MultiHotVectorizer(num_words=12)),
            (
                "clf",
                IMDBNet(
                    units=4, epochs=20, batch_size=8, learning_rate=0.01, random_state=0
                ),
            ),
        ]
    ).fit(X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(pipe))
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SKIMDB_DATA", str(empty))
    monkeypatch.setenv("KERAS_HOME", str(empty))
    loaded = pickle.loads(path.read_bytes())
    assert list(loaded.predict(["Great caf\u00e9!", "It's AWFUL."])) == [1, 0]
    # the ids still pass through, to the same predictions
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    assert loaded.score(X, y) == 1.0


def test_clone_and_params():
    enc = ReviewEncoder(num_words=100, word_index=WORD_INDEX)
    assert clone(enc).get_params() == enc.get_params()
    assert enc.get_params()["word_index"] is WORD_INDEX


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"num_words": 0}, "num_words"),
        ({"index_from": -1}, "index_from"),
        ({"oov_char": "x"}, "oov_char"),
        ({"word_index": ["the"]}, "word_index"),
    ],
)
def test_bad_parameters_are_named(params, name):
    with pytest.raises(InvalidParameterError, match=name):
        ReviewEncoder(**{"word_index": WORD_INDEX, **params}).fit()


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"index_from": True}, TypeError, "index_from must be an int, got bool"),
        ({"start_char": False}, TypeError, "start_char must be an int or None"),
        ({"num_words": 2**40}, ValueError, "num_words"),
    ],
)
def test_parameters_are_checked_like_encode_review(params, error, match):
    from skimdb.datasets import encode_review

    with pytest.raises(error, match=match):
        encode_review("the film", word_index=WORD_INDEX, **params)
    with pytest.raises(error, match=match):
        ReviewEncoder(**{"word_index": WORD_INDEX, **params}).fit()


def test_bad_word_index_values_are_rejected():
    with pytest.raises(ValueError, match="word_index must map str words"):
        ReviewEncoder(word_index={"the": 0}).fit()


def test_bad_inputs_say_what_to_do():
    enc = ReviewEncoder(word_index=WORD_INDEX).fit()
    with pytest.raises(TypeError, match=r"Wrap a single review in a list"):
        enc.transform("the film")
    with pytest.raises(TypeError, match="Review 1 is bytes; decode it"):
        enc.transform(["the film", b"bytes"])
    with pytest.raises(Exception, match="not fitted"):
        ReviewEncoder(word_index=WORD_INDEX).transform(["the"])


def test_feature_names_out_is_the_word_of_each_id():
    enc = ReviewEncoder(word_index=WORD_INDEX).fit()
    names = enc.get_feature_names_out()
    assert names.dtype == object
    assert list(names) == ["<pad>", "<start>", "<oov>", "<unused>", *WORD_INDEX]
    # the id of each word is the position of its name
    for word in WORD_INDEX:
        assert names[encode_review(word, word_index=WORD_INDEX)[1]] == word
    enc = ReviewEncoder(
        num_words=7, index_from=5, start_char=None, oov_char=1, word_index=WORD_INDEX
    ).fit()
    assert list(enc.get_feature_names_out()) == [
        "<pad>", "<oov>", "<unused>", "<unused>", "<unused>", "<unused>", "the",
    ]  # fmt: skip


def test_pipeline_feature_names_are_words():
    texts = ["A good film.", "A bad film, a bad plot.", "good good"]
    pipe = Pipeline(
        [("enc", ReviewEncoder()), ("vec", MultiHotVectorizer(num_words=None))]
    ).fit(texts)
    names = pipe.get_feature_names_out()
    X = pipe.transform(["a bad plot"])
    assert sorted(names[X.indices]) == sorted(["<start>", "a", "bad", "plot"])
    bigrams = Pipeline(
        [
            ("enc", ReviewEncoder(num_words=6)),
            ("vec", MultiHotVectorizer(num_words=6, ngram_range=(1, 2))),
        ]
    ).fit(texts)
    names = bigrams.get_feature_names_out()
    assert list(names[:6]) == ["<pad>", "<start>", "<oov>", "<unused>", "a", "good"]
    assert "<start> a" in names and "a <oov>" in names and "good good" in names
    X = bigrams.transform(["good good"])
    assert sorted(names[X.indices]) == ["<start>", "<start> good", "good", "good good"]


def test_learns_the_word_index_from_the_texts():
    texts = ["b a b", "c a d b", "E e"]
    enc = ReviewEncoder().fit(texts)
    # b: 3, a: 2, e: 2 (first seen after a), c and d: 1
    assert enc.word_index_ == {"b": 1, "a": 2, "e": 3, "c": 4, "d": 5}
    assert enc.transform(["d b x"]).tolist() == [[1, 8, 4, 2]]
    assert ReviewEncoder(num_words=6).fit(texts).word_index_ == {"b": 1, "a": 2}
    assert ReviewEncoder(min_count=2).fit(texts).word_index_ == {
        "b": 1,
        "a": 2,
        "e": 3,
    }
    assert ReviewEncoder(num_words=3).fit(texts).word_index_ == {}
    # the same index as a pandas Series or a one-column array
    assert ReviewEncoder().fit(pd.Series(texts)).word_index_ == enc.word_index_
    column = np.array(texts, dtype=object)[:, None]
    assert ReviewEncoder().fit(column).word_index_ == enc.word_index_
    # ties keep the order of first occurrence: the texts' order matters
    assert list(ReviewEncoder().fit(["y x", "x y"]).word_index_) == ["y", "x"]


def test_learning_fit_reads_no_file(tmp_path, monkeypatch):
    import skimdb.text

    def no_io(*args, **kwargs):
        raise AssertionError("fit read the word index")

    monkeypatch.setattr(skimdb.text, "get_word_index", no_io)
    monkeypatch.setenv("SKIMDB_DATA", str(tmp_path / "missing"))
    enc = ReviewEncoder(data_home=tmp_path / "missing").fit(["a film"])
    assert enc.word_index_ == {"a": 1, "film": 2}
    ReviewEncoder(word_index={"a": 1}).fit()
    with pytest.raises(AssertionError, match="fit read"):
        ReviewEncoder(word_index="imdb").fit()
    assert not (tmp_path / "missing").exists()


def test_learning_needs_texts():
    with pytest.raises(TypeError, match=r"fit\(texts\).*word_index='imdb'"):
        ReviewEncoder().fit()
    with pytest.raises(TypeError, match=r"Review 1 is a list.*word_index='imdb'"):
        ReviewEncoder().fit(["good", [1, 14, 22]])
    with pytest.raises(TypeError, match="Review 0 is a ndarray"):
        ReviewEncoder().fit(np.array([[1, 14, 22]]))
    with pytest.raises(ValueError, match="0 reviews"):
        ReviewEncoder().fit([])
    with pytest.raises(TypeError, match="Wrap a single review"):
        ReviewEncoder().fit("a single text")
    with pytest.raises(TypeError, match="Review 0 is bytes"):
        ReviewEncoder().fit([b"bytes"])


def test_min_count_only_with_a_learned_index():
    with pytest.raises(ValueError, match="min_count=2 prunes a learned word index"):
        ReviewEncoder(min_count=2, word_index=WORD_INDEX).fit()
    with pytest.raises(InvalidParameterError, match="min_count"):
        ReviewEncoder(min_count=0).fit(["a"])
    with pytest.raises(InvalidParameterError, match="word_index"):
        ReviewEncoder(word_index="keras").fit(["a"])


@pytest.mark.realdata
def test_reencoding_decoded_real_reviews_gives_their_ids(real_data_home, real_imdb):
    """Decoded training reviews encode back to their ids, less the oov marks."""
    (X_train, _), _ = real_imdb
    word_index = get_word_index(data_home=real_data_home)
    enc = ReviewEncoder(num_words=10000, word_index=word_index).fit()
    assert len(enc.word_index_) == 10000 - 3 - 1  # ranks 1 .. 9996
    reviews = X_train[:300]
    texts = [decode_review(ids, word_index=word_index) for ids in reviews[:3]]
    words = {rank + 3: word for word, rank in word_index.items()}  # decode_review's
    texts += [" ".join(words.get(i, "?") for i in ids) for ids in reviews[3:]]
    expected = [[1, *(i for i in ids[1:] if i != 2)] for ids in reviews]
    assert [list(ids) for ids in enc.transform(texts)] == expected


def test_one_column_dataframe_is_its_reviews_not_its_label():
    enc = ReviewEncoder(word_index={"good": 1, "film": 2}).fit()
    frame = pd.DataFrame({"review": ["good film", "film"]})
    out = enc.transform(frame)
    assert [list(r) for r in out] == [[1, 4, 5], [1, 5]]


def test_one_text_column_of_a_numpy_array_in_a_column_transformer():
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    encode = make_pipeline(
        ReviewEncoder(word_index={"good": 1, "film": 2}),
        MultiHotVectorizer(num_words=6),
    )
    table = np.array([["good film", "x"], ["film", "y"]], dtype=object)
    columns = ColumnTransformer([("text", encode, [0])], sparse_threshold=1.0)
    X = columns.fit_transform(table)
    assert X.toarray().tolist() == [[0, 1, 0, 0, 1, 1], [0, 1, 0, 0, 0, 1]]
    enc = ReviewEncoder(word_index={"good": 1, "film": 2}).fit()
    column = np.array([["good film"], ["film"]])  # str dtype, one column
    assert [list(r) for r in enc.transform(column)] == [[1, 4, 5], [1, 5]]
    for dtype in (str, object):
        with pytest.raises(TypeError, match=r"array of text of shape \(2, 2\)"):
            enc.transform(np.array([["good", "film"], ["film", "good"]], dtype=dtype))
    ids = np.empty((2, 2), dtype=object)  # rows of ids in an object array: as given
    ids[:] = [[1, 4], [1, 5]]
    assert enc.transform(ids) is ids


@pytest.mark.parametrize(
    "X", [[b"good film"], np.array([b"good film"])], ids=["list", "bytes-array"]
)
def test_bytes_reviews_are_refused_by_name(X):
    enc = ReviewEncoder(word_index={"good": 1}).fit()
    with pytest.raises(TypeError, match="Review 0 is bytes; decode it to str first"):
        enc.transform(X)


def test_inverse_transform_decodes_like_decode_review():
    from skimdb.datasets import decode_review

    word_index = {"good": 1, "film": 2}
    enc = ReviewEncoder(word_index=word_index).fit()
    ids = enc.transform(["Good film!", "bad film"])
    assert enc.inverse_transform(ids) == ["? good film", "? ? film"]
    assert enc.inverse_transform(ids) == [
        decode_review(r, word_index=word_index) for r in ids
    ]


@pytest.mark.parametrize(
    ("reviews", "error", "match"),
    [
        (["abc"], TypeError, "Review 0: sequence must be a sequence of int"),
        ([[1, 2], [1.7, 4]], TypeError, "Review 1: "),
        ([[1, -3]], ValueError, "Review 0: "),
    ],
)
def test_inverse_transform_refuses_what_is_not_ids(reviews, error, match):
    enc = ReviewEncoder(word_index={"good": 1, "film": 2}).fit()
    with pytest.raises(error, match=match):
        enc.inverse_transform(reviews)


@pytest.fixture(scope="session")
def real_train_texts(real_data_home):
    """The 25,000 raw training texts (fetch_imdb(text=True)), read once."""
    from skimdb.datasets import fetch_imdb

    return fetch_imdb(subset="train", text=True, data_home=real_data_home).data


@pytest.mark.realdata
def test_learned_index_reproduces_keras(real_train_texts, real_data_home):
    """Fitted on the training texts, the learned index is Keras' up to ties.

    Keras ranked the words by count with a stable sort over a plain dict, so words
    of equal count came in Python 2's hash order: no order of the texts gives it.
    Every word's learned rank falls in the block of ranks of its count (the same
    block as Keras'), and words whose count no other word shares get equal ranks.
    """
    from collections import Counter

    from _reference_codec import count_words as _count_words

    keras = get_word_index(data_home=real_data_home, download_if_missing=False)
    learned = ReviewEncoder().fit(real_train_texts).word_index_
    assert set(learned) == set(keras)
    counts = _count_words(real_train_texts)
    words_per_count = Counter(counts.values())
    untied = [w for w in keras if words_per_count[counts[w]] == 1]
    assert untied and all(learned[w] == keras[w] for w in untied)
    # the block of ranks of each count: every word above it is more frequent
    first_rank = {}
    for word, rank in keras.items():
        c = counts[word]
        first_rank[c] = min(first_rank.get(c, rank), rank)
    for word, rank in learned.items():
        c = counts[word]
        assert first_rank[c] <= rank < first_rank[c] + words_per_count[c]
        assert first_rank[c] <= keras[word] < first_rank[c] + words_per_count[c]
    tied = [w for w in keras if words_per_count[counts[w]] > 1]
    differ = sum(learned[w] != keras[w] for w in tied)
    # about one word per tie group lands on Keras' rank, as for a random order
    groups = sum(1 for n in words_per_count.values() if n > 1)
    print(
        f"{len(untied)} untied words, all equal; {differ} of {len(tied)} tied "
        f"words ({groups} tie groups) have another rank than Keras'"
    )
    assert len(tied) - differ < 3 * groups


def test_learned_pipeline_saves_without_pickle(tmp_path):
    from skimdb.persistence import load, save

    texts = ["A good film.", "A bad film, a bad plot."]
    pipe = Pipeline(
        [("enc", ReviewEncoder(min_count=1)), ("vec", MultiHotVectorizer(num_words=9))]
    ).fit(texts)
    save(pipe, tmp_path / "model")
    back = load(tmp_path / "model")
    assert back[0].word_index_ == pipe[0].word_index_
    assert list(back.get_feature_names_out()) == list(pipe.get_feature_names_out())
    assert (back.transform(["a bad plot"]) != pipe.transform(["a bad plot"])).nnz == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["a", "B", "c", "d!", "e,f", "<br />"]), max_size=8
        ).map(" ".join),
        min_size=1,
        max_size=8,
    ),
    st.integers(1, 3),
)
def test_learned_ranks_follow_counts_then_first_occurrence(texts, min_count):
    """Any texts: a more frequent word has a smaller rank; ties, the earlier word."""
    from _reference_codec import tokenize as _tokenize

    words = [w for text in texts for w in _tokenize(text)]
    enc = ReviewEncoder(min_count=min_count).fit(texts)
    index = enc.word_index_
    assert set(index) == {w for w in words if words.count(w) >= min_count}
    assert sorted(index.values()) == list(range(1, len(index) + 1))
    for u in index:
        for v in index:
            key_u = (-words.count(u), words.index(u))
            key_v = (-words.count(v), words.index(v))
            assert (index[u] < index[v]) == (key_u < key_v)
    # the encoding is encode_review's with the learned index
    for text in texts:
        assert enc.transform([text])[0].tolist() == encode_review(
            text, word_index=index
        )


@pytest.mark.parametrize("word_index", [None, WORD_INDEX])
@pytest.mark.parametrize(
    "num_words, params, name",
    [
        (1, {}, "start_char"),
        (2, {}, "oov_char"),
        (2, {"start_char": None}, "oov_char"),
        (1, {"oov_char": None}, "start_char"),
        (5, {"start_char": 7}, "start_char"),
    ],
)
def test_markers_at_or_above_num_words_are_refused(word_index, num_words, params, name):
    """Issue 20: num_words=1 or 2 gave ids >= num_words, against the docstring."""
    enc = ReviewEncoder(num_words, word_index=word_index, **params)
    with pytest.raises(ValueError, match=f"{name}=.* num_words={num_words}"):
        enc.fit(TEXTS)
    with pytest.raises(ValueError, match=f"{name}=.* num_words={num_words}"):
        enc.fit_transform(TEXTS)


@pytest.mark.parametrize("num_words", [1, 2, 3, 5, 9])
def test_every_id_is_below_num_words(num_words):
    """Whatever num_words, with markers that fit below it or none, no id reaches it."""
    for start_char, oov_char in [(None, None), (0, None), (None, 0), (0, 0)]:
        enc = ReviewEncoder(num_words, start_char=start_char, oov_char=oov_char)
        X = enc.fit_transform(TEXTS + ["b a b c"])
        assert X.values.size == 0 or X.values.max() < num_words
        assert enc.transform(TEXTS).values.max(initial=0) < num_words


def test_fit_never_downloads(tmp_path, monkeypatch):
    """word_index='imdb' with no index in the data home: a clear error, no download."""
    import urllib.request

    from skimdb.datasets import IMDBDataNotFoundError

    def no_network(*args, **kwargs):
        raise AssertionError("fit tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(IMDBDataNotFoundError, match="imdb_word_index.json"):
        ReviewEncoder(word_index="imdb", data_home=tmp_path).fit()
