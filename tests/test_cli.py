"""The skimdb command line, on a tiny generated IMDB (each command in seconds)."""

import contextlib
import csv
import inspect
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

import joblib
import matplotlib
import numpy as np
import pytest
from sklearn.metrics import log_loss

import skimdb
from skimdb import cli
from skimdb.cli import _commands, _options
from skimdb.datasets import load_data
from skimdb.persistence import load, save

matplotlib.use("Agg")

POSITIVE = ["great", "wonderful", "moving", "brilliant", "superb"]
NEGATIVE = ["awful", "boring", "bad", "terrible", "dull"]
NEUTRAL = ["the", "film", "a", "was", "and", "it", "movie", "plot", "acting", "br"]
WORD_INDEX = {word: rank for rank, word in enumerate(NEUTRAL + POSITIVE + NEGATIVE, 1)}
NUM_WORDS = 30  # every word of the tiny index (ranks 1..20, ids 4..23)
#: Options that make a network learn the tiny data set in a few seconds.
FAST = ["--num-words", str(NUM_WORDS), "--units", "8", "--batch-size", "16"]
FAST += ["--epochs", "15", "--learning-rate", "0.01", "--verbose", "0"]


def _review(rng, label):
    words = list(rng.choice(POSITIVE if label else NEGATIVE, 3))
    words += list(rng.choice(NEUTRAL, rng.randint(3, 8)))
    rng.shuffle(words)
    text = " ".join(words).capitalize() + "."
    return text.replace(" ", "<br />", 1) if rng.rand() < 0.3 else text


def _write_tiny_home(home, n_train=80, n_test=40, seed=0):
    """An aclImdb-style tarball and word index: half positive, half negative."""
    rng = np.random.RandomState(seed)
    home.mkdir(parents=True, exist_ok=True)
    with tarfile.open(home / "aclImdb_v1.tar.gz", "w:gz") as archive:
        for split, n in (("train", n_train), ("test", n_test)):
            for i in range(n):
                label = i % 2
                name = f"aclImdb/{split}/{'pos' if label else 'neg'}/{i}_7.txt"
                data = _review(rng, label).encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    (home / "imdb_word_index.json").write_text(json.dumps(WORD_INDEX))
    return home


@pytest.fixture(scope="module", autouse=True)
def _isolated(tmp_path_factory):
    """No real data, cache or download: the tiny data home only."""
    tmp = tmp_path_factory.mktemp("env")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKIMDB_CACHE", str(tmp / "cache"))
        patch.setenv("KERAS_HOME", str(tmp / "keras"))
        patch.setenv("SKIMDB_DATA", str(tmp / "no_data_here"))
        yield


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return _write_tiny_home(tmp_path_factory.mktemp("data") / "imdb")


