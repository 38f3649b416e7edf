"""The out-of-core fit: words counted and merged, rows dealt to bucket files,
features built piece by piece, and epochs of ``partial_fit``; locally or with
its reading and counting on Dask workers."""

import collections
import os
import tempfile
from pathlib import Path

import numpy as np

from skimdb._codec import number_words
from skimdb._ragged import compress, offsets_from_lengths, prepend, row_ids, take_rows
from skimdb.streaming._reading import (
    _check_chunk_size,
    _csv_row_count,
    _file_format,
    _label_classes,
    read_chunks,
)

#: Bucket files the rows are dealt to (see the module's docstring).
_N_BUCKETS = 64
#: Texts split into words at a time inside a chunk: bounds the words held.
_SUB_CHUNK = 4096


# -- counting: the one place that splits text into words -------------------------------


def _count_chunk(texts):
    """The words of ``texts``: counts, and each text as ids into them.

    The one call of streaming that splits text into words (the text codec).

    Returns
    -------
    counts : dict of str to int
        How often each word occurs, in the order the words first occur.
    ids : ndarray of int32
        Every text's words back to back, as positions in ``counts``.
    offsets : ndarray of int64, shape (len(texts) + 1,)
        Text ``i`` is ``ids[offsets[i]:offsets[i + 1]]``.
    """
    words, counts, positions = number_words(texts)
    counts = dict(zip(words, counts.tolist(), strict=True))
    return counts, positions.values, positions.offsets


class _Vocabulary:
    """Word counts merged from chunks, with where each word first occurs in the
    training order (row position, then place in the row, below 2**31 each): the
    word index they give does not depend on the order the chunks come in."""

    def __init__(self):
        self.positions = {}  # word -> provisional id, in order of first sight
        self.counts = []
        self.first = []

    def add(self, counts, ids, offsets, row_positions):
        """Merge one chunk's ``_count_chunk`` result; its rows have the training
        positions ``row_positions``. Returns its ids as provisional ids."""
        positions, totals = self.positions, self.counts
        local = np.empty(len(counts), dtype=np.int32)
        for j, (word, n) in enumerate(counts.items()):
            p = positions.setdefault(word, len(positions))
            local[j] = p
            if p == len(totals):
                totals.append(n)
            else:
                totals[p] += n
        # each word's first occurrence: the smallest (row position, place in the
        # row) of its occurrences, as one int64 key
        rows = row_ids(offsets)
        keys = row_positions[rows].astype(np.int64) << 32
        keys += np.arange(ids.size, dtype=np.int64) - offsets[rows]
        first = np.full(len(counts), np.iinfo(np.int64).max)
        np.minimum.at(first, ids, keys)
        grown = len(positions) - len(self.first)
        self.first.extend([np.iinfo(np.int64).max] * grown)
        # a Python loop over the chunk's distinct words, as above
        for p, f in zip(local.tolist(), first.tolist(), strict=True):
            if f < self.first[p]:
                self.first[p] = f
        return local[ids]

    def word_counts(self):
        """Word -> count in the order of first training position: the counts
        ``ReviewEncoder.fit`` makes on the training texts in order."""
        words = list(self.positions)
        order = np.argsort(np.asarray(self.first, dtype=np.int64), kind="stable")
        return {words[i]: self.counts[i] for i in order.tolist()}

    def id_map(self, encoder):
        """Provisional id -> the id ``encoder`` gives the word (``-1``: dropped)."""
        oov = -1 if encoder.oov_char is None else encoder.oov_char
        table = np.full(len(self.positions), oov, dtype=np.int64)
        word_index = encoder.word_index_
        for word, p in self.positions.items():
            rank = word_index.get(word)
            if rank is not None:
                table[p] = rank + encoder.index_from
        return table


# -- the buckets of encoded rows -------------------------------------------------------


def _bucket_of(rows, seed):
    """Each row's bucket, from its row number and ``seed`` (splitmix64's mixing:
    the same rows go to the same buckets however the file is cut in parts)."""
    z = rows.astype(np.uint64) ^ np.uint64(seed)
    z += np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(58)).astype(np.intp)  # the top 6 bits: 0 .. 63


