"""Finding, reading, rebuilding, caching and downloading the IMDB files.

Sources, first found wins:

a. Keras' ``imdb.npz`` in the data home, else in Keras' own folder
   (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``), trusted only when its
   sha256 is Keras' published one.
b. The raw ``aclImdb_v1.tar.gz`` with ``imdb_word_index.json`` in the data
   home: the arrays are rebuilt from the text exactly as Keras built them.
c. A download of Keras' ``imdb.npz`` into the data home (when allowed).

Whatever is read is cached as flat arrays in an uncompressed, pickle-free
``.npz`` whose name carries a fingerprint of the source files and the cache
format version, so the next load is fast and a changed source is never served
stale.
"""

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.request
import warnings
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from skimdb import _codec, _ragged
from skimdb.datasets._home import (
    DATA_HOME_ENV,
    _cache_dir,
    _is_writable_dir,
    _keras_datasets_dir,
)
from skimdb.datasets._keras import _gc_paused, _RawIMDB, _RawSplit

#: Where Keras downloads its IMDB files from.
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
NPZ_NAME = "imdb.npz"
WORD_INDEX_NAME = "imdb_word_index.json"
TARBALL_NAME = "aclImdb_v1.tar.gz"
#: sha256 of Keras' ``imdb.npz`` (the ``file_hash`` of ``imdb.load_data``).
KERAS_NPZ_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
#: md5 of Keras' ``imdb_word_index.json`` (``imdb.get_word_index``'s hash).
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"
#: Stanford's archive of the raw reviews, read by ``fetch_imdb(text=True)``.
STANFORD_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
#: sha256 of Stanford's ``aclImdb_v1.tar.gz`` (84,125,825 bytes).
STANFORD_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
#: Seconds a download may wait for the server (to connect, or for more bytes)
#: before it fails; a stalled server must not hang ``load_data`` forever.
DOWNLOAD_TIMEOUT = 60
#: Bump when the cache layout or the rebuild changes: old caches are ignored.
CACHE_FORMAT_VERSION = 1
_SPLITS = ("train", "test")
_REVIEW_MEMBER = re.compile(r"^(?:\./)?aclImdb/(train|test)/(pos|neg)/([^/]+\.txt)$")
#: A review file's name: ``<id>_<rating>.txt``.
_REVIEW_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
#: The star ratings each label's reviews may have.
_RATINGS = {"pos": range(7, 11), "neg": range(1, 5)}


class IMDBDataNotFoundError(OSError):
    """The IMDB files are neither in the data home nor downloadable.

    The message says which files to put into which folder, or which
    environment variable to set.
    """


def _not_found_message(data_home, reason):
    return (
        f"The IMDB data set was not found in the data home {str(data_home)!r} "
        f"({reason}). Put Keras' {NPZ_NAME!r}, or {TARBALL_NAME!r} together with "
        f"{WORD_INDEX_NAME!r}, into that folder, or set the {DATA_HOME_ENV} "
        "environment variable (or pass data_home=) to the folder holding them."
    )


def _file_digest(path, algorithm):
    """Hex digest of a file's bytes."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _has_hash(path, expected, algorithm):
    """Whether the file's digest is ``expected``; warn and say False if not."""
    actual = _file_digest(path, algorithm)
    if actual == expected:
        return True
    warnings.warn(
        f"Ignoring {str(path)!r}: its {algorithm} is {actual}, not the expected "
        f"{expected} (incomplete, corrupted or a different file).",
        UserWarning,
        stacklevel=4,
    )
    return False


# -- the word index ---------------------------------------------------------


def _read_word_index_file(path):
    """Read and validate a word index json file (an object of str -> int)."""
    try:
        with open(path, encoding="utf-8") as file:
            word_index = json.load(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a valid JSON word index: {exc}"
        ) from exc
    try:
        return _codec.check_word_index(word_index)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is not a valid word index: {exc}") from exc