def _run(*argv):
    """``main(argv)`` with its status, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main([str(arg) for arg in argv])
        except SystemExit as exc:  # argparse: --help, bad options
            status = exc.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(home, tmp_path_factory):
    """``skimdb train`` on the tiny data: (output folder, status, stdout)."""
    output = tmp_path_factory.mktemp("model")
    status, out, _ = _run(
        "train", "--data-home", home, "-o", output, "--no-download", *FAST
    )
    return output, status, out


def _number(out, label):
    line = next(line for line in out.splitlines() if line.startswith(label))
    return float(line.rsplit(" ", 1)[1])


# -- train ---------------------------------------------------------------------------


def test_train_reports_test_scores_and_saves_model_and_plots(trained):
    output, status, out = trained
    assert status == 0
    assert "training reviews: 80 (validation_split=0.2); test reviews: 40" in out
    assert _number(out, "test accuracy:") >= 0.9
    assert 0 < _number(out, "test loss (binary_crossentropy):") < 0.6
    model = load(output)
    assert model[-1].history_["val_loss"]  # 0.2 of the reviews validated
    with open(output / "history.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 15
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    assert float(rows[-1]["val_loss"]) == pytest.approx(
        model[-1].history_["val_loss"][-1]
    )
    for name in ("history.png", "probabilities.png"):
        image = matplotlib.image.imread(output / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 200
        assert image.std() > 0.05  # not blank


def test_train_saves_no_pickle(trained):
    output, _, out = trained
    names = {path.name for path in output.iterdir()}
    assert {"skimdb.json", "arrays.npz", "history.csv"} <= names
    assert not {name for name in names if name.endswith((".joblib", ".pkl"))}
    with np.load(output / "arrays.npz", allow_pickle=False) as arrays:
        assert all(arrays[key].dtype != object for key in arrays.files)
    assert out.splitlines()[-1].startswith(f"saved: the model in {output}{os.sep}, ")


def test_train_accuracy_is_the_saved_models(trained, home):
    output, _, out = trained
    model = load(output)
    _, (X_test, y_test) = load_data(num_words=NUM_WORDS, data_home=home)
    assert model.score(X_test, y_test) == pytest.approx(
        _number(out, "test accuracy:"), abs=1e-4
    )
    assert model[-1].verbose == 0  # a refit of the saved model prints nothing
    encoder = model.named_steps["text"]  # the word index is saved once, fitted
    assert encoder.word_index == "imdb" and set(encoder.word_index_) == set(WORD_INDEX)


def test_train_options_reach_the_network_and_shrink_the_data(home, tmp_path):
    status, out, err = _run(
        "train", "--data-home", home, "-o", tmp_path, "--validation-split", "0",
        "--n-train", "20", "--n-test", "10", "--hidden-layers", "1", "--loss", "mse",
        "--activation", "tanh", "--dropout", "0.25", "--l2", "0.001", "--no-plots",
        *FAST,
    )  # fmt: skip
    assert status == 0, err
    assert "training reviews: 20 (validation_split=0); test reviews: 10" in out
    assert "test loss (mse):" in out
    net = load(tmp_path)[-1]
    assert (net.hidden_layers, net.loss, net.activation) == (1, "mse", "tanh")
    assert (net.dropout, net.l2, net.early_stopping) == (0.25, 0.001, False)
    assert sorted(net.history_) == ["accuracy", "loss"]
    assert not list(tmp_path.glob("*.png"))


def test_train_best_preset_builds_its_pipeline_on_the_full_vocabulary(home, tmp_path):
    status, out, err = _run(
        "train", "--data-home", home, "-o", tmp_path, "--preset", "best",
        "--n-train", "40", "--n-test", "10", "--no-plots", "--verbose", "0",
    )  # fmt: skip
    assert status == 0, err
    assert "training reviews: 40 (validation_split=0); test reviews: 10" in out
    model = load(tmp_path)
    assert [name for name, _ in model.steps] == ["text", "vec", "nb", "clf"]
    assert model.named_steps["vec"].num_words is None
    assert model.named_steps["vec"].ngram_range == (1, 3)
    assert model.predict_proba(["A wonderful film."]).shape == (1, 2)


# -- evaluate, predict, mistakes -----------------------------------------------------


def test_evaluate_prints_scores_and_confusion_matrix(trained, home):
    output = trained[0]
    status, out, _ = _run("evaluate", output, "--data-home", home)
    assert status == 0
    model = load(output)
    _, (X_test, y_test) = load_data(num_words=NUM_WORDS, data_home=home)
    assert _number(out, "accuracy:") == pytest.approx(model.score(X_test, y_test), 1e-4)
    # the network's own loss, as Keras computes it: what scikit-learn measures too
    loss = log_loss(y_test, model.predict_proba(X_test))
    assert _number(out, "loss (binary_crossentropy):") == pytest.approx(loss, abs=2e-4)
    assert 0.9 <= _number(out, "ROC AUC:") <= 1
    lines = out.splitlines()
    matrix = lines[lines.index(next(x for x in lines if x.startswith("confusion"))) :]
    assert matrix[1].split() == ["neg", "pos"]
    counts = [[int(v) for v in row.split()[1:]] for row in matrix[2:4]]
    assert np.sum(counts) == 40 and np.trace(counts) >= 36
    assert [row.split()[0] for row in matrix[2:4]] == ["neg", "pos"]


def test_predict_labels_text_arguments(trained):
    status, out, _ = _run(
        "predict", trained[0], "A great, WONDERFUL film!", "Boring... and awful<br />"
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "label\tP(pos)\treview"
    (pos, p_pos, text), (neg, p_neg, _) = (line.split("\t") for line in lines[1:])
    assert (pos, neg, text) == ("pos", "neg", "A great, WONDERFUL film!")
    assert float(p_pos) > 0.5 > float(p_neg)


def test_predict_labels_a_tie_like_the_models_predict(tmp_path):
    import joblib
    from sklearn.dummy import DummyClassifier

    # a model unsure of everything: P(pos) is exactly 0.5
    model = DummyClassifier(strategy="prior").fit([[0], [1]], [0, 1])
    joblib.dump(model, tmp_path / "model.joblib")
    status, out, err = _run("predict", tmp_path, "any review", "--allow-pickle")
    assert status == 0, err
    label, p_pos, _ = out.splitlines()[1].split("\t")
    assert float(p_pos) == 0.5
    assert label == ["neg", "pos"][model.predict([[0]])[0]]


def test_predict_with_a_model_fitted_on_string_labels(tmp_path):
    from sklearn.dummy import DummyClassifier

    # columns follow classes_ ("neg", "pos"): printed by position, not by value
    model = DummyClassifier(strategy="prior").fit([[0]] * 3, ["neg", "pos", "pos"])
    joblib.dump(model, tmp_path / "model.joblib")
    status, out, err = _run("predict", tmp_path, "any review", "--allow-pickle")
    assert status == 0, err
    assert out.splitlines()[1].split("\t")[:2] == ["pos", "0.6667"]


def test_predict_one_review(trained):
    status, out, err = _run("predict", trained[0], "superb")
    assert status == 0, err
    assert out.splitlines()[1].split("\t")[::2] == ["pos", "superb"]


def test_predict_reads_a_file_or_stdin(trained, tmp_path, monkeypatch):
    path = tmp_path / "reviews.txt"
    path.write_text("superb moving acting\n\n   \nthe plot was dull and bad\n")
    status, out, _ = _run("predict", trained[0], "--file", path)
    assert status == 0
    assert [line.split("\t")[0] for line in out.splitlines()[1:]] == ["pos", "neg"]
    monkeypatch.setattr(sys, "stdin", io.StringIO(path.read_text()))
    assert _run("predict", trained[0]) == (0, out, "")


def test_predict_without_any_text_is_a_user_error(trained, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    status, out, err = _run("predict", trained[0])
    assert (status, out) == (1, "")
    assert err.startswith("skimdb predict: error: no review given")
    status, _, err = _run("predict", trained[0], "good", "--file", "x.txt")
    assert status == 1 and "not both" in err


def test_mistakes_lists_the_misclassified_reviews_as_words(trained, home):
    # a network trained 1 epoch errs on some of the tiny test reviews
    output = trained[0].parent / "weak"
    status, _, err = _run(
        "train", "--data-home", home, "-o", output, "--no-plots",
        "--num-words", NUM_WORDS, "--epochs", "1", "--verbose", "0",
    )  # fmt: skip
    assert status == 0, err
    status, out, _ = _run("mistakes", output, "--data-home", home, "--n", "30")
    assert status == 0
    model = load(output)
    _, (X_test, y_test) = load_data(num_words=NUM_WORDS, data_home=home)
    proba = model.predict_proba(X_test[:30])[:, 1]
    wrong = np.flatnonzero((proba >= 0.5) != y_test[:30])
    assert len(wrong) > 0
    assert out.splitlines()[0] == (
        f"{len(wrong)} mistakes among the first 30 test reviews "
        f"(accuracy {1 - len(wrong) / 30:.4f})"
    )
    headers = [line for line in out.splitlines() if line.startswith("review ")]
    assert [int(h.split()[1].rstrip(":")) for h in headers] == list(wrong)
    i = wrong[0]
    label = ["neg", "pos"][y_test[i]]
    assert f"review {i}: true {label}, P(pos) = {proba[i]:.4f}" in headers
    text = out.splitlines()[out.splitlines().index(headers[0]) + 1]
    words = text.split()
    assert words[0] == "?" and set(words[1:]) <= set(WORD_INDEX)


# -- experiments ---------------------------------------------------------------------


def test_experiments_prints_sorted_table_and_saves_csv_and_plot(home, tmp_path):
    status, out, err = _run(
        "experiments", "--data-home", home, "-o", tmp_path, "--quick",
        "--hidden-layers", "1", "2", "--units", "4", "--activation", "relu",
        "--epochs", "3", "--num-words", NUM_WORDS, "--verbose", "0",
    )  # fmt: skip
    assert status == 0, err
    assert "Searching 2 candidates x 2 folds on 80 reviews, 3 epochs each" in err
    lines = out.splitlines()
    assert lines[0] == "scoring: accuracy, 2-fold cross-validation"
    assert lines[1].split() == [
        "rank", "hidden_layers", "units", "loss", "activation",
        "mean_score", "std_score", "fit_time_s",
    ]  # fmt: skip
    table = [line.split() for line in lines[2:4]]
    assert sorted(row[1] for row in table) == ["1", "2"]
    scores = [float(row[5]) for row in table]
    assert scores == sorted(scores, reverse=True)
    with open(tmp_path / "experiments.csv") as file:
        rows = list(csv.DictReader(file))
    assert [float(row["mean_score"]) for row in rows] == scores
    assert matplotlib.image.imread(tmp_path / "experiments.png").ndim == 3


def test_experiments_quick_defaults():
    args = cli.build_parser().parse_args(["experiments", "--quick", "--cv", "4"])
    settings = _commands.experiment_settings(args)
    assert settings["cv"] == 4  # given options win over --quick
    assert settings["n_train"] == _options.QUICK["n_train"]
    args = cli.build_parser().parse_args(["experiments"])
    assert _commands.experiment_settings(args) == {
        **_options.EXPERIMENT_GRID, "n_train": None, "cv": 3, "epochs": 4,
    }  # fmt: skip


# -- help, errors, entry points --------------------------------------------------------


@pytest.mark.parametrize(
    "command", [[], ["train"], ["evaluate"], ["predict"], ["mistakes"], ["experiments"]]
)
def test_every_command_has_help(command):
    status, out, _ = _run(*command, "--help")
    assert status == 0
    assert out.startswith(f"usage: skimdb {' '.join(command)}".rstrip())


def test_missing_data_is_one_line_without_traceback(tmp_path, trained):
    for argv in (
        ["train", "--data-home", tmp_path, "--no-download", "-o", tmp_path / "m"],
        ["evaluate", trained[0], "--data-home", tmp_path, "--no-download"],
    ):
        status, out, err = _run(*argv)
        assert status == 1
        assert "Traceback" not in err
        *progress, message = err.splitlines()  # progress lines, then the error
        assert all(line.endswith("...") for line in progress)
        assert message.startswith(f"skimdb {argv[0]}: error: ")
        assert "aclImdb_v1.tar.gz" in message


def test_bad_model_paths_are_user_errors(tmp_path):
    status, _, err = _run("predict", tmp_path / "nowhere", "good")
    assert status == 1
    assert err == (
        f"skimdb predict: error: no model at {tmp_path / 'nowhere'}; "
        "train one with 'skimdb train -o FOLDER'\n"
    )
    (tmp_path / "model.joblib").write_text("not a model")
    status, _, err = _run("mistakes", tmp_path, "--allow-pickle")
    assert status == 1 and err.startswith("skimdb mistakes: error: cannot load a model")
    joblib.dump({"a": "dict"}, tmp_path / "dict.joblib")
    status, _, err = _run("evaluate", tmp_path / "dict.joblib", "--allow-pickle")
    assert status == 1 and "holds a dict, not a skimdb classifier of two" in err
    (tmp_path / "edited").mkdir()
    (tmp_path / "edited" / "skimdb.json").write_text("{not json")
    status, _, err = _run("predict", tmp_path / "edited", "good")
    assert status == 1 and len(err.splitlines()) == 1
    assert err.startswith(f"skimdb predict: error: cannot load the model in {tmp_path}")


def test_bad_options(home, tmp_path):
    status, _, err = _run("train", "--epochs", "0")
    assert status == 2 and "--epochs: must be at least 1, got 0" in err
    status, _, err = _run("train", "--validation-split", "1.5")
    assert status == 2 and "--validation-split" in err
    status, _, err = _run("frobnicate")
    assert status == 2 and "invalid choice" in err
    status, _, err = _run(
        "train", "--data-home", home, "-o", tmp_path, "--activation", "nope", *FAST
    )
    assert status == 1
    assert err.splitlines()[-1].startswith("skimdb train: error: The 'activation'")
    # the losses IMDBNet accepts are its own to list, not a copy in the CLI
    status, _, err = _run(
        "train", "--data-home", home, "-o", tmp_path, "--loss", "hinge", *FAST
    )
    assert status == 1
    assert err.splitlines()[-1].startswith(
        "skimdb train: error: The 'loss' parameter of IMDBNet must be"
    )


def test_best_preset_refuses_the_notebook_network_options():
    status, out, err = _run(
        "train", "--preset", "best", "--epochs", "1", "--units", "8"
    )
    assert (status, out) == (1, "")
    assert err == (
        "skimdb train: error: --preset best keeps its own vectorizer and network, so "
        "it takes no --units, --epochs: drop them, or use --preset notebook\n"
    )
    status, _, err = _run("train", "--preset", "best", "--no-shuffle")
    assert status == 1 and "it takes no --no-shuffle: drop it," in err


def test_notebook_options_not_given_keep_the_estimators_defaults():
    from skimdb import IMDBNet, MultiHotVectorizer

    defaults = {**IMDBNet().get_params(), **MultiHotVectorizer().get_params()}
    options = _options.network_options()
    for name, option in options.items():
        assert defaults[name] == option.default, option.flags
    args = cli.build_parser().parse_args(["train"])
    assert not set(options) & set(vars(args))  # only given ones reach
    args = cli.build_parser().parse_args(["train", "--no-shuffle", "--units", "8"])
    assert (args.shuffle, args.units) == (False, 8)


def test_experiments_bad_grid_value_is_an_error_not_a_nan_row(home, tmp_path):
    status, _, err = _run("experiments", "--hidden-layers", "-1")
    assert status == 2 and "--hidden-layers: must be at least 0, got -1" in err
    status, out, err = _run(
        "experiments", "--data-home", home, "-o", tmp_path, "--quick",
        "--activation", "relu", "bogus", "--units", "4", "--epochs", "1",
        "--num-words", NUM_WORDS, "--verbose", "0",
    )  # fmt: skip
    assert (status, out) == (1, "")
    assert err.splitlines()[-1].startswith(
        "skimdb experiments: error: The 'activation' parameter of IMDBNet"
    )
    assert not (tmp_path / "experiments.csv").exists()


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(cli.UserError, match="no model at"):
        cli.main(["--debug", "predict", str(tmp_path), "text"])


def test_python_m_skimdb_and_console_script():
    result = subprocess.run(
        [sys.executable, "-m", "skimdb", "--version"], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout.split()[0]) == (0, "skimdb")
    scripts = metadata.entry_points(group="console_scripts")
    assert [ep.value for ep in scripts if ep.name == "skimdb"] == ["skimdb.cli:main"]


def test_experiments_on_dask_without_distributed_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    for option in (["--scheduler", "tcp://127.0.0.1:8786"], ["--dask"]):
        status, out, err = _run("experiments", "--quick", *option)
        assert status == 1 and out == ""
        assert err.strip().splitlines() == [
            "skimdb experiments: error: running on Dask needs dask and distributed: "
            'pip install "skimdb[dask]"'
        ]


def test_experiments_scheduler_and_dask_exclude_each_other():
    status, _, err = _run("experiments", "--dask", "--scheduler", "tcp://x:8786")
    assert status == 2
    assert "not allowed with argument" in err


# -- no pickle unless asked ------------------------------------------------------------


def test_predict_reads_a_folder_written_by_persistence_save(trained, tmp_path):
    folder = tmp_path / "saved"
    save(load(trained[0]), folder)  # skimdb.json, arrays.npz, a .keras file only
    assert _run("predict", folder, "superb", "dull") == _run(
        "predict", trained[0], "superb", "dull"
    )


class _Crafted:
    """A pickle whose loading creates ``marker``: any code could run instead."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("name", ["model.joblib", "model.pkl"])
