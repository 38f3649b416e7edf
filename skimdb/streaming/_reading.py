"""Reading a corpus in chunks: CSV and Parquet files (pyarrow) or an iterable of
chunks, each row checked; and the held-out split, from the labels alone."""

import collections
import numbers
import os
import re
from pathlib import Path

import numpy as np

#: Bytes of CSV pyarrow parses at a time; a row may not be longer. pyarrow
#: reads several blocks ahead: 16 MiB blocks held 0.7 GB of a 0.9 GB file.
_CSV_BLOCK = 1 << 21

#: What one read of a source gives: the texts (list of str), their labels
#: (list of str, or None) and the number of the first row (from 0).
Chunk = collections.namedtuple("Chunk", ["texts", "labels", "start"])


# -- reading -----------------------------------------------------------------------


def read_chunks(
    source,
    *,
    text_column="text",
    label_column="label",
    chunk_size=10_000,
    format=None,
):
    """Read a corpus a chunk at a time, checking every row.

    Parameters
    ----------
    source : str, path-like or iterable
        A CSV file (with a header row, read with :func:`pyarrow.csv.open_csv`)
        or a Parquet file (:meth:`pyarrow.parquet.ParquetFile.iter_batches`),
        told apart by the suffix ``.csv`` / ``.parquet`` (``.pq``) or by
        ``format``; or an iterable of chunks, each a ``pandas.DataFrame``, a
        ``pyarrow.Table`` or ``RecordBatch``, a dict of columns, or a pair
        ``(texts, labels)``.
    text_column, label_column : str, default="text", "label"
        The columns holding the review and its label. ``label_column=None``
        reads the texts only.
    chunk_size : int, default=10_000
        Rows per chunk read from a file (chunks of an iterable keep their size).
    format : {"csv", "parquet"} or None, default=None
        The file's format; ``None`` takes it from the suffix.

    Yields
    ------
    chunk : Chunk
        ``(texts, labels, start)``: a list of str, a list of the labels as
        str (stripped of surrounding spaces; ``None`` without
        ``label_column``), and the row number of its first row (from 0).

    Raises
    ------
    ValueError
        An empty file, a missing column, a malformed CSV row or a row whose text
        or label is empty: the message names the file and the row.

    Examples
    --------
    >>> from skimdb.streaming import read_chunks
    >>> chunks = [(["A good film.", "Bad."], ["pos", "neg"]), (["Fine."], ["pos"])]
    >>> [(c.texts, c.labels, c.start) for c in read_chunks(chunks)]
    [(['A good film.', 'Bad.'], ['pos', 'neg'], 0), (['Fine.'], ['pos'], 2)]
    """
    chunk_size = _check_chunk_size(chunk_size)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        kind = _file_format(path, format)
        columns = [text_column] + ([label_column] if label_column is not None else [])
        batches = (
            _csv_batches(path, columns, chunk_size)
            if kind == "csv"
            else _parquet_batches(path, columns, chunk_size)
        )
        where = str(path)
    else:
        if isinstance(source, (bytes, dict)) or not hasattr(source, "__iter__"):
            raise TypeError(
                "source must be a CSV or Parquet file's path, or an iterable of "
                f"chunks (DataFrames, pyarrow tables, or (texts, labels) pairs); got "
                f"{type(source).__name__}."
            )
        batches = (_chunk_columns(c, text_column, label_column) for c in source)
        where = "the chunks"
    start = 0
    for texts, labels in batches:
        _check_rows(texts, labels, start, where, text_column, label_column)
        if texts:
            yield Chunk(texts, labels, start)
        start += len(texts)
    if start == 0:
        raise ValueError(f"{where} holds no rows; at least one review is required.")


def _check_chunk_size(chunk_size):
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, numbers.Integral)
        or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be an int >= 1; got {chunk_size!r}.")
    return int(chunk_size)


def _file_format(path, format):
    if format is None:
        suffix = path.suffix.lower()
        format = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix)
        if format is None:
            raise ValueError(
                f"cannot tell the format of {path} from its suffix {suffix!r}: "
                "name it .csv or .parquet, or pass format='csv' or 'parquet'."
            )
    if format not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet'; got {format!r}.")
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file (or does not exist).")
    return format


def _csv_batches(path, columns, chunk_size):
    """(texts, labels) of ``chunk_size`` rows from a CSV file, read by pyarrow."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        _check_columns(path, _csv_header(path), columns)
        reader = pacsv.open_csv(
            path,
            # one thread: pyarrow then numbers a malformed row in its message
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types={name: pa.string() for name in columns},
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        raise _csv_error(path, columns, exc) from None
    yield from _rechunk(_arrow_batches(reader, path, columns), columns, chunk_size)


def _arrow_batches(reader, path, columns):
    import pyarrow as pa

    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise _csv_error(path, columns, exc) from None
        yield batch


def _csv_error(path, columns, exc):
    message = str(exc)
    if "Empty CSV file" in message:
        return ValueError(
            f"{path} is empty: it needs a header row naming its columns, then one "
            "row per review."
        )
    if "does not exist in CSV file" in message:
        have = _csv_header(path)
        missing = [name for name in columns if name not in have]
        return ValueError(
            f"{path} has no column {missing[0]!r}; its columns are "
            f"{', '.join(map(repr, have))}."
        )
    if "straddling" in message:
        return ValueError(
            f"{path}: a row is longer than {_CSV_BLOCK >> 20} MiB, or a quote is not "
            f"closed ({message})."
        )
    # pyarrow's parse and conversion errors say 'Row #N' (the header is row 1)
    return ValueError(f"{path} is not a valid CSV file: {message}")


def _csv_row_count(path, column):
    """The number of rows of a CSV file, read one column at a time by pyarrow."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            include_columns=[column], column_types={column: pa.string()}
        ),
    )
    return sum(batch.num_rows for batch in reader)


