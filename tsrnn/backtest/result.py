"""``BacktestResult``: forecasts, scores, timings and failures of a backtest, as plain pandas frames."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import Panel, to_pandas_stamps
from ..metrics import INTERVAL_METRICS, METRICS, coverage, mase_scale, owa

__all__ = ["BacktestResult"]

LOWER_IS_BETTER = {"mae", "rmse", "mape", "smape", "mase", "owa", "crps"}  # and every msis-<level>


class BacktestResult:
    """What a backtest produced.

    Attributes
    ----------
    forecasts : pd.DataFrame
        ``unique_id, ds, cutoff, y`` and one column per model (plus ``<model>-lo-<level>`` / ``-hi-`` columns).
    scores : pd.DataFrame
        Long frame ``unique_id, cutoff, model, metric, value``: one row per series, window, model and metric.
    timings : pd.DataFrame
        ``model, unique_id, cutoff, window, n_series, fit_s, predict_s`` per task and window (``unique_id`` is the
        series, or ``"<k> series"`` for a chunk fitted together).
    errors : pd.DataFrame
        ``model, unique_id, cutoff, window, error, message, fallback, traceback`` of what failed with
        ``on_error="record"`` (``fallback`` names the fallback model that forecast in its place, if any).
    meta : dict
        The settings of the run and task counts (``n_tasks``, ``n_computed``, ``n_from_checkpoint``).
    """

    def __init__(self, forecasts, scores, timings, errors, meta=None, metrics=(), models=()):
        self.forecasts = forecasts
        self.scores = scores
        self.timings = timings
        self.errors = errors
        self.meta = dict(meta or {})
        self.metrics = tuple(metrics)
        self.models = list(models)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_tasks(cls, panel: Panel, bounds, h: int, models: dict, levels: list, metrics, season_length: int,
                   done: dict, meta: dict) -> BacktestResult:
        n_s = len(panel.series)
        n_w = len(bounds[0]) if bounds else 0
        uids = np.array(panel.uids, dtype=object)
        ds = np.concatenate([s.ds[c:c + h] for s, bs in zip(panel.series, bounds) for _, c in bs])
        cut = np.array([s.ds[c - 1] for s, bs in zip(panel.series, bounds) for _, c in bs])
        y = np.concatenate([s.y[c:c + h] for s, bs in zip(panel.series, bounds) for _, c in bs])
        frame = {
            "unique_id": np.repeat(uids, n_w * h),
            "ds": to_pandas_stamps(panel, ds),
            "cutoff": to_pandas_stamps(panel, np.repeat(cut, h)),
            "y": y,
        }
        n_blocks = n_s * n_w
        cols: dict[str, np.ndarray] = {}
        timings, errors = [], []
        offsets = np.arange(h)
        for name in models:
            cols[name] = np.full(n_blocks * h, np.nan)
            for lv in levels:
                cols[f"{name}-lo-{lv}"] = np.full(n_blocks * h, np.nan)
                cols[f"{name}-hi-{lv}"] = np.full(n_blocks * h, np.nan)
        for task, value in done.items():
            name = task.model
            for rec in value["windows"]:
                w, idx = rec["window"], np.asarray(rec["series"])
                rows = ((idx * n_w + w)[:, None] * h + offsets).ravel()
                cols[name][rows] = rec["mean"].ravel()
                for lv in levels:
                    lo, hi = rec["iv"][lv]
                    cols[f"{name}-lo-{lv}"][rows] = lo.ravel()
                    cols[f"{name}-hi-{lv}"][rows] = hi.ravel()
                first = int(idx[0])
                timings.append({
                    "model": name,
                    "unique_id": panel.series[first].uid if len(idx) == 1 else f"{len(idx)} series",
                    "cutoff": panel.series[first].ds[bounds[first][w][1] - 1], "window": w,
                    "n_series": len(idx), "fit_s": rec["fit_s"], "predict_s": rec["predict_s"],
                })
            for err in value["errors"]:
                w = err["window"]
                for i in err["series"]:
                    errors.append({
                        "model": name, "unique_id": panel.series[i].uid,
                        "cutoff": panel.series[i].ds[bounds[i][w][1] - 1], "window": w,
                        "error": err["error"], "message": err["message"], "fallback": err.get("fallback"),
                        "traceback": err["traceback"],
                    })
        forecasts = pd.DataFrame({**frame, **cols})
        scores = _score(panel, bounds, h, y, cols, models, levels, metrics, season_length, uids, cut)
        timings = pd.DataFrame(timings, columns=["model", "unique_id", "cutoff", "window", "n_series", "fit_s",
                                                 "predict_s"])
        errors = pd.DataFrame(errors, columns=["model", "unique_id", "cutoff", "window", "error", "message",
                                               "fallback", "traceback"])
        for frame_ in (timings, errors):
            if len(frame_):
                frame_["cutoff"] = to_pandas_stamps(panel, frame_["cutoff"].to_numpy())
        meta = {**meta, "season_length": season_length, "n_series": n_s, "h": h}
        return cls(forecasts, scores, timings, errors, meta, metrics, list(models))

    # ------------------------------------------------------------------ summaries
    def leaderboard(self, metric: str | None = None) -> pd.DataFrame:
        """Models x metrics: the mean of each metric over series and windows, sorted by ``metric``.

        Columns: one per metric (``owa`` from the mean sMAPE and MASE relative to Naive2, as M4 does), ``rank``
        (the mean rank of the model over series and windows on ``metric``), ``fit_s`` and ``predict_s`` (total
        seconds), ``n_failed`` (series-windows where the model failed; a ``fallback_model`` may have forecast them).
        """
        sc = self.scores
        metric_names = list(pd.unique(sc["metric"])) if len(sc) else []
        if metric is None:
            metric = next((m for m in ("owa", "mase", "smape", "mae") if m in metric_names or
                           (m == "owa" and "owa" in self.metrics and "Naive2" in self.models)),
                          metric_names[0] if metric_names else None)
        elif metric not in metric_names and not (metric == "owa" and "owa" in self.metrics):
            raise ValueError(f"unknown metric {metric!r}; this result has {metric_names}")
        table = sc.pivot_table(index="model", columns="metric", values="value", aggfunc="mean", sort=False)
        table = table.reindex(index=self.models, columns=metric_names)
        if "owa" in self.metrics and {"smape", "mase"} <= set(table.columns):
            ref = "Naive2" if "Naive2" in table.index else None
            if ref is not None:
                table["owa"] = [owa(r["smape"], r["mase"], table.loc[ref, "smape"], table.loc[ref, "mase"])
                                for _, r in table.iterrows()]
        rank_on = metric if metric != "owa" else "smape"
        if rank_on is not None and len(sc):
            wide = sc[sc["metric"] == rank_on].pivot_table(index=["unique_id", "cutoff"], columns="model",
                                                           values="value", aggfunc="mean")
            ascending = rank_on in LOWER_IS_BETTER or rank_on.startswith(("coverage", "msis"))
            ranks = wide.rank(axis=1, ascending=ascending) if ascending else wide.rank(axis=1, ascending=False)
            table["rank"] = ranks.mean().reindex(table.index)
        t = self.timings.groupby("model")[["fit_s", "predict_s"]].sum() if len(self.timings) else None
        table["fit_s"] = t["fit_s"].reindex(table.index).fillna(0.0) if t is not None else 0.0
        table["predict_s"] = t["predict_s"].reindex(table.index).fillna(0.0) if t is not None else 0.0
        failed = self.errors.groupby("model").size() if len(self.errors) else pd.Series(dtype=int)
        table["n_failed"] = failed.reindex(table.index).fillna(0).astype(int)
        if metric is not None and metric in table.columns:
            table = table.sort_values(metric, ascending=metric in LOWER_IS_BETTER or metric.startswith("msis"))
        table.columns.name = None
        return table

    def to_markdown(self, metric: str | None = None, digits: int = 3) -> str:
        """The leaderboard as a Markdown table, with the run's settings and failures counted."""
        lb = self.leaderboard(metric).round(digits)
        head = "| model | " + " | ".join(map(str, lb.columns)) + " |"
        sep = "|---|" + "---|" * len(lb.columns)
        rows = [f"| {m} | " + " | ".join(_fmt(v) for v in r) + " |" for m, r in lb.iterrows()]
        settings = ", ".join(f"{k}={self.meta[k]}" for k in ("n_series", "h", "n_windows", "step", "window", "refit")
                             if k in self.meta)
        lines = [f"Backtest: {settings}", "", head, sep, *rows]
        if len(self.errors):
            lines += ["", f"{len(self.errors)} failure(s): see `result.errors`."]
        return "\n".join(lines)

    def to_html(self, path) -> Path:
        """Write an HTML page with the leaderboard and a forecast plot; returns its path.

        Uses the full report of :mod:`tsrnn.report` when available, else a plain page.
        """
        path = Path(path)
        try:
            from ..report.html import render_backtest  # layer 4, imported only when asked for
        except ImportError:
            render_backtest = None
        if render_backtest is not None:
            return render_backtest(self, path)
        lb = self.leaderboard()
        body = lb.to_html(float_format=lambda v: f"{v:.3f}", border=0)
        errors = self.errors.drop(columns="traceback").to_html(border=0) if len(self.errors) else "<p>none</p>"
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>tsrnn backtest</title></head><body>"
                f"<h1>Backtest</h1><p>{html.escape(str({k: v for k, v in self.meta.items()}))}</p>"
                f"<h2>Leaderboard</h2>{body}<h2>Failures</h2>{errors}</body></html>")
        path.write_text(page, encoding="utf-8")
        return path

    def plot(self, unique_id=None, **kwargs):
        """Forecasts of each window against the actuals for one series (a matplotlib Figure)."""
        from ..report.plots import plot_backtest

        return plot_backtest(self, unique_id=unique_id, **kwargs)

    def __repr__(self) -> str:
        return (f"BacktestResult(models={self.models}, n_series={self.meta.get('n_series')}, "
                f"n_windows={self.meta.get('n_windows')}, h={self.meta.get('h')}, failures={len(self.errors)})")


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:g}"
    return str(v)


