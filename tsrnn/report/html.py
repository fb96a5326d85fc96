r"""HTML and Markdown reports of backtest and detector results (layer 4).

:func:`render_backtest` writes one static HTML page (Jinja2 template ``templates/report.html``, every image a
base64 PNG, no script and no outside resource, so it opens offline) with

- the run's metadata: settings from ``result.meta``, the data, package versions, threads, seeds;
- the leaderboard (``result.leaderboard()``) with the position of each model and the best of each column marked;
- a critical-difference diagram of the models' mean ranks across series and windows: the Friedman test, then
  Nemenyi's post-hoc test; two models differ significantly when their mean ranks differ by more than
  :math:`CD = q_\alpha \sqrt{k (k + 1) / (6 N)}` (Demšar 2006; :math:`k` models, :math:`N` blocks,
  :math:`q_\alpha` the studentized range quantile over :math:`\sqrt 2`);
- the error by horizon (MAE and sMAPE of each forecast step, from ``result.forecasts``);
- forecast plots with their intervals for a sample of series;
- fit and predict timings per model, and the failures table (``result.errors``).

:func:`render_detectors` does the same for :func:`tsrnn.anomaly.evaluate_detectors` results, with series plots
showing the labelled windows and each detector's alarms. :func:`render_markdown` gives the text version for logs.
"""

from __future__ import annotations

import base64
import io
import os
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["render_html", "render_backtest", "render_detectors", "render_markdown"]

_LOWER = {"mae", "rmse", "mape", "smape", "mase", "owa", "rank", "fit_s", "predict_s", "n_failed", "mean_fit_s",
          "mean_predict_s"}
_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "statsmodels", "torch", "hmmlearn", "PyWavelets",
             "matplotlib", "scikit-posthocs")


# ------------------------------------------------------------------------------------------------ public API
def render_html(result, path, **kwargs) -> Path:
    """Write the HTML report of a backtest or a detector evaluation (dispatches on the result's kind)."""
    if _is_detector(result):
        return render_detectors(result, path, **kwargs)
    return render_backtest(result, path, **kwargs)


def render_backtest(result, path, *, title: str = "tsrnn backtest report", metric: str | None = None,
                    n_series: int = 4, max_windows: int = 3, n_models: int = 3, alpha: float = 0.05,
                    dpi: int = 80) -> Path:
    """Write the HTML report of a :class:`~tsrnn.backtest.BacktestResult`.

    Parameters
    ----------
    result : BacktestResult
    path : str or Path
        The file to write (its folder is created).
    metric : str, optional
        Metric that sorts the leaderboard and ranks the models (default: the leaderboard's).
    n_series : int, default 4
        Series drawn in the forecast plots (spread evenly over the result's series).
    max_windows : int, default 3
        Last backtest windows drawn per series.
    n_models : int, default 3
        Models drawn in the forecast plots: the first ``n_models`` of the leaderboard.
    alpha : float, default 0.05
        Significance level of the Friedman / Nemenyi tests.
    dpi : int, default 80
        Resolution of the embedded PNG images.

    Returns
    -------
    Path
        ``path``.
    """
    lb = result.leaderboard(metric)
    rank_metric = metric or _default_metric(result.scores)
    levels = [c.split("-", 1)[1] for c in lb.columns if str(c).startswith("coverage-")]
    sections = [
        _section("run", "Run", tables=[_kv_table(_backtest_meta(result))]),
        _section("leaderboard", "Leaderboard", notes=[
            f"Mean of each metric over series and windows; rank = mean rank on {rank_metric} (1 = best); "
            "the best value of each column is marked \u2605 (coverage: closest to its nominal level)."],
            tables=[_leaderboard_table(lb, higher_better=False)]),
    ]
    figs, notes = _rank_section(result.scores, rank_metric, ["unique_id", "cutoff"], False, alpha, dpi)
    sections.append(_section("ranks", "Ranks across series", notes=notes, figures=figs))
    hz = horizon_errors(result.forecasts, result.models)
    if len(hz):
        sections.append(_section("horizon", "Error by horizon", notes=[
            "MAE and sMAPE of each forecast step, averaged over series and windows."],
            tables=[_frame_table(hz.pivot(index="step", columns="model", values="smape").reindex(columns=result.models),
                                 "sMAPE by step (best model of each step marked)", "step", by_row=True)],
            figures=[_figure(_horizon_figure(hz, result.models), dpi, "error by horizon")]))
    uids = _sample(pd.unique(result.forecasts["unique_id"]), n_series)
    shown = [m for m in lb.index if m in result.forecasts.columns][:n_models]
    sections.append(_section("forecasts", "Forecasts", notes=[
        f"The {len(shown)} best model(s) of the leaderboard ({', '.join(map(str, shown))}) over the last "
        f"{max_windows} window(s) of {len(uids)} series; shaded bands are the prediction intervals "
        f"({', '.join(levels) or 'none requested'})."],
        figures=[_figure(_plot_backtest(result, u, max_windows, shown), dpi, f"forecasts of {u}") for u in uids]))
    sections.append(_timings_section(result.timings, dpi))
    sections.append(_failures_section(getattr(result, "errors", None)))
    return _write(path, title, f"{len(result.models)} models, {result.meta.get('n_series', '?')} series, "
                               f"h = {result.meta.get('h', '?')}, {result.meta.get('n_windows', '?')} window(s)",
                  sections)


