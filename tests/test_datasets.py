"""Tests for skimdb.datasets: small generated data, and the real IMDB files."""

import hashlib
import io
import itertools
import os
import stat
import sys
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    OTHER_MEMBERS,
    RAW_TEST,
    RAW_TEST_LABELS,
    RAW_TRAIN,
    RAW_TRAIN_LABELS,
    REVIEWS,
    WORD_INDEX,
    _assert_same,
    _keras_load_data,
    _object_array,
    _raw,
    _write_keras_npz,
    _write_tarball,
    _write_word_index,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils import Bunch

from skimdb._codec import tokenize as _tokenize
from skimdb.datasets import (
    IMDBDataNotFoundError,
    _sources,
    decode_review,
    encode_review,
    fetch_imdb,
    get_data_home,
    get_word_index,
    load_data,
)
from skimdb.datasets._home import _cache_dir
from skimdb.datasets._keras import (
    _apply_load_data,
    _check_load_params,
    _to_object_array,
)

#: The real download function (the tests replace it with one that fails).
_KERAS_GET_FILE = _sources._download_file


@pytest.fixture(autouse=True)
def _isolated(request, monkeypatch, tmp_path):
    """Keep the generated-data tests away from any real data and caches."""
    if request.node.get_closest_marker("realdata"):
        return
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("SKIMDB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SKIMDB_DATA", raising=False)

    def no_download(**kwargs):
        raise AssertionError(f"unexpected download: {kwargs}")

    monkeypatch.setattr(_sources, "_download_file", no_download)


@pytest.fixture
def fake_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    _write_tarball(home / _sources.TARBALL_NAME)
    _write_word_index(home / _sources.WORD_INDEX_NAME)
    return home


_reviews = st.lists(
    st.lists(st.integers(1, 60), min_size=1, max_size=12), min_size=1, max_size=15
)
_params = st.fixed_dictionaries(
    {
        "num_words": st.sampled_from([None, 1, 4, 10, 30, 63, 64, 100]),
        "skip_top": st.sampled_from([0, 1, 2, 5, 20]),
        "maxlen": st.sampled_from([None, 1, 2, 4, 8, 100]),
        "seed": st.sampled_from([113, 0, 7, 2**32 - 1]),
        "start_char": st.sampled_from([1, None, 0, 9]),
        "oov_char": st.sampled_from([2, None, 0, 70]),
        "index_from": st.sampled_from([3, 0, 1, 10]),
    }
)


@settings(max_examples=150, deadline=None)
@given(train=_reviews, test=_reviews, params=_params, data=st.data())
def test_apply_load_data_equals_keras(train, test, params, data):
    train_labels = data.draw(st.lists(st.integers(0, 1), min_size=len(train)))
    test_labels = data.draw(st.lists(st.integers(0, 1), min_size=len(test)))
    raw = _raw(train, train_labels[: len(train)], test, test_labels[: len(test)])
    try:
        expected = _keras_load_data(raw, **params)
    except ValueError as exc:
        with pytest.raises(ValueError, match="no sequence was kept"):
            _apply_load_data(raw, **_check_load_params(**params))
        assert "no sequence was kept" in str(exc)
        return
    _assert_same(_apply_load_data(raw, **_check_load_params(**params)), expected)


def test_apply_load_data_grid_with_empty_reviews():
    """Empty reviews (test reviews of unknown words only) and many arguments."""
    raw = _raw(RAW_TRAIN, RAW_TRAIN_LABELS, RAW_TEST, RAW_TEST_LABELS)
    grid = itertools.product(
        [None, 3, 9, 14, 16], [0, 4], [None, 3, 6], [113, 5], [1, 0], [2, None], [3, 0]
    )
    for num_words, skip_top, maxlen, seed, start_char, oov_char, index_from in grid:
        params = dict(
            num_words=num_words,
            skip_top=skip_top,
            maxlen=maxlen,
            seed=seed,
            start_char=start_char,
            oov_char=oov_char,
            index_from=index_from,
        )
        try:
            expected = _keras_load_data(raw, **params)
        except ValueError:
            with pytest.raises(ValueError, match=f"maxlen={maxlen}"):
                _apply_load_data(raw, **_check_load_params(**params))
            continue
        _assert_same(_apply_load_data(raw, **_check_load_params(**params)), expected)


# -- tokenizing ----------------------------------------------------------------


def test_tokenize():
    assert _tokenize("The film was GREAT!<br />Great, great.") == [
        "the",
        "film",
        "was",
        "great",
        "br",
        "great",
        "great",
    ]
    # Only ASCII letters are lowercased; apostrophes stay; \r, \xa0 don't split.
    assert _tokenize("\u00c9T\u00c9 it's a\u00a0b\rC  (x)") == [
        "\u00c9t\u00c9",
        "it's",
        "a\u00a0b\rc",
        "x",
    ]
    assert _tokenize("") == [] and _tokenize(" ...!\t\n") == []
    with pytest.raises(TypeError, match="text must be a str"):
        _tokenize(b"bytes")


# -- rebuilding from the raw text -----------------------------------------------


def test_rebuild_from_tarball(fake_home):
    raw = _sources._rebuild_from_aclimdb(fake_home / _sources.TARBALL_NAME, WORD_INDEX)
    assert raw.train.sequences() == RAW_TRAIN
    assert raw.test.sequences() == RAW_TEST
    assert raw.train.labels.tolist() == RAW_TRAIN_LABELS
    assert raw.test.labels.tolist() == RAW_TEST_LABELS
    assert raw.train.ids.dtype == np.int32 and raw.train.offsets.dtype == np.int64


