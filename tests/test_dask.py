"""Searches on a real ``distributed.LocalCluster`` equal the sequential run.

Starts two worker processes (one thread each, on 127.0.0.1) once for the module
and shuts them down at its end. Needs the ``dask`` extra; skipped without it.
"""

import os

import joblib
import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from sklearn.model_selection import GridSearchCV, cross_validate  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from skimdb import IMDBNet, MultiHotVectorizer  # noqa: E402
from skimdb.parallel import (  # noqa: E402
    THREAD_VARIABLES,
    dask_backend,
    local_cluster,
    worker_env,
)

pytestmark = pytest.mark.slow  # a cluster start and 10 small fits

NUM_WORDS = 40
GRID = {"clf__units": [4, 8]}


def _tiny_reviews(n=120, seed=0):
    """Word-id lists; ids 4..9 mark positive reviews, 10..15 negative ones."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 2
    X = []
    for label in y:
        marks = rng.randint(4, 10, size=3) + (0 if label else 6)
        filler = rng.randint(16, NUM_WORDS, size=rng.randint(3, 10))
        X.append([1, *rng.permutation(np.concatenate([marks, filler])).tolist()])
    return X, y


def _pipe():
    return Pipeline(
        [
            ("vec", MultiHotVectorizer(num_words=NUM_WORDS)),
            (
                "clf",
                IMDBNet(epochs=3, batch_size=16, learning_rate=0.01, random_state=0),
            ),
        ]
    )


@pytest.fixture(scope="module")
def data():
    return _tiny_reviews()


@pytest.fixture(scope="module")
def sequential(data):
    """The grid search in this process, one fit after the other."""
    X, y = data
    with joblib.parallel_config(backend="sequential"):
        return GridSearchCV(_pipe(), GRID, cv=2, n_jobs=1, refit=False).fit(X, y)


@pytest.fixture(scope="module")
def client():
    """A 2-process LocalCluster on 127.0.0.1, the dask backend active; closed after."""
    with dask_backend(n_workers=2, threads=1) as client:
        client.wait_for_workers(2, timeout=60)
        yield client
    assert client.status == "closed"


def test_workers_are_capped_processes(client):
    info = client.scheduler_info()["workers"]
    assert len(info) == 2
    assert all(worker["nthreads"] == 1 for worker in info.values())
    assert all(address.startswith("tcp://127.0.0.1:") for address in info)
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    envs = client.run(lambda: {k: os.environ.get(k) for k in THREAD_VARIABLES})
    assert all(env == worker_env(1) for env in envs.values())


def test_grid_search_on_cluster_equals_sequential(client, data, sequential):
    X, y = data
    with distributed.get_task_stream(client=client) as tasks:
        search = GridSearchCV(_pipe(), GRID, cv=2, n_jobs=-1, refit=False).fit(X, y)
    # the 4 fits ran on the two workers, not here
    assert {task["worker"] for task in tasks.data} == set(client.run(os.getpid))
    assert search.best_params_ == sequential.best_params_
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(
            search.cv_results_[key], sequential.cv_results_[key]
        )


def test_cross_validate_on_cluster_returns_fitted_networks(client, data, sequential):
    X, y = data
    pipe = _pipe().set_params(clf__units=GRID["clf__units"][0])
    with distributed.get_task_stream(client=client) as tasks:
        cv = cross_validate(
            pipe, X, y, cv=2, n_jobs=-1, return_estimator=True, return_indices=True
        )
    assert tasks.data  # ran on the cluster
    # the same folds and seeds as the first candidate of the sequential search
    results = sequential.cv_results_
    np.testing.assert_array_equal(
        cv["test_score"], [results[f"split{i}_test_score"][0] for i in range(2)]
    )
    # fitted on a worker and pickled back here: it scores its fold as it did there
    for model, test, score in zip(
        cv["estimator"], cv["indices"]["test"], cv["test_score"], strict=True
    ):
        assert isinstance(model[-1], IMDBNet) and len(model[-1].history_["loss"]) == 3
        X_test = [X[i] for i in test]
        assert model.score(X_test, y[test]) == score


def test_cli_experiments_on_scheduler_prints_the_local_table(
    client, tmp_path, monkeypatch
):
    """``skimdb experiments --scheduler ADDRESS`` gives the local run's table."""
    from test_cli import NUM_WORDS as CLI_WORDS
    from test_cli import _run, _write_tiny_home

    monkeypatch.setenv("SKIMDB_CACHE", str(tmp_path / "cache"))
    home = _write_tiny_home(tmp_path / "imdb")
    argv = [
        "experiments", "--data-home", home, "--quick", "--hidden-layers", "1",
        "--units", "4", "--activation", "relu", "--epochs", "3",
        "--num-words", CLI_WORDS, "--verbose", "0", "--no-download",
    ]  # fmt: skip
    with joblib.parallel_config(backend="sequential"):
        status, out, err = _run(*argv, "-o", tmp_path / "local")
    assert status == 0, err
    local = out.splitlines()
    address = client.scheduler.address
    status, out, err = _run(*argv, "--scheduler", address, "-o", tmp_path / "dask")
    assert status == 0, err
    # the same ranks, candidates and scores (not fit times) as the local run
    table = [line.split()[:7] for line in out.splitlines()[:3]]
    assert table == [line.split()[:7] for line in local[:3]]
    assert f"Dask scheduler {client.scheduler.address}: 2 workers, 2 threads" in err


@pytest.mark.parametrize(
    "kwargs", [{"threads": 4}, {"n_workers": 2}, {"processes": False}]
)
def test_scheduler_with_local_cluster_arguments_is_refused(kwargs):
    # they would be silently ignored: the scheduler's workers already run
    with pytest.raises(ValueError, match="start a local cluster"):
        with dask_backend("tcp://127.0.0.1:1", **kwargs):
            pass


@pytest.mark.parametrize("fixed", ["threads_per_worker", "processes"])
def test_local_cluster_refuses_what_it_fixes_by_name(fixed):
    # LocalCluster said "got multiple values for keyword argument"
    with pytest.raises(TypeError, match=f"local_cluster sets {fixed} itself.*threads="):
        local_cluster(**{fixed: 2})
    with pytest.raises(TypeError, match=f"local_cluster sets {fixed} itself"):
        with dask_backend(**{fixed: 2}):
            pass
