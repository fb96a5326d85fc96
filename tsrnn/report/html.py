r"""One self-contained HTML report of everything a run produced (layer 4), and its Markdown version.

:func:`render_report` writes one static page (Jinja2 template ``templates/report.html``, every image a base64
PNG, no script and no outside resource, so it opens offline) for a reader, in this order:

1. **Summary**: per task, the best model on each metric and whether the models differ significantly (Friedman
   test, then Nemenyi's post-hoc test: two models differ when their mean ranks differ by more than
   :math:`CD = q_\alpha \sqrt{k (k + 1) / (6 N)}`, Demšar 2006; :math:`k` models, :math:`N` blocks).
2. **Forecasting** (a :class:`~tsrnn.backtest.BacktestResult`): the leaderboard; forecasts with their intervals of
   the best and the worst series for the best model; the interval section (coverage against the nominal level as
   a reliability plot, MSIS and other interval scores when present, the share of negative forecasts when the
   actuals are never negative); the error by horizon; the ranks diagram; timings.
3. **Detectors** (:func:`tsrnn.anomaly.evaluate_detectors` results): leaderboard, series with the labelled
   windows and every detector's alarms, ranks, timings.
4. **Classifiers** (anything with ``scores`` and ``confusion``, e.g. the ECG suite's result): scores per task
   and the confusion matrices.
5. **Failures** of every task, then the **run settings and environment**, collapsed.

The leaderboard's ``rank`` column, its caption and the ranks diagram all use one metric, the leaderboard's sort
metric: every model is ranked within each block (a series and window of a backtest, a series of a detector run)
and the ranks averaged; coverage is ranked by its distance to the nominal level, OWA on each block's own
sMAPE and MASE relative to Naive2's. :func:`render_backtest` and :func:`render_detectors` write the report of one
result; :func:`render_markdown` gives the text version for logs.
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

from .._tables import markdown_table
from ..metrics import as_loss

__all__ = ["render_html", "render_report", "render_backtest", "render_detectors", "render_markdown",
           "block_losses", "friedman_nemenyi", "horizon_errors"]

_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "statsmodels", "torch", "hmmlearn", "PyWavelets",
             "matplotlib", "scikit-posthocs")
_SORT_PREFERENCE = ("owa", "mase", "smape", "mae")  # BacktestResult.leaderboard's default order (older results)


# ------------------------------------------------------------------------------------------------ public API
def render_html(result, path, **kwargs) -> Path:
    """Write the HTML report of a backtest or a detector evaluation (dispatches on the result's kind)."""
    if _is_detector(result):
        return render_detectors(result, path, **kwargs)
    return render_backtest(result, path, **kwargs)


def render_report(path, *, forecasts=None, detectors=None, classifiers=None, title: str = "tsrnn report",
                  settings: dict | None = None, metric: str | None = None, n_models: int = 3,
                  max_windows: int = 3, n_series: int = 4, alpha: float = 0.05, dpi: int = 80) -> Path:
    """Write one HTML report of every task a run holds.

    Parameters
    ----------
    path : str or Path
        The file to write (its folder is created; a folder gets ``report.html`` inside).
    forecasts : BacktestResult, optional
    detectors : DetectorResult or dict ``{dataset: DetectorResult}``, optional
    classifiers : optional
        An object with ``scores`` (one row per task and model: ``task, model`` and metric columns) and
        ``confusion`` (``{(task, model): DataFrame}``, rows true, columns predicted), as the ECG suite returns.
    settings : dict, optional
        Run settings shown (collapsed) at the end, e.g. the suite's name, description and wall time.
    metric : str, optional
        Sort and rank metric of the forecasting leaderboard (default: the leaderboard's own).
    n_models : int, default 3
        Models drawn in the forecast plots: the first ``n_models`` of the leaderboard.
    max_windows : int, default 3
        Last backtest windows drawn per series.
    n_series : int, default 4
        Series drawn per detector dataset (those with labelled anomalies first).
    alpha : float, default 0.05
        Significance level of the Friedman / Nemenyi tests.
    dpi : int, default 80
        Resolution of the embedded PNG images.

    Returns
    -------
    Path
        The file written.
    """
    if isinstance(detectors, dict) and not detectors:
        detectors = None
    det = {"detectors": detectors} if detectors is not None and not isinstance(detectors, dict) else detectors
    parts, summary, errors, meta = [], [], [], {}
    opts = dict(alpha=alpha, dpi=dpi)
    if forecasts is not None:
        part, line = _forecast_part(forecasts, metric, n_models, max_windows, lb_id="leaderboard", **opts)
        parts.append(part)
        summary.append(line)
        errors.append(("forecasting", getattr(forecasts, "errors", None)))
        meta.update(_backtest_meta(forecasts))
    for k, (name, res) in enumerate((det or {}).items()):
        key = "detectors" if len(det) == 1 else f"detectors-{name}"
        lb_id = "leaderboard" if forecasts is None and k == 0 else f"leaderboard-{key}"
        part, line = _detector_part(res, key, name if len(det) > 1 else None, lb_id, n_series, **opts)
        parts.append(part)
        summary.append(line)
        errors.append((key, getattr(res, "errors", None)))
        meta.update({f"{key} {g}": kv for g, kv in _detector_meta(res).items() if g in ("data", "settings", "models")})
    if classifiers is not None:
        part, line = _classifier_part(classifiers, dpi)
        parts.append(part)
        summary.append(line)
    parts.insert(0, _part("summary", "Summary", [_section(None, None, bullets=summary)]))
    parts.append(_part("failures", "Failures", [_failures_section(errors)]))
    meta = {"suite": dict(settings or {}), **meta, "environment": _environment(), "report": {"created": _now()}}
    parts.append(_part("run", "Run settings and environment", [_section(None, None, tables=[_kv_table(meta)])],
                       collapsed=True))
    return _write(path, title, _subtitle(forecasts, det, classifiers), parts)


def render_backtest(result, path, *, title: str = "tsrnn backtest report", metric: str | None = None,
                    n_models: int = 3, max_windows: int = 3, alpha: float = 0.05, dpi: int = 80) -> Path:
    """Write the HTML report of one :class:`~tsrnn.backtest.BacktestResult` (see :func:`render_report`)."""
    return render_report(path, forecasts=result, title=title, metric=metric, n_models=n_models,
                         max_windows=max_windows, alpha=alpha, dpi=dpi)


def render_detectors(result, path, *, title: str = "tsrnn anomaly detection report", n_series: int = 4,
                     alpha: float = 0.05, dpi: int = 80) -> Path:
    """Write the HTML report of an :func:`~tsrnn.anomaly.evaluate_detectors` result (see :func:`render_report`);
    ``n_series`` series are drawn, those with labelled anomalies first."""
    return render_report(path, detectors=result, title=title, n_series=n_series, alpha=alpha, dpi=dpi)


def render_markdown(result, metric: str | None = None, digits: int = 4) -> str:
    """The report as Markdown for logs: metadata, leaderboard (best in bold), error by horizon, timings, failures."""
    detector = _is_detector(result)
    lb = result.leaderboard(metric)
    meta = _detector_meta(result) if detector else _backtest_meta(result)
    lines = ["# " + ("tsrnn anomaly detection report" if detector else "tsrnn backtest report"), ""]
    for group, kv in meta.items():
        lines.append(f"**{group}**: " + ", ".join(f"{k}={v}" for k, v in kv.items()))
    lines += ["", "## Leaderboard", "", *_md_table(_leaderboard_table(lb), digits)]
    if not detector:
        hz = horizon_errors(result.forecasts, result.models)
        if len(hz):
            t = _frame_table(hz.pivot(index="step", columns="model", values="smape").reindex(columns=result.models),
                             None, "step", by_row="smape")
            lines += ["", "## sMAPE by horizon", "", *_md_table(t, digits)]
    timings = _timing_frame(result.timings)
    if len(timings):
        lines += ["", "## Timings (seconds)", "",
                  *_md_table(_frame_table(timings, None, "model", [c for c in timings.columns if c.endswith("_s")]),
                             digits)]
    lines += ["", "## Failures", "", *_md_failures(getattr(result, "errors", None))]
    return "\n".join(lines) + "\n"


def _md_failures(errors) -> list[str]:
    if errors is None or not len(errors):
        return ["none"]
    out = []
    for _, e in errors.iterrows():
        msg = str(e.get("message", "")).splitlines()[0] if e.get("message") else ""
        out.append(f"- {e.get('model')} / {e.get('unique_id')} / {e.get('cutoff', '')}: {e.get('error', '')}: {msg}")
    return out


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


def block_losses(scores: pd.DataFrame, metric: str, block, reference: str | None = "Naive2") -> pd.DataFrame:
    """Blocks x models frame of ``metric`` turned lower-is-better (:func:`tsrnn.metrics.as_loss`): what the ranks
    are computed on.

    ``coverage-<level>`` becomes the distance to the nominal level ``|coverage - level / 100|``; ``owa`` is computed
    per block, ``(sMAPE / sMAPE_ref + MASE / MASE_ref) / 2`` against the ``reference`` model of the same block (M4's
    definition); a higher-is-better metric is negated. Blocks where a model has no score are dropped.
    """
    def wide(name):
        sc = scores[scores["metric"] == name]
        return sc.pivot_table(index=list(block), columns="model", values="value", aggfunc="mean", sort=False)

    if metric == "owa":
        sm, ms = wide("smape"), wide("mase")
        if reference not in sm.columns or reference not in ms.columns:
            return pd.DataFrame()
        w = (sm.div(sm[reference], axis=0) + ms.div(ms[reference], axis=0)) / 2
    else:
        w = wide(metric)
        w = pd.DataFrame(as_loss(metric, w.to_numpy()), index=w.index, columns=w.columns)
    w = w.replace([np.inf, -np.inf], np.nan).dropna()
    w.columns.name = None
    return w


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


# ------------------------------------------------------------------------------------------------ parts
def _part(id_, title, sections, collapsed: bool = False) -> dict:
    return {"id": id_, "title": title, "sections": sections, "collapsed": collapsed}


def _section(id_, title, *, notes=(), tables=(), figures=(), details=(), bullets=(), empty=None) -> dict:
    return {"id": id_, "title": title, "notes": list(notes), "tables": list(tables), "figures": list(figures),
            "details": list(details), "bullets": list(bullets), "empty": empty}


def _sort_metric(lb: pd.DataFrame, metric: str | None) -> str | None:
    """The metric the leaderboard is sorted and ranked by (its ``attrs["sort_metric"]``)."""
    if metric is not None:
        return metric
    if lb.attrs.get("sort_metric"):
        return lb.attrs["sort_metric"]
    return next((m for m in _SORT_PREFERENCE if m in lb.columns), next(iter(lb.columns), None))


def _ranked_leaderboard(result, metric, block):
    """``(leaderboard, its sort metric, blocks x models losses on it)``: the diagram's ranks are the mean ranks of
    the losses, which is what the leaderboard's ``rank`` column holds (the tests check both against the scores)."""
    lb = result.leaderboard(metric)
    rank_metric = _sort_metric(lb, metric)
    if not len(result.scores) or rank_metric is None:
        return lb, rank_metric, pd.DataFrame()
    ref = (getattr(result, "meta", None) or {}).get("benchmark", "Naive2")
    return lb, rank_metric, block_losses(result.scores, rank_metric, block, reference=ref)


def _best_line(lb: pd.DataFrame, columns) -> str:
    parts = []
    for c in columns:
        mask = _best_mask(lb[c], str(c))
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            parts.append(f"{c}: {lb.index[i]} ({_fmt(lb[c].iloc[i])})")
    return "; ".join(parts)


def _significance(losses: pd.DataFrame, metric: str, alpha: float) -> tuple[str, dict | None]:
    """A sentence on whether the models differ on ``metric``, and the Friedman / Nemenyi figures."""
    if losses.shape[1] < 3 or len(losses) < 2:
        return (f"Too few models or blocks to test the differences on {metric} (have {losses.shape[1]} models, "
                f"{len(losses)} blocks; the Friedman test needs 3 and 2)."), None
    fn = friedman_nemenyi(losses, False, alpha)
    best = fn["ranks"].index[0]
    tied = [m for m, r in fn["ranks"].items() if m != best and r - fn["ranks"].iloc[0] <= fn["cd"]]
    if fn["pvalue"] >= alpha:
        text = (f"The differences on {metric} are not significant (Friedman p = {fn['pvalue']:.3g} \u2265 "
                f"{alpha:g}, {fn['n_blocks']} blocks).")
    else:
        beaten = [m for m in fn["ranks"].index if m != best and m not in tied]
        if not tied:
            verdict = "significantly better than every other model."
        elif len(tied) <= len(beaten):
            verdict = f"not significantly better than {', '.join(map(str, tied))}."
        else:
            verdict = (f"significantly better only than {', '.join(map(str, beaten))}; the {len(tied)} other models "
                       "are within the critical difference.")
        text = (f"The differences on {metric} are significant (Friedman p = {fn['pvalue']:.3g}, {fn['n_blocks']} "
                f"blocks); by Nemenyi's test (CD = {fn['cd']:.2f} ranks) {best} is {verdict}")
    return text, fn


def _rank_section(losses, metric, alpha, dpi, id_) -> dict:
    from .plots import plot_ranks

    if losses.shape[1] < 2 or len(losses) < 2:
        return _section(id_, "Ranks", empty=f"Ranks need at least 2 models and 2 blocks scored on {metric} "
                                            f"(have {losses.shape[1]} and {len(losses)}).")
    text, fn = _significance(losses, metric, alpha)
    ranks = fn["ranks"] if fn else losses.rank(axis=1).mean().sort_values()
    fig = plot_ranks(ranks, fn["cd"] if fn else None, metric=metric, n_blocks=len(losses))
    note = (f"Mean rank of each model on {metric} within each block (1 = best): the leaderboard's rank column; "
            f"blue: within the critical difference of the best (not significantly worse, Nemenyi \u03b1 = "
            f"{alpha:g}). ") + text
    if fn:
        note += f" Friedman \u03c7\u00b2 = {fn['statistic']:.3f}."
    table = _frame_table(ranks.to_frame(f"mean rank on {metric}"), None, "model", mark_best=False)
    table["id"] = f"{id_}-table"
    return _section(id_, "Ranks", notes=[note], figures=[_figure(fig, dpi, "critical difference diagram")],
                    details=[{"summary": "Mean ranks as a table", "table": table}])


def _forecast_part(result, metric, n_models, max_windows, lb_id, alpha, dpi):
    lb, rank_metric, losses = _ranked_leaderboard(result, metric, ("unique_id", "cutoff"))
    sig, _ = _significance(losses, rank_metric, alpha)
    metric_cols = [c for c in lb.columns if c in result.metrics or str(c).startswith(("coverage-", "msis", "crps"))
                   or c == "owa"]
    line = {"title": "Forecasting", "href": "#forecasting",
            "text": f"{_backtest_subtitle(result)}. Best per metric: {_best_line(lb, metric_cols)}. {sig}"}
    board = _section(lb_id, "Leaderboard", notes=[
        f"Mean of each metric over series and windows, sorted by {rank_metric}; rank = mean rank on {rank_metric} "
        "within each series and window (1 = best); the best of each column is marked \u2605 (coverage: closest "
        "to its nominal level)."], tables=[_leaderboard_table(lb, id_=lb_id)])
    sections = [board, _forecasts_section(result, lb, losses, n_models, max_windows, dpi),
                _interval_section(result, dpi)]
    hz = horizon_errors(result.forecasts, result.models)
    if len(hz):
        sections.append(_section("horizon", "Error by horizon", notes=[
            "MAE and sMAPE of each forecast step, averaged over series and windows."],
            tables=[_frame_table(hz.pivot(index="step", columns="model", values="smape").reindex(columns=result.models),
                                 "sMAPE by step (best model of each step marked)", "step", by_row="smape")],
            figures=[_figure(_horizon_figure(hz, result.models), dpi, "error by horizon")]))
    sections.append(_rank_section(losses, rank_metric, alpha, dpi, "ranks"))
    sections.append(_timings_section(result.timings, dpi, "timings"))
    return _part("forecasting", "Forecasting", sections), line


def _forecasts_section(result, lb, losses, n_models, max_windows, dpi) -> dict:
    shown = [m for m in lb.index if m in result.forecasts.columns][:n_models]
    if not shown:
        return _section("forecasts", "Forecasts", empty="No forecasts to draw.")
    best = shown[0]
    if best in losses.columns and len(losses):
        per = losses[best].groupby(level="unique_id", sort=False).mean()
        picks = [("best", per.idxmin()), ("worst", per.idxmax())]
    else:
        picks = [("first", result.forecasts["unique_id"].iloc[0])]
    picks = [p for i, p in enumerate(picks) if p[1] not in {q[1] for q in picks[:i]}]
    levels = sorted({c.rsplit("-", 1)[1] for c in result.forecasts.columns if f"{best}-lo-" in str(c)}, key=float)
    figs = [_figure(_plot_backtest(result, uid, max_windows, shown), dpi, f"forecasts of {uid}",
                    title=f"{what.capitalize()} series for {best}: {uid}") for what, uid in picks]
    return _section("forecasts", "Forecasts", notes=[
        f"The series where {best} (first of the leaderboard) does best and worst on the rank metric, with the "
        f"{len(shown)} best models ({', '.join(map(str, shown))}) over the last {max_windows} window(s); shaded "
        f"bands are the prediction intervals ({', '.join(levels) + ' %' if levels else 'none requested'})."],
        figures=figs)


def _interval_section(result, dpi) -> dict:
    from .plots import plot_reliability

    sc = result.scores
    names = list(pd.unique(sc["metric"])) if len(sc) else []
    cov_names = sorted((m for m in names if m.startswith("coverage-")), key=lambda m: float(m.split("-", 1)[1]))
    if not cov_names:
        return _section("intervals", "Prediction intervals",
                        empty="No intervals scored (run the backtest with level=[...] to get coverage).")
    mean = sc.pivot_table(index="model", columns="metric", values="value", aggfunc="mean").reindex(result.models)
    cov = mean[cov_names].rename(columns=lambda m: m.split("-", 1)[1]).dropna(how="all")
    tables = [_frame_table(mean[cov_names].loc[cov.index], "Coverage per model and level (best: closest to the "
                                                           "nominal)", "model")]
    notes = ["Share of actuals inside each model's interval, against the nominal level (on the diagonal: "
             "calibrated; below it: intervals too narrow)."]
    scored = [m for m in names if m.startswith(("msis", "crps", "pinball"))]
    if scored:
        tables.append(_frame_table(mean[scored], "Interval scores (lower is better)", "model"))
    if not any(m.startswith("msis") for m in scored):
        notes.append("MSIS is not in this run's scores (add \"msis\" to the backtest's metrics where "
                     "tsrnn.metrics provides it): skipped.")
    neg = _negative_share(result)
    if neg is not None:
        tables.append(_frame_table(neg, "Share of negative forecasts (the actuals are never negative)", "model"))
    return _section("intervals", "Prediction intervals", notes=notes, tables=tables,
                    figures=[_figure(plot_reliability(cov), dpi, "coverage reliability plot")])


def _negative_share(result) -> pd.DataFrame | None:
    """Share of point forecasts and of lower bounds below zero per model, when no actual is negative."""
    fc = result.forecasts
    if not len(fc) or (fc["y"].to_numpy(float) < 0).any():
        return None
    rows = {}
    for m in result.models:
        if m not in fc.columns:
            continue
        row = {"point": float((fc[m].to_numpy(float) < 0).mean())}
        for c in (c for c in fc.columns if str(c).startswith(f"{m}-lo-")):
            row[f"lower {c.rsplit('-', 1)[1]} %"] = float((fc[c].to_numpy(float) < 0).mean())
        rows[m] = row
    return pd.DataFrame(rows).T


def _detector_part(result, key, dataset, lb_id, n_series, alpha, dpi):
    lb, rank_metric, losses = _ranked_leaderboard(result, None, ("unique_id",))
    sig, _ = _significance(losses, rank_metric, alpha)
    title = "Detectors" + (f": {dataset}" if dataset else "")
    metric_cols = [c for c in lb.columns if c in result.metrics and (c == rank_metric or "f1" in c or "auc" in c)]
    line = {"title": title, "href": f"#{key}", "text": f"{len(result.models)} detectors on "
            f"{result.detections['unique_id'].nunique()} series. Best per metric: "
            f"{_best_line(lb, metric_cols)}. {sig}"}
    board = _section(lb_id, "Leaderboard", notes=[
        "NAB scores are normalised over all series (null detector 0, perfect 100); precision and recall pool all "
        f"series; rank = mean rank on {rank_metric} over series (1 = best). Best of each column \u2605."],
        tables=[_leaderboard_table(lb, id_=lb_id)])
    det = result.detections
    first = det[det["model"] == result.models[0]]
    has_label = first.groupby("unique_id", sort=False)["label"].max()
    uids = (list(has_label[has_label > 0].index) + list(has_label[has_label == 0].index))[:n_series]
    series = _section(f"{key}-series", "Series and alarms", notes=[
        "Orange: labelled anomaly windows; markers: each detector's alarms (count in the legend); lower panel: "
        "the scores (min-max scaled when several detectors are drawn)."],
        figures=[_figure(_plot_anomalies(result, u), dpi, f"detections on {u}") for u in uids])
    sections = [board, series, _rank_section(losses, rank_metric, alpha, dpi, f"{key}-ranks"),
                _timings_section(result.timings, dpi, f"{key}-timings")]
    return _part(key, title, sections), line


def _classifier_part(result, dpi):
    from .plots import plot_confusion

    lb = result.leaderboard() if hasattr(result, "leaderboard") else result.scores
    sections, best = [], []
    for task in pd.unique(lb["task"]):
        part = lb[lb["task"] == task].drop(columns="task").set_index("model").dropna(axis=1, how="all")
        cms = [(m, cm) for (t, m), cm in result.confusion.items() if t == task]
        fig = None
        if cms:
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, len(cms), figsize=(3.4 * len(cms), 3.2), squeeze=False)
            for ax, (m, cm) in zip(axes[0], cms):
                plot_confusion(cm, ax=ax, title=str(m))
            fig.tight_layout()
        score_cols = [c for c in part.columns if c not in ("n_test", "n_train")]
        sections.append(_section(f"classifiers-{task}", f"Task {task}", notes=[
            "Held-out scores (best of each column \u2605); confusion matrices: rows true, columns predicted, colour "
            "the row-normalised recall."],
            tables=[_frame_table(part, None, "model", mark_best=score_cols)],
            figures=[_figure(fig, dpi, f"confusion matrices of {task}")] if fig is not None else []))
        key = "macro_f1" if "macro_f1" in part.columns else score_cols[0]
        best.append(f"{task}: {part[key].idxmax()} ({key} {_fmt(part[key].max())})")
    line = {"title": "Classifiers", "href": "#classifiers", "text": "Best on held-out data: " + "; ".join(best) + "."}
    return _part("classifiers", "Classifiers", sections), line


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