def test_load_data_from_tarball_equals_keras(fake_home):
    raw = _raw(RAW_TRAIN, RAW_TRAIN_LABELS, RAW_TEST, RAW_TEST_LABELS)
    for params in [{}, {"num_words": 8}, {"maxlen": 6, "seed": 1, "oov_char": None}]:
        _assert_same(
            load_data(data_home=fake_home, download_if_missing=False, **params),
            _keras_load_data(raw, **params),
        )


def test_rebuild_rejects_train_words_missing_from_index(tmp_path):
    _write_tarball(tmp_path / "a.tar.gz")
    index = {w: r for w, r in WORD_INDEX.items() if w != "really"}
    with pytest.raises(ValueError, match=r"does not match.*\['really'\]"):
        _sources._rebuild_from_aclimdb(tmp_path / "a.tar.gz", index)


def test_rebuild_rejects_other_archives(tmp_path):
    _write_tarball(tmp_path / "a.tar.gz", reviews={}, other=OTHER_MEMBERS)
    with pytest.raises(ValueError, match="not an aclImdb archive"):
        _sources._rebuild_from_aclimdb(tmp_path / "a.tar.gz", WORD_INDEX)


def test_rebuild_rejects_invalid_utf8(tmp_path):
    path = tmp_path / "a.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"\xff\xfe"))
    with pytest.raises(ValueError, match="not valid UTF-8"):
        _sources._rebuild_from_aclimdb(path, WORD_INDEX)


@pytest.mark.parametrize(
    "content, match",
    [
        ("[1, 2]", "not a valid word index"),
        ('{"a": "1"}', "not a valid word index"),
        ('{"a": 0}', "ranks >= 1"),
        ("{", "not a valid JSON"),
    ],
)
def test_invalid_word_index_file(fake_home, content, match):
    (fake_home / _sources.WORD_INDEX_NAME).write_text(content)
    with pytest.raises(ValueError, match=match):
        load_data(data_home=fake_home)


# -- the cache -----------------------------------------------------------------


def _cache_files(folder):
    return sorted(Path(folder).glob("imdb_*.npz")) if Path(folder).exists() else []


def test_cache_written_then_reused(fake_home, monkeypatch):
    first = load_data(data_home=fake_home)
    (cache,) = _cache_files(fake_home)  # the data home is writable: cache there
    assert f"_v{_sources.CACHE_FORMAT_VERSION}_" in cache.name
    with np.load(cache, allow_pickle=False) as data:
        assert data["train_ids"].dtype == np.int32
        assert data["train_offsets"].dtype == np.int64
        assert data["test_labels"].dtype == np.int64
    assert not list(fake_home.glob("*.tmp")) and not list(fake_home.glob(".imdb*"))

    def fail(*args):
        raise AssertionError("the source was read again")

    monkeypatch.setattr(_sources, "_rebuild_from_aclimdb", fail)
    _assert_same(load_data(data_home=fake_home), first)


def test_cache_invalidated_when_the_tarball_changes(fake_home):
    (x_train, _), _ = load_data(data_home=fake_home)
    assert sorted(map(len, x_train)) == [4, 5, 5, 6, 8]
    reviews = {**REVIEWS, "train/neg/3_2.txt": "bad"}
    _write_tarball(fake_home / _sources.TARBALL_NAME, reviews=reviews)
    (x_train, _), _ = load_data(data_home=fake_home, seed=None)
    assert sorted(map(len, x_train)) == [2, 5, 5, 6, 8]
    assert len(_cache_files(fake_home)) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "inconsistent"])
