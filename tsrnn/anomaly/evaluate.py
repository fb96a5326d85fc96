"""Evaluate anomaly detectors on labelled series: ``evaluate_detectors`` and its result (layer 3).

Each detector is cloned for each series, fitted on the series' first rows (NAB's probationary period:
``min(floor(0.15 n), 750)`` rows by default) and then scores and flags the whole series online. The detections
are scored against the ``label`` column with the NAB score (three profiles, normalised over the corpus),
event-wise and point-wise precision / recall / F1 (pooled over the corpus) and AUC-PR (mean over series with
anomalies). The leaderboard follows the backtest's report format: one row per model, one column per metric,
``rank``, ``fit_s``, ``predict_s``.

Two evaluation procedures, side by side in the leaderboard:

* **label-free** (``nab_standard``, ``nab_reward_low_FP``, ``nab_reward_low_FN`` and the other metrics): each
  detector's own alarms (``predict``: its label-free threshold and cooldown); no label is seen;
* **NAB's** (``nab_swept_standard``, ``nab_swept_reward_low_FP``, ``nab_swept_reward_low_FN``): one threshold per
  detector and profile on its scores (``decision_function``), swept over the labels of the whole corpus to the
  best NAB score (:func:`~tsrnn.anomaly.scoring.nab_best_threshold`, no cooldown), as NAB's scoreboard was made;
  in-sample, comparable with NAB's published figures, not with the label-free ones.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone

from .._tables import markdown_table
from ..backtest.runner import (
    Task,
    TaskTimeout,
    check_on_error,
    describe_failure,
    fingerprint,
    raise_unless_recording,
    run_tasks,
    time_limit,
)
from ..metrics import as_loss
from . import scoring
from .scoring import probationary_length

__all__ = ["evaluate_detectors", "DetectorResult", "METRICS"]

#: Metric names understood by :func:`evaluate_detectors` (``pa_f1`` only on request: it inflates results).
METRICS = ("nab_standard", "nab_reward_low_FP", "nab_reward_low_FN", "event_precision", "event_recall",
           "event_f1", "point_precision", "point_recall", "point_f1", "auc_pr", "pa_f1")
DEFAULT_METRICS = METRICS[:-1]
ERROR_COLUMNS = ["model", "unique_id", "error", "message", "traceback"]
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


def _check_series(uid, g) -> tuple:
    y = pd.to_numeric(g["y"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(y).all():
        raise ValueError(f"series {uid!r}: y has missing or non-finite values")
    lab = g["label"].to_numpy()
    if not np.isin(lab, (0, 1)).all():
        raise ValueError(f"series {uid!r}: label must be 0 or 1")
    return uid, g["ds"].to_numpy(), y, lab.astype(np.int8)


def _check_data(data, isolate: bool = False) -> tuple[list[tuple], list[dict]]:
    """``(unique_id, ds, y, label)`` per series; with ``isolate`` the invalid series are set aside (with why)."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a long DataFrame with columns unique_id, ds, y, label; got {type(data).__name__}")
    missing = {"unique_id", "ds", "y", "label"} - set(data.columns)
    if missing:
        raise ValueError(f"data lacks the column(s) {sorted(missing)} (needs unique_id, ds, y, label)")
    out, invalid = [], []
    for uid, g in data.groupby("unique_id", sort=False):
        try:
            out.append(_check_series(uid, g))
        except ValueError as exc:
            if not isolate:
                raise
            invalid.append({"model": None, "unique_id": uid, "error": "ValueError", "message": str(exc),
                            "traceback": ""})
    if not out:
        raise ValueError(f"no series can be evaluated: {invalid[0]['message']} (and {len(invalid) - 1} more)")
    return out, invalid


