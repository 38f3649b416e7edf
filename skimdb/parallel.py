"""Run skimdb's searches on a Dask cluster, through joblib's dask backend.

scikit-learn's ``GridSearchCV``, ``cross_val_score`` and ``cross_validate`` hand
their fits to joblib; under ``joblib.parallel_config(backend="dask")`` joblib
sends them to the workers of a ``distributed`` cluster. This module adds what
TensorFlow needs on such workers, and a context manager that sets it all up:

- :func:`worker_env`: the environment variables that cap TensorFlow's (and the
  BLAS libraries') threads in a worker, so that workers sharing a machine do
  not oversubscribe its cores;
- :func:`local_cluster`: a ``distributed.LocalCluster`` of worker processes, one
  fit at a time each, started with those variables;
- :func:`dask_backend`: connects to a scheduler (or starts a local cluster) and
  makes joblib's dask backend the active one;
- :func:`fit_pipeline_on_dask`: one model's out-of-core fit from a big file,
  its reading and encoding on the workers (:func:`skimdb.streaming.fit_pipeline`).

It needs the ``dask`` extra: ``pip install "skimdb[dask]"``.
"""

import contextlib

__all__ = ["dask_backend", "fit_pipeline_on_dask", "local_cluster", "worker_env"]

#: What to install when ``distributed`` is missing.
INSTALL_HINT = 'pip install "skimdb[dask]"'

#: Read by TensorFlow when its runtime starts, and by the BLAS/OpenMP libraries
#: when they load: they must be in a worker's environment before either happens.
THREAD_VARIABLES = (
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
)


