"""skimdb train --csv/--parquet --chunk-size: the streamed fit, as the in-memory one."""

import csv

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import _write_csv as _write
from test_cli import _isolated, _run  # noqa: F401  (_isolated: no real data)

from skimdb.persistence import load

#: Words of each star rating of the generated reviews.
CUES = {1: ["awful", "dreadful"], 5: ["okay", "average"], 9: ["superb", "great"]}
FILLER = ["film", "plot", "actor", "scene", "story", "music", "camera", "ending"]
FAST = ["--units", "8", "--batch-size", "16", "--epochs", "20"]
FAST += ["--learning-rate", "0.01", "--no-plots", "--random-state", "1"]


def _ratings(n=300, seed=0):
    """Reviews of 3 ratings: a cue word among filler ones whose counts tie often;
    some with commas, quotes and line breaks."""
    rng = np.random.RandomState(seed)
    rows = []
    for i in range(n):
        stars = list(CUES)[i % 3]
        words = [rng.choice(CUES[stars])] + list(rng.choice(FILLER, 4))
        words += [f"rare{rng.randint(200)}"]  # many words of equal counts
        text = " ".join(rng.permutation(words))
        if i % 7 == 0:
            text = f'"{text}", she said,\nand left'
        rows.append((text, f" {stars} " if i % 11 == 0 else stars))
    return rows


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    path = _write(folder / "ratings.csv", _ratings())
    pq.write_table(pacsv.read_csv(path), folder / "ratings.parquet")
    return path, folder / "ratings.parquet"


def _train(*args):
    return _run("train", "--text-column", "review", "--label-column", "stars",
                *FAST, *map(str, args))  # fmt: skip


@pytest.fixture(scope="module")
def both(files, tmp_path_factory):
    """The in-memory and the streamed models of the same CSV file."""
    memory, streamed = (tmp_path_factory.mktemp(n) for n in ("memory", "streamed"))
    status, _, err = _train("--csv", files[0], "-o", memory, "--num-words", "40")
    assert status == 0, err
    status, out, err = _train("--csv", files[0], "-o", streamed, "--num-words", "40",
                              "--chunk-size", "64")  # fmt: skip
    assert status == 0, err
    return memory, streamed, out


def _rows(path):
    with open(path, newline="", encoding="utf-8") as file:
        return sorted(map(tuple, csv.reader(file)))


def test_streamed_training_learns_what_the_in_memory_one_does(both):
    memory, streamed, out = both
    a, b = load(memory), load(streamed)
    # the same words, ranked alike (ties included), and the same held-out rows
    assert list(a[0].word_index_.items()) == list(b[0].word_index_.items())
    assert _rows(memory / "test.csv") == _rows(streamed / "test.csv")
    assert "test rows: 60" in out and "classes: 1, 5, 9" in out
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.9
    np.testing.assert_array_equal(b[-1].classes_, [1, 5, 9])
    assert len(b[-1].history_["loss"]) == 20


def test_evaluate_scores_a_streamed_model_on_its_test_split(both):
    _, streamed, out = both
    status, evaluated, err = _run("evaluate", streamed)
    assert status == 0, err
    accuracy = out.split("test accuracy: ")[1].split()[0]
    assert f"accuracy: {accuracy}" in evaluated


def test_parquet_streams_as_csv_does(both, files, tmp_path):
    memory, _, _ = both
    status, _, err = _train("--parquet", files[1], "-o", tmp_path / "m",
                            "--num-words", "40", "--chunk-size", "50")  # fmt: skip
    assert status == 0, err
    assert list(load(tmp_path / "m")[0].word_index_.items()) == list(
        load(memory)[0].word_index_.items()
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--parquet", "x.parquet"], "give --chunk-size N"),
        (["--chunk-size", "10"], "give --csv PATH or --parquet PATH"),
        (["--csv", "a.csv", "--parquet", "b.parquet", "--chunk-size", "9"], "not both"),
        (["--csv", "a.csv", "--chunk-size", "9", "--n-train", "5"], "--n-train"),
    ],
)
def test_streaming_options_that_do_not_fit_are_one_line(tmp_path, args, message):
    status, _, err = _train(*args, "-o", tmp_path / "m")
    assert status == 1 and message in err
    assert not (tmp_path / "m").exists()


