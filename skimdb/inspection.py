"""Why a prediction: the effect of each word (or n-gram) of a review on it.

For a pipeline whose features are a :class:`~skimdb.MultiHotVectorizer`'s
multi-hot matrix, the effect of a feature on a review's prediction is exact and
cheap: remove the feature from the review (zero its column) and see how much
the predicted class's probability drops. All the reviews' perturbed rows go
through the rest of the pipeline in a few large ``predict_proba`` calls.

Nothing here imports TensorFlow; the pipeline's own steps do when they predict.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from skimdb.preprocessing import MultiHotVectorizer

__all__ = [
    "ClassWordEffects",
    "ReviewExplanation",
    "explain_predictions",
    "top_words",
]

#: Default bound on the rows of one ``predict_proba`` call (the network's own
#: evaluation chunk): a review's perturbed rows are one per distinct feature.
_CHUNK_SIZE = 8192

#: Perturbed-row effects buffered before they are summed per feature.
_FLUSH_ENTRIES = 1 << 20


@dataclass(frozen=True, eq=False)
class ReviewExplanation:
    """One review's prediction and the effect of each of its features on it.

    Attributes
    ----------
    label : object
        The predicted class (an element of the classifier's ``classes_``).
    proba : float
        Its predicted probability.
    probas : ndarray of shape (n_classes,)
        The predicted probability of every class, in ``classes_`` order.
    features : ndarray of object of shape (n_review_features,)
        The names of the review's features (words, or ``"w1 w2"`` n-grams where
        the pipeline knows its words), strongest effect first.
    effects : ndarray of float of shape (n_review_features,)
        Each feature's effect: the predicted class's probability minus its
        probability once that feature is removed from the review. Positive:
        the feature pushed the review toward ``label``; negative: away from it.
        Sorted by decreasing absolute value.
    columns : ndarray of int of shape (n_review_features,)
        Each feature's column in the vectorizer's output.
    """

    label: object
    proba: float
    probas: np.ndarray
    features: np.ndarray
    effects: np.ndarray
    columns: np.ndarray

    def toward(self, n=None):
        """The features that pushed the review toward ``label``, strongest first.

        Parameters
        ----------
        n : int or None, default=None
            At most this many; ``None`` gives all.

        Returns
        -------
        pairs : list of (str, float)
            ``(feature, effect)`` with ``effect > 0``.
        """
        return self._pairs(self.effects > 0, n)

    def away(self, n=None):
        """The features that pushed the review away from ``label``, strongest first.

        Parameters
        ----------
        n : int or None, default=None
            At most this many; ``None`` gives all.

        Returns
        -------
        pairs : list of (str, float)
            ``(feature, effect)`` with ``effect < 0``.
        """
        return self._pairs(self.effects < 0, n)

    def _pairs(self, mask, n):
        n = _check_optional_n(n)
        chosen = np.flatnonzero(mask)[:n]  # effects are sorted by |effect|
        return [(self.features[i], float(self.effects[i])) for i in chosen]


@dataclass(frozen=True, eq=False)
class ClassWordEffects:
    """The features that raise one class's probability most, over many reviews.

    Attributes
    ----------
    label : object
        The class (an element of the classifier's ``classes_``).
    features : ndarray of object of shape (n_top,)
        The features, strongest first.
    effects : ndarray of float of shape (n_top,)
        Each feature's mean effect on the probability of ``label`` over the
        reviews holding it (the probability minus the probability without the
        feature); all positive.
    counts : ndarray of int of shape (n_top,)
        The number of reviews holding each feature.
    columns : ndarray of int of shape (n_top,)
        Each feature's column in the vectorizer's output.
    """

    label: object
    features: np.ndarray
    effects: np.ndarray
    counts: np.ndarray
    columns: np.ndarray


@validate_params(
    {
        "estimator": "no_validation",  # checked below, with a message saying how
        "X": "no_validation",
        "feature_names": ["array-like", None],
        "chunk_size": [Interval(numbers.Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def explain_predictions(estimator, X, *, feature_names=None, chunk_size=_CHUNK_SIZE):
    """Each review's prediction and the effect of each of its features on it.

    The effect of a feature (a word, or an n-gram) is the predicted class's
    probability minus that probability when the feature is removed from the
    review. For a multi-hot input this is exact: the review is transformed up
    to the :class:`~skimdb.MultiHotVectorizer`, then a batch holding the
    original row and one row per distinct feature, with that feature's column
    zeroed, goes through the rest of the pipeline (such as
    :class:`~skimdb.NBLogCountRatio` and the network) with ``predict_proba``.

    Parameters
    ----------
    estimator : sklearn.pipeline.Pipeline
        A fitted pipeline holding a :class:`~skimdb.MultiHotVectorizer` step and
        ending with a classifier that has ``predict_proba`` and ``classes_``
        (any number of classes), such as :func:`skimdb.make_pipeline`'s.
    X : sequence of reviews
        The reviews, in whatever form ``estimator`` takes: word-id sequences, or
        raw text when a :class:`~skimdb.ReviewEncoder` comes first.
    feature_names : array-like of str or None, default=None
        A name for each of the vectorizer's output columns. ``None`` asks the
        pipeline up to the vectorizer (``get_feature_names_out``), and uses the
        column number where it cannot tell.
    chunk_size : int, default=8192
        About the most rows of one ``predict_proba`` call (a review with more
        distinct features than this goes alone in a call of its own); bounds the
        memory, never the result.

    Returns
    -------
    explanations : list of ReviewExplanation
        One per review, in order.

    See Also
    --------
    top_words : The features with the strongest effect over many reviews.
    skimdb.plotting.WordEffectsDisplay : Draws one review's effects.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import Pipeline
    >>> from skimdb import MultiHotVectorizer
    >>> from skimdb.inspection import explain_predictions
    >>> X = [[1, 4], [1, 5], [1, 4, 6], [1, 5, 6]] * 5
    >>> y = ["pos", "neg", "pos", "neg"] * 5
    >>> pipe = Pipeline([("vec", MultiHotVectorizer(num_words=7)),
    ...                  ("clf", LogisticRegression())]).fit(X, y)
    >>> names = ["pad", "start", "oov", "?", "great", "awful", "film"]
    >>> (review,) = explain_predictions(pipe, [[1, 4, 6]], feature_names=names)
    >>> review.label, round(review.proba, 2)
    ('pos', 0.84)
    >>> review.features.tolist()  # strongest effect first
    ['great', 'start', 'film']
    >>> review.effects.round(2)  # "film" and the start mark say nothing here
    array([0.34, 0.  , 0.  ])
    >>> [(word, round(effect, 2)) for word, effect in review.toward()]
    [('great', 0.34)]
    """
    head, tail, classes = _prepare(estimator, X)
    X_multi_hot = _multi_hot(head, X)
    names = _names(head, feature_names, X_multi_hot.shape[1])
    explanations = []
    for start, p_orig, p_without in _perturbed_probas(X_multi_hot, tail, chunk_size):
        predicted = p_orig.argmax(axis=1)
        indptr = X_multi_hot.indptr
        offset = indptr[start]
        for i, (p, c) in enumerate(zip(p_orig, predicted, strict=True)):
            lo, hi = indptr[start + i], indptr[start + i + 1]
            effects = p[c] - p_without[lo - offset : hi - offset, c]
            order = np.argsort(-np.abs(effects), kind="stable")
            columns = X_multi_hot.indices[lo:hi][order].astype(np.intp)
            explanations.append(
                ReviewExplanation(
                    label=classes[c],
                    proba=float(p[c]),
                    probas=p,
                    features=names[columns],
                    effects=effects[order],
                    columns=columns,
                )
            )
    return explanations


@validate_params(
    {
        "estimator": "no_validation",
        "X": "no_validation",
        "n": [Interval(numbers.Integral, 1, None, closed="left")],
        "min_count": [Interval(numbers.Integral, 1, None, closed="left")],
        "feature_names": ["array-like", None],
        "chunk_size": [Interval(numbers.Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def top_words(
    estimator, X, *, n=10, min_count=5, feature_names=None, chunk_size=_CHUNK_SIZE
):
    """The features that raise each class's probability most, over many reviews.

    Each feature's effect on each review holding it is computed as in
    :func:`explain_predictions` (the probability minus the probability without
    the feature), for every class; a class's top features are those with the
    largest mean effect on its probability over the reviews holding them. For
    two classes the two lists are the words pushing most toward each label:
    the top ``n`` each way.

    Parameters
    ----------
    estimator : sklearn.pipeline.Pipeline
        A fitted pipeline holding a :class:`~skimdb.MultiHotVectorizer` step and
        ending with a classifier that has ``predict_proba`` and ``classes_``.
    X : sequence of reviews
        The reviews, such as the test set, in whatever form ``estimator`` takes.
    n : int, default=10
        At most this many features per class.
    min_count : int, default=5
        Only features held by at least this many of the reviews (a rare word's
        mean rests on too few reviews to mean much).
    feature_names : array-like of str or None, default=None
        A name for each of the vectorizer's output columns; ``None`` asks the
        pipeline, as :func:`explain_predictions` does.
    chunk_size : int, default=8192
        About the most rows of one ``predict_proba`` call.

    Returns
    -------
    top : list of ClassWordEffects
        One per class, in ``classes_`` order, each with at most ``n`` features
        whose mean effect is positive, strongest first (fewer, or none, when
        fewer features pass ``min_count``).

    See Also
    --------
    explain_predictions : The effects on each review's prediction.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import Pipeline
    >>> from skimdb import MultiHotVectorizer
    >>> from skimdb.inspection import top_words
    >>> X = [[1, 4], [1, 5], [1, 4, 6], [1, 5, 6]] * 5
    >>> y = ["pos", "neg", "pos", "neg"] * 5
    >>> pipe = Pipeline([("vec", MultiHotVectorizer(num_words=7)),
    ...                  ("clf", LogisticRegression())]).fit(X, y)
    >>> names = ["pad", "start", "oov", "?", "great", "awful", "film"]
    >>> neg, pos = top_words(pipe, X, n=1, feature_names=names)
    >>> neg.label, neg.features.tolist(), neg.counts.tolist()
    ('neg', ['awful'], [10])
    >>> pos.label, pos.features.tolist()
    ('pos', ['great'])
    """
    head, tail, classes = _prepare(estimator, X)
    X_multi_hot = _multi_hot(head, X)
    names = _names(head, feature_names, X_multi_hot.shape[1])
    n_features = X_multi_hot.shape[1]
    counts = np.bincount(X_multi_hot.indices, minlength=n_features)
    sums = np.zeros((len(classes), n_features))
    buffered, columns, deltas = 0, [], []

    def flush():
        cols, delta = np.concatenate(columns), np.concatenate(deltas)
        for k in range(len(classes)):
            sums[k] += np.bincount(cols, weights=delta[:, k], minlength=n_features)
        columns.clear()
        deltas.clear()

    indptr, indices = X_multi_hot.indptr, X_multi_hot.indices
    for start, p_orig, p_without in _perturbed_probas(X_multi_hot, tail, chunk_size):
        stop = start + len(p_orig)
        lo, hi = indptr[start], indptr[stop]
        review = np.repeat(np.arange(len(p_orig)), np.diff(indptr[start : stop + 1]))
        columns.append(indices[lo:hi])
        deltas.append(p_orig[review] - p_without)
        buffered += hi - lo
        if buffered >= _FLUSH_ENTRIES:
            flush()
            buffered = 0
    if columns:
        flush()
    kept = counts >= min_count
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(kept, sums / np.maximum(counts, 1), np.nan)
    top = []
    for k, label in enumerate(classes):
        candidates = np.flatnonzero(kept & (means[k] > 0))
        order = candidates[np.argsort(-means[k, candidates], kind="stable")[:n]]
        top.append(
            ClassWordEffects(
                label=label,
                features=names[order],
                effects=means[k, order],
                counts=counts[order],
                columns=order,
            )
        )
    return top


def _prepare(estimator, X):
    """Check the inputs; return the pipeline up to and including the vectorizer,
    the rest of it, and the classes."""
    if not isinstance(estimator, Pipeline):
        raise TypeError(
            "estimator must be a fitted scikit-learn Pipeline holding a "
            "MultiHotVectorizer step, such as skimdb.make_pipeline('notebook') "
            f"after fit; got {type(estimator).__name__}."
        )
    positions = [
        i
        for i, (_, step) in enumerate(estimator.steps)
        if isinstance(step, MultiHotVectorizer)
    ]
    if not positions:
        raise ValueError(
            "estimator holds no MultiHotVectorizer step (its steps are "
            f"{[name for name, _ in estimator.steps]}); the effects are computed on "
            "its multi-hot features, so use a pipeline such as "
            "Pipeline([('vec', MultiHotVectorizer()), ('clf', IMDBNet())])."
        )
    k = positions[-1] + 1
    if k == len(estimator.steps):
        raise ValueError(
            "estimator ends with its MultiHotVectorizer; it needs a classifier with "
            "predict_proba after it."
        )
    final = estimator.steps[-1][1]
    if not hasattr(final, "predict_proba"):
        raise TypeError(
            f"estimator must end with a classifier with predict_proba; its last "
            f"step is {type(final).__name__}."
        )
    message = (
        "estimator is not fitted yet (its step %(name)s is not); fit the pipeline "
        "before asking why it predicts what it does."
    )
    for _, step in estimator.steps[:k]:
        if step not in (None, "passthrough"):
            check_is_fitted(step, msg=message)
    check_is_fitted(final, msg=message)
    classes = getattr(final, "classes_", None)
    if classes is None:
        raise NotFittedError(message % {"name": type(final).__name__})
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        raise TypeError(
            "X must be a sequence of reviews (a list of str or of word-id "
            f"sequences); got {type(X).__name__}. Wrap a single review in a list: "
            "[review]."
        )
    if len(X) == 0:
        raise ValueError("X holds no reviews; pass at least one review.")
    return estimator[:k], estimator[k:], np.asarray(classes).tolist()  # plain labels


def _multi_hot(head, X):
    """The reviews' multi-hot rows: canonical CSR without explicit zeros."""
    X = head.transform(X)
    X = sp.csr_matrix(X) if not sp.issparse(X) else X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    X.eliminate_zeros()
    return X


def _names(head, feature_names, n_features):
    """The given names, else the pipeline's, else the column numbers."""
    if feature_names is not None:
        names = np.asarray(feature_names, dtype=object)
        if names.shape != (n_features,):
            raise ValueError(
                f"feature_names must hold one name per vectorizer column "
                f"({n_features}); got shape {names.shape}."
            )
        return names
    try:
        names = np.asarray(head.get_feature_names_out(), dtype=object)
    except (AttributeError, NotImplementedError, TypeError, ValueError):
        names = None  # a step that cannot name its columns: use their numbers
    if names is None or names.shape != (n_features,):
        names = np.arange(n_features).astype(str).astype(object)
    return names


def _check_optional_n(n):
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be an int >= 0 or None; got {n!r}.")
    return int(n)


def _perturbed_probas(X, tail, chunk_size):
    """For groups of reviews of the multi-hot CSR ``X``, yield ``(start, p_orig,
    p_without)``: the first review of the group, the group's predicted
    probabilities (n_group, n_classes), and those of each review without each of
    its features, one row per stored entry of ``X[start:start + n_group]``."""
    rows = np.diff(X.indptr) + 1  # each review's batch: itself, minus each feature
    start = 0
    while start < X.shape[0]:
        stop = start + 1  # greedy: add reviews while the batch stays in bounds
        total = rows[start]
        while stop < X.shape[0] and total + rows[stop] <= chunk_size:
            total += rows[stop]
            stop += 1
        batch, originals = _leave_one_out(X[start:stop])
        proba = np.asarray(tail.predict_proba(batch), dtype=float)
        removed = np.ones(len(proba), dtype=bool)
        removed[originals] = False
        yield start, proba[originals], proba[removed]
        start = stop


def _leave_one_out(X):
    """A CSR batch holding, for each row of canonical CSR ``X``, the row itself
    then one copy per stored entry with that entry removed (in storage order);
    and the positions of the original rows in it."""
    nnz = np.diff(X.indptr)
    rows = nnz + 1
    review = np.repeat(np.arange(X.shape[0]), rows)  # the review of each batch row
    dropped = _ranges(rows) - 1  # the entry it lacks; -1 for the original row
    batch_nnz = nnz[review] - (dropped >= 0)
    row_of = np.repeat(np.arange(len(review)), batch_nnz)
    position = _ranges(batch_nnz)  # of the entries kept: skip the dropped one
    skipped = dropped[row_of]
    position += (position >= skipped) & (skipped >= 0)
    source = X.indptr[review][row_of] + position
    indptr = np.concatenate(([0], np.cumsum(batch_nnz)))
    batch = sp.csr_matrix(
        (X.data[source], X.indices[source], indptr),
        shape=(len(review), X.shape[1]),
    )
    batch.has_canonical_format = True  # each row a subset of a sorted, unique row
    return batch, np.concatenate(([0], np.cumsum(rows)[:-1]))


def _ranges(counts):
    """``0 .. c - 1`` for each ``c`` of ``counts``, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - counts, counts)