_WORD_INDEX_MEMO = {}


def _memo_word_index(path):
    """Read a word index file, memoized on the file's path, size and mtime."""
    key = _file_key(path)
    if key not in _WORD_INDEX_MEMO:
        _WORD_INDEX_MEMO.clear()
        _WORD_INDEX_MEMO[key] = _read_word_index_file(path)
    return _WORD_INDEX_MEMO[key]


def _load_word_index(data_home, download_if_missing):
    """The Keras word index: data home, then Keras' folder, then download."""
    local = data_home / WORD_INDEX_NAME
    if local.is_file():
        return _memo_word_index(local)
    keras_copy = _keras_datasets_dir() / WORD_INDEX_NAME
    if keras_copy.is_file() and _has_hash(keras_copy, WORD_INDEX_MD5, "md5"):
        return _memo_word_index(keras_copy)
    if not download_if_missing:
        raise IMDBDataNotFoundError(
            f"The IMDB word index {WORD_INDEX_NAME!r} was found neither in the "
            f"data home {str(data_home)!r} nor in {str(keras_copy.parent)!r}, and "
            "download_if_missing=False. Put it into the data home, or set the "
            f"{DATA_HOME_ENV} environment variable (or pass data_home=) to the "
            "folder holding it."
        )
    return _memo_word_index(_download(data_home, WORD_INDEX_NAME, WORD_INDEX_MD5))


# -- rebuilding from the raw text -------------------------------------------


_DAMAGED_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


@contextlib.contextmanager
def _open_archive(tarball):
    """Open a tarball as a stream of members; make damage an error, never silent.

    ``tarfile`` in stream mode stops quietly where a truncated archive breaks
    off at a member boundary, which would rebuild (and cache) a partial data
    set. A gzip archive is therefore read through :class:`gzip.GzipFile` and
    drained to its end after the members, so that a missing end (truncation)
    or a wrong CRC (corruption) raises. Any damage is a ``ValueError`` naming
    the file.
    """
    try:
        with open(tarball, "rb") as raw:
            is_gzip = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if is_gzip:
                with (
                    gzip.GzipFile(fileobj=raw, mode="rb") as stream,
                    tarfile.open(fileobj=stream, mode="r|") as archive,
                ):
                    yield archive
                    while stream.read(1 << 20):  # up to the gzip trailer
                        pass
            else:
                with tarfile.open(fileobj=raw, mode="r|*") as archive:
                    yield archive
    except _DAMAGED_ARCHIVE_ERRORS as exc:
        raise ValueError(
            f"{str(tarball)!r} is damaged (truncated or corrupted): {exc!r}. "
            f"Delete it and put a complete copy of {TARBALL_NAME!r} there."
        ) from exc