class _Buckets:
    """Rows dealt to bucket files by a seeded hash of their row number, in
    blocks: ``[n_rows, n_ids]`` (int64), then the rows' lengths, label codes
    and provisional ids (int32)."""

    def __init__(self, folder, seed):
        self.folder = Path(folder)
        self.seed = int(seed)
        self.files = [open(self.folder / f"bucket{b}.bin", "wb") for b in range(
            _N_BUCKETS)]  # fmt: skip
        self.n_rows = 0

    def write(self, ids, offsets, codes, rows):
        """Rows numbered ``rows`` (in the file), as ids, offsets, label codes."""
        n = offsets.size - 1
        which = _bucket_of(rows, self.seed)
        order = np.argsort(which, kind="stable")  # rows in order within a bucket
        bounds = np.searchsorted(which[order], np.arange(_N_BUCKETS + 1))
        for b in range(_N_BUCKETS):
            rows = order[bounds[b] : bounds[b + 1]]
            if not rows.size:
                continue
            values, row_offsets = take_rows(ids, offsets, rows)
            out = self.files[b]
            np.array([rows.size, values.size], dtype=np.int64).tofile(out)
            np.diff(row_offsets).astype(np.int32).tofile(out)
            codes[rows].astype(np.int32).tofile(out)
            values.astype(np.int32, copy=False).tofile(out)
        self.n_rows += n

    def close(self):
        for f in self.files:
            f.close()

    def pieces(self, chunk_size):
        """(lengths, codes, ids) of ``chunk_size`` rows or a block more at a time,
        the buckets one after the other; rows left over that would make a piece
        under half ``chunk_size`` join the last piece (a piece of a few rows
        could not hold out a validation split)."""
        held = None
        for piece in self._pieces(chunk_size):
            if held is not None:
                if piece[0].size < chunk_size // 2:
                    piece = _join([held, piece])
                else:
                    yield held
            held = piece
        if held is not None:
            yield held

    def _pieces(self, chunk_size):
        """Exactly ``chunk_size`` rows a piece (the last fewer), so the pieces
        do not depend on how the file was cut into parts."""
        parts, n = [], 0
        for b in range(_N_BUCKETS):
            path = self.folder / f"bucket{b}.bin"
            with open(path, "rb") as f:
                while True:
                    head = np.fromfile(f, dtype=np.int64, count=2)
                    if head.size < 2:
                        break
                    rows, n_ids = int(head[0]), int(head[1])
                    lengths = np.fromfile(f, dtype=np.int32, count=rows)
                    codes = np.fromfile(f, dtype=np.int32, count=rows)
                    ids = np.fromfile(f, dtype=np.int32, count=n_ids)
                    parts.append((lengths, codes, ids))
                    n += rows
                    while n >= chunk_size:
                        lengths, codes, ids = _join(parts)
                        cut = int(lengths[:chunk_size].sum())
                        yield lengths[:chunk_size], codes[:chunk_size], ids[:cut]
                        parts = [(lengths[chunk_size:], codes[chunk_size:], ids[cut:])]
                        n -= chunk_size
            path.unlink()
        if n:
            yield _join(parts)


def _join(parts):
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


# -- fitting ---------------------------------------------------------------------------


