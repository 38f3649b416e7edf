"""What the command line reads and writes: model folders, review files, paths."""

import contextlib
import csv
import io
import itertools
import json
import os
import stat
import sys
from pathlib import Path

from skimdb.cli._quiet import import_tensorflow
from skimdb.persistence import MANIFEST, holds_saved_model

#: The pickle file that earlier skimdb versions saved.
PICKLE_FILE = "model.joblib"
#: What ``skimdb train --csv`` writes beside the model: the file, columns and classes.
TRAINING_FILE = "training.json"
#: The held-out test split ``skimdb train --csv`` writes beside the model.
TEST_SPLIT_FILE = "test.csv"


class UserError(Exception):
    """A problem the user can fix; reported in one line, without a traceback."""


# -- paths -----------------------------------------------------------------------------


def expand(path, what):
    """``path`` with a leading ``~`` or ``~user`` expanded (``what`` names it)."""
    try:
        return Path(os.fspath(path)).expanduser()
    except RuntimeError:  # pathlib's word for an unknown ~user
        user = str(path).split("/", 1)[0]
        raise UserError(
            f"{what} {str(path)!r}: cannot expand {user!r}, there is no such user "
            "home; give the folder in full"
        ) from None


def check_data_home(args):
    """Expand ``--data-home`` (or check ``SKIMDB_DATA``) now, before any loading."""
    if args.data_home is not None:
        args.data_home = str(expand(args.data_home, "--data-home"))
    elif os.environ.get("SKIMDB_DATA"):
        expand(os.environ["SKIMDB_DATA"], "SKIMDB_DATA")


def _nearest_existing(path):
    path = Path(os.path.abspath(path))
    while not path.exists():
        path = path.parent
    return path


def _writable(folder):
    """Whether we may create files in ``folder``: permitted, and not marked read-only
    (a folder without any write bit counts as read-only even for root, as for the
    data home)."""
    mode = folder.stat().st_mode
    return (
        stat.S_ISDIR(mode)
        and mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        and os.access(folder, os.W_OK | os.X_OK)
    )


def check_output(path, *, model, overwrite=False):
    """The output folder ``-o`` names, checked before any data is loaded.

    With ``model``, the folder receives a saved model: it must be new or empty, or
    (with ``overwrite``) a model folder saved before; the model is written into a
    folder beside it, so its parent must be writable too.
    """
    folder = expand(path, "-o")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"-o {folder}: is a file, not a folder; choose a folder")
    if model:
        contents = list(folder.iterdir()) if folder.is_dir() else []
        if contents and not holds_saved_model(folder):  # the rule save applies
            raise UserError(
                f"-o {folder}: holds files that are not a skimdb model; save into a "
                "new or empty folder"
                + (" (--overwrite replaces only a model folder)" if overwrite else "")
            )
        if contents and not overwrite:
            raise UserError(
                f"-o {folder}: already holds a skimdb model; pass --overwrite to "
                "replace it, or choose another folder"
            )
        where = _nearest_existing(folder.parent)
    else:
        where = _nearest_existing(folder)
    if not _writable(where):
        raise UserError(f"-o {folder}: cannot write in {where} (read-only)")
    return folder


# -- models ----------------------------------------------------------------------------


def load_model(path, *, allow_pickle=False):
    """A fitted classifier: from a model folder, or with ``allow_pickle`` from a
    pickle/joblib file (or a folder holding ``model.joblib``)."""
    path = expand(path, "MODEL")
    if (path / MANIFEST).is_file():
        from skimdb.persistence import ModelFileError, load

        try:
            # the network's forward pass in NumPy: no TensorFlow to import (4 s)
            model = load(path, network="numpy")
        except ModelFileError:  # an activation it lacks, or an older model folder
            import_tensorflow()
            try:
                model = load(path)
            except Exception as exc:  # a corrupt or edited folder: one line
                raise UserError(f"cannot load the model in {path}: {exc}") from exc
        except Exception as exc:
            raise UserError(f"cannot load the model in {path}: {exc}") from exc
        return _checked(model, path)
    pickle_path = path / PICKLE_FILE if path.is_dir() else path
    if not pickle_path.is_file():
        raise UserError(f"no model at {path}; train one with 'skimdb train -o FOLDER'")
    if not allow_pickle:
        raise UserError(
            f"{pickle_path} is not a model folder but a file, which skimdb reads only "
            "as a pickle, and loading a pickle runs any code it holds: pass "
            "--allow-pickle if you trust it, or save the model with 'skimdb train -o "
            "FOLDER' (no pickle)"
        )
    import joblib

    import_tensorflow()  # the pickle may hold a network
    try:
        model = joblib.load(pickle_path)
    except Exception as exc:  # a corrupt or foreign file: say so in one line
        raise UserError(f"cannot load a model from {pickle_path}: {exc}") from exc
    return _checked(model, pickle_path)