def test_damaged_cache_is_rebuilt(fake_home, damage):
    expected = load_data(data_home=fake_home)
    (cache,) = _cache_files(fake_home)
    if damage == "truncate":
        cache.write_bytes(cache.read_bytes()[:200])
    elif damage == "garbage":
        cache.write_bytes(b"not a zip file at all")
    else:
        with np.load(cache) as data:
            arrays = dict(data)
        arrays["train_offsets"] = arrays["train_offsets"][::-1].copy()
        with open(cache, "wb") as file:
            np.savez(file, **arrays)
    with pytest.warns(UserWarning, match="Discarding the damaged IMDB cache"):
        _assert_same(load_data(data_home=fake_home), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same(load_data(data_home=fake_home), expected)  # rebuilt cache


def test_read_only_data_home_caches_elsewhere(fake_home, tmp_path, monkeypatch):
    fake_home.chmod(0o555)
    try:
        expected = load_data(data_home=fake_home)
        assert _cache_files(fake_home) == []
        assert len(_cache_files(tmp_path / "cache")) == 1  # SKIMDB_CACHE
        monkeypatch.delenv("SKIMDB_CACHE")
        assert _cache_dir(fake_home) == tmp_path / "xdg" / "skimdb"
        monkeypatch.delenv("XDG_CACHE_HOME")
        monkeypatch.setenv("HOME", str(tmp_path / "user"))
        assert _cache_dir(fake_home) == tmp_path / "user" / ".cache" / "skimdb"
        _assert_same(load_data(data_home=fake_home), expected)
        assert len(_cache_files(tmp_path / "user" / ".cache" / "skimdb")) == 1
        assert _cache_files(fake_home) == []
    finally:
        fake_home.chmod(0o755)


def test_unwritable_cache_only_warns(fake_home, tmp_path, monkeypatch):
    fake_home.chmod(0o555)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    monkeypatch.setenv("SKIMDB_CACHE", str(blocker / "cache"))
    try:
        with pytest.warns(UserWarning, match="Could not cache"):
            (x_train, _), _ = load_data(data_home=fake_home)
        assert len(x_train) == 5
    finally:
        fake_home.chmod(0o755)


# -- Keras' npz ----------------------------------------------------------------


def test_keras_npz_in_data_home_wins(fake_home, monkeypatch):
    train = [[1, 1, 1]] + RAW_TRAIN[1:]
    digest = _write_keras_npz(fake_home / "imdb.npz", train=train)
    monkeypatch.setattr(_sources, "KERAS_NPZ_SHA256", digest)
    monkeypatch.setattr(_sources, "_rebuild_from_aclimdb", None)  # not used
    raw = _raw(train, RAW_TRAIN_LABELS, RAW_TEST, RAW_TEST_LABELS)
    _assert_same(load_data(data_home=fake_home), _keras_load_data(raw))
    assert len(_cache_files(fake_home)) == 1
    _assert_same(load_data(data_home=fake_home), _keras_load_data(raw))


def test_keras_npz_in_keras_home(tmp_path, monkeypatch):
    keras_datasets = tmp_path / "keras_home" / "datasets"
    keras_datasets.mkdir(parents=True)
    digest = _write_keras_npz(keras_datasets / "imdb.npz")
    monkeypatch.setattr(_sources, "KERAS_NPZ_SHA256", digest)
    raw = _raw(RAW_TRAIN, RAW_TRAIN_LABELS, RAW_TEST, RAW_TEST_LABELS)
    result = load_data(num_words=9, data_home=tmp_path / "missing")
    _assert_same(result, _keras_load_data(raw, num_words=9))
    assert not (tmp_path / "missing").exists()


def test_keras_npz_with_wrong_hash_is_ignored(fake_home, monkeypatch):
    _write_keras_npz(fake_home / "imdb.npz", train=[[1, 1, 1]] + RAW_TRAIN[1:])
    raw = _raw(RAW_TRAIN, RAW_TRAIN_LABELS, RAW_TEST, RAW_TEST_LABELS)
    with pytest.warns(UserWarning, match="Ignoring .*imdb.npz.*sha256"):
        result = load_data(data_home=fake_home)
    _assert_same(result, _keras_load_data(raw))  # from the tarball instead
    (fake_home / _sources.TARBALL_NAME).unlink()
    with pytest.warns(UserWarning, match="sha256"):
        with pytest.raises(IMDBDataNotFoundError):
            load_data(data_home=fake_home, download_if_missing=False)


# -- downloading -------------------------------------------------------------


def test_download_if_missing_false_never_downloads(tmp_path):
    home = tmp_path / "empty"
    with pytest.raises(IMDBDataNotFoundError) as info:
        load_data(data_home=home, download_if_missing=False)
    message = str(info.value)
    for part in (str(home), "SKIMDB_DATA", "imdb.npz", "aclImdb_v1.tar.gz"):
        assert part in message
    assert isinstance(info.value, OSError)
    assert not home.exists()


def test_half_of_the_raw_files_is_named(fake_home):
    (fake_home / _sources.WORD_INDEX_NAME).unlink()
    with pytest.raises(IMDBDataNotFoundError, match="imdb_word_index.json' is missing"):
        load_data(data_home=fake_home, download_if_missing=False)


def test_offline_download_gives_a_clear_error(tmp_path, monkeypatch):
    calls = []

    def offline(**kwargs):
        calls.append(kwargs)
        Path(kwargs["cache_dir"], kwargs["fname"]).write_bytes(b"partial")
        raise Exception("URL fetch failure on https://...: None -- unreachable")

    monkeypatch.setattr(_sources, "_download_file", offline)
    home = tmp_path / "home"
    with pytest.raises(IMDBDataNotFoundError) as info:
        load_data(data_home=home)
    message = str(info.value)
    assert str(home) in message and "SKIMDB_DATA" in message
    assert "URL fetch failure" in message
    assert isinstance(info.value.__cause__, Exception)
    assert calls[0]["origin"] == _sources.ORIGIN + "imdb.npz"
    assert calls[0]["file_hash"] == _sources.KERAS_NPZ_SHA256
    assert list(home.iterdir()) == []  # no partial file, no temporary folder
    with pytest.raises(IMDBDataNotFoundError, match="SKIMDB_DATA"):
        get_word_index(data_home=home)
    assert calls[-1]["file_hash"] == _sources.WORD_INDEX_MD5
    assert list(home.iterdir()) == []


def test_download_lands_in_data_home(tmp_path, monkeypatch):
    origin = tmp_path / "origin"
    origin.mkdir()
    digest = _write_keras_npz(origin / "imdb.npz")
    monkeypatch.setattr(_sources, "KERAS_NPZ_SHA256", digest)

    def fake_get_file(*, fname, origin, file_hash, cache_dir, cache_subdir):
        assert cache_subdir == "" and Path(cache_dir).parent == home
        target = Path(cache_dir, fname)
        target.write_bytes((tmp_path / "origin" / fname).read_bytes())
        return str(target)

    monkeypatch.setattr(_sources, "_download_file", fake_get_file)
    home = tmp_path / "home"
    raw = _raw(RAW_TRAIN, RAW_TRAIN_LABELS, RAW_TEST, RAW_TEST_LABELS)
    _assert_same(load_data(data_home=home), _keras_load_data(raw))
    assert sorted(
        p.name for p in home.iterdir() if not p.name.startswith("imdb_npz")
    ) == ["imdb.npz"]


def test_download_with_download_file(tmp_path, monkeypatch):
    """The real ``keras.utils.get_file``, from a file:// origin."""
    pytest.importorskip("keras")
    origin = tmp_path / "origin"
    origin.mkdir()
    _write_word_index(origin / "imdb_word_index.json")
    monkeypatch.setattr(_sources, "ORIGIN", origin.as_uri() + "/")
    monkeypatch.setattr(_sources, "_download_file", _KERAS_GET_FILE)
    home = tmp_path / "home"
    with pytest.raises(IMDBDataNotFoundError, match="downloading .* failed"):
        get_word_index(data_home=home)  # md5 mismatch: not Keras' file
    assert list(home.iterdir()) == []
    monkeypatch.setattr(
        _sources,
        "WORD_INDEX_MD5",
        hashlib.md5((origin / "imdb_word_index.json").read_bytes()).hexdigest(),
    )
    assert get_word_index(data_home=home) == WORD_INDEX
    assert [p.name for p in home.iterdir()] == ["imdb_word_index.json"]


def test_read_only_data_home_cannot_download(tmp_path):
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o555)
    try:
        with pytest.raises(IMDBDataNotFoundError, match="read-only"):
            load_data(data_home=home)
    finally:
        home.chmod(0o755)


