"""The one text codec: text to words, word counts to a word index, text to word
ids and word ids back to words, compiled underneath (Arrow's compute kernels).

Shared by the loaders (:mod:`skimdb.datasets`), :class:`skimdb.ReviewEncoder`,
:class:`skimdb.MultiHotVectorizer` and the inspection, so that all split text,
rank words and name word ids the same way. Nothing here reads a file.

The rule is the one Keras' IMDB word index was built with: each of Keras'
filters (``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~`` and tab and newline) becomes a
space, ASCII letters (only those) are lowercased, and the text is split on
single spaces, dropping empty words. ``\\r``, ``\\x0b``, ``\\x0c`` and the
Unicode spaces are not separators.

How it runs, with no Python loop per word and no Python object per word id:
the reviews go into one Arrow binary array per chunk of reviews; its UTF-8 bytes
are translated with one 256-byte table (``bytes.translate``: a multi-byte UTF-8
sequence holds no ASCII byte, so only ASCII characters change); Arrow splits
them into words and hashes each chunk's words (``dictionary_encode``); the
chunk's distinct words are looked up in the vocabulary (``index_in``) and each
word's id is read from a table with numpy. Chunks run in threads (Arrow and
numpy release the GIL); their results are put back in order, so the output
does not depend on the number of threads. Measured against Hugging Face
``tokenizers`` (a ``WordLevel`` model behind a custom normalizer): that returns
one Python object per review with a Python list of ids, and was 10x slower on
the IMDB reviews.

Examples
--------
>>> from skimdb import _codec
>>> _codec.tokenize("Great film!<br />It's GOOD, Ünique.")
['great', 'film', 'br', "it's", 'good', 'Ünique']
>>> words, counts = _codec.count_words(["b a b", "c a d"])
>>> words, counts.tolist()
(['b', 'a', 'c', 'd'], [2, 2, 1, 1])
>>> _codec.encode(["a c", "x"], {"a": 1, "c": 2}).tolist()
[[1, 4, 5], [1, 2]]
"""

import concurrent.futures
import ctypes
import ctypes.util
import numbers
import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from skimdb._ragged import RaggedIds, compress, offsets_from_lengths, prepend

__all__ = [
    "FILTERS",
    "OOV",
    "PAD",
    "START",
    "UNKNOWN",
    "UNUSED",
    "check_id_param",
    "check_sequence",
    "check_word_index",
    "count_words",
    "decode",
    "encode",
    "fit_encode",
    "id_words",
    "lookup_words",
    "rank_words",
    "release_freed",
    "reverse_index",
    "thread_map",
    "tokenize",
]

#: Characters replaced by a space before splitting (Keras' default filters).
FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
#: Only ASCII letters are lowercased: the index was built on byte strings.
_BYTES_TABLE = bytes(
    32 if chr(code) in FILTERS else code + 32 if 65 <= code <= 90 else code
    for code in range(256)
)
#: ASCII whitespace besides space, tab and newline: not separators, though
#: Arrow's ``ascii_split_whitespace`` (the faster split) splits on them.
_OTHER_WHITESPACE = (b"\r", b"\x0b", b"\x0c")

#: The names of the ids that stand for no word (see :func:`id_words`).
PAD, START, OOV, UNUSED = "<pad>", "<start>", "<oov>", "<unused>"
#: What ids without a word (padding, start, out-of-vocabulary, unknown) decode to.
UNKNOWN = "?"

_INT32_MAX = int(np.iinfo(np.int32).max)
#: Reviews per chunk: a few MB of text, the unit of work of a thread. Fixed, so
#: that the chunks (and the result) do not depend on the number of threads.
_CHUNK = 4096
#: What a word's entry in an id table holds when the word is dropped.
_DROP = -1


def _memory_pool():
    """Arrow's jemalloc pool returning freed pages at once (decay 0), else the C
    library's malloc: with jemalloc's default decay (1 s) or mimalloc, each
    chunk's freed buffers stayed resident, 30-80 MB more peak memory on 100,000
    reviews (glibc's malloc also keeps them in its arenas)."""
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, pa.ArrowException):
        return pa.system_memory_pool()
    return pool


_POOL = _memory_pool()


