"""What the commands print and draw: tables, CSV files and plots."""

import csv
import sys

import numpy as np

from skimdb.cli._options import CLASS_NAMES


def say(message):
    """A progress line, on standard error."""
    print(message, file=sys.stderr, flush=True)


def shorten(text, width):
    """``text`` on one line (any whitespace run becomes a space), cut to ``width``."""
    text = " ".join(text.split())
    if width and len(text) > width:
        return text[: max(width - 3, 0)] + "..."
    return text


def final_step(model):
    """The last step of a pipeline, or the model itself."""
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def network_loss(model, y, proba):
    """The network's training loss (its ``loss`` parameter, as Keras computes it)
    on labels ``y``: (name, value). A model without one is scored with binary
    cross-entropy, the loss of its two-class probabilities."""
    import keras

    name = getattr(final_step(model), "loss", None)
    if not isinstance(name, str):
        name = "binary_crossentropy"
    y_true = np.asarray(y, dtype="float32").reshape(-1, 1)
    losses = keras.losses.get(name)(y_true, proba[:, 1:].astype("float32"))
    return name, float(np.mean(keras.ops.convert_to_numpy(losses)))


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
    print("saved: " + ", ".join(str(path) for path in paths))


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


def print_predictions(reviews, proba, columns, width):
    """A row per review: label, P(pos), the review on one line."""
    print("label\tP(pos)\treview")
    for text, p, column in zip(reviews, proba[:, 1], columns, strict=True):
        print(f"{CLASS_NAMES[column]}\t{p:.4f}\t{shorten(text, width)}")


def print_mistakes(wrong, texts, y_test, proba, width):
    print(
        f"{len(wrong)} mistakes among the first {len(y_test)} test reviews "
        f"(accuracy {1 - len(wrong) / len(y_test):.4f})"
    )
    for i, text in zip(wrong, texts, strict=True):
        print()
        print(f"review {i}: true {CLASS_NAMES[y_test[i]]}, P(pos) = {proba[i, 1]:.4f}")
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
        print("  ".join(f"{row[key]!s:>{widths[key]}}" for key in header))


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
