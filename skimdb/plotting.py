"""Plots of a network's training and predictions, as scikit-learn style Displays.

Matplotlib is an optional dependency (``pip install "skimdb[plot]"``), imported
only when a plot is drawn. Each Display draws on the axes it is given, or on a
new figure made with ``matplotlib.pyplot``; it never calls ``plt.show()``.
"""

import numbers

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "HistoryDisplay",
    "ProbabilityViolinDisplay",
    "SearchResultsDisplay",
    "WordEffectsDisplay",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skimdb.plotting needs matplotlib; install it with "
            "pip install 'skimdb[plot]' (or pip install matplotlib)."
        ) from exc
    return plt


def _recorded(history, key):
    """Whether ``history`` holds values for ``key`` (lists or arrays alike)."""
    return len(history.get(key, ())) > 0


def _final_estimator(estimator):
    """The last step of a pipeline (or the estimator itself)."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


class HistoryDisplay:
    """Training (and validation) loss and accuracy per epoch.

    The two figures of the classic IMDB notebook side by side: loss on the
    left, accuracy on the right, training as dots and validation as a line.
    Build it with :meth:`from_estimator` or :meth:`from_history`.

    Parameters
    ----------
    history : dict of str to list of float
        Per-epoch values, as in :attr:`IMDBNet.history_
        <skimdb.IMDBNet>` or ``keras.callbacks.History.history``: ``loss``
        and, optionally, ``accuracy``, ``val_loss``, ``val_accuracy``.

    Attributes
    ----------
    axes_ : ndarray of matplotlib.axes.Axes
        One axes per metric drawn.
    figure_ : matplotlib.figure.Figure
        The figure holding them.
    lines_ : dict of str to matplotlib.lines.Line2D
        The line of each key of ``history`` drawn.

    See Also
    --------
    ProbabilityViolinDisplay : How the predicted probabilities spread.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skimdb.plotting import HistoryDisplay
    >>> history = {"loss": [0.5, 0.3, 0.2], "val_loss": [0.4, 0.35, 0.4],
    ...            "accuracy": [0.8, 0.9, 0.95], "val_accuracy": [0.85, 0.87, 0.86]}
    >>> display = HistoryDisplay.from_history(history)
    >>> [ax.get_title() for ax in display.axes_]
    ['Training and validation loss', 'Training and validation accuracy']
    >>> sorted(display.lines_)
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """

    def __init__(self, history):
        self.history = history

    def plot(self, *, axes=None, metrics=("loss", "accuracy")):
        """Draw the curves.

        Parameters
        ----------
        axes : sequence of matplotlib.axes.Axes or None, default=None
            One axes per metric; ``None`` makes a new figure with a row of them.
        metrics : sequence of str, default=("loss", "accuracy")
            The metrics to draw, each with its ``val_`` counterpart when present.

        Returns
        -------
        display : HistoryDisplay
            The display, with ``axes_``, ``figure_`` and ``lines_`` set.
        """
        history = self.history
        if not isinstance(history, dict) or not _recorded(history, "loss"):
            raise ValueError(
                "history must be a dict holding a non-empty 'loss' list, as a fitted "
                f"IMDBNet's history_; got {history!r:.80}"
            )
        if isinstance(metrics, str):
            raise TypeError(
                f"metrics must be a sequence of names, such as ({metrics!r},); got "
                "a str."
            )
        missing = [m for m in metrics if not _recorded(history, m)]
        if missing:
            raise ValueError(
                f"metrics {missing} are not in history, which holds "
                f"{sorted(k for k in history if _recorded(history, k))}."
            )
        if axes is None:
            plt = _pyplot()
            _, axes = plt.subplots(
                1,
                len(metrics),
                figsize=(5 * len(metrics), 4),
                squeeze=False,
                layout="constrained",
            )
            axes = axes[0]
        axes = np.asarray(axes, dtype=object).ravel()
        if len(axes) != len(metrics):
            raise ValueError(
                f"axes holds {len(axes)} axes but {len(metrics)} metrics are drawn "
                f"({', '.join(metrics)}); pass one axes per metric."
            )
        self.lines_ = {}
        for ax, metric in zip(axes, metrics, strict=True):
            values = history[metric]
            epochs = np.arange(1, len(values) + 1)
            (self.lines_[metric],) = ax.plot(epochs, values, "o", label="Training")
            validated = _recorded(history, f"val_{metric}")
            if validated:
                validation = history[f"val_{metric}"]
                (self.lines_[f"val_{metric}"],) = ax.plot(
                    np.arange(1, len(validation) + 1),
                    validation,
                    "-",
                    label="Validation",
                )
            ax.set_title(
                f"Training and validation {metric}"
                if validated
                else f"Training {metric}"
            )
            ax.set_xlabel("Epoch")
            ax.set_ylabel(metric.capitalize())
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.legend()
        self.axes_ = axes
        self.figure_ = axes[0].figure
        return self

    @classmethod
    def from_history(cls, history, *, axes=None, metrics=("loss", "accuracy")):
        """Plot a history dict.

        Parameters
        ----------
        history : dict of str to list of float
            Per-epoch values, such as ``IMDBNet.history_``.
        axes : sequence of matplotlib.axes.Axes or None, default=None
            One axes per metric; ``None`` makes a new figure.
        metrics : sequence of str, default=("loss", "accuracy")
            The metrics to draw.

        Returns
        -------
        display : HistoryDisplay
        """
        return cls(history).plot(axes=axes, metrics=metrics)

    @classmethod
    def from_estimator(cls, estimator, *, axes=None, metrics=("loss", "accuracy")):
        """Plot the history of a fitted :class:`~skimdb.IMDBNet` (or pipeline).

        Parameters
        ----------
        estimator : IMDBNet or Pipeline ending with one
            A fitted network, or a fitted pipeline whose last step is one.
        axes : sequence of matplotlib.axes.Axes or None, default=None
            One axes per metric; ``None`` makes a new figure.
        metrics : sequence of str, default=("loss", "accuracy")
            The metrics to draw.

        Returns
        -------
        display : HistoryDisplay
        """
        net = _final_estimator(estimator)
        check_is_fitted(net)
        if not hasattr(net, "history_"):
            raise TypeError(
                f"{type(net).__name__} keeps no training history (history_); pass a "
                "fitted IMDBNet or a pipeline ending with one."
            )
        return cls.from_history(net.history_, axes=axes, metrics=metrics)


class ProbabilityViolinDisplay:
    """Violin plot of the predicted probability of the positive class per true class.

    A good classifier puts the negative reviews' violin near 0 and the positive
    reviews' near 1; the mass in between is where it hesitates. Build it with
    :meth:`from_estimator` or :meth:`from_predictions`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The true labels.
    y_proba : array-like of shape (n_samples,)
        The predicted probability of the positive class.
    class_names : sequence of str or None, default=None
        A name for each class, in sorted label order; ``None`` uses the labels.

    Attributes
    ----------
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding it.
    violins_ : dict
        What ``Axes.violinplot`` returned.

    See Also
    --------
    HistoryDisplay : The training curves.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skimdb.plotting import ProbabilityViolinDisplay
    >>> display = ProbabilityViolinDisplay.from_predictions(
    ...     [0, 0, 1, 1], [0.1, 0.4, 0.7, 0.95], class_names=["neg", "pos"])
    >>> [label.get_text() for label in display.ax_.get_xticklabels()]
    ['neg', 'pos']
    """

    def __init__(self, y_true, y_proba, *, class_names=None):
        self.y_true = y_true
        self.y_proba = y_proba
        self.class_names = class_names

    def plot(self, *, ax=None):
        """Draw the violins.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            The axes to draw on; ``None`` makes a new figure.

        Returns
        -------
        display : ProbabilityViolinDisplay
            The display, with ``ax_``, ``figure_`` and ``violins_`` set.
        """
        y_true = np.asarray(self.y_true).ravel()
        y_proba = np.asarray(self.y_proba, dtype=float)
        if y_proba.ndim == 2 and y_proba.shape[1] == 1:
            y_proba = y_proba[:, 0]  # a column, as a Keras model's predict gives
        if y_proba.ndim != 1:
            raise ValueError(
                "y_proba must be 1-d, the probability of the positive class such as "
                f"predict_proba(X)[:, 1]; got shape {y_proba.shape}."
            )
        if np.isnan(y_proba).any():
            raise ValueError(
                "y_proba holds NaN; it must hold probabilities in [0, 1], such as "
                "predict_proba(X)[:, 1]."
            )
        if not np.all((y_proba >= 0) & (y_proba <= 1)):
            raise ValueError(
                "y_proba must hold probabilities in [0, 1], such as "
                "predict_proba(X)[:, 1]; got values from "
                f"{y_proba.min():g} to {y_proba.max():g}."
            )
        if y_true.shape != y_proba.shape:
            raise ValueError(
                f"y_true and y_proba must have the same length; got {y_true.size} and "
                f"{y_proba.size}."
            )
        classes = np.unique(y_true)
        names = classes if self.class_names is None else list(self.class_names)
        if len(names) != len(classes):
            raise ValueError(
                f"class_names has {len(names)} names but y_true holds {len(classes)} "
                f"classes ({', '.join(map(str, classes))}); give one name per class."
            )
        if ax is None:
            plt = _pyplot()
            _, ax = plt.subplots(figsize=(5, 4), layout="constrained")
        positions = np.arange(1, len(classes) + 1)
        self.violins_ = ax.violinplot(
            [y_proba[y_true == label] for label in classes],
            positions=positions,
            showmedians=True,
        )
        ax.set_xticks(positions, [str(name) for name in names])
        ax.set_xlabel("True class")
        ax.set_ylabel("Predicted probability of the positive class")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title("Predicted probabilities per true class")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(cls, y_true, y_proba, *, class_names=None, ax=None):
        """Plot given labels and predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            The true labels.
        y_proba : array-like of shape (n_samples,)
            The predicted probability of the positive class.
        class_names : sequence of str or None, default=None
            A name for each class, in sorted label order.
        ax : matplotlib.axes.Axes or None, default=None
            The axes to draw on; ``None`` makes a new figure.

        Returns
        -------
        display : ProbabilityViolinDisplay
        """
        return cls(y_true, y_proba, class_names=class_names).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, class_names=None, ax=None):
        """Plot a fitted binary classifier's probabilities on ``(X, y)``.

        Parameters
        ----------
        estimator : classifier
            A fitted binary classifier with ``predict_proba``, such as a
            pipeline ending with :class:`~skimdb.IMDBNet`.
        X : array-like
            The reviews, in whatever form ``estimator`` takes.
        y : array-like of shape (n_samples,)
            Their true labels.
        class_names : sequence of str or None, default=None
            A name for each class, in sorted label order.
        ax : matplotlib.axes.Axes or None, default=None
            The axes to draw on; ``None`` makes a new figure.

        Returns
        -------
        display : ProbabilityViolinDisplay
        """
        if not is_classifier(estimator) or not hasattr(estimator, "predict_proba"):
            raise TypeError(
                f"estimator must be a classifier with predict_proba; got "
                f"{type(estimator).__name__}."
            )
        check_is_fitted(estimator)
        proba = estimator.predict_proba(X)
        if proba.ndim != 2 or proba.shape[1] != 2:
            raise ValueError(
                "ProbabilityViolinDisplay needs a binary classifier; predict_proba "
                f"gave shape {proba.shape}."
            )
        return cls.from_predictions(y, proba[:, 1], class_names=class_names, ax=ax)


class SearchResultsDisplay:
    """The mean cross-validated score of each candidate of a search, best first.

    One horizontal bar per parameter combination, with the standard deviation
    over the folds as an error bar.

    Parameters
    ----------
    cv_results : dict
        ``cv_results_`` of a fitted :class:`~sklearn.model_selection.GridSearchCV`
        (or ``RandomizedSearchCV``).
    max_candidates : int or None, default=None
        Draw only the best ``max_candidates``; ``None`` draws all.

    Attributes
    ----------
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding it.
    bars_ : matplotlib.container.BarContainer
        The bars, best candidate at the top.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skimdb.plotting import SearchResultsDisplay
    >>> results = {"params": [{"units": 16}, {"units": 32}],
    ...            "mean_test_score": [0.85, 0.87], "std_test_score": [0.01, 0.02]}
    >>> display = SearchResultsDisplay.from_cv_results(results)
    >>> [label.get_text() for label in display.ax_.get_yticklabels()]  # best first
    ['units=32', 'units=16']
    """

    def __init__(self, cv_results, *, max_candidates=None):
        self.cv_results = cv_results
        self.max_candidates = max_candidates

    def plot(self, *, ax=None):
        """Draw the bars.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            The axes to draw on; ``None`` makes a new figure.

        Returns
        -------
        display : SearchResultsDisplay
            The display, with ``ax_``, ``figure_`` and ``bars_`` set.
        """
        results = self.cv_results
        missing = [
            key
            for key in ("params", "mean_test_score", "std_test_score")
            if key not in results
        ]
        if missing:
            raise ValueError(
                f"cv_results lacks {', '.join(missing)}: pass a fitted search's "
                "cv_results_ (single metric)."
            )
        top = self.max_candidates
        if top is not None and (
            isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1
        ):
            raise ValueError(
                f"max_candidates must be an int >= 1 or None; got {top!r}."
            )
        means = np.asarray(results["mean_test_score"], dtype=float)
        stds = np.asarray(results["std_test_score"], dtype=float)
        order = np.argsort(-means, kind="stable")[: self.max_candidates]
        labels = [
            ", ".join(
                f"{k.split('__')[-1]}={v}" for k, v in results["params"][i].items()
            )
            for i in order
        ]
        if ax is None:
            plt = _pyplot()
            _, ax = plt.subplots(
                figsize=(
                    4 + 0.08 * max(map(len, labels), default=0),
                    1.5 + 0.3 * len(order),
                ),
                layout="constrained",
            )
        positions = np.arange(len(order))[::-1]  # the best at the top
        self.bars_ = ax.barh(positions, means[order], xerr=stds[order], capsize=2)
        ax.set_yticks(positions, labels)
        low = np.nanmin(means[order] - stds[order]) - 0.05
        high = np.nanmax(means[order]) + 0.05
        if 0 <= np.nanmin(means) and np.nanmax(means) <= 1:  # accuracy, ROC AUC, ...
            low, high = max(0.0, low), min(1.0, high)
        ax.set_xlim(low, high)  # neg_log_loss and other negative scores: unclamped
        ax.set_xlabel("Mean cross-validated score")
        ax.set_title("Search results, best first")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_cv_results(cls, cv_results, *, max_candidates=None, ax=None):
        """Plot a search's ``cv_results_``.

        Parameters
        ----------
        cv_results : dict
            ``cv_results_`` of a fitted search.
        max_candidates : int or None, default=None
            Draw only the best ``max_candidates``.
        ax : matplotlib.axes.Axes or None, default=None
            The axes to draw on; ``None`` makes a new figure.

        Returns
        -------
        display : SearchResultsDisplay
        """
        return cls(cv_results, max_candidates=max_candidates).plot(ax=ax)

    @classmethod
    def from_estimator(cls, search, *, max_candidates=None, ax=None):
        """Plot a fitted search.

        Parameters
        ----------
        search : GridSearchCV or RandomizedSearchCV
            A fitted search.
        max_candidates : int or None, default=None
            Draw only the best ``max_candidates``.
        ax : matplotlib.axes.Axes or None, default=None
            The axes to draw on; ``None`` makes a new figure.

        Returns
        -------
        display : SearchResultsDisplay
        """
        if not hasattr(search, "cv_results_"):
            raise TypeError(
                f"search must be a fitted GridSearchCV or RandomizedSearchCV; got "
                f"{type(search).__name__} without cv_results_."
            )
        return cls.from_cv_results(
            search.cv_results_, max_candidates=max_candidates, ax=ax
        )


class WordEffectsDisplay:
    """One review's words with the strongest effect on its prediction.

    A horizontal bar per word (or n-gram), strongest at the top: its effect, the
    predicted class's probability minus that probability without the word (see
    :func:`skimdb.inspection.explain_predictions`). Each bar is coloured by its
    effect on a diverging colormap: toward the prediction at one end, away from
    it at the other. Build it with :meth:`from_estimator` or
    :meth:`from_explanation`.

    Parameters
    ----------
    features : sequence of str
        The words (feature names).
    effects : array-like of float
        Each word's effect on the predicted class's probability.
    label : object or None, default=None
        The predicted class, for the title.
    proba : float or None, default=None
        Its predicted probability, for the title.

    Attributes
    ----------
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding it.
    bars_ : matplotlib.container.BarContainer
        The bars, strongest effect at the top.

    See Also
    --------
    skimdb.inspection.explain_predictions : The effects, as arrays.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skimdb.plotting import WordEffectsDisplay
    >>> display = WordEffectsDisplay(
    ...     ["great", "boring", "film"], [0.2, -0.05, 0.01], label="pos", proba=0.9
    ... ).plot()
    >>> [label.get_text() for label in display.ax_.get_yticklabels()]
    ['great', 'boring', 'film']
    >>> display.ax_.get_title()
    'Predicted pos (probability 0.90): the words behind it'
    """

    def __init__(self, features, effects, *, label=None, proba=None):
        self.features = features
        self.effects = effects
        self.label = label
        self.proba = proba

    def plot(self, *, ax=None, max_words=15, cmap="coolwarm_r"):
        """Draw the bars.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            The axes to draw on; ``None`` makes a new figure.
        max_words : int or None, default=15
            Draw only the words with the ``max_words`` largest absolute effects;
            ``None`` draws all.
        cmap : str or matplotlib.colors.Colormap, default="coolwarm_r"
            The diverging colormap: its middle is no effect, its top end the
            strongest push toward the prediction.

        Returns
        -------
        display : WordEffectsDisplay
            The display, with ``ax_``, ``figure_`` and ``bars_`` set.
        """
        features = np.asarray(self.features, dtype=object).ravel()
        effects = np.asarray(self.effects, dtype=float).ravel()
        if features.shape != effects.shape:
            raise ValueError(
                f"features and effects must have the same length; got "
                f"{features.size} and {effects.size}."
            )
        if not np.isfinite(effects).all():
            raise ValueError("effects holds NaN or infinity; it must hold numbers.")
        top = max_words
        if top is not None and (
            isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1
        ):
            raise ValueError(f"max_words must be an int >= 1 or None; got {top!r}.")
        order = np.argsort(-np.abs(effects), kind="stable")[:top]
        shown, names = effects[order], [str(name) for name in features[order]]
        if ax is None:
            plt = _pyplot()
            _, ax = plt.subplots(
                figsize=(
                    4 + 0.08 * max(map(len, names), default=0),
                    1.5 + 0.3 * len(order),
                ),
                layout="constrained",
            )
        from matplotlib import colormaps  # matplotlib is there: ax is drawn on

        colormap = colormaps[cmap] if isinstance(cmap, str) else cmap
        scale = np.abs(shown).max(initial=0) or 1.0
        positions = np.arange(len(order))[::-1]  # the strongest at the top
        self.bars_ = ax.barh(
            positions, shown, color=colormap(0.5 + 0.5 * shown / scale)
        )
        ax.set_yticks(positions, names)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(
            "Effect on the predicted probability (probability minus probability "
            "without the word)"
            if self.label is None
            else f"Effect on the probability of {self.label}"
        )
        title = "The words behind the prediction"
        if self.label is not None:
            shown_proba = (
                "" if self.proba is None else f" (probability {self.proba:.2f})"
            )
            title = f"Predicted {self.label}{shown_proba}: the words behind it"
        ax.set_title(title)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_explanation(cls, explanation, *, ax=None, max_words=15, cmap="coolwarm_r"):
        """Plot one review's explanation.

        Parameters
        ----------
        explanation : skimdb.inspection.ReviewExplanation
            One element of what :func:`~skimdb.inspection.explain_predictions`
            returns.
        ax : matplotlib.axes.Axes or None, default=None
            The axes to draw on; ``None`` makes a new figure.
        max_words : int or None, default=15
            Draw only the strongest ``max_words``.
        cmap : str or matplotlib.colors.Colormap, default="coolwarm_r"
            The diverging colormap.

        Returns
        -------
        display : WordEffectsDisplay
        """
        missing = [
            name
            for name in ("features", "effects", "label", "proba")
            if not hasattr(explanation, name)
        ]
        if missing:
            raise TypeError(
                "explanation must be one review's explanation, an element of "
                "skimdb.inspection.explain_predictions(...); got "
                f"{type(explanation).__name__}, which lacks {', '.join(missing)}."
            )
        return cls(
            explanation.features,
            explanation.effects,
            label=explanation.label,
            proba=explanation.proba,
        ).plot(ax=ax, max_words=max_words, cmap=cmap)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        review,
        *,
        feature_names=None,
        ax=None,
        max_words=15,
        cmap="coolwarm_r",
    ):
        """Explain and plot one review's prediction by a fitted pipeline.

        Parameters
        ----------
        estimator : sklearn.pipeline.Pipeline
            A fitted pipeline with a :class:`~skimdb.MultiHotVectorizer` step,
            as :func:`~skimdb.inspection.explain_predictions` takes.
        review : str or sequence of int
            One review, in the form ``estimator`` takes (raw text when a
            :class:`~skimdb.ReviewEncoder` comes first, else word ids).
        feature_names : array-like of str or None, default=None
            A name for each vectorizer column; ``None`` asks the pipeline.
        ax : matplotlib.axes.Axes or None, default=None
            The axes to draw on; ``None`` makes a new figure.
        max_words : int or None, default=15
            Draw only the strongest ``max_words``.
        cmap : str or matplotlib.colors.Colormap, default="coolwarm_r"
            The diverging colormap.

        Returns
        -------
        display : WordEffectsDisplay
        """
        from skimdb.inspection import explain_predictions

        if isinstance(review, np.ndarray) and review.ndim != 1:
            raise ValueError(
                f"review must be one review (a str or a 1-d sequence of word ids); "
                f"got an array of shape {review.shape}."
            )
        # one review: a list of ids as a row of an object array, never split up
        reviews = np.empty(1, dtype=object)
        reviews[0] = review
        (explanation,) = explain_predictions(
            estimator, reviews, feature_names=feature_names
        )
        return cls.from_explanation(explanation, ax=ax, max_words=max_words, cmap=cmap)
