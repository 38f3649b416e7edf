"""Side-by-side benchmark on the real IMDB data: the notebook, skimdb, MLPClassifier.

(a) the notebook's approach as written (dense float64 vectorize loop, Keras
Sequential); (b) skimdb's default pipeline; (c) scikit-learn's MLPClassifier with the
same architecture, batch size and epochs on the same sparse matrix; (d) skimdb's
most accurate preset, ``make_pipeline("best")`` (its vectorize stage includes the
n-gram vocabulary and the Naive-Bayes weighting).

Each contender runs in a fresh process (so its peak memory is its own) and reports,
per stage (load, vectorize train+test, fit, predict test), wall seconds and the peak
resident memory reached by the end of that stage, plus test accuracy. The parent
prints a table with the ratios skimdb/notebook and skimdb/MLPClassifier and writes
everything as JSON; with ``--scale`` it also times skimdb and MLPClassifier on
25k, 100k and 250k training reviews (the training set repeated under a fixed
shuffle) and plots time and memory against n.

    nox -s bench                 # full run
    nox -s bench -- --quick      # 5,000 train / 5,000 test reviews, no scale curve
"""

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("load", "vectorize", "fit", "predict")
CONTENDERS = ("notebook", "skimdb", "mlp", "best")
LABELS = {
    "notebook": "(a) notebook",
    "skimdb": "(b) skimdb",
    "mlp": "(c) MLPClassifier",
    "best": "(d) skimdb best",
}


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _repeat(X, y, n, seed=0):
    """The first ``n`` reviews of the training set repeated under a fixed shuffle."""
    import numpy as np

    order = np.random.RandomState(seed).permutation(n) % len(y)
    return X[order], y[order]