def test_a_malformed_late_row_fails_and_saves_nothing(files, tmp_path):
    rows = _ratings(600) + [("a, b", 1, "one field too many")]
    path = _write(tmp_path / "bad.csv", rows)
    status, _, err = _train("--csv", path, "--chunk-size", "50", "-o", tmp_path / "m")
    assert status == 1 and "Row #" in err and "Expected 2 columns, got 3" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_an_interrupted_training_leaves_the_saved_model_as_it_was(
    both, files, tmp_path, monkeypatch
):
    from skimdb import IMDBNet

    memory, _, _ = both
    target = tmp_path / "model"
    status, _, err = _train("--csv", files[0], "-o", target, "--chunk-size", "64")
    assert status == 0, err
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    original = IMDBNet.partial_fit
    monkeypatch.setattr(IMDBNet, "partial_fit", interrupted)
    status, _, err = _train("--csv", files[0], "-o", target, "--chunk-size", "64",
                            "--overwrite")  # fmt: skip
    assert status == 130 and "interrupted" in err
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_an_interrupt_while_scoring_leaves_no_file(files, tmp_path, monkeypatch):
    from sklearn.pipeline import Pipeline

    def interrupted(self, X):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "predict_proba", interrupted)
    status, _, err = _train("--csv", files[0], "-o", tmp_path / "m", "--chunk-size",
                            "64", "--epochs", "1")  # fmt: skip
    assert status == 130
    assert list(tmp_path.iterdir()) == []  # no model folder, no test.csv.part


@pytest.mark.parametrize("failing", ["write_training", "write_history"])
def test_a_failed_side_file_keeps_the_old_model_with_its_files(
    files, tmp_path, monkeypatch, failing
):
    """Issue 20's rule for --overwrite holds when streaming too: the history,
    test split and training.json are written in the new folder before the swap."""
    import errno

    import skimdb.cli._files as cli_files
    import skimdb.cli._reports as reports

    target = tmp_path / "model"
    status, _, err = _train("--csv", files[0], "-o", target, "--chunk-size", "64",
                            "--epochs", "1")  # fmt: skip
    assert status == 0, err
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    assert {"test.csv", "training.json", "history.csv"} <= set(before)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    owner = cli_files if failing == "write_training" else reports
    monkeypatch.setattr(owner, failing, full_disk)
    status, _, err = _train("--csv", files[0], "-o", target, "--chunk-size", "64",
                            "--epochs", "2", "--overwrite")  # fmt: skip
    assert status == 1 and "No space left" in err
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_streamed_labels_follow_the_in_memory_rule(tmp_path):
    """Labels are ints only when written canonically, streamed or not: ``10``,
    ``1_0``, ``+10`` and ``010`` stay four classes (int() would merge them)."""
    import json

    rng = np.random.RandomState(0)
    labels = ["10", "1_0", "+10", "010"]
    rows = [
        (" ".join(rng.choice(FILLER, 5)) + f" cue{i % 4}", labels[i % 4])
        for i in range(200)
    ]
    path = _write(tmp_path / "labels.csv", rows)
    classes = {}
    for how, extra in (("memory", []), ("streamed", ["--chunk-size", "50"])):
        status, _, err = _train("--csv", path, "-o", tmp_path / how, *extra)
        assert status == 0, err
        info = json.loads((tmp_path / how / "training.json").read_text())
        classes[how] = info["classes"]
    assert classes["streamed"] == classes["memory"] == sorted(labels)


def test_a_symlink_loop_or_a_missing_file_is_one_line(tmp_path):
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    for path in (loop, tmp_path / "missing.csv"):
        status, out, err = _train("--csv", path, "--chunk-size", "10", "-o",
                                  tmp_path / "m")  # fmt: skip
        assert (status, out) == (1, "") and "Traceback" not in err
        error = err.splitlines()[-1]
        assert error.startswith("skimdb train: error: ") and path.name in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop.csv"]