# -- argument checks -------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_words": -1}, ValueError, "num_words must be >= 1"),
        ({"num_words": 0}, ValueError, "num_words must be >= 1"),
        ({"num_words": 10.0}, TypeError, "num_words must be an int or None"),
        ({"num_words": "10"}, TypeError, "num_words"),
        ({"num_words": True}, TypeError, "num_words"),
        ({"skip_top": -2}, ValueError, "skip_top must be >= 0"),
        ({"skip_top": None}, TypeError, "skip_top must be an int"),
        ({"maxlen": 0}, ValueError, "maxlen must be >= 1"),
        ({"maxlen": 2.5}, TypeError, "maxlen"),
        ({"seed": -1}, ValueError, "seed must be in"),
        ({"seed": 1.5}, TypeError, "seed must be an int or None"),
        ({"start_char": -1}, ValueError, "start_char must be >= 0"),
        ({"oov_char": "?"}, TypeError, "oov_char"),
        ({"index_from": None}, TypeError, "index_from must be an int"),
        ({"index_from": 2**40}, ValueError, "index_from must be < 2\\*\\*31"),
        ({"download_if_missing": "no"}, TypeError, "download_if_missing"),
        ({"data_home": 3}, TypeError, "data_home must be a str or path-like"),
    ],
)
def test_load_data_validates_arguments(kwargs, error, match, fake_home):
    kwargs = {"data_home": fake_home, **kwargs}
    with pytest.raises(error, match=match):
        load_data(**kwargs)


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.integers(0, 300) | st.integers(0, 2**31 - 1), max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=6),
)
def test_object_array_holds_the_ids_as_lists_of_python_ints(ids, cuts):
    values = np.asarray(ids, dtype=np.int32)
    offsets = np.asarray(sorted({0, len(ids), *[c for c in cuts if c <= len(ids)]}))
    out = _to_object_array(values, offsets.astype(np.int64))
    assert len(out) == len(offsets) - 1
    for review, start, stop in zip(out, offsets[:-1], offsets[1:], strict=True):
        assert type(review) is list
        assert review == ids[start:stop]
        assert all(type(i) is int for i in review)


def test_load_data_accepts_numpy_ints(fake_home):
    _assert_same(
        load_data(num_words=np.int64(8), seed=np.uint32(113), data_home=fake_home),
        load_data(num_words=8, data_home=fake_home),
    )


def test_maxlen_dropping_everything(fake_home):
    with pytest.raises(ValueError, match="maxlen=2, no sequence was kept"):
        load_data(maxlen=2, data_home=fake_home)


# -- fetch_imdb -------------------------------------------------------------------


def test_fetch_imdb(fake_home):
    (x_train, y_train), (x_test, y_test) = load_data(num_words=9, data_home=fake_home)
    bunch = fetch_imdb(num_words=9, data_home=fake_home)
    assert isinstance(bunch, Bunch)
    assert set(bunch) == {"data", "target", "target_names", "DESCR"}
    _assert_same([(bunch.data, bunch.target)], [(x_train, y_train)])
    assert bunch.target_names.tolist() == ["neg", "pos"]
    assert "IMDB" in bunch.DESCR and "Maas" in bunch.DESCR
    test = fetch_imdb(subset="test", num_words=9, data_home=fake_home)
    _assert_same([(test.data, test.target)], [(x_test, y_test)])
    data, target = fetch_imdb(
        subset="all", num_words=9, data_home=fake_home, return_X_y=True
    )
    assert data.dtype == object and data.shape == (8,)
    _assert_same(
        [(data, target)],
        [(_object_array(list(x_train) + list(x_test)), np.r_[y_train, y_test])],
    )


