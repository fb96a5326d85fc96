"""The backtest engine: rolling-origin evaluation of many models on one series or a panel.

A backtest is split into *tasks* — one model on one chunk of series over one window (``refit=True``) or over all
windows (``refit=False`` or every ``k``, where later windows only ``update`` the fitted model). Tasks run in this
process, in joblib workers (``n_jobs``) or on a Dask cluster (``backend="dask"``); each finished task can be
written to a ``checkpoint`` directory so that an interrupted run, started again with the same arguments, only
computes what is missing. Global models (RNN, seq2seq, reduction) always see the whole panel in one chunk.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import signal
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import clone

from .._validation import Panel, SeriesData, check_horizon, check_levels, to_panel
from ..base import BaseForecaster
from ..metrics import INTERVAL_METRICS, METRICS
from .result import BacktestResult
from .splitters import ExpandingWindow, SlidingWindow

__all__ = ["backtest"]


@dataclass(frozen=True)
class _Task:
    key: str
    model: str
    chunk: int
    windows: tuple[int, ...]


def _model_dict(models) -> dict[str, BaseForecaster]:
    if isinstance(models, BaseForecaster):
        models = [models]
    if isinstance(models, dict):
        items = list(models.items())
    else:
        items, seen = [], {}
        for est in models:
            base = type(est).__name__
            seen[base] = seen.get(base, 0) + 1
            items.append((base if seen[base] == 1 else f"{base}_{seen[base]}", est))
    if not items:
        raise ValueError("backtest needs at least one model")
    out = {}
    for name, est in items:
        if not isinstance(est, BaseForecaster):
            raise TypeError(f"model {name!r} is a {type(est).__name__}, not a tsrnn forecaster")
        out[str(name)] = est
    return out


def _refit_at(refit, w: int) -> bool:
    if refit is True:
        return True
    if refit is False:
        return w == 0
    return w % int(refit) == 0


def _slice(panel: Panel, idx, bounds, w: int, part: str, prev=None) -> Panel:
    series = []
    for i in idx:
        s = panel.series[i]
        start, cutoff = bounds[i][w]
        if part == "train":
            a, b = start, cutoff
        else:  # the observations added since the previous window's cutoff
            a, b = prev[i], cutoff
        series.append(SeriesData(s.uid, s.ds[a:b], s.y[a:b], None if s.X is None else s.X[a:b]))
    return panel.replace(series)


@dataclass(frozen=True)
class _Options:
    refit: object
    h: int
    levels: tuple
    isolate: bool  # record failures instead of raising
    timeout: float | None = None  # seconds per window (fit + predict)
    fallback: BaseForecaster | None = None  # forecasts a series-window the model failed on


class _TaskTimeout(BaseException):
    """Raised by the alarm; a BaseException so that a model's own ``except Exception`` cannot swallow it."""


