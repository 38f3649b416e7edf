"""skimdb train --csv: your own texts and labels, with a learned vocabulary."""

import csv
import inspect
import json

import numpy as np
import pytest
from conftest import _write_csv as _write
from test_cli import (  # noqa: F401  (_isolated: no real data, cache or download)
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    _isolated,
    _number,
    _run,
    _write_tiny_home,
)

from skimdb.cli._files import UserError, read_csv
from skimdb.persistence import load, save

#: The cue words of each star rating of the generated reviews.
CUES = {
    1: ["awful", "terrible", "dreadful"],
    3: ["dull", "boring", "weak"],
    5: ["okay", "average", "passable"],
    9: ["superb", "brilliant", "wonderful"],
}
#: Options that make a network learn the small files in seconds.
FAST = ["--units", "8", "--batch-size", "16", "--epochs", "25"]
FAST += ["--learning-rate", "0.01", "--verbose", "0", "--no-plots"]


def _ratings(n=240, seed=0):
    """Reviews of 4 ratings, each with two of its cue words among neutral ones;
    some hold commas, quotes and line breaks, as real CSV files do."""
    rng = np.random.RandomState(seed)
    rows = []
    for i in range(n):
        stars = list(CUES)[i % len(CUES)]
        words = list(rng.choice(CUES[stars], 2)) + list(rng.choice(NEUTRAL, 5))
        rng.shuffle(words)
        text = " ".join(words)
        if i % 7 == 0:
            text = f'"{text}", she said,\nand left'
        rows.append((text, stars))
    return rows


@pytest.fixture(scope="module")
def ratings_csv(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("csv") / "ratings.csv", _ratings())


@pytest.fixture(scope="module")
def csv_model(ratings_csv, tmp_path_factory):
    """``skimdb train --csv`` on the 4-class file: (output folder, stdout)."""
    output = tmp_path_factory.mktemp("model")
    status, out, err = _run(
        "train", "--csv", ratings_csv, "--text-column", "review",
        "--label-column", "stars", "-o", output, *FAST,
    )  # fmt: skip
    assert status == 0, err
    return output, out


# -- reading the file ------------------------------------------------------------------


def test_read_csv_reads_quoted_fields_a_bom_and_int_labels(tmp_path):
    path = tmp_path / "r.csv"
    _write(path, [('Great, "really"\ngreat', 10), ("bad", 1), ("", ""), ("ok", 7)])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # Excel's UTF-8 mark
    texts, labels = read_csv(path, "review", "stars")
    assert texts == ['Great, "really"\ngreat', "bad", "ok"]  # the blank row skipped
    assert labels == [10, 1, 7]
    assert read_csv(path, "review") == (texts, None)
    _write(path, [("a", "pos"), ("b", " neg ")])
    assert read_csv(path, "review", "stars")[1] == ["pos", "neg"]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read --csv {path}: No such file or directory"),
        (b"", "--csv {path} is empty: it needs a header row naming its columns"),
        (b"review,stars\n", "--csv {path} holds no rows below its header row"),
        (
            b"text,rating\nfine,3\n",
            "--csv {path} has no column 'review' (--text-column); its columns are "
            "'text', 'rating'",
        ),
        (
            b"review,rating\nfine,3\n",
            "--csv {path} has no column 'stars' (--label-column); its columns are "
            "'review', 'rating'",
        ),
        (
            b"review,stars\nfine,3\n  ,4\n",
            "--csv {path}, line 3: the column 'review' (--text-column) is empty",
        ),
        (
            b"review,stars\nfine,3\nbad,\n",
            "--csv {path}, line 3: the column 'stars' (--label-column) is empty",
        ),
        (
            b"review,stars\ncaf\xc3\xa9,3\nna\xefve,4\n",
            "cannot read --csv {path}: not UTF-8 text (byte 0xef at offset 23)",
        ),
        (
            b"review,stars\nfine,3\nok,3\nbad,3\n",
            "--csv {path}: the column 'stars' holds one class only (3); training "
            "needs at least two",
        ),
    ],
    ids=["missing", "empty", "no-rows", "no-text-column", "no-label-column",
         "empty-text", "empty-label", "not-utf8", "one-class"],
)  # fmt: skip
def test_a_bad_file_is_one_line(tmp_path, content, message):
    path = tmp_path / "reviews.csv"
    if content is not None:
        path.write_bytes(content)
    status, out, err = _run(
        "train", "--csv", path, "--text-column", "review", "--label-column",
        "stars", "-o", tmp_path / "model", *FAST,
    )  # fmt: skip
    assert (status, out) == (1, "")
    assert err.startswith(f"skimdb train: error: {message.format(path=path)}"), err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "model").exists()  # nothing saved