def _timings_section(timings, dpi, id_) -> dict:
    import matplotlib.pyplot as plt

    t = _timing_frame(timings)
    if not len(t):
        return _section(id_, "Timings", empty="No timings recorded.")
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(t) + 1.4))
    names = list(t.index.astype(str))
    ax.barh(names, t["fit_s"], color="tab:blue", label="fit")
    ax.barh(names, t["predict_s"], left=t["fit_s"], color="tab:orange", label="predict")
    ax.set_xlabel("seconds (total over tasks)")
    ax.invert_yaxis()
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _section(id_, "Timings", notes=["Wall-clock seconds of fit and predict per model, summed over tasks "
                                           "(a task is a window of one series or of a chunk)."],
                    tables=[_frame_table(t, None, "model", mark_best=[c for c in t.columns if c.endswith("_s")])],
                    figures=[_figure(fig, dpi, "fit and predict time per model")])


def _failures_section(errors) -> dict:
    """Failures of every task: ``errors`` is a list of ``(task, frame or None)``."""
    frames = [e.assign(task=task) for task, e in errors if e is not None and len(e)]
    if not frames:
        return _section("failures-list", None, empty="No failures.")
    errors = pd.concat(frames, ignore_index=True)
    errors = errors[["task", *[c for c in errors.columns if c != "task"]]]
    shown = errors.drop(columns=[c for c in ("traceback",) if c in errors.columns])
    details = [{"summary": f"{r.get('model')} / {r.get('unique_id')} / {r.get('cutoff', '')}: traceback",
                "text": r["traceback"]} for _, r in errors.iterrows() if "traceback" in errors.columns
               and isinstance(r["traceback"], str) and r["traceback"]][:20]
    table = _frame_table(shown.reset_index(drop=True), None, None, mark_best=False)
    table["id"] = "failures-table"
    return _section("failures-list", None, notes=[f"{len(errors)} failure(s)."], tables=[table], details=details)


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