@pytest.mark.parametrize("subset", ["validation", "Train", None, ["train"]])
def test_fetch_imdb_rejects_unknown_subsets(subset, fake_home):
    with pytest.raises(
        ValueError, match="subset must be one of 'train', 'test', 'all'"
    ):
        fetch_imdb(subset=subset, data_home=fake_home)


def test_fetch_imdb_rejects_non_bool_return_X_y(fake_home):
    with pytest.raises(TypeError, match="return_X_y must be a bool"):
        fetch_imdb(return_X_y="yes", data_home=fake_home)


# -- the word index, decoding and encoding -------------------------------------------


def test_get_word_index(fake_home):
    word_index = get_word_index(data_home=fake_home)
    assert word_index == WORD_INDEX
    word_index["the"] = 99  # a copy: the next call is unaffected
    assert get_word_index(data_home=fake_home)["the"] == 1


def test_get_word_index_from_keras_home(tmp_path):
    keras_datasets = tmp_path / "keras_home" / "datasets"
    keras_datasets.mkdir(parents=True)
    _write_word_index(keras_datasets / "imdb_word_index.json")
    with pytest.warns(UserWarning, match="md5"):  # not Keras' file: ignored
        with pytest.raises(IMDBDataNotFoundError, match="download_if_missing=False"):
            get_word_index(data_home=tmp_path / "none", download_if_missing=False)


def test_decode_review():
    assert decode_review([1, 4, 5, 2, 6, 0, 3, 99], word_index=WORD_INDEX) == (
        "? the film ? great ? ? ?"
    )
    assert decode_review(np.array([1, 4, 5]), word_index=WORD_INDEX) == "? the film"
    assert decode_review([], word_index=WORD_INDEX) == ""
    assert (
        decode_review(
            [1, 2], index_from=0, start_char=None, oov_char=None, word_index=WORD_INDEX
        )
        == "the film"
    )


@pytest.mark.parametrize(
    "sequence, error, match",
    [
        ("1 4 5", TypeError, "encode_review"),
        ([1.0, 4.0], TypeError, "int word ids"),
        (np.array([1.5]), TypeError, "int word ids"),
        ([1, -4], ValueError, ">= 0"),
        ([[1, 4]], ValueError, "one-dimensional"),
        ([1, None], TypeError, "int word ids"),
    ],
)
def test_decode_review_rejects_bad_sequences(sequence, error, match):
    with pytest.raises(error, match=match):
        decode_review(sequence, word_index=WORD_INDEX)


def test_decode_review_rejects_bad_word_index():
    with pytest.raises(TypeError, match="word_index must be a dict"):
        decode_review([1], word_index=[("the", 1)])
    with pytest.raises(ValueError, match="word_index must map str words"):
        decode_review([1], word_index={"the": "1"})


def test_encode_review():
    text = "The FILM was great!<br />Unseen, caf\u00e9."
    assert encode_review(text, word_index=WORD_INDEX) == [1, 4, 5, 10, 6, 9, 2, 14]
    assert encode_review(text, num_words=7, word_index=WORD_INDEX) == [
        1,
        4,
        5,
        2,
        6,
        2,
        2,
        2,
    ]
    assert encode_review(
        text, start_char=None, oov_char=None, index_from=0, word_index=WORD_INDEX
    ) == [1, 2, 7, 3, 6, 11]
    with pytest.raises(TypeError, match="text must be a str"):
        encode_review([1, 2], word_index=WORD_INDEX)
    with pytest.raises(ValueError, match="num_words must be >= 1"):
        encode_review("the", num_words=0, word_index=WORD_INDEX)


def test_encode_decode_round_trip(fake_home):
    text = "The film was GREAT!<br />Great, great."
    ids = encode_review(text, data_home=fake_home)
    assert (
        decode_review(ids, data_home=fake_home) == "? the film was great br great great"
    )
    (x_train, _), _ = load_data(data_home=fake_home, seed=None)
    for review in (r for r in x_train if 2 not in r):  # "?" decodes to nothing
        assert (
            encode_review(
                decode_review(review, data_home=fake_home)[2:],
                data_home=fake_home,
                num_words=15,
            )
            == review
        )


# -- the data home -------------------------------------------------------------------


def test_get_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("SKIMDB_DATA", raising=False)
    assert get_data_home() == tmp_path / "user" / "skimdb_data"
    monkeypatch.setenv("SKIMDB_DATA", "")
    assert get_data_home() == tmp_path / "user" / "skimdb_data"
    monkeypatch.setenv("SKIMDB_DATA", "~/from_env")
    assert get_data_home() == tmp_path / "user" / "from_env"
    assert get_data_home("~/arg") == tmp_path / "user" / "arg"
    assert get_data_home(tmp_path / "p") == tmp_path / "p"
    assert not (tmp_path / "user").exists()  # nothing created


