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


# scatter() would split these into one future per element, or they are too small to be worth it
_PLAIN = (int, float, str, bytes, tuple, list, dict, type(None))


def run_on_dask(tasks, n_workers: int, progress_bar, on_done) -> None:
    """Submit each task's ``fn(*args)``; call ``on_done(task, result)`` for each as it completes.

    An argument object shared by several tasks (an estimator, a panel) is scattered to the workers once.
    A cluster started here is closed afterwards, the user's own client is left open.
    """
    from collections import Counter

    from distributed import as_completed

    client, cluster = _client(n_workers)
    try:
        uses = Counter(id(a) for t in tasks for a in t.args if not isinstance(a, _PLAIN))
        shared, futures = {}, {}
        for task in tasks:
            args = []
            for a in task.args:
                if uses.get(id(a), 0) > 1:
                    if id(a) not in shared:
                        shared[id(a)] = client.scatter(a, broadcast=True)
                    a = shared[id(a)]
                args.append(a)
            futures[client.submit(task.fn, *args, pure=False)] = task
        for fut in as_completed(futures):
            on_done(futures[fut], fut.result())
            progress_bar.update(1)
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
