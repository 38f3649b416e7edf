"""Data integrity under faults, against a real HTTP server on 127.0.0.1.

Every fault (a dropped connection, a stalled server, a corrupted or truncated
file, a full disk, an interrupt, a read-only data home, two processes at
once) must end in a clear error or a successful retry, and must never leave a
file where the next call would trust it.
"""

import errno
import hashlib
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    RAW_TEST,
    RAW_TEST_LABELS,
    RAW_TRAIN,
    RAW_TRAIN_LABELS,
    WORD_INDEX,
    _assert_same,
    _keras_load_data,
    _raw,
    _write_keras_npz,
    _write_tarball,
    _write_word_index,
)

from skimdb.datasets import (
    IMDBDataNotFoundError,
    _sources,
    get_word_index,
    load_data,
)

#: How long any single test may wait on the server or a child process.
BOUND_S = 60


# -- the server ------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes[path] = (behaviour, body)``; 404 for other paths."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        server = self.server
        with server.lock:
            server.hits.append(self.path)
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            self._serve(*server.routes.get(self.path, ("missing", b"")))
        finally:
            with server.lock:
                server.in_flight -= 1

    def _serve(self, behaviour, body):
        if behaviour == "missing":
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        half = body[: len(body) // 2]
        if behaviour == "ok":
            self.wfile.write(body)
        elif behaviour == "together":  # held until a second client is in flight
            try:
                self.server.arrivals.wait()
            except threading.BrokenBarrierError:
                pass  # the other never came: max_in_flight stays 1 and the test says so
            for start in range(0, len(body), max(1, len(body) // 4)):
                self.wfile.write(body[start : start + max(1, len(body) // 4)])
                self.wfile.flush()
                time.sleep(0.15)
        elif behaviour == "drop":  # announce the whole file, send half, hang up
            self.wfile.write(half)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        elif behaviour == "stall":  # send half, then nothing until released
            self.wfile.write(half)
            self.wfile.flush()
            self.server.release.wait(BOUND_S)
        else:
            raise AssertionError(behaviour)

    def log_message(self, format, *args):  # noqa: A002 - keep the test output clean
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that time out or hang up are part of the tests

    def serve(self, name, behaviour, body):
        self.routes[f"/{name}"] = (behaviour, body)


@pytest.fixture
def server():
    """An HTTP server on an ephemeral port of 127.0.0.1, shut down afterwards."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.hits, httpd.lock = {}, [], threading.Lock()
    httpd.in_flight = httpd.max_in_flight = 0
    httpd.release = threading.Event()
    httpd.arrivals = threading.Barrier(2, timeout=BOUND_S)
    httpd.origin = f"http://127.0.0.1:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(BOUND_S)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No real data, caches or Internet: the default origin refuses connections."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("SKIMDB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SKIMDB_DATA", raising=False)
    monkeypatch.setattr(_sources, "ORIGIN", "http://127.0.0.1:9/")
    monkeypatch.setattr(_sources, "DOWNLOAD_TIMEOUT", 10)


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Small synthetic Keras files, their hashes installed as the expected ones."""
    folder = tmp_path / "origin"
    folder.mkdir()
    npz_sha256 = _write_keras_npz(folder / "imdb.npz")
    _write_word_index(folder / "imdb_word_index.json")
    index = (folder / "imdb_word_index.json").read_bytes()
    monkeypatch.setattr(_sources, "KERAS_NPZ_SHA256", npz_sha256)
    monkeypatch.setattr(_sources, "WORD_INDEX_MD5", hashlib.md5(index).hexdigest())
    return {"imdb.npz": (folder / "imdb.npz").read_bytes(), "word_index": index}


@pytest.fixture
def origin(server, monkeypatch):
    monkeypatch.setattr(_sources, "ORIGIN", server.origin)
    return server


def _expected(**params):
    return _keras_load_data(
        _raw(RAW_TRAIN, RAW_TRAIN_LABELS, RAW_TEST, RAW_TEST_LABELS), **params
    )


def _listing(folder):
    """Every file and folder under ``folder`` (hidden ones too), relative."""
    folder = Path(folder)
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _trusted_files(home, tmp_path):
    """What a later call could pick up: the data home and the cache folders."""
    return _listing(home) + _listing(tmp_path / "cache") + _listing(tmp_path / "xdg")


def _corrupt(data):
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


# -- downloads ---------------------------------------------------------------------


def test_good_download_lands_whole_and_is_cached(origin, files, tmp_path):
    origin.serve("imdb.npz", "ok", files["imdb.npz"])
    home = tmp_path / "home"
    _assert_same(load_data(data_home=home), _expected())
    assert (home / "imdb.npz").read_bytes() == files["imdb.npz"]
    assert [p for p in _listing(home) if p.startswith(".")] == []  # no temp folder
    _assert_same(load_data(data_home=home, num_words=9), _expected(num_words=9))
    assert origin.hits == ["/imdb.npz"]  # the second load used the file


FAULTS = {
    # behaviour served, what it serves, what the error must say
    "corrupted": ("ok", _corrupt, "sha256 is"),
    "truncated": ("ok", lambda data: data[: len(data) // 2], "sha256 is"),
    "dropped halfway": ("drop", lambda data: data, "closed after"),
    "missing (404)": ("missing", lambda data: data, "404"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_failed_download_leaves_nothing_then_a_retry_succeeds(
    fault, origin, files, tmp_path
):
    behaviour, damage, says = FAULTS[fault]
    origin.serve("imdb.npz", behaviour, damage(files["imdb.npz"]))
    home = tmp_path / "home"
    with pytest.raises(IMDBDataNotFoundError) as info:
        load_data(data_home=home)
    message = str(info.value)
    assert f"downloading {origin.origin}imdb.npz failed" in message
    assert says in message and str(home) in message
    assert _trusted_files(home, tmp_path) == []  # nothing a later call could trust
    origin.serve("imdb.npz", "ok", files["imdb.npz"])  # the server recovers
    _assert_same(load_data(data_home=home), _expected())
    assert (home / "imdb.npz").read_bytes() == files["imdb.npz"]


@pytest.mark.parametrize("fault", ["corrupted", "dropped halfway"])
def test_word_index_download_faults(fault, origin, files, tmp_path):
    behaviour, damage, says = FAULTS[fault]
    origin.serve("imdb_word_index.json", behaviour, damage(files["word_index"]))
    home = tmp_path / "home"
    with pytest.raises(IMDBDataNotFoundError, match="imdb_word_index.json failed"):
        get_word_index(data_home=home)
    assert _trusted_files(home, tmp_path) == []
    origin.serve("imdb_word_index.json", "ok", files["word_index"])
    assert get_word_index(data_home=home) == WORD_INDEX


def test_stalled_server_times_out(origin, files, tmp_path, monkeypatch):
    monkeypatch.setattr(_sources, "DOWNLOAD_TIMEOUT", 0.5)
    origin.serve("imdb.npz", "stall", files["imdb.npz"])
    home = tmp_path / "home"
    start = time.monotonic()
    with pytest.raises(IMDBDataNotFoundError, match="timed out"):
        load_data(data_home=home)
    assert time.monotonic() - start < 10
    assert _trusted_files(home, tmp_path) == []


def test_unreachable_origin_is_a_clear_error(files, tmp_path):
    # The default origin of these tests is a closed port of 127.0.0.1.
    with pytest.raises(IMDBDataNotFoundError, match="Connection refused"):
        load_data(data_home=tmp_path / "home")
    assert _trusted_files(tmp_path / "home", tmp_path) == []


def test_interrupt_mid_download_leaves_nothing(origin, files, tmp_path, monkeypatch):
    origin.serve("imdb.npz", "ok", files["imdb.npz"])
    _fill_disk_after(monkeypatch, 100, KeyboardInterrupt())
    home = tmp_path / "home"
    with pytest.raises(KeyboardInterrupt):  # not swallowed nor wrapped
        load_data(data_home=home)
    assert _trusted_files(home, tmp_path) == []


def _fill_disk_after(monkeypatch, limit, error):
    """Make files that ``_sources`` opens for writing fail after ``limit`` bytes."""
    real_open = open

    class Full(io.FileIO):
        written = 0

        def write(self, data):
            if self.written + len(data) > limit:
                super().write(bytes(data[: limit - self.written]))
                raise error
            self.written += len(data)
            return super().write(data)

    def fake_open(file, mode="r", *args, **kwargs):
        if "w" in mode:
            return Full(file, "w")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(_sources, "open", fake_open, raising=False)


def test_full_disk_during_download(origin, files, tmp_path, monkeypatch):
    origin.serve("imdb.npz", "ok", files["imdb.npz"])
    _fill_disk_after(monkeypatch, 300, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    home = tmp_path / "home"
    with pytest.raises(IMDBDataNotFoundError, match="No space left on device"):
        load_data(data_home=home)
    assert _trusted_files(home, tmp_path) == []
    monkeypatch.delattr(_sources, "open")  # space freed: the retry succeeds
    _assert_same(load_data(data_home=home), _expected())


def test_full_disk_while_caching_only_warns(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    _write_tarball(home / _sources.TARBALL_NAME)
    _write_word_index(home / _sources.WORD_INDEX_NAME)
    real_savez = np.savez

    def savez_until_full(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", savez_until_full)
    with pytest.warns(UserWarning, match="Could not cache.*No space left"):
        result = load_data(data_home=home)
    _assert_same(result, _expected())
    assert _trusted_files(home, tmp_path) == sorted(
        [_sources.TARBALL_NAME, _sources.WORD_INDEX_NAME]
    )  # neither a cache nor its temporary file
    monkeypatch.setattr(np, "savez", real_savez)
    _assert_same(load_data(data_home=home), _expected())
    assert len(list(home.glob("imdb_aclimdb_*.npz"))) == 1


def test_read_only_data_home_fetches_nothing(origin, files, tmp_path):
    origin.serve("imdb.npz", "ok", files["imdb.npz"])
    home = tmp_path / "home"
    home.mkdir()
    (home / "imdb.npz").write_bytes(_corrupt(files["imdb.npz"]))
    home.chmod(0o555)
    try:
        with pytest.warns(UserWarning, match="Ignoring .*imdb.npz.*sha256"):
            with pytest.raises(IMDBDataNotFoundError, match="read-only"):
                load_data(data_home=home)
        assert origin.hits == []
        assert _listing(home) == ["imdb.npz"]  # the damaged file, still not trusted
        assert _listing(tmp_path / "cache") == []
    finally:
        home.chmod(0o755)


def test_corrupted_npz_in_data_home_is_replaced_by_a_download(origin, files, tmp_path):
    origin.serve("imdb.npz", "ok", files["imdb.npz"])
    home = tmp_path / "home"
    home.mkdir()
    (home / "imdb.npz").write_bytes(files["imdb.npz"][:-100])  # a broken download
    with pytest.warns(UserWarning, match="Ignoring .*imdb.npz.*sha256"):
        _assert_same(load_data(data_home=home), _expected())
    assert (home / "imdb.npz").read_bytes() == files["imdb.npz"]


def test_npz_damaged_after_caching_is_not_served_from_the_cache(files, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "imdb.npz").write_bytes(files["imdb.npz"])
    _assert_same(load_data(data_home=home), _expected())
    (home / "imdb.npz").write_bytes(_corrupt(files["imdb.npz"]))  # same size
    os.utime(home / "imdb.npz", ns=(1, 1))  # even with an old time stamp
    with pytest.warns(UserWarning, match="sha256"):
        with pytest.raises(IMDBDataNotFoundError):
            load_data(data_home=home, download_if_missing=False)


# -- damaged files in the data home -----------------------------------------------


def _big_tarball(path):
    """A valid aclImdb tarball of 160 reviews whose splits and labels interleave.

    Any truncation then still leaves reviews of every split and label, so only
    an integrity check can tell a partial archive from a whole one.
    """
    words = list(WORD_INDEX)
    reviews = {}
    for i in range(40):
        for split in ("train", "test"):
            for label in ("pos", "neg"):
                text = " ".join(words[(i + j) % len(words)] for j in range(30 + i))
                reviews[f"{split}/{label}/{i}_{7 if label == 'pos' else 2}.txt"] = text
    _write_tarball(path, reviews=reviews, other={})
    return len(reviews)


@pytest.mark.parametrize(
    "damage",
    [
        *(f"truncated at {f:.0%}" for f in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)),
        "last byte missing",
        "one byte flipped",
        "garbage",
        "empty",
    ],
)
def test_damaged_tarball_is_refused_and_never_cached(damage, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    tarball = home / _sources.TARBALL_NAME
    _big_tarball(tarball)
    _write_word_index(home / _sources.WORD_INDEX_NAME)
    whole = tarball.read_bytes()
    if damage.startswith("truncated"):
        data = whole[: int(len(whole) * float(damage.split()[-1][:-1]) / 100)]
    elif damage == "last byte missing":
        data = whole[:-1]
    elif damage == "one byte flipped":
        data = _corrupt(whole)
    else:
        data = b"" if damage == "empty" else b"not a tarball" * 50
    tarball.write_bytes(data)
    with pytest.raises(ValueError, match="is damaged .*Delete it and put a complete"):
        load_data(data_home=home)
    assert _trusted_files(home, tmp_path) == sorted(
        [_sources.TARBALL_NAME, _sources.WORD_INDEX_NAME]
    )
    tarball.write_bytes(whole)  # replaced by a good copy: loads
    (x_train, _), (x_test, _) = load_data(data_home=home)
    assert len(x_train) == len(x_test) == 80


def test_uncompressed_tarball_still_reads(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    _big_tarball(home / "plain.tar.gz")
    with (
        tarfile.open(home / "plain.tar.gz") as src,
        tarfile.open(home / _sources.TARBALL_NAME, "w") as dst,
    ):
        for member in src:
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    (home / "plain.tar.gz").unlink()
    _write_word_index(home / _sources.WORD_INDEX_NAME)
    (x_train, _), _ = load_data(data_home=home)
    assert len(x_train) == 80


def test_bit_flip_in_the_cache_is_caught(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    _write_tarball(home / _sources.TARBALL_NAME)
    _write_word_index(home / _sources.WORD_INDEX_NAME)
    expected = load_data(data_home=home)
    (cache,) = home.glob("imdb_aclimdb_*.npz")
    data = bytearray(cache.read_bytes())
    with np.load(cache) as arrays:
        assert arrays["test_ids"][-1] == 5
    # Flip the lowest bit of that last test id (little-endian int32): 5 -> 4 is
    # still a valid id, so only the zip member's CRC can tell.
    data[_member_end(data, "test_ids.npy") - 4] ^= 0x01
    cache.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="Discarding the damaged IMDB cache.*CRC"):
        _assert_same(load_data(data_home=home), expected)


def _member_end(data, name):
    """Where the stored (uncompressed) zip member ``name`` ends in ``data``."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(name)
    assert info.compress_type == zipfile.ZIP_STORED
    header = info.header_offset
    name_len = int.from_bytes(data[header + 26 : header + 28], "little")
    extra_len = int.from_bytes(data[header + 28 : header + 30], "little")
    return header + 30 + name_len + extra_len + info.file_size


# -- two processes at once -----------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import hashlib, json, sys
    from skimdb.datasets import _sources, load_data
    _sources.ORIGIN, _sources.KERAS_NPZ_SHA256 = sys.argv[1], sys.argv[2]
    (x_train, y_train), (x_test, y_test) = load_data(data_home=sys.argv[3])
    print(json.dumps([[list(map(list, x_train)), y_train.tolist()],
                      [list(map(list, x_test)), y_test.tolist()]]))
    """
)


@pytest.mark.slow
def test_two_processes_downloading_at_once(origin, files, tmp_path):
    origin.serve("imdb.npz", "together", files["imdb.npz"])
    home = tmp_path / "home"
    env = {**os.environ, "SKIMDB_CACHE": str(tmp_path / "cache")}
    args = [sys.executable, "-c", _CHILD, origin.origin]
    args += [_sources.KERAS_NPZ_SHA256, str(home)]
    children = [
        subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=BOUND_S) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err.decode()
    assert origin.max_in_flight == 2  # the downloads did overlap
    (x_train, y_train), (x_test, y_test) = _expected()
    for out, _ in outputs:
        train, test = json.loads(out)
        assert train == [[list(x) for x in x_train], y_train.tolist()]
        assert test == [[list(x) for x in x_test], y_test.tolist()]
    assert (home / "imdb.npz").read_bytes() == files["imdb.npz"]
    assert [p for p in _listing(home) if not p.startswith("imdb_npz_")] == ["imdb.npz"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cache they wrote is whole
        _assert_same(load_data(data_home=home), _expected())
    assert len(origin.hits) == 2
