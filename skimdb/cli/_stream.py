"""``skimdb train --csv PATH --chunk-size N`` (or ``--parquet PATH``): the
out-of-core training of :mod:`skimdb.streaming`, with the in-memory command's
held-out split, reports and saved files."""

import contextlib
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

from skimdb import PRESETS
from skimdb.cli import _reports as reports
from skimdb.cli._files import (
    TEST_SPLIT_FILE,
    UserError,
    check_output,
    check_split_options,
    expand,
)
from skimdb.cli._reports import say


class _Progress:
    """A one-line bar on a terminal (rows read, then epoch, rows and rows/s);
    elsewhere one line per stage."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.stage = None
        self.rows_read = 0
        self.started = self.shown = time.perf_counter()

    def __call__(self, stage, epoch, done, total):
        if stage == "read":
            self.rows_read = done
        now = time.perf_counter()
        if (stage, epoch) != self.stage:
            self._end_line()
            self.stage, self.started = (stage, epoch), now
            if not self.tty:
                say("Reading and encoding the rows ..." if stage == "read"
                    else f"Epoch {epoch} ...")  # fmt: skip
        if not self.tty or (now - self.shown < 0.2 and done != total):
            return
        self.shown = now
        rate = done / max(now - self.started, 1e-9)
        if total:
            width = 30
            filled = int(width * done / total)
            bar = "#" * filled + "." * (width - filled)
            line = f"epoch {epoch} [{bar}] {done:,}/{total:,} rows, {rate:,.0f} rows/s"
        else:
            line = f"reading: {done:,} rows, {rate:,.0f} rows/s"
        self.stream.write("\r" + line)
        self.stream.flush()

    def _end_line(self):
        if self.tty and self.stage is not None:
            self.stream.write("\n")
            self.stream.flush()

    def close(self):
        self._end_line()
        self.stage = None


@contextlib.contextmanager
def _client(args):
    """A Dask client for --dask or --scheduler, else None."""
    if not (args.dask or args.scheduler):
        yield None
        return
    if args.dask and args.scheduler:
        raise UserError("give --dask (a local cluster) or --scheduler, not both")
    from skimdb.parallel import dask_backend

    say("Starting a local Dask cluster ..." if args.dask else
        f"Connecting to the Dask scheduler {args.scheduler} ...")  # fmt: skip
    with dask_backend(args.scheduler) as client:
        yield client


def train_stream(args, given, pipeline):
    """Train ``pipeline(args, given, num_words, encoder)`` out of core."""
    from skimdb import ReviewEncoder
    from skimdb.streaming import fit_pipeline, held_out_rows

    flag, path, kind = _stream_source(args)
    output = check_output(args.output, model=True, overwrite=args.overwrite)
    if args.validation_split is None:
        args.validation_split = PRESETS[args.preset]["validation_split"]
    num_words = given.pop("num_words", PRESETS[args.preset]["num_words"])
    model = pipeline(args, given, num_words, ReviewEncoder(num_words=num_words))
    model.set_params(clf__verbose=0)  # the bar shows the progress
    say(f"Reading the labels of {path} ...")
    try:
        train_rows, test_rows = held_out_rows(
            path, label_column=args.label_column, test_size=args.test_size,
            random_state=args.random_state, format=kind,
        )  # fmt: skip
    except ValueError as exc:
        raise UserError(f"{flag} {path}: {exc}") from None
    n_rows = train_rows.size + test_rows.size
    say(f"Streaming {train_rows.size} training rows of {n_rows} from {path}, "
        f"{args.chunk_size} at a time, {model[-1].epochs} epochs ...")  # fmt: skip
    progress = _Progress()
    columns = {"text_column": args.text_column, "label_column": args.label_column}
    started = time.perf_counter()
    with _client(args) as client:
        try:
            fit_pipeline(model, path, chunk_size=args.chunk_size, rows=train_rows,
                         format=kind, client=client, progress=progress,
                         **columns)  # fmt: skip
        except RuntimeError as exc:  # Dask workers lost beyond their retries
            if client is None:
                raise
            raise UserError(f"{flag} {path}: {exc}; nothing was saved") from None
        finally:
            progress.close()
    if progress.rows_read != n_rows:  # fit_pipeline checked Dask's reading itself
        raise UserError(
            f"{flag} {path}: {progress.rows_read} rows were trained on, but the file "
            f"held {n_rows} when its labels were read: it changed meanwhile; nothing "
            "was saved"
        )
    say(f"Trained in {time.perf_counter() - started:.1f} s")
    names = reports.class_names(model, csv=True)
    info = {
        flag.lstrip("-"): str(path),
        **columns,
        "test_size": args.test_size,
        "random_state": args.random_state,
        "n_rows": int(n_rows),
        "classes": names,
        "chunk_size": args.chunk_size,
    }
    if kind == "parquet":  # evaluate and friends read the saved test.csv
        info["csv"] = str(output / TEST_SPLIT_FILE)

    def write_test_split(test_file):  # scored a chunk at a time as it is written
        y_true, y_pred = _score_test_rows(
            model, path, kind, args.chunk_size, columns, test_rows, n_rows, names,
            test_file,
        )  # fmt: skip
        reports.print_csv_training(model, train_rows.size, y_true, y_pred, names)
        return test_file

    reports.save_csv_model(model, output, args, info, write_test_split)
    return 0


def _stream_source(args):
    """The streamed file's flag, path and format, the options checked."""
    if args.csv is not None and args.parquet is not None:
        raise UserError("give --csv PATH or --parquet PATH, not both")
    if args.chunk_size is None:
        raise UserError(
            "--parquet, --dask and --scheduler stream the file: give --chunk-size N "
            "(rows at a time), such as --chunk-size 50000"
        )
    if args.csv is None and args.parquet is None:
        raise UserError("--chunk-size streams a file: give --csv PATH or --parquet "
                        "PATH")  # fmt: skip
    check_split_options(args)
    flag, source = ("--csv", args.csv) if args.csv is not None else (
        "--parquet", args.parquet)  # fmt: skip
    # realpath, not resolve(): a symlink loop gives a path that fails to open
    # (an OSError), where resolve() raises RuntimeError before Python 3.13
    return flag, Path(os.path.realpath(expand(source, flag))), flag.lstrip("-")


def _score_test_rows(model, path, kind, chunk_size, columns, test_rows, n_rows,
                     names, test_file):  # fmt: skip
    """Predict the held-out rows a chunk at a time, writing them to ``test_file``;
    their true and predicted class names."""
    from skimdb.streaming import read_chunks

    is_test = np.zeros(n_rows, dtype=bool)
    is_test[test_rows] = True
    y_true, y_pred = [], []
    with open(test_file, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([columns["text_column"], columns["label_column"]])
        for chunk in read_chunks(path, chunk_size=chunk_size, format=kind, **columns):
            take = np.flatnonzero(is_test[chunk.start : chunk.start + len(chunk.texts)])
            if not take.size:
                continue
            texts = [chunk.texts[i] for i in take]
            labels = [chunk.labels[i] for i in take]
            proba = model.predict_proba(texts)
            y_pred += [names[c] for c in proba.argmax(axis=1)]
            y_true += labels  # read and stripped as the classes were named
            writer.writerows(zip(texts, labels, strict=True))
    return y_true, y_pred