def _malloc_trim():
    """glibc's ``malloc_trim``, or None elsewhere."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def release_freed():
    """Give freed memory back to the system: Arrow's pool's and the C library's.

    The chunks' Python bytes and numpy temporaries (a few MB each) come from
    glibc's malloc, which keeps them in its arenas once freed (80 MB on 200,000
    reviews), and jemalloc keeps some of its pages: memory that stays resident
    under the steps that follow (the vectorizer, the fit) and so adds to the
    pipeline's peak. It costs about a millisecond.
    """
    _POOL.release_unused()
    if _TRIM is not None:
        _TRIM(0)


# -- checks -----------------------------------------------------------------------


def check_id_param(value, name, *, allow_none, minimum=0):
    """Validate an integer parameter and return it as a Python int (or None)."""
    if value is None:
        if allow_none:
            return None
        raise TypeError(f"{name} must be an int, got None")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        kind = "an int or None" if allow_none else "an int"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}: {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if value > _INT32_MAX:
        raise ValueError(f"{name} must be < 2**31, got {value}")
    return value


def check_word_index(word_index):
    """Validate a word index: a dict mapping str words to int ranks >= 1."""
    if not isinstance(word_index, dict):
        raise TypeError(
            "word_index must be a dict mapping words to ranks, "
            f"got {type(word_index).__name__}"
        )
    for word, rank in word_index.items():
        if type(word) is str and type(rank) is int and 1 <= rank <= _INT32_MAX:
            continue  # the common case, checked cheaply (88,584 words per call)
        if (
            not isinstance(word, str)
            or isinstance(rank, bool)
            or not isinstance(rank, numbers.Integral)
            or not 1 <= rank <= _INT32_MAX
        ):
            raise ValueError(
                "word_index must map str words to int ranks >= 1 (and < 2**31), "
                f"got {word!r}: {rank!r}"
            )
    return word_index


def check_sequence(sequence):
    """Validate a sequence of word ids and return it as a list of Python ints."""
    if isinstance(sequence, (str, bytes)):
        raise TypeError(
            "sequence must be a sequence of int word ids, got a "
            f"{type(sequence).__name__}; use encode_review to turn text into ids"
        )
    if not isinstance(sequence, np.ndarray) and (
        isinstance(sequence, (set, frozenset, dict)) or not hasattr(sequence, "__len__")
    ):
        raise TypeError(
            "sequence must be a sequence of int word ids (a list, tuple or 1-d "
            f"array), got {type(sequence).__name__}: {sequence!r:.60}"
        )
    array = np.asarray(sequence) if not isinstance(sequence, np.ndarray) else sequence
    if array.ndim != 1:
        raise ValueError(
            f"sequence must be one-dimensional, got an array of shape {array.shape}"
        )
    if array.dtype == object:
        bad = [
            v
            for v in array
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral)
        ]
        if bad:
            raise TypeError(
                f"sequence must hold int word ids, got {type(bad[0]).__name__}: "
                f"{bad[0]!r}"
            )
        ids = [int(v) for v in array]
    elif array.size == 0:
        ids = []
    elif np.issubdtype(array.dtype, np.integer):
        ids = array.tolist()
    else:
        raise TypeError(f"sequence must hold int word ids, got dtype {array.dtype}")
    negative = [v for v in ids if v < 0]
    if negative:
        raise ValueError(f"sequence must hold word ids >= 0, got {negative[0]}")
    return ids


# -- text to words ------------------------------------------------------------------


def _binary(texts):
    """The reviews (str) as one Arrow ``large_binary`` array of their UTF-8 bytes,
    translated: filters to spaces, ASCII letters lowercased; and whether they hold
    whitespace other than spaces (which is not a separator)."""
    # str.encode, not pa.array(texts): Arrow reads a str through its cached UTF-8
    # form, which CPython then keeps inside every non-ASCII str for its lifetime
    # (80 MB more resident on 100,000 synthetic reviews). "surrogatepass" keeps a
    # lone surrogate (which Python's str allows), as str.split does.
    encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
    offsets = offsets_from_lengths(np.fromiter(map(len, encoded), np.int64, len(texts)))
    translated = b"".join(encoded).translate(_BYTES_TABLE)
    del encoded
    other_whitespace = any(char in translated for char in _OTHER_WHITESPACE)
    binary = pa.Array.from_buffers(
        pa.large_binary(),
        len(texts),
        [None, pa.py_buffer(offsets), pa.py_buffer(translated)],
    )
    return binary, other_whitespace


def _split(translated, other_whitespace):
    """The words of translated reviews: (words, number of words per review), empty
    words included (they are dropped later, by the id table)."""
    if other_whitespace:
        lists = pc.split_pattern(translated, " ", memory_pool=_POOL)
    else:  # splits on runs of spaces: fewer empty words, same words
        lists = pc.ascii_split_whitespace(
            translated.view(pa.large_string()), memory_pool=_POOL
        )
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    words = pc.list_flatten(lists, memory_pool=_POOL)
    if words.type != pa.large_binary():
        words = words.view(pa.large_binary())
    return words, lengths.astype(np.int64)


def _words_of_chunk(texts):
    """A chunk's words hashed: (index of each word in ``distinct``, distinct words
    in order of first occurrence, number of words per review)."""
    words, lengths = _split(*_binary(texts))
    encoded = pc.dictionary_encode(words, memory_pool=_POOL)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return indices, encoded.dictionary, lengths


def _chunks(texts):
    return [texts[i : i + _CHUNK] for i in range(0, len(texts), _CHUNK)] or [texts]


def thread_map(function, items, n_threads=None):
    """``function`` over ``items`` in up to ``n_threads`` threads (None: one per
    CPU), the results in the order of ``items``."""
    n_threads = _n_threads(n_threads, len(items))
    if n_threads == 1:
        return [function(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(n_threads) as pool:
        return list(pool.map(function, items))


def _n_threads(n_threads, n_items):
    if n_threads is None:
        n_threads = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count()
        )
    return max(1, min(int(n_threads or 1), n_items))


def _str_words(binary_words):
    """Arrow binary words as a list of str (Python objects per vocabulary word only)."""
    return [word.decode("utf-8", "surrogatepass") for word in binary_words.to_pylist()]


def tokenize(text):
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
    >>> from skimdb._codec import tokenize
    >>> tokenize("Great film!<br />It's GOOD, Ünique.")
    ['great', 'film', 'br', "it's", 'good', 'Ünique']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}: {text!r}")
    words, _ = _split(*_binary([text]))
    return [word for word in _str_words(words) if word]


# -- counting and ranking -----------------------------------------------------------


def _merge(distinct_per_chunk):
    """The distinct words of all chunks in order of first occurrence, and for each
    chunk the position of each of its distinct words among them."""
    merged = pc.dictionary_encode(
        pa.chunked_array(distinct_per_chunk, pa.large_binary())
    )
    positions = [
        chunk.indices.to_numpy(zero_copy_only=False) for chunk in merged.chunks
    ]
    dictionary = (
        merged.chunks[0].dictionary
        if merged.num_chunks
        else pa.array([], pa.large_binary())
    )
    return dictionary, positions


def _count(chunk_results):
    """Words in first-occurrence order and their counts, empty word left out; the
    mask of the merged words kept, and each chunk's distinct words' positions."""
    dictionary, positions = _merge([distinct for _, distinct, _ in chunk_results])
    counts = np.zeros(len(dictionary), np.int64)
    for (indices, distinct, _), where in zip(chunk_results, positions, strict=True):
        counts[where] += np.bincount(indices, minlength=len(distinct))
    keep = pc.not_equal(pc.binary_length(dictionary), 0).to_numpy(zero_copy_only=False)
    return dictionary.filter(pa.array(keep)), counts[keep], keep, positions


def count_words(texts, *, n_threads=None):
    """How often each word occurs in ``texts``, in order of first occurrence.

    Parameters
    ----------
    texts : sequence of str
    n_threads : int or None, default=None
        Threads to count with (None: one per CPU); the result is the same.

    Returns
    -------
    words : list of str
        The distinct words, in the order in which they first occur.
    counts : ndarray of int64
        The number of occurrences (not of documents) of each word.
    """
    chunk_results = thread_map(_words_of_chunk, _chunks(list(texts)), n_threads)
    words, counts, _, _ = _count(chunk_results)
    return _str_words(words), counts


def number_words(texts, *, n_threads=None):
    """:func:`count_words`, and each text as the positions of its words in it.

    What a chunked reader needs to merge chunks' counts without splitting the
    text twice (:mod:`skimdb.streaming`).

    Parameters
    ----------
    texts : sequence of str
    n_threads : int or None, default=None
        Threads to count with (None: one per CPU); the result is the same.

    Returns
    -------
    words : list of str
        The distinct words, in the order in which they first occur.
    counts : ndarray of int64
        The number of occurrences of each word.
    positions : RaggedIds
        One row per text: each of its words as its position in ``words``.

    Examples
    --------
    >>> from skimdb._codec import number_words
    >>> words, counts, positions = number_words(["b a b", "", "c a"])
    >>> words, counts.tolist(), positions.tolist()
    (['b', 'a', 'c'], [2, 2, 1], [[0, 1, 0], [], [2, 1]])
    """
    chunk_results = thread_map(_words_of_chunk, _chunks(list(texts)), n_threads)
    dictionary, counts, keep, positions = _count(chunk_results)
    position = np.cumsum(keep, dtype=np.int64).astype(np.int32) - 1
    position[~keep] = _DROP  # the empty word

    def work(i):
        indices, _, lengths = chunk_results[i]
        chunk_results[i] = None
        return _finish(indices, lengths, position[positions[i]], None)

    parts = thread_map(work, range(len(chunk_results)), n_threads)
    return _str_words(dictionary), counts, _join(parts)


def rank_words(words, counts, *, min_count=1, max_rank=None):
    """A word index from word counts: rank 1 for the most frequent word.

    Ties keep the order of ``words`` (a stable sort), i.e. of first occurrence
    for :func:`count_words`: the rule of Keras' ``Tokenizer``, which built the
    IMDB word index.

    Parameters
    ----------
    words : sequence of str
        The words, in the order that breaks ties.
    counts : array-like of int
        Their counts.
    min_count : int, default=1
        Leave out the words counted fewer times.
    max_rank : int or None, default=None
        Keep the ranks up to ``max_rank`` only.

    Returns
    -------
    word_index : dict of str to int

    Examples
    --------
    >>> from skimdb._codec import count_words, rank_words
    >>> rank_words(*count_words(["b a b", "c a d"]))
    {'b': 1, 'a': 2, 'c': 3, 'd': 4}
    >>> rank_words(*count_words(["b a b", "c a d"]), min_count=2)
    {'b': 1, 'a': 2}
    """
    order = _rank_order(np.asarray(counts, np.int64), min_count, max_rank)
    return {words[i]: rank for rank, i in enumerate(order.tolist(), start=1)}


def _rank_order(counts, min_count, max_rank):
    """Positions of the kept words, most frequent first, ties in given order."""
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] >= min_count]
    return order if max_rank is None else order[:max_rank]


# -- words to ids -------------------------------------------------------------------


def _id_table(distinct, vocabulary, vocabulary_ids, oov):
    """The id of each of ``distinct`` (binary words): its vocabulary id, ``oov``
    for an unknown word, ``_DROP`` for the empty word."""
    where = pc.index_in(distinct, value_set=vocabulary).to_numpy(zero_copy_only=False)
    # index_in gives nulls (NaN as floats) for unknown words
    known = ~np.isnan(where) if where.dtype.kind == "f" else np.ones(len(where), bool)
    table = np.full(len(distinct), oov, np.int32)
    table[known] = vocabulary_ids[where[known].astype(np.int64)]
    empty = pc.equal(pc.binary_length(distinct), 0).to_numpy(zero_copy_only=False)
    table[empty] = _DROP
    return table


def _finish(indices, lengths, table, start_char):
    """A chunk's ids from its word indices and id table: dropped words removed,
    ``start_char`` put first."""
    ids = table[indices]
    offsets = offsets_from_lengths(lengths)
    keep = ids != _DROP
    if not keep.all():
        ids, offsets = compress(ids, offsets, keep)
    if start_char is not None:
        ids, offsets = prepend(ids, offsets, start_char)
    return ids, offsets


def _fill(out, indices, lengths, table, start_char):
    """:func:`_finish` written into ``out`` (sized for it); the rows' lengths."""
    if start_char is None and out.size == indices.size:  # nothing dropped
        np.take(table, indices, out=out)
        return lengths
    ids = table[indices]
    keep = ids != _DROP
    if not keep.all():
        ids, offsets = compress(ids, offsets_from_lengths(lengths), keep)
        lengths = np.diff(offsets)
    if start_char is None:
        out[:] = ids
        return lengths
    heads = offsets_from_lengths(lengths)[:-1] + np.arange(lengths.size)
    out[heads] = start_char
    body = np.ones(out.size, bool)
    body[heads] = False
    out[body] = ids
    return lengths + 1