def test_importing_does_not_import_keras():
    import subprocess

    code = (
        "import sys, skimdb.datasets; "
        "sys.exit(any(m in sys.modules for m in ('keras', 'tensorflow')))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- the real data -------------------------------------------------------------


@pytest.fixture(scope="session")
def real_word_index(real_data_home):
    return get_word_index(data_home=real_data_home, download_if_missing=False)


@pytest.fixture(scope="session")
def real_full(real_data_home):
    """``load_data()`` (full vocabulary) on the real data, from the cache."""
    return load_data(data_home=real_data_home, download_if_missing=False)


@pytest.mark.realdata
def test_real_published_values(real_imdb, real_data_home):
    (x_train, y_train), (x_test, y_test) = real_imdb
    assert x_train.shape == x_test.shape == (25000,)
    assert y_train.mean() == y_test.mean() == 0.5
    assert x_train[0] == PUBLISHED_TRAIN_0
    assert x_train[1][:20] == [
        1,
        194,
        1153,
        194,
        8255,
        78,
        228,
        5,
        6,
        1463,
        4369,
        5012,
        134,
        26,
        4,
        715,
        8,
        118,
        1634,
        14,
    ]
    assert len(x_train[1]) == 189
    assert y_train[0] == 1
    assert max(max(x) for x in x_train) == max(max(x) for x in x_test) == 9999
    # The cache went to the cache folder, not into the (read-only) data home.
    if not os.stat(real_data_home).st_mode & stat.S_IWUSR:
        assert not _cache_files(real_data_home)
        assert _cache_files(_cache_dir(real_data_home))


@pytest.mark.realdata
def test_real_word_index_and_decoding(real_imdb, real_word_index, real_data_home):
    assert len(real_word_index) == 88584
    assert real_word_index["fawn"] == 34701
    assert [
        real_word_index[w] for w in ("the", "and", "a", "of", "to", "is", "br")
    ] == [1, 2, 3, 4, 5, 6, 7]
    (x_train, _), _ = real_imdb
    text = decode_review(x_train[0], word_index=real_word_index)
    assert text.startswith(
        "? this film was just brilliant casting location scenery story direction "
        "everyone's"
    )
    assert decode_review(x_train[0], data_home=real_data_home) == text


@pytest.mark.realdata
def test_real_full_vocabulary(real_full):
    (x_train, y_train), (x_test, _) = real_full
    reviews = np.concatenate([x_train, x_test])
    lengths = np.array([len(x) for x in reviews])
    assert len(np.unique(np.concatenate([np.asarray(x) for x in reviews]))) == 88585
    assert lengths.mean() == pytest.approx(234.75892, abs=1e-9)
    assert lengths.std() == pytest.approx(172.911495, abs=1e-6)
    assert y_train[:20].tolist() == [
        1,
        0,
        0,
        1,
        0,
        0,
        1,
        0,
        1,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        1,
        1,
        0,
        1,
    ]
    assert [i for i in x_test[0] if i >= 5000][:6] == [
        18142,
        10698,
        5760,
        7944,
        7479,
        15387,
    ]


@pytest.mark.realdata
def test_real_num_words_5000(real_data_home, real_imdb):
    (x_train, y_train), (x_test, y_test) = load_data(
        num_words=5000, data_home=real_data_home, download_if_missing=False
    )
    assert y_train[:3].tolist() == [1, 0, 0] and y_train[-3:].tolist() == [0, 1, 0]
    assert y_test[:3].tolist() == [0, 1, 1] and y_test[-3:].tolist() == [0, 0, 0]
    assert max(max(x) for x in x_train) == 4999
    (x_train_10k, _), _ = real_imdb
    for review, review_10k in zip(x_train[:50], x_train_10k[:50], strict=True):
        assert review == [i if i < 5000 else 2 for i in review_10k]


@pytest.mark.realdata
def test_real_tokenization_matches_the_word_index(real_data_home, real_word_index):
    """The train vocabulary is exactly the word index (on a sample of files)."""
    with tarfile.open(real_data_home / _sources.TARBALL_NAME, "r|*") as archive:
        for count, member in enumerate(archive):
            if count > 3000:
                break
            if (
                member.isfile()
                and "/train/" in member.name
                and member.name.endswith(".txt")
                and "urls" not in member.name
            ):
                text = archive.extractfile(member).read().decode("utf-8")
                assert all(w in real_word_index for w in _tokenize(text))


@pytest.mark.realdata
def test_real_warm_load_reads_the_cache(real_data_home, real_imdb, monkeypatch):
    """Once cached, a load neither opens the tarball nor rebuilds (its speed: bench)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a warm load rebuilt the arrays from the tarball")

    monkeypatch.setattr(_sources, "_open_archive", refuse)
    monkeypatch.setattr(_sources, "_rebuild_from_aclimdb", refuse)
    raw = _sources._load_raw(real_data_home, download_if_missing=False)
    assert len(raw.train) == len(raw.test) == 25000


PUBLISHED_TRAIN_0 = [
    1,
    14,
    22,
    16,
    43,
    530,
    973,
    1622,
    1385,
    65,
    458,
    4468,
    66,
    3941,
    4,
    173,
    36,
    256,
    5,
    25,
    100,
    43,
    838,
    112,
    50,
    670,
    2,
    9,
    35,
    480,
    284,
    5,
    150,
    4,
    172,
    112,
    167,
    2,
    336,
    385,
    39,
    4,
    172,
    4536,
    1111,
    17,
    546,
    38,
    13,
    447,
    4,
    192,
    50,
    16,
    6,
    147,
    2025,
    19,
    14,
    22,
    4,
    1920,
    4613,
    469,
    4,
    22,
    71,
    87,
    12,
    16,
    43,
    530,
    38,
    76,
    15,
    13,
    1247,
    4,
    22,
    17,
    515,
    17,
    12,
    16,
    626,
    18,
    2,
    5,
    62,
    386,
    12,
    8,
    316,
    8,
    106,
    5,
    4,
    2223,
    5244,
    16,
    480,
    66,
    3785,
    33,
    4,
    130,
    12,
    16,
    38,
    619,
    5,
    25,
    124,
    51,
    36,
    135,
    48,
    25,
    1415,
    33,
    6,
    22,
    12,
    215,
    28,
    77,
    52,
    5,
    14,
    407,
    16,
    82,
    2,
    8,
    4,
    107,
    117,
    5952,
    15,
    256,
    4,
    2,
    7,
    3766,
    5,
    723,
    36,
    71,
    43,
    530,
    476,
    26,
    400,
    317,
    46,
    7,
    4,
    2,
    1029,
    13,
    104,
    88,
    4,
    381,
    15,
    297,
    98,
    32,
    2071,
    56,
    26,
    141,
    6,
    194,
    7486,
    18,
    4,
    226,
    22,
    21,
    134,
    476,
    26,
    480,
    5,
    144,
    30,
    5535,
    18,
    51,
    36,
    28,
    224,
    92,
    25,
    104,
    4,
    226,
    65,
    16,
    38,
    1334,
    88,
    12,
    16,
    283,
    5,
    16,
    4472,
    113,
    103,
    32,
    15,
    16,
    5345,
    19,
    178,
    32,
]


# -- raw texts and ratings ---------------------------------------------------------


def _texts_by_split(split):
    """The fake archive's reviews of a split in Keras' order, with their ratings."""
    out = []
    for label in ("pos", "neg"):
        names = sorted(n for n in REVIEWS if n.startswith(f"{split}/{label}/"))
        out += [(REVIEWS[n], int(n.rsplit("_", 1)[1][:-4]), label) for n in names]
    return out


@pytest.mark.parametrize("seed", [113, 0])
def test_fetch_imdb_text_is_in_load_data_order(fake_home, seed):
    """data[i] is the text of load_data's review i, with its label and rating."""
    (x_train, y_train), (x_test, y_test) = load_data(
        num_words=100, seed=seed, data_home=fake_home
    )
    for subset, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        bunch = fetch_imdb(subset=subset, text=True, seed=seed, data_home=fake_home)
        assert isinstance(bunch.data, list) and len(bunch.data) == len(y)
        assert all(isinstance(text, str) for text in bunch.data)
        np.testing.assert_array_equal(bunch.target, y)
        assert bunch.target.dtype == bunch.rating.dtype == np.int64
        # unknown (test) words are dropped, as Keras built the arrays
        ids = [
            encode_review(t, word_index=WORD_INDEX, oov_char=None) for t in bunch.data
        ]
        assert ids == list(x)
        expected = {
            text: (rating, label) for text, rating, label in _texts_by_split(subset)
        }
        assert sorted(bunch.data) == sorted(expected)
        for text, rating, target in zip(
            bunch.data, bunch.rating, bunch.target, strict=True
        ):
            assert expected[text] == (rating, "pos" if target else "neg")
        assert list(bunch.target_names) == ["neg", "pos"]
        assert "IMDB" in bunch.DESCR


def test_fetch_imdb_text_all_and_return_X_y(fake_home):
    train = fetch_imdb(subset="train", text=True, data_home=fake_home)
    test = fetch_imdb(subset="test", text=True, data_home=fake_home)
    every = fetch_imdb(subset="all", text=True, data_home=fake_home)
    assert every.data == train.data + test.data
    np.testing.assert_array_equal(every.rating, np.r_[train.rating, test.rating])
    X, y = fetch_imdb(subset="test", text=True, return_X_y=True, data_home=fake_home)
    assert X == test.data
    np.testing.assert_array_equal(y, test.target)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_words": 10}, "num_words=10"),
        ({"maxlen": 5}, "maxlen=5"),
        ({"index_from": 0}, "index_from=0"),
        ({"oov_char": None}, "oov_char=None"),
    ],
)
def test_fetch_imdb_text_refuses_id_parameters(fake_home, kwargs, name):
    with pytest.raises(ValueError, match=f"{name} shape word ids.*text=True"):
        fetch_imdb(text=True, data_home=fake_home, **kwargs)


