"""The backtest: rolling-origin evaluation of many forecasters on one series or a panel.

A backtest is split into tasks for the shared runner (:mod:`tsrnn.backtest.runner`): one model on one chunk of
series over one window (``refit=True``) or over all windows (``refit=False`` or every ``k``, where later windows
only ``update`` the fitted model). Tasks run in this process, in joblib workers (``n_jobs``) or on a Dask cluster
(``backend="dask"``); each finished task can be written to a ``checkpoint`` directory so that an interrupted run,
started again with the same arguments, only computes what is missing. Global models (RNN, seq2seq, reduction)
always see the whole panel in one chunk. :class:`~tsrnn.backtest.BacktestResult` builds the frames and scores.

This module imports no model: OWA's Naive2 benchmark is one of the caller's ``models`` (``benchmark=``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from .._validation import Panel, SeriesData, check_horizon, check_levels, check_positive_int, to_panel
from ..base import BaseForecaster
from ..metrics import INTERVAL_METRICS, METRICS
from .result import BacktestResult
from .runner import (
    Task,
    TaskTimeout,
    check_on_error,
    describe_failure,
    fingerprint,
    is_parallel,
    n_workers_of,
    raise_unless_recording,
    run_tasks,
    time_limit,
)
from .splitters import ExpandingWindow, SlidingWindow

__all__ = ["backtest"]


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


def _fit_predict_window(est, model, panel, idx, bounds, w, prev, opt: _Options):
    with time_limit(opt.timeout):
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


def _window_record(w, idx, res, levels, fit_s, predict_s) -> dict:
    mean = np.stack([np.asarray(r[0], dtype=float) for r in res])
    iv = {lv: (np.stack([np.asarray(r[1][lv][0], dtype=float) for r in res]),
               np.stack([np.asarray(r[1][lv][1], dtype=float) for r in res])) for lv in levels}
    return {"window": w, "series": list(idx), "mean": mean, "iv": iv, "fit_s": fit_s, "predict_s": predict_s}


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
        except (Exception, TaskTimeout) as exc:  # noqa: BLE001 - recorded with its series, or re-raised
            raise_unless_recording(exc, opt.isolate)
            model = None
            _record_failure(out, exc, est, panel, idx, bounds, w, opt)
            continue
        prev = {i: bounds[i][w][1] for i in idx}
        out["windows"].append(_window_record(w, idx, res, opt.levels, fit_s, predict_s))
    return out


def _record_failure(out, exc, est, panel, idx, bounds, w, opt: _Options) -> None:
    """A window failed (with ``on_error="record"``): name the failing series, or record it and use the fallback."""
    if len(idx) > 1 and not est._is_global:
        for i in idx:  # find which series failed: run them one by one for this window
            sub = _run_task(est, panel, [i], bounds, (w,), opt)
            out["windows"].extend(sub["windows"])
            out["errors"].extend(sub["errors"])
        return
    used = None
    if opt.fallback is not None:
        sub = _run_task(opt.fallback, panel, idx, bounds, (w,), _Options(True, opt.h, opt.levels, True))
        for rec in sub["windows"]:
            rec["fallback"] = True
        out["windows"].extend(sub["windows"])
        used = type(opt.fallback).__name__ if sub["windows"] else None
    out["errors"].append({"window": w, "series": list(idx), **describe_failure(exc), "fallback": used})


def _run_chunk(est, panel: Panel, global_idx, bounds, windows, opt: _Options):
    """``_run_task`` on a panel holding only this chunk's series; series positions mapped back to the full panel."""
    out = _run_task(est, panel, list(range(len(panel.series))), bounds, windows, opt)
    for rec in out["windows"] + out["errors"]:
        rec["series"] = [global_idx[i] for i in rec["series"]]
    return out


def _chunks(n: int, n_chunks: int) -> list[list[int]]:
    n_chunks = max(1, min(n, n_chunks))
    return [list(a) for a in np.array_split(np.arange(n), n_chunks)]


