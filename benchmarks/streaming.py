"""Streaming ``skimdb train`` against the in-memory one, on a synthetic big CSV.

The corpus: reviews made of 3 to 11 sentences of real IMDB training reviews of
one label (seeded), ``pos``/``neg``. Each command runs in a fresh process whose
peak RSS is measured (``getrusage`` of the waited-for child). Rows printed:
measured, required, met (issue 18's targets):

- streaming ``skimdb train --csv --chunk-size`` at ``--rows`` (1,200,000): peak
  RSS <= 1.5 GB, and flat: within 10% (or 150 MB) of the run at a tenth of the
  rows;
- against the in-memory ``skimdb train --csv`` on the same file: the same
  vocabulary, at most 1.5x its wall time, accuracy on the real IMDB test
  reviews within 0.005;
- on a local Dask cluster (``--dask``): the same vocabulary, accuracy within
  0.005 of the local stream, and its time.

Run: ``python benchmarks/streaming.py`` (``--quick``: 40,000 rows), or as part
of ``nox -s bench``. Needs the real data (``SKIMDB_DATA``).
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: A sentence ends at . ! or ? followed by space; <br /> breaks one too.
_SENTENCE = re.compile(r"(?<=[.!?])\s+|<br\s*/?>(?:\s*<br\s*/?>)*")


def synthesize(path, n_rows, *, seed=0, batch=50_000):
    """Write ``n_rows`` reviews of real IMDB sentences to ``path`` (CSV)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from skimdb.datasets import fetch_imdb

    train = fetch_imdb(subset="train", text=True)
    pools = {0: [], 1: []}
    for text, label in zip(train.data, train.target, strict=True):
        pools[int(label)].extend(s for s in _SENTENCE.split(text) if s.strip())
    pools = {k: np.array(v, dtype=object) for k, v in pools.items()}
    rng = np.random.default_rng(seed)
    names = np.array(["neg", "pos"], dtype=object)
    with pacsv.CSVWriter(path, pa.schema([("text", pa.string()),
                                          ("label", pa.string())])) as out:  # fmt: skip
        for start in range(0, n_rows, batch):
            n = min(batch, n_rows - start)
            labels = rng.integers(2, size=n)
            lengths = rng.integers(3, 12, size=n)
            texts = [
                " ".join(pools[y][rng.integers(len(pools[y]), size=k)])
                for y, k in zip(labels.tolist(), lengths.tolist(), strict=True)
            ]
            out.write_table(pa.table({"text": texts, "label": names[labels].tolist()}))
    return path


def measure(cmd):
    """Run ``cmd`` in a fresh process: wall seconds and its peak RSS (bytes)."""
    out = subprocess.run(  # its error output passes through
        [sys.executable, __file__, "--measure", "--", *cmd],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure_child(cmd):
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.stderr.write(done.stderr.decode()[-3000:])
        raise SystemExit(done.returncode)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB
    print(json.dumps({"wall": wall, "rss": rss, "out": done.stdout.decode()}))


def _train(csv, output, *extra):
    return [sys.executable, "-m", "skimdb", "train", "--csv", str(csv), "-o",
            str(output), "--overwrite", "--no-plots", "--verbose", "0",
            *extra]  # fmt: skip


def _scores(folders):
    """Each model's word index and accuracy on the real IMDB test reviews."""
    from skimdb.datasets import fetch_imdb
    from skimdb.persistence import load

    test = fetch_imdb(subset="test", text=True)
    y = np.array(["neg", "pos"], dtype=object)[test.target]
    out = {}
    for name, folder in folders.items():
        model = load(folder)
        out[name] = (list(model[0].word_index_.items()), model.score(test.data, y))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="40,000 rows")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--folder", help="keep the CSV files here (default: temp)")
    args = parser.parse_args(argv)
    rows = 40_000 if args.quick else args.rows
    small = rows // 10
    chunk = min(args.chunk_size, max(small // 4, 1000))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        for n in (small, rows):
            files[n] = folder / f"reviews_{n}.csv"
            if not files[n].exists():
                t = time.perf_counter()
                synthesize(files[n], n)
                print(f"wrote {files[n]} ({files[n].stat().st_size / 1e9:.2f} GB) "
                      f"in {time.perf_counter() - t:.0f} s", flush=True)  # fmt: skip
        stream = ["--chunk-size", str(chunk)]
        runs = {
            "stream_small": _train(files[small], folder / "m_small", *stream),
            "stream": _train(files[rows], folder / "m_stream", *stream),
            "memory": _train(files[rows], folder / "m_memory"),
        }
        if not args.no_dask:
            runs["dask"] = _train(files[rows], folder / "m_dask", *stream, "--dask")
        results = {}
        for name, cmd in runs.items():
            results[name] = measure(cmd)
            print(f"{name}: {results[name]['wall']:.1f} s, peak RSS "
                  f"{results[name]['rss'] / 1e6:.0f} MB", flush=True)  # fmt: skip
        scores = _scores({name: folder / f"m_{name.replace('stream_', '')}"
                          for name in runs if name != "stream_small"})  # fmt: skip
    rss, rss_small = results["stream"]["rss"], results["stream_small"]["rss"]
    vocab, acc = scores["stream"]
    table = [
        (f"streaming peak RSS at {rows:,} rows", f"{rss / 1e9:.2f} GB", "<= 1.5 GB",
         rss <= 1.5e9),
        (f"flat: vs {small:,} rows ({rss_small / 1e9:.2f} GB)",
         f"{(rss - rss_small) / 1e6:+.0f} MB",
         "within 10% or 150 MB", abs(rss - rss_small) <= max(0.1 * rss_small, 150e6)),
        ("same vocabulary as in memory", f"{len(vocab)} words",
         "equal", vocab == scores["memory"][0]),
        ("wall time vs in memory",
         f"{results['stream']['wall']:.0f} s / {results['memory']['wall']:.0f} s",
         "<= 1.5x", results["stream"]["wall"] <= 1.5 * results["memory"]["wall"]),
        ("IMDB test accuracy vs in memory", f"{acc:.4f} / {scores['memory'][1]:.4f}",
         "within 0.005", abs(acc - scores["memory"][1]) <= 0.005),
    ]  # fmt: skip
    if "dask" in scores:
        dvocab, dacc = scores["dask"]
        table += [
            ("Dask: same vocabulary", f"{len(dvocab)} words", "equal", dvocab == vocab),
            ("Dask: accuracy vs the local stream", f"{dacc:.4f} / {acc:.4f}",
             "within 0.005", abs(dacc - acc) <= 0.005),
            ("Dask: wall time (local cluster)", f"{results['dask']['wall']:.0f} s",
             "reported", True),
        ]  # fmt: skip
    print(f"\n{'':44} {'measured':>22} {'required':>22}  met")
    for what, measured, required, met in table:
        print(f"{what:44} {measured:>22} {required:>22}  {'yes' if met else 'NO'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        _measure_child(sys.argv[3:])
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        sys.exit(main())