def _vocabulary(word_index, *, num_words, index_from):
    """The words of ``word_index`` that can get an id (Arrow binary), and the ids."""
    limit = None if num_words is None else num_words - index_from
    words, ids = [], []
    for word, rank in word_index.items():
        if word and (limit is None or rank < limit):
            words.append(word.encode("utf-8", "surrogatepass"))
            ids.append(rank + index_from)
    return pa.array(words, pa.large_binary()), np.array(ids, np.int32)


def _join(parts):
    """Chunks of (ids, offsets) as one :class:`RaggedIds`; ``parts`` is emptied as
    it is copied, so that the peak memory is the result's plus one chunk's."""
    if len(parts) == 1:
        return RaggedIds(*parts.pop())
    lengths = np.concatenate([np.diff(offsets) for _, offsets in parts])
    offsets = offsets_from_lengths(lengths)
    values = np.empty(int(offsets[-1]), np.int32)  # pages touched as filled
    at = 0
    for i in range(len(parts)):
        ids, _ = parts[i]
        parts[i] = None
        values[at : at + ids.size] = ids
        at += ids.size
    return RaggedIds(values, offsets)


def _markers(start_char, oov_char):
    return start_char, _DROP if oov_char is None else oov_char


def encode(
    texts,
    word_index,
    *,
    num_words=None,
    index_from=3,
    start_char=1,
    oov_char=2,
    n_threads=None,
):
    """Turn texts into word ids the way ``load_data`` numbers them.

    Each word becomes ``rank + index_from``; words missing from ``word_index``,
    or whose id would be ``num_words`` or more, become ``oov_char`` (or are
    dropped when it is None). ``start_char`` (unless None) comes first.

    Parameters
    ----------
    texts : sequence of str
        The reviews.
    word_index : dict of str to int
        Word -> rank (from 1), checked.
    num_words, index_from, start_char, oov_char : int or None
        The numbering, checked, as in :func:`skimdb.datasets.load_data`.
    n_threads : int or None, default=None
        Threads to encode with (None: one per CPU); the result is the same.

    Returns
    -------
    ids : RaggedIds
        One row of ``int32`` ids per review.
    """
    vocabulary, vocabulary_ids = _vocabulary(
        word_index, num_words=num_words, index_from=index_from
    )
    start, oov = _markers(start_char, oov_char)

    def work(chunk):
        indices, distinct, lengths = _words_of_chunk(chunk)
        return _finish(
            indices,
            lengths,
            _id_table(distinct, vocabulary, vocabulary_ids, oov),
            start,
        )

    ids = _join(thread_map(work, _chunks(list(texts)), n_threads))
    release_freed()
    return ids