# ---------------------------------------------------------------------------------------------- checking the call
def _splitter(h, n_windows, step, window, window_size):
    if window == "expanding":
        return ExpandingWindow(h, n_windows, step)
    if window == "sliding":
        if window_size is None:
            raise ValueError("window='sliding' needs window_size")
        return SlidingWindow(h, n_windows, step, window_size)
    raise ValueError(f"window must be 'expanding' or 'sliding', got {window!r}")


def _check_metrics(metrics, levels) -> tuple:
    metrics = tuple(metrics)
    known = sorted(METRICS) + sorted(INTERVAL_METRICS) + ["owa", "coverage"]
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {known}")
    if not levels and any(m in INTERVAL_METRICS for m in metrics):
        raise ValueError(f"metrics {[m for m in metrics if m in INTERVAL_METRICS]} score intervals: give level=[...]")
    if "owa" in metrics:  # OWA is computed from the mean sMAPE and MASE
        metrics += tuple(m for m in ("smape", "mase") if m not in metrics)
    return metrics


def _owa_benchmark(models: dict, metrics: tuple, benchmark: str | None) -> str | None:
    """The name of the model OWA is relative to (M4's Naive2): ``benchmark``, else the one Naive2 in ``models``."""
    if benchmark is not None:
        if benchmark not in models:
            raise ValueError(f"benchmark={benchmark!r} is not one of the models {list(models)}")
        return benchmark
    if "owa" not in metrics:
        return None
    found = [n for n, e in models.items() if type(e).__name__ == "Naive2"]
    if len(found) == 1:
        return found[0]
    if "Naive2" in models:
        return "Naive2"
    raise ValueError(
        "metrics 'owa' is relative to M4's Naive2 benchmark, and " +
        ("none of the models is a Naive2: add one to models, e.g. models['Naive2'] = "
         "tsrnn.models.Naive2(season_length=...)" if not found else f"several models are Naive2 ({found}): name one")
        + ", or name the reference model with benchmark='<model name>'"
    )


def _check_call(refit, on_error, fallback_model) -> bool:
    isolate = check_on_error(on_error)
    if not isinstance(refit, bool):
        check_positive_int(refit, "refit", alternatives="True or False")
    if fallback_model is not None and not isinstance(fallback_model, BaseForecaster):
        raise TypeError(f"fallback_model must be a tsrnn forecaster, got {type(fallback_model).__name__}")
    if fallback_model is not None and not isolate:
        raise ValueError("fallback_model needs on_error='record'")
    return isolate


# ---------------------------------------------------------------------------------------------- the panel
def _valid_series(y, isolate: bool) -> tuple[Panel, list[dict]]:
    """``to_panel(y)``; with ``isolate``, the series of a long frame that fail validation are set aside."""
    try:
        return to_panel(y), []
    except (ValueError, TypeError):
        if not (isolate and isinstance(y, pd.DataFrame) and "unique_id" in y.columns):
            raise
    bad, keep = [], []
    for uid, g in y.groupby("unique_id", sort=False):
        try:
            to_panel(g)
        except (ValueError, TypeError) as exc:
            msg = str(exc) if str(uid) in str(exc) else f"series {uid!r}: {exc}"  # each message names its series
            bad.append({"unique_id": uid, "error": type(exc).__name__, "message": msg})
        else:
            keep.append(uid)
    if not keep:
        raise ValueError(_none_left(bad))
    return to_panel(y[y["unique_id"].isin(keep)]), bad


def _none_left(bad: list[dict]) -> str:
    """The error when every series was set aside: each one's reason (the first five)."""
    more = f"; and {len(bad) - 5} more" if len(bad) > 5 else ""
    return "no series can be backtested: " + "; ".join(b["message"] for b in bad[:5]) + more


