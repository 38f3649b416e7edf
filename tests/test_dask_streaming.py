"""skimdb.streaming on a real distributed.LocalCluster: the local fit's words.

Two worker processes (one thread each, on 127.0.0.1), started once for the
module. Needs the ``dask`` extra; skipped without it.
"""

import os

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from sklearn.pipeline import make_pipeline

distributed = pytest.importorskip("distributed")

import skimdb.streaming as streaming  # noqa: E402
from skimdb import IMDBNet, MultiHotVectorizer, ReviewEncoder  # noqa: E402
from skimdb.parallel import local_cluster  # noqa: E402
from skimdb.streaming import _fitting  # noqa: E402

pytestmark = pytest.mark.slow  # a cluster start and a few small fits


@pytest.fixture(scope="module")
def client():
    with local_cluster(n_workers=2) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def corpus(real_data_home, tmp_path_factory):
    """2,000 real training reviews as a CSV file, and their held-out split."""
    from skimdb.datasets import fetch_imdb

    train = fetch_imdb(subset="train", text=True, data_home=real_data_home)
    labels = np.array(["neg", "pos"], dtype=object)[train.target[:2000]]
    path = tmp_path_factory.mktemp("corpus") / "reviews.csv"
    pacsv.write_csv(pa.table({"text": list(train.data[:2000]),
                              "label": labels.tolist()}), path)  # fmt: skip
    return path, streaming.held_out_rows(path, random_state=0)


def _pipe():
    return make_pipeline(
        ReviewEncoder(num_words=3000),
        MultiHotVectorizer(num_words=3000),
        IMDBNet(epochs=2, random_state=0),
    )


@pytest.fixture
def small_partitions(monkeypatch):
    monkeypatch.setattr(_fitting, "_DASK_BLOCK", 200_000)  # about 8 partitions


def test_the_workers_learn_the_local_vocabulary(client, corpus, small_partitions):
    path, (train, test) = corpus
    local = streaming.fit_pipeline(_pipe(), path, rows=train, chunk_size=300)
    reads = []
    on_dask = streaming.fit_pipeline(
        _pipe(), path, rows=train, chunk_size=300, client=client,
        progress=lambda stage, *rest: reads.append(rest) if stage == "read" else None,
    )  # fmt: skip
    assert len(reads) > 4  # the file came in partitions
    assert list(on_dask[0].word_index_.items()) == list(local[0].word_index_.items())
    assert on_dask[1].num_words_ == local[1].num_words_
    texts = pacsv.read_csv(path).column("text").to_pylist()
    some = [texts[i] for i in test[:100]]
    assert (on_dask[:-1].transform(some) != local[:-1].transform(some)).nnz == 0
    # the same pieces in the same order: the same network, weight for weight
    weights = zip(on_dask[-1].model_.get_weights(), local[-1].model_.get_weights(),
                  strict=True)  # fmt: skip
    for a, b in weights:
        np.testing.assert_array_equal(a, b)


def test_a_blank_row_in_a_late_partition_is_named(client, tmp_path, small_partitions):
    rows = [(f"review {i} is {'good' if i % 2 else 'bad'}", "pos" if i % 2 else "neg")
            for i in range(20000)]  # fmt: skip
    rows[17000] = ("   ", "pos")
    path = tmp_path / "blank.csv"
    pacsv.write_csv(pa.table({"text": [r[0] for r in rows],
                              "label": [r[1] for r in rows]}), path)  # fmt: skip
    with pytest.raises(ValueError, match=r"row 17001 .*text column 'text' is blank"):
        streaming.fit_pipeline(_pipe(), path, client=client)


def test_a_worker_lost_while_reading_is_replaced(client, corpus, small_partitions):
    path, (train, _) = corpus
    local = streaming.fit_pipeline(_pipe(), path, rows=train, chunk_size=300)
    killed = []

    def kill_a_worker(stage, *rest):
        if stage == "read" and not killed:
            worker = sorted(client.scheduler_info()["workers"])[0]
            killed.append(worker)
            try:  # the worker dies before it answers
                client.run(os._exit, 1, workers=[worker], wait=False)
            except Exception:  # noqa: BLE001, S110
                pass

    on_dask = streaming.fit_pipeline(_pipe(), path, rows=train, chunk_size=300,
                                     client=client, progress=kill_a_worker)  # fmt: skip
    assert killed
    assert list(on_dask[0].word_index_.items()) == list(local[0].word_index_.items())


def test_csv_line_breaks_in_quotes_read_right_or_save_nothing(tmp_path, monkeypatch):
    """dd.read_csv cuts blocks at line breaks: a quoted text holding one is read
    as the local stream reads it, or the command stops and saves nothing."""
    import contextlib
    import io

    from skimdb import cli
    from skimdb.persistence import load

    rows = [(f"a {'good' if i % 2 else 'bad'}\nreview, {i}", "pos" if i % 2 else "neg")
            for i in range(20000)]  # fmt: skip
    path = tmp_path / "lines.csv"
    pacsv.write_csv(pa.table({"text": [r[0] for r in rows],
                              "label": [r[1] for r in rows]}), path)  # fmt: skip
    monkeypatch.setattr(_fitting, "_DASK_BLOCK", 100_000)
    status, err = {}, io.StringIO()
    for name, extra in (("local", []), ("dask", ["--dask"])):
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status[name] = cli.main(["train", "--csv", str(path), "--chunk-size",
                                     "5000", "-o", str(tmp_path / name), "--no-plots",
                                     "--epochs", "1", *extra])  # fmt: skip
    assert status["local"] == 0
    if status["dask"] == 0:
        words = [list(load(tmp_path / n)[0].word_index_.items()) for n in status]
        assert words[0] == words[1]
    else:
        assert "cut between two blocks" in err.getvalue()
        assert not (tmp_path / "dask").exists()


def test_a_csv_cut_inside_quotes_is_refused_by_the_api(tmp_path, monkeypatch, client):
    """fit_pipeline(client=) itself compares the workers' rows with the file's:
    rows shifted by a quoted line break cut between blocks never train."""
    rows = [f"a {'good' if i % 2 else 'bad'}\nreview, {i}" for i in range(20000)]
    path = tmp_path / "lines.csv"
    labels = ["pos" if i % 2 else "neg" for i in range(20000)]
    pacsv.write_csv(pa.table({"text": rows, "label": labels}), path)
    monkeypatch.setattr(_fitting, "_DASK_BLOCK", 100_000)
    try:
        pipe = streaming.fit_pipeline(_pipe(), path, client=client, chunk_size=5000)
    except ValueError as exc:
        assert "cut between two blocks" in str(exc)
    else:  # read right after all: the local stream's words
        local = streaming.fit_pipeline(_pipe(), path, chunk_size=5000)
        assert pipe[0].word_index_ == local[0].word_index_
