"""Where the IMDB data comes from: loaders, the word index, decoding.

The data set is read from the data home (see :func:`get_data_home`): Keras'
``imdb.npz``, or the raw ``aclImdb_v1.tar.gz`` with ``imdb_word_index.json``
(rebuilt exactly as Keras built its arrays, then cached), else downloaded from
Keras' address. Neither Keras nor TensorFlow is imported.
"""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from skimdb import _codec
from skimdb.datasets._home import get_data_home
from skimdb.datasets._keras import _apply_load_data, _check_load_params
from skimdb.datasets._sources import (
    IMDBDataNotFoundError,
    _load_raw,
    _load_texts,
    _load_word_index,
)

__all__ = [
    "IMDBDataNotFoundError",
    "decode_review",
    "encode_review",
    "fetch_imdb",
    "get_data_home",
    "get_word_index",
    "load_data",
]

_SUBSETS = ("train", "test", "all")


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}: {value!r}")
    return bool(value)


def load_data(
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    *,
    data_home=None,
    download_if_missing=True,
):
    """Load the IMDB data set exactly as ``keras.datasets.imdb.load_data`` does.

    The values, order and types equal Keras' for the same arguments: the
    reviews of each split are shuffled with ``np.random.RandomState(seed)``
    (train first, then test, with the same generator), ``start_char`` is put
    first, ``index_from`` is added to each word's rank, reviews of length
    ``>= maxlen`` (start mark included) are dropped, and ids outside
    ``[skip_top, num_words)`` become ``oov_char`` (or are dropped when
    ``oov_char`` is None). As in Keras, ``num_words=None`` means "the largest
    id over train and test", so that single largest id becomes
    ``oov_char`` too.

    Parameters
    ----------
    num_words : int or None, default=None
        Keep ids below ``num_words`` (the ``num_words - index_from`` most
        frequent words); others become ``oov_char``. At least 1.
    skip_top : int, default=0
        Ids below ``skip_top`` become ``oov_char``. Note that, as in Keras, it
        compares against ids after the ``index_from`` offset, and the start
        mark counts too.
    maxlen : int or None, default=None
        Drop the reviews whose length (start mark included) is ``maxlen`` or
        more. At least 1. ``None`` keeps all of them.
    seed : int or None, default=113
        Seed of the shuffle. ``None`` shuffles differently at each call.
    start_char : int or None, default=1
        The id put at the start of each review; ``None`` puts none.
    oov_char : int or None, default=2
        The id of out-of-vocabulary words; ``None`` drops them instead.
    index_from : int, default=3
        Added to every word's rank, leaving room for the padding, start and
        out-of-vocabulary ids. When ``start_char`` is None and ``index_from``
        is 0, ids are the ranks.
    data_home : str or path-like, default=None
        The folder holding the data (see :func:`get_data_home`).
    download_if_missing : bool, default=True
        Whether to download Keras' ``imdb.npz`` into ``data_home`` when the
        data is not found there (nor in Keras' own folder).

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuple of tuples of ndarray
        ``x_*`` are 1-D object arrays of lists of Python ints (25,000 reviews
        each unless ``maxlen`` drops some), ``y_*`` are int64 labels (1 for
        positive, 0 for negative).

    Raises
    ------
    IMDBDataNotFoundError
        When the data is not found and can't be (or may not be) downloaded.
    ValueError
        When an argument is out of range, or ``maxlen`` drops every review
        of a split.
    TypeError
        When an argument has the wrong type.

    See Also
    --------
    fetch_imdb : The same data, scikit-learn style.
    decode_review : Turn a review back into words.

    Notes
    -----
    Keras' ``np.array(lists, dtype="object")`` gives a 2-D array when every
    kept review has the same length (e.g. a tiny ``maxlen``); here ``x_*`` are
    always 1-D arrays of lists.

    Examples
    --------
    >>> from skimdb.datasets import load_data
    >>> (x_train, y_train), (x_test, y_test) = load_data(
    ...     num_words=10000)  # doctest: +SKIP
    >>> x_train[0][:10]  # doctest: +SKIP
    [1, 14, 22, 16, 43, 530, 973, 1622, 1385, 65]
    """
    params = _check_load_params(
        num_words=num_words,
        skip_top=skip_top,
        maxlen=maxlen,
        seed=seed,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
    )
    download_if_missing = _check_bool(download_if_missing, "download_if_missing")
    raw = _load_raw(get_data_home(data_home), download_if_missing)
    return _apply_load_data(raw, **params)