def _prepare_panel(y, splitter, min_train: int, isolate: bool) -> tuple[Panel, list[dict]]:
    """The validated panel of the series long enough for every window, and the series set aside (with why)."""
    panel, bad = _valid_series(y, isolate)
    need = splitter.min_length(min_train)
    keep = []
    for s in panel.series:
        if len(s) >= need:
            keep.append(s)
            continue
        msg = (f"series {s.uid!r}: has {len(s)} observations, too short for {splitter.n_windows} window(s) of "
               f"h={splitter.h} with step={splitter.step}: needs at least {need}")
        if not isolate:
            raise ValueError(msg)
        bad.append({"unique_id": s.uid, "error": "ValueError", "message": msg})
    if not keep:
        raise ValueError(_none_left(bad))
    return (panel if len(keep) == len(panel.series) else panel.replace(keep)), bad


def _exog_views(models: dict, panel: Panel) -> tuple[dict[str, Panel], dict[str, list]]:
    """The panel each model sees: models that take no exogenous regressors get it without them (and are listed)."""
    if not panel.exog_names:
        return {n: panel for n in models}, {}
    bare = dataclasses.replace(panel, series=[SeriesData(s.uid, s.ds, s.y, None) for s in panel.series],
                               exog_names=[])
    views, ignored = {}, {}
    for name, est in models.items():
        takes_x = bool(getattr(est, "_supports_exog", False))
        views[name] = panel if takes_x else bare
        if not takes_x:
            ignored[name] = list(panel.exog_names)
    return views, ignored