def test_a_crafted_pickle_runs_only_with_allow_pickle(tmp_path, name):
    marker = tmp_path / "code_ran"
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    joblib.dump(_Crafted(marker), model_dir / name)
    where = model_dir if name == "model.joblib" else model_dir / name
    for command in (["predict", where, "good"], ["evaluate", where],
                    ["mistakes", where]):  # fmt: skip
        status, out, err = _run(*command)
        assert (status, out) == (1, "")
        assert err.count("\n") == 1 and err.startswith(
            f"skimdb {command[0]}: error: {model_dir / name} is not a model folder"
        )
        assert "--allow-pickle" in err and "runs any code" in err
        assert not marker.exists()
    # the flag does what its help says: the file's code runs, and what it made
    # is refused by name
    status, _, err = _run("predict", where, "good", "--allow-pickle")
    assert marker.exists()
    assert status == 1 and "holds a TextIOWrapper, not a skimdb classifier" in err


def test_allow_pickle_refuses_a_model_of_another_shape(tmp_path):
    from sklearn.dummy import DummyClassifier

    one = DummyClassifier().fit([[0]] * 3, [2, 2, 2])
    joblib.dump(one, tmp_path / "model.joblib")
    status, out, err = _run("predict", tmp_path, "good", "--allow-pickle")
    assert (status, out) == (1, "")
    assert err == (
        f"skimdb predict: error: {tmp_path / 'model.joblib'} holds a DummyClassifier "
        "with 1 class, not a skimdb classifier of two or more classes\n"
    )
    # three classes: each review's label and that label's probability
    three = DummyClassifier().fit([[0]] * 4, [0, 1, 2, 2])
    joblib.dump(three, tmp_path / "model.joblib")
    status, out, err = _run("predict", tmp_path, "good", "--allow-pickle")
    assert status == 0, err
    assert out.splitlines() == ["label\tprobability\treview", "2\t0.5000\tgood"]


