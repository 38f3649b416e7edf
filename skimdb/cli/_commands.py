"""The commands: each composes skimdb's public API, then hands its results to
:mod:`skimdb.cli._reports`."""

import contextlib
import os

import numpy as np

from skimdb import PRESETS
from skimdb.cli import _reports as reports
from skimdb.cli._files import (
    UserError,
    check_data_home,
    check_output,
    load_model,
    read_reviews,
    save_model,
)
from skimdb.cli._options import (
    EXPERIMENT_DEFAULTS,
    EXPERIMENT_GRID,
    QUICK,
    network_options,
)
from skimdb.cli._quiet import import_tensorflow
from skimdb.cli._reports import say


def _load_imdb(args, num_words, *, n_train=None, n_test=None):
    """The IMDB splits, shortened to their first ``n_train``/``n_test`` reviews."""
    from skimdb.datasets import load_data

    say(f"Loading the IMDB reviews (num_words={num_words}) ...")
    (X_train, y_train), (X_test, y_test) = load_data(
        num_words=num_words,
        data_home=args.data_home,
        download_if_missing=not args.no_download,
    )
    return (X_train[:n_train], y_train[:n_train]), (X_test[:n_test], y_test[:n_test])


def _find_step(model, cls):
    steps = getattr(model, "steps", [("model", model)])
    return next((step for _, step in steps if isinstance(step, cls)), None)


def _model_num_words(model):
    from skimdb import MultiHotVectorizer

    vec = _find_step(model, MultiHotVectorizer)
    return None if vec is None else vec.num_words_


def _predict(model, X):
    """Each review's class probabilities, and its predicted column (0: neg, 1: pos,
    the IMDB labels): argmax, as the model's ``predict``, so a tie at 0.5 is neg.
    Probabilities that are not finite (a diverged training) are refused."""
    proba = model.predict_proba(X)
    bad = np.count_nonzero(~np.isfinite(proba).all(axis=1))
    if bad:
        raise UserError(
            f"the model gives NaN or infinite probabilities for {bad} of {len(proba)} "
            "reviews: its training diverged; train it again with a lower "
            "--learning-rate"
        )
    return proba, proba.argmax(axis=1)


# -- train -----------------------------------------------------------------------------


def train(args):
    """Fit the default pipeline, report its test scores, save it and its plots."""
    options = network_options()
    given = {name: getattr(args, name) for name in options if name in args}
    if args.preset != "notebook" and given:
        flags = ", ".join(options[name].flags[0] for name in given)
        raise UserError(
            f"--preset {args.preset} keeps its own vectorizer and network, so it "
            f"takes no {flags}: drop {'it' if len(given) == 1 else 'them'}, or "
            "use --preset notebook"
        )
    output = check_output(args.output, model=True, overwrite=args.overwrite)
    check_data_home(args)
    if args.validation_split is None:
        args.validation_split = 0.2 if args.preset == "notebook" else 0.0
    num_words = given.pop("num_words", PRESETS[args.preset]["num_words"])
    (X_train, y_train), (X_test, y_test) = _load_imdb(
        args, num_words, n_train=args.n_train, n_test=args.n_test
    )
    from skimdb.datasets import get_word_index

    # fetched here to honour --no-download; the encoder then reads it from the data
    # home and keeps only its word_index_ (a word_index= copy would be saved twice)
    get_word_index(data_home=args.data_home, download_if_missing=not args.no_download)
    import_tensorflow()
    from skimdb import ReviewEncoder, make_pipeline

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
    say(
        f"Training on {len(y_train)} reviews ({args.validation_split:g} held out for "
        f"validation), {model[-1].epochs} epochs ..."
    )
    model.fit(X_train, y_train)
    # the saved model refits (or cross-validates) quietly
    model.set_params(clf__verbose=0)
    proba, y_pred = _predict(model, X_test)
    reports.print_training(model, len(y_train), len(y_test), y_test, proba, y_pred)
    save_model(model, output, overwrite=args.overwrite)
    saved = [f"the model in {output}{os.sep}"]
    saved.append(reports.write_history(model[-1].history_, output / "history.csv"))
    if not args.no_plots:
        saved += reports.save_training_plots(model, y_test, proba, output)
    reports.print_saved(saved)
    return 0