def fit_pipeline(
    pipeline,
    source,
    *,
    text_column="text",
    label_column="label",
    chunk_size=10_000,
    rows=None,
    classes=None,
    format=None,
    cache_dir=None,
    client=None,
    progress=None,
):
    """Fit ``ReviewEncoder -> MultiHotVectorizer -> IMDBNet`` on a corpus in chunks.

    Reads ``source`` once (see :mod:`skimdb.streaming` for the passes, the
    shuffling and the memory), then trains the network ``epochs`` passes over
    the encoded rows through :meth:`skimdb.IMDBNet.partial_fit`. The encoder's
    word index is exactly the one ``pipeline.fit`` learns on the same rows;
    the network trains on the same features, in pieces of about ``chunk_size``
    rows (each piece's batches do not cross it, and with a ``validation_split``
    each piece holds out its last rows).

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Three steps: a :class:`~skimdb.ReviewEncoder`, a
        :class:`~skimdb.MultiHotVectorizer` of single words
        (``ngram_range=(1, 1)``) and an :class:`~skimdb.IMDBNet` (without
        ``early_stopping``). Fitted in place, from scratch, as ``fit`` does.
    source : str, path-like or iterable
        A CSV or Parquet file, or an iterable of chunks: as for
        :func:`read_chunks`. An iterable is read once.
    text_column, label_column : str, default="text", "label"
        The columns holding the reviews and their labels.
    chunk_size : int, default=10_000
        Rows read at a time, and rows per training piece.
    rows : array-like of int or None, default=None
        The rows (numbers from 0) to train on, such as the first array
        :func:`held_out_rows` gives; the others are skipped. Their order is
        that of ``pipeline.fit(texts[rows])``: it breaks the ties between words
        of equal counts. ``None``: every row, in order.
    classes : array-like or None, default=None
        Every label; ``None``: those the training rows hold.
    format : {"csv", "parquet"} or None, default=None
        As for :func:`read_chunks`.
    cache_dir : str, path-like or None, default=None
        Where the encoded rows go while fitting (a new temporary folder inside
        it, removed at the end); ``None``: the system's temporary folder.
    client : distributed.Client or None, default=None
        Read and encode the file on this cluster's workers as
        ``dask.dataframe`` partitions (a file ``source`` only); the network
        trains in this process. See :func:`skimdb.parallel.fit_pipeline_on_dask`
        for what runs where.
    progress : callable or None, default=None
        Called as ``progress(stage, epoch, rows_done, rows_total)`` after each
        chunk (``stage="read"``, ``epoch=0``, ``rows_total=None`` when
        unknown) and each piece trained (``stage="train"``, epochs from 1).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The same pipeline, fitted. The network's ``history_`` holds one entry
        per epoch: the means of its pieces' (weighted by their rows).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skimdb import IMDBNet, MultiHotVectorizer, ReviewEncoder
    >>> from skimdb.streaming import fit_pipeline
    >>> good = ["A good film.", "Great, good fun.", "Good acting, a great plot."]
    >>> bad = ["A bad film.", "Awful, bad acting.", "Bad plot, awful fun."]
    >>> y = ["pos", "pos", "neg", "neg"]
    >>> chunks = [(good[:2] + bad[:2], y), (good[2:] + bad[2:], ["pos", "neg"])]
    >>> pipe = make_pipeline(
    ...     ReviewEncoder(), MultiHotVectorizer(num_words=None),
    ...     IMDBNet(epochs=30, batch_size=4, learning_rate=0.05, random_state=0))
    >>> pipe = fit_pipeline(pipe, chunks, chunk_size=2)
    >>> pipe[0].word_index_ == ReviewEncoder().fit(good[:2] + bad[:2] + good[2:]
    ...                                            + bad[2:]).word_index_
    True
    >>> pipe.predict(["good fun", "awful film"]).tolist()
    ['pos', 'neg']
    """
    chunk_size = _check_chunk_size(chunk_size)
    encoder, vectorizer, net = _check_pipeline(pipeline)
    position = _row_positions(rows)
    if client is not None:
        parts = _dask_parts(client, source, text_column, label_column, chunk_size,
                            format, position)  # fmt: skip
    else:
        chunks = read_chunks(
            source,
            text_column=text_column,
            label_column=label_column,
            chunk_size=chunk_size,
            format=format,
        )
        parts = _local_parts(chunks, position)
    report = progress or (lambda *args: None)
    seeds = np.random.SeedSequence(_entropy(net.random_state)).spawn(2)
    with tempfile.TemporaryDirectory(prefix="skimdb-", dir=cache_dir) as folder:
        vocabulary, buckets, labels = _encode_pass(
            parts, position, folder, seeds[0].generate_state(1, np.uint64)[0], report
        )
        if encoder.word_index is None:
            encoder._fit_counts(vocabulary.word_counts())
        else:
            encoder.fit()
        id_map = vocabulary.id_map(encoder)
        sorted_names, code_of = _label_classes(labels, label_column)
        # the ids the training rows hold: the width fit learns with num_words=None
        seen = [int(id_map.max(initial=0))]
        if encoder.start_char is not None:
            seen.append(int(encoder.start_char))
        vectorizer.fit([seen])
        pieces = _feature_pieces(
            buckets, id_map, encoder, vectorizer, code_of, chunk_size, folder
        )
        if classes is None:
            classes = sorted_names
        _train(net, pieces, sorted_names, classes, buckets.n_rows,
               np.random.default_rng(seeds[1]), report)  # fmt: skip
    return pipeline


