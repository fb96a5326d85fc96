"""The one task runner behind :func:`~tsrnn.backtest.backtest` and :func:`~tsrnn.anomaly.evaluate_detectors`.

A *task* is a module-level function and its arguments (typically an estimator, a chunk of a panel and the
windows to run) with a stable ``key``. :func:`run_tasks` skips the tasks already stored in a ``checkpoint``
directory, runs the rest in this process, in joblib worker processes or on a Dask cluster, stores each one as it
finishes and shows a progress bar. What a task returns (plain arrays and dicts) is the caller's business: each
caller has its own result builder. :func:`time_limit` and :func:`describe_failure` are the shared pieces of a
task's ``timeout`` and ``on_error="record"`` handling.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import signal
import tempfile
import threading
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Task", "run_tasks", "fingerprint", "Checkpoint", "time_limit", "TaskTimeout", "describe_failure",
           "check_on_error"]


@dataclass(frozen=True, eq=False)
class Task:
    """One unit of work: ``fn(*args)``, stored in a checkpoint under ``key`` (unique within a run)."""

    key: str
    fn: Callable
    args: tuple = field(default_factory=tuple)


def check_on_error(on_error: str) -> bool:
    """``True`` for ``"record"``, ``False`` for ``"raise"``; anything else is a ``ValueError``."""
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    return on_error == "record"


# ---------------------------------------------------------------------------------------------- failures / time
class TaskTimeout(BaseException):
    """Raised by the alarm; a BaseException so that a model's own ``except Exception`` cannot swallow it."""


@contextmanager
def time_limit(seconds):
    """Raise :class:`TaskTimeout` after ``seconds`` (SIGALRM: only where signals work, the main thread on POSIX)."""
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def handler(signum, frame):
        raise TaskTimeout(f"timed out after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def describe_failure(exc: BaseException) -> dict:
    """``error`` (the exception's type; ``TimeoutError`` for a timeout), ``message`` and ``traceback``."""
    return {"error": "TimeoutError" if isinstance(exc, TaskTimeout) else type(exc).__name__,
            "message": str(exc), "traceback": traceback.format_exc(limit=8)}


# ---------------------------------------------------------------------------------------------- checkpoints
def fingerprint(arrays=(), estimators=None, settings=None) -> str:
    """A short hash of the data (``arrays``: numpy arrays or scalars), ``estimators`` ``{name: estimator}`` (class
    and ``get_params(deep=False)``) and ``settings`` (a dict): a checkpoint is reused only for the same run."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes() if isinstance(a, np.ndarray) else repr(a).encode())
    for name, est in (estimators or {}).items():
        params = sorted(est.get_params(deep=False).items())
        h.update(f"{name}={type(est).__module__}.{type(est).__name__}{params!r}".encode())
    h.update(repr(sorted((settings or {}).items())).encode())
    return h.hexdigest()[:20]


class Checkpoint:
    """Finished tasks as one pickle each under ``root/run-<run_key>``, written atomically (temp file + rename)."""

    def __init__(self, root, run_key: str):
        self.dir = Path(root) / f"run-{run_key}"
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.dir / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.pkl"

    def load(self, key: str):
        p = self._path(key)
        if not p.exists():
            return None
        try:
            with open(p, "rb") as f:
                return pickle.load(f)  # noqa: S301 - our own files, written by this class
        except Exception:  # noqa: BLE001 - a damaged file is recomputed, not trusted
            return None

    def save(self, key: str, value) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path(key))


# ---------------------------------------------------------------------------------------------- running
def n_workers_of(n_jobs) -> int:
    """Worker count for ``n_jobs`` (``None``/``<= 0``: every core)."""
    return int(n_jobs) if n_jobs and n_jobs > 0 else (os.cpu_count() or 1)


def is_parallel(n_jobs, backend) -> bool:
    return n_workers_of(n_jobs) > 1 or backend not in (None, "sequential")


def run_tasks(tasks: list[Task], *, n_jobs=1, backend=None, progress=True, checkpoint=None, run_key="",
              desc="tasks") -> tuple[dict, int]:
    """Run ``tasks``; returns ``({task.key: value}, number computed)`` (the rest came from ``checkpoint``).

    ``backend``: ``None``/``"sequential"`` (in this process when ``n_jobs == 1``), ``"loky"`` or another joblib
    backend, or ``"dask"`` (the open ``dask.distributed`` client, else a local cluster closed afterwards).
    """
    if backend not in (None, "sequential", "loky", "threading", "multiprocessing", "dask"):
        raise ValueError(f"backend must be None, 'loky' or 'dask', got {backend!r}")
    ckpt = Checkpoint(checkpoint, run_key) if checkpoint is not None else None
    done, todo = {}, []
    for task in tasks:
        cached = ckpt.load(task.key) if ckpt is not None else None
        if cached is not None:
            done[task.key] = cached
        else:
            todo.append(task)

    def on_done(task, value):
        done[task.key] = value
        if ckpt is not None:
            ckpt.save(task.key, value)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc=desc, unit="task", disable=not progress, leave=False)
    try:
        _execute(todo, n_workers_of(n_jobs), backend, bar, on_done)
    finally:
        bar.close()
    return done, len(todo)


def _execute(tasks, n_workers: int, backend, bar, on_done) -> None:
    """Run each task and hand ``(task, value)`` to ``on_done`` as it finishes."""
    if not tasks:
        return
    if backend == "dask":
        from .dask import run_on_dask

        run_on_dask(tasks, n_workers, bar, on_done)
        return
    if n_workers == 1 and backend in (None, "sequential"):
        for task in tasks:
            on_done(task, task.fn(*task.args))
            bar.update(1)
        return
    import joblib

    gen = joblib.Parallel(n_jobs=n_workers, return_as="generator_unordered", backend=backend or "loky")(
        joblib.delayed(_tagged)(i, task.fn, task.args) for i, task in enumerate(tasks)
    )
    for i, value in gen:
        on_done(tasks[i], value)
        bar.update(1)


def _tagged(i, fn, args):
    return i, fn(*args)