def render_detectors(result, path, *, title: str = "tsrnn anomaly detection report", metric: str | None = None,
                     n_series: int = 4, alpha: float = 0.05, dpi: int = 80) -> Path:
    """Write the HTML report of an :func:`~tsrnn.anomaly.evaluate_detectors` result.

    Sections: run metadata, leaderboard (best of each column marked), ranks across series (Friedman / Nemenyi
    critical-difference diagram), series plots with the labelled windows shaded and every detector's alarms and
    scores, timings and failures (when the result records any).

    Parameters
    ----------
    result : DetectorResult
    path : str or Path
    metric : str, optional
        Metric for the leaderboard's order and the ranks (default: the first NAB metric).
    n_series : int, default 4
        Series drawn (those with labelled anomalies first).

    Returns
    -------
    Path
    """
    lb = result.leaderboard(metric)
    rank_metric = metric or next((m for m in result.metrics if m.startswith("nab")), result.metrics[0])
    det = result.detections
    sections = [
        _section("run", "Run", tables=[_kv_table(_detector_meta(result))]),
        _section("leaderboard", "Leaderboard", notes=[
            "NAB scores are normalised over all series (null detector 0, perfect 100); precision and recall pool "
            f"all series; rank = mean rank on {rank_metric} over series (1 = best). Best of each column \u2605."],
            tables=[_leaderboard_table(lb, higher_better=True)]),
    ]
    figs, notes = _rank_section(result.scores, rank_metric, ["unique_id"], True, alpha, dpi)
    sections.append(_section("ranks", "Ranks across series", notes=notes, figures=figs))
    first = det[det["model"] == result.models[0]]
    has_label = first.groupby("unique_id", sort=False)["label"].max()
    ordered = list(has_label[has_label > 0].index) + list(has_label[has_label == 0].index)
    uids = ordered[:n_series]
    sections.append(_section("series", "Series", notes=[
        "Orange: labelled anomaly windows; markers: each detector's alarms (count in the legend); lower panel: "
        "the scores (min-max scaled when several detectors are drawn)."],
        figures=[_figure(_plot_anomalies(result, u), dpi, f"detections on {u}") for u in uids]))
    sections.append(_timings_section(result.timings, dpi))
    sections.append(_failures_section(getattr(result, "errors", None)))
    return _write(path, title, f"{len(result.models)} detectors on {det['unique_id'].nunique()} series", sections)