@contextmanager
def _time_limit(seconds):
    """Raise ``_TaskTimeout`` after ``seconds`` (SIGALRM; only where signals work: the main thread on POSIX)."""
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def handler(signum, frame):
        raise _TaskTimeout(f"timed out after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _fit_predict_window(est, model, panel, idx, bounds, w, prev, opt: _Options):
    with _time_limit(opt.timeout):
        t0 = time.perf_counter()
        if model is None or _refit_at(opt.refit, w):
            model = clone(est).fit(_slice(panel, idx, bounds, w, "train"))
        else:
            model.update(_slice(panel, idx, bounds, w, "new", prev))
        t1 = time.perf_counter()
        Xf = {}
        if panel.exog_names:
            for i in idx:
                s, c = panel.series[i], bounds[i][w][1]
                Xf[s.uid] = s.X[c:c + opt.h]
        res = model._forecast_arrays(opt.h, Xf, list(opt.levels))
        t2 = time.perf_counter()
    return model, res, t1 - t0, t2 - t1


def _run_task(est, panel: Panel, idx, bounds, windows, opt: _Options):
    """Fit/update and predict one model on the series ``idx`` for ``windows``.

    With ``opt.isolate`` a failure never propagates: a failing chunk is retried series by series to name the
    series that failed, each failure is recorded, and ``opt.fallback`` (if any) forecasts in its place.
    """
    out = {"windows": [], "errors": []}
    model = None
    prev = None
    for w in windows:
        try:
            model, res, fit_s, predict_s = _fit_predict_window(est, model, panel, idx, bounds, w, prev, opt)
        except (Exception, _TaskTimeout) as exc:  # noqa: BLE001 - recorded with its series, or re-raised
            if not opt.isolate:
                if isinstance(exc, _TaskTimeout):
                    raise TimeoutError(str(exc)) from exc
                raise
            model = None
            if len(idx) > 1 and not est._is_global:
                # find which series failed: run them one by one for this window
                for i in idx:
                    sub = _run_task(est, panel, [i], bounds, (w,), opt)
                    out["windows"].extend(sub["windows"])
                    out["errors"].extend(sub["errors"])
                continue
            used = None
            if opt.fallback is not None:
                sub = _run_task(opt.fallback, panel, idx, bounds, (w,), _Options(True, opt.h, opt.levels, True))
                for rec in sub["windows"]:
                    rec["fallback"] = True
                out["windows"].extend(sub["windows"])
                used = type(opt.fallback).__name__ if sub["windows"] else None
            out["errors"].append({
                "window": w, "series": list(idx),
                "error": "TimeoutError" if isinstance(exc, _TaskTimeout) else type(exc).__name__,
                "message": str(exc), "traceback": traceback.format_exc(limit=8), "fallback": used,
            })
            continue
        prev = {i: bounds[i][w][1] for i in idx}
        mean = np.stack([np.asarray(r[0], dtype=float) for r in res])
        iv = {lv: (np.stack([np.asarray(r[1][lv][0], dtype=float) for r in res]),
                   np.stack([np.asarray(r[1][lv][1], dtype=float) for r in res])) for lv in opt.levels}
        out["windows"].append({"window": w, "series": list(idx), "mean": mean, "iv": iv,
                               "fit_s": fit_s, "predict_s": predict_s})
    return out


def _run_chunk(est, panel: Panel, global_idx, bounds, windows, opt: _Options):
    """``_run_task`` on a panel holding only this chunk's series; series positions mapped back to the full panel."""
    out = _run_task(est, panel, list(range(len(panel.series))), bounds, windows, opt)
    for rec in out["windows"] + out["errors"]:
        rec["series"] = [global_idx[i] for i in rec["series"]]
    return out


def _fingerprint(panel: Panel, models: dict, settings: dict) -> str:
    h = hashlib.sha256()
    for s in panel.series:
        h.update(repr(s.uid).encode())
        h.update(np.ascontiguousarray(s.y).tobytes())
        h.update(np.ascontiguousarray(s.ds).tobytes())
        if s.X is not None:
            h.update(np.ascontiguousarray(s.X).tobytes())
    for name, est in models.items():
        h.update(f"{name}={type(est).__module__}.{type(est).__name__}{sorted(est.get_params(deep=False).items())!r}"
                 .encode())
    h.update(repr(sorted(settings.items())).encode())
    return h.hexdigest()[:20]


class _Checkpoint:
    """Finished tasks as one pickle each, written atomically (temp file + rename)."""

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
                return pickle.load(f)  # noqa: S301 - our own files, written by this function
        except Exception:  # noqa: BLE001 - a damaged file is recomputed, not trusted
            return None

    def save(self, key: str, value) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path(key))


def _chunks(n: int, n_chunks: int) -> list[list[int]]:
    n_chunks = max(1, min(n, n_chunks))
    return [list(a) for a in np.array_split(np.arange(n), n_chunks)]


