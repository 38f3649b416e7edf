"""Transformers from word-id sequences to features a network can learn from."""

import array
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

__all__ = ["MultiHotVectorizer"]


class MultiHotVectorizer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Encode reviews given as word-id sequences into a sparse multi-hot matrix.

    Row ``i`` of the output holds 1.0 in column ``j`` when word id ``j`` occurs in
    review ``i`` (how often does not matter), and 0 elsewhere. This is the
    ``vectorize_sequences`` step of the classic IMDB example, built with vectorized
    numpy and scipy and never through a dense matrix.

    Parameters
    ----------
    num_words : int or None, default=10000
        Width of the output: word ids ``0 .. num_words - 1`` get a column each.
        ``None`` learns the width in :meth:`fit` as the largest id seen plus one
        (the ``oov_id`` column included when ``handle_unknown="oov"``).
    handle_unknown : {"oov", "ignore", "error"}, default="oov"
        What to do with ids ``>= num_words``:

        - ``"oov"``: count them as the out-of-vocabulary id ``oov_id``, as
          ``keras.datasets.imdb.load_data(num_words=...)`` does. Vectorizing
          ``load_data(num_words=None)`` with ``num_words=10000`` then gives the same
          matrix as vectorizing ``load_data(num_words=10000)``.
        - ``"ignore"``: drop them.
        - ``"error"``: raise a ``ValueError`` naming the first such review.
    oov_id : int, default=2
        The column that unknown ids go to with ``handle_unknown="oov"``; 2 is the
        out-of-vocabulary id of the Keras IMDB data.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        The dtype of the output's values.

    Attributes
    ----------
    num_words_ : int
        The width of the output: ``num_words``, or the width learned in ``fit``.

    See Also
    --------
    sklearn.preprocessing.MultiLabelBinarizer : The same encoding for label sets,
        through Python sets rather than vectorized id arrays.

    Notes
    -----
    Reviews may be lists, tuples or 1-d integer numpy arrays; the collection a list,
    a 1-d object array, a pandas Series, or a 2-d integer array whose rows are
    (padded) reviews. Padding id 0 in such a 2-d array counts as word 0. Python
    ``bool`` values are integers and are taken as ids 0 and 1.

    Examples
    --------
    >>> from skimdb import MultiHotVectorizer
    >>> reviews = [[1, 4, 4, 2], [3], []]
    >>> vec = MultiHotVectorizer(num_words=5)
    >>> X = vec.fit_transform(reviews)
    >>> X.format, X.shape, X.dtype
    ('csr', (3, 5), dtype('float32'))
    >>> X.toarray()
    array([[0., 1., 1., 0., 1.],
           [0., 0., 0., 1., 0.],
           [0., 0., 0., 0., 0.]], dtype=float32)
    >>> vec.transform([[7, 1]]).toarray()  # 7 >= num_words: the oov column 2
    array([[0., 1., 1., 0., 0.]], dtype=float32)
    >>> vec.get_feature_names_out()[:3]
    array(['multihotvectorizer0', 'multihotvectorizer1', 'multihotvectorizer2'],
          dtype=object)
    """

    _parameter_constraints: dict = {
        "num_words": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "handle_unknown": [StrOptions({"oov", "ignore", "error"})],
        "oov_id": [Interval(numbers.Integral, 0, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), type, np.dtype],
    }

    def __init__(
        self, num_words=10000, *, handle_unknown="oov", oov_id=2, dtype=np.float32
    ):
        self.num_words = num_words
        self.handle_unknown = handle_unknown
        self.oov_id = oov_id
        self.dtype = dtype

    def fit(self, X, y=None):
        """Check the parameters and, with ``num_words=None``, learn the width.

        Parameters
        ----------
        X : sequence of sequences of int
            The reviews, each a sequence of non-negative word ids.
        y : None
            Ignored.

        Returns
        -------
        self : MultiHotVectorizer
            The fitted vectorizer.
        """
        self._validate_params()
        self._check_dtype()
        if self.num_words is None:
            ids, _ = _flatten_reviews(X)
            width = int(ids.max()) + 1 if ids.size else 1
            if self.handle_unknown == "oov":
                width = max(width, self.oov_id + 1)
        else:
            _check_n_reviews(X)
            width = self.num_words
        if self.handle_unknown == "oov" and self.oov_id >= width:
            raise ValueError(
                f"oov_id={self.oov_id} is not a column of the output (num_words="
                f"{width}); choose oov_id < num_words or handle_unknown='ignore'."
            )
        self.num_words_ = width
        return self

    def transform(self, X):
        """Encode reviews as a sparse multi-hot matrix.

        Parameters
        ----------
        X : sequence of sequences of int
            The reviews, each a sequence of non-negative word ids.

        Returns
        -------
        X_multi_hot : scipy.sparse.csr_matrix of shape (n_reviews, num_words_)
            1.0 where a word occurs in a review, with sorted column indices and no
            explicit zeros.
        """
        check_is_fitted(self)
        ids, indptr = _flatten_reviews(X)
        width = self.num_words_
        unknown = ids >= width
        if unknown.any():
            if self.handle_unknown == "error":
                first = np.flatnonzero(unknown)[0]
                review = int(np.searchsorted(indptr, first, "right")) - 1
                raise ValueError(
                    f"Review {review} holds word id {int(ids[first])} >= "
                    f"num_words={width}. Set handle_unknown='oov' or 'ignore', or "
                    "a larger num_words."
                )
            if self.handle_unknown == "oov":
                ids = np.where(unknown, self.oov_id, ids)
            else:  # "ignore": drop them, and shift each row's end to match
                kept = ~unknown
                indptr = np.concatenate(([0], np.cumsum(kept)))[indptr]
                ids = ids[kept]
        values = np.ones(ids.size, dtype=np.dtype(self.dtype))
        X_out = sp.csr_matrix((values, ids, indptr), shape=(indptr.size - 1, width))
        X_out.sum_duplicates()  # sorts each row's ids and merges repeats (summing)
        X_out.data.fill(1)
        return X_out

    @property
    def _n_features_out(self):
        return self.num_words_

    def _check_dtype(self):
        if np.dtype(self.dtype) not in (np.float32, np.float64):
            raise ValueError(
                f"dtype={self.dtype!r} is not supported; use numpy.float32 or "
                "numpy.float64."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags


def _check_n_reviews(X):
    """Reject a string, a scalar or an empty collection in place of the reviews."""
    if isinstance(X, (str, bytes)) or sp.issparse(X) or not hasattr(X, "__len__"):
        raise TypeError(
            "X must be a sequence of reviews, each a sequence of int word ids; got "
            f"{type(X).__name__}."
        )
    if len(X) == 0:
        raise ValueError("X holds 0 reviews; at least one is required.")


def _flatten_reviews(X):
    """All reviews' ids as one int64 array, plus the CSR-style row offsets.

    Validates as it goes: each review must be a sequence of non-negative ints.
    """
    _check_n_reviews(X)
    if hasattr(X, "to_numpy") and getattr(X, "ndim", 1) == 1:  # pandas Series
        X = X.to_numpy()
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim != 2 or X.dtype.kind not in "iub":
            raise TypeError(
                "X as a numeric array must be 2-d with integer ids (one padded review "
                f"per row); got a {X.ndim}-d array of dtype {X.dtype}."
            )
        ids = X.astype(np.int64).ravel()
        indptr = np.arange(X.shape[0] + 1, dtype=np.int64) * X.shape[1]
        _check_non_negative(ids, indptr)
        return ids, indptr
    if isinstance(X, np.ndarray) and X.ndim != 1:
        raise TypeError(f"X as an object array must be 1-d; got {X.ndim}-d.")

    # Hand-written loop: array.array('q').fromlist is the fastest type-checked way
    # to gather Python ints (it refuses floats, strings and None, unlike np.fromiter).
    ids = array.array("q")
    lengths = np.empty(len(X), dtype=np.int64)
    for i, review in enumerate(X):
        start = len(ids)
        try:
            if type(review) is list:
                ids.fromlist(review)
            elif isinstance(review, np.ndarray):
                ids.frombytes(_review_array(review, i).tobytes())
            elif isinstance(review, (str, bytes)) or not hasattr(review, "__iter__"):
                raise TypeError
            else:
                ids.fromlist(list(review))
        except (TypeError, OverflowError) as exc:
            raise _bad_review_error(review, i) from exc
        lengths[i] = len(ids) - start
    indptr = np.zeros(len(X) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    ids = np.frombuffer(ids, dtype=np.int64)
    _check_non_negative(ids, indptr)
    return ids, indptr


def _review_array(review, i):
    if review.ndim != 1 or review.dtype.kind not in "iub":
        raise _bad_review_error(review, i)
    if (
        review.dtype == np.uint64
        and review.size
        and review.max() > np.iinfo(np.int64).max
    ):
        raise _bad_review_error(review, i)
    return review.astype(np.int64, copy=False)


def _bad_review_error(review, i):
    if isinstance(review, (str, bytes)):
        what = f"a {type(review).__name__} ({review[:30]!r})"
    elif isinstance(review, np.ndarray):
        what = f"a {review.ndim}-d array of dtype {review.dtype}"
    elif not hasattr(review, "__iter__"):
        what = f"a scalar {type(review).__name__}"
    else:
        bad = [v for v in review if not isinstance(v, (numbers.Integral, np.integer))]
        if not bad:
            what = "an id too large for int64"
        else:
            what = f"an element {bad[0]!r} of type {type(bad[0]).__name__}"
    return TypeError(
        f"Review {i} must be a sequence of int word ids, but it holds {what}. Encode "
        "raw text first (skimdb.datasets.encode_review) and pass ids as ints."
    )


def _check_non_negative(ids, indptr):
    if ids.size and ids.min() < 0:
        first = np.flatnonzero(ids < 0)[0]
        review = int(np.searchsorted(indptr, first, "right")) - 1
        raise ValueError(
            f"Review {review} holds the negative word id {int(ids[first])}; word ids "
            "must be >= 0."
        )