def render_markdown(result, metric: str | None = None, digits: int = 4) -> str:
    """The report as Markdown for logs: metadata, leaderboard (best in bold), error by horizon, timings, failures."""
    detector = _is_detector(result)
    lb = result.leaderboard(metric)
    meta = _detector_meta(result) if detector else _backtest_meta(result)
    lines = ["# " + ("tsrnn anomaly detection report" if detector else "tsrnn backtest report"), ""]
    for group, kv in meta.items():
        lines.append(f"**{group}**: " + ", ".join(f"{k}={v}" for k, v in kv.items()))
    lines += ["", "## Leaderboard", "", *_md_table(_leaderboard_table(lb, higher_better=detector), digits)]
    if not detector:
        hz = horizon_errors(result.forecasts, result.models)
        if len(hz):
            t = _frame_table(hz.pivot(index="step", columns="model", values="smape").reindex(columns=result.models), None,
                             "step", by_row=True)
            lines += ["", "## sMAPE by horizon", "", *_md_table(t, digits)]
    timings = _timing_frame(result.timings)
    if len(timings):
        lines += ["", "## Timings (seconds)", "",
                  *_md_table(_frame_table(timings, None, "model", [c for c in timings.columns if c.endswith("_s")]),
                             digits)]
    errors = getattr(result, "errors", None)
    lines += ["", "## Failures", ""]
    if errors is None or not len(errors):
        lines.append("none")
    else:
        for _, e in errors.iterrows():
            lines.append(f"- {e.get('model')} / {e.get('unique_id')} / {e.get('cutoff', '')}: "
                         f"{e.get('error', '')}: {str(e.get('message', '')).splitlines()[0] if e.get('message') else ''}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ computations
def horizon_errors(forecasts: pd.DataFrame, models) -> pd.DataFrame:
    """MAE and sMAPE of each forecast step: long frame ``model, step, mae, smape``.

    ``step`` counts from 1 within each ``(unique_id, cutoff)`` window;
    ``smape = 200 |y - f| / (|y| + |f|)`` (0 where both are 0), as :func:`tsrnn.metrics.smape` per point.
    """
    if not len(forecasts):
        return pd.DataFrame(columns=["model", "step", "mae", "smape"])
    step = forecasts.groupby(["unique_id", "cutoff"], sort=False).cumcount().to_numpy() + 1
    y = forecasts["y"].to_numpy(float)
    parts = []
    for m in models:
        f = forecasts[m].to_numpy(float)
        ok = np.isfinite(f) & np.isfinite(y)
        err = np.abs(y - f)
        den = np.abs(y) + np.abs(f)
        sm = np.divide(200 * err, den, out=np.zeros_like(err), where=den > 0)
        g = pd.DataFrame({"step": step[ok], "mae": err[ok], "smape": sm[ok]}).groupby("step").mean()
        parts.append(g.assign(model=m).reset_index())
    return pd.concat(parts, ignore_index=True)[["model", "step", "mae", "smape"]]


def friedman_nemenyi(wide: pd.DataFrame, higher_better: bool = False, alpha: float = 0.05) -> dict:
    """Friedman test and Nemenyi post-hoc test on a blocks x models frame of scores.

    Returns ``{"ranks": mean ranks (1 = best), "statistic", "pvalue", "pvalues": Nemenyi p-value matrix,
    "cd": critical difference, "n_blocks"}``; rows with a missing model are dropped.
    """
    import scikit_posthocs as sp
    from scipy import stats

    w = wide.dropna()
    k, n = w.shape[1], w.shape[0]
    ranks = w.rank(axis=1, ascending=not higher_better).mean().sort_values()
    stat, p = stats.friedmanchisquare(*[w[c].to_numpy() for c in w.columns])
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    pv = sp.posthoc_nemenyi_friedman(-w.to_numpy() if higher_better else w.to_numpy())
    pv.index = pv.columns = list(w.columns)
    return {"ranks": ranks, "statistic": float(stat), "pvalue": float(p), "pvalues": pv,
            "cd": float(q * np.sqrt(k * (k + 1) / (6 * n))), "n_blocks": n}


# ------------------------------------------------------------------------------------------------ sections
def _section(id_, title, *, notes=(), tables=(), figures=(), details=(), empty=None) -> dict:
    return {"id": id_, "title": title, "notes": list(notes), "tables": list(tables), "figures": list(figures),
            "details": list(details), "empty": empty}


def _rank_section(scores, metric, block, higher_better, alpha, dpi):
    import matplotlib.pyplot as plt

    sc = scores[scores["metric"] == metric] if len(scores) else scores
    if not len(sc):
        return [], [f"No scores on {metric}: nothing to rank."]
    wide = sc.pivot_table(index=block, columns="model", values="value", aggfunc="mean").dropna()
    if wide.shape[1] < 2 or len(wide) < 2:
        return [], [f"Ranks need at least 2 models and 2 series-windows scored on {metric} "
                    f"(have {wide.shape[1]} and {len(wide)})."]
    ranks = wide.rank(axis=1, ascending=not higher_better).mean().sort_values()
    if wide.shape[1] >= 3:
        fn = friedman_nemenyi(wide, higher_better, alpha)
        fig, ax = plt.subplots(figsize=(9, 0.35 * len(ranks) + 1.6))
        import scikit_posthocs as sp

        sp.critical_difference_diagram(fn["ranks"], fn["pvalues"], alpha=alpha, ax=ax, cd=fn["cd"])
        ax.set_title(f"Mean rank on {metric} over {fn['n_blocks']} blocks (bars: no significant difference, "
                     f"Nemenyi \u03b1={alpha:g})", fontsize="small")
        fig.tight_layout()
        note = (f"Friedman \u03c7\u00b2 = {fn['statistic']:.3f}, p = {fn['pvalue']:.3g} over {fn['n_blocks']} "
                f"blocks and {wide.shape[1]} models; critical difference {fn['cd']:.3f} at \u03b1 = {alpha:g}.")
    else:
        fig, ax = plt.subplots(figsize=(7, 1.8))
        ax.barh(list(ranks.index), ranks.to_numpy(), color="tab:blue")
        ax.set_xlabel(f"mean rank on {metric} (1 = best)")
        fig.tight_layout()
        note = "Two models: mean ranks only (the Friedman test needs three or more)."
    return [_figure(fig, dpi, "critical difference diagram")], [note]


def _horizon_figure(hz: pd.DataFrame, models):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for m in models:
        g = hz[hz["model"] == m]
        for ax, col in zip(axes, ("mae", "smape")):
            ax.plot(g["step"], g[col], marker="o", ms=3, label=m)
    for ax, col in zip(axes, ("MAE", "sMAPE")):
        ax.set_xlabel("forecast step")
        ax.set_ylabel(col)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def _timing_frame(timings: pd.DataFrame) -> pd.DataFrame:
    if timings is None or not len(timings):
        return pd.DataFrame()
    g = timings.groupby("model", sort=False)
    return pd.DataFrame({"fit_s": g["fit_s"].sum(), "predict_s": g["predict_s"].sum(), "tasks": g.size(),
                         "mean_fit_s": g["fit_s"].mean(), "mean_predict_s": g["predict_s"].mean()})


def _timings_section(timings, dpi) -> dict:
    import matplotlib.pyplot as plt

    t = _timing_frame(timings)
    if not len(t):
        return _section("timings", "Timings", empty="No timings recorded.")
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(t) + 1.4))
    names = list(t.index.astype(str))
    ax.barh(names, t["fit_s"], color="tab:blue", label="fit")
    ax.barh(names, t["predict_s"], left=t["fit_s"], color="tab:orange", label="predict")
    ax.set_xlabel("seconds (total over tasks)")
    ax.invert_yaxis()
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _section("timings", "Timings", notes=["Wall-clock seconds of fit and predict per model, summed over "
                                                 "tasks (a task is a window of one series or of a chunk)."],
                    tables=[_frame_table(t, None, "model", mark_best=[c for c in t.columns if c.endswith("_s")])],
                    figures=[_figure(fig, dpi, "fit and predict time per model")])