def _entropy(random_state):
    """The seed of the shuffles, from the network's ``random_state``; a
    ``RandomState`` is drawn from a copy, left as it was (as IMDBNet does)."""
    if isinstance(random_state, np.random.RandomState):
        copy = np.random.RandomState()
        copy.set_state(random_state.get_state())
        return int(copy.randint(np.iinfo(np.int32).max))
    return random_state


def _check_pipeline(pipeline):
    from skimdb.network import IMDBNet  # TensorFlow: the fit needs it anyway
    from skimdb.preprocessing import MultiHotVectorizer
    from skimdb.text import ReviewEncoder

    steps = getattr(pipeline, "steps", None)
    kinds = ["ReviewEncoder", "MultiHotVectorizer", "IMDBNet"]
    if (
        steps is None
        or len(steps) != 3
        or not isinstance(steps[0][1], ReviewEncoder)
        or not isinstance(steps[1][1], MultiHotVectorizer)
        or not isinstance(steps[2][1], IMDBNet)
    ):
        raise TypeError(
            f"pipeline must be a Pipeline of {' -> '.join(kinds)}; got "
            f"{pipeline!r}. Streaming learns only what can be learned in one pass."
        )
    from sklearn.base import clone

    encoder, vectorizer, net = (clone(step) for _, step in steps)
    if tuple(vectorizer.ngram_range) != (1, 1):
        raise ValueError(
            f"the MultiHotVectorizer's ngram_range={vectorizer.ngram_range} learns "
            "n-grams from the whole corpus in memory; streaming takes "
            "ngram_range=(1, 1)."
        )
    if net.early_stopping:
        raise ValueError(
            "early_stopping=True restores the best epoch's weights, which streaming "
            "does not keep; set early_stopping=False."
        )
    # every parameter checked before the pass over the file, not after it
    encoder._validate_params()
    vectorizer._validate_params()
    net._validate_params()
    if net.class_weight == "balanced":
        raise ValueError(
            "class_weight='balanced' needs the label counts before training; pass "
            "the weights as a dict (sklearn.utils.class_weight.compute_class_weight)."
        )
    for (name, _), step in zip(steps, (encoder, vectorizer, net), strict=True):
        pipeline.set_params(**{name: step})
    return encoder, vectorizer, net


def _row_positions(rows):
    """Row number -> training position (``-1``: not trained on), or None for
    every row in order."""
    if rows is None:
        return None
    rows = np.asarray(rows)
    if rows.ndim != 1 or rows.dtype.kind not in "iu" or rows.size == 0:
        raise ValueError("rows must be a non-empty 1-d array of row numbers.")
    if rows.min() < 0 or np.unique(rows).size != rows.size:
        raise ValueError("rows must be distinct row numbers, from 0.")
    position = np.full(int(rows.max()) + 1, -1, dtype=np.int64)
    position[rows] = np.arange(rows.size)
    return position


def _positions(position, start, n):
    """The training positions of rows ``start .. start + n - 1``."""
    here = np.arange(start, start + n, dtype=np.int64)
    if position is None:
        return here
    out = np.full(n, -1, dtype=np.int64)
    inside = here < position.size
    out[inside] = position[here[inside]]
    return out


#: One part of the corpus encoded: its first row, its rows' labels (list of
#: str), the rows' training positions, and the words of the rows kept
#: (``positions >= 0``) as ``(words, ids, offsets)``: ``ids`` index ``words``.
_Part = collections.namedtuple("_Part", ["start", "labels", "positions", "words",
                                         "ids", "offsets"])  # fmt: skip