# -- evaluate, predict, mistakes -------------------------------------------------------


def evaluate(args):
    """Loss, accuracy, ROC AUC and confusion matrix of a saved model on the test set."""
    check_data_home(args)
    model = load_model(args.model, allow_pickle=args.allow_pickle)
    _, (X_test, y_test) = _load_imdb(args, _model_num_words(model), n_test=args.n_test)
    say(f"Predicting {len(y_test)} test reviews ...")
    proba, y_pred = _predict(model, X_test)
    reports.print_evaluation(model, y_test, proba, y_pred)
    return 0


def predict(args):
    """Label raw review text with a saved model."""
    reviews = read_reviews(args.text, args.file)
    model = load_model(args.model, allow_pickle=args.allow_pickle)
    proba, columns = _predict(model, reviews)
    reports.print_predictions(reviews, proba, columns, args.width)
    return 0


def mistakes(args):
    """The misclassified reviews among the first N of the test set, as words."""
    check_data_home(args)
    model = load_model(args.model, allow_pickle=args.allow_pickle)
    _, (X_test, y_test) = _load_imdb(args, _model_num_words(model), n_test=args.n)
    from skimdb import ReviewEncoder
    from skimdb.datasets import get_word_index

    encoder = _find_step(model, ReviewEncoder)
    if encoder is None:  # a model fitted on ids alone: decode with the word index
        word_index = get_word_index(
            data_home=args.data_home, download_if_missing=not args.no_download
        )
        encoder = ReviewEncoder(word_index=word_index).fit()
    proba, columns = _predict(model, X_test)
    wrong = np.flatnonzero(columns != y_test)
    texts = encoder.inverse_transform([X_test[i] for i in wrong])
    reports.print_mistakes(wrong, texts, y_test, proba, args.width)
    return 0


# -- experiments -----------------------------------------------------------------------


def experiment_settings(args):
    """The search's settings: the options given, else ``--quick``'s or the full ones."""
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
        say(f"Connecting to Dask ({args.scheduler or 'a new local cluster'}) ...")
        with parallel.dask_backend(args.scheduler) as client:
            nthreads = client.nthreads()
            say(
                f"Dask scheduler {client.scheduler.address}: {len(nthreads)} workers, "
                f"{sum(nthreads.values())} threads"
            )
            yield

    return on_dask(), -1  # the dask backend runs on every worker thread


def experiments(args):
    """The notebook's further experiments as one cross-validated grid search."""
    settings = experiment_settings(args)
    output = check_output(args.output, model=False)
    check_data_home(args)
    backend, n_jobs = _search_backend(args)
    (X_train, y_train), _ = _load_imdb(
        args, args.num_words, n_train=settings["n_train"]
    )
    import_tensorflow()
    from sklearn.model_selection import GridSearchCV, ParameterGrid

    from skimdb import IMDBNet, MultiHotVectorizer

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
    say(
        f"Searching {len(ParameterGrid(grid))} candidates x {settings['cv']} folds on "
        f"{len(y_train)} reviews, {settings['epochs']} epochs each ..."
    )
    with backend:
        search.fit(X_train, y_train)

    rows = reports.search_rows(search.cv_results_, EXPERIMENT_GRID)
    print(f"scoring: {args.scoring}, {settings['cv']}-fold cross-validation")
    reports.print_table(rows)
    output.mkdir(parents=True, exist_ok=True)
    saved = [reports.write_rows(rows, output / "experiments.csv")]
    plot = reports.save_search_plot(search, args.scoring, output / "experiments.png")
    reports.print_saved(saved + ([plot] if plot else []))
    return 0


#: Each command's function, by name.
HANDLERS = {
    "train": train,
    "evaluate": evaluate,
    "predict": predict,
    "mistakes": mistakes,
    "experiments": experiments,
}