def lookup_words(texts, word_index, *, n_threads=None):
    """Each word's rank in ``word_index``, 0 for a word missing from it.

    Parameters
    ----------
    texts : sequence of str
    word_index : dict of str to int
    n_threads : int or None, default=None

    Returns
    -------
    ranks : RaggedIds
        One row of ``int32`` ranks per review, a 0 for each unknown word.
    """
    return encode(
        texts,
        word_index,
        index_from=0,
        start_char=None,
        oov_char=0,
        n_threads=n_threads,
    )


def fit_encode(
    texts,
    *,
    min_count=1,
    max_rank=None,
    num_words=None,
    index_from=3,
    start_char=1,
    oov_char=2,
    n_threads=None,
):
    """Learn a word index from ``texts`` (:func:`rank_words` of
    :func:`count_words`) and encode them with it (:func:`encode`), hashing each
    word once.

    Returns
    -------
    word_index : dict of str to int
    ids : RaggedIds
    """

    def count(chunk):
        indices, distinct, lengths = _words_of_chunk(chunk)
        return indices, distinct, lengths, np.bincount(indices, minlength=len(distinct))

    chunk_results = thread_map(count, _chunks(list(texts)), n_threads)
    dictionary, positions = _merge([distinct for _, distinct, _, _ in chunk_results])
    counts = np.zeros(len(dictionary), np.int64)
    for (_, _, _, chunk_counts), where in zip(chunk_results, positions, strict=True):
        counts[where] += chunk_counts
    empty = pc.equal(pc.binary_length(dictionary), 0).to_numpy(zero_copy_only=False)
    counts[empty] = -1  # never ranked
    order = _rank_order(counts, max(min_count, 0), max_rank)
    order = order[counts[order] > 0]
    start, oov = _markers(start_char, oov_char)
    table = np.full(len(dictionary), oov, np.int32)
    ids = np.arange(1, order.size + 1, dtype=np.int64) + index_from
    usable = ids < (np.inf if num_words is None else num_words)
    table[order[usable]] = ids[usable]
    table[empty] = _DROP
    del counts, ids, usable, empty
    # each chunk's word occurrences that get an id (the others are dropped)
    n_kept = [
        int(chunk_counts[table[where] != _DROP].sum())
        for (_, _, _, chunk_counts), where in zip(chunk_results, positions, strict=True)
    ]
    # Each chunk's ids are written into their place in one array (sized from the
    # counts): the peak holds the word indices left and the ids written, about
    # one copy of the result, instead of the chunks' ids and then their join.
    n_rows = [lengths.size for _, _, lengths, _ in chunk_results]
    sizes = np.array(n_kept, np.int64) + (0 if start is None else np.array(n_rows))
    at = np.concatenate(([0], np.cumsum(sizes)))
    values = np.empty(int(at[-1]), np.int32)  # pages touched as filled
    lengths_out = [None] * len(chunk_results)

    def work(i):
        indices, _, lengths, _ = chunk_results[i]
        chunk_results[i] = None  # each chunk's word indices freed once encoded
        out = values[at[i] : at[i + 1]]
        lengths_out[i] = _fill(out, indices, lengths, table[positions[i]], start)

    thread_map(work, range(len(chunk_results)), n_threads)
    offsets = offsets_from_lengths(np.concatenate(lengths_out))
    words = _str_words(dictionary.take(pa.array(order)))
    word_index = {word: rank for rank, word in enumerate(words, start=1)}
    release_freed()
    return word_index, RaggedIds(values, offsets)


