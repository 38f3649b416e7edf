"""The commands: each composes skimdb's public API, then hands its results to
:mod:`skimdb.cli._reports`."""

import contextlib
import os

import numpy as np

from skimdb import PRESETS
from skimdb.cli import _reports as reports
from skimdb.cli._files import (
    TEST_SPLIT_FILE,
    UserError,
    check_data_home,
    check_output,
    check_split_options,
    expand,
    load_model,
    read_csv,
    read_reviews,
    read_training,
    save_model,
    write_csv,
)
from skimdb.cli._options import (
    CLASS_NAMES,
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
    _check_finite(proba)
    return proba, proba.argmax(axis=1)


def _check_finite(proba):
    bad = np.count_nonzero(~np.isfinite(proba).all(axis=1))
    if bad:
        raise UserError(
            f"the model gives NaN or infinite probabilities for {bad} of {len(proba)} "
            "reviews: its training diverged; train it again with a lower "
            "--learning-rate"
        )


# -- train -----------------------------------------------------------------------------


def _learned_vocabulary(model):
    """Whether ``model``'s ReviewEncoder learned its words from training texts
    (so IMDB's word ids mean other words to it)."""
    from skimdb import ReviewEncoder

    encoder = _find_step(model, ReviewEncoder)
    return encoder is not None and encoder.word_index is None


def _pipeline(args, given, num_words, encoder):
    """The preset's pipeline behind ``encoder``, with the options given."""
    import_tensorflow()
    from skimdb import make_pipeline

    model = make_pipeline(args.preset, random_state=args.random_state)
    model.steps.insert(0, ("text", encoder))
    model.set_params(
        vec__num_words=num_words,
        clf__validation_split=args.validation_split,
        clf__verbose=args.verbose,
        **{f"clf__{name}": value for name, value in given.items()},
    )
    return model


def _announce(model, y_train, args):
    say(
        f"Training on {len(y_train)} reviews ({args.validation_split:g} held out for "
        f"validation), {model[-1].epochs} epochs ..."
    )


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
    streams = (args.chunk_size, args.parquet, args.scheduler)
    if args.dask or any(value is not None for value in streams):  # out of core
        from skimdb.cli._stream import train_stream

        return train_stream(args, given, _pipeline)
    if args.csv is not None:
        return _train_csv(args, given)
    output = check_output(args.output, model=True, overwrite=args.overwrite)
    check_data_home(args)
    if args.validation_split is None:
        args.validation_split = PRESETS[args.preset]["validation_split"]
    num_words = given.pop("num_words", PRESETS[args.preset]["num_words"])
    (X_train, y_train), (X_test, y_test) = _load_imdb(
        args, num_words, n_train=args.n_train, n_test=args.n_test
    )
    from skimdb.datasets import get_word_index

    # fetched here to honour --no-download; the encoder then reads it from the data
    # home and keeps only its word_index_ (a word_index= copy would be saved twice)
    get_word_index(data_home=args.data_home, download_if_missing=not args.no_download)
    from skimdb import ReviewEncoder

    encoder = ReviewEncoder(
        num_words=num_words, word_index="imdb", data_home=args.data_home
    )
    model = _pipeline(args, given, num_words, encoder)
    _announce(model, y_train, args)
    model.fit(X_train, y_train)
    # the saved model refits (or cross-validates) quietly
    model.set_params(clf__verbose=0)
    proba, y_pred = _predict(model, X_test)
    reports.print_training(model, len(y_train), len(y_test), y_test, proba, y_pred)

    def beside(folder):  # in the new folder, swapped in with the model
        saved = [reports.write_history(model[-1].history_, folder / "history.csv")]
        if not args.no_plots:
            saved += reports.save_training_plots(model, y_test, proba, folder)
        return saved

    saved = save_model(model, output, overwrite=args.overwrite, beside=beside)
    reports.print_saved([f"the model in {output}{os.sep}", *saved])
    return 0


def _train_csv(args, given):
    """``skimdb train --csv``: a learned vocabulary, a stratified held-out split."""
    check_split_options(args)
    output = check_output(args.output, model=True, overwrite=args.overwrite)
    texts, labels = read_csv(args.csv, args.text_column, args.label_column)
    path = expand(args.csv, "--csv").resolve()
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise UserError(
            f"--csv {path}: the column {args.label_column!r} holds one class only "
            f"({classes[0]!r}); training needs at least two"
        )
    from sklearn.model_selection import train_test_split

    try:
        X_train, X_test, y_train, y_test = train_test_split(
            texts,
            labels,
            test_size=args.test_size,
            stratify=labels,
            random_state=args.random_state,
        )
    except ValueError as exc:
        raise UserError(
            f"--csv {path}: cannot hold out a stratified test split of "
            f"--test-size {args.test_size:g} from {len(labels)} rows of "
            f"{len(classes)} classes: {exc}"
        ) from None
    if args.validation_split is None:
        args.validation_split = PRESETS[args.preset]["validation_split"]
    num_words = given.pop("num_words", PRESETS[args.preset]["num_words"])
    from skimdb import ReviewEncoder

    say(f"Read {len(labels)} rows of {len(classes)} classes from {path}")
    model = _pipeline(args, given, num_words, ReviewEncoder(num_words=num_words))
    _announce(model, y_train, args)
    model.fit(X_train, y_train)
    model.set_params(clf__verbose=0)
    proba, columns = _predict(model, X_test)
    names = reports.class_names(model, csv=True)
    y_pred = [names[c] for c in columns]
    reports.print_csv_training(
        model, len(y_train), [str(v) for v in y_test], y_pred, names
    )
    info = {
        "csv": str(path),
        "text_column": args.text_column,
        "label_column": args.label_column,
        "test_size": args.test_size,
        "random_state": args.random_state,
        "n_rows": len(labels),
        "classes": names,
    }

    reports.save_csv_model(
        model, output, args, info,
        lambda path: write_csv(path, X_test, y_test, args.text_column,
                               args.label_column),
    )  # fmt: skip
    return 0


# -- evaluate, predict, mistakes -------------------------------------------------------


def _load(args):
    """The model MODEL names, and what ``skimdb train --csv`` saved beside it."""
    model = load_model(args.model, allow_pickle=args.allow_pickle)
    folder = expand(args.model, "MODEL")
    return model, read_training(folder) if folder.is_dir() else None


def _csv_reviews(args, info, *, labels):
    """The texts (and labels) of ``--csv``, or of the test split saved beside a model
    trained with ``--csv``: (texts, labels, where they come from)."""
    info = info or {}
    text_column = args.text_column or info.get("text_column", "text")
    label_column = None
    if labels:
        label_column = args.label_column or info.get("label_column", "label")
    if args.csv is not None:
        path, what = args.csv, "--csv"
    else:
        path = expand(args.model, "MODEL") / TEST_SPLIT_FILE
        what = "the saved test split"
        if not path.is_file():
            raise UserError(
                f"{path} is missing: the model's test split was not saved with "
                "it; give the reviews with --csv PATH"
            )
    texts, y = read_csv(path, text_column, label_column, what=what)
    return texts, y, f"{what} {path}"


def _imdb_only(model, command):
    """Refuse IMDB's word ids for a model whose vocabulary was learned elsewhere."""
    if _learned_vocabulary(model):
        raise UserError(
            f"the model's vocabulary was learned from its own training texts, so "
            f"IMDB's word ids mean other words to it: give {command} the reviews "
            "with --csv PATH"
        )


def evaluate(args):
    """Loss, accuracy, ROC AUC and confusion matrix of a saved model on the test set."""
    model, info = _load(args)
    if args.csv is not None or info is not None:
        texts, y, source = _csv_reviews(args, info, labels=True)
        names = reports.class_names(model, csv=info is not None)
        y_true = reports.true_names(y, names, source)
        say(f"Predicting {len(texts)} reviews of {source} ...")
        proba, columns = _predict(model, texts)
        reports.print_csv_evaluation(source, y_true, proba, columns, names)
        return 0
    _imdb_only(model, "evaluate")
    check_data_home(args)
    _, (X_test, y_test) = _load_imdb(args, _model_num_words(model), n_test=args.n_test)
    say(f"Predicting {len(y_test)} test reviews ...")
    proba, y_pred = _predict(model, X_test)
    reports.print_evaluation(model, y_test, proba, y_pred)
    return 0


def predict(args):
    """Label raw review text with a saved model, a batch of reviews at a time."""
    batches = read_reviews(args.text, args.file)
    model, info = _load(args)
    names = reports.class_names(model, csv=info is not None)
    reports.print_predictions_header(names)
    for reviews in batches:
        proba, columns = _predict(model, reviews)
        reports.print_predictions(reviews, proba, columns, args.width, names)
    return 0


def feature_names(model):
    """The name of each column of the model's MultiHotVectorizer (``"w1 w2"``
    for an n-gram), as ``get_feature_names_out`` of the pipeline up to it gives
    them from its ReviewEncoder's word index; None without both steps."""
    from skimdb import MultiHotVectorizer, ReviewEncoder

    steps = [step for _, step in getattr(model, "steps", [])]
    vec = next(
        (i for i, step in enumerate(steps) if isinstance(step, MultiHotVectorizer)),
        None,
    )
    if vec is None or not any(isinstance(s, ReviewEncoder) for s in steps[:vec]):
        return None
    return model[: vec + 1].get_feature_names_out()


def explain(args):
    """Each review's prediction and the words that moved it most."""
    batches = read_reviews(args.text, args.file)
    model, info = _load(args)
    from skimdb.inspection import explain_predictions

    names = reports.class_names(model, csv=info is not None)
    classes = list(reports.final_step(model).classes_)
    words = feature_names(model)
    if args.format == "tsv":
        reports.print_explanations_header()
    start = 1
    for reviews in batches:
        explanations = explain_predictions(model, reviews, feature_names=words)
        _check_finite(np.array([e.probas for e in explanations]))
        labels = [names[classes.index(e.label)] for e in explanations]
        reports.print_explanations(
            reviews, explanations, labels, args.n, args.width, args.format,
            start=start,
        )  # fmt: skip
        start += len(reviews)
    return 0


def top_words(args):
    """The words with the strongest effect on each class over many reviews."""
    model, info = _load(args)
    if args.csv is not None or info is not None:
        reviews, _, source = _csv_reviews(args, info, labels=False)
        reviews = reviews[: args.n_reviews]
    else:
        _imdb_only(model, "top-words")
        check_data_home(args)
        _, (reviews, _) = _load_imdb(
            args, _model_num_words(model), n_test=args.n_reviews
        )
        source = "the IMDB test set"
    from skimdb.inspection import top_words as top_words_of

    # a word in a handful of reviews has a mean resting on too few to mean much
    min_count = args.min_count or max(5, len(reviews) // 100)
    say(f"Measuring each word's effect on {len(reviews)} reviews of {source} ...")
    names = reports.class_names(model, csv=info is not None)
    tops = top_words_of(
        model,
        reviews,
        n=args.n,
        min_count=min_count,
        feature_names=feature_names(model),
    )
    reports.print_top_words(tops, names, len(reviews), source, min_count)
    return 0


def mistakes(args):
    """The misclassified reviews among the first N of the test set, as words; for
    a model trained with ``--csv`` (or given ``--csv``), among those of its file."""
    model, info = _load(args)
    if args.csv is not None or info is not None:
        texts, y, source = _csv_reviews(args, info, labels=True)
        names = reports.class_names(model, csv=info is not None)
        texts, y = texts[: args.n], y[: args.n]
        y_true = reports.true_names(y, names, source)
        say(f"Predicting {len(texts)} reviews of {source} ...")
        proba, columns = _predict(model, texts)
        wrong = [i for i, c in enumerate(columns) if names[c] != y_true[i]]
        reports.print_mistakes(
            wrong, [texts[i] for i in wrong], y_true, proba, args.width,
            source=source, names=names, columns=columns,
        )  # fmt: skip
        return 0
    _imdb_only(model, "mistakes")
    classes = [str(c) for c in reports.final_step(model).classes_]
    if classes != ["0", "1"]:
        raise UserError(
            f"the model's classes are {', '.join(map(repr, classes[:5]))}, not "
            "IMDB's 0 (neg) and 1 (pos): give mistakes reviews of its own classes "
            "with --csv PATH"
        )
    check_data_home(args)
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
    y_true = [CLASS_NAMES[v] for v in y_test]
    reports.print_mistakes(wrong, texts, y_true, proba, args.width)
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
    print(f"scoring: {reports.printable(args.scoring)}, {settings['cv']}-fold "
          "cross-validation")  # fmt: skip
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
    "explain": explain,
    "top-words": top_words,
    "mistakes": mistakes,
    "experiments": experiments,
}