def _failures_section(errors) -> dict:
    if errors is None or not len(errors):
        return _section("failures", "Failures", empty="No failures.")
    shown = errors.drop(columns=[c for c in ("traceback",) if c in errors.columns])
    details = [{"summary": f"{r.get('model')} / {r.get('unique_id')} / {r.get('cutoff', '')}: traceback",
                "text": r["traceback"]} for _, r in errors.iterrows() if "traceback" in errors.columns
               and isinstance(r["traceback"], str) and r["traceback"]][:20]
    table = _frame_table(shown.reset_index(drop=True), None, None, mark_best=False)
    table["id"] = "failures-table"
    return _section("failures", "Failures", notes=[f"{len(errors)} failure(s)."], tables=[table], details=details)


# ------------------------------------------------------------------------------------------------ tables
def _cell(text, value=None, best=False, column=None) -> dict:
    return {"text": text, "value": value, "best": best, "column": column}


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "\u2013"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


def _value(v):
    """Exact value for ``data-value`` (the browser test reads it back)."""
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return None


def _best_mask(col: pd.Series, name: str, higher_better: bool) -> np.ndarray:
    x = pd.to_numeric(col, errors="coerce").to_numpy(float)
    if not np.isfinite(x).any():
        return np.zeros(len(x), bool)
    if name.startswith("coverage-"):
        try:
            target = float(name.split("-", 1)[1]) / 100
        except ValueError:
            return np.zeros(len(x), bool)
        d = np.abs(x - target)
        return np.isclose(d, np.nanmin(d), rtol=0, atol=1e-12)
    lower = name in _LOWER or name.endswith("_s") or not higher_better
    best = np.nanmin(x) if lower else np.nanmax(x)
    return np.isclose(x, best, rtol=1e-12, atol=0)