def test_allow_pickle_help_says_loading_runs_code():
    for command in ("predict", "evaluate", "mistakes"):
        _, out, _ = _run(command, "--help")
        help_text = " ".join(out.split())
        assert "--allow-pickle also load MODEL from a pickle" in help_text
        assert "Loading a pickle runs any code it holds" in help_text


# -- the output folder, checked before the data is loaded ---------------------------


def _train_status(tmp_path, *argv):
    """``skimdb train`` where data would fail to load: (status, stderr lines)."""
    status, out, err = _run(
        "train", "--data-home", tmp_path / "no_data", "--no-download", *argv
    )
    assert out == ""
    return status, err.splitlines()


def test_bad_output_is_refused_before_loading_anything(tmp_path):
    (tmp_path / "a_file").write_text("x")
    status, err = _train_status(tmp_path, "-o", tmp_path / "a_file")
    assert (status, err) == (
        1, [f"skimdb train: error: -o {tmp_path / 'a_file'}: is a file, not a folder; "
            "choose a folder"],
    )  # fmt: skip
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    for extra in ([], ["--overwrite"]):
        status, err = _train_status(tmp_path, "-o", tmp_path / "other", *extra)
        assert status == 1 and len(err) == 1
        assert "holds files that are not a skimdb model" in err[0]
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    for target in (locked / "model", locked / "deeper" / "model"):
        status, err = _train_status(tmp_path, "-o", target)
        assert (status, err) == (
            1, [f"skimdb train: error: -o {target}: cannot write in {locked} "
                "(read-only)"],
        )  # fmt: skip
    assert not list(locked.iterdir())


