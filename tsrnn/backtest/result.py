"""``BacktestResult``: forecasts, scores, timings and failures of a backtest, as plain pandas frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._tables import markdown_table
from .._validation import Panel, interval_columns, to_pandas_stamps
from ..metrics import INTERVAL_METRICS, METRICS, as_loss, coverage, mase_scale, owa

__all__ = ["BacktestResult"]

ERROR_COLUMNS = ["model", "unique_id", "cutoff", "window", "error", "message", "fallback", "traceback"]
TIMING_COLUMNS = ["model", "unique_id", "cutoff", "window", "n_series", "fit_s", "predict_s"]


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
                   done, meta: dict, invalid=()) -> BacktestResult:
        """Build the result from the engine's finished tasks.

        ``done`` lists ``(model name, task value)``; ``invalid`` the series set aside before any model ran
        (``unique_id, error, message``), recorded in ``errors`` with an empty ``model``.
        """
        frame, y, cut = _actuals(panel, bounds, h)
        cols = _empty_columns(models, levels, len(y))
        timings, errors = [], []
        for name, value in done:
            timings += _fill_task(cols, name, value, panel, bounds, h, levels)
            errors += _task_errors(name, value, panel, bounds)
        forecasts = pd.DataFrame({**frame, **cols})
        scores = _score(panel, bounds, h, y, cols, models, levels, metrics, season_length, cut)
        timings = pd.DataFrame(timings, columns=TIMING_COLUMNS)
        errors = pd.DataFrame(errors, columns=ERROR_COLUMNS)
        for frame_ in (timings, errors):
            if len(frame_):
                frame_["cutoff"] = to_pandas_stamps(panel, frame_["cutoff"].to_numpy())
        if len(invalid):
            rows = pd.DataFrame([{**r, "model": None, "traceback": ""} for r in invalid]).reindex(columns=ERROR_COLUMNS)
            if len(errors):  # the set-aside series have no cutoff: a missing value of the cutoffs' own dtype
                if pd.api.types.is_integer_dtype(errors["cutoff"]):
                    errors["cutoff"] = errors["cutoff"].astype("Int64")
                rows["cutoff"] = errors["cutoff"].iloc[:0].reindex(range(len(rows)))
            errors = pd.concat([errors, rows], ignore_index=True) if len(errors) else rows
        meta = {**meta, "season_length": season_length, "n_series": len(panel.series), "h": h}
        return cls(forecasts, scores, timings, errors, meta, metrics, list(models))

    # ------------------------------------------------------------------ summaries
    def _default_metric(self, metric_names: list) -> str | None:
        if "owa" in self.metrics and self.meta.get("benchmark") in self.models:
            return "owa"
        return next((m for m in ("mase", "smape", "mae") if m in metric_names),
                    metric_names[0] if metric_names else None)

    def _block_scores(self, metric: str) -> pd.DataFrame:
        """Series-window x model values of ``metric`` (OWA per block: sMAPE and MASE relative to the benchmark's)."""
        sc = self.scores

        def wide(m):
            return sc[sc["metric"] == m].pivot_table(index=["unique_id", "cutoff"], columns="model", values="value",
                                                     aggfunc="mean")
        if metric != "owa":
            return wide(metric)
        bench = self.meta["benchmark"]
        s, m = wide("smape"), wide("mase")
        with np.errstate(divide="ignore", invalid="ignore"):
            return 0.5 * (s.div(s[bench], axis=0) + m.div(m[bench], axis=0))

    def leaderboard(self, metric: str | None = None) -> pd.DataFrame:
        """Models x metrics: the mean of each metric over series and windows, best first on ``metric``.

        Columns: one per metric (``owa`` from the mean sMAPE and MASE relative to the ``benchmark`` model, as M4
        does), ``rank`` (the mean rank of the model over series and windows on ``metric``, the sort metric; for
        ``owa`` on the OWA of each series-window), ``fit_s`` and ``predict_s`` (total seconds), ``n_failed``
        (series-windows where the model failed; a ``fallback_model`` may have forecast them). Lower is better
        except for ``coverage-<level>``, ranked and sorted by its distance to the nominal level. The table's
        ``attrs["sort_metric"]`` names ``metric``.
        """
        sc = self.scores
        metric_names = list(pd.unique(sc["metric"])) if len(sc) else []
        has_owa = "owa" in self.metrics and self.meta.get("benchmark") in self.models
        if metric is None:
            metric = self._default_metric(metric_names)
        elif metric not in metric_names and not (metric == "owa" and has_owa):
            known = metric_names + (["owa"] if has_owa else [])
            raise ValueError(f"unknown metric {metric!r}; this result has {known}")
        table = sc.pivot_table(index="model", columns="metric", values="value", aggfunc="mean", sort=False)
        table = table.reindex(index=self.models, columns=metric_names)
        if has_owa and {"smape", "mase"} <= set(table.columns):
            ref = table.loc[self.meta["benchmark"]]
            table["owa"] = [owa(r["smape"], r["mase"], ref["smape"], ref["mase"]) for _, r in table.iterrows()]
        if metric is not None and len(sc):
            wide = self._block_scores(metric)
            loss = pd.DataFrame(as_loss(metric, wide.to_numpy()), index=wide.index, columns=wide.columns)
            table["rank"] = loss.rank(axis=1, ascending=True).mean().reindex(table.index)
        self._add_costs(table)
        if metric is not None and metric in table.columns:
            table = table.iloc[np.argsort(as_loss(metric, table[metric].to_numpy()), kind="stable")]
        table.columns.name = None
        table.attrs["sort_metric"] = metric
        return table

    def _add_costs(self, table: pd.DataFrame) -> None:
        t = self.timings.groupby("model")[["fit_s", "predict_s"]].sum() if len(self.timings) else None
        table["fit_s"] = t["fit_s"].reindex(table.index).fillna(0.0) if t is not None else 0.0
        table["predict_s"] = t["predict_s"].reindex(table.index).fillna(0.0) if t is not None else 0.0
        failed = self.errors.groupby("model").size() if len(self.errors) else pd.Series(dtype=int)
        table["n_failed"] = failed.reindex(table.index).fillna(0).astype(int)

    def to_markdown(self, metric: str | None = None, digits: int = 3) -> str:
        """The leaderboard as a Markdown table, with the run's settings and failures counted."""
        lb = self.leaderboard(metric)
        lb.index.name = "model"
        settings = ", ".join(f"{k}={self.meta[k]}" for k in ("n_series", "h", "n_windows", "step", "window", "refit")
                             if k in self.meta)
        lines = [f"Backtest: {settings}", "", markdown_table(lb, digits=digits)]
        if len(self.errors):
            lines += ["", f"{len(self.errors)} failure(s): see `result.errors`."]
        return "\n".join(lines)

    def to_html(self, path) -> Path:
        """Write the HTML report of :func:`tsrnn.report.html.render_backtest` to ``path``; returns the path.

        A convenience only: the report layer (layer 4) is imported here, when called, never by this module.
        """
        from ..report.html import render_backtest

        return render_backtest(self, Path(path))

    def plot(self, unique_id=None, **kwargs):
        """Forecasts of each window against the actuals for one series (a matplotlib Figure)."""
        from ..report.plots import plot_backtest

        return plot_backtest(self, unique_id=unique_id, **kwargs)

    def __repr__(self) -> str:
        return (f"BacktestResult(models={self.models}, n_series={self.meta.get('n_series')}, "
                f"n_windows={self.meta.get('n_windows')}, h={self.meta.get('h')}, failures={len(self.errors)})")


def _actuals(panel: Panel, bounds, h: int):
    """``unique_id, ds, cutoff, y`` of every series-window block (series-major), the actuals and the cutoffs."""
    n_w = len(bounds[0]) if bounds else 0
    uids = np.array(panel.uids, dtype=object)
    ds = np.concatenate([s.ds[c:c + h] for s, bs in zip(panel.series, bounds) for _, c in bs])
    cut = np.array([s.ds[c - 1] for s, bs in zip(panel.series, bounds) for _, c in bs])
    y = np.concatenate([s.y[c:c + h] for s, bs in zip(panel.series, bounds) for _, c in bs])
    frame = {"unique_id": np.repeat(uids, n_w * h), "ds": to_pandas_stamps(panel, ds),
             "cutoff": to_pandas_stamps(panel, np.repeat(cut, h)), "y": y}
    return frame, y, cut


def _empty_columns(models, levels, n_rows: int) -> dict[str, np.ndarray]:
    cols = {}
    for name in models:
        cols[name] = np.full(n_rows, np.nan)
        for lv in levels:
            for col in interval_columns(name, lv):
                cols[col] = np.full(n_rows, np.nan)
    return cols


def _fill_task(cols, name, value, panel, bounds, h, levels) -> list[dict]:
    """Write one task's forecasts into ``cols``; return its timing rows."""
    n_w = len(bounds[0])
    offsets = np.arange(h)
    timings = []
    for rec in value["windows"]:
        w, idx = rec["window"], np.asarray(rec["series"])
        rows = ((idx * n_w + w)[:, None] * h + offsets).ravel()
        cols[name][rows] = rec["mean"].ravel()
        for lv in levels:
            for col, bound in zip(interval_columns(name, lv), rec["iv"][lv]):
                cols[col][rows] = bound.ravel()
        first = int(idx[0])
        timings.append({
            "model": name, "unique_id": panel.series[first].uid if len(idx) == 1 else f"{len(idx)} series",
            "cutoff": panel.series[first].ds[bounds[first][w][1] - 1], "window": w,
            "n_series": len(idx), "fit_s": rec["fit_s"], "predict_s": rec["predict_s"],
        })
    return timings


def _task_errors(name, value, panel, bounds) -> list[dict]:
    rows = []
    for err in value["errors"]:
        w = err["window"]
        for i in err["series"]:
            rows.append({"model": name, "unique_id": panel.series[i].uid,
                         "cutoff": panel.series[i].ds[bounds[i][w][1] - 1], "window": w, "error": err["error"],
                         "message": err["message"], "fallback": err.get("fallback"), "traceback": err["traceback"]})
    return rows


def _score(panel, bounds, h, y, cols, models, levels, metrics, season_length, cut) -> pd.DataFrame:
    n_w = len(bounds[0])
    n_blocks = len(panel.series) * n_w
    Y = y.reshape(n_blocks, h)
    scale = None
    if "mase" in metrics or "msis" in metrics:
        scale = np.array([_safe_scale(s.y[a:c], season_length) for s, bs in zip(panel.series, bounds) for a, c in bs])
    block_uid = np.repeat(np.array(panel.uids, dtype=object), n_w)
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
            lo, hi = (cols[col].reshape(n_blocks, h)[ok] for col in interval_columns(name, lv))
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
