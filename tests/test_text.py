"""ReviewEncoder: raw text to word ids as the IMDB word index; offline once fitted."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skimdb import IMDBNet, MultiHotVectorizer, ReviewEncoder
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
    assert out.dtype == object and out.shape == (len(TEXTS),)
    assert [list(ids) for ids in out] == [
        encode_review(text, word_index=WORD_INDEX, **params) for text in TEXTS
    ]
    assert all(type(i) is int for ids in out for i in ids)


def test_num_words_keeps_only_the_words_it_can_encode():
    enc = ReviewEncoder(num_words=7, word_index=WORD_INDEX).fit()
    assert enc.word_index_ == {"the": 1, "film": 2, "great": 3}
    assert enc.transform(["awful great film"])[0] == [1, 2, 6, 5]


def test_ids_pass_through_and_text_mixes_with_them():
    enc = ReviewEncoder(word_index=WORD_INDEX).fit()
    ids = [[1, 14, 22], [1, 2]]
    assert enc.transform(ids) is ids
    padded = np.array([[1, 4, 0], [1, 5, 6]])
    assert enc.transform(padded) is padded
    mixed = enc.transform([[1, 99], "the film"])
    assert list(mixed) == [[1, 99], [1, 4, 5]]


def test_takes_numpy_and_pandas_text():
    enc = ReviewEncoder(word_index=WORD_INDEX).fit()
    expected = [[1, 4, 5], [1, 6]]
    for X in (np.array(["the film", "great"]), pd.Series(["the film", "great"])):
        assert [list(ids) for ids in enc.transform(X)] == expected


def test_fit_reads_the_word_index_from_the_data_home(tmp_path):
    (tmp_path / "imdb_word_index.json").write_text(json.dumps(WORD_INDEX))
    enc = ReviewEncoder(data_home=tmp_path).fit(["ignored text"])
    assert enc.word_index_ == WORD_INDEX
    assert enc.get_params()["word_index"] is None  # parameters left untouched


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


def test_feature_names_out():
    enc = ReviewEncoder(word_index=WORD_INDEX).fit()
    assert list(enc.get_feature_names_out()) == ["word_ids"]
    pipe = Pipeline([("text", enc), ("vec", MultiHotVectorizer(num_words=3))]).fit(
        ["the film"]
    )
    assert len(pipe.get_feature_names_out()) == 3


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
