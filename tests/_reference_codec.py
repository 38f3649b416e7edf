"""Today's pure-Python text encoder, kept as the slow reference the compiled codec
(:mod:`skimdb._codec`) is checked against: one Python loop per word, one Python
int per id. Copied from skimdb/_tokenize.py and skimdb/datasets/_text.py as they
were before the codec replaced them; do not optimise it.
"""

import collections

#: Characters replaced by a space before splitting (Keras' default filters).
_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
#: Only ASCII letters are lowercased: the index was built on byte strings.
_TABLE = str.maketrans(
    {
        **{char: " " for char in _FILTERS},
        **{chr(code): chr(code + 32) for code in range(ord("A"), ord("Z") + 1)},
    }
)


def tokenize(text):
    """Split a review into words exactly as the Keras IMDB word index did."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}: {text!r}")
    return [word for word in text.translate(_TABLE).split(" ") if word]


def count_words(texts):
    """Word -> occurrences, iterating in order of first occurrence."""
    counts = collections.Counter()
    for text in texts:
        counts.update(tokenize(text))
    return counts


def rank_words(counts, *, min_count=1, max_rank=None):
    """A word index from word counts: rank 1 for the most frequent word, ties in
    the order of ``counts``."""
    kept = [(word, n) for word, n in counts.items() if n >= min_count]
    kept.sort(key=lambda item: -item[1])  # stable: ties keep their order
    if max_rank is not None:
        kept = kept[:max_rank]
    return {word: rank for rank, (word, _) in enumerate(kept, start=1)}


def encode_words(words, word_index, *, num_words, index_from, start_char, oov_char):
    """Turn words into ids the way ``load_data`` numbers them."""
    ids = [] if start_char is None else [start_char]
    for word in words:
        rank = word_index.get(word)
        if rank is not None:
            rank += index_from
        if rank is None or (num_words is not None and rank >= num_words):
            if oov_char is not None:
                ids.append(oov_char)
        else:
            ids.append(rank)
    return ids


def encode(
    texts, word_index, *, num_words=None, index_from=3, start_char=1, oov_char=2
):
    """Every text's ids, as lists of Python ints."""
    return [
        encode_words(
            tokenize(text),
            word_index,
            num_words=num_words,
            index_from=index_from,
            start_char=start_char,
            oov_char=oov_char,
        )
        for text in texts
    ]


def fit_encode(texts, *, num_words=None, min_count=1, **numbering):
    """The learned word index of ReviewEncoder(word_index=None) and the ids."""
    index_from = numbering.get("index_from", 3)
    limit = None if num_words is None else num_words - index_from
    max_rank = None if limit is None else max(limit - 1, 0)
    word_index = rank_words(count_words(texts), min_count=min_count, max_rank=max_rank)
    return word_index, encode(texts, word_index, num_words=num_words, **numbering)