def test_fetch_imdb_text_checks_its_arguments(fake_home):
    with pytest.raises(TypeError, match="text must be a bool"):
        fetch_imdb(text="yes", data_home=fake_home)
    with pytest.raises(TypeError, match="seed must be an int"):
        fetch_imdb(text=True, seed=1.5, data_home=fake_home)


def test_fetch_imdb_text_is_cached(fake_home, monkeypatch):
    first = fetch_imdb(subset="all", text=True, data_home=fake_home)
    assert list(fake_home.glob("imdb_texts_v*.npz"))

    def no_parse(tarball):
        raise AssertionError("the tarball was parsed again")

    monkeypatch.setattr(_sources, "_read_aclimdb_texts", no_parse)
    again = fetch_imdb(subset="all", text=True, data_home=fake_home)
    assert again.data == first.data
    np.testing.assert_array_equal(again.rating, first.rating)


@pytest.mark.parametrize(
    "name, match",
    [
        ("train/pos/4_2.txt", r"'aclImdb/train/pos/4_2.txt'.*rating from 7 to 10"),
        ("test/neg/9_8.txt", r"'aclImdb/test/neg/9_8.txt'.*rating from 1 to 4"),
        ("train/neg/review.txt", r"'aclImdb/train/neg/review.txt'.*<id>_<rating>"),
    ],
)
def test_fetch_imdb_text_refuses_bad_members(tmp_path, name, match):
    home = tmp_path / "home"
    home.mkdir()
    _write_tarball(home / _sources.TARBALL_NAME, {**REVIEWS, name: "a film"})
    with pytest.raises(ValueError, match=match):
        fetch_imdb(text=True, data_home=home)