def test_csv_options_that_do_not_apply_are_refused(ratings_csv, tmp_path):
    args = ("train", "--csv", ratings_csv, "-o", tmp_path / "m")
    status, _, err = _run(*args, "--n-train", "10")
    assert status == 1 and "--n-train shortens the IMDB reviews" in err
    status, _, err = _run(*args, "--test-size", "0")
    assert status == 1 and "--test-size 0 holds out no test rows" in err
    status, _, err = _run(*args, "--test-size", "1")
    assert status == 2 and "must be in [0, 1)" in err


def test_a_class_too_small_to_split_is_one_line(tmp_path):
    rows = [("good film", "pos"), ("bad film", "neg")] * 5 + [("odd film", "odd")]
    path = _write(tmp_path / "r.csv", rows, header=("text", "label"))
    status, out, err = _run("train", "--csv", path, "-o", tmp_path / "m", *FAST)
    assert (status, out) == (1, "")
    assert "cannot hold out a stratified test split of --test-size 0.2" in err
    assert len(err.splitlines()) == 1


# -- training and the commands on its model --------------------------------------------


def test_train_csv_reports_and_saves_a_model_with_its_test_split(csv_model):
    output, out = csv_model
    assert "training rows: 192 (validation_split=0.2); test rows: 48" in out
    assert "classes: 1, 3, 5, 9" in out
    accuracy = _number(out, "test accuracy:")
    assert accuracy >= 0.8  # chance is 0.25
    assert 0.7 <= _number(out, "test macro-F1:") <= 1
    model = load(output)
    assert model[-1].classes_.tolist() == [1, 3, 5, 9]
    encoder = model.named_steps["text"]
    assert encoder.word_index is None  # learned from the texts
    assert set(CUES[9]) <= set(encoder.word_index_)
    assert not set(POSITIVE + NEGATIVE) - set(sum(CUES.values(), [])) & set(
        encoder.word_index_
    )  # only the file's words
    with open(output / "test.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 48 and set(rows[0]) == {"review", "stars"}
    stars = [int(row["stars"]) for row in rows]
    assert sorted(set(stars)) == [1, 3, 5, 9] and stars.count(1) == 12  # stratified
    predicted = model.predict([row["review"] for row in rows])
    assert np.mean(predicted == np.array(stars)) == pytest.approx(accuracy, abs=1e-4)
    info = json.loads((output / "training.json").read_text())
    assert (info["text_column"], info["label_column"]) == ("review", "stars")
    assert info["classes"] == ["1", "3", "5", "9"] and info["n_rows"] == 240


def test_train_csv_split_is_seeded_by_random_state(ratings_csv, csv_model, tmp_path):
    status, _, err = _run(
        "train", "--csv", ratings_csv, "--text-column", "review",
        "--label-column", "stars", "-o", tmp_path, "--random-state", "1", *FAST,
    )  # fmt: skip
    assert status == 0, err
    first = (csv_model[0] / "test.csv").read_text()
    assert (tmp_path / "test.csv").read_text() != first


def test_evaluate_a_csv_model_on_its_split_or_on_a_file(csv_model, ratings_csv):
    output, train_out = csv_model
    status, out, err = _run("evaluate", output)
    assert status == 0, err
    assert (
        out.splitlines()[0] == f"reviews: 48 (the saved test split {output}/test.csv)"
    )
    assert _number(out, "accuracy:") == _number(train_out, "test accuracy:")
    assert _number(out, "macro-F1:") == _number(train_out, "test macro-F1:")
    lines = out.splitlines()
    matrix = lines[lines.index(next(x for x in lines if x.startswith("confusion"))) :]
    assert matrix[1].split() == ["1", "3", "5", "9"]
    assert sum(int(v) for row in matrix[2:] for v in row.split()[1:]) == 48
    # --csv given again: the whole file, columns as the model was trained on
    status, out, err = _run("evaluate", output, "--csv", ratings_csv)
    assert status == 0, err
    assert out.splitlines()[0] == f"reviews: 240 (--csv {ratings_csv})"
    assert _number(out, "accuracy:") >= 0.8


def test_evaluate_refuses_labels_the_model_does_not_know(csv_model, tmp_path):
    path = _write(tmp_path / "r.csv", [("superb film", 10), ("dull film", 3)])
    status, out, err = _run("evaluate", csv_model[0], "--csv", path)
    assert (status, out) == (1, "")
    assert "holds labels the model was not trained on: '10'" in err
    assert "its classes are '1', '3', '5', '9'" in err


def test_predict_and_explain_a_csv_model(csv_model):
    output = csv_model[0]
    status, out, err = _run("predict", output, "a superb brilliant film", "so dull")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "label\tprobability\treview"
    assert [line.split("\t")[0] for line in lines[1:]] == ["9", "3"]
    status, out, err = _run("explain", "--n", "2", output, "a superb brilliant film")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("review 1: 9 (probability ")
    toward = lines[lines.index("  toward 9:") + 1 :][:2]
    assert {line.split()[1] for line in toward} == {"superb", "brilliant"}


def test_top_words_of_a_csv_model_use_its_test_split(csv_model):
    status, out, err = _run("top-words", csv_model[0], "--n", "3", "--min-count", "3")
    assert status == 0, err
    assert "over 48 reviews of the saved test split" in out.splitlines()[0]
    for stars, cues in CUES.items():
        block = out.split(f"toward {stars}:\n")[1].split("\n\n")[0]
        assert block.split()[1] in cues


def test_imdb_commands_refuse_a_learned_vocabulary_without_csv(csv_model, tmp_path):
    # a model folder without its test split: IMDB's word ids would be other words
    folder = tmp_path / "bare"
    save(load(csv_model[0]), folder)
    for command in ("evaluate", "top-words"):
        status, out, err = _run(command, folder)
        assert (status, out) == (1, "")
        assert "vocabulary was learned from its own training texts" in err


def test_read_csv_error_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no column 'text'"):
        read_csv(_write(tmp_path / "r.csv", [("a", 1)]), "text", "stars")


@pytest.mark.skipif(
    "overwrite" not in inspect.signature(save).parameters,
    reason="persistence overwrite not merged yet",
)
def test_an_imdb_model_replacing_a_csv_model_leaves_no_csv_files(ratings_csv, tmp_path):
    output = tmp_path / "model"
    args = ("-o", output, "--no-plots", "--epochs", "1", "--verbose", "0")
    status, _, err = _run("train", "--csv", ratings_csv, "--text-column", "review",
                          "--label-column", "stars", *args)  # fmt: skip
    assert status == 0, err
    assert (output / "test.csv").is_file() and (output / "training.json").is_file()
    home = _write_tiny_home(tmp_path / "imdb")
    status, _, err = _run("train", "--data-home", home, "--overwrite", *args)
    assert status == 0, err
    assert not (output / "test.csv").exists()
    assert not (output / "training.json").exists()
    status, out, err = _run("predict", output, "superb")
    assert status == 0, err
    assert out.splitlines()[0] == "label\tP(pos)\treview"  # an IMDB model again


# -- a second train --csv over a model: killed or out of space, nothing is lost --------

_TRAIN_IN_A_CHILD = """
import resource, signal, sys, time
import skimdb.persistence as p
from skimdb.cli import main
how, argv = sys.argv[1], sys.argv[2:]
if how.startswith("fsize"):  # from the save on, writes over the limit fail (EFBIG)
    partial = p._new_partial_folder
    def limit_then_save(folder):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = int(how.split("=")[1])
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        return partial(folder)
    p._new_partial_folder = limit_then_save
else:  # stop right after the new folder is swapped in
    swap = p._swap_in
    def hang(tmp, folder):
        swap(tmp, folder)
        print("swapped", flush=True)
        time.sleep(600)
    p._swap_in = hang
sys.exit(main(argv))
"""


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("how", ["fsize", "kill-after-swap"])
def test_a_failed_csv_overwrite_keeps_the_old_model_and_its_files(tmp_path, how):
    import os
    import subprocess
    import sys

    # long reviews: test.csv is far larger than any file of the (tiny) model
    rows = [(text + " the film" * 4000, stars) for text, stars in _ratings(80)]
    path = _write(tmp_path / "long.csv", rows)
    old = tmp_path / "m"
    base = ["train", "--csv", path, "--text-column", "review", "--label-column",
            "stars", "--num-words", "40", *FAST, "-o", old]  # fmt: skip
    status, _, err = _run(*base)
    assert status == 0, err
    before = _files(old)
    model_size = max(len(before[n]) for n in before if n not in ("test.csv",))
    limit = 2 * model_size
    assert len(before["test.csv"]) > 4 * limit  # only the test split is cut
    evaluated = _run("evaluate", old)
    assert evaluated[0] == 0, evaluated[2]
    argv = [*base, "--overwrite", "--random-state", "7"]
    child = subprocess.Popen(
        [sys.executable, "-c", _TRAIN_IN_A_CHILD, f"{how}={limit}", *map(str, argv)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        if how == "kill-after-swap":
            while (line := child.stdout.readline()) and line.strip() != "swapped":
                pass
            assert line.strip() == "swapped", child.stderr.read()
            child.kill()  # SIGKILL: no cleanup runs in the child
        _, err = child.communicate(timeout=300)
    finally:
        child.kill()
        child.wait()
    after = _files(old)
    if how == "fsize":  # the old model and every file of it, as they were
        assert child.returncode == 1, err
        assert err.splitlines()[-1].startswith("skimdb train: error: "), err
        assert after == before
        assert _run("evaluate", old) == evaluated
    else:  # the new model, complete with its own files
        assert set(after) == set(before)
        assert after["test.csv"] != before["test.csv"]  # random state 7's split
        info = json.loads(after["training.json"])
        assert info["random_state"] == 7
        status, out, err = _run("evaluate", old)
        assert status == 0, err
        assert out.splitlines()[0].startswith("reviews: 16 (the saved test split")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")] or (
        how == "kill-after-swap"  # a killed save's leftovers go at the next save
    )


# -- a malformed training.json beside a model: one line, whatever the command ----------

_GOOD = {"text_column": "review", "label_column": "stars"}


@pytest.mark.parametrize(
    "content, reason",
    [
        ("[]", "it holds a JSON list, not an object"),
        ('"review"', "it holds a JSON str, not an object"),
        ("null", "it holds a JSON NoneType, not an object"),
        ('{"label_column": "stars"}', "the field 'text_column' is missing"),
        ('{"text_column": 3, "label_column": "stars"}',
         "the field 'text_column' is int, not a string"),
        ('{"text_column": ["a"], "label_column": "stars"}',
         "the field 'text_column' is list, not a string"),
        ('{"text_column": "", "label_column": "stars"}',
         "the field 'text_column' is empty"),
        (json.dumps({**_GOOD, "classes": [1, 3]}),
         "the field 'classes' holds values that are not strings"),
        (json.dumps({**_GOOD, "classes": "1,3"}),
         "the field 'classes' is str, not a list"),
        (json.dumps({**_GOOD, "random_state": True}),
         "the field 'random_state' is bool, not an integer"),
        (json.dumps({**_GOOD, "test_size": "0.2"}),
         "the field 'test_size' is str, not a number"),
        ("[" * 100_000 + "]" * 100_000, ""),
        ('{"text_column": "rev', ""),
        (b"\xff\xfe{}", ""),
        (" " * (2 << 20), "more than 1048576"),
    ],
    ids=["list", "string", "null", "missing", "int", "list-field", "empty",
         "int-classes", "str-classes", "bool", "str-number", "deep", "cut",
         "not-utf8", "huge"],
)  # fmt: skip
def test_a_malformed_training_json_is_one_line(csv_model, tmp_path, content, reason):
    import shutil

    folder = shutil.copytree(csv_model[0], tmp_path / "m")
    data = content if isinstance(content, bytes) else content.encode()
    (folder / "training.json").write_bytes(data)
    for argv in (("evaluate", folder), ("predict", folder, "superb"),
                 ("explain", folder, "superb"), ("top-words", folder)):  # fmt: skip
        status, out, err = _run(*argv)
        assert (status, out) == (1, ""), (argv, err)
        assert err.startswith(
            f"skimdb {argv[0]}: error: cannot read {folder}/training.json: "
        ), err
        assert reason in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink"])
def test_a_training_json_that_is_not_a_file_is_refused(csv_model, tmp_path, kind):
    import os
    import shutil

    folder = shutil.copytree(csv_model[0], tmp_path / "m")
    path = folder / "training.json"
    target = path.rename(tmp_path / "elsewhere.json")
    {"fifo": os.mkfifo, "folder": os.mkdir,
     "symlink": lambda p: os.symlink(target, p)}[kind](path)  # fmt: skip
    status, out, err = _run("evaluate", folder)  # a FIFO would block a reader
    assert (status, out) == (1, "")
    assert "training.json: not a regular file" in err


# -- mistakes: a model's own held-out split, never IMDB's ids read as its words -------


def test_mistakes_of_a_csv_model_are_those_of_its_test_split(ratings_csv, tmp_path):
    output = tmp_path / "weak"  # one epoch: it errs on some of its test split
    status, _, err = _run(
        "train", "--csv", ratings_csv, "--text-column", "review",
        "--label-column", "stars", "-o", output, *FAST, "--epochs", "1",
    )  # fmt: skip
    assert status == 0, err
    status, out, err = _run("mistakes", output, "--n", "1000", "--width", "0")
    assert status == 0, err
    with open(output / "test.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    model = load(output)
    texts = [row["review"] for row in rows]
    proba = model.predict_proba(texts)
    predicted = model[-1].classes_[proba.argmax(axis=1)]
    wrong = [i for i, row in enumerate(rows) if int(row["stars"]) != predicted[i]]
    lines = out.splitlines()
    assert lines[0] == (
        f"{len(wrong)} mistakes among the first 48 reviews of the saved test split "
        f"{output}/test.csv (accuracy {1 - len(wrong) / 48:.4f})"
    )
    evaluated = _run("evaluate", output)[1]
    assert _number(evaluated, "accuracy:") == pytest.approx(
        1 - len(wrong) / 48, abs=1e-4
    )
    headers = [line for line in lines if line.startswith("review ")]
    assert len(headers) == len(wrong) > 0
    for header, i in zip(headers, wrong, strict=True):
        c = list(model[-1].classes_).index(predicted[i])
        assert header == (
            f"review {i}: true {rows[i]['stars']}, predicted {predicted[i]} "
            f"(probability {proba[i, c]:.4f})"
        )  # the labels themselves: no "P(pos)", no "neg"/"pos"
        text = lines[lines.index(header) + 1]
        assert text == " ".join(texts[i].split())  # the raw text, not decoded ids


def test_mistakes_on_a_csv_file_and_its_first_n_rows(csv_model, tmp_path):
    # a file that the model gets wholly wrong: every row is a mistake
    rows = [("superb brilliant film", 1), ("awful terrible film", 9),
            ("dull boring", 5), ("okay average", 3)]  # fmt: skip
    path = _write(tmp_path / "wrong.csv", rows)
    status, out, err = _run("mistakes", csv_model[0], "--csv", path, "--n", "3")
    assert status == 0, err
    assert out.splitlines()[0] == (
        f"3 mistakes among the first 3 reviews of --csv {path} (accuracy 0.0000)"
    )
    assert "review 0: true 1, predicted 9 (probability " in out
    assert "okay average" not in out  # beyond --n
    path = _write(tmp_path / "unknown.csv", [("superb film", 10)])
    status, out, err = _run("mistakes", csv_model[0], "--csv", path)
    assert (status, out) == (1, "")
    assert "holds labels the model was not trained on: '10'" in err


def test_mistakes_refuses_imdb_ids_for_a_learned_vocabulary(csv_model, tmp_path):
    folder = tmp_path / "bare"  # the model without its test split
    save(load(csv_model[0]), folder)
    status, out, err = _run("mistakes", folder)
    assert (status, out) == (1, "")
    assert "vocabulary was learned from its own training texts" in err


@pytest.mark.parametrize(
    "classes", [[0, 1, 2], ["neg", "pos"], [1, 2], [-1, 1], ["0", "1", "2"]]
)
def test_mistakes_refuses_a_model_of_other_classes_than_imdbs(tmp_path, classes):
    import joblib
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier(strategy="prior").fit([[0]] * len(classes), classes)
    joblib.dump(model, tmp_path / "model.joblib")
    status, out, err = _run("mistakes", tmp_path, "--allow-pickle")
    assert (status, out) == (1, "")
    shown = ", ".join(repr(str(c)) for c in classes)
    assert f"the model's classes are {shown}, not IMDB's 0 (neg) and 1 (pos)" in err