def worker_env(threads=1):
    """Environment variables that cap a worker's TensorFlow and BLAS threads.

    TensorFlow sizes its thread pools from ``TF_NUM_INTRAOP_THREADS`` and
    ``TF_NUM_INTEROP_THREADS`` once, when its runtime starts, so the variables
    must be set in the worker process before its first fit: pass them as
    ``env=`` to ``LocalCluster`` (or ``Nanny``), set them in the shell that
    starts ``dask worker``, or in the dask configuration
    (``distributed.nanny.environ``). Setting them in an already running process
    that has used TensorFlow has no effect.

    Parameters
    ----------
    threads : int, default=1
        Threads for each of TensorFlow's pools (and for OpenMP, MKL and
        OpenBLAS) in one worker process. With one fit per worker, the number of
        workers on a machine times ``threads`` should not exceed its cores.

    Returns
    -------
    env : dict of str to str
        The variables and their values, ready for ``env=``.

    See Also
    --------
    local_cluster : A local cluster started with these variables.

    Examples
    --------
    >>> from skimdb.parallel import worker_env
    >>> worker_env()["TF_NUM_INTRAOP_THREADS"]
    '1'
    >>> sorted(worker_env(2).items())  # doctest: +NORMALIZE_WHITESPACE
    [('MKL_NUM_THREADS', '2'), ('OMP_NUM_THREADS', '2'),
     ('OPENBLAS_NUM_THREADS', '2'), ('TF_NUM_INTEROP_THREADS', '2'),
     ('TF_NUM_INTRAOP_THREADS', '2')]
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(
            f"running on Dask needs dask and distributed: {INSTALL_HINT}"
        ) from None
    return distributed


def local_cluster(n_workers=None, *, threads=1, host="127.0.0.1", **kwargs):
    """A ``distributed.LocalCluster`` for skimdb's fits, threads capped per worker.

    Each worker is a separate process (TensorFlow releases the GIL only in
    parts, and a process keeps each fit's Keras state apart) running one task
    at a time, with TensorFlow's thread pools capped by :func:`worker_env`.

    Parameters
    ----------
    n_workers : int or None, default=None
        Worker processes; ``None`` lets ``distributed`` choose from the cores.
    threads : int, default=1
        TensorFlow (and BLAS) threads in each worker.
    host : str, default="127.0.0.1"
        Where the scheduler and workers listen: local connections only.
    **kwargs
        More ``LocalCluster`` arguments; ``env`` entries override
        :func:`worker_env`'s. ``dashboard_address`` defaults to ``None`` (no
        dashboard); pass ``":8787"`` to get one. ``threads_per_worker`` and
        ``processes`` are fixed (one thread per worker process): set ``threads``.

    Returns
    -------
    cluster : distributed.LocalCluster
        The running cluster; close it (or use it as a context manager).

    Raises
    ------
    ImportError
        When ``distributed`` is not installed (``pip install "skimdb[dask]"``).
    TypeError
        When ``kwargs`` holds ``threads_per_worker`` or ``processes``.

    Examples
    --------
    >>> from skimdb.parallel import local_cluster
    >>> with local_cluster(n_workers=2) as cluster:  # doctest: +SKIP
    ...     print(len(cluster.workers))
    2
    """
    fixed = sorted({"threads_per_worker", "processes"} & set(kwargs))
    if fixed:
        raise TypeError(
            f"local_cluster sets {', '.join(fixed)} itself (one single-threaded "
            "worker process per worker); pass threads= for TensorFlow's threads "
            "in each worker, and n_workers= for how many."
        )
    _require_distributed()
    from distributed import LocalCluster

    env = {**worker_env(threads), **(kwargs.pop("env", None) or {})}
    kwargs.setdefault("dashboard_address", None)
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host=host,
        env=env,
        **kwargs,
    )


@contextlib.contextmanager
def dask_backend(scheduler=None, *, n_workers=None, threads=1, **cluster_kwargs):
    """Run joblib's parallel work (so scikit-learn's searches) on a Dask cluster.

    Connects a ``distributed.Client`` to the scheduler at ``scheduler``, or,
    without one, starts a :func:`local_cluster`; then makes joblib's dask
    backend the active one. Inside the ``with`` block, ``GridSearchCV``,
    ``cross_val_score`` and ``cross_validate`` send their fits to the workers
    (give them ``n_jobs=-1``: the backend uses every worker thread). On exit
    the client is closed, and the local cluster, if one was started, shut
    down.

    Parameters
    ----------
    scheduler : str or None, default=None
        The scheduler's address, such as ``"tcp://10.0.0.5:8786"``; ``None``
        starts a local cluster.
    n_workers : int or None, default=None
        Worker processes of the local cluster (an error with ``scheduler``).
    threads : int, default=1
        TensorFlow threads per worker of the local cluster. The workers of an
        existing cluster keep the environment they were started with: see
        :func:`worker_env`.
    **cluster_kwargs
        More :func:`local_cluster` arguments (an error with ``scheduler``).

    Yields
    ------
    client : distributed.Client
        The connected client, for instance to ``scatter`` data to the workers
        or ``run`` a function on each.

    Raises
    ------
    ImportError
        When ``distributed`` is not installed (``pip install "skimdb[dask]"``).
    ValueError
        When ``scheduler`` comes with local-cluster arguments.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skimdb.parallel import dask_backend
    >>> grid = {"clf__units": [16, 32, 64]}
    >>> search = GridSearchCV(pipe, grid, n_jobs=-1)  # doctest: +SKIP
    >>> with dask_backend("tcp://10.0.0.5:8786"):  # doctest: +SKIP
    ...     search.fit(X_train, y_train)
    """
    if scheduler is not None and (
        n_workers is not None or threads != 1 or cluster_kwargs
    ):
        raise ValueError(
            "n_workers, threads and other local-cluster arguments start a local "
            f"cluster; with scheduler={scheduler!r} the workers are already running "
            "(set their threads with skimdb.parallel.worker_env when starting them)."
        )
    _require_distributed()
    import joblib
    from distributed import Client

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                local_cluster(n_workers, threads=threads, **cluster_kwargs)
            )
            client = stack.enter_context(Client(cluster, set_as_default=False))
        else:
            client = stack.enter_context(Client(scheduler, set_as_default=False))
        stack.enter_context(joblib.parallel_config(backend="dask", client=client))
        yield client


def fit_pipeline_on_dask(pipeline, source, *, scheduler=None, n_workers=None, **kwargs):
    """Fit a pipeline on a big CSV or Parquet file, read and encoded by Dask workers.

    :func:`skimdb.streaming.fit_pipeline` with a client of the cluster at
    ``scheduler`` (or of a new :func:`local_cluster`). What runs where:

    - on the workers: reading the file as ``dask.dataframe`` partitions
      (``dd.read_csv`` in blocks of 32 MB, or ``dd.read_parquet``'s row groups),
      checking every row, splitting the texts into words and numbering them;
    - on the client (this process): merging the partitions' word counts (in
      the file's order, so the word index is the one a local fit learns), the
      multi-hot features and the network's training, epoch after epoch, from
      the encoded rows it keeps on its local disk.

    Data moved: each partition's encoded rows once (4 bytes per word plus its
    distinct words and the labels), a few partitions in flight; nothing per
    epoch. A task whose worker dies is retried on another worker, twice; then
    the fit stops with a ``RuntimeError`` naming the partition.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        As for :func:`skimdb.streaming.fit_pipeline`.
    source : str or path-like
        A CSV or Parquet file, at the same path on every worker.
    scheduler : str or None, default=None
        The scheduler's address; ``None`` starts a local cluster.
    n_workers : int or None, default=None
        Worker processes of the local cluster.
    **kwargs
        More :func:`skimdb.streaming.fit_pipeline` arguments (``chunk_size``,
        ``rows``, ``text_column``, ...).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The pipeline, fitted.

    Examples
    --------
    >>> from skimdb import make_pipeline, ReviewEncoder
    >>> from skimdb.parallel import fit_pipeline_on_dask
    >>> pipe = make_pipeline("notebook", random_state=0)
    >>> pipe.steps.insert(0, ("text", ReviewEncoder(num_words=10000)))
    >>> fit_pipeline_on_dask(pipe, "reviews.csv", chunk_size=50_000,
    ...                      scheduler="tcp://10.0.0.5:8786")  # doctest: +SKIP
    """
    from skimdb.streaming import fit_pipeline

    with dask_backend(scheduler, n_workers=n_workers) as client:
        return fit_pipeline(pipeline, source, client=client, **kwargs)