def run_contender(name, n_train, n_test):
    """Run one contender in this process; return its stage timings as a dict."""
    import numpy as np

    # Import every framework before the clock starts, so no stage pays for it.
    if name == "notebook":
        import keras  # noqa: F401
    elif name in ("skimdb", "best"):
        from skimdb import IMDBNet, MultiHotVectorizer  # noqa: F401
        from skimdb.network import IMDBNet  # noqa: F811 - imports TensorFlow now
    else:
        import sklearn.neural_network  # noqa: F401

    stages = {}
    clock = time.perf_counter()

    def done(stage):
        nonlocal clock
        now = time.perf_counter()
        stages[stage] = {"seconds": now - clock, "peak_rss_mb": _peak_rss_mb()}
        clock = now

    from skimdb.datasets import load_data

    (X_train, y_train), (X_test, y_test) = load_data(
        num_words=None if name == "best" else 10000
    )
    if n_train != len(y_train):
        X_train, y_train = _repeat(X_train, y_train, n_train)
    X_test, y_test = X_test[:n_test], y_test[:n_test]
    done("load")

    if name == "notebook":
        import keras

        def vectorize_sequences(sequences, dimension=10000):  # as in the book
            results = np.zeros((len(sequences), dimension))
            for i, sequence in enumerate(sequences):
                for j in sequence:
                    results[i, j] = 1.0
            return results

        x_train, x_test = vectorize_sequences(X_train), vectorize_sequences(X_test)
        done("vectorize")
        model = keras.Sequential(
            [
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(
            optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"]
        )
        model.fit(x_train, y_train, epochs=4, batch_size=512, verbose=0)
        done("fit")
        accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
        done("predict")
    elif name == "best":
        from skimdb import make_pipeline

        pipe = make_pipeline("best", random_state=0)
        features = pipe[:-1]
        x_train = features.fit_transform(X_train, y_train)
        x_test = features.transform(X_test)
        done("vectorize")
        pipe[-1].fit(x_train, y_train)
        done("fit")
        accuracy = float((pipe[-1].predict(x_test) == y_test).mean())
        done("predict")
    else:
        from skimdb import MultiHotVectorizer

        vec = MultiHotVectorizer()
        x_train, x_test = vec.fit_transform(X_train), vec.transform(X_test)
        done("vectorize")
        if name == "skimdb":
            from skimdb import IMDBNet

            clf = IMDBNet(random_state=0)
        else:
            import warnings

            from sklearn.exceptions import ConvergenceWarning
            from sklearn.neural_network import MLPClassifier

            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = MLPClassifier(
                hidden_layer_sizes=(16, 16), batch_size=512, max_iter=4, random_state=0
            )
        clf.fit(x_train, y_train)
        done("fit")
        accuracy = float((clf.predict(x_test) == y_test).mean())
        done("predict")
    result = {
        "contender": name,
        "n_train": n_train,
        "n_test": n_test,
        "stages": stages,
        "total_seconds": sum(s["seconds"] for s in stages.values()),
        "peak_rss_mb": _peak_rss_mb(),
        "accuracy": float(accuracy),
    }
    if name in ("skimdb", "mlp"):
        # the cost of one more epoch, without the fixed cost of a fit: partial_fit
        # trains the fitted network one epoch further (after the figures above)
        times = []
        for _ in range(2):
            start = time.perf_counter()
            clf.partial_fit(x_train, y_train)
            times.append(time.perf_counter() - start)
        result["epoch_seconds"] = min(times)
    return result


def _in_subprocess(name, n_train, n_test):
    command = [sys.executable, __file__, "--contender", name]
    command += ["--n-train", str(n_train), "--n-test", str(n_test)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _table(results):
    """Stages down, contenders across, then the ratios of skimdb to (a) and (c)."""
    by = {r["contender"]: r for r in results}
    header = f"{'':<13}" + "".join(f"{LABELS[c]:>20}" for c in by)
    lines = [header + f"{'skimdb/(a)':>12}{'skimdb/(c)':>12}"]

    def row(label, value, digits=2):
        def cell(v, spec):
            return f"{'-':>{spec}}" if math.isnan(v) else f"{v:>{spec}.{digits}f}"

        line = f"{label:<13}" + "".join(cell(value(by[c]), 20) for c in by)
        for other in ("notebook", "mlp"):
            ours = value(by["skimdb"]) if "skimdb" in by else math.nan
            theirs = value(by[other]) if other in by else math.nan
            line += cell(ours / theirs if theirs else math.nan, 12)
        return line

    for stage in STAGES:
        lines.append(row(f"{stage} s", lambda r, s=stage: r["stages"][s]["seconds"]))
    lines.append(row("total s", lambda r: r["total_seconds"]))
    lines.append(row("1 epoch s", lambda r: r.get("epoch_seconds", float("nan"))))
    for stage in STAGES:
        lines.append(
            row(f"{stage} MB", lambda r, s=stage: r["stages"][s]["peak_rss_mb"], 0)
        )
    lines.append(row("accuracy", lambda r: r["accuracy"], 4))
    return "\n".join(lines)


def _plot_scale(scale, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("skimdb", "mlp"):
        points = [r for r in scale if r["contender"] == name]
        n = [r["n_train"] for r in points]
        ax_time.plot(
            n,
            [r["stages"]["fit"]["seconds"] for r in points],
            "o-",
            label=f"{LABELS[name]}: fit",
        )
        ax_time.plot(
            n,
            [r["stages"]["vectorize"]["seconds"] for r in points],
            "s--",
            label=f"{LABELS[name]}: vectorize",
        )
        ax_mem.plot(n, [r["peak_rss_mb"] for r in points], "o-", label=LABELS[name])
    ax_time.set(xlabel="training reviews", ylabel="seconds", title="Time")
    ax_mem.set(xlabel="training reviews", ylabel="peak RSS (MB)", title="Memory")
    for ax in (ax_time, ax_mem):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5k/5k reviews, no scale")
    parser.add_argument(
        "--scale",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run 25k/100k/250k training reviews (default: on unless --quick)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "results",
        help="folder for results.json and scale.png",
    )
    parser.add_argument(
        "--docs",
        action="store_true",
        help="also write the table and the scale plot into docs/",
    )
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--n-train", type=int, default=25000, help=argparse.SUPPRESS)
    parser.add_argument("--n-test", type=int, default=25000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.contender:  # child process: one contender, one JSON line
        print(json.dumps(run_contender(args.contender, args.n_train, args.n_test)))
        return 0

    n = 5000 if args.quick else 25000
    results = [_in_subprocess(name, n, n) for name in CONTENDERS]
    print(f"IMDB, {n} training and {n} test reviews, one process per contender\n")
    print(_table(results))
    report = {"n_train": n, "n_test": n, "results": results}

    if args.scale if args.scale is not None else not args.quick:
        scale = []
        for n_train in (25000, 100000, 250000):
            for name in ("skimdb", "mlp"):
                scale.append(_in_subprocess(name, n_train, 25000))
                r = scale[-1]
                print(
                    f"scale {name:>6} n={n_train:>6}: vectorize "
                    f"{r['stages']['vectorize']['seconds']:.2f} s, fit "
                    f"{r['stages']['fit']['seconds']:.2f} s, one more epoch "
                    f"{r['epoch_seconds']:.2f} s, peak "
                    f"{r['peak_rss_mb']:.0f} MB, accuracy {r['accuracy']:.3f}"
                )
        report["scale"] = scale
        args.out.mkdir(parents=True, exist_ok=True)
        _plot_scale(scale, args.out / "scale.png")

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out / 'results.json'}")
    if args.docs:
        docs = HERE.parent / "docs"
        (docs / "performance_table.inc").write_text(_rst_table(report))
        if "scale" in report:
            (docs / "images").mkdir(exist_ok=True)
            _plot_scale(report["scale"], docs / "images" / "benchmark_scale.png")
        print(f"wrote {docs / 'performance_table.inc'}")
    return 0


def _rst_table(report):
    """The side-by-side table as reStructuredText, for the Performance page."""
    results = report["results"]
    head = ["stage"] + [LABELS[r["contender"]] for r in results]
    rows = [
        [f"{stage} (s)"] + [f"{r['stages'][stage]['seconds']:.2f}" for r in results]
        for stage in STAGES
    ]
    rows.append(["total (s)"] + [f"{r['total_seconds']:.2f}" for r in results])
    rows.append(
        ["one more epoch (s)"]
        + [
            f"{r['epoch_seconds']:.2f}" if "epoch_seconds" in r else "-"
            for r in results
        ]
    )
    rows.append(["peak RSS (MB)"] + [f"{r['peak_rss_mb']:.0f}" for r in results])
    rows.append(["test accuracy"] + [f"{r['accuracy']:.4f}" for r in results])
    lines = [
        f".. list-table:: {report['n_train']:,} training and {report['n_test']:,} "
        "test reviews, one process per contender",
        "   :header-rows: 1",
        "",
    ]
    for row in [head, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