def _detect(det, y, n_train: int, timeout, isolate: bool) -> dict:
    """One task: fit a clone of ``det`` on the head of ``y``, then score and flag all of ``y``.

    Returns ``score``, ``flag``, ``fit_s``, ``predict_s``; with ``isolate`` a failure returns its description
    (``error``, ``message``, ``traceback``) instead of raising.
    """
    try:
        with time_limit(timeout):
            est = clone(det)
            t0 = time.perf_counter()
            est.fit(pd.Series(y[:n_train]))
            t1 = time.perf_counter()
            score = np.asarray(est.decision_function(pd.Series(y)), dtype=float)
            flag = np.asarray(est.predict(pd.Series(y)), dtype=np.int8)
            t2 = time.perf_counter()
    except (Exception, TaskTimeout) as exc:  # noqa: BLE001 - recorded with its series, or re-raised
        raise_unless_recording(exc, isolate)
        return describe_failure(exc)
    return {"score": score, "flag": flag, "fit_s": t1 - t0, "predict_s": t2 - t1}


def _tasks(dets: dict, series: list, train_fraction: float, timeout, isolate: bool) -> list[tuple]:
    """``(detector name, unique_id, task)``: one task per detector and series."""
    out = []
    for name, det in dets.items():
        for uid, _, y, _ in series:
            n_train = max(int(probationary_length(len(y), train_fraction)), 2)
            out.append((name, uid, Task(f"{name}|{uid!r}", _detect, (det, y, n_train, timeout, isolate))))
    return out


def _build_result(dets, series, runs: dict, metrics, train_fraction, invalid, meta) -> DetectorResult:
    """Detections, timings and failures from the finished tasks ``runs[(name, uid)]``.

    A detector that failed on a series counts as silent there (no alarm, NaN score), as NAB counts a detector
    that reports nothing; the failure is listed in ``errors`` and counted in the leaderboard's ``n_failed``.
    """
    frames, timings, errors = [], [], list(invalid)
    for name in dets:
        for uid, ds, y, lab in series:
            r = runs[(name, uid)]
            if "error" in r:
                errors.append({"model": name, "unique_id": uid, **r})
                r = {"score": np.full(len(y), np.nan), "flag": np.zeros(len(y), np.int8), "fit_s": 0.0,
                     "predict_s": 0.0}
            frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": y, "label": lab, "model": name,
                                        "score": r["score"], "anomaly": r["flag"]}))
            timings.append({"model": name, "unique_id": uid, "fit_s": r["fit_s"], "predict_s": r["predict_s"]})
    return DetectorResult(pd.concat(frames, ignore_index=True), pd.DataFrame(timings), metrics, list(dets),
                          train_fraction, errors=pd.DataFrame(errors, columns=ERROR_COLUMNS), meta=meta)