def test_an_existing_model_needs_overwrite(trained, tmp_path):
    status, err = _train_status(tmp_path, "-o", trained[0])
    assert (status, err) == (
        1, [f"skimdb train: error: -o {trained[0]}: already holds a skimdb model; "
            "pass --overwrite to replace it, or choose another folder"],
    )  # fmt: skip


@pytest.mark.skipif(
    "overwrite" not in inspect.signature(save).parameters,
    reason="persistence overwrite not merged yet",
)
def test_overwrite_replaces_the_model(home, tmp_path):
    output = tmp_path / "model"
    for units in (4, 8):
        status, _, err = _run(
            "train", "--data-home", home, "-o", output, "--overwrite", "--no-plots",
            *FAST, "--units", units,
        )  # fmt: skip
        assert status == 0, err
        assert load(output)[-1].units == units
    assert not [path for path in tmp_path.iterdir() if path != output]


def test_output_expands_home(home, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.chdir(tmp_path)
    status, out, err = _run(
        "train", "--data-home", home, "-o", "~/model", "--no-plots", "--n-train", 20,
        "--n-test", 10, "--num-words", NUM_WORDS, "--epochs", 1, "--verbose", 0,
    )  # fmt: skip
    assert status == 0, err
    assert (tmp_path / "user" / "model" / "skimdb.json").is_file()
    assert not (tmp_path / "~").exists()


def test_an_unknown_user_home_is_one_line(trained, tmp_path, monkeypatch):
    user = "~no_such_user_skimdb"
    for argv, what in (
        (["train", "-o", f"{user}/model"], "-o"),
        (["train", "-o", tmp_path / "m", "--data-home", f"{user}/data"], "--data-home"),
        (["evaluate", trained[0], "--data-home", user], "--data-home"),
    ):
        status, out, err = _run(*argv)
        assert (status, out) == (1, "")
        assert err.count("\n") == 1
        assert err.startswith(f"skimdb {argv[0]}: error: {what} '{user}")
        assert f"cannot expand '{user}'" in err
    monkeypatch.setenv("SKIMDB_DATA", user)
    status, _, err = _run("mistakes", trained[0])
    assert status == 1
    assert err.startswith(f"skimdb mistakes: error: SKIMDB_DATA '{user}'")


# -- reviews in, rows out --------------------------------------------------------------

#: Characters str.splitlines breaks at that are not line ends here.
_NOT_LINE_ENDS = "\u2028\u2029\x85\v\f\x1c\x1d\x1e"


def _stdin_bytes(monkeypatch, data):
    """Standard input as a terminal-less byte stream, as when piped."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_reviews_split_at_line_ends_only(trained, tmp_path, monkeypatch):
    reviews = [
        f"superb {_NOT_LINE_ENDS} moving acting",
        "the plot \r was dull \u2028 and bad",  # a lone \r ends no line either
        f"{_NOT_LINE_ENDS} great",
    ]
    data = "\r\n".join(reviews[:2]).encode() + b"\n" + reviews[2].encode() + b"\n"
    (tmp_path / "reviews.txt").write_bytes(data)
    status, out, err = _run("predict", trained[0], "--file", tmp_path / "reviews.txt")
    assert status == 0, err
    rows = out.splitlines()[1:]
    assert [row.split("\t")[0] for row in rows] == ["pos", "neg", "pos"]
    assert [row.split("\t")[2] for row in rows] == [
        " ".join(review.split()) for review in reviews
    ]
    _stdin_bytes(monkeypatch, data)
    assert _run("predict", trained[0]) == (0, out, "")


def test_invalid_utf8_is_refused_from_a_file_and_from_stdin(trained, tmp_path,
                                                            monkeypatch):  # fmt: skip
    data = b"superb acting\n\xff\xfe bad\n"
    (tmp_path / "latin.txt").write_bytes(data)
    status, out, err = _run("predict", trained[0], "-f", tmp_path / "latin.txt")
    assert (status, out) == (1, "")
    assert err == (
        f"skimdb predict: error: cannot read reviews from {tmp_path / 'latin.txt'}: "
        "not UTF-8 text (byte 0xff at offset 14); save it as UTF-8\n"
    )
    _stdin_bytes(monkeypatch, data)
    assert _run("predict", trained[0]) == (
        1, "", "skimdb predict: error: cannot read reviews from standard input: "
        "not UTF-8 text (byte 0xff at offset 14); save it as UTF-8\n",
    )  # fmt: skip


# -- a diverging training --------------------------------------------------------------


def test_a_diverging_training_is_one_line_and_saves_nothing(home, tmp_path):
    status, out, err = _run(
        "train", "--data-home", home, "-o", tmp_path / "m", *FAST,
        "--learning-rate", "1e30", "--no-plots",
    )  # fmt: skip
    assert status == 1
    message = err.splitlines()[-1]
    assert message.startswith("skimdb train: error: ")
    assert re.search("lower (--)?learning.rate", message, re.IGNORECASE)
    assert "Traceback" not in err and "test accuracy" not in out
    assert not (tmp_path / "m" / "skimdb.json").exists()


# -- TensorFlow's start-up logs --------------------------------------------------------


def _skimdb_process(*argv, env=None):
    """``python -m skimdb ARGV`` with this checkout's skimdb, without
    TF_CPP_MIN_LOG_LEVEL unless ``env`` sets it."""
    base = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    root = str(Path(skimdb.__file__).parents[1])
    base["PYTHONPATH"] = os.pathsep.join([root, base.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "skimdb", *map(str, argv)],
        capture_output=True, text=True, env={**base, **(env or {})}, timeout=300,
    )  # fmt: skip


def test_a_commands_output_starts_with_skimdbs_own_line(home, trained, tmp_path):
    result = _skimdb_process(
        "train", "--data-home", home, "-o", tmp_path / "m", "--no-plots",
        "--n-train", 20, "--n-test", 10, "--num-words", NUM_WORDS, "--epochs", 1,
        "--verbose", 0,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"Loading the IMDB reviews (num_words={NUM_WORDS}) ...",
        "Training on 20 reviews (0.2 held out for validation), 1 epochs ...",
    ]
    result = _skimdb_process("predict", trained[0], "superb")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == "label\tP(pos)\treview"


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_predicting_commands_do_not_import_tensorflow(trained, command):
    # a saved model predicts with the NumPy forward pass of its weights
    code = (
        "import sys\n"
        "from skimdb.cli import main\n"
        f"status = main([{command!r}, {str(trained[0])!r}, 'superb', 'awful'])\n"
        "assert status == 0, status\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_tensorflow_log_level_is_the_users_when_set():
    code = "import os, skimdb.cli; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    for env, level in (({}, "3"), ({"TF_CPP_MIN_LOG_LEVEL": "1"}, "1")):
        base = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
        base["PYTHONPATH"] = str(Path(skimdb.__file__).parents[1])
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True,
            env={**base, **env},
        )  # fmt: skip
        assert result.stdout.strip() == level, result.stderr


# -- --help: each default stated once --------------------------------------------------


@pytest.mark.parametrize("command", list(_options.COMMANDS))
def test_help_states_each_default_once(command):
    _, out, _ = _run(command, "--help")
    # an option's entry: its line starting with "  -" and the indented lines after
    entries = re.split(r"\n(?=  -|\S)", out.split("\noptions:\n", 1)[1])
    for entry in entries:
        assert len(re.findall(r"default", entry, flags=re.I)) <= 1, entry
    assert "(default: None)" not in out
    for group in _options.COMMANDS[command].groups:
        for option in group.options:
            shown = " ".join(option.help_text.split())
            assert shown in " ".join(out.split()), option.flags
            if option.default_text:
                assert shown.count("(default: ") == 1, option.flags


# -- a second train over a model: killed or out of space, the first one stays --------

_TRAIN_IN_A_CHILD = """
import resource, signal, sys, time
import skimdb.persistence as p
from skimdb.cli import main
how, argv = sys.argv[1], sys.argv[2:]
if how == "fsize":  # from the save on, writes over 2 KB fail with EFBIG
    save = p._new_partial_folder
    def limit_then_save(folder):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, resource.RLIM_INFINITY))
        return save(folder)
    p._new_partial_folder = limit_then_save
