"""skimdb.streaming: out-of-core fits equal the in-memory ones, bad input is named."""

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skimdb import IMDBNet, MultiHotVectorizer, ReviewEncoder
from skimdb.streaming import fit_pipeline, held_out_rows, read_chunks


@pytest.fixture(scope="module")
def real_texts(real_data_home):
    """3,000 real training reviews (texts, "pos"/"neg") and 2,000 test reviews."""
    from skimdb.datasets import fetch_imdb

    train = fetch_imdb(subset="train", text=True, data_home=real_data_home)
    test = fetch_imdb(subset="test", text=True, data_home=real_data_home)
    names = np.array(["neg", "pos"], dtype=object)
    return (
        list(train.data[:3000]),
        names[train.target[:3000]],
        list(test.data[:2000]),
        names[test.target[:2000]],
    )


@pytest.fixture(scope="module")
def real_files(real_texts, tmp_path_factory):
    """The 3,000 training reviews as a CSV and a Parquet file."""
    texts, labels, _, _ = real_texts
    folder = tmp_path_factory.mktemp("corpus")
    table = pa.table({"review": texts, "sentiment": labels.tolist()})
    pacsv.write_csv(table, folder / "reviews.csv")
    pq.write_table(table, folder / "reviews.parquet", row_group_size=700)
    return folder / "reviews.csv", folder / "reviews.parquet"


def _pipe(num_words=10000, min_count=1, epochs=3, **encoder):
    return make_pipeline(
        ReviewEncoder(num_words=num_words, min_count=min_count, **encoder),
        MultiHotVectorizer(num_words=num_words),
        IMDBNet(epochs=epochs, random_state=0),
    )


def test_held_out_rows_are_the_command_lines_split(real_texts, real_files):
    texts, labels, _, _ = real_texts
    train, test = held_out_rows(
        real_files[0], label_column="sentiment", test_size=0.2, random_state=3,
        chunk_size=450,
    )  # fmt: skip
    # skimdb train --csv: train_test_split of the texts, stratified on the labels
    X_train, X_test, _, _ = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=3
    )
    assert [texts[i] for i in train] == X_train
    assert [texts[i] for i in test] == X_test


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize(
    "params", [{"num_words": 2000}, {"num_words": None, "min_count": 3}]
)
def test_vocabulary_and_features_equal_the_in_memory_fit(
    real_texts, real_files, which, params
):
    texts, labels, _, _ = real_texts
    train, _ = held_out_rows(real_files[which], label_column="sentiment",
                             random_state=0)  # fmt: skip
    X_train = [texts[i] for i in train]  # the order the in-memory fit counts in
    pipe = fit_pipeline(
        _pipe(epochs=1, **params), real_files[which], text_column="review",
        label_column="sentiment", chunk_size=333, rows=train,
    )  # fmt: skip
    memory = _pipe(epochs=1, **params)[:-1].fit(X_train)
    # the ranks of words of equal counts too: ties broken by first occurrence
    assert list(pipe[0].word_index_.items()) == list(memory[0].word_index_.items())
    assert pipe[1].num_words_ == memory[1].num_words_
    some = texts[:50]
    assert (pipe[:-1].transform(some) != memory.transform(some)).nnz == 0


def test_chunk_order_does_not_change_the_vocabulary(real_texts):
    texts, labels, _, _ = real_texts
    chunks = [(texts[i : i + 250], labels[i : i + 250]) for i in range(0, 3000, 250)]
    rows = np.random.RandomState(0).permutation(3000)  # count in this order
    streamed = fit_pipeline(_pipe(num_words=500, epochs=1), chunks, rows=rows)
    memory = ReviewEncoder(num_words=500).fit([texts[i] for i in rows])
    assert list(streamed[0].word_index_.items()) == list(memory.word_index_.items())
    in_file_order = ReviewEncoder(num_words=500).fit(texts)
    assert in_file_order.word_index_ != memory.word_index_  # the order matters


def test_streamed_training_learns_the_real_reviews(real_texts, real_files):
    _, _, test_texts, test_labels = real_texts
    calls = []
    pipe = fit_pipeline(
        _pipe(), real_files[1], text_column="review", label_column="sentiment",
        chunk_size=400, progress=lambda *args: calls.append(args),
    )  # fmt: skip
    net = pipe[-1]
    assert sorted(net.history_) == ["accuracy", "loss"]
    assert len(net.history_["loss"]) == 3  # one entry per epoch
    assert net.history_["loss"][-1] < net.history_["loss"][0]
    assert pipe.score(test_texts, test_labels) > 0.78
    np.testing.assert_array_equal(net.classes_, ["neg", "pos"])
    assert calls[0][:2] == ("read", 0) and calls[-1] == ("train", 3, 3000, 3000)
    # a piece holds 400 rows or a block more (< 512: one batch), the last fewer
    steps = int(net.model_.optimizer.iterations.numpy())
    assert steps % 3 == 0 and 6 <= steps // 3 <= 8


