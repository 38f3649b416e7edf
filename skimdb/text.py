"""Raw review text to word-id sequences, as a scikit-learn transformer."""

import numbers
import os

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skimdb import _codec
from skimdb._ragged import RaggedIds
from skimdb._text_state import _ENCODER_STATE, _probe_fit
from skimdb.datasets import get_word_index
from skimdb.persistence._format import (
    check_fitted,
    check_saved_params,
    restore_fitted,
)

__all__ = ["ReviewEncoder"]


class ReviewEncoder(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Turn raw review text into word ids, with a vocabulary learned or given.

    Each review is split into words the way Keras' IMDB word index was built
    (ASCII letters lowercased, Keras' punctuation filters, ``<br />`` becoming
    the word ``br``; see :func:`skimdb.datasets.encode_review`). A word ranked
    ``r`` becomes the id ``r + index_from``; words missing from the word index,
    or whose id would be ``num_words`` or more, become ``oov_char``, and
    ``start_char`` comes first.

    The word index (word to rank) is, as the vocabulary of
    :class:`~sklearn.feature_extraction.text.CountVectorizer`:

    - learned from the texts given to :meth:`fit` (``word_index=None``): the
      words ranked by how often they occur there, rank 1 the most frequent;
      words with the same count keep the order in which they first occur
      (the rule of Keras' ``Tokenizer``). Fitted on the 25,000 IMDB training
      texts it is Keras' IMDB word index, up to the order of words with equal
      counts;
    - Keras' IMDB word index (``word_index="imdb"``), read in :meth:`fit` from
      ``data_home``, so the output is what :func:`skimdb.datasets.load_data`
      gives with the same arguments and a pipeline fitted on its reviews
      predicts raw text;
    - a dict, used as given.

    Reviews that are already word-id sequences (anything but a ``str``) pass
    through :meth:`transform` unchanged, so a pipeline can be fitted and scored
    on the data set's id sequences and asked about new text.

    Everything needed to encode is kept in the fitted ``word_index_``: once
    fitted, the encoder (and a pickled pipeline holding it) works offline,
    without any data file. Only ``word_index="imdb"`` makes :meth:`fit` read a
    file.

    Parameters
    ----------
    num_words : int or None, default=None
        Ids of ``num_words`` or more become ``oov_char``, as in
        ``load_data(num_words=...)``: the ``num_words - index_from`` most
        frequent words are kept. ``None`` keeps the whole vocabulary.
    index_from : int, default=3
        Added to every word's rank.
    start_char : int or None, default=1
        The id put first in each review; ``None`` puts none.
    oov_char : int or None, default=2
        The id of unknown or too rare words; ``None`` drops them.
    word_index : None, "imdb" or dict of str to int, default=None
        ``None`` learns the word index from the texts given to :meth:`fit`;
        ``"imdb"`` reads Keras' IMDB word index with
        :func:`skimdb.datasets.get_word_index` from ``data_home`` (``fit``
        never downloads: if it is missing, call ``get_word_index()`` once, or
        put ``imdb_word_index.json`` there); a dict (word to rank, from 1) is
        used as given.
    min_count : int, default=1
        With a learned word index, leave out the words that occur fewer than
        ``min_count`` times in the training texts. Must be 1 otherwise.
    data_home : str, path-like or None, default=None
        Where :meth:`fit` looks for the word index when ``word_index="imdb"``
        (see :func:`skimdb.datasets.get_data_home`).

    Attributes
    ----------
    word_index_ : dict of str to int
        The words this encoder can give an id other than ``oov_char``, with their
        ranks: the word index, less the words whose id would be ``num_words`` or
        more.

    See Also
    --------
    skimdb.datasets.encode_review : The same encoding for one review.
    skimdb.datasets.decode_review : Word ids back to words.
    skimdb.MultiHotVectorizer : The next step: ids to a multi-hot matrix.

    Examples
    --------
    >>> from skimdb import ReviewEncoder
    >>> texts = ["A good film.", "A bad film, a bad plot."]
    >>> enc = ReviewEncoder().fit(texts)
    >>> enc.word_index_
    {'a': 1, 'film': 2, 'bad': 3, 'good': 4, 'plot': 5}
    >>> X = enc.transform(["A good plot!", "an awful film"])
    >>> X
    RaggedIds(n_reviews=2, n_ids=8)
    >>> X.tolist()
    [[1, 4, 7, 8], [1, 2, 2, 5]]
    >>> enc.get_feature_names_out()
    array(['<pad>', '<start>', '<oov>', '<unused>', 'a', 'film', 'bad', 'good',
           'plot'], dtype=object)
    >>> ReviewEncoder(min_count=2).fit(texts).word_index_
    {'a': 1, 'film': 2, 'bad': 3}

    A given word index is used as it is; ids pass through:

    >>> enc = ReviewEncoder(word_index={"the": 1, "film": 2, "great": 3})
    >>> enc.fit_transform(["The film was GREAT!", "the end"]).tolist()
    [[1, 4, 5, 2, 6], [1, 4, 2]]
    >>> enc.transform([[1, 14, 22]])
    [[1, 14, 22]]
    >>> ReviewEncoder(num_words=6, word_index={"the": 1, "film": 2, "great": 3}).fit(
    ...     ).word_index_
    {'the': 1, 'film': 2}
    """

    _parameter_constraints: dict = {
        "num_words": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "index_from": [Interval(numbers.Integral, 0, None, closed="left")],
        "start_char": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "oov_char": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "word_index": [dict, StrOptions({"imdb"}), None],
        "min_count": [Interval(numbers.Integral, 1, None, closed="left")],
        "data_home": [str, os.PathLike, None],
    }

    def __init__(
        self,
        num_words=None,
        *,
        index_from=3,
        start_char=1,
        oov_char=2,
        word_index=None,
        min_count=1,
        data_home=None,
    ):
        self.num_words = num_words
        self.index_from = index_from
        self.start_char = start_char
        self.oov_char = oov_char
        self.word_index = word_index
        self.min_count = min_count
        self.data_home = data_home

    def fit(self, X=None, y=None):
        """Learn the word index from the texts, or take the one given.

        Parameters
        ----------
        X : sequence of str, or None
            The training texts. Required with ``word_index=None`` (the word
            index is learned from them); ignored otherwise.
        y : None
            Ignored.

        Returns
        -------
        self : ReviewEncoder
            The fitted encoder.
        """
        limit = self._check_params()
        if self.word_index is None:
            words, counts = _codec.count_words(self._training_texts(X))
            self.word_index_ = _codec.rank_words(
                words, counts, min_count=self.min_count, max_rank=self._max_rank(limit)
            )
            return self
        if self.min_count != 1:
            raise ValueError(
                f"min_count={self.min_count} prunes a learned word index only; "
                f"with word_index={self._word_index_name()} leave min_count at 1, "
                "or pass word_index=None to learn the words from the texts."
            )
        if isinstance(self.word_index, str):  # "imdb"
            word_index = get_word_index(
                data_home=self.data_home, download_if_missing=False
            )
        else:
            word_index = _codec.check_word_index(self.word_index)
        self.word_index_ = {
            word: int(rank)
            for word, rank in word_index.items()
            if limit is None or rank < limit
        }
        return self

    def fit_transform(self, X, y=None):
        """Fit, then encode the same texts; a learned index hashes each word once.

        Parameters
        ----------
        X : sequence of str (or of sequences of int, with a given word index)
            The reviews.
        y : None
            Ignored.

        Returns
        -------
        X_ids : RaggedIds or X
            As :meth:`transform` gives.
        """
        if self.word_index is not None:
            return self.fit(X).transform(X)
        limit = self._check_params()
        self.word_index_, ids = _codec.fit_encode(
            self._training_texts(X),
            min_count=self.min_count,
            max_rank=self._max_rank(limit),
            **self._numbering(),
        )
        return ids

    def _check_params(self):
        """Validate the parameters; the highest rank + 1 that gets an id, or None."""
        self._validate_params()
        # the same checks as encode_review: no bools, ids within int32
        _codec.check_id_param(self.num_words, "num_words", allow_none=True, minimum=1)
        for name in ("index_from", "start_char", "oov_char"):
            marker = _codec.check_id_param(
                getattr(self, name), name, allow_none=name != "index_from"
            )
            if (
                name != "index_from"
                and marker is not None
                and self.num_words is not None
                and marker >= self.num_words
            ):
                raise ValueError(
                    f"{name}={marker} is not below num_words={self.num_words}: every "
                    f"id the encoder gives must be below num_words. Pass num_words > "
                    f"{marker}, or {name}=None."
                )
        return None if self.num_words is None else self.num_words - self.index_from

    @staticmethod
    def _max_rank(limit):
        return None if limit is None else max(limit - 1, 0)

    def _numbering(self):
        return {
            "num_words": self.num_words,
            "index_from": self.index_from,
            "start_char": self.start_char,
            "oov_char": self.oov_char,
        }

    def _word_index_name(self):
        return "'imdb'" if isinstance(self.word_index, str) else "a dict"

    def _training_texts(self, X):
        """The texts a word index is learned from; anything else is refused."""
        if X is None:
            raise TypeError(
                "fit needs the training texts to learn the word index from "
                "(word_index=None): call fit(texts), or pass word_index='imdb' "
                "(Keras' IMDB index) or a dict."
            )
        _, reviews = self._reviews(X)
        if reviews is None:
            reviews = list(X)  # a numeric array: refused below
        if len(reviews) == 0:
            raise ValueError("X holds 0 reviews; at least one text is required.")
        for i, review in enumerate(reviews):
            if not isinstance(review, str):
                raise TypeError(
                    f"Review {i} is a {type(review).__name__}, not a str: a word "
                    "index is learned from raw texts only (word_index=None). To fit "
                    "on the IMDB word ids, pass word_index='imdb'."
                )
        return reviews

    def transform(self, X):
        """Encode the reviews given as text; pass those given as ids through.

        Parameters
        ----------
        X : sequence of str or of sequences of int
            The reviews: raw text, or word-id sequences (left as they are).

        Returns
        -------
        X_ids : RaggedIds of shape (n_reviews,) or X
            Each review's ``int32`` word ids (reviews given as ids among texts
            kept as they are). ``X`` itself when it holds no text.
        """
        check_is_fitted(self)
        X, reviews = self._reviews(X)
        if reviews is None:
            return X  # a numeric array of (padded) id sequences
        is_text = np.fromiter(
            (isinstance(review, str) for review in reviews), bool, len(reviews)
        )
        if not is_text.any():
            return X
        if is_text.all():
            return _codec.encode(reviews, self.word_index_, **self._numbering())
        texts = [reviews[i] for i in np.flatnonzero(is_text)]
        encoded = iter(_codec.encode(texts, self.word_index_, **self._numbering()))
        rows = []
        for i, (review, text) in enumerate(zip(reviews, is_text, strict=True)):
            if text:
                rows.append(next(encoded))
            else:
                try:
                    rows.append(_codec.check_sequence(review))
                except (TypeError, ValueError) as exc:
                    raise type(exc)(f"Review {i}: {exc}") from None
        return RaggedIds.from_rows(rows)

    @staticmethod
    def _reviews(X):
        """``X`` as a 1-d array if it was a one-column table, and its reviews as a
        list (``None`` for a numeric array of ids), checked for shape."""
        if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
            raise TypeError(
                "X must be a sequence of reviews (e.g. a list of str); got "
                f"{type(X).__name__}. Wrap a single review in a list: [review]."
            )
        if hasattr(X, "to_numpy"):  # a pandas Series, or a one-column DataFrame
            X = X.to_numpy()
            if X.ndim == 2 and X.shape[1] == 1:
                X = X[:, 0]
        if isinstance(X, np.ndarray):
            if X.dtype.kind not in "OUS":
                return X, None  # a numeric array of (padded) id sequences
            if X.ndim == 2 and X.shape[1] == 1:  # one column, as ColumnTransformer
                X = X[:, 0]  # selects it from a numpy array
            if X.ndim != 1 and (
                X.dtype.kind in "US" or any(isinstance(v, str) for v in X.flat)
            ):
                raise TypeError(
                    f"X is an array of text of shape {X.shape}; pass the reviews "
                    "as a 1-d array, or a single column of shape (n_reviews, 1)."
                )
        reviews = list(X)
        for i, review in enumerate(reviews):
            if isinstance(review, (bytes, np.bytes_)):
                raise TypeError(
                    f"Review {i} is bytes; decode it to str first "
                    "(e.g. review.decode('utf-8'))."
                )
        return X, reviews

    def inverse_transform(self, X):
        """Decode word-id sequences back to words, as the notebook did.

        Ids below ``index_from`` (padding, start, oov) and ids of no word in
        ``word_index_`` become ``"?"``.

        Parameters
        ----------
        X : RaggedIds or sequence of sequences of int
            The reviews as word ids.

        Returns
        -------
        texts : list of str
            One string per review.
        """
        check_is_fitted(self)
        reverse = _codec.reverse_index(  # built once for all the reviews
            self.word_index_,
            index_from=self.index_from,
            start_char=self.start_char,
            oov_char=self.oov_char,
        )
        if isinstance(X, RaggedIds):
            return _codec.decode_rows(X, reverse)
        texts = []
        for i, review in enumerate(X):
            try:
                review = _codec.check_sequence(review)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"Review {i}: {exc}") from None
            texts.append(_codec.decode(review, reverse))
        return texts

    def get_feature_names_out(self, input_features=None):
        """The word of each id the encoder outputs: position ``i`` names id ``i``.

        This is what :class:`~skimdb.MultiHotVectorizer` next in a pipeline
        names its columns with, so that ``pipe[:-1].get_feature_names_out()``
        gives words.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One entry per id from 0 to the largest id the encoder can output:
            the word, or for the ids of no word ``"<pad>"`` (0), ``"<start>"``
            (``start_char``), ``"<oov>"`` (``oov_char``) and ``"<unused>"``.
        """
        check_is_fitted(self)
        return _codec.id_words(
            self.word_index_,
            index_from=self.index_from,
            start_char=self.start_char,
            oov_char=self.oov_char,
        )

    # --- streaming (skimdb.streaming): the word index from counts merged in chunks --

    def _fit_counts(self, counts):
        """Fit from word counts instead of texts, as :meth:`fit` learns them.

        ``counts`` maps each word to its number of occurrences, in the order in
        which the words first occur (ties keep that order). Counts of chunks
        merged in the chunks' order are that of the whole corpus, so this gives
        exactly the word index ``fit`` learns on the texts of all the chunks.
        Only a learned word index (``word_index=None``) is fitted so.
        """
        limit = self._check_params()
        if self.word_index is not None:
            raise ValueError(
                f"word_index={self._word_index_name()} is given, not learned from "
                "word counts; pass word_index=None."
            )
        self.word_index_ = _codec.rank_words(
            list(counts),
            np.fromiter(counts.values(), np.int64, len(counts)),
            min_count=self.min_count,
            max_rank=self._max_rank(limit),
        )
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    # --- saved state (skimdb.persistence calls these; the check: _text_state) ---

    def _get_saved_state(self):
        """The fitted word index that :func:`skimdb.persistence.save` stores,
        checked as loading will check it."""
        check_is_fitted(self)
        state = {"word_index_": self.word_index_}
        return check_fitted(self, state, _ENCODER_STATE)

    @classmethod
    def _from_saved_state(cls, params, state):
        """A fitted ReviewEncoder from saved parameters and state, each checked.
        Its parameters are checked by a fit on a tiny text or word index: a
        saved model loads offline, never reading or downloading one."""
        step = check_saved_params(cls, params, probe=_probe_fit)
        return restore_fitted(step, state, _ENCODER_STATE)