def fetch_imdb(
    *,
    subset="train",
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    text=False,
):
    """Load the IMDB sentiment data set (classification), scikit-learn style.

    =================   ===============================
    Classes                                           2
    Samples (train)                              25,000
    Samples (test)                               25,000
    Samples (all)                                50,000
    Features            lists of word ids, or raw text
    =================   ===============================

    The reviews are those of :func:`load_data` with the same arguments, in
    the same order. With ``text=True`` they are the raw review texts, in the
    order of ``load_data(seed=seed)``'s reviews (``data[i]`` is the text of
    review ``i``), with their star ratings, read from Stanford's
    ``aclImdb_v1.tar.gz`` in ``data_home`` (downloaded from
    https://ai.stanford.edu/~amaas/data/sentiment/ and checked against its
    sha256 when it is missing).

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which reviews: the training ones, the test ones, or both (train then
        test).
    num_words, skip_top, maxlen, seed, start_char, oov_char, index_from
        As in :func:`load_data`. With ``text=True`` only ``seed`` applies: the
        others shape word ids and must keep their defaults.
    data_home : str or path-like, default=None
        The folder holding the data (see :func:`get_data_home`).
    download_if_missing : bool, default=True
        Whether to download the data into ``data_home`` when it is missing.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    text : bool, default=False
        If True, ``data`` holds the raw review texts (a list of str) and the
        Bunch gains ``rating``; else the word ids of :func:`load_data`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of object, shape (n_samples,), or list of str
            The reviews, each a list of word ids; with ``text=True`` a list of
            the raw texts (HTML line breaks ``<br />`` included, as in the
            files).
        target : ndarray of int64, shape (n_samples,)
            1 for a positive review, 0 for a negative one.
        rating : ndarray of int64, shape (n_samples,)
            Only with ``text=True``: the reviewer's star rating, 1 to 4 for a
            negative review and 7 to 10 for a positive one (reviews rated 5
            or 6 are not in the data set).
        target_names : ndarray of str, shape (2,)
            ``["neg", "pos"]``.
        DESCR : str
            A description of the data set.

    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skimdb.datasets import fetch_imdb
    >>> X, y = fetch_imdb(num_words=10000, return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.mean()  # doctest: +SKIP
    ((25000,), 0.5)
    >>> reviews = fetch_imdb(subset="test", text=True)  # doctest: +SKIP
    >>> len(reviews.data), sorted(set(reviews.rating))  # doctest: +SKIP
    (25000, [1, 2, 3, 4, 7, 8, 9, 10])
    """
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise ValueError(
            f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}"
        )
    return_X_y = _check_bool(return_X_y, "return_X_y")
    if _check_bool(text, "text"):
        ids_params = {
            "num_words": (num_words, None),
            "skip_top": (skip_top, 0),
            "maxlen": (maxlen, None),
            "start_char": (start_char, 1),
            "oov_char": (oov_char, 2),
            "index_from": (index_from, 3),
        }
        changed = [
            f"{name}={value!r}"
            for name, (value, default) in ids_params.items()
            if value is not default and value != default
        ]
        if changed:
            raise ValueError(
                f"{', '.join(changed)} shape word ids, but text=True returns the "
                "raw texts: leave them out (encode the texts with "
                "skimdb.ReviewEncoder), or pass text=False."
            )
        seed = _check_load_params(
            num_words=None,
            skip_top=0,
            maxlen=None,
            seed=seed,
            start_char=1,
            oov_char=2,
            index_from=3,
        )["seed"]
        download_if_missing = _check_bool(download_if_missing, "download_if_missing")
        splits = _load_texts(get_data_home(data_home), download_if_missing)
        return _text_bunch(splits, subset, seed, return_X_y)
    (x_train, y_train), (x_test, y_test) = load_data(
        num_words=num_words,
        skip_top=skip_top,
        maxlen=maxlen,
        seed=seed,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
        data_home=data_home,
        download_if_missing=download_if_missing,
    )
    if subset == "train":
        data, target = x_train, y_train
    elif subset == "test":
        data, target = x_test, y_test
    else:
        data = np.concatenate([x_train, x_test])
        target = np.concatenate([y_train, y_test])
    if return_X_y:
        return data, target
    descr = resources.files("skimdb.datasets").joinpath("descr", "imdb.rst")
    return Bunch(
        data=data,
        target=target,
        target_names=np.array(["neg", "pos"]),
        DESCR=descr.read_text(encoding="utf-8"),
    )


def _text_bunch(splits, subset, seed, return_X_y):
    """fetch_imdb(text=True)'s result from the raw text splits (Keras' order)."""
    rng = np.random.RandomState(seed)  # the shuffles of load_data, in its order
    parts = []
    for split in splits:
        order = np.arange(len(split.labels))
        rng.shuffle(order)
        texts = split.texts()
        parts.append(
            ([texts[i] for i in order], split.labels[order], split.ratings[order])
        )
    if subset == "train":
        data, target, rating = parts[0]
    elif subset == "test":
        data, target, rating = parts[1]
    else:
        data = parts[0][0] + parts[1][0]
        target = np.concatenate([parts[0][1], parts[1][1]])
        rating = np.concatenate([parts[0][2], parts[1][2]])
    if return_X_y:
        return data, target
    descr = resources.files("skimdb.datasets").joinpath("descr", "imdb.rst")
    return Bunch(
        data=data,
        target=target,
        rating=rating,
        target_names=np.array(["neg", "pos"]),
        DESCR=descr.read_text(encoding="utf-8"),
    )