# ---------------------------------------------------------------------------------------------- tasks
def _plan(models, views, bounds, opt: _Options, n_windows: int, n_jobs, backend, checkpoint) -> list[tuple]:
    """``(model name, task)``: one task per model x chunk x window group; each carries only its chunk's series."""
    n_series = len(bounds)
    n_workers = n_workers_of(n_jobs)
    parallel = is_parallel(n_jobs, backend)
    local_chunks = _chunks(n_series, 4 * n_workers if parallel else (1 if checkpoint is None else -(-n_series // 500)))
    all_windows = [tuple(range(n_windows))]
    per_window = [(w,) for w in range(n_windows)] if opt.refit is True else all_windows
    tasks, sub_panels = [], {}
    for name, est in models.items():
        chunks = [list(range(n_series))] if est._is_global else local_chunks
        # many chunks already keep the workers busy: one task per chunk ships its series once, not per window
        groups = all_windows if parallel and len(chunks) >= 2 * n_workers else per_window
        panel = views[name]
        for ci, idx in enumerate(chunks):
            key = (id(panel), tuple(idx) if len(idx) < n_series else ())
            if key not in sub_panels:
                sub_panels[key] = (panel if not key[1] else panel.replace([panel.series[i] for i in idx]),
                                   bounds if not key[1] else [bounds[i] for i in idx])
            sub, sub_bounds = sub_panels[key]
            for ws in groups:
                tasks.append((name, Task(f"{name}|{ci}/{len(chunks)}|{ws}", _run_chunk,
                                         (est, sub, idx, sub_bounds, ws, opt))))
    return tasks


def _run_key(panel: Panel, models: dict, settings: dict) -> str:
    arrays = []
    for s in panel.series:
        arrays += [s.uid, s.y, s.ds] + ([] if s.X is None else [s.X])
    return fingerprint(arrays, models, settings)


def backtest(models, y, h: int, n_windows: int = 3, step: int | None = None, window: str = "expanding",
             window_size: int | None = None, refit=True, metrics=("mae", "rmse", "smape", "mase"),
             season_length: int = 1, level=None, n_jobs: int = 1, backend: str | None = None,
             progress: bool = True, checkpoint=None, on_error: str = "raise", timeout: float | None = None,
             fallback_model: BaseForecaster | None = None, benchmark: str | None = None) -> BacktestResult:
    """Rolling-origin backtest of ``models`` on ``y``.

    Parameters
    ----------
    models : dict ``{name: forecaster}`` or list of forecasters (named by class)
    y : pd.Series, 1-D array or long DataFrame ``unique_id, ds, y`` (+ exogenous columns)
        Exogenous columns go to the models that take them; the others ignore them (``meta["ignored_exog"]``).
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
        Any of ``mae, rmse, mape, smape, mase`` (per series and window) and ``owa`` (M4's, relative to the
        ``benchmark`` model, in the leaderboard). With ``level``, the interval coverage of each level is scored as
        ``coverage-<level>``, and ``msis`` (M4's, per level, as ``msis-<level>``) and ``crps`` (from the
        point forecast and every level's bounds) may be asked for.
    season_length : int
        Seasonal period for MASE's scale.
    level : list of float, optional
        Interval levels (percent) to forecast and score.
    n_jobs : int
        Worker processes (joblib) or Dask workers for a local cluster.
    backend : {None, "loky", "dask"}
    progress : bool
        Show a tqdm progress bar over tasks.
    checkpoint : path, optional
        Directory where each finished task is stored; a rerun with the same arguments skips them.
    on_error : {"raise", "record"}
        ``"record"`` keeps going and lists each failure (model, series, cutoff, message) in ``errors``; a series
        that cannot be backtested at all (too short for the windows, NaN or non-numeric values) is listed there
        with an empty ``model`` and the other series are scored.
    timeout : float, optional
        Seconds one model may take to fit and predict one window of one chunk; past it the window counts as a
        failure (``TimeoutError``). Enforced with SIGALRM in the process that runs the task (local and joblib
        backends on POSIX; not inside Dask's worker threads).
    fallback_model : forecaster, optional
        With ``on_error="record"``, forecasts each series-window a model failed on (as statsforecast's
        ``fallback_model``); ``errors`` says where it was used (column ``fallback``).
    benchmark : str, optional
        Name of the model in ``models`` that OWA is relative to (M4 uses ``Naive2``); by default the model that
        is a ``tsrnn.models.Naive2``. With ``"owa"`` in ``metrics`` and no such model, a ``ValueError`` says
        what to add.

    Returns
    -------
    BacktestResult
    """
    h = check_horizon(h)
    levels = check_levels(level)
    models = _model_dict(models)
    isolate = _check_call(refit, on_error, fallback_model)
    metrics = _check_metrics(metrics, levels)
    bench = _owa_benchmark(models, metrics, benchmark)
    splitter = _splitter(h, n_windows, step, window, window_size)
    opt = _Options(refit, h, tuple(levels), isolate, timeout, fallback_model)
    panel, invalid = _prepare_panel(y, splitter, max(2, season_length + 1 if "mase" in metrics else 2), isolate)
    bounds = [splitter.bounds(len(s)) for s in panel.series]
    settings = dict(h=h, n_windows=n_windows, step=splitter.step, window=window, window_size=window_size,
                    refit=refit, levels=tuple(levels), timeout=timeout,
                    fallback=None if fallback_model is None else repr(fallback_model))
    finished, meta = _run(models, panel, bounds, opt, settings, n_jobs, backend, progress, checkpoint)
    return BacktestResult.from_tasks(panel, bounds, h, models, levels, metrics, season_length, finished,
                                     {**meta, "benchmark": bench}, invalid=invalid)


def _run(models, panel, bounds, opt: _Options, settings: dict, n_jobs, backend, progress, checkpoint):
    """Plan and run the tasks: ``[(model name, task value)]`` and the run's metadata."""
    views, ignored = _exog_views(models, panel)
    tasks = _plan(models, views, bounds, opt, settings["n_windows"], n_jobs, backend, checkpoint)
    done, n_computed = run_tasks([t for _, t in tasks], n_jobs=n_jobs, backend=backend, progress=progress,
                                 checkpoint=checkpoint, run_key=_run_key(panel, models, settings), desc="backtest")
    meta = {**settings, "model_params": {n: e.get_params(deep=False) for n, e in models.items()},
            "n_tasks": len(tasks), "n_computed": n_computed, "n_from_checkpoint": len(tasks) - n_computed,
            "n_jobs": n_jobs, "backend": backend or ("loky" if is_parallel(n_jobs, backend) else "sequential"),
            "ignored_exog": ignored}
    return [(name, done[t.key]) for name, t in tasks], meta