else:  # stop once the new model is written, before it is swapped in
    sync = p._sync_folder
    def hang(folder):
        sync(folder)
        print("written", flush=True)
        time.sleep(600)
    p._sync_folder = hang
sys.exit(main(argv))
"""


@pytest.mark.parametrize("how", ["fsize", "kill"])
def test_a_failed_overwrite_keeps_the_old_model(home, trained, tmp_path, how):
    import shutil

    shutil.copytree(trained[0], tmp_path / "m")
    before = _run("predict", tmp_path / "m", "superb", "awful")
    argv = ["train", "--data-home", home, "-o", tmp_path / "m", "--overwrite",
            "--no-plots", *FAST, "--random-state", "7"]  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-c", _TRAIN_IN_A_CHILD, how, *map(str, argv)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        if how == "kill":
            while (line := child.stdout.readline()) and line.strip() != "written":
                pass
            assert line.strip() == "written", child.stderr.read()
            child.kill()  # SIGKILL midway: no cleanup runs in the child
        _, err = child.communicate(timeout=300)
    finally:
        child.kill()
        child.wait()
    if how == "fsize":
        assert child.returncode == 1
        assert err.splitlines()[-1].startswith("skimdb train: error: ")
    after = _run("predict", tmp_path / "m", "superb", "awful")
    assert after == before and after[0] == 0