def _rebuild_from_aclimdb(tarball, word_index):
    """Rebuild Keras' IMDB arrays from the raw ``aclImdb`` text.

    Reviews are read from the tarball as a stream, tokenized with
    :func:`skimdb._codec.lookup_words` and mapped to their word index
    ranks. Each split lists the ``pos`` reviews then the ``neg`` ones, each
    sorted by file name as a plain string. Test words missing from the index
    are dropped, as Keras did; a train word missing from it means the index
    does not belong to this text, which is an error.

    Parameters
    ----------
    tarball : path-like
        The ``aclImdb_v1.tar.gz`` file (any compression ``tarfile`` reads).
    word_index : dict of str to int
        The Keras word index (ranks from 1).

    Returns
    -------
    raw : _RawIMDB
        The raw arrays, in the order of Keras' ``imdb.npz``.
    """
    found = {(split, label): [] for split in _SPLITS for label in ("pos", "neg")}
    with _gc_paused(), _open_archive(tarball) as archive:
        for member in archive:
            match = _REVIEW_MEMBER.match(member.name)
            if not member.isfile() or match is None:
                continue
            split, label, name = match.groups()
            data = archive.extractfile(member).read()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"{member.name!r} in {str(tarball)!r} is not valid UTF-8: {exc}"
                ) from exc
            found[split, label].append((name, member.name, text))
    splits = []
    for split in _SPLITS:
        if not found[split, "pos"] or not found[split, "neg"]:
            raise ValueError(
                f"{str(tarball)!r} is not an aclImdb archive: it holds no reviews "
                f"in aclImdb/{split}/pos or aclImdb/{split}/neg."
            )
        members, texts, labels = [], [], []
        for label, value in (("pos", 1), ("neg", 0)):
            ordered = sorted(found[split, label], key=lambda item: item[0])
            members.extend(member for _, member, _ in ordered)
            texts.extend(text for _, _, text in ordered)
            labels.extend([value] * len(ordered))
        # ranks from the one codec; unknown words are rank 0 (ranks start at 1)
        ranks = _codec.lookup_words(texts, word_index)
        unknown = ranks.values == 0
        if unknown.any() and split == "train":
            _raise_missing_train_words(tarball, members, texts, ranks, word_index)
        values, offsets = _ragged.compress(ranks.values, ranks.offsets, ~unknown)
        splits.append(_RawSplit(values, offsets, np.asarray(labels, dtype=np.int64)))
    return _RawIMDB(*splits)


def _raise_missing_train_words(tarball, members, texts, ranks, word_index):
    """A train word missing from the index: the index is not this text's."""
    reviews = np.unique(
        _ragged.row_at(ranks.offsets, np.flatnonzero(ranks.values == 0))
    )
    first = int(reviews[0])
    words = [w for w in _codec.tokenize(texts[first]) if w not in word_index]
    raise ValueError(
        f"The word index does not match {str(tarball)!r}: "
        f"{reviews.size} train reviews hold words missing from it, "
        f"e.g. {words[:5]} in {members[first]!r}. Use Keras' {WORD_INDEX_NAME!r}."
    )


class _TextSplit(NamedTuple):
    """One split of the raw reviews, in Keras' order, as flat arrays."""

    text: np.ndarray
    """``uint8``: the UTF-8 bytes of all reviews back to back."""
    offsets: np.ndarray
    """``int64``, ``n_reviews + 1`` entries delimiting the reviews in ``text``."""
    labels: np.ndarray
    """``int64``: 1 positive, 0 negative."""
    ratings: np.ndarray
    """``int64``: the star rating of the file name, 1-4 or 7-10."""

    def texts(self):
        """The reviews as a list of str."""
        data = self.text.tobytes()
        bounds = self.offsets.tolist()
        return [
            data[a:b].decode("utf-8")
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]

    def check(self, name):
        """Raise ``ValueError`` unless the arrays form a consistent split."""
        text, offsets, labels, ratings = self
        n = offsets.size - 1
        if not (
            text.ndim == 1
            and text.dtype == np.uint8
            and offsets.ndim == 1
            and offsets.dtype == np.int64
            and n >= 0
            and offsets[0] == 0
            and offsets[-1] == text.size
            and not np.any(np.diff(offsets) < 0)
            and labels.shape == ratings.shape == (n,)
            and labels.dtype == ratings.dtype == np.int64
            and np.all(np.where(labels == 1, ratings >= 7, ratings <= 4))
            and np.all((ratings >= 1) & (ratings <= 10))
            and np.isin(labels, (0, 1)).all()
        ):
            raise ValueError(f"inconsistent {name} text arrays")