def test_fetch_imdb_text_needs_only_the_tarball(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    _write_tarball(home / _sources.TARBALL_NAME)
    assert len(fetch_imdb(text=True, data_home=home).data) == 5


def test_fetch_imdb_text_missing_offline_names_file_and_folder(tmp_path):
    home = tmp_path / "home"
    with pytest.raises(IMDBDataNotFoundError) as info:
        fetch_imdb(text=True, data_home=home, download_if_missing=False)
    message = str(info.value)
    assert _sources.TARBALL_NAME in message and str(home) in message
    assert "SKIMDB_DATA" in message and _sources.STANFORD_URL in message


def test_fetch_imdb_text_download_failure_is_clear(tmp_path, monkeypatch):
    calls = []

    def offline(**kwargs):
        calls.append(kwargs)
        Path(kwargs["cache_dir"], kwargs["fname"]).write_bytes(b"partial")
        raise OSError("unreachable")

    monkeypatch.setattr(_sources, "_download_file", offline)
    home = tmp_path / "home"
    with pytest.raises(IMDBDataNotFoundError, match="unreachable") as info:
        fetch_imdb(text=True, data_home=home)
    assert str(home) in str(info.value) and _sources.STANFORD_URL in str(info.value)
    assert calls[0]["origin"] == _sources.STANFORD_URL
    assert calls[0]["file_hash"] == _sources.STANFORD_SHA256
    assert list(home.iterdir()) == []  # no partial file, no temporary folder


def test_fetch_imdb_text_downloads_stanfords_archive(tmp_path, monkeypatch):
    """The download checks Stanford's sha256, over a real file:// transfer."""
    origin = tmp_path / "origin"
    origin.mkdir()
    _write_tarball(origin / _sources.TARBALL_NAME)
    archive = origin / _sources.TARBALL_NAME
    monkeypatch.setattr(_sources, "STANFORD_URL", archive.as_uri())
    monkeypatch.setattr(_sources, "_download_file", _KERAS_GET_FILE)
    home = tmp_path / "home"
    with pytest.raises(IMDBDataNotFoundError, match="sha256"):
        fetch_imdb(text=True, data_home=home)  # not Stanford's bytes
    assert not (home / _sources.TARBALL_NAME).exists()
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(_sources, "STANFORD_SHA256", digest)
    bunch = fetch_imdb(text=True, data_home=home)
    assert sorted(bunch.data) == sorted(t for t, _, _ in _texts_by_split("train"))
    assert (home / _sources.TARBALL_NAME).read_bytes() == archive.read_bytes()


@pytest.mark.skipif(sys.platform == "win32", reason="~user is POSIX")
def test_unknown_user_home_is_named(monkeypatch):
    with pytest.raises(
        ValueError, match=r"^data_home='~no_such_user_skimdb/x'.*full path"
    ):
        get_data_home("~no_such_user_skimdb/x")
    with pytest.raises(ValueError, match="data_home="):
        load_data(data_home="~no_such_user_skimdb")
    monkeypatch.setenv("SKIMDB_DATA", "~no_such_user_skimdb")
    with pytest.raises(ValueError, match="environment variable SKIMDB_DATA="):
        get_data_home()
    with pytest.raises(ValueError, match="SKIMDB_DATA"):
        fetch_imdb(text=True)
    monkeypatch.setenv("SKIMDB_CACHE", "~no_such_user_skimdb")
    with pytest.raises(ValueError, match="environment variable SKIMDB_CACHE="):
        _cache_dir(Path("/nonexistent/data/home"))


@pytest.fixture(scope="session")
def real_texts(real_data_home):
    """fetch_imdb(text=True) of both splits on the real data, read once."""
    return {
        subset: fetch_imdb(subset=subset, text=True, data_home=real_data_home)
        for subset in ("train", "test")
    }


@pytest.mark.realdata
def test_real_texts_and_ratings(real_texts, real_imdb, real_word_index):
    for (x, y), subset in zip(real_imdb, ("train", "test"), strict=True):
        bunch = real_texts[subset]
        assert len(bunch.data) == 25000 and bunch.rating.shape == (25000,)
        np.testing.assert_array_equal(bunch.target, y)
        assert sorted(set(bunch.rating.tolist())) == [1, 2, 3, 4, 7, 8, 9, 10]
        np.testing.assert_array_equal(bunch.rating >= 7, bunch.target == 1)
        # the texts are load_data's reviews, in its order (every 50th checked);
        # words missing from the index (test only) were dropped, as Keras did
        for i in range(0, 25000, 50):
            known = [w for w in _tokenize(bunch.data[i]) if w in real_word_index]
            ids = encode_review(
                " ".join(known), num_words=10000, word_index=real_word_index
            )
            assert ids == x[i]
    assert (
        real_texts["train"]
        .data[0]
        .startswith("this film was just brilliant,casting,location")
    )