def _leaderboard_table(lb: pd.DataFrame, higher_better: bool) -> dict:
    cols = [str(c) for c in lb.columns]
    masks = {c: _best_mask(lb[c], c, higher_better) for c in lb.columns}
    rows = []
    for i, (model, r) in enumerate(lb.iterrows()):
        rows.append([_cell(str(i + 1), str(i + 1)), _cell(str(model), None, False, "model")]
                    + [_cell(_fmt(v), _value(v), bool(masks[c][i]), str(c)) for c, v in r.items()])
    return {"id": "leaderboard", "cls": "leaderboard", "columns": ["#", "model", *cols], "rows": rows,
            "n_label": 2, "title": None}


def _frame_table(df: pd.DataFrame, title, index_name, mark_best=True, by_row: bool = False) -> dict:
    """A table dict of ``df``; ``mark_best``: True (every column), False, or the columns to mark (lowest wins);
    ``by_row``: mark the lowest value of each row instead."""
    marked = list(df.columns) if mark_best is True else list(mark_best or [])
    masks = {c: _best_mask(df[c], str(c), False) if c in marked and not by_row else np.zeros(len(df), bool)
             for c in df.columns}
    rows = []
    for i, (idx, r) in enumerate(df.iterrows()):
        head = [_cell(_fmt(idx))] if index_name is not None else []
        row_best = _best_mask(r, "row", False) if by_row else None
        rows.append(head + [_cell(_fmt(v), _value(v), bool(row_best[j] if by_row else masks[c][i]), str(c))
                            for j, (c, v) in enumerate(r.items())])
    columns = ([index_name] if index_name is not None else []) + [str(c) for c in df.columns]
    return {"id": None, "cls": None, "columns": columns, "rows": rows, "n_label": int(index_name is not None),
            "title": title}


def _kv_table(groups: dict) -> dict:
    rows = []
    for group, kv in groups.items():
        for k, v in kv.items():
            rows.append([_cell(f"{group}: {k}"), _cell(str(v))])
    return {"id": "meta", "cls": "kv", "columns": ["item", "value"], "rows": rows, "n_label": 2, "title": None}


def _md_table(t: dict, digits: int) -> list[str]:
    def txt(c):
        v = c["value"]
        s = c["text"] if v is None or "." not in v and "e" not in v else f"{float(v):.{digits}g}"
        return f"**{s}**" if c["best"] else s

    return ["| " + " | ".join(t["columns"]) + " |", "|" + "---|" * len(t["columns"]),
            *["| " + " | ".join(txt(c) for c in row) + " |" for row in t["rows"]]]