def _local_parts(chunks, position):
    """The chunks read here, split into words here, only the rows trained on."""
    for chunk in chunks:
        if chunk.labels is None:
            raise ValueError("training needs labels: give a label column.")
        positions = _positions(position, chunk.start, len(chunk.texts))
        for s in range(0, len(chunk.texts), _SUB_CHUNK):
            kept = np.flatnonzero(positions[s : s + _SUB_CHUNK] >= 0) + s
            counts, ids, offsets = _count_chunk([chunk.texts[i] for i in kept])
            yield _Part(
                chunk.start + s,
                chunk.labels[s : s + _SUB_CHUNK],
                positions[s : s + _SUB_CHUNK],
                list(counts),
                ids,
                offsets,
            )


# -- on a Dask cluster ---------------------------------------------------------------

#: Bytes of CSV per dask.dataframe partition.
_DASK_BLOCK = 32 * 1024 * 1024


def _dask_parts(client, source, text_column, label_column, chunk_size, format,
                position):  # fmt: skip
    """The file's ``dask.dataframe`` partitions, read, checked and split into
    words on the workers; received here in the file's order, a few in flight."""
    import dask
    import dask.dataframe as dd

    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "with client=, source must be a CSV or Parquet file that the workers "
            "can read (the same path on each), not an iterable of chunks."
        )
    path = Path(os.path.realpath(Path(source).expanduser()))  # no RuntimeError
    kind = _file_format(path, format)
    columns = [text_column, label_column]
    try:
        if kind == "csv":
            frame = dd.read_csv(str(path), blocksize=_DASK_BLOCK, usecols=columns,
                                dtype=str, keep_default_na=False)  # fmt: skip
        else:
            frame = dd.read_parquet(str(path), columns=columns)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{path}: cannot read the columns {columns}: {exc}") from None
    partitions = frame.to_delayed()
    encode = dask.delayed(_encode_partition, pure=True)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    pending = collections.deque()
    queued = iter(enumerate(partitions))

    def submit():
        for i, partition in queued:
            future = client.compute(encode(partition, text_column, label_column),
                                    retries=2)  # fmt: skip
            pending.append((i, future))
            return

    for _ in range(2 * n_workers):
        submit()
    start = 0
    while pending:
        i, future = pending.popleft()
        result = _dask_result(future, i, len(partitions), path)
        submit()
        bad = result["bad"]
        if bad is not None:
            row, column, what = bad
            raise ValueError(
                f"{path}, row {start + row + 1} (counting from 1 below the header): "
                f"the {column} column {columns[column == 'label']!r} is {what}; fill "
                "it in or remove the row."
            )
        n = len(result["labels"])
        yield _Part(start, result["labels"], _positions(position, start, n),
                    result["words"], result["ids"], result["offsets"])  # fmt: skip
        start += n
    if start == 0:
        raise ValueError(f"{path} holds no rows; at least one review is required.")
    if kind == "csv" and start != (n_rows := _csv_row_count(path, label_column)):
        # dd.read_csv cuts blocks at line breaks, also inside a quoted text
        raise ValueError(
            f"{path}: the Dask workers read {start} rows, but the file holds "
            f"{n_rows}: a quoted text holding a line break was cut between two "
            "blocks. Convert the file to Parquet, or read it without a client."
        )


