"""Scoring anomaly detections honestly (layer 3, pure numpy on 0/1 arrays).

Metrics on one series (``label`` and ``pred`` are 0/1 arrays of the same length, anomalies are the runs of 1):

* point precision / recall / F1 (:func:`point_prf`);
* event-wise (range) precision / recall / F1 with early-detection credit (:func:`event_prf`);
* AUC-PR as average precision of a raw score (:func:`auc_pr`);
* point-adjusted F1 (:func:`point_adjusted_f1`), reported only with a warning: it marks a whole event found as
  soon as one point in it is flagged, which inflates results (a random detector can reach high values);
* the NAB score (Lavin and Ahmad 2015) over a panel (:func:`nab_score`, :func:`nab_details`).

NAB score
---------
For each labelled window ``[a, b]`` (a run of ``label == 1``, width ``w = b - a + 1``) and detection at row ``i``:

* inside the window the detection is worth ``A_tp * sigma(-(b - i + 1) / w) / sigma(-1)`` with the scaled sigmoid
  ``sigma(x) = 2 / (1 + exp(5 x)) - 1`` (so ``A_tp`` for a detection on the first row of the window, close to 0 at
  its last); only the best (earliest) detection of each window counts; a window without a detection costs
  ``-A_fn``;
* outside every window it costs ``A_fp * sigma(x)`` with ``x = (i - b') / (w' - 1)`` after the most recent window
  ``[a', b']`` (``sigma(x) = -1`` for ``x >= 3``, and ``-A_fp`` before the first window), so false alarms just after
  a window are cheaper;
* rows in the probationary period (the first ``min(floor(0.15 n), 750)`` rows of each series) are ignored.

The raw score ``S`` is summed over the corpus and normalised as ``100 (S - S_null) / (S_perfect - S_null)`` with
``S_null = -A_fn W`` (no detection) and ``S_perfect = A_tp W`` (a detection on the first row of every window),
``W`` the number of windows that reach past the probationary period. The weights ``(A_tp, A_fp, A_fn)`` are
NAB's profiles: standard ``(1, 0.11, 1)``, reward_low_FP ``(1, 0.22, 1)`` and reward_low_FN ``(1, 0.11, 2)``.
This follows NAB's ``sweeper.py`` at one fixed set of detections (NAB also sweeps the threshold of a raw score
to its corpus-wide optimum, an in-sample choice that :func:`nab_best_threshold` reproduces for comparison only).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

__all__ = [
    "PROFILES",
    "runs",
    "point_prf",
    "event_prf",
    "auc_pr",
    "point_adjusted_f1",
    "nab_windows",
    "probationary_length",
    "nab_series",
    "nab_details",
    "nab_score",
    "nab_best_threshold",
]

#: NAB cost matrices (NAB ``config/profiles.json``): weights of true positives, false positives, false negatives.
PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}
_ALIASES = {"reward_low_FP_rate": "reward_low_FP", "reward_low_FN_rate": "reward_low_FN",
            "low_fp": "reward_low_FP", "low_fn": "reward_low_FN"}


def _profile(profile) -> dict:
    if isinstance(profile, dict):
        missing = {"tp", "fp", "fn"} - set(profile)
        if missing:
            raise ValueError(f"a NAB profile dict needs the weights 'tp', 'fp', 'fn'; missing {sorted(missing)}")
        return {k: float(profile[k]) for k in ("tp", "fp", "fn")}
    name = _ALIASES.get(profile, profile)
    if name not in PROFILES:
        raise ValueError(f"unknown NAB profile {profile!r}; choose one of {sorted(PROFILES)} or pass a dict")
    return PROFILES[name]


def _binary(a, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {a.shape}")
    if a.dtype == bool:
        return a.astype(np.int8)
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError(f"{what} must hold only 0 and 1 (got values such as {np.setdiff1d(a, [0, 1])[:3]})")
    return a.astype(np.int8)


def _pair(label, pred):
    label, pred = _binary(label, "label"), _binary(pred, "detections")
    if label.shape != pred.shape:
        raise ValueError(f"label and detections differ in length: {len(label)} vs {len(pred)}")
    return label, pred


def runs(x) -> np.ndarray:
    """Runs of ones in a 0/1 array as an ``(k, 2)`` int array of inclusive ``[start, end]`` positions."""
    x = _binary(x, "array")
    d = np.diff(np.concatenate([[0], x, [0]]))
    return np.column_stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1]).astype(np.int64)


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def point_prf(label, pred) -> tuple[float, float, float]:
    """Point-wise precision, recall and F1: every stamp is one sample (0 when undefined)."""
    label, pred = _pair(label, pred)
    tp = int(np.sum((label == 1) & (pred == 1)))
    p = tp / pred.sum() if pred.sum() else 0.0
    r = tp / label.sum() if label.sum() else 0.0
    return float(p), float(r), _f1(p, r)


def _event_counts(label, pred, existence_weight: float):
    """(recall credit summed over true events, n true events, predicted runs hitting an event, n predicted runs)."""
    label, pred = _pair(label, pred)
    true_runs, pred_runs = runs(label), runs(pred)
    credit = 0.0
    for a, b in true_runs:
        hit = np.flatnonzero(pred[a:b + 1])
        if hit.size:
            delay = hit[0] / (b - a + 1)  # relative position of the first detection in [0, 1)
            credit += existence_weight + (1 - existence_weight) * (1 - delay)
    cum = np.concatenate([[0], np.cumsum(label)])
    good = sum(1 for a, b in pred_runs if cum[b + 1] - cum[a] > 0)
    return credit, len(true_runs), good, len(pred_runs)


def event_prf(label, pred, *, existence_weight: float = 0.5) -> tuple[float, float, float]:
    """Event-wise (range) precision, recall and F1 with early-detection credit.

    A true event (run of ``label == 1``) of length ``l`` whose first detection is ``d`` rows after its start earns
    ``alpha + (1 - alpha) (1 - d / l)``: ``alpha = existence_weight`` for finding it at all, the rest for finding it
    early (the front-end bias of Tatbul et al. 2018, reduced to the first detection); recall is the mean credit.
    Precision is the share of predicted runs (runs of ``pred == 1``) that overlap a true event, so a long alarm
    counts once. ``existence_weight=1`` gives plain event recall.
    """
    credit, n_true, good, n_pred = _event_counts(label, pred, existence_weight)
    r = credit / n_true if n_true else 0.0
    p = good / n_pred if n_pred else 0.0
    return float(p), float(r), _f1(p, r)


def auc_pr(label, score) -> float:
    """Area under the precision-recall curve as average precision ``sum_k (R_k - R_{k-1}) P_k`` over thresholds.

    Ties in ``score`` form one threshold (as scikit-learn's ``average_precision_score``); ``nan`` without positives.
    """
    label = _binary(label, "label")
    score = np.asarray(score, dtype=float)
    if label.shape != score.shape:
        raise ValueError(f"label and score differ in length: {len(label)} vs {len(score)}")
    n_pos = int(label.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    s, lab = score[order], label[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each distinct threshold
    tp = np.cumsum(lab)[last]
    prec = tp / (last + 1)
    rec = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


def point_adjusted_f1(label, pred) -> float:
    """Point-adjusted F1 (Xu et al. 2018): a whole event counts as found if any of its points is flagged.

    Warns: the adjustment inflates results (Kim et al. 2022, Merlion#176); report it next to honest metrics only.
    """
    warnings.warn("point-adjusted F1 inflates results: one flag anywhere in a long event marks the whole event "
                  "found; report it only next to event-wise and NAB scores", UserWarning, stacklevel=2)
    label, pred = _pair(label, pred)
    adj = pred.copy()
    for a, b in runs(label):
        if pred[a:b + 1].any():
            adj[a:b + 1] = 1
    return point_prf(label, adj)[2]


# ---------------------------------------------------------------------------------------------- NAB
def _scaled_sigmoid(x):
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore"):
        return np.where(x >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * x)) - 1.0)


def probationary_length(n: int, fraction: float = 0.15) -> float:
    """NAB's probationary period: ``min(floor(fraction * n), fraction * 5000)`` rows (750 for 15 %)."""
    return min(math.floor(fraction * n), fraction * 5000)


def nab_windows(label, *, window_fraction: float = 0.1) -> np.ndarray:
    """Expand point labels into NAB windows: ``int(window_fraction * n / k)`` rows centred on each of the ``k``
    labels (runs of 1 are taken at their first row), clipped at the ends, overlapping windows merged."""
    label = _binary(label, "label")
    n, starts = len(label), runs(label)[:, 0]
    out = np.zeros(n, dtype=np.int8)
    if not len(starts):
        return out
    half = int(window_fraction * n / len(starts)) // 2
    for c in starts:
        out[max(0, c - half):min(n, c + half + 1)] = 1
    return out


def nab_series(label, detections, profile="standard", *, probation: float = 0.15) -> dict:
    """NAB raw score of one series and its parts.

    Returns
    -------
    dict with ``raw`` (the weighted score), ``null`` and ``perfect`` (raw scores of the no-detection and the
    perfect detector), ``windows`` (scorable windows), ``detected`` (windows with a counted detection), ``fp``
    (false alarms after the probationary period).
    """
    w = _profile(profile)
    label, det = _pair(label, detections)
    n = len(label)
    idx = np.arange(n)
    scorable = idx >= probationary_length(n, probation)
    win = runs(label)
    score = np.empty(n)
    wid = np.full(n, -1)
    max_tp = float(_scaled_sigmoid(-1.0))
    for k, (a, b) in enumerate(win):
        pos = -(b - idx[a:b + 1] + 1) / (b - a + 1)
        score[a:b + 1] = _scaled_sigmoid(pos) * w["tp"] / max_tp
        wid[a:b + 1] = k
    out = wid < 0
    if out.any():
        i = idx[out]
        k = np.searchsorted(win[:, 1], i, side="left") - 1 if len(win) else np.full(len(i), -1)
        gap = np.full(len(i), 3.0)
        has = k >= 0
        if has.any():
            width = (win[k[has], 1] - win[k[has], 0] + 1).astype(float)
            dist = (i[has] - win[k[has], 1]).astype(float)
            with np.errstate(divide="ignore"):  # a window one row wide: NAB divides by zero; any later row is far
                gap[has] = np.where(width > 1, dist / np.maximum(width - 1, 1), 3.0)
        score[i] = _scaled_sigmoid(gap) * w["fp"]
    fp_mask = out & scorable & (det == 1)
    raw = float(score[fp_mask].sum())
    n_win = detected = 0
    for k in range(len(win)):
        rows = (wid == k) & scorable
        if not rows.any():
            continue
        n_win += 1
        hits = rows & (det == 1)
        if hits.any():
            detected += 1
            raw += max(-w["fn"], float(score[hits].max()))
        else:
            raw -= w["fn"]
    return {"raw": raw, "null": -w["fn"] * n_win, "perfect": w["tp"] * n_win, "windows": n_win,
            "detected": detected, "fp": int(fp_mask.sum())}


def _iter_series(data, values, column: str):
    """Yield ``(uid, label, values)`` per series, rows in the given order, from a long frame and aligned values."""
    if not isinstance(data, pd.DataFrame) or "label" not in data.columns:
        raise TypeError("data must be a long DataFrame with columns unique_id, ds, y, label")
    if isinstance(values, pd.DataFrame):
        if column not in values.columns:
            raise ValueError(f"the detections frame needs a {column!r} column (got {list(values.columns)})")
        if {"unique_id", "ds"} <= set(values.columns) and {"unique_id", "ds"} <= set(data.columns):
            keys = data[["unique_id", "ds"]]
            merged = keys.merge(values[["unique_id", "ds", column]], on=["unique_id", "ds"], how="left")
            vals = merged[column].to_numpy()
        else:
            vals = values[column].to_numpy()
    elif isinstance(values, pd.Series) and values.index.equals(data.index):
        vals = values.to_numpy()
    else:
        vals = np.asarray(values)
    if len(vals) != len(data):
        raise ValueError(f"detections have {len(vals)} rows but data has {len(data)}")
    if pd.isna(vals).any():
        raise ValueError(f"{int(pd.isna(vals).sum())} rows of data have no detection value")
    uid = data["unique_id"].to_numpy() if "unique_id" in data.columns else np.zeros(len(data))
    lab = data["label"].to_numpy()
    for u in pd.unique(uid):
        rows = np.flatnonzero(uid == u)  # the rows of the series in the order given (NAB: file order)
        yield u, lab[rows], vals[rows]


def nab_details(data: pd.DataFrame, detections, profile="standard", *, probation: float = 0.15) -> pd.DataFrame:
    """Per-series NAB parts (one row per ``unique_id``: raw, null, perfect, windows, detected, fp)."""
    rows = []
    for uid, lab, det in _iter_series(data, detections, "detection"):
        rows.append({"unique_id": uid, **nab_series(lab, det, profile, probation=probation)})
    return pd.DataFrame(rows, columns=["unique_id", "raw", "null", "perfect", "windows", "detected", "fp"])


def _normalise(d: pd.DataFrame) -> float:
    span = d["perfect"].sum() - d["null"].sum()
    if span <= 0:
        return float("nan")  # no scorable window anywhere: the score is undefined
    return float(100.0 * (d["raw"].sum() - d["null"].sum()) / span)


def nab_score(data: pd.DataFrame, detections, profile="standard", *, probation: float = 0.15) -> float:
    """NAB score normalised to 0-100 over all series (null detector 0, perfect detector 100).

    Parameters
    ----------
    data : pd.DataFrame
        Long frame ``unique_id, ds, y, label``, each series' rows in time order (kept as given, as NAB keeps its
        files' rows); the anomaly windows are the runs of ``label == 1``.
    detections : pd.Series, array or pd.DataFrame
        0/1 per row of ``data`` (a Series with the same index, an array in row order, or a long frame with
        ``unique_id, ds, detection``).
    profile : {"standard", "reward_low_FP", "reward_low_FN"} or dict
        NAB cost matrix (see :data:`PROFILES`); NAB's ``*_rate`` names are accepted.
    probation : float
        Fraction of each series ignored at its start (NAB: 0.15, capped at ``0.15 * 5000`` rows).

    Returns
    -------
    float
        The score; ``nan`` when no series has a window after its probationary period.
    """
    return _normalise(nab_details(data, detections, profile, probation=probation))


def nab_best_threshold(data: pd.DataFrame, scores, profile="standard", *, probation: float = 0.15,
                       n_thresholds: int = 100, cooldown: int = 0) -> tuple[float, float]:
    """NAB's own procedure: the single corpus-wide threshold on raw ``scores`` that maximises the NAB score.

    This chooses the threshold with the labels (in-sample), as NAB's optimiser does; use it only to compare with
    NAB's published scoreboard. The candidates are the score quantiles that flag a share ``10**-5 .. 0.5`` of the
    rows (``n_thresholds`` of them, log-spaced); ``cooldown`` mutes the rows after each alarm as
    :func:`tsrnn.anomaly.thresholds.apply_cooldown` does. Returns ``(threshold, score)``.
    """
    series = [np.asarray(v, dtype=float) for _, _, v in _iter_series(data, scores, "score")]
    labels = [lab for _, lab, _ in _iter_series(data, scores, "score")]
    allv = np.concatenate(series)
    cands = np.unique(np.quantile(allv, 1 - np.geomspace(1e-5, 0.5, n_thresholds)))
    best = (float("inf"), float("-inf"))
    for t in cands:
        parts = []
        for lab, v in zip(labels, series):
            flags = (v > t).astype(np.int64)
            if cooldown:
                keep, last = np.zeros_like(flags), -cooldown - 1
                for i in np.flatnonzero(flags):
                    if i - last > cooldown:
                        keep[i], last = 1, i
                flags = keep
            parts.append(nab_series(lab, flags, profile, probation=probation))
        sc = _normalise(pd.DataFrame(parts))
        if sc > best[1]:
            best = (float(t), sc)
    return best