def _read_aclimdb_texts(tarball):
    """The raw reviews of the ``aclImdb`` tarball, in the order of Keras' arrays.

    Each split lists the ``pos`` reviews then the ``neg`` ones, each sorted by
    file name as a plain string (as :func:`_rebuild_from_aclimdb` numbers
    them). The members are checked: valid UTF-8, names ``<id>_<rating>.txt``
    whose rating fits the label (1-4 ``neg``, 7-10 ``pos``), both labels of
    both splits present; anything else is a ``ValueError`` naming the member.

    Returns
    -------
    splits : tuple of two _TextSplit
        Train, then test.
    """
    found = {(split, label): [] for split in _SPLITS for label in ("pos", "neg")}
    with _gc_paused(), _open_archive(tarball) as archive:
        for member in archive:
            match = _REVIEW_MEMBER.match(member.name)
            if not member.isfile() or match is None:
                continue
            split, label, name = match.groups()
            parts = _REVIEW_NAME.match(name)
            rating = int(parts.group(2)) if parts else None
            if rating not in _RATINGS[label]:
                bounds = _RATINGS[label]
                raise ValueError(
                    f"{member.name!r} in {str(tarball)!r} is not named "
                    f"<id>_<rating>.txt with a rating from {bounds.start} to "
                    f"{bounds.stop - 1}, as the {label!r} reviews of aclImdb are."
                )
            data = archive.extractfile(member).read()
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"{member.name!r} in {str(tarball)!r} is not valid UTF-8: {exc}"
                ) from exc
            found[split, label].append((name, rating, data))
    splits = []
    for split in _SPLITS:
        if not found[split, "pos"] or not found[split, "neg"]:
            raise ValueError(
                f"{str(tarball)!r} is not an aclImdb archive: it holds no reviews "
                f"in aclImdb/{split}/pos or aclImdb/{split}/neg."
            )
        chunks, ratings, labels = [], [], []
        for label, value in (("pos", 1), ("neg", 0)):
            for _, rating, data in sorted(found[split, label], key=lambda x: x[0]):
                chunks.append(data)
                ratings.append(rating)
                labels.append(value)
        offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in chunks], out=offsets[1:])
        text = np.frombuffer(b"".join(chunks), dtype=np.uint8)
        splits.append(
            _TextSplit(
                text,
                offsets,
                np.asarray(labels, dtype=np.int64),
                np.asarray(ratings, dtype=np.int64),
            )
        )
    return tuple(splits)


# -- Keras' npz --------------------------------------------------------------


def _read_keras_npz(path):
    """Read Keras' ``imdb.npz`` (object arrays) into flat arrays.

    Only call this on a file whose hash matched: it holds pickled arrays.
    """
    with np.load(path, allow_pickle=True) as data:
        splits = [
            _RawSplit.from_sequences(data[f"x_{split}"], data[f"y_{split}"])
            for split in _SPLITS
        ]
    return _RawIMDB(*splits)


# -- the cache ---------------------------------------------------------------


