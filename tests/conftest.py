"""Shared fixtures and helpers: small generated data, and the real IMDB files.

The plain helpers (the tiny aclImdb archive, Keras' ``load_data`` transcribed)
are imported by test modules as ``from conftest import ...``, so that no test
module imports another.
"""

import csv
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from skimdb.datasets._keras import _RawIMDB, _RawSplit

REPO = Path(__file__).resolve().parents[1]
#: Where the real IMDB files live for tests: ``SKIMDB_TEST_DATA`` or the
#: read-only ``../shared/data/imdb`` beside the checkout (as in CI).
REAL_DATA = Path(
    os.environ.get("SKIMDB_TEST_DATA", REPO.parent / "shared" / "data" / "imdb")
)
REAL_FILES = ("aclImdb_v1.tar.gz", "imdb_word_index.json")


@pytest.fixture(scope="session")
def real_data_home():
    """The folder holding the real IMDB tarball and word index, else skip."""
    missing = [name for name in REAL_FILES if not (REAL_DATA / name).is_file()]
    if missing:
        pytest.skip(
            f"real IMDB data absent: {', '.join(missing)} not in {REAL_DATA} "
            "(set SKIMDB_TEST_DATA to the folder holding them)"
        )
    return REAL_DATA


@pytest.fixture(scope="session")
def real_imdb(real_data_home):
    """``load_data(num_words=10000)`` on the real data, loaded once per session."""
    from skimdb.datasets import load_data

    return load_data(num_words=10000, data_home=real_data_home)


# -- a tiny aclImdb -------------------------------------------------------------------

#: Reviews of the fake tarball. Train pos file names sort differently as
#: strings (0, 10, 2) than as numbers (0, 2, 10).
REVIEWS = {
    "train/pos/0_9.txt": "The film was GREAT!<br />Great, great.",
    "train/pos/10_8.txt": "A film... the end",
    "train/pos/2_7.txt": "\u00dcn\u00efcode caf\u00e9: the Film",
    "train/neg/1_1.txt": "Bad. Bad film;\tthe\nend",
    "train/neg/3_2.txt": "it's (really) bad",
    "test/pos/5_10.txt": "Great unseen film",
    "test/neg/7_3.txt": "the END, the end.",
    "test/neg/0_4.txt": "UNSEEN words only",
}
#: Other members an aclImdb archive holds, all to be ignored.
OTHER_MEMBERS = {
    "README": "Large Movie Review Dataset v1.0",
    "imdb.vocab": "the\nfilm\n",
    "train/urls_pos.txt": "http://www.imdb.com/title/tt0453418/usercomments\n",
    "train/unsup/0_0.txt": "Unlabelled words nowhere in the index",
}
WORD_INDEX = {
    "the": 1,
    "film": 2,
    "great": 3,
    "bad": 4,
    "end": 5,
    "br": 6,
    "was": 7,
    "a": 8,
    "it's": 9,
    "really": 10,
    "caf\u00e9": 11,
    "\u00dcn\u00efcode": 12,
}
#: The raw arrays the tiny archive must give (pos then neg, names as strings).
RAW_TRAIN = [
    [1, 2, 7, 3, 6, 3, 3],
    [8, 2, 1, 5],
    [12, 11, 1, 2],
    [4, 4, 2, 1, 5],
    [9, 10, 4],
]
RAW_TRAIN_LABELS = [1, 1, 1, 0, 0]
RAW_TEST = [[3, 2], [], [1, 5, 1, 5]]
RAW_TEST_LABELS = [1, 0, 0]


def _write_csv(path, rows, header=("review", "stars")):
    """A CSV file of ``rows`` under ``header``, as the command line reads them."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _write_tarball(path, reviews=REVIEWS, other=OTHER_MEMBERS):
    with tarfile.open(path, "w:gz") as archive:
        for folder in ("aclImdb", "aclImdb/train", "aclImdb/train/pos"):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name, text in {**other, **reviews}.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def _write_word_index(path, word_index=WORD_INDEX):
    path.write_text(json.dumps(word_index), encoding="utf-8")


def _raw(train, train_labels, test, test_labels):
    return _RawIMDB(
        _RawSplit.from_sequences(train, train_labels),
        _RawSplit.from_sequences(test, test_labels),
    )


def _assert_same(result, expected):
    """Two ``(x_train, y_train), (x_test, y_test)`` results are equal."""
    for (x, y), (x_exp, y_exp) in zip(result, expected, strict=True):
        assert x.dtype == object and x.ndim == 1
        assert [list(seq) for seq in x] == [list(seq) for seq in x_exp]
        assert all(type(i) is int for seq in x for i in seq)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, y_exp)


# -- Keras' load_data, transcribed ---------------------------------------------------


def _remove_long_seq(maxlen, seq, label):
    # keras.src.utils.python_utils.remove_long_seq
    new_seq, new_label = [], []
    for x, y in zip(seq, label, strict=False):
        if len(x) < maxlen:
            new_seq.append(x)
            new_label.append(y)
    return new_seq, new_label


def _object_array(lists):
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        out[i] = item
    return out


def _keras_load_data(
    raw,
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
):
    """keras.datasets.imdb.load_data (Keras 3) after reading the npz, verbatim.

    Only the last step differs: Keras' ``np.array(lists, dtype="object")``
    would give a 2-D array when all lists have the same length.
    """
    x_train, labels_train = _object_array(raw.train.sequences()), raw.train.labels
    x_test, labels_test = _object_array(raw.test.sequences()), raw.test.labels

    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train = x_train[indices]
    labels_train = labels_train[indices]

    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test = x_test[indices]
    labels_test = labels_test[indices]

    if start_char is not None:
        x_train = [[start_char] + [w + index_from for w in x] for x in x_train]
        x_test = [[start_char] + [w + index_from for w in x] for x in x_test]
    elif index_from:
        x_train = [[w + index_from for w in x] for x in x_train]
        x_test = [[w + index_from for w in x] for x in x_test]
    else:
        x_train = [[w for w in x] for x in x_train]
        x_test = [[w for w in x] for x in x_test]

    if maxlen:
        x_train, labels_train = _remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = _remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                "After filtering for sequences shorter than maxlen="
                f"{str(maxlen)}, no sequence was kept. Increase maxlen."
            )

    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])

    if not num_words:
        num_words = max(max(x) for x in xs)

    if oov_char is not None:
        xs = [[w if (skip_top <= w < num_words) else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]

    idx = len(x_train)
    x_train, y_train = _object_array(xs[:idx]), labels[:idx]
    x_test, y_test = _object_array(xs[idx:]), labels[idx:]
    return (x_train, y_train), (x_test, y_test)


# -- Keras' npz ---------------------------------------------------------------------


def _write_keras_npz(path, train=RAW_TRAIN, test=RAW_TEST):
    np.savez(
        path,
        x_train=_object_array(train),
        y_train=np.array(RAW_TRAIN_LABELS[: len(train)], dtype=np.int64),
        x_test=_object_array(test),
        y_test=np.array(RAW_TEST_LABELS[: len(test)], dtype=np.int64),
    )
    return hashlib.sha256(path.read_bytes()).hexdigest()
