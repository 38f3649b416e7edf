"""The command line against hostile or careless input: devices and endless
streams, huge reviews, malformed CSV files, terminal escapes, broken pipes."""

import os
import subprocess
import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_cli import FAST as IMDB_FAST
from test_cli import (
    _isolated,  # noqa: F401  (no real data, cache or download)
    _run,
    _stdin_bytes,
    _write_tiny_home,
)
from test_cli_csv import FAST, _ratings, _write

from skimdb.cli import _files
from skimdb.cli._files import UserError, read_csv
from skimdb.cli._reports import _ESCAPES, printable
from skimdb.streaming import parse_labels


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return _write_tiny_home(tmp_path_factory.mktemp("data") / "imdb")


@pytest.fixture(scope="module")
def model(home, tmp_path_factory):
    """A model folder ``skimdb train`` saved from the tiny IMDB."""
    output = tmp_path_factory.mktemp("model") / "m"
    status, _, err = _run("train", "--data-home", home, "-o", output, "--no-plots",
                          "--no-download", *IMDB_FAST)  # fmt: skip
    assert status == 0, err
    return output


def _skimdb(*argv, env=None, timeout=120, **kwargs):
    """``python -m skimdb ARGV`` in a child process (bytes out)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "skimdb", *map(str, argv)], capture_output=True,
        env=env, timeout=timeout, **kwargs,
    )  # fmt: skip


# -- class 10: CSV files read strictly -------------------------------------------------


@pytest.mark.parametrize(
    "header, name, columns",
    [
        ("review,stars,review", "review", "1, 3"),
        ("stars,review,stars", "stars", "1, 3"),
        ("review,review,review,stars", "review", "1, 2, 3"),
    ],
)
def test_a_column_named_twice_is_refused(tmp_path, header, name, columns):
    path = tmp_path / "r.csv"
    path.write_text(header + "\n" + "a,1,b,2\n" * 4)
    flag = "--text-column" if name == "review" else "--label-column"
    with pytest.raises(UserError) as info:
        read_csv(path, "review", "stars")
    assert str(info.value) == (
        f"--csv {path} has {len(columns.split(','))} columns named {name!r} "
        f"({flag}): columns {columns}; rename all but one"
    )


def test_other_repeated_columns_do_not_matter(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("note,review,note,stars\nx,good,y,1\nx,bad,y,2\n")
    assert read_csv(path, "review", "stars") == (["good", "bad"], [1, 2])


@pytest.mark.parametrize(
    "labels",
    [
        ["10", "1_0"], ["10", "+10"], ["10", "010"], ["10", "\u0661\u0660"],
        ["0", "-0"], ["10", "10.0"], ["7", "\uff17"], ["1", "1e0"],
        ["123456789012345678901234567890", "1"], ["9223372036854775808", "1"],
    ],
)  # fmt: skip
def test_labels_that_differ_stay_different_classes(tmp_path, labels):
    path = _write(tmp_path / "r.csv", [(f"text {i}", v) for i, v in enumerate(labels)])
    _, read = read_csv(path, "review", "stars")
    assert read == labels  # not integers: int() would merge or overflow them


def test_labels_written_as_integers_become_ints(tmp_path):
    labels = ["10", "-3", "0", "9223372036854775807", "-9223372036854775808"]
    path = _write(tmp_path / "r.csv", [(f"text {i}", v) for i, v in enumerate(labels)])
    assert read_csv(path, "review", "stars")[1] == [int(v) for v in labels]


@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=8))
def test_parse_labels_never_merges_two_labels(labels):
    parsed = parse_labels(labels)
    assert len(set(parsed)) == len(set(labels))
    assert [str(v) for v in parsed] == labels  # ints only where written canonically


def test_a_30_digit_label_trains_as_a_class(tmp_path):
    rows = [(text, "123456789012345678901234567890" if stars > 4 else "1")
            for text, stars in _ratings(80)]  # fmt: skip
    path = _write(tmp_path / "r.csv", rows)
    status, out, err = _run(
        "train", "--csv", path, "--text-column", "review", "--label-column",
        "stars", "-o", tmp_path / "m", *FAST, "--epochs", "2",
    )  # fmt: skip
    assert status == 0, err
    assert "classes: 1, 123456789012345678901234567890" in out


@pytest.mark.parametrize(
    "content, line",
    [
        ('review,stars\nok,1\n"never closed,2\nfine,3\nalso fine,4\n', 3),
        ('review,stars\n"a\nb",1\nok,2\nbad,"3\nlast,4\n', 5),
        ('review,stars\nok,1\nfine,2\nlast,"4\n', 4),
        ('"review,stars\nok,1\n', 1),
    ],
    ids=["text", "after-a-multiline-row", "last-label", "header"],
)
def test_an_unclosed_quote_names_the_line_it_opened_on(tmp_path, content, line):
    path = tmp_path / "r.csv"
    path.write_text(content)
    with pytest.raises(UserError) as info:
        read_csv(path, "review", "stars")
    assert str(info.value).startswith(
        f"--csv {path}, line {line}: a quoted field opens on this line and is "
        "never closed"
    )


def test_a_stray_character_after_a_quote_names_its_row(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('review,stars\nok,1\n"multi\nline" junk,2\n')
    with pytest.raises(UserError, match=r"the row of lines 3-4: not a valid CSV"):
        read_csv(path, "review", "stars")


def test_quotes_inside_fields_still_read(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('review,stars\nhe said "hi" twice,1\n"x ""y"", z",2\n')
    assert read_csv(path, "review", "stars")[0] == ['he said "hi" twice', 'x "y", z']


# -- class 5: input read within bounds -------------------------------------------------


def test_a_200_kb_review_is_read_from_a_csv_and_a_file(model, tmp_path):
    review = "superb " * 30_000  # 210,000 characters: over csv's default limit
    path = _write(tmp_path / "r.csv", [(review, 1), ("awful", 0)])
    assert read_csv(path, "review", "stars")[0][0] == review
    (tmp_path / "r.txt").write_text(review + "\nawful\n")
    status, out, err = _run("predict", model, "-f", tmp_path / "r.txt")
    assert status == 0, err
    assert [row.split("\t")[0] for row in out.splitlines()[1:]] == ["pos", "neg"]


def test_a_review_over_the_limit_is_refused(model, tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "MAX_REVIEW_CHARS", 1000)
    path = _write(tmp_path / "r.csv", [("ok", 1), ("x" * 1001, 2)])
    with pytest.raises(UserError, match=r", line 3: a field holds more than 1,000"):
        read_csv(path, "review", "stars")
    (tmp_path / "r.txt").write_text("fine\n" + "superb " * 200 + "\n")
    status, out, err = _run("predict", model, "-f", tmp_path / "r.txt")
    assert (status, out) == (1, "")
    assert f"line 2 of reviews from {tmp_path / 'r.txt'} holds more than 1,000" in err
    assert _run("predict", model, "x" * 1000)[0] == 0


def test_a_csv_file_over_the_limit_is_refused(model, tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "MAX_CSV_BYTES", 100)
    (tmp_path / "big").write_bytes(b"review,stars\n" + b"superb film,1\n" * 8)
    status, out, err = _run("evaluate", model, "--csv", tmp_path / "big")
    assert (status, out) == (1, "")
    assert err == (
        f"skimdb evaluate: error: --csv {tmp_path / 'big'} holds more than 100 "
        "bytes, the most skimdb reads at once (see 'Limits' in the command line "
        "guide); split it, or stream it with skimdb train --chunk-size N\n"
    )


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_reviews_stream_in_batches(model, tmp_path, monkeypatch, command):
    lines = [f"{'superb' if i % 3 else 'awful'} film number {i}" for i in range(10)]
    (tmp_path / "r.txt").write_text("\n".join(lines) + "\n")
    tsv = ("--format", "tsv") if command == "explain" else ()
    whole = _run(command, model, "-f", tmp_path / "r.txt", *tsv)
    assert whole[0] == 0, whole[2]
    monkeypatch.setattr(_files, "BATCH_REVIEWS", 3)
    assert _run(command, model, "-f", tmp_path / "r.txt", *tsv) == whole
    # a fault further on: the batches before it are already printed, then it
    data = ("\n".join(lines[:6]) + "\n").encode() + b"caf\xe9\n"
    _stdin_bytes(monkeypatch, data)
    status, out, err = _run(command, model, *tsv)
    assert status == 1
    rows = out.splitlines()[1:]
    assert out == whole[1][: len(out)] and rows
    if command == "predict":
        assert len(rows) == 6
    else:
        assert {row.split("\t")[0] for row in rows} == {str(i) for i in range(1, 7)}
    offset = data.index(b"\xe9")
    assert err.endswith(f"(byte 0xe9 at offset {offset}); save it as UTF-8\n")


@pytest.mark.parametrize(
    "argv",
    [
        ("train", "--csv", "{dev}", "-o", "{tmp}/m"),
        ("evaluate", "{model}", "--csv", "{dev}"),
        ("top-words", "{model}", "--csv", "{dev}"),
        ("mistakes", "{model}", "--csv", "{dev}"),
        ("predict", "{model}", "--file", "{dev}"),
        ("explain", "{model}", "--file", "{dev}"),
    ],
)
@pytest.mark.parametrize("dev", ["/dev/zero", "/dev/urandom", "/dev/null", "."])
def test_a_device_or_folder_is_no_file_of_text(model, tmp_path, argv, dev):
    argv = [a.format(dev=dev, tmp=tmp_path, model=model) for a in argv]
    status, out, err = _run(*argv)
    assert (status, out) == (1, ""), err
    kind = "a folder" if dev == "." else "a device or socket"
    assert f"{dev}: it is {kind}, not a file of text" in err
    assert not (tmp_path / "m").exists()


def test_endless_standard_input_is_refused_in_a_bounded_read(model):
    with open("/dev/zero", "rb") as zeros:
        result = _skimdb("predict", model, stdin=zeros)
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode() == (
        "skimdb predict: error: line 1 of reviews from standard input holds more "
        f"than {_files.MAX_REVIEW_CHARS:,} characters, the longest review skimdb "
        "reads (see 'Limits' in the command line guide)\n"
    )


def test_pipes_still_work_on_stdin_and_as_a_file(model, tmp_path):
    child = _skimdb("predict", model, input=b"superb\nawful\n")
    assert child.returncode == 0, child.stderr
    assert len(child.stdout.splitlines()) == 3
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as file:
            file.write(b"superb\nawful\nmoving\n")

    writer = threading.Thread(target=write)
    writer.start()
    status, out, err = _run("predict", model, "--file", fifo)
    writer.join()
    assert status == 0, err
    assert len(out.splitlines()) == 4


# -- class 6: no terminal escapes reach the output -------------------------------------

#: What a terminal acts on; only a line's end (and a TSV tab) may be printed raw.
_RAW = {chr(code) for code in _ESCAPES} - {"\n", "\t"}
#: Hostile words of each class: a terminal reset, colour and erase sequences,
#: a bell, a carriage return, a C1 CSI, a right-to-left override, a NUL.
HOSTILE = {
    "good\x1b[2J": ["\x1bc", "\x1b[31mred", "bell\x07", "\x1b]0;title\x07"],
    "bad\x07": ["over\rwrite", "\x9b2j", "\u202egnp", "nul\x00l"],
}


def _unescape(field):
    """The inverse of ``printable(field, tsv=True)``."""
    import re

    named = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    return re.sub(
        r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[tnr\\])",
        lambda m: named.get(m[1]) or chr(int(m[1][1:], 16)),
        field,
    )


def _assert_safe(text):
    found = sorted({c for c in text if c in _RAW})
    assert not found, found


@given(st.text())
def test_printable_escapes_every_control_and_reads_back(text):
    shown = printable(text, tsv=True)
    _assert_safe(shown)
    assert "\n" not in shown and "\t" not in shown
    assert _unescape(shown) == text
    _assert_safe(printable(text))


@pytest.fixture(scope="module")
def hostile_model(tmp_path_factory):
    import numpy as np
    from test_cli import NEUTRAL

    rng = np.random.RandomState(0)
    rows = []
    for i in range(120):
        label = list(HOSTILE)[i % 2]
        words = list(rng.choice(HOSTILE[label], 2)) + list(rng.choice(NEUTRAL, 4))
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    folder = tmp_path_factory.mktemp("hostile")
    path = _write(folder / "hostile.csv", rows, header=("text", "label"))
    status, _, err = _run("train", "--csv", path, "-o", folder / "m", *FAST)
    assert status == 0, err
    return folder / "m", path


@pytest.mark.parametrize(
    "argv",
    [
        ("top-words", "{m}", "--min-count", "2"),
        ("explain", "{m}", "a \x1bc \x1b[31mred film\x07", "over\rwrite \u202egnp"),
        ("explain", "{m}", "--format", "tsv", "\x1bc bell\x07", "\x9b2j nul\x00l"),
        ("predict", "{m}", "\x1b]0;title\x07 \x1bc", "over\rwrite\x07"),
        ("evaluate", "{m}"),
        ("mistakes", "{m}", "--csv", "{csv}"),
        ("evaluate", "{m}", "--csv", "{m}/no\x1b[2Jsuch.csv"),
    ],
    ids=["top-words", "explain", "explain-tsv", "predict", "evaluate", "mistakes",
         "error"],
)  # fmt: skip
def test_no_control_character_is_printed(hostile_model, argv):
    folder, path = hostile_model
    argv = [a.format(m=folder, csv=path) for a in argv]
    status, out, err = _run(*argv)
    assert status == (1 if argv[-1].endswith("such.csv") else 0), err
    _assert_safe(out)
    _assert_safe(err)
    if argv[0] == "top-words":  # the hostile words, shown escaped
        assert "\\x1bc" in out and "bell\\x07" in out and "\\u202egnp" in out
        assert "toward good\\x1b[2J:" in out and "toward bad\\x07:" in out
    if argv[0] == "predict":
        assert out.splitlines()[1].endswith("\\x1b]0;title\\x07 \\x1bc")


def test_explain_tsv_fields_read_back_exactly(hostile_model):
    folder, _ = hostile_model
    status, out, err = _run("explain", folder, "--format", "tsv", "--n", "10",
                            "\x1bc bell\x07 back\\slash \u202egnp")  # fmt: skip
    assert status == 0, err
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert all(len(row) == 6 for row in rows)
    labels = {_unescape(row[1]) for row in rows}
    words = {_unescape(row[4]) for row in rows}
    assert labels <= set(HOSTILE)
    assert {"\x1bc", "bell\x07", "\u202egnp"} <= words


# -- class 11: a byte-order mark, a closed pipe, the user's TensorFlow log level -------


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_byte_order_mark_is_dropped_from_the_reviews(model, tmp_path, monkeypatch,
                                                       newline, how):  # fmt: skip
    data = b"\xef\xbb\xbfsuperb film" + newline + b"awful film" + newline
    if how == "file":
        (tmp_path / "r.txt").write_bytes(data)
        argv = ("predict", model, "-f", tmp_path / "r.txt", "--width", "0")
    else:
        _stdin_bytes(monkeypatch, data)
        argv = ("predict", model, "--width", "0")
    status, out, err = _run(*argv)
    assert status == 0, err
    reviews = [line.split("\t")[2] for line in out.splitlines()[1:]]
    assert reviews == ["superb film", "awful film"]
    # one inside a review is text (a zero-width no-break space), kept
    _stdin_bytes(monkeypatch, "awful \ufefffilm\n".encode())
    assert _run("predict", model, "--width", "0")[1].endswith("awful \ufefffilm\n")


@pytest.mark.parametrize(
    "argv", [("predict",), ("explain", "--format", "tsv"), ("explain",)]
)
def test_a_closed_pipe_ends_the_command_quietly(model, tmp_path, argv):
    lines = 3000 if argv[0] == "predict" else 300  # output beyond a pipe's buffer
    (tmp_path / "r.txt").write_text("superb film and a moving plot\n" * lines)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen(
        [sys.executable, "-m", "skimdb", argv[0], model, *argv[1:], "-f",
         tmp_path / "r.txt"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": root},
    )  # fmt: skip
    assert child.stdout.readline()  # like head -1: one line, then close
    child.stdout.close()
    _, err = child.communicate(timeout=120)
    assert child.returncode == 141, err  # a filter killed by SIGPIPE, as shells say
    assert err == b""


def test_the_users_log_level_filters_tensorflows_start_up_lines(capfd):
    from skimdb.cli._quiet import _native_stderr_filtered

    lines = [
        b"WARNING: All log messages before absl::InitializeLog() is called ...\n",
        b"I0000 00:00:1.0   11 cudart_stub.cc:31] Could not find cuda drivers\n",
        b"I0000 00:00:1.1   11 cpu_feature_guard.cc:227] This TensorFlow binary\n",
        b"To enable the following instructions: AVX2 FMA\n",  # continues the I line
        b"E0000 00:00:1.2   11 cuda_platform.cc:52] failed call to cuInit\n",
        b"F0000 00:00:1.3   11 fatal.cc:1] the end\n",
    ]
    for level, shown in ((None, []), (3, [5]), (2, [4, 5]), (1, [0, 4, 5]),
                         (0, [0, 1, 2, 3, 4, 5])):  # fmt: skip
        with _native_stderr_filtered(level):
            for line in lines:
                os.write(2, line)
        assert capfd.readouterr().err.encode() == b"".join(lines[i] for i in shown)


def test_a_user_level_of_3_keeps_every_tensorflow_line_off(home, tmp_path):
    result = _skimdb(
        "train", "--data-home", home, "-o", tmp_path / "m", "--no-plots",
        "--epochs", "1", "--verbose", "0", "--num-words", "30",
        env={"TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode().splitlines()
    assert err == [
        "Loading the IMDB reviews (num_words=30) ...",
        "Training on 80 reviews (0.2 held out for validation), 1 epochs ...",
    ]
