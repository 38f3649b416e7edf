"""Text to words, word counts to a word index, word ids to words.

Shared by the loaders (:mod:`skimdb.datasets`), :class:`skimdb.ReviewEncoder`
and :class:`skimdb.MultiHotVectorizer`, so that all split text, rank words and
name word ids the same way. Nothing here reads a file.
"""

import collections

import numpy as np

#: Characters replaced by a space before splitting (Keras' default filters).
_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
#: Only ASCII letters are lowercased: the index was built on byte strings.
_TABLE = str.maketrans(
    {
        **{char: " " for char in _FILTERS},
        **{chr(code): chr(code + 32) for code in range(ord("A"), ord("Z") + 1)},
    }
)
#: The same table for UTF-8 bytes: multi-byte sequences hold no ASCII byte.
_BYTES_TABLE = bytes(
    ord(_TABLE[code]) if code in _TABLE else code for code in range(256)
)
#: Bytes ``bytes.split()`` splits on besides space (tab and newline are gone).
_OTHER_WHITESPACE = (b"\r", b"\x0b", b"\x0c")

#: The names of the ids that stand for no word (see :func:`_id_words`).
PAD, START, OOV, UNUSED = "<pad>", "<start>", "<oov>", "<unused>"


def _tokenize(text):
    """Split a review into words exactly as the Keras IMDB word index did.

    ASCII letters are lowercased (other characters keep their case), each of
    ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~`` and tab and newline becomes a space,
    and the text is split on single spaces, dropping empty strings. So
    ``<br />`` becomes the word ``br`` and apostrophes stay inside words.

    Parameters
    ----------
    text : str
        The review.

    Returns
    -------
    words : list of str
        The words, in order.

    Examples
    --------
    >>> from skimdb._tokenize import _tokenize
    >>> _tokenize("Great film!<br />It's GOOD, Ünique.")
    ['great', 'film', 'br', "it's", 'good', 'Ünique']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}: {text!r}")
    return [word for word in text.translate(_TABLE).split(" ") if word]


def _tokenize_bytes(data):
    """:func:`_tokenize` for UTF-8 encoded text, giving UTF-8 encoded words.

    ``_tokenize_bytes(text.encode()) == [w.encode() for w in _tokenize(text)]``,
    but several times faster, which matters when rebuilding the data set.
    """
    data = data.translate(_BYTES_TABLE)
    if any(char in data for char in _OTHER_WHITESPACE):
        return [word for word in data.split(b" ") if word]
    return data.split()


def _count_words(texts):
    """How often each word occurs in ``texts``, in order of first occurrence.

    Parameters
    ----------
    texts : iterable of str

    Returns
    -------
    counts : collections.Counter
        Word -> number of occurrences (not of documents); its iteration order
        is the order in which the words first occur.
    """
    counts = collections.Counter()
    for text in texts:
        counts.update(_tokenize(text))
    return counts


def _rank_words(counts, *, min_count=1, max_rank=None):
    """A word index from word counts: rank 1 for the most frequent word.

    Ties keep the order of ``counts`` (a stable sort), i.e. of first
    occurrence for :func:`_count_words`: the rule of Keras' ``Tokenizer``,
    which built the IMDB word index.

    Parameters
    ----------
    counts : mapping of str to int
        Word counts, in the order that breaks ties.
    min_count : int, default=1
        Leave out the words counted fewer times.
    max_rank : int or None, default=None
        Keep the ranks up to ``max_rank`` only.

    Returns
    -------
    word_index : dict of str to int

    Examples
    --------
    >>> from skimdb._tokenize import _count_words, _rank_words
    >>> _rank_words(_count_words(["b a b", "c a d"]))
    {'b': 1, 'a': 2, 'c': 3, 'd': 4}
    >>> _rank_words(_count_words(["b a b", "c a d"]), min_count=2)
    {'b': 1, 'a': 2}
    """
    kept = [(word, n) for word, n in counts.items() if n >= min_count]
    kept.sort(key=lambda item: -item[1])  # stable: ties keep their order
    if max_rank is not None:
        kept = kept[:max_rank]
    return {word: rank for rank, (word, _) in enumerate(kept, start=1)}


def _id_words(word_index, *, index_from=3, start_char=1, oov_char=2, size=None):
    """The word of each id: position ``i`` of the result names word id ``i``.

    Word ranked ``r`` has the id ``r + index_from``. The ids of no word are
    named ``"<pad>"`` (0), ``"<start>"`` (``start_char``), ``"<oov>"``
    (``oov_char``) and ``"<unused>"`` (the others); the markers win over a
    word that would have the same id, as they do when decoding.

    Parameters
    ----------
    word_index : dict of str to int
        Word -> rank (from 1).
    index_from, start_char, oov_char : int (or None for the markers)
        The numbering, as in :func:`skimdb.datasets.load_data`.
    size : int or None, default=None
        The length of the table; ``None``: the largest id there is, plus one.

    Returns
    -------
    words : ndarray of object
        One str per id.

    Examples
    --------
    >>> from skimdb._tokenize import _id_words
    >>> _id_words({"the": 1, "film": 2}).tolist()
    ['<pad>', '<start>', '<oov>', '<unused>', 'the', 'film']
    >>> _id_words({"the": 1}, size=7).tolist()[4:]
    ['the', '<unused>', '<unused>']
    """
    markers = [(0, PAD), (start_char, START), (oov_char, OOV)]
    if size is None:
        ids = [i for i, _ in markers if i is not None]
        if word_index:
            ids.append(max(word_index.values()) + index_from)
        size = max(ids) + 1
    words = np.full(size, UNUSED, dtype=object)
    for word, rank in word_index.items():
        i = rank + index_from
        if i < size:
            words[i] = word
    for i, name in markers:
        if i is not None and i < size:
            words[i] = name
    return words
