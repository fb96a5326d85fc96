"""Running backtest tasks on a ``dask.distributed`` cluster.

The client the user has open is used when there is one (``distributed.get_client``); otherwise a
``LocalCluster`` with ``n_workers`` single-threaded worker processes is started for the call and closed after
it. Results are handed back as they finish (``as_completed``), so a checkpoint keeps each one at once.
"""

from __future__ import annotations


def _client(n_workers: int):
    try:
        from distributed import Client, LocalCluster, get_client
    except ImportError as e:  # pragma: no cover - optional dependency
        raise ImportError("backend='dask' needs dask.distributed: pip install 'tsrnn[distributed]'") from e
    try:
        return get_client(), None
    except ValueError:
        cluster = LocalCluster(n_workers=max(1, n_workers), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster


def run_on_dask(calls, n_workers: int, progress_bar, on_done) -> None:
    """Submit ``(task, fn, args)`` calls; call ``on_done(task, result)`` for each as it completes."""
    from distributed import as_completed

    client, cluster = _client(n_workers)
    try:
        futures = {}
        shared = {}
        for task, fn, args in calls:
            # the estimator and the panel are shared by many tasks: scatter each once
            est, panel, *rest = args
            for obj in (est, panel):
                if id(obj) not in shared:
                    shared[id(obj)] = client.scatter(obj, broadcast=True)
            fut = client.submit(fn, shared[id(est)], shared[id(panel)], *rest, pure=False)
            futures[fut] = task
        for fut in as_completed(futures):
            on_done(futures[fut], fut.result())
            progress_bar.update(1)
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