def evaluate_detectors(detectors, data: pd.DataFrame, metrics=DEFAULT_METRICS, n_jobs: int = 1,
                       backend: str | None = None, progress: bool = True, checkpoint=None, on_error: str = "raise",
                       timeout: float | None = None, *, train_fraction: float = 0.15):
    """Run detectors over labelled series and score their alarms (on the backtest's task runner).

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
    backend : {None, "loky", "dask"}
        Where tasks run (``"dask"``: the open ``dask.distributed`` client, else a local cluster, closed after).
    progress : bool
        Show a tqdm bar.
    checkpoint : path, optional
        Directory where each finished detector x series task is stored; a rerun with the same detectors, data
        and settings recomputes nothing that is there.
    on_error : {"raise", "record"}
        ``"record"`` keeps going: a detector that fails on a series (or a series with invalid values) is listed
        in ``errors`` and the detector counts as silent on that series.
    timeout : float, optional
        Seconds one detector may take to fit and score one series (SIGALRM, as in
        :func:`~tsrnn.backtest.backtest`); past it the task fails with ``TimeoutError``.
    train_fraction : float
        Each detector is fitted on the first ``min(floor(f n), f 5000)`` rows of each series (NAB's probationary
        period for ``f = 0.15``); those rows are not scored by NAB.

    Returns
    -------
    DetectorResult
    """
    isolate = check_on_error(on_error)
    dets = _detector_dict(detectors)
    metrics = tuple(metrics)
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metric(s) {sorted(unknown)}; choose from {METRICS}")
    series, invalid = _check_data(data, isolate)
    planned = _tasks(dets, series, train_fraction, timeout, isolate)
    settings = {"train_fraction": train_fraction, "timeout": timeout, "on_error": on_error}
    run_key = fingerprint([a for uid, _, y, lab in series for a in (uid, y, lab)], dets, settings)
    done, n_computed = run_tasks([t for *_, t in planned], n_jobs=n_jobs, backend=backend, progress=progress,
                                 checkpoint=checkpoint, run_key=run_key, desc="detectors x series")
    runs = {(name, uid): done[t.key] for name, uid, t in planned}
    meta = {**settings, "n_tasks": len(planned), "n_computed": n_computed,
            "n_from_checkpoint": len(planned) - n_computed, "n_jobs": n_jobs, "backend": backend}
    return _build_result(dets, series, runs, metrics, train_fraction, invalid, meta)


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
    errors : pd.DataFrame
        ``model, unique_id, error, message, traceback`` of what failed with ``on_error="record"`` (an empty
        ``model``: the series itself was invalid and was not evaluated).
    meta : dict
        The run's settings and task counts (``n_tasks``, ``n_computed``, ``n_from_checkpoint``).
    """

    def __init__(self, detections, timings, metrics, models, train_fraction=0.15, errors=None, meta=None):
        self.detections = detections
        self.timings = timings
        self.metrics = tuple(metrics)
        self.models = list(models)
        self.train_fraction = train_fraction
        self.errors = errors if errors is not None else pd.DataFrame(columns=ERROR_COLUMNS)
        self.meta = dict(meta or {})
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
                         auc_pr=scoring.auc_pr(lab, score) if np.isfinite(score).all() else np.nan,
                         pa_f1=scoring.point_adjusted_f1(lab, flag))
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
        series on ``metric``; ``fit_s`` and ``predict_s`` are total seconds; ``n_failed`` counts the series the
        detector failed on (``on_error="record"``). ``attrs["sort_metric"]`` names ``metric``.
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
        loss = pd.DataFrame(as_loss(metric, wide.to_numpy()), index=wide.index, columns=wide.columns)
        table["rank"] = loss.rank(axis=1, ascending=True).mean().reindex(table.index)
        table = table.join(self.swept())
        table = table.join(self.timings.groupby("model")[["fit_s", "predict_s"]].sum())
        failed = self.errors.groupby("model").size() if len(self.errors) else pd.Series(dtype=int)
        table["n_failed"] = failed.reindex(table.index).fillna(0).astype(int)
        table = table.iloc[np.argsort(as_loss(metric, table[metric].to_numpy()), kind="stable")]
        table.attrs["sort_metric"] = metric
        return table

    def swept(self) -> pd.DataFrame:
        """NAB's procedure: per detector and NAB profile, the score of the one corpus-wide threshold on its scores
        that the labels favour most (``nab_swept_<profile>`` columns; a failed series counts as silent)."""
        if getattr(self, "_swept", None) is None:
            rows = {}
            for model, g in self.detections.groupby("model", sort=False):
                score = g["score"].to_numpy(dtype=float)
                low = np.nanmin(score) - 1.0 if np.isfinite(score).any() else 0.0
                score = np.where(np.isfinite(score), score, low)
                rows[model] = {f"nab_swept_{m[4:]}": scoring.nab_best_threshold(
                    g, score, prof, probation=self.train_fraction)[1] for m, prof in _PROFILE_OF.items()
                    if m in self.metrics}
            self._swept = pd.DataFrame(rows).T.reindex(self.models)
        return self._swept

    def to_markdown(self, metric: str | None = None, digits: int = 3) -> str:
        """The leaderboard as a Markdown table (plus the number of series and models)."""
        n = self.detections["unique_id"].nunique()
        table = markdown_table(self.leaderboard(metric), digits=digits)
        text = f"{len(self.models)} detectors on {n} series\n\n{table}"
        if len(self.errors):
            text += f"\n\n{len(self.errors)} failure(s): see `result.errors`."
        return text + "\n"

    def __repr__(self) -> str:
        return f"DetectorResult(models={self.models}, series={self.detections['unique_id'].nunique()})"