def _dask_result(future, i, n, path):
    """The future's result; a lost worker or a bad partition named clearly."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as exc:
        raise RuntimeError(
            f"Dask workers died while reading partition {i + 1} of {n} of {path} "
            f"(tried 3 times): {exc}. Check the workers' memory limit and logs, "
            "then run again."
        ) from None
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise ValueError(
            f"{path}: partition {i + 1} of {n} cannot be read: "
            f"{type(exc).__name__}: {exc}"
        ) from None


def _encode_partition(frame, text_column, label_column):
    """On a worker: one partition's rows checked, split into words and numbered
    (``_count_chunk`` over pieces of it, their words merged in order)."""
    texts = frame[text_column].tolist()
    labels = frame[label_column].tolist()
    bad = None
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        if not isinstance(text, str) or not text.strip():
            bad = (i, "text", "missing" if text is None else "blank")
            break
        if label is None or not str(label).strip():
            bad = (i, "label", "empty")
            break
    if bad is not None:
        return {"bad": bad}
    words, ids, lengths = {}, [], []
    for s in range(0, len(texts), _SUB_CHUNK):
        counts, chunk_ids, offsets = _count_chunk(texts[s : s + _SUB_CHUNK])
        local = np.fromiter(
            (words.setdefault(word, len(words)) for word in counts),
            np.int32,
            len(counts),
        )
        ids.append(local[chunk_ids])
        lengths.append(np.diff(offsets))
    return {
        "bad": None,
        "labels": [str(label).strip() for label in labels],
        "words": list(words),
        "ids": np.concatenate(ids) if ids else np.empty(0, np.int32),
        "offsets": offsets_from_lengths(np.concatenate(lengths) if lengths else []),
    }


def _encode_pass(parts, position, folder, seed, report):
    """Merge the encoded parts' words and deal their rows to the bucket files."""
    vocabulary = _Vocabulary()
    buckets = _Buckets(folder, seed)
    classes = {}
    n_read = 0
    try:
        for part in parts:
            n = len(part.labels)
            codes = np.fromiter(
                (classes.setdefault(v, len(classes)) for v in part.labels),
                np.int32,
                n,
            )
            kept = np.flatnonzero(part.positions >= 0)
            ids, offsets = part.ids, part.offsets
            if offsets.size - 1 != kept.size:  # every row encoded: keep some
                ids, offsets = take_rows(ids, offsets, kept)
            if kept.size:
                counts = np.bincount(ids, minlength=len(part.words))
                words = dict(zip(part.words, counts.tolist(), strict=True))
                ids = vocabulary.add(words, ids, offsets, part.positions[kept])
                buckets.write(ids, offsets, codes[kept], part.start + kept)
            n_read = part.start + n
            report("read", 0, n_read, None)
    finally:
        buckets.close()
    if position is not None and n_read < position.size:
        raise ValueError(
            f"rows names row {position.size - 1}, but the source holds {n_read} rows."
        )
    if buckets.n_rows == 0:
        raise ValueError("no row to train on: rows selects none of the source's.")
    return vocabulary, buckets, list(classes)


def _feature_pieces(buckets, id_map, encoder, vectorizer, code_of, chunk_size, folder):
    """The bucket files as multi-hot pieces saved as .npz; their paths and rows."""
    pieces = []
    for lengths, codes, ids in buckets.pieces(chunk_size):
        offsets = offsets_from_lengths(lengths)
        values = id_map[ids]
        if encoder.oov_char is None:  # words left out of the index are dropped
            values, offsets = compress(values, offsets, values >= 0)
        if encoder.start_char is not None:
            values, offsets = prepend(values, offsets, encoder.start_char)
        X = vectorizer.transform(_as_reviews(values, offsets))
        path = Path(folder) / f"piece{len(pieces)}.npz"
        np.savez(path, indices=X.indices, indptr=X.indptr, y=code_of[codes],
                 width=np.int64(X.shape[1]))  # fmt: skip
        pieces.append((path, X.shape[0]))
    return pieces


def _as_reviews(values, offsets):
    """A ragged array as the list of arrays MultiHotVectorizer takes."""
    out = np.empty(offsets.size - 1, dtype=object)
    out[:] = np.split(values, offsets[1:-1])
    return out


def _load_piece(path):
    import scipy.sparse as sp

    with np.load(path, allow_pickle=False) as saved:
        indices, indptr = saved["indices"], saved["indptr"]
        X = sp.csr_matrix(
            (np.ones(indices.size, dtype=np.float32), indices, indptr),
            shape=(indptr.size - 1, int(saved["width"])),
        )
        return X, saved["y"]


def _train(net, pieces, names, classes, n_rows, rng, report):
    """``net.epochs`` passes over the pieces, in a new order each."""
    totals = []
    for epoch in range(1, net.epochs + 1):
        sums, seen = collections.defaultdict(float), 0
        for k in rng.permutation(len(pieces)):
            path, n = pieces[k]
            X, codes = _load_piece(path)
            before = len(getattr(net, "history_", {}).get("loss", ()))
            net.partial_fit(X, names[codes], classes=classes)
            for key, values in net.history_.items():
                if len(values) > before:
                    sums[key] += values[-1] * n
            seen += n
            report("train", epoch, seen, n_rows)
        totals.append({key: value / seen for key, value in sums.items()})
    net.history_ = {key: [t[key] for t in totals] for key in totals[0]}