def _execute(calls, n_jobs: int, backend, progress_bar, on_done):
    """Run ``calls`` (``(task, fn, args)``) and hand each result to ``on_done`` as it finishes."""
    if not calls:
        return
    if backend == "dask":
        from .dask import run_on_dask

        run_on_dask(calls, n_jobs, progress_bar, on_done)
        return
    if n_jobs == 1 and backend in (None, "sequential"):
        for task, fn, args in calls:
            on_done(task, fn(*args))
            progress_bar.update(1)
        return
    import joblib

    gen = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered", backend=backend or "loky")(
        joblib.delayed(_tagged)(task, fn, args) for task, fn, args in calls
    )
    for task, value in gen:
        on_done(task, value)
        progress_bar.update(1)


def _tagged(task, fn, args):
    return task, fn(*args)


def backtest(models, y, h: int, n_windows: int = 3, step: int | None = None, window: str = "expanding",
             window_size: int | None = None, refit=True, metrics=("mae", "rmse", "smape", "mase"),
             season_length: int = 1, level=None, n_jobs: int = 1, backend: str | None = None,
             progress: bool = True, checkpoint=None, on_error: str = "raise", timeout: float | None = None,
             fallback_model: BaseForecaster | None = None) -> BacktestResult:
    """Rolling-origin backtest of ``models`` on ``y``.

    Parameters
    ----------
    models : dict ``{name: forecaster}`` or list of forecasters (named by class)
    y : pd.Series, 1-D array or long DataFrame ``unique_id, ds, y`` (+ exogenous columns)
    h : int
        Forecast horizon of every window.
    n_windows : int
        Number of windows, placed from the end of each series.
    step : int, optional
        Distance between cutoffs (default ``h``).
    window : {"expanding", "sliding"}
    window_size : int, optional
        Training length of sliding windows.
    refit : bool or int
        ``True`` fits every window; ``False`` fits the first and ``update``\\ s the rest; ``k`` refits every
        ``k`` windows.
    metrics : sequence of str
        Any of ``mae, rmse, mape, smape, mase`` (per series and window) and ``owa`` (M4's, relative to
        ``Naive2``, in the leaderboard; a Naive2 is added when no model is one). With ``level``, the interval
        coverage of each level is scored as ``coverage-<level>``, and ``msis`` (M4's, per level, as
        ``msis-<level>``) and ``crps`` (from the point forecast and every level's bounds) may be asked for.
    season_length : int
        Seasonal period for MASE's scale (and the added Naive2).
    level : list of float, optional
        Interval levels to forecast and score.
    n_jobs : int
        Worker processes (joblib) or Dask workers for a local cluster.
    backend : {None, "loky", "dask"}
    progress : bool
        Show a tqdm progress bar over tasks.
    checkpoint : path, optional
        Directory where each finished task is stored; a rerun with the same arguments skips them.
    on_error : {"raise", "record"}
        ``"record"`` keeps going and lists each failure (model, series, cutoff, message) in ``errors``.
    timeout : float, optional
        Seconds one model may take to fit and predict one window of one chunk; past it the window counts as a
        failure (``TimeoutError``). Enforced with SIGALRM in the process that runs the task (local and joblib
        backends on POSIX; not inside Dask's worker threads).
    fallback_model : forecaster, optional
        With ``on_error="record"``, forecasts each series-window a model failed on (as statsforecast's
        ``fallback_model``); ``errors`` says where it was used (column ``fallback``).

    Returns
    -------
    BacktestResult
    """
    from tqdm.auto import tqdm

    h = check_horizon(h)
    levels = check_levels(level)
    models = _model_dict(models)
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    if not (isinstance(refit, bool) or (isinstance(refit, (int, np.integer)) and refit >= 1)):
        raise ValueError(f"refit must be True, False or a positive integer, got {refit!r}")
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS and m not in INTERVAL_METRICS and m not in ("owa", "coverage")]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from "
                         f"{sorted(METRICS) + sorted(INTERVAL_METRICS) + ['owa', 'coverage']}")
    if not levels and any(m in INTERVAL_METRICS for m in metrics):
        raise ValueError(f"metrics {[m for m in metrics if m in INTERVAL_METRICS]} score intervals: give level=[...]")
    if "owa" in metrics:
        from ..models.baselines import Naive2

        if not any(isinstance(e, Naive2) for e in models.values()):
            models["Naive2"] = Naive2(season_length=season_length)
    if window == "expanding":
        splitter = ExpandingWindow(h, n_windows, step)
    elif window == "sliding":
        if window_size is None:
            raise ValueError("window='sliding' needs window_size")
        splitter = SlidingWindow(h, n_windows, step, window_size)
    else:
        raise ValueError(f"window must be 'expanding' or 'sliding', got {window!r}")
    if fallback_model is not None and not isinstance(fallback_model, BaseForecaster):
        raise TypeError(f"fallback_model must be a tsrnn forecaster, got {type(fallback_model).__name__}")
    if fallback_model is not None and on_error != "record":
        raise ValueError("fallback_model needs on_error='record'")
    opt = _Options(refit, h, tuple(levels), on_error == "record", timeout, fallback_model)
    panel = to_panel(y)
    scaled = "mase" in metrics or "msis" in metrics
    need = splitter.min_length(max(2, season_length + 1 if scaled else 2))
    for s in panel.series:
        if len(s) < need:
            raise ValueError(
                f"series {s.uid!r}: has {len(s)} observations, too short for {n_windows} window(s) of h={h} "
                f"with step={splitter.step}: needs at least {need}"
            )
    bounds = [splitter.bounds(len(s)) for s in panel.series]
    n_series = len(panel.series)

    # tasks
    n_workers = n_jobs if n_jobs and n_jobs > 0 else (os.cpu_count() or 1)
    parallel = n_workers > 1 or backend not in (None, "sequential")
    local_chunks = _chunks(n_series, 4 * n_workers if parallel else (1 if checkpoint is None else -(-n_series // 500)))
    all_windows = [tuple(range(n_windows))]
    per_window = [(w,) for w in range(n_windows)] if refit is True else all_windows
    tasks: list[tuple[_Task, list[int]]] = []
    for name, est in models.items():
        chunks = [list(range(n_series))] if est._is_global else local_chunks
        # many chunks already keep the workers busy: one task per chunk ships its series once, not per window
        groups = all_windows if parallel and len(chunks) >= 2 * n_workers else per_window
        for ci, idx in enumerate(chunks):
            for ws in groups:
                tasks.append((_Task(f"{name}|{ci}/{len(chunks)}|{ws}", name, ci, ws), idx))

    settings = dict(h=h, n_windows=n_windows, step=splitter.step, window=window, window_size=window_size,
                    refit=refit, levels=tuple(levels), timeout=timeout,
                    fallback=None if fallback_model is None else repr(fallback_model))
    ckpt = _Checkpoint(checkpoint, _fingerprint(panel, models, settings)) if checkpoint is not None else None
    done: dict[_Task, dict] = {}
    calls = []
    sub_panels: dict[tuple, tuple] = {}  # each worker gets only its chunk's series
    for task, idx in tasks:
        cached = ckpt.load(task.key) if ckpt else None
        if cached is not None:
            done[task] = cached
            continue
        key = tuple(idx) if len(idx) < n_series else ()
        if key not in sub_panels:
            sub_panels[key] = (panel if not key else panel.replace([panel.series[i] for i in idx]),
                               bounds if not key else [bounds[i] for i in idx])
        sub, sub_bounds = sub_panels[key]
        calls.append((task, _run_chunk, (models[task.model], sub, idx, sub_bounds, task.windows, opt)))

    def on_done(task, value):
        done[task] = value
        if ckpt is not None:
            ckpt.save(task.key, value)

    bar = tqdm(total=len(calls), desc="backtest", unit="task", disable=not progress, leave=False)
    try:
        _execute(calls, n_workers, backend, bar, on_done)
    finally:
        bar.close()
    return BacktestResult.from_tasks(
        panel, bounds, h, models, levels, metrics, season_length, done,
        meta={**settings, "model_params": {n: e.get_params(deep=False) for n, e in models.items()},
              "n_tasks": len(tasks), "n_computed": len(calls), "n_from_checkpoint": len(tasks) - len(calls),
              "n_jobs": n_jobs, "backend": backend or ("loky" if parallel else "sequential")},
    )
