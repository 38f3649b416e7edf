"""Wall time of the experiments grid: one process vs a 2-worker Dask LocalCluster.

Runs the same ``GridSearchCV`` (a part of ``skimdb experiments``' grid, on the
first ``--n-train`` real training reviews) twice: in this process, one fit
after the other with TensorFlow using every core; then on a
``distributed.LocalCluster`` of ``--workers`` processes, one thread each
(:func:`skimdb.parallel.dask_backend`). Prints both wall times, their ratio and
whether the two searches agree. Needs the real data (``SKIMDB_DATA`` or
``--data-home``) and ``pip install "skimdb[dask]"``::

    SKIMDB_DATA=/path/to/imdb python benchmarks/dask_grid.py

TensorFlow is imported here before either clock starts; the workers' import
of it is counted in the cluster's start. The local search runs first:
starting the cluster sets ``OMP_NUM_THREADS=1`` in this process too
(``distributed``'s pre-spawn environment).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

GRID = {"clf__hidden_layers": [1, 2], "clf__units": [16, 32]}


def search(X, y, args):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from skimdb import IMDBNet, MultiHotVectorizer

    pipe = Pipeline(
        [
            ("vec", MultiHotVectorizer(num_words=10000)),
            ("clf", IMDBNet(epochs=args.epochs, random_state=0)),
        ]
    )
    return GridSearchCV(pipe, GRID, cv=args.cv, n_jobs=-1, refit=False).fit(X, y)


def _import_tensorflow():
    import skimdb.network  # noqa: F401


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-home", help="default: $SKIMDB_DATA")
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--cv", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    import joblib
    import numpy as np

    from skimdb.datasets import load_data
    from skimdb.parallel import dask_backend

    (X, y), _ = load_data(num_words=10000, data_home=args.data_home)
    X, y = X[: args.n_train], y[: args.n_train]
    n_fits = args.cv * int(np.prod([len(v) for v in GRID.values()]))
    print(
        f"grid {GRID}, {args.cv}-fold: {n_fits} fits on {len(y)} reviews, "
        f"{args.epochs} epochs; {os.cpu_count()} cores"
    )

    from skimdb import IMDBNet  # import TensorFlow here before timing

    del IMDBNet
    start = time.perf_counter()
    with joblib.parallel_config(backend="sequential"):
        local = search(X, y, args)
    t_local = time.perf_counter() - start
    print(f"1 process:            {t_local:7.1f} s")

    start = time.perf_counter()
    with dask_backend(n_workers=args.workers, threads=1) as client:
        client.wait_for_workers(args.workers)
        client.run(_import_tensorflow)  # counted in the start, like the cluster
        t_startup = time.perf_counter() - start
        on_dask = search(X, y, args)
    t_dask = time.perf_counter() - start
    print(
        f"LocalCluster {args.workers}x1:     {t_dask:7.1f} s "
        f"(of which cluster start and TF import {t_startup:.1f} s)"
    )
    print(f"ratio (1 process / LocalCluster): {t_local / t_dask:.2f}")
    print(f"ratio without cluster start:      {t_local / (t_dask - t_startup):.2f}")
    same = local.best_params_ == on_dask.best_params_
    diff = np.abs(
        local.cv_results_["mean_test_score"] - on_dask.cv_results_["mean_test_score"]
    ).max()
    print(f"best params: {on_dask.best_params_} (same as 1 process: {same})")
    print(f"largest difference in mean test score: {diff:.2g}")


if __name__ == "__main__":
    main()