# -- ids to words -------------------------------------------------------------------


def reverse_index(word_index, *, index_from, start_char, oov_char):
    """Word id to word, for :func:`decode`; the markers have no word."""
    reverse = {rank + index_from: word for word, rank in word_index.items()}
    for marker in (start_char, oov_char):
        if marker is not None:
            reverse.pop(marker, None)
    return reverse


def decode(ids, reverse):
    """Turn word ids into text with a :func:`reverse_index`; others become "?"."""
    return " ".join(reverse.get(i, UNKNOWN) for i in ids)


def decode_rows(ragged, reverse):
    """:func:`decode` of every row of a :class:`RaggedIds`, in compiled code."""
    size = max(reverse, default=-1) + 1
    size = max(size, int(ragged.values.max()) + 1 if ragged.values.size else 0)
    names = np.full(size, UNKNOWN, dtype=object)
    for i, word in reverse.items():
        names[i] = word
    try:
        names = pa.array(names, pa.string())
    except (UnicodeError, pa.ArrowException):  # a word with a lone surrogate
        return [decode(row, reverse) for row in ragged.tolist()]
    words = names.take(pa.array(ragged.values))
    lists = pa.LargeListArray.from_arrays(
        pa.array(ragged.offsets - ragged.offsets[0]), words
    )
    return pc.binary_join(lists, " ").to_pylist()


def id_words(word_index, *, index_from=3, start_char=1, oov_char=2, size=None):
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
    >>> from skimdb._codec import id_words
    >>> id_words({"the": 1, "film": 2}).tolist()
    ['<pad>', '<start>', '<oov>', '<unused>', 'the', 'film']
    >>> id_words({"the": 1}, size=7).tolist()[4:]
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