def _best_mask(col: pd.Series, name: str) -> np.ndarray:
    """Where ``col`` holds the best value of metric ``name`` (lowest loss; coverage: closest to its level)."""
    x = pd.to_numeric(col, errors="coerce").to_numpy(float)
    if not np.isfinite(x).any():
        return np.zeros(len(x), bool)
    try:
        loss = as_loss(name, x)
    except ValueError:  # e.g. a coverage column whose level is not a number
        return np.zeros(len(x), bool)
    return np.isclose(loss, np.nanmin(loss), rtol=1e-12, atol=1e-12)


def _leaderboard_table(lb: pd.DataFrame, id_: str = "leaderboard") -> dict:
    cols = [str(c) for c in lb.columns]
    masks = {c: _best_mask(lb[c], str(c)) for c in lb.columns}
    rows = []
    for i, (model, r) in enumerate(lb.iterrows()):
        rows.append([_cell(str(i + 1), str(i + 1)), _cell(str(model), None, False, "model")]
                    + [_cell(_fmt(v), _value(v), bool(masks[c][i]), str(c)) for c, v in r.items()])
    return {"id": id_, "cls": "leaderboard", "columns": ["#", "model", *cols], "rows": rows,
            "n_label": 2, "title": None}


def _frame_table(df: pd.DataFrame, title, index_name, mark_best=True, by_row: str | None = None) -> dict:
    """A table dict of ``df``; ``mark_best``: True (every column), False, or the columns whose best value is marked
    (by the column's name, :func:`_best_mask`); ``by_row``: a metric name, to mark the best of each row instead."""
    marked = list(df.columns) if mark_best is True else list(mark_best or [])
    masks = {c: _best_mask(df[c], str(c)) if c in marked and not by_row else np.zeros(len(df), bool)
             for c in df.columns}
    rows = []
    for i, (idx, r) in enumerate(df.iterrows()):
        head = [_cell(_fmt(idx))] if index_name is not None else []
        row_best = _best_mask(r, by_row) if by_row else None
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
    """A table dict as Markdown through the package's one writer, the best values in bold."""
    def txt(c):
        v = c["value"]
        s = c["text"] if v is None or "." not in v and "e" not in v else f"{float(v):.{digits}g}"
        return f"**{s}**" if c["best"] else s

    frame = pd.DataFrame([[txt(c) for c in row] for row in t["rows"]], columns=t["columns"])
    return markdown_table(frame, index=False).splitlines()


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


def _backtest_subtitle(result) -> str:
    return (f"{len(result.models)} models, {result.meta.get('n_series', '?')} series, h = {result.meta.get('h', '?')}, "
            f"{result.meta.get('n_windows', '?')} window(s)")


def _subtitle(forecasts, detectors, classifiers) -> str:
    parts = [f"forecasting: {_backtest_subtitle(forecasts)}"] if forecasts is not None else []
    for name, res in (detectors or {}).items():
        parts.append(f"{name}: {len(res.models)} detectors on {res.detections['unique_id'].nunique()} series")
    if classifiers is not None:
        sc = classifiers.scores
        parts.append(f"classifiers: {sc['model'].nunique()} models on {sc['task'].nunique()} task(s)")
    return "; ".join(parts)


def _write(path, title: str, subtitle: str, parts: list) -> Path:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("tsrnn.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    try:
        tsrnn_version = metadata.version("tsrnn")
    except metadata.PackageNotFoundError:  # an uninstalled checkout still renders
        tsrnn_version = "dev"
    page = env.get_template("report.html").render(title=title, subtitle=subtitle, parts=parts,
                                                  version=tsrnn_version, created=_now())
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        path = path / "report.html"  # a folder was given
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