def test_the_same_seed_trains_the_same_network(real_texts):
    texts, labels, _, _ = real_texts
    chunks = [(texts[:400], labels[:400]), (texts[400:800], labels[400:800])]
    first = fit_pipeline(_pipe(epochs=2), chunks, chunk_size=200)
    second = fit_pipeline(_pipe(epochs=2), chunks, chunk_size=200)
    for a, b in zip(first[-1].model_.get_weights(),
                    second[-1].model_.get_weights(), strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)


# -- bad input -------------------------------------------------------------------------


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_malformed_row_late_in_the_file_is_named(tmp_path):
    rows = "".join(f'"review {i} is good",pos\n"review {i} is bad",neg\n'
                   for i in range(1500))  # fmt: skip
    path = _write(tmp_path / "bad.csv", f'text,label\n{rows}"a,b",pos,extra\n')
    cache = tmp_path / "cache"
    cache.mkdir()
    with pytest.raises(ValueError, match=r"bad.csv is not a valid CSV.*Row #3002"):
        fit_pipeline(_pipe(epochs=1), path, chunk_size=100, cache_dir=cache)
    assert list(cache.iterdir()) == []  # the encoded rows are gone


@pytest.mark.parametrize(
    "content, match",
    [
        ("", "is empty: it needs a header row"),
        ("text,label\n", "holds no rows"),
        ("words,label\nfine,pos\n", r"has no column 'text'; its columns are 'words'"),
        ("text,label,text\na,pos,b\n", r"2 columns named 'text': columns 1, 3"),
        ("label,text,label\n1,a,2\n0,c,3\n", r"2 columns named 'label': columns 1, 3"),
        ("text,label\nfine,pos\n  ,neg\n", r"row 2 .*text column 'text' is blank"),
        ("text,label\nfine,pos\ngood,\n", r"row 2 .*label column 'label' is empty"),
        ("text,label\nfine,pos\ngood,pos\n", r"holds one class only \('pos'\)"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path, content, match):
    path = _write(tmp_path / "reviews.csv", content)
    with pytest.raises(ValueError, match=match):
        fit_pipeline(_pipe(epochs=1), path)


def test_one_class_is_refused_by_the_split_too(tmp_path):
    path = _write(tmp_path / "reviews.csv", "text,label\na,1\nb, 1 \n")
    with pytest.raises(ValueError, match=r"one class only \(1\)"):
        held_out_rows(path)
    # "01" is not "1" written canonically: two classes, as in memory
    path = _write(tmp_path / "two.csv", "text,label\na,1\nb,01\nc,1\nd,01\n")
    assert held_out_rows(path, test_size=0.5, random_state=0)[1].size == 2


def test_what_streaming_cannot_learn_is_refused():
    chunks = [(["good", "bad"], ["pos", "neg"])]
    bigrams = _pipe()
    bigrams.set_params(multihotvectorizer__ngram_range=(1, 2))
    with pytest.raises(ValueError, match=r"ngram_range=\(1, 2\).*\(1, 1\)"):
        fit_pipeline(bigrams, chunks)
    stopping = _pipe()
    stopping.set_params(imdbnet__early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping=False"):
        fit_pipeline(stopping, chunks)
    with pytest.raises(TypeError, match="Pipeline of ReviewEncoder"):
        fit_pipeline(_pipe()[1:], chunks)
    with pytest.raises(ValueError, match="format='csv' or 'parquet'"):
        list(read_chunks("reviews.txt"))
    with pytest.raises(ValueError, match="chunk_size must be an int >= 1"):
        list(read_chunks(chunks, chunk_size=0))


@pytest.mark.parametrize("n_rows, chunk_size", [(1001, 100), (950, 300), (40, 100)])
def test_pieces_hold_every_row_and_none_is_tiny(tmp_path, n_rows, chunk_size):
    from skimdb.streaming._fitting import _Buckets

    buckets = _Buckets(tmp_path, 7)
    lengths = np.arange(n_rows) % 5
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = np.arange(offsets[-1], dtype=np.int32)
    for start in range(0, n_rows, 64):  # written in blocks, as the pass does
        stop = min(start + 64, n_rows)
        part = slice(offsets[start], offsets[stop])
        rows = np.arange(start, stop)
        buckets.write(ids[part], offsets[start : stop + 1] - offsets[start], rows,
                      rows)  # fmt: skip
    buckets.close()
    pieces = list(buckets.pieces(chunk_size))
    sizes = [piece[0].size for piece in pieces]
    assert sum(sizes) == n_rows
    # chunk_size rows each; the rows left over a piece of their own, or the
    # last piece's if they are under half a piece
    assert sizes[:-1] == [chunk_size] * (len(sizes) - 1)
    assert min(chunk_size // 2, n_rows) <= sizes[-1] < chunk_size * 3 // 2
    # every row comes back whole: its length, its label code, its ids
    codes = np.concatenate([piece[1] for piece in pieces])
    assert sorted(codes.tolist()) == list(range(n_rows))
    got = np.concatenate([piece[0] for piece in pieces])
    np.testing.assert_array_equal(got, lengths[codes])
    values = np.concatenate([piece[2] for piece in pieces])
    expected = np.concatenate([ids[offsets[c] : offsets[c + 1]] for c in codes])
    np.testing.assert_array_equal(values, expected)
