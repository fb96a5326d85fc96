"""Evaluate anomaly detectors on labelled series: ``evaluate_detectors`` and its result (layer 3).

Each detector is cloned for each series, fitted on the series' first rows (NAB's probationary period:
``min(floor(0.15 n), 750)`` rows by default) and then scores and flags the whole series online. The detections
are scored against the ``label`` column with the NAB score (three profiles, normalised over the corpus),
event-wise and point-wise precision / recall / F1 (pooled over the corpus) and AUC-PR (mean over series with
anomalies). The leaderboard follows the backtest's report format: one row per model, one column per metric,
``rank``, ``fit_s``, ``predict_s``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone

from . import scoring
from .scoring import probationary_length

__all__ = ["evaluate_detectors", "DetectorResult", "METRICS"]

#: Metric names understood by :func:`evaluate_detectors` (``pa_f1`` only on request: it inflates results).
METRICS = ("nab_standard", "nab_reward_low_FP", "nab_reward_low_FN", "event_precision", "event_recall",
           "event_f1", "point_precision", "point_recall", "point_f1", "auc_pr", "pa_f1")
DEFAULT_METRICS = METRICS[:-1]
_PROFILE_OF = {"nab_standard": "standard", "nab_reward_low_FP": "reward_low_FP",
               "nab_reward_low_FN": "reward_low_FN"}


def _detector_dict(detectors) -> dict:
    if isinstance(detectors, dict):
        out = dict(detectors)
    else:
        if not isinstance(detectors, (list, tuple)):
            detectors = [detectors]
        out = {}
        for d in detectors:
            name = type(d).__name__
            k, i = name, 2
            while k in out:
                k, i = f"{name}_{i}", i + 1
            out[k] = d
    if not out:
        raise ValueError("no detectors given")
    for k, d in out.items():
        if not (hasattr(d, "fit") and hasattr(d, "decision_function") and hasattr(d, "predict")):
            raise TypeError(f"detector {k!r} ({type(d).__name__}) lacks fit/decision_function/predict")
    return out


def _check_data(data) -> list[tuple]:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a long DataFrame with columns unique_id, ds, y, label; got {type(data).__name__}")
    missing = {"unique_id", "ds", "y", "label"} - set(data.columns)
    if missing:
        raise ValueError(f"data lacks the column(s) {sorted(missing)} (needs unique_id, ds, y, label)")
    out = []
    for uid, g in data.groupby("unique_id", sort=False):
        y = pd.to_numeric(g["y"], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(y).all():
            raise ValueError(f"series {uid!r}: y has missing or non-finite values")
        lab = g["label"].to_numpy()
        if not np.isin(lab, (0, 1)).all():
            raise ValueError(f"series {uid!r}: label must be 0 or 1")
        out.append((uid, g["ds"].to_numpy(), y, lab.astype(np.int8)))
    return out


def _run(name, det, uid, y, train_fraction):
    """Fit a clone on the head of ``y``, then score and flag all of ``y`` (as a RangeIndex series)."""
    n_train = max(int(probationary_length(len(y), train_fraction)), 2)
    est = clone(det)
    t0 = time.perf_counter()
    est.fit(pd.Series(y[:n_train]))
    t1 = time.perf_counter()
    score = np.asarray(est.decision_function(pd.Series(y)), dtype=float)
    flag = np.asarray(est.predict(pd.Series(y)), dtype=np.int8)
    t2 = time.perf_counter()
    return name, uid, score, flag, t1 - t0, t2 - t1


def _map(calls, n_jobs, backend, progress):
    from tqdm.auto import tqdm

    bar = tqdm(total=len(calls), desc="detectors x series", disable=not progress)
    out = []
    if backend == "dask":
        from dask.distributed import Client, as_completed, get_client

        try:
            client = get_client()
        except ValueError:
            client = Client(processes=True, n_workers=max(1, n_jobs if n_jobs and n_jobs > 0 else 1))
        for fut in as_completed([client.submit(_run, *c, pure=False) for c in calls]):
            out.append(fut.result())
            bar.update(1)
    elif (n_jobs is None or n_jobs == 1) and backend in (None, "sequential"):
        for c in calls:
            out.append(_run(*c))
            bar.update(1)
    else:
        import joblib

        gen = joblib.Parallel(n_jobs=n_jobs or 1, backend=backend or "loky", return_as="generator_unordered")(
            joblib.delayed(_run)(*c) for c in calls)
        for r in gen:
            out.append(r)
            bar.update(1)
    bar.close()
    return out


def evaluate_detectors(detectors, data: pd.DataFrame, metrics=DEFAULT_METRICS, n_jobs: int = 1,
                       progress: bool = True, backend: str | None = None, *, train_fraction: float = 0.15):
    """Run detectors over labelled series and score their alarms.

    Parameters
    ----------
    detectors : dict ``{name: detector}``, list, or one detector
    data : pd.DataFrame
        Long frame ``unique_id, ds, y, label`` (``label`` 0/1; anomaly windows are the runs of 1), each series' rows
        in time order. Stamps need not be regular or unique (NAB's are not): detectors and scores see each series
        as its sequence of rows, in the order given.
    metrics : sequence of str
        Names from :data:`METRICS`; ``"pa_f1"`` (point-adjusted F1) warns that it inflates results.
    n_jobs : int
        Parallel workers over detector x series tasks (``-1``: all cores).
    progress : bool
        Show a tqdm bar.
    backend : {None, "loky", "dask"}
        Where tasks run (``"dask"``: the open ``dask.distributed`` client, else a local one).
    train_fraction : float
        Each detector is fitted on the first ``min(floor(f n), f 5000)`` rows of each series (NAB's probationary
        period for ``f = 0.15``); those rows are not scored by NAB.

    Returns
    -------
    DetectorResult
    """
    dets = _detector_dict(detectors)
    metrics = tuple(metrics)
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metric(s) {sorted(unknown)}; choose from {METRICS}")
    series = _check_data(data)
    calls = [(name, det, uid, y, train_fraction) for name, det in dets.items() for uid, _, y, _ in series]
    runs = {(name, uid): r for name, uid, *r in _map(calls, n_jobs, backend, progress)}
    frames, timings = [], []
    for name in dets:
        for uid, ds, y, lab in series:
            score, flag, fit_s, pred_s = runs[(name, uid)]
            frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": y, "label": lab, "model": name,
                                        "score": score, "anomaly": flag}))
            timings.append({"model": name, "unique_id": uid, "fit_s": fit_s, "predict_s": pred_s})
    return DetectorResult(pd.concat(frames, ignore_index=True), pd.DataFrame(timings), metrics, list(dets),
                          train_fraction)


class DetectorResult:
    """Outcome of :func:`evaluate_detectors`.

    Attributes
    ----------
    detections : pd.DataFrame
        ``unique_id, ds, y, label, model, score, anomaly`` (raw score and 0/1 alarm per stamp and detector).
    scores : pd.DataFrame
        ``unique_id, model, metric, value``: every metric per series (NAB per series is normalised on that
        series alone; NaN where it has no window).
    timings : pd.DataFrame
        ``model, unique_id, fit_s, predict_s``.
    """

    def __init__(self, detections, timings, metrics, models, train_fraction=0.15):
        self.detections = detections
        self.timings = timings
        self.metrics = tuple(metrics)
        self.models = list(models)
        self.train_fraction = train_fraction
        self._parts = self._compute_parts()

    def _groups(self):
        for (model, uid), g in self.detections.groupby(["model", "unique_id"], sort=False):
            yield model, uid, g["label"].to_numpy(), g["anomaly"].to_numpy(), g["score"].to_numpy()

    def _compute_parts(self) -> pd.DataFrame:
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pa_f1 warns once, in leaderboard()
            for model, uid, lab, flag, score in self._groups():
                r = {"model": model, "unique_id": uid}
                for m, prof in _PROFILE_OF.items():
                    part = scoring.nab_series(lab, flag, prof, probation=self.train_fraction)
                    r.update({f"{m}:{k}": v for k, v in part.items()})
                credit, n_true, good, n_pred = scoring._event_counts(lab, flag, 0.5)
                r.update(ev_credit=credit, ev_true=n_true, ev_good=good, ev_pred=n_pred,
                         pt_tp=int(np.sum((lab == 1) & (flag == 1))), pt_pred=int(flag.sum()), pt_true=int(lab.sum()),
                         auc_pr=scoring.auc_pr(lab, score), pa_f1=scoring.point_adjusted_f1(lab, flag))
                rows.append(r)
        return pd.DataFrame(rows)

    @staticmethod
    def _values(p: pd.DataFrame) -> dict:
        """Every metric from summed parts (NAB normalised over the rows of ``p``; P/R pooled)."""
        out = {}
        for m in _PROFILE_OF:
            span = p[f"{m}:perfect"].sum() - p[f"{m}:null"].sum()
            out[m] = 100 * (p[f"{m}:raw"].sum() - p[f"{m}:null"].sum()) / span if span > 0 else np.nan
        ep = p["ev_good"].sum() / p["ev_pred"].sum() if p["ev_pred"].sum() else 0.0
        er = p["ev_credit"].sum() / p["ev_true"].sum() if p["ev_true"].sum() else 0.0
        pp = p["pt_tp"].sum() / p["pt_pred"].sum() if p["pt_pred"].sum() else 0.0
        pr = p["pt_tp"].sum() / p["pt_true"].sum() if p["pt_true"].sum() else 0.0
        out.update(event_precision=ep, event_recall=er, event_f1=scoring._f1(ep, er), point_precision=pp,
                   point_recall=pr, point_f1=scoring._f1(pp, pr), auc_pr=float(np.nanmean(p["auc_pr"]))
                   if p["auc_pr"].notna().any() else np.nan, pa_f1=float(p["pa_f1"].mean()))
        return out

    @property
    def scores(self) -> pd.DataFrame:
        rows = []
        for _, r in self._parts.iterrows():
            vals = self._values(pd.DataFrame([r]))
            rows += [{"unique_id": r["unique_id"], "model": r["model"], "metric": m, "value": vals[m]}
                     for m in self.metrics]
        return pd.DataFrame(rows, columns=["unique_id", "model", "metric", "value"])

    def leaderboard(self, metric: str | None = None) -> pd.DataFrame:
        """Models x metrics over the whole corpus, sorted by ``metric`` (default the first NAB metric).

        NAB scores are normalised over all series together (as NAB does), precision and recall pool the counts of
        all series, AUC-PR is the mean over series with anomalies. ``rank`` is the mean rank of the model over
        series on ``metric``; ``fit_s`` and ``predict_s`` are total seconds.
        """
        if "pa_f1" in self.metrics:
            warnings.warn("pa_f1 (point-adjusted F1) inflates results: compare detectors on the NAB and event-wise "
                          "columns", UserWarning, stacklevel=2)
        if metric is None:
            metric = next((m for m in self.metrics if m.startswith("nab")), self.metrics[0])
        if metric not in self.metrics:
            raise ValueError(f"unknown metric {metric!r}; this result has {list(self.metrics)}")
        table = pd.DataFrame({m: self._values(g) for m, g in self._parts.groupby("model", sort=False)}).T
        table = table.reindex(index=self.models, columns=list(self.metrics))
        table.index.name = "model"
        wide = self.scores.query("metric == @metric").pivot_table(index="unique_id", columns="model", values="value")
        table["rank"] = wide.rank(axis=1, ascending=False).mean().reindex(table.index)
        t = self.timings.groupby("model")[["fit_s", "predict_s"]].sum()
        table = table.join(t)
        return table.sort_values(metric, ascending=False)

    def to_markdown(self, metric: str | None = None, digits: int = 3) -> str:
        """The leaderboard as a Markdown table (plus the number of series and models)."""
        lb = self.leaderboard(metric).round(digits)
        head = "| model | " + " | ".join(lb.columns) + " |\n|---|" + "---|" * len(lb.columns) + "\n"
        body = "".join(f"| {i} | " + " | ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in r) + " |\n"
                       for i, r in zip(lb.index, lb.to_numpy()))
        n = self.detections["unique_id"].nunique()
        return f"{len(self.models)} detectors on {n} series\n\n" + head + body

    def __repr__(self) -> str:
        return f"DetectorResult(models={self.models}, series={self.detections['unique_id'].nunique()})"