def _check_columns(path, have, columns):
    """Each of ``columns`` is in the header ``have`` once: pyarrow would take the
    first of two columns of the same name without a word."""
    for name in columns:
        found = [i + 1 for i, column in enumerate(have) if column == name]
        if not found:
            raise ValueError(
                f"{path} has no column {name!r}; its columns are "
                f"{', '.join(map(repr, have))}."
            )
        if len(found) > 1:
            raise ValueError(
                f"{path} has {len(found)} columns named {name!r}: columns "
                f"{', '.join(map(str, found))}; rename all but one."
            )


def _csv_header(path):
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(  # as _csv_batches reads: its errors name the row
        path,
        read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
    )
    return reader.schema.names


def _parquet_batches(path, columns, chunk_size):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{path} is not a readable Parquet file: {exc}") from None
    _check_columns(path, parquet.schema_arrow.names, columns)
    for batch in parquet.iter_batches(batch_size=chunk_size, columns=columns):
        yield _batch_columns(batch, columns)


def _rechunk(batches, columns, chunk_size):
    """pyarrow's batches (sized in bytes) regrouped into ``chunk_size`` rows."""
    import pyarrow as pa

    pending, n_pending = [], 0
    for batch in batches:
        pending.append(batch)
        n_pending += batch.num_rows
        while n_pending >= chunk_size:
            table = pa.Table.from_batches(pending)
            yield _batch_columns(table.slice(0, chunk_size), columns)
            rest = table.slice(chunk_size)
            pending, n_pending = rest.to_batches(), rest.num_rows
    if n_pending:
        yield _batch_columns(pa.Table.from_batches(pending), columns)


def _batch_columns(batch, columns):
    texts = batch.column(columns[0]).to_pylist()
    labels = batch.column(columns[1]).to_pylist() if len(columns) > 1 else None
    if texts and not isinstance(texts[0], str) and len(columns) == 1:
        texts = [None if v is None else str(v) for v in texts]  # labels alone
    if labels and not isinstance(labels[0], str):  # Parquet's int labels, say
        labels = [None if v is None else str(v) for v in labels]
    return texts, labels


def _chunk_columns(chunk, text_column, label_column):
    """(texts, labels) of one chunk of an iterable."""
    if isinstance(chunk, tuple) and len(chunk) == 2:
        texts, labels = chunk
    elif hasattr(chunk, "column") and hasattr(chunk, "schema"):  # pyarrow
        names = [text_column] + ([label_column] if label_column is not None else [])
        missing = [name for name in names if name not in chunk.schema.names]
        if missing:
            raise ValueError(
                f"a chunk has no column {missing[0]!r}; its columns are "
                f"{', '.join(map(repr, chunk.schema.names))}."
            )
        texts, labels = _batch_columns(chunk, names)
    else:  # a DataFrame or a dict of columns
        try:
            texts = chunk[text_column]
            labels = None if label_column is None else chunk[label_column]
        except (KeyError, TypeError, IndexError):
            raise ValueError(
                f"a chunk ({type(chunk).__name__}) has no column {text_column!r} or "
                f"{label_column!r}; chunks are DataFrames, pyarrow tables, dicts of "
                "columns or (texts, labels) pairs."
            ) from None
    texts = list(texts)
    if label_column is None:
        return texts, None
    return texts, list(labels)


def _check_rows(texts, labels, start, where, text_column, label_column):
    """Every text a non-blank str, every label non-blank; labels as str objects."""
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            what = "missing" if text is None else (
                "blank" if isinstance(text, str) else f"a {type(text).__name__}"
            )  # fmt: skip
            raise ValueError(
                f"{where}, row {start + i + 1} (counting from 1 below the header): "
                f"the text column {text_column!r} is {what}; fill it in or remove the "
                "row."
            )
    if labels is None:
        return
    if len(labels) != len(texts):
        raise ValueError(
            f"{where}: a chunk from row {start + 1} has {len(texts)} texts but "
            f"{len(labels)} labels."
        )
    for i, label in enumerate(labels):
        if label is None or not str(label).strip():
            raise ValueError(
                f"{where}, row {start + i + 1} (counting from 1 below the header): "
                f"the label column {label_column!r} is empty; fill it in or remove "
                "the row."
            )
    labels[:] = [str(label).strip() for label in labels]


# -- the held-out split ----------------------------------------------------------------