# ------------------------------------------------------------------------------------------------ metadata
def _environment() -> dict:
    env = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
    for name in ("tsrnn", *_PACKAGES):
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    if "torch" in sys.modules:
        env["torch threads"] = sys.modules["torch"].get_num_threads()
    return env


def _backtest_meta(result) -> dict:
    meta = dict(result.meta)
    data = {k: meta.pop(k) for k in ("n_series", "h", "season_length", "freq") if k in meta}
    fc = result.forecasts
    if len(fc):
        data["cutoffs"] = f"{fc['cutoff'].min()} .. {fc['cutoff'].max()}"
        data["series (first)"] = ", ".join(map(str, pd.unique(fc["unique_id"])[:5]))
    models = {"models": ", ".join(result.models), "metrics": ", ".join(result.metrics)}
    params = meta.pop("model_params", None)  # {name: get_params(deep=False)} when the engine records it
    if isinstance(params, dict):
        models.update({f"{m} params": _short(p) for m, p in params.items()})
        models.update(_seeds(params))
    return {"data": data, "settings": meta, "models": models, "environment": _environment(),
            "report": {"created": _now()}}


def _seeds(params) -> dict:
    if not isinstance(params, dict):
        return {}
    return {f"{m} random_state": p.get("random_state") for m, p in params.items()
            if isinstance(p, dict) and "random_state" in p}


def _short(params, limit: int = 300) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in params.items()) if isinstance(params, dict) else str(params)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _detector_meta(result) -> dict:
    det = result.detections
    data = {"n_series": det["unique_id"].nunique(), "n_rows": int((det["model"] == result.models[0]).sum()),
            "labelled rows": int(det.loc[det["model"] == result.models[0], "label"].sum())}
    settings = {"train_fraction": getattr(result, "train_fraction", None), **dict(getattr(result, "meta", {}) or {})}
    return {"data": data, "settings": settings,
            "models": {"detectors": ", ".join(result.models), "metrics": ", ".join(result.metrics)},
            "environment": _environment(), "report": {"created": _now()}}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# ------------------------------------------------------------------------------------------------ helpers
def _is_detector(result) -> bool:
    return hasattr(result, "detections") and not hasattr(result, "forecasts")


def _default_metric(scores: pd.DataFrame):
    names = list(pd.unique(scores["metric"])) if len(scores) else []
    return next((m for m in ("smape", "mase", "mae") if m in names), names[0] if names else None)


def _sample(uids, n: int) -> list:
    uids = list(uids)
    if len(uids) <= n:
        return uids
    return [uids[i] for i in np.unique(np.linspace(0, len(uids) - 1, n).round().astype(int))]


def _plot_backtest(result, uid, max_windows, models):
    from .plots import plot_backtest

    return plot_backtest(result, uid, max_windows=max_windows, models=models)


def _plot_anomalies(result, uid):
    from .plots import plot_anomalies

    return plot_anomalies(result, unique_id=uid)


def _figure(fig, dpi: int, alt: str, title: str | None = None, caption: str | None = None) -> dict:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")  # keeps legends drawn outside the axes
    plt.close(fig)
    png = buf.getvalue()
    w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # the IHDR chunk
    return {"png": base64.b64encode(png).decode("ascii"), "alt": alt, "title": title,
            "caption": caption, "width": w, "height": h}


def _write(path, title: str, subtitle: str, sections: list) -> Path:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("tsrnn.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    try:
        from importlib.metadata import version

        tsrnn_version = version("tsrnn")
    except Exception:  # noqa: BLE001 - an uninstalled checkout still renders
        tsrnn_version = "dev"
    page = env.get_template("report.html").render(title=title, subtitle=subtitle, sections=sections,
                                                  version=tsrnn_version, created=_now())
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        path = path / "report.html"  # a folder was given
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