def _checked(model, source):
    """``model`` if it gives the probabilities of two or more classes."""
    classes = getattr(model, "classes_", None)
    if not hasattr(model, "predict_proba"):
        classes = None
    if classes is None or len(classes) < 2:
        shape = "" if classes is None else f" with {len(classes)} class"
        raise UserError(
            f"{source} holds a {type(model).__name__}{shape}, not a skimdb "
            "classifier of two or more classes"
        )
    return model


#: The fields of :data:`TRAINING_FILE` and their JSON types; the first two are needed.
_TRAINING_FIELDS = {
    "text_column": (str, "a string"),
    "label_column": (str, "a string"),
    "csv": (str, "a string"),
    "test_size": ((int, float), "a number"),
    "random_state": (int, "an integer"),
    "n_rows": (int, "an integer"),
    "classes": (list, "a list"),
}
#: :data:`TRAINING_FILE` is a few hundred bytes; a larger one was not written by us.
_MAX_TRAINING_BYTES = 1 << 20


def read_training(folder):
    """What ``skimdb train --csv`` saved beside the model in ``folder``
    (:data:`TRAINING_FILE`), or None for a model trained on IMDB.

    Anything but the JSON object it writes (not a regular file, over 1 MiB, not
    JSON, a field of another type) is one :class:`UserError` naming the field.
    """
    path = Path(folder) / TRAINING_FILE
    if not os.path.lexists(path):
        return None

    def refuse(reason):
        raise UserError(
            f"cannot read {path}: {reason}; it is not what 'skimdb train --csv' "
            "writes: train the model again, or restore the file"
        )

    try:
        mode, size = os.lstat(path).st_mode, os.lstat(path).st_size
        if not stat.S_ISREG(mode):
            refuse("not a regular file (a link, folder, FIFO or device)")
        if size > _MAX_TRAINING_BYTES:
            refuse(f"{size} bytes, more than {_MAX_TRAINING_BYTES}")
        info = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise UserError(f"cannot read {path}: {reason}") from None
    if not isinstance(info, dict):
        refuse(f"it holds a JSON {type(info).__name__}, not an object")
    for i, (key, (kind, name)) in enumerate(_TRAINING_FIELDS.items()):
        if key not in info:
            if i < 2:
                refuse(f"the field {key!r} is missing")
            continue
        value = info[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            refuse(f"the field {key!r} is {type(value).__name__}, not {name}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            refuse(f"the field {key!r} holds values that are not strings")
    for key in ("text_column", "label_column"):
        if not info[key]:
            refuse(f"the field {key!r} is empty")
    return info


def write_training(folder, info):
    path = Path(folder) / TRAINING_FILE
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return path


def save_model(model, folder, *, overwrite=False, beside=None):
    """Save ``model`` into ``folder`` with :func:`skimdb.persistence.save`, replacing
    the model there only with ``overwrite``; return the paths of the files written.

    ``beside(partial_folder)`` writes the files that go with the model (history,
    plots, test split) and returns their paths: it runs before the new folder is
    swapped in, so an interrupted or failed save keeps the old model with its own
    files, and a finished one has all of them.
    """
    from skimdb.persistence import save

    names = []

    def write_beside(tmp):
        names.extend(Path(path).name for path in beside(tmp))

    hook = None if beside is None else write_beside
    if overwrite and folder.is_dir() and any(folder.iterdir()):
        save(model, folder, overwrite=True, _beside=hook)
    else:
        save(model, folder, _beside=hook)
    return [folder / name for name in names]


def check_split_options(args):
    """Refuse the options that do not fit training on a file of one's own: the
    IMDB shorteners, and a test split of nothing."""
    for flag, value in (("--n-train", args.n_train), ("--n-test", args.n_test)):
        if value is not None:
            raise UserError(
                f"{flag} shortens the IMDB reviews; with a file the test split is "
                "--test-size of the file's rows: drop it"
            )
    if args.test_size == 0:
        raise UserError(
            "--test-size 0 holds out no test rows; give a fraction above 0, such as 0.2"
        )


# -- reading input: bounded -----------------------------------------------------------

#: The most characters one review (a line of --file, a CSV field) may hold.
#: Encoding a text takes about 7 times its size in memory at its peak: a
#: review of this size about 70 MB. A novel is under 2 million characters.
MAX_REVIEW_CHARS = 10 * 2**20
#: ``predict`` and ``explain`` read their reviews in batches of at most this
#: many reviews and characters, so an input of any length runs in bounded memory.
BATCH_REVIEWS = 1000
BATCH_CHARS = 16 * 2**20
#: The most bytes of a CSV file read whole (``--csv``, a saved test split): some
#: 1.5 million reviews of IMDB's length. Training in memory holds every text, its
#: ids and features at once, several times the file's size; ``train
#: --chunk-size`` streams a file of any size in bounded memory.
MAX_CSV_BYTES = 2 * 2**30


def _open_text_file(path, what):
    """``path`` opened for reading bytes: a regular file, or a pipe (``<(cmd)``).
    A device (``/dev/zero``), folder or socket is refused before anything is
    read: it is no file of text, and may never end."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"cannot read {what} {path}: {reason}") from None
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a device or socket"
        raise UserError(f"cannot read {what} {path}: it is {kind}, not a file of text")
    return os.fdopen(fd, "rb")


def _read_bounded(path, what, max_bytes):
    """The bytes of the text file at ``path`` (see :func:`_open_text_file`), of
    at most ``max_bytes``."""
    with _open_text_file(path, what) as file:
        return _read_at_most(file, f"{what} {path}", max_bytes)


def _read_at_most(file, source, max_bytes):
    try:
        data = file.read(max_bytes + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"cannot read {source}: {reason}") from None
    if data is not None and len(data) > max_bytes:
        raise UserError(
            f"{source} holds more than {max_bytes:,} bytes, the most skimdb reads "
            "at once (see 'Limits' in the command line guide); split it, or "
            "stream it with skimdb train --chunk-size N"
        )
    return data or b""


def _decode_utf8(data, source):
    """``data`` decoded as UTF-8 (a leading byte-order mark dropped), or one line
    naming ``source`` and the offset of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"cannot read {source}: not UTF-8 text (byte {data[exc.start]:#04x} at "
            f"offset {exc.start}); save it as UTF-8"
        ) from None


# -- reviews ---------------------------------------------------------------------------


def read_reviews(text, file):
    """The reviews given as arguments, in ``file`` or on standard input, in
    batches (lists of at most :data:`BATCH_REVIEWS` reviews and
    :data:`BATCH_CHARS` characters): the input is read as the batches are
    taken, so it may be of any length.

    Lines end at ``"\\n"`` (or ``"\\r\\n"``) only: other characters that
    :meth:`str.splitlines` breaks at (U+2028, U+0085, form feeds...) stay inside
    a review. The input must be UTF-8, on standard input as in a file; a leading
    byte-order mark is dropped. A line is at most :data:`MAX_REVIEW_CHARS`
    characters. An input without reviews is refused at once; a fault further
    on (a bad byte, a line too long) when its batch is taken.
    """
    if text and file:
        raise UserError("give reviews as TEXT arguments or with --file, not both")
    if text:
        lines = iter(text)
    elif file and file != "-":
        lines = _read_lines(_open_text_file(file, "--file"), file)
    elif file == "-" or not sys.stdin.isatty():
        stream = getattr(sys.stdin, "buffer", sys.stdin)  # bytes: decode as a file
        lines = _read_lines(contextlib.nullcontext(stream), "standard input")
    else:
        raise UserError(
            "no review given: pass TEXT arguments, --file PATH, or pipe one review "
            "per line on standard input"
        )
    batches = _batches(review for review in lines if review.strip())
    first = next(batches, None)
    if first is None:
        raise UserError("no review given: the input holds no non-blank line")
    return itertools.chain([first], batches)


def _batches(reviews):
    batch, size = [], 0
    for review in reviews:
        batch.append(review)
        size += len(review)
        if len(batch) >= BATCH_REVIEWS or size >= BATCH_CHARS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _read_lines(opened, name):
    """The lines of the byte stream ``opened`` (a context manager), decoded; a
    line of more than :data:`MAX_REVIEW_CHARS` characters is refused as soon as
    that many bytes are read without its end."""
    source = f"reviews from {name}"
    limit = 4 * MAX_REVIEW_CHARS + 2  # UTF-8 takes at most 4 bytes a character
    offset = 0
    with opened as stream:
        for number in itertools.count(1):
            try:
                raw = stream.readline(limit)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise UserError(f"cannot read {source}: {reason}") from None
            if not raw:
                return
            start = 3 if offset == 0 and raw[:3] == b"\xef\xbb\xbf" else 0
            try:
                line = raw if isinstance(raw, str) else raw[start:].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(
                    f"cannot read {source}: not UTF-8 text (byte "
                    f"{raw[start + exc.start]:#04x} at offset "
                    f"{offset + start + exc.start}); save it as UTF-8"
                ) from None
            offset += len(raw)
            line = line.removesuffix("\n").removesuffix("\r")
            cut = len(raw) == limit and raw[-1:] not in (b"\n", "\n")
            if len(line) > MAX_REVIEW_CHARS or cut:
                raise UserError(
                    f"line {number} of {source} holds more than "
                    f"{MAX_REVIEW_CHARS:,} characters, the longest review skimdb "
                    "reads (see 'Limits' in the command line guide)"
                )
            yield line


# -- CSV files of texts and labels ---------------------------------------------------


def read_csv(path, text_column, label_column=None, *, what="--csv"):
    """The texts (and labels) of a CSV file with a header row: (texts, labels).

    Read with the standard library's :mod:`csv` (Excel's dialect, strictly:
    commas, quoted fields may hold commas and line breaks). Every problem is one
    :class:`UserError` naming the file: missing or unreadable, not a file of text
    (a device), larger than :data:`MAX_CSV_BYTES`, not UTF-8, empty, no such
    column (naming those it has) or two of that name, no rows, a row whose text
    or label is empty, a field over :data:`MAX_REVIEW_CHARS` characters, a
    quote never closed (naming the line where it opened). ``labels`` is None
    without ``label_column``; see :func:`parse_labels` for their type.
    """
    path = expand(path, what)
    data = _read_bounded(path, what, MAX_CSV_BYTES)
    text = _decode_utf8(data, f"{what} {path}")
    del data
    source = f"{what} {path}"
    rows = csv_rows(io.StringIO(text, newline=""), source)
    header = next(rows, None)
    if header is None or not any(name.strip() for name in header[1]):
        raise UserError(
            f"{source} is empty: it needs a header row naming its columns, then one "
            "row per review"
        )
    header = header[1]
    wanted = [("--text-column", text_column)]
    if label_column is not None:
        wanted.append(("--label-column", label_column))
    positions = [_column(header, name, flag, source) for flag, name in wanted]
    texts, labels = [], []
    for line, row in rows:
        if not any(field.strip() for field in row):
            continue  # a blank line
        values = [row[i] if i < len(row) else "" for i in positions]
        for (flag, name), value in zip(wanted, values, strict=True):
            if not value.strip():
                raise UserError(
                    f"{source}, line {line}: the column {name!r} ({flag}) is "
                    "empty; fill it in or remove the row"
                )
        texts.append(values[0])
        if label_column is not None:
            labels.append(values[1].strip())
    if not texts:
        raise UserError(f"{source} holds no rows below its header row")
    if label_column is None:
        return texts, None
    from skimdb.streaming import parse_labels  # the one rule, streamed or not

    return texts, parse_labels(labels)


def csv_rows(lines, source):
    """The rows of the CSV text ``lines`` (an iterable of lines, such as an open
    file): (the line the row starts on, its fields), lazily.

    Strict Excel dialect; a field is at most :data:`MAX_REVIEW_CHARS`
    characters. A malformed row is one :class:`UserError` naming ``source`` and
    the line where that row starts: for a quote never closed, where it opened.
    """
    with _field_size_limit(MAX_REVIEW_CHARS):
        reader = csv.reader(lines, strict=True)
        start = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise UserError(
                    _csv_error(source, start, reader.line_num, exc)
                ) from None
            yield start, row
            start = reader.line_num + 1


def _csv_error(source, start, end, exc):
    message = str(exc)
    if "field larger than field limit" in message:
        return (
            f"{source}, line {start}: a field holds more than {MAX_REVIEW_CHARS:,} "
            "characters, the longest review skimdb reads (see 'Limits' in the "
            "command line guide)"
        )
    if "unexpected end of data" in message:
        return (
            f"{source}, line {start}: a quoted field opens on this line and is "
            "never closed (its quote runs to the end of the file); close it, or "
            'double each quote inside a field ("")'
        )
    where = f"line {start}" if start == end else f"the row of lines {start}-{end}"
    return f"{source}, {where}: not a valid CSV file: {message}"


@contextlib.contextmanager
def _field_size_limit(limit):
    """csv's field limit (131,072 characters by default) set to ``limit``, then
    restored: it is the module's global."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _column(header, name, flag, source):
    """The position of the column ``name`` in ``header``: there must be one."""
    found = [i for i, column in enumerate(header) if column == name]
    if not found:
        have = ", ".join(repr(column) for column in header)
        raise UserError(
            f"{source} has no column {name!r} ({flag}); its columns are {have}"
        )
    if len(found) > 1:
        where = ", ".join(str(i + 1) for i in found)
        raise UserError(
            f"{source} has {len(found)} columns named {name!r} ({flag}): columns "
            f"{where}; rename all but one"
        )
    return found[0]


def write_csv(path, texts, labels, text_column, label_column):
    """``texts`` and ``labels`` as a CSV file that :func:`read_csv` reads back."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([text_column, label_column])
        writer.writerows(zip(texts, labels, strict=True))
    return path
