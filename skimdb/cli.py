"""The ``skimdb`` command line: train, evaluate, predict, mistakes, experiments.

Each command composes skimdb's public API; run ``skimdb COMMAND --help`` for its
options. Results go to standard output, progress to standard error. A user error
(missing data, a bad path or option) prints one line and exits with status 1
(2 for a bad command line); ``--debug`` shows the traceback instead.
"""

import argparse
import contextlib
import csv
import sys
from pathlib import Path

import numpy as np

from skimdb import PRESETS, __version__

__all__ = ["main"]

#: The notebook's "further experiments", searched by ``skimdb experiments``.
EXPERIMENT_GRID = {
    "hidden_layers": [1, 2, 3],
    "units": [16, 32, 64],
    "loss": ["binary_crossentropy", "mse"],
    "activation": ["relu", "tanh"],
}
#: What ``skimdb experiments`` uses for the options not given.
EXPERIMENT_DEFAULTS = {**EXPERIMENT_GRID, "n_train": None, "cv": 3, "epochs": 4}
#: What ``skimdb experiments --quick`` uses for the options not given.
QUICK = {
    "hidden_layers": [1, 2],
    "units": [16],
    "loss": ["binary_crossentropy"],
    "activation": ["relu", "tanh"],
    "n_train": 2000,
    "cv": 2,
    "epochs": 2,
}
MODEL_FILE = "model.joblib"
CLASS_NAMES = ("neg", "pos")
#: ``skimdb train``'s options that shape the notebook preset's vectorizer and network,
#: by parameter: the option, and the preset's value that it keeps when not given
#: (MultiHotVectorizer's and IMDBNet's defaults; a test holds them equal).
NOTEBOOK_OPTIONS = {
    "num_words": ("--num-words", 10000),
    "units": ("--units", 16),
    "hidden_layers": ("--hidden-layers", 2),
    "activation": ("--activation", "relu"),
    "loss": ("--loss", "binary_crossentropy"),
    "optimizer": ("--optimizer", "rmsprop"),
    "learning_rate": ("--learning-rate", None),
    "epochs": ("--epochs", 4),
    "batch_size": ("--batch-size", 512),
    "dropout": ("--dropout", 0.0),
    "l2": ("--l2", 0.0),
    "early_stopping": ("--early-stopping", False),
    "n_iter_no_change": ("--n-iter-no-change", 2),
    "shuffle": ("--no-shuffle", True),
    "class_weight": ("--class-weight", None),
}


class UserError(Exception):
    """A problem the user can fix; reported in one line, without a traceback."""


# -- helpers ----------------------------------------------------------------------


def _say(message):
    print(message, file=sys.stderr, flush=True)


def _int_at_least(minimum):
    """An argparse type: an int no smaller than ``minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _load_imdb(args, num_words, *, n_train=None, n_test=None):
    """The IMDB splits, shortened to their first ``n_train``/``n_test`` reviews."""
    from skimdb.datasets import load_data

    _say(f"Loading the IMDB reviews (num_words={num_words}) ...")
    (X_train, y_train), (X_test, y_test) = load_data(
        num_words=num_words,
        data_home=args.data_home,
        download_if_missing=not args.no_download,
    )
    return (X_train[:n_train], y_train[:n_train]), (X_test[:n_test], y_test[:n_test])


def _load_model(path):
    """A fitted pipeline saved by ``skimdb train`` (a file, or the folder of one)."""
    import joblib

    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise UserError(f"no model at {path}; train one with 'skimdb train -o FOLDER'")
    try:
        model = joblib.load(path)
    except Exception as exc:  # a corrupt or foreign file: say so in one line
        raise UserError(f"cannot load a model from {path}: {exc}") from exc
    if not hasattr(model, "predict_proba"):
        raise UserError(f"{path} holds a {type(model).__name__}, not a skimdb model")
    return model


def _steps(model):
    return [step for _, step in getattr(model, "steps", [("model", model)])]


def _find_step(model, cls):
    return next((step for step in _steps(model) if isinstance(step, cls)), None)


def _model_num_words(model):
    from skimdb import MultiHotVectorizer

    vec = _find_step(model, MultiHotVectorizer)
    return None if vec is None else vec.num_words_


def _predict(model, X):
    """Each review's class probabilities, and its predicted column (0: neg, 1: pos,
    the IMDB labels): argmax, as the model's ``predict``, so a tie at 0.5 is neg."""
    proba = model.predict_proba(X)
    return proba, proba.argmax(axis=1)