def get_word_index(*, data_home=None, download_if_missing=True):
    """Return Keras' IMDB word index: word -> frequency rank (from 1).

    It is read from ``imdb_word_index.json`` in the data home, else from
    Keras' own folder (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``, if
    its md5 is Keras'), else downloaded into the data home. The ids in
    :func:`load_data`'s reviews are these ranks plus ``index_from``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder holding the data (see :func:`get_data_home`).
    download_if_missing : bool, default=True
        Whether to download the word index when it is missing.

    Returns
    -------
    word_index : dict of str to int
        88,584 words, ``"the"`` ranked 1. A fresh copy at each call.

    Examples
    --------
    >>> from skimdb.datasets import get_word_index
    >>> get_word_index()["the"]  # doctest: +SKIP
    1
    """
    download_if_missing = _check_bool(download_if_missing, "download_if_missing")
    return dict(_load_word_index(get_data_home(data_home), download_if_missing))


def _resolve_word_index(word_index, data_home):
    if word_index is None:
        return _load_word_index(get_data_home(data_home), True)
    return _codec.check_word_index(word_index)


def decode_review(
    sequence, *, index_from=3, start_char=1, oov_char=2, word_index=None, data_home=None
):
    """Turn a review given as word ids back into (lowercased) words.

    Each id ``i`` becomes the word ranked ``i - index_from`` in the word
    index. Ids without a word become ``"?"``: those below ``index_from`` (0
    padding, 1 start, 2 out-of-vocabulary, 3 unused by default), ``start_char``,
    ``oov_char`` and ids beyond the vocabulary.

    Parameters
    ----------
    sequence : sequence of int
        A review, e.g. ``x_train[0]`` from :func:`load_data`.
    index_from : int, default=3
        The offset the ids were made with.
    start_char : int or None, default=1
        The start mark, shown as ``"?"``.
    oov_char : int or None, default=2
        The out-of-vocabulary id, shown as ``"?"``.
    word_index : dict of str to int, default=None
        The word index; ``None`` uses :func:`get_word_index`.
    data_home : str or path-like, default=None
        Where to find the word index when ``word_index`` is None.

    Returns
    -------
    text : str
        The words joined by single spaces.

    Examples
    --------
    >>> from skimdb.datasets import decode_review
    >>> decode_review([1, 4, 5, 2, 6], word_index={"the": 1, "film": 2, "was": 3})
    '? the film ? was'
    """
    ids = _codec.check_sequence(sequence)
    index_from = _codec.check_id_param(index_from, "index_from", allow_none=False)
    start_char = _codec.check_id_param(start_char, "start_char", allow_none=True)
    oov_char = _codec.check_id_param(oov_char, "oov_char", allow_none=True)
    word_index = _resolve_word_index(word_index, data_home)
    return _codec.decode(
        ids,
        _codec.reverse_index(
            word_index, index_from=index_from, start_char=start_char, oov_char=oov_char
        ),
    )


def encode_review(
    text,
    *,
    num_words=None,
    index_from=3,
    start_char=1,
    oov_char=2,
    word_index=None,
    data_home=None,
):
    """Turn raw review text into word ids the way :func:`load_data` numbers them.

    The text is split into words exactly as the word index was built (ASCII
    letters lowercased, punctuation and ``<br />`` markup split off). Each
    word becomes ``rank + index_from``; words missing from the word index, or
    whose id would be ``num_words`` or more, become ``oov_char`` (or are
    dropped when it is None). ``start_char`` is put first.

    Parameters
    ----------
    text : str
        The review.
    num_words : int or None, default=None
        Ids of ``num_words`` or more become ``oov_char``.
    index_from : int, default=3
        Added to every word's rank.
    start_char : int or None, default=1
        The id put first; ``None`` puts none.
    oov_char : int or None, default=2
        The id of unknown or too rare words; ``None`` drops them.
    word_index : dict of str to int, default=None
        The word index; ``None`` uses :func:`get_word_index`.
    data_home : str or path-like, default=None
        Where to find the word index when ``word_index`` is None.

    Returns
    -------
    ids : list of int
        The review's word ids.

    Examples
    --------
    >>> from skimdb.datasets import encode_review
    >>> encode_review("The film, the END.", word_index={"the": 1, "film": 2})
    [1, 4, 5, 4, 2]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}: {text!r:.60}")
    num_words = _codec.check_id_param(
        num_words, "num_words", allow_none=True, minimum=1
    )
    index_from = _codec.check_id_param(index_from, "index_from", allow_none=False)
    start_char = _codec.check_id_param(start_char, "start_char", allow_none=True)
    oov_char = _codec.check_id_param(oov_char, "oov_char", allow_none=True)
    word_index = _resolve_word_index(word_index, data_home)
    return _codec.encode(
        [text],
        word_index,
        num_words=num_words,
        index_from=index_from,
        start_char=start_char,
        oov_char=oov_char,
        n_threads=1,
    )[0].tolist()