def _file_key(path):
    stat = os.stat(path)
    return (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def _cache_path(cache_dir, kind, sources, extra=""):
    """Where the cache of ``sources`` goes: named by their fingerprint."""
    digest = hashlib.sha256(f"{CACHE_FORMAT_VERSION}\0{kind}\0{extra}".encode())
    for source in sources:
        stat = os.stat(source)
        digest.update(
            f"\0{Path(source).name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
        )
    return Path(cache_dir) / (
        f"imdb_{kind}_v{CACHE_FORMAT_VERSION}_{digest.hexdigest()[:20]}.npz"
    )


def _read_cache(path, split_type=_RawSplit, whole=_RawIMDB):
    """Read a cache file; on any problem warn, delete it and return None.

    ``split_type`` is the NamedTuple of each split (its fields are the keys,
    prefixed by the split's name) and ``whole`` makes the result of the two.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {
                f"{split}_{field}": data[f"{split}_{field}"]
                for split in _SPLITS
                for field in split_type._fields
            }
        raw = whole(
            *(
                split_type(
                    *(arrays[f"{split}_{field}"] for field in split_type._fields)
                )
                for split in _SPLITS
            )
        )
        for split, part in zip(_SPLITS, raw, strict=True):
            part.check(f"cached {split}")
    except Exception as exc:  # np.load raises many kinds on a damaged file
        warnings.warn(
            f"Discarding the damaged IMDB cache {str(path)!r} ({exc!r}); "
            "rebuilding it.",
            UserWarning,
            stacklevel=4,
        )
        try:
            os.remove(path)
        except OSError:
            pass
        return None
    return raw


def _write_cache(path, raw):
    """Write the cache atomically: a temporary file beside it, then replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(
                file,
                **{
                    f"{split}_{field}": value
                    for split, part in zip(_SPLITS, raw, strict=True)
                    for field, value in part._asdict().items()
                },
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private (0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def _cached(data_home, kind, sources, build, extra="", read=_read_cache):
    """Load the cache of ``sources``, else ``build()`` it and cache the result.

    ``build`` may return None (the source was not usable): nothing is cached.
    Failing to write the cache only warns. ``read`` reads a cache file.
    """
    path = _cache_path(_cache_dir(data_home), kind, sources, extra)
    if path.is_file():
        raw = read(path)
        if raw is not None:
            return raw
    raw = build()
    if raw is not None:
        try:
            _write_cache(path, raw)
        except OSError as exc:
            warnings.warn(
                f"Could not cache the IMDB arrays in {str(path.parent)!r} ({exc}); "
                "the next load will read the source again. Set the SKIMDB_CACHE "
                "environment variable to a writable folder.",
                UserWarning,
                stacklevel=3,
            )
    return raw


# -- downloading -------------------------------------------------------------


def _download_file(*, fname, origin, file_hash, cache_dir, cache_subdir=""):
    """Download ``origin`` to ``cache_dir/cache_subdir/fname``, checking its hash.

    Written by hand rather than with ``keras.utils.get_file`` (same keywords) for
    what it lacks: a timeout (:data:`DOWNLOAD_TIMEOUT` seconds without
    progress), a check of the length the server announced, and no import of
    Keras. ``file_hash`` is an md5 (32 hex digits) or sha256 (64) digest.
    Raises ``OSError`` (``urllib.error.URLError`` and ``TimeoutError`` are
    ones) when the transfer fails and ``ValueError`` when the bytes are not
    the expected ones; the partial file is removed in every case.
    """
    algorithm = "md5" if len(file_hash) == 32 else "sha256"
    target = Path(cache_dir, cache_subdir, fname)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.new(algorithm)
    size = 0
    try:
        with (
            urllib.request.urlopen(origin, timeout=DOWNLOAD_TIMEOUT) as response,
            open(target, "wb") as file,
        ):
            expected_size = response.headers.get("Content-Length")
            for block in iter(lambda: response.read(1 << 16), b""):
                file.write(block)
                digest.update(block)
                size += len(block)
        if expected_size is not None and size != int(expected_size):
            raise OSError(
                f"the connection closed after {size} of {expected_size} bytes"
            )
        if digest.hexdigest() != file_hash:
            raise ValueError(
                f"Incomplete or corrupted file: its {algorithm} is "
                f"{digest.hexdigest()}, not the expected {file_hash}."
            )
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(target)
        raise
    return str(target)


def _download(data_home, name, file_hash, url=None):
    """Download one of the IMDB files into the data home; return its path.

    ``url`` defaults to Keras' address of ``name``.

    The file goes into a fresh temporary folder inside the data home, where
    :func:`_download_file` checks its length and hash, and is then moved into
    place with one ``os.replace``, so a partial or corrupted file never lands
    in the data home, and two processes downloading at once each put a whole
    file there (the last one wins).
    """
    url = url or f"{ORIGIN}{name}"
    try:
        data_home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IMDBDataNotFoundError(
            _not_found_message(data_home, f"it could not be created to download {url}")
        ) from exc
    if not _is_writable_dir(data_home):
        raise IMDBDataNotFoundError(
            _not_found_message(data_home, f"it is read-only, so {url} can't go there")
        )
    tmp = tempfile.mkdtemp(prefix=".skimdb-download-", dir=data_home)
    try:
        try:
            downloaded = _download_file(
                fname=name,
                origin=url,
                file_hash=file_hash,
                cache_dir=tmp,
                cache_subdir="",
            )
        except Exception as exc:  # OSError, ValueError, http.client errors...
            raise IMDBDataNotFoundError(
                _not_found_message(data_home, f"downloading {url} failed: {exc}")
            ) from exc
        target = data_home / name
        os.replace(downloaded, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# -- the resolver --------------------------------------------------------------


def _load_raw(data_home, download_if_missing=True):
    """The raw IMDB arrays from the first source found (see module docstring).

    Parameters
    ----------
    data_home : pathlib.Path
        The data home (see :func:`~skimdb.datasets.get_data_home`).
    download_if_missing : bool, default=True
        Whether to download Keras' ``imdb.npz`` when no source is found.

    Returns
    -------
    raw : _RawIMDB
    """
    for npz in (data_home / NPZ_NAME, _keras_datasets_dir() / NPZ_NAME):
        if npz.is_file():
            raw = _cached(
                data_home,
                "npz",
                [npz],
                lambda npz=npz: (
                    _read_keras_npz(npz)
                    if _has_hash(npz, KERAS_NPZ_SHA256, "sha256")
                    else None
                ),
                extra=KERAS_NPZ_SHA256,
            )
            if raw is not None:
                return raw
    tarball, index = data_home / TARBALL_NAME, data_home / WORD_INDEX_NAME
    if tarball.is_file() and index.is_file():
        return _cached(
            data_home,
            "aclimdb",
            [tarball, index],
            lambda: _rebuild_from_aclimdb(tarball, _read_word_index_file(index)),
        )
    if not download_if_missing:
        reason = "download_if_missing=False"
        if tarball.is_file() != index.is_file():
            present, absent = (
                (TARBALL_NAME, WORD_INDEX_NAME)
                if tarball.is_file()
                else (WORD_INDEX_NAME, TARBALL_NAME)
            )
            reason = f"{present!r} is there but {absent!r} is missing; {reason}"
        raise IMDBDataNotFoundError(_not_found_message(data_home, reason))
    npz = _download(data_home, NPZ_NAME, KERAS_NPZ_SHA256)
    return _cached(
        data_home, "npz", [npz], lambda: _read_keras_npz(npz), extra=KERAS_NPZ_SHA256
    )


def _load_texts(data_home, download_if_missing=True):
    """The raw reviews (train, test) from the data home's ``aclImdb_v1.tar.gz``.

    When the tarball is not there, Stanford's archive is downloaded into the
    data home (its sha256 checked) if ``download_if_missing``. Any tarball
    found there is read (a re-pack of the same files has another hash) and its
    members are checked instead. The parsed reviews are cached, as the word ids
    are.

    Returns
    -------
    splits : tuple of two _TextSplit
    """
    tarball = data_home / TARBALL_NAME
    if not tarball.is_file():
        if not download_if_missing:
            raise IMDBDataNotFoundError(
                f"The IMDB review texts {TARBALL_NAME!r} were not found in the data "
                f"home {str(data_home)!r} (download_if_missing=False). Put Stanford's "
                f"{TARBALL_NAME!r} ({STANFORD_URL}) into that folder, or set the "
                f"{DATA_HOME_ENV} environment variable (or pass data_home=) to the "
                "folder holding it."
            )
        tarball = _download(data_home, TARBALL_NAME, STANFORD_SHA256, STANFORD_URL)
    return _cached(
        data_home,
        "texts",
        [tarball],
        lambda: _read_aclimdb_texts(tarball),
        read=lambda path: _read_cache(path, _TextSplit, _pair),
    )


def _pair(train, test):
    return (train, test)