def _score(panel, bounds, h, y, cols, models, levels, metrics, season_length, uids, cut) -> pd.DataFrame:
    n_w = len(bounds[0])
    n_blocks = len(panel.series) * n_w
    Y = y.reshape(n_blocks, h)
    scale = None
    if "mase" in metrics or "msis" in metrics:
        scale = np.array([_safe_scale(s.y[a:c], season_length) for s, bs in zip(panel.series, bounds) for a, c in bs])
    block_uid = np.repeat(uids, n_w)
    block_cut = to_pandas_stamps(panel, cut)
    parts = []
    point = [m for m in metrics if m in METRICS]
    for name in models:
        F = cols[name].reshape(n_blocks, h)
        ok = np.isfinite(F).all(axis=1)
        if not ok.any():
            continue
        values = {}
        for m in point:
            values[m] = METRICS[m](Y[ok], F[ok], None if scale is None else scale[ok])
        iv = {}
        for lv in levels:
            lo = cols[f"{name}-lo-{lv}"].reshape(n_blocks, h)[ok]
            hi = cols[f"{name}-hi-{lv}"].reshape(n_blocks, h)[ok]
            iv[lv] = (np.minimum(lo, hi), np.maximum(lo, hi))
            values[f"coverage-{lv}"] = coverage(Y[ok], *iv[lv])
        for m in metrics:
            if m in INTERVAL_METRICS:
                values.update(INTERVAL_METRICS[m](Y[ok], F[ok], iv, None if scale is None else scale[ok]))
        for m, v in values.items():
            parts.append(pd.DataFrame({"unique_id": block_uid[ok], "cutoff": np.asarray(block_cut)[ok],
                                       "model": name, "metric": m, "value": np.asarray(v, dtype=float)}))
    if not parts:
        return pd.DataFrame(columns=["unique_id", "cutoff", "model", "metric", "value"])
    return pd.concat(parts, ignore_index=True)


def _safe_scale(y, m):
    try:
        return mase_scale(y, m)
    except ValueError:
        return np.nan