def held_out_rows(
    source,
    *,
    label_column="label",
    test_size=0.2,
    random_state=None,
    chunk_size=100_000,
    format=None,
):
    """The training and test rows of a stratified split, reading only the labels.

    The split is ``train_test_split(rows, test_size=test_size,
    stratify=labels, random_state=random_state)`` over the row numbers, so it
    holds out exactly the rows that the in-memory ``skimdb train --csv`` holds
    out from the same file, in the same order. It keeps 12 bytes per row (the
    label's code and the split's indices).

    Parameters
    ----------
    source : str, path-like or iterable
        As for :func:`read_chunks`; an iterable is read once.
    label_column : str, default="label"
        The labels; stratified on. Labels that are all integers count as ints,
        as the command line reads them.
    test_size : float or int, default=0.2
        As for :func:`sklearn.model_selection.train_test_split`.
    random_state : int or None, default=None
        Seeds the split.
    chunk_size : int, default=100_000
        Rows read at a time.
    format : {"csv", "parquet"} or None, default=None
        As for :func:`read_chunks`.

    Returns
    -------
    train_rows, test_rows : ndarray of int64
        Row numbers (from 0), in the order ``train_test_split`` gives them.

    Examples
    --------
    >>> from skimdb.streaming import held_out_rows
    >>> chunks = [(["a", "b", "c", "d"], ["pos", "neg", "pos", "neg"])]
    >>> held_out_rows(chunks, test_size=0.5, random_state=0)
    (array([3, 0]), array([2, 1]))
    """
    from sklearn.model_selection import train_test_split

    codes, classes = [], {}
    if isinstance(source, (str, os.PathLike)):
        batches = _label_batches(source, label_column, chunk_size, format)
    else:
        batches = (c.labels for c in read_chunks(source, label_column=label_column))
    for labels in batches:
        codes.append(
            np.fromiter(
                (classes.setdefault(v, len(classes)) for v in labels),
                np.int32,
                len(labels),
            )
        )
    if not codes:
        raise ValueError(f"{source} holds no rows; at least one review is required.")
    names, code_of = _label_classes(list(classes), label_column)
    # each row's class as its index among the sorted classes: the split that
    # the labels themselves give (train_test_split sorts them), without an
    # array of Python objects a row
    labels = code_of[np.concatenate(codes)]
    train, test = train_test_split(
        np.arange(labels.size), test_size=test_size, stratify=labels,
        random_state=random_state,
    )  # fmt: skip
    return train, test


def _label_batches(source, label_column, chunk_size, format):
    """The labels of a file only (pyarrow skips converting the other columns)."""
    path = Path(source).expanduser()
    kind = _file_format(path, format)
    batches = (
        _csv_batches(path, [label_column], chunk_size)
        if kind == "csv"
        else _parquet_batches(path, [label_column], chunk_size)
    )
    start = 0
    for labels, _ in batches:
        for i, label in enumerate(labels):
            if label is None or not label.strip():
                raise ValueError(
                    f"{path}, row {start + i + 1} (counting from 1 below the "
                    f"header): the label column {label_column!r} is empty; fill it "
                    "in or remove the row."
                )
        start += len(labels)
        yield [label.strip() for label in labels]


#: An integer label as written once: ASCII digits, an optional minus, no leading
#: zero, within int64 (what a network's targets hold).
_INT_LABEL = re.compile(r"-?(0|[1-9][0-9]{0,18})")


def parse_labels(labels):
    """``labels`` (strings) as ints when every one is an integer written in its
    one canonical way (``10``, ``-1``), else unchanged.

    Strict because :func:`int` also reads ``1_0``, ``+10``, ``010``, `` 10`` and
    non-ASCII digits, which would merge labels that differ; an integer beyond
    int64 (a 30-digit id) is no number a network's targets can hold. Either way
    the labels stay strings: each distinct one is a class.

    Examples
    --------
    >>> from skimdb.streaming import parse_labels
    >>> parse_labels(["10", "-1", "7"])
    [10, -1, 7]
    >>> parse_labels(["10", "1_0"])
    ['10', '1_0']
    """
    parsed = []
    for label in labels:
        if not _INT_LABEL.fullmatch(label) or label == "-0":
            return labels
        value = int(label)
        if not -(2**63) <= value < 2**63:
            return labels
        parsed.append(value)
    return parsed


def _label_classes(names, label_column="label"):
    """The classes of the distinct labels ``names`` (str, in order of first
    sight): sorted ints if they all are integers (star ratings, 0/1), else
    sorted str, as the command line reads a CSV's labels; and each name's class.
    One class only is refused."""
    parsed = parse_labels(names)  # strict: "10" and "1_0" are two classes
    if parsed is names:
        values = np.array(names, dtype=object)
    else:
        values = np.array(parsed, dtype=np.int64)
    classes, code_of = np.unique(values, return_inverse=True)
    if classes.size < 2:
        only = classes.tolist()[0]
        raise ValueError(
            f"the column {label_column!r} holds one class only ({only!r}); "
            "training needs at least two."
        )
    return classes, code_of.reshape(-1)
