"""What the commands print and draw: tables, CSV files and plots."""

import csv
import os
import sys

from skimdb.cli._options import CLASS_NAMES


def _escapes():
    """What :func:`printable` writes for each character a terminal acts on: the
    C0 and C1 controls and DEL (ESC starts the sequences that move the cursor,
    recolour, retitle or reset a terminal; BEL rings it; CR overwrites a line),
    the bidirectional overrides and isolates (they reorder what is shown), and
    the line and paragraph separators."""
    named = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
    codes = [*range(0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F,
             *range(0x2028, 0x202F), *range(0x2066, 0x206A)]  # fmt: skip
    return {
        code: named.get(chr(code))
        or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        for code in codes
    }


_ESCAPES = _escapes()
_TSV_ESCAPES = {**_ESCAPES, ord("\\"): "\\\\"}


def printable(text, *, tsv=False):
    """``text`` safe to print on a terminal: each control character (ESC, BEL,
    CR, tab, newline, C1, bidirectional overrides) as a Python-style escape
    (``\\x1b``, ``\\t``, ``\\u202e``). With ``tsv``, a backslash is doubled
    too, so that a field reads back exactly by undoing the escapes.

    Every string from outside skimdb (a review, a word of a learned
    vocabulary, a label, a path) goes through it before it is printed.

    Examples
    --------
    >>> print(printable("bad\\x1b[2Jword\\a"))
    bad\\x1b[2Jword\\x07
    >>> print(printable("a\\tb\\\\c", tsv=True))
    a\\tb\\\\c
    """
    return str(text).translate(_TSV_ESCAPES if tsv else _ESCAPES)


def _printable_all(values):
    return [printable(value) for value in values]


def say(message):
    """A progress line, on standard error (control characters escaped)."""
    print(printable(message), file=sys.stderr, flush=True)


def shorten(text, width):
    """``text`` on one line (any whitespace run becomes a space), cut to ``width``,
    with its control characters escaped (:func:`printable`)."""
    text = " ".join(text.split())
    if width and len(text) > width:
        text = text[: max(width - 3, 0)] + "..."
    return printable(text)


def final_step(model):
    """The last step of a pipeline, or the model itself."""
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def network_loss(model, y, proba):
    """The network's training loss (its ``loss`` parameter) on labels ``y``:
    (name, value). A model without one is scored with cross-entropy, the loss
    of its probabilities.

    Computed by the network's NumPy core as Keras evaluates it (probabilities
    clipped to Keras' epsilon, 1e-7): a model loaded for prediction needs no
    TensorFlow.
    """
    from skimdb.network._core import mean_loss

    net = final_step(model)
    name = getattr(net, "loss", None)
    if not isinstance(name, str):
        name = "binary_crossentropy"
    return name, mean_loss(name, y, proba, net.classes_)


# -- train -----------------------------------------------------------------------------


def print_training(model, n_train, n_test, y_test, proba, y_pred):
    """The training summary and the test scores of ``skimdb train``."""
    from sklearn.metrics import accuracy_score

    net = final_step(model)
    print(
        f"training reviews: {n_train} (validation_split={net.validation_split:g}); "
        f"test reviews: {n_test}"
    )
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in net.history_:
            print(f"last epoch {key}: {net.history_[key][-1]:.4f}")
    loss_name, loss = network_loss(model, y_test, proba)
    print(f"test loss ({loss_name}): {loss:.4f}")
    print(f"test accuracy: {accuracy_score(y_test, y_pred):.4f}")


def write_history(history, path):
    """``history_`` as CSV: a row per epoch."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["epoch", *history])
        for epoch, row in enumerate(zip(*history.values(), strict=True), start=1):
            writer.writerow([epoch, *row])
    return path


def save_history_plot(model, folder):
    """history.png; none when matplotlib is missing."""
    if not _matplotlib_or_none():
        return []
    from skimdb.plotting import HistoryDisplay

    return [_save_figure(HistoryDisplay.from_estimator(model), folder / "history.png")]


def save_training_plots(model, y_test, proba, folder):
    """history.png and probabilities.png; none when matplotlib is missing."""
    if not _matplotlib_or_none():
        return []
    from skimdb.plotting import HistoryDisplay, ProbabilityViolinDisplay

    saved = [_save_figure(HistoryDisplay.from_estimator(model), folder / "history.png")]
    violins = ProbabilityViolinDisplay.from_predictions(
        y_test, proba[:, 1], class_names=CLASS_NAMES
    )
    violins.ax_.set_title("Predicted probabilities on the test reviews")
    saved.append(_save_figure(violins, folder / "probabilities.png"))
    return saved


def print_saved(paths):
    print("saved: " + ", ".join(printable(path) for path in paths))


# -- evaluate, predict, mistakes -------------------------------------------------------


def print_evaluation(model, y_test, proba, y_pred):
    """Loss, accuracy, ROC AUC and the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score

    loss_name, loss = network_loss(model, y_test, proba)
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


def class_names(model, *, csv=False):
    """How each class of ``model`` is printed, in ``classes_`` order: ``neg`` and
    ``pos`` for IMDB's 0 and 1 (unless the model was trained with ``--csv``),
    else the labels themselves."""
    classes = list(final_step(model).classes_)
    if not csv and [str(c) for c in classes] == ["0", "1"]:
        return list(CLASS_NAMES)
    return [str(c) for c in classes]


def true_names(y, names, source):
    """The labels ``y`` as :func:`class_names` prints them; a label the model does
    not know is an error naming those it does."""
    imdb = names == list(CLASS_NAMES)
    y = [CLASS_NAMES[int(v)] if imdb and str(v) in ("0", "1") else str(v) for v in y]
    unknown = sorted(set(y) - set(names))
    if unknown:
        from skimdb.cli._files import UserError

        raise UserError(
            f"{source} holds labels the model was not trained on: "
            f"{', '.join(map(repr, unknown[:5]))}; its classes are "
            f"{', '.join(map(repr, names))}"
        )
    return y


def print_predictions_header(names=CLASS_NAMES):
    imdb = list(names) == list(CLASS_NAMES)
    print(f"label\t{'P(pos)' if imdb else 'probability'}\treview")


def print_predictions(reviews, proba, columns, width, names=CLASS_NAMES):
    """A row per review: label, P(pos) (for another model: the probability of its
    label), the review on one line."""
    imdb = list(names) == list(CLASS_NAMES)
    names = [printable(name, tsv=True) for name in names]
    for text, p, column in zip(reviews, proba, columns, strict=True):
        shown = p[1] if imdb else p[column]
        print(f"{names[column]}\t{shown:.4f}\t{shorten(text, width)}")


def print_csv_training(model, n_train, y_test, y_pred, names):
    """The training summary and the test scores of ``skimdb train --csv``."""
    net = final_step(model)
    print(
        f"training rows: {n_train} (validation_split={net.validation_split:g}); "
        f"test rows: {len(y_test)}"
    )
    print(f"classes: {', '.join(_printable_all(names))}")
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in net.history_:
            print(f"last epoch {key}: {net.history_[key][-1]:.4f}")
    _print_scores(y_test, y_pred, names, prefix="test ")


def _print_scores(y_true, y_pred, names, prefix=""):
    from sklearn.metrics import accuracy_score, f1_score

    print(f"{prefix}accuracy: {accuracy_score(y_true, y_pred):.4f}")
    if len(names) > 2:
        macro = f1_score(y_true, y_pred, labels=names, average="macro", zero_division=0)
        print(f"{prefix}macro-F1: {macro:.4f}")


def print_csv_evaluation(source, y_true, proba, columns, names):
    """Accuracy, macro-F1 (more than two classes), log loss, confusion matrix."""
    from sklearn.metrics import confusion_matrix, log_loss

    y_pred = [names[c] for c in columns]
    print(f"reviews: {len(y_true)} ({printable(source)})")
    _print_scores(y_true, y_pred, names)
    index = {name: i for i, name in enumerate(names)}
    loss = log_loss([index[v] for v in y_true], proba, labels=range(len(names)))
    print(f"log loss: {loss:.4f}")
    matrix = confusion_matrix(y_true, y_pred, labels=names)
    names = _printable_all(names)
    width = max(8, *(len(name) + 2 for name in names))
    print("confusion matrix (rows: true class, columns: predicted class):")
    print(" " * width + "".join(f"{name:>{width}}" for name in names))
    for name, row in zip(names, matrix, strict=True):
        print(f"{name:>{width}}" + "".join(f"{v:>{width}}" for v in row))


def print_explanations_header():
    """The header row of ``skimdb explain --format tsv``."""
    print("review\tlabel\tprobability\tdirection\tword\teffect")


def print_explanations(reviews, explanations, labels, n, width, format, start=1):
    """``skimdb explain``: a block per review, or (``format="tsv"``) a row per word;
    the reviews are numbered from ``start``."""
    for i, (text, e, label) in enumerate(
        zip(reviews, explanations, labels, strict=True), start=start
    ):
        ways = (("toward", e.toward(n)), ("away", e.away(n)))
        if format == "tsv":
            for way, pairs in ways:
                for word, effect in pairs:
                    row = (i, label, f"{e.proba:.4f}", way, word, f"{effect:+.4f}")
                    print("\t".join(printable(v, tsv=True) for v in row))
            continue
        if i > 1:
            print()
        label = printable(label)
        print(f"review {i}: {label} (probability {e.proba:.4f})")
        print(f"  {shorten(text, width)}")
        for way, pairs in ways:
            title = f"toward {label}" if way == "toward" else f"away from {label}"
            print(f"  {title}:" + ("" if pairs else " none"))
            for word, effect in pairs:
                print(f"    {effect:+.4f}  {printable(word)}")


def print_top_words(tops, names, n_reviews, source, min_count):
    """``skimdb top-words``: for each class, its strongest words."""
    print(
        f"mean effect on each class's probability over {n_reviews} reviews of "
        f"{printable(source)} (words in at least {min_count} of them)"
    )
    for top, label in zip(tops, names, strict=True):  # both in classes_ order
        print()
        print(f"toward {printable(label)}:" + ("" if len(top.features) else " none"))
        for word, effect, count in zip(top.features, top.effects, top.counts,
                                       strict=True):  # fmt: skip
            print(f"  {effect:+.4f}  {printable(word)}  (in {count} reviews)")


def print_mistakes(wrong, texts, y_true, proba, width, *, source=None, names=None,
                   columns=None):  # fmt: skip
    """``skimdb mistakes``: a block per misclassified review. IMDB's (no
    ``names``): its true label and P(pos); another model's: its true and
    predicted labels and the predicted label's probability."""
    where = "test reviews" if source is None else f"reviews of {printable(source)}"
    print(
        f"{len(wrong)} mistakes among the first {len(y_true)} {where} "
        f"(accuracy {1 - len(wrong) / len(y_true):.4f})"
    )
    for i, text in zip(wrong, texts, strict=True):
        print()
        if names is None:
            print(f"review {i}: true {y_true[i]}, P(pos) = {proba[i, 1]:.4f}")
        else:
            c = columns[i]
            print(
                f"review {i}: true {printable(y_true[i])}, predicted "
                f"{printable(names[c])} (probability {proba[i, c]:.4f})"
            )
        print(shorten(text, width))


# -- experiments -----------------------------------------------------------------------


def search_rows(results, grid_keys):
    """``cv_results_`` as table rows, best first."""
    rows = []
    for i in sorted(
        range(len(results["params"])), key=results["rank_test_score"].__getitem__
    ):
        params = results["params"][i]
        rows.append(
            {
                "rank": int(results["rank_test_score"][i]),
                **{key: params[key] for key in grid_keys},
                "mean_score": f"{results['mean_test_score'][i]:.4f}",
                "std_score": f"{results['std_test_score'][i]:.4f}",
                "fit_time_s": f"{results['mean_fit_time'][i]:.1f}",
            }
        )
    return rows


def print_table(rows):
    """``rows`` (dicts with the same keys) as right-aligned columns."""
    header = list(rows[0])
    widths = {
        key: max(len(key), *(len(str(row[key])) for row in rows)) for key in header
    }
    print("  ".join(f"{key:>{widths[key]}}" for key in header))
    for row in rows:
        print("  ".join(printable(f"{row[key]!s:>{widths[key]}}") for key in header))


def write_rows(rows, path):
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def save_search_plot(search, scoring, path):
    """experiments.png; None when matplotlib is missing."""
    if not _matplotlib_or_none():
        return None
    from skimdb.plotting import SearchResultsDisplay

    display = SearchResultsDisplay.from_estimator(search)
    display.ax_.set_xlabel(f"Mean cross-validated {scoring}")
    return _save_figure(display, path)


# -- plots -----------------------------------------------------------------------------


def _save_figure(display, path):
    display.figure_.savefig(path, dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(display.figure_)
    return path


def _matplotlib_or_none():
    try:
        import matplotlib
    except ImportError:
        say(
            "skimdb: plots skipped: matplotlib is not installed "
            "(pip install 'skimdb[plot]')"
        )
        return None
    matplotlib.use("Agg")  # files only: never needs a display
    return matplotlib


def save_csv_model(model, output, args, info, write_test_split):
    """Save a model trained on a CSV or Parquet file with what goes with it:
    history, plots, ``write_test_split(path)``'s test split and training.json,
    all written into the new folder before it is swapped in (``_files.save_model``).
    """
    from skimdb.cli._files import TEST_SPLIT_FILE, save_model, write_training

    def beside(folder):
        saved = [
            write_history(model[-1].history_, folder / "history.csv"),
            write_test_split(folder / TEST_SPLIT_FILE),
            write_training(folder, info),
        ]
        if not args.no_plots:
            saved += save_history_plot(model, folder)
        return saved

    saved = save_model(model, output, overwrite=args.overwrite, beside=beside)
    print_saved([f"the model in {output}{os.sep}", *saved])
