"""The compiled text codec (skimdb._codec) against today's pure-Python encoder
(tests/_reference_codec.py): the same words, word index, ids and decoding, on
property-based texts and on the real IMDB reviews."""

import _reference_codec as ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skimdb import MultiHotVectorizer, RaggedIds, ReviewEncoder, _codec

#: Characters the rule treats specially, or that a looser rule would treat so.
_TRICKY = list(
    "aZ '!<>/.,-\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000\u00e9\u00c9\u4e2d\u0130"
) + ["''", "'''", "<br />", "\U0001f600", "\x00"]
texts_strategy = st.lists(
    st.lists(st.sampled_from(_TRICKY), max_size=30).map("".join) | st.text(),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TRICKY), max_size=40).map("".join) | st.text())
def test_tokenize_equals_the_reference(text):
    assert _codec.tokenize(text) == ref.tokenize(text)


@settings(max_examples=200, deadline=None)
@given(
    texts=texts_strategy,
    num_words=st.none() | st.integers(3, 12),
    min_count=st.integers(1, 3),
    start_char=st.none() | st.just(1),
    oov_char=st.none() | st.just(2),
)
def test_learned_index_and_ids_equal_the_reference(
    texts, num_words, min_count, start_char, oov_char
):
    params = dict(start_char=start_char, oov_char=oov_char)
    word_index, ids = ref.fit_encode(
        texts, num_words=num_words, min_count=min_count, **params
    )
    enc = ReviewEncoder(num_words, min_count=min_count, **params)
    out = enc.fit_transform(texts)
    assert list(enc.word_index_.items()) == list(word_index.items())
    assert out.tolist() == ids
    # fit then transform gives what fit_transform gave
    again = ReviewEncoder(num_words, min_count=min_count, **params).fit(texts)
    assert list(again.word_index_.items()) == list(word_index.items())
    assert again.transform(texts) == out


@settings(max_examples=100, deadline=None)
@given(texts=texts_strategy, words=st.lists(st.sampled_from(_TRICKY + ["", "a"])))
def test_a_given_index_encodes_like_the_reference(texts, words):
    """Any word index, even with words the tokenizer never gives ("", "A b")."""
    word_index = {w: rank for rank, w in enumerate(dict.fromkeys(words), start=1)}
    out = _codec.encode(texts, word_index, num_words=6)
    assert out.tolist() == ref.encode(texts, word_index, num_words=6)


@pytest.mark.parametrize("n_threads", [1, 2, 5])
def test_result_does_not_depend_on_the_threads(n_threads, monkeypatch):
    monkeypatch.setattr(_codec, "_CHUNK", 3)  # many chunks from few texts
    texts = [f"w{i % 7} x{i % 3} The END {i}" for i in range(40)] + ["", "!!"]
    word_index, ids = _codec.fit_encode(texts, n_threads=n_threads)
    ref_index, ref_ids = ref.fit_encode(texts)
    assert list(word_index.items()) == list(ref_index.items())
    assert ids.tolist() == ref_ids
    assert _codec.encode(texts, word_index, n_threads=n_threads).tolist() == ref_ids
    words, counts = _codec.count_words(texts, n_threads=n_threads)
    assert dict(zip(words, counts.tolist(), strict=True)) == ref.count_words(texts)
    assert words == list(ref.count_words(texts))


def test_lone_surrogates_are_words_as_in_python():
    text = "a \ud800b C\udfff"
    assert _codec.tokenize(text) == ref.tokenize(text)
    word_index, ids = _codec.fit_encode([text, "a"])
    assert (word_index, ids.tolist()) == ref.fit_encode([text, "a"])
    reverse = _codec.reverse_index(word_index, index_from=3, start_char=1, oov_char=2)
    assert _codec.decode_rows(ids, reverse) == [
        _codec.decode(row, reverse) for row in ids.tolist()
    ]


def test_decode_rows_equals_decode():
    word_index = {"the": 1, "film": 2}
    reverse = _codec.reverse_index(word_index, index_from=3, start_char=1, oov_char=2)
    rows = [[1, 4, 5, 2, 99], [], [0, 3]]
    assert _codec.decode_rows(RaggedIds.from_rows(rows), reverse) == [
        _codec.decode(row, reverse) for row in rows
    ]


@pytest.mark.realdata
def test_real_imdb_texts_equal_the_reference(real_data_home):
    """The learned index, the ids of both splits and the multi-hot matrix."""
    from skimdb.datasets import fetch_imdb

    real_train_texts, test_texts = (
        fetch_imdb(subset=subset, text=True, data_home=real_data_home).data
        for subset in ("train", "test")
    )
    enc = ReviewEncoder(num_words=10000)
    ids = enc.fit_transform(real_train_texts)
    word_index, ref_ids = ref.fit_encode(real_train_texts, num_words=10000)
    assert list(enc.word_index_.items()) == list(word_index.items())
    assert ids.tolist() == ref_ids
    assert enc.transform(test_texts).tolist() == ref.encode(
        test_texts, word_index, num_words=10000
    )
    vec = MultiHotVectorizer(num_words=10000)
    assert (vec.fit_transform(ids) != vec.transform(ref_ids)).nnz == 0
    full = ReviewEncoder().fit(real_train_texts)
    counts = ref.count_words(real_train_texts)
    assert list(full.word_index_) == list(ref.rank_words(counts))
    assert np.array_equal(
        _codec.count_words(real_train_texts)[1], np.array(list(counts.values()))
    )