def _loss(model, y, proba):
    """The test loss, measured with the network's own training loss."""
    from sklearn.metrics import log_loss, mean_squared_error

    if getattr(_steps(model)[-1], "loss", None) in ("mse", "mean_squared_error"):
        return "mse", mean_squared_error(y, proba[:, 1])
    return "binary cross-entropy", log_loss(y, proba, labels=[0, 1])


def _save_figure(display, path):
    display.figure_.savefig(path, dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(display.figure_)
    return path


def _matplotlib_or_none():
    try:
        import matplotlib
    except ImportError:
        _say(
            "skimdb: plots skipped: matplotlib is not installed "
            "(pip install 'skimdb[plot]')"
        )
        return None
    matplotlib.use("Agg")  # files only: never needs a display
    return matplotlib


def _shorten(text, width):
    text = " ".join(text.split())
    if width and len(text) > width:
        return text[: max(width - 3, 0)] + "..."
    return text


# -- commands -----------------------------------------------------------------------


def cmd_train(args):
    """Fit the default pipeline, report its test scores, save it and its plots."""
    from skimdb import ReviewEncoder, make_pipeline
    from skimdb.datasets import get_word_index

    given = {name: getattr(args, name) for name in NOTEBOOK_OPTIONS if name in args}
    if args.preset != "notebook" and given:
        options = ", ".join(NOTEBOOK_OPTIONS[name][0] for name in given)
        raise UserError(
            f"--preset {args.preset} keeps its own vectorizer and network, so it "
            f"takes no {options}: drop {'it' if len(given) == 1 else 'them'}, or "
            "use --preset notebook"
        )
    if args.validation_split is None:
        args.validation_split = 0.2 if args.preset == "notebook" else 0.0
    num_words = given.pop("num_words", PRESETS[args.preset]["num_words"])
    (X_train, y_train), (X_test, y_test) = _load_imdb(
        args, num_words, n_train=args.n_train, n_test=args.n_test
    )
    # fetched here to honour --no-download; the encoder then reads it from the data
    # home and keeps only its word_index_ (a word_index= copy would be saved twice)
    get_word_index(data_home=args.data_home, download_if_missing=not args.no_download)
    model = make_pipeline(args.preset, random_state=args.random_state)
    encoder = ReviewEncoder(
        num_words=num_words, word_index="imdb", data_home=args.data_home
    )
    model.steps.insert(0, ("text", encoder))
    model.set_params(
        vec__num_words=num_words,
        clf__validation_split=args.validation_split,
        clf__verbose=args.verbose,
        **{f"clf__{name}": value for name, value in given.items()},
    )
    _say(
        f"Training on {len(y_train)} reviews ({args.validation_split:g} held out for "
        f"validation), {model[-1].epochs} epochs ..."
    )
    model.fit(X_train, y_train)
    # the saved model refits (or cross-validates) quietly
    model.set_params(clf__verbose=0)
    _report_and_save(args, model, y_train, X_test, y_test)
    return 0


def _report_and_save(args, model, y_train, X_test, y_test):
    """Print the test scores, save the model, its history and its plots."""
    from sklearn.metrics import accuracy_score

    proba, y_pred = _predict(model, X_test)
    loss_name, loss = _loss(model, y_test, proba)
    history = model[-1].history_
    n_val = len(y_train) - int(len(y_train) * (1 - args.validation_split))
    print(
        f"training reviews: {len(y_train) - n_val} fitted, {n_val} for validation; "
        f"test reviews: {len(y_test)}"
    )
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in history:
            print(f"last epoch {key}: {history[key][-1]:.4f}")
    print(f"test loss ({loss_name}): {loss:.4f}")
    print(f"test accuracy: {accuracy_score(y_test, y_pred):.4f}")

    import joblib

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    saved = [output / MODEL_FILE]
    joblib.dump(model, saved[0])
    with open(output / "history.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["epoch", *history])
        for epoch, row in enumerate(zip(*history.values(), strict=True), start=1):
            writer.writerow([epoch, *row])
    saved.append(output / "history.csv")
    if not args.no_plots and _matplotlib_or_none():
        from skimdb.plotting import HistoryDisplay, ProbabilityViolinDisplay

        saved.append(
            _save_figure(HistoryDisplay.from_estimator(model), output / "history.png")
        )
        violins = ProbabilityViolinDisplay.from_predictions(
            y_test, proba[:, 1], class_names=CLASS_NAMES
        )
        violins.ax_.set_title("Predicted probabilities on the test reviews")
        saved.append(_save_figure(violins, output / "probabilities.png"))
    print("saved: " + ", ".join(str(path) for path in saved))


def cmd_evaluate(args):
    """Loss, accuracy, ROC AUC and confusion matrix of a saved model on the test set."""
    from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score

    model = _load_model(args.model)
    _, (X_test, y_test) = _load_imdb(args, _model_num_words(model), n_test=args.n_test)
    _say(f"Predicting {len(y_test)} test reviews ...")
    proba, y_pred = _predict(model, X_test)
    loss_name, loss = _loss(model, y_test, proba)
    print(f"test reviews: {len(y_test)}")
    print(f"loss ({loss_name}): {loss:.4f}")
    print(f"accuracy: {accuracy_score(y_test, y_pred):.4f}")
    if len(set(y_test)) == 2:
        print(f"ROC AUC: {roc_auc_score(y_test, proba[:, 1]):.4f}")
    matrix = confusion_matrix(y_test, y_pred, labels=[0, 1])
    print("confusion matrix (rows: true class, columns: predicted class):")
    print(f"{'':>8}{'neg':>8}{'pos':>8}")
    for name, row in zip(CLASS_NAMES, matrix, strict=True):
        print(f"{name:>8}{row[0]:>8}{row[1]:>8}")
    return 0


def _read_reviews(args):
    if args.text and args.file:
        raise UserError("give reviews as TEXT arguments or with --file, not both")
    if args.text:
        return list(args.text)
    if args.file and args.file != "-":
        try:
            lines = Path(args.file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read reviews from {args.file}: {exc}") from exc
    elif args.file == "-" or not sys.stdin.isatty():
        lines = sys.stdin.read().splitlines()
    else:
        raise UserError(
            "no review given: pass TEXT arguments, --file PATH, or pipe one review "
            "per line on standard input"
        )
    reviews = [line for line in lines if line.strip()]
    if not reviews:
        raise UserError("no review given: the input holds no non-blank line")
    return reviews


def cmd_predict(args):
    """Label raw review text with a saved model."""
    reviews = _read_reviews(args)
    model = _load_model(args.model)
    proba, labels = _predict(model, reviews)
    print("label\tP(pos)\treview")
    for text, p, label in zip(reviews, proba[:, 1], labels, strict=True):
        print(f"{CLASS_NAMES[label]}\t{p:.4f}\t{_shorten(text, args.width)}")
    return 0


def cmd_mistakes(args):
    """The misclassified reviews among the first N of the test set, as words."""
    from skimdb import ReviewEncoder
    from skimdb.datasets import get_word_index

    model = _load_model(args.model)
    _, (X_test, y_test) = _load_imdb(args, _model_num_words(model), n_test=args.n)
    encoder = _find_step(model, ReviewEncoder)
    if encoder is None:  # a model fitted on ids alone: decode with the word index
        word_index = get_word_index(
            data_home=args.data_home, download_if_missing=not args.no_download
        )
        encoder = ReviewEncoder(word_index=word_index).fit()
    proba, labels = _predict(model, X_test)
    wrong = np.flatnonzero(labels != y_test)
    print(
        f"{len(wrong)} mistakes among the first {len(y_test)} test reviews "
        f"(accuracy {1 - len(wrong) / len(y_test):.4f})"
    )
    texts = encoder.inverse_transform([X_test[i] for i in wrong])
    for i, text in zip(wrong, texts, strict=True):
        print()
        print(f"review {i}: true {CLASS_NAMES[y_test[i]]}, P(pos) = {proba[i, 1]:.4f}")
        print(_shorten(text, args.width))
    return 0


def _experiment_settings(args):
    defaults = QUICK if args.quick else EXPERIMENT_DEFAULTS
    return {
        key: default if getattr(args, key) is None else getattr(args, key)
        for key, default in defaults.items()
    }


def _search_backend(args):
    """Where the search's fits run: (context manager, n_jobs for GridSearchCV)."""
    if not (args.scheduler or args.dask):
        return contextlib.nullcontext(), args.n_jobs
    from skimdb import parallel

    parallel._require_distributed()  # fail before loading the data

    @contextlib.contextmanager
    def on_dask():
        _say(f"Connecting to Dask ({args.scheduler or 'a new local cluster'}) ...")
        with parallel.dask_backend(args.scheduler) as client:
            nthreads = client.nthreads()
            _say(
                f"Dask scheduler {client.scheduler.address}: {len(nthreads)} workers, "
                f"{sum(nthreads.values())} threads"
            )
            yield

    return on_dask(), -1  # the dask backend runs on every worker thread


def cmd_experiments(args):
    """The notebook's further experiments as one cross-validated grid search."""
    from sklearn.model_selection import GridSearchCV, ParameterGrid

    from skimdb import IMDBNet, MultiHotVectorizer

    settings = _experiment_settings(args)
    backend, n_jobs = _search_backend(args)
    (X_train, y_train), _ = _load_imdb(
        args, args.num_words, n_train=settings["n_train"]
    )
    # The grid varies the network alone, and at a fixed num_words the vectorizer
    # learns nothing from the reviews: encode them once, not again in every fit.
    X_train = MultiHotVectorizer(num_words=args.num_words).fit_transform(X_train)
    grid = {key: settings[key] for key in EXPERIMENT_GRID}
    net = IMDBNet(
        epochs=settings["epochs"],
        batch_size=args.batch_size,
        random_state=args.random_state,
    )
    search = GridSearchCV(
        net,
        grid,
        cv=settings["cv"],
        scoring=args.scoring,
        n_jobs=n_jobs,
        refit=False,
        verbose=args.verbose,
        error_score="raise",  # a bad grid value: IMDBNet's message, not NaN rows
    )
    n_candidates = len(ParameterGrid(grid))
    _say(
        f"Searching {n_candidates} candidates x {settings['cv']} folds on "
        f"{len(y_train)} reviews, {settings['epochs']} epochs each ..."
    )
    with backend:
        search.fit(X_train, y_train)

    results = search.cv_results_
    columns = [*EXPERIMENT_GRID, "mean_score", "std_score", "fit_time_s"]
    rows = []
    for i in sorted(
        range(len(results["params"])), key=results["rank_test_score"].__getitem__
    ):
        params = results["params"][i]
        rows.append(
            {
                "rank": int(results["rank_test_score"][i]),
                **{key: params[key] for key in EXPERIMENT_GRID},
                "mean_score": f"{results['mean_test_score'][i]:.4f}",
                "std_score": f"{results['std_test_score'][i]:.4f}",
                "fit_time_s": f"{results['mean_fit_time'][i]:.1f}",
            }
        )
    header = ["rank", *columns]
    widths = {
        key: max(len(key), *(len(str(row[key])) for row in rows)) for key in header
    }
    print(f"scoring: {args.scoring}, {settings['cv']}-fold cross-validation")
    print("  ".join(f"{key:>{widths[key]}}" for key in header))
    for row in rows:
        print("  ".join(f"{row[key]!s:>{widths[key]}}" for key in header))

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    saved = [output / "experiments.csv"]
    with open(saved[0], "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    if _matplotlib_or_none():
        from skimdb.plotting import SearchResultsDisplay

        display = SearchResultsDisplay.from_estimator(search)
        display.ax_.set_xlabel(f"Mean cross-validated {args.scoring}")
        saved.append(_save_figure(display, output / "experiments.png"))
    print("saved: " + ", ".join(str(path) for path in saved))
    return 0


# -- the parser ---------------------------------------------------------------------


def _data_options():
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data-home",
        metavar="DIR",
        help="folder holding the IMDB data (default: $SKIMDB_DATA, else ~/skimdb_data)",
    )
    group.add_argument(
        "--no-download",
        action="store_true",
        help="fail rather than download missing data files",
    )
    return parser


def build_parser():
    """The argument parser of the ``skimdb`` command."""
    parser = argparse.ArgumentParser(
        prog="skimdb",
        description="Classify IMDB movie reviews with a Keras dense network.",
        epilog="Run 'skimdb COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"skimdb {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data = _data_options()
    formatter = argparse.ArgumentDefaultsHelpFormatter

    # train
    train = commands.add_parser(
        "train",
        parents=[data],
        formatter_class=formatter,
        help="fit the network on IMDB, save it and its plots",
        description="Fit MultiHotVectorizer + IMDBNet on the training reviews, print "
        "the test loss and accuracy, and save to OUTPUT the fitted pipeline "
        f"({MODEL_FILE}, which also takes raw text), the per-epoch history "
        "(history.csv, history.png) and the violins of the test probabilities "
        "(probabilities.png).",
    )
    train.add_argument("-o", "--output", default="skimdb_model", help="output folder")
    train.add_argument(
        "--preset",
        choices=list(PRESETS),
        default="notebook",
        help="'notebook': the book's network, shaped by the options below; 'best': "
        "n-grams up to 3, Naive-Bayes weighting and a logistic layer (about 0.92 "
        "test accuracy; of the options below only --validation-split, "
        "--random-state and --verbose apply)",
    )
    net = train.add_argument_group(
        "the network (MultiHotVectorizer's num_words, IMDBNet's hyperparameters)",
        "Options not given keep the notebook preset's values: "
        f"{PRESETS['notebook']['description']}",
        argument_default=argparse.SUPPRESS,  # given ones only: see NOTEBOOK_OPTIONS
    )

    def default(name, what=""):
        return f"{what}{'; ' if what else ''}default: {NOTEBOOK_OPTIONS[name][1]}"

    net.add_argument(
        "--num-words", type=_positive_int, help=default("num_words", "vocabulary size")
    )
    net.add_argument("--units", type=_positive_int, help=default("units"))
    net.add_argument(
        "--hidden-layers", type=_non_negative_int, help=default("hidden_layers")
    )
    net.add_argument("--activation", help=default("activation"))
    net.add_argument(
        "--loss", choices=["binary_crossentropy", "mse"], help=default("loss")
    )
    net.add_argument("--optimizer", help=default("optimizer"))
    net.add_argument("--learning-rate", type=float, help="default: the optimizer's")
    net.add_argument("--epochs", type=_positive_int, help=default("epochs"))
    net.add_argument("--batch-size", type=_positive_int, help=default("batch_size"))
    net.add_argument(
        "--validation-split",
        type=_fraction,
        default=None,
        help="fraction of the training reviews held out to draw validation curves; "
        "0 trains on all of them (default: 0.2 with the notebook preset, 0 with best)",
    )
    net.add_argument("--dropout", type=float, help=default("dropout", "dropout rate"))
    net.add_argument("--l2", type=float, help=default("l2", "L2 weight penalty"))
    net.add_argument(
        "--early-stopping",
        action="store_true",
        help="stop when the validation loss stops improving (needs a validation "
        "split) and keep the best weights",
    )
    net.add_argument(
        "--n-iter-no-change", type=_positive_int, help=default("n_iter_no_change")
    )
    net.add_argument(
        "--no-shuffle", dest="shuffle", action="store_false", help="do not shuffle"
    )
    net.add_argument(
        "--class-weight", choices=["balanced"], help=default("class_weight")
    )
    net.add_argument("--random-state", type=int, default=0)
    net.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=2,
        help="Keras' progress output: 0 none, 1 bar, 2 a line per epoch",
    )
    small = train.add_argument_group("a quicker run")
    small.add_argument(
        "--n-train", type=_positive_int, help="use only the first N training reviews"
    )
    small.add_argument(
        "--n-test", type=_positive_int, help="use only the first N test reviews"
    )
    train.add_argument("--no-plots", action="store_true", help="save no PNG plots")
    train.set_defaults(func=cmd_train)

    # evaluate
    evaluate = commands.add_parser(
        "evaluate",
        parents=[data],
        formatter_class=formatter,
        help="loss, accuracy, ROC AUC and confusion matrix on the test set",
        description="Score a saved model on the IMDB test reviews.",
    )
    evaluate.add_argument("model", help=f"a saved model, or the folder of {MODEL_FILE}")
    evaluate.add_argument(
        "--n-test", type=_positive_int, help="use only the first N test reviews"
    )
    evaluate.set_defaults(func=cmd_evaluate)

    # predict
    predict = commands.add_parser(
        "predict",
        formatter_class=formatter,
        help="label raw review text",
        description="Print the label and probability of being positive of each "
        "review, given as arguments, in a file or on standard input (one review "
        "per line; blank lines are skipped).",
    )
    predict.add_argument("model", help=f"a saved model, or the folder of {MODEL_FILE}")
    predict.add_argument("text", nargs="*", help="reviews, one per argument")
    predict.add_argument(
        "-f", "--file", metavar="PATH", help="read reviews from PATH ('-': stdin)"
    )
    predict.add_argument(
        "--width",
        type=_non_negative_int,
        default=60,
        help="characters of each review shown (0: all)",
    )
    predict.set_defaults(func=cmd_predict)

    # mistakes
    mistakes = commands.add_parser(
        "mistakes",
        parents=[data],
        formatter_class=formatter,
        help="the misclassified test reviews, decoded to words",
        description="Print the reviews among the first N of the test set that a saved "
        "model gets wrong, decoded back to words ('?' marks the start, and "
        "rare or unknown words), with the true label and P(pos).",
    )
    mistakes.add_argument("model", help=f"a saved model, or the folder of {MODEL_FILE}")
    mistakes.add_argument(
        "--n", type=_positive_int, default=100, help="test reviews to look at"
    )
    mistakes.add_argument(
        "--width",
        type=_non_negative_int,
        default=300,
        help="characters of each review shown (0: all)",
    )
    mistakes.set_defaults(func=cmd_mistakes)

    # experiments
    experiments = commands.add_parser(
        "experiments",
        parents=[data],
        formatter_class=formatter,
        help="the notebook's further experiments as a grid search",
        description="Cross-validate every combination of hidden layers, units, loss "
        "and activation (the notebook's further experiments) on the training "
        "reviews; print the table sorted by score and save it to OUTPUT as "
        "experiments.csv and experiments.png. The full grid is 36 candidates: "
        "--quick, or the options below, shrink it.",
    )
    experiments.add_argument(
        "-o", "--output", default="skimdb_experiments", help="output folder"
    )
    grid = experiments.add_argument_group(
        "the grid (default: the notebook's; --quick: a small one)"
    )
    grid.add_argument("--hidden-layers", type=_non_negative_int, nargs="+", metavar="N")
    grid.add_argument("--units", type=_positive_int, nargs="+", metavar="N")
    grid.add_argument(
        "--loss", nargs="+", choices=["binary_crossentropy", "mse"], metavar="LOSS"
    )
    grid.add_argument("--activation", nargs="+", metavar="NAME")
    run = experiments.add_argument_group("the search")
    run.add_argument(
        "--quick",
        action="store_true",
        help="defaults for a run of a minute or two: "
        + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in QUICK.items()),
    )
    run.add_argument(
        "--cv", type=_positive_int, help=f"folds (default {EXPERIMENT_DEFAULTS['cv']})"
    )
    run.add_argument(
        "--epochs",
        type=_positive_int,
        help=f"epochs per fit (default {EXPERIMENT_DEFAULTS['epochs']})",
    )
    run.add_argument(
        "--n-train",
        type=_positive_int,
        help="use only the first N training reviews (default: all 25,000)",
    )
    run.add_argument("--num-words", type=_positive_int, default=10000)
    run.add_argument("--batch-size", type=_positive_int, default=512)
    run.add_argument("--scoring", default="accuracy", help="a scikit-learn scorer")
    run.add_argument(
        "--n-jobs", type=int, default=1, help="fits run in parallel (-1: all cores)"
    )
    run.add_argument("--random-state", type=int, default=0)
    run.add_argument("--verbose", type=int, default=1, help="GridSearchCV's verbosity")
    dask = experiments.add_argument_group(
        'on a Dask cluster (needs pip install "skimdb[dask]"; --n-jobs is then '
        "every worker thread)"
    ).add_mutually_exclusive_group()
    dask.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the fits on the Dask cluster of this scheduler, such as "
        "tcp://10.0.0.5:8786 (start its workers with one thread each and "
        "TF_NUM_INTRAOP_THREADS set: see the docs)",
    )
    dask.add_argument(
        "--dask",
        action="store_true",
        help="run the fits on a local Dask cluster (LocalCluster): one worker "
        "process per core, TensorFlow capped to one thread in each",
    )
    experiments.set_defaults(func=cmd_experiments)
    return parser


def main(argv=None):
    """Run the ``skimdb`` command line; return the exit status.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 for a user error, 2 for a bad command line.

    Examples
    --------
    >>> from skimdb.cli import main
    >>> main(["--version"])
    Traceback (most recent call last):
    SystemExit: 0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _say("skimdb: interrupted")
        return 130
    except (UserError, OSError, ValueError, TypeError, ImportError) as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        _say(f"skimdb {args.command}: error: {message}")
        return 1
