"""Numenta's anomaly likelihood (Ahmad, Lavin, Purdy and Agha 2017, "Unsupervised real-time anomaly detection for
streaming data", Neurocomputing 262; NuPIC's ``anomaly_likelihood``), computed causally on any raw anomaly score.

Notation (one series, raw scores ``s_0 .. s_{n-1}``, higher is more anomalous):

* ``m_t``: the mean of the last ``averaging`` raw scores (``s_{t-W+1} .. s_t``, fewer at the start);
* the distribution of ``m`` is a normal ``N(mu, sd^2)`` estimated from the moving averages of the up to ``history``
  raw scores before ``t`` (the averages restarted at the first of them, the first ``learning`` rows of the stream
  skipped while they are in that window), with ``mu >= mean_floor`` and ``sd^2 >= var_floor``; it is estimated
  first at ``t = learning + estimation`` and then every ``reestimate`` rows (``t % reestimate == 0``);
* the tail probability ``q_t = Q(|m_t - mu| / sd)`` (``Q`` the standard normal upper tail: NuPIC reflects a value
  below the mean onto the upper tail);
* NuPIC's filter keeps only sharp rises: when ``q_t`` and ``q_{t-1}`` (both under the distribution in force at ``t``)
  are below ``1 - red``, ``q_t`` is raised to ``1 - yellow``;
* the likelihood is ``L_t = 1 - q_t`` (0.5 while ``t < learning + estimation``).

``L_t`` uses ``s_0 .. s_t`` only: appending rows never changes a past value. The defaults are NuPIC's.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfc

from .._validation import check_positive_int

__all__ = ["numenta_likelihood", "NUMENTA_DEFAULTS"]

#: NuPIC's defaults (``AnomalyLikelihood`` and ``estimateNormal`` / ``_filterLikelihoods``).
NUMENTA_DEFAULTS = {"averaging": 10, "history": 8640, "learning": 288, "estimation": 100, "reestimate": 100,
                    "mean_floor": 0.03, "var_floor": 0.0003, "red": 0.99999, "yellow": 0.999}


def _moving_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Mean of the last ``w`` values at each position (fewer at the start), restarted at ``x[0]``."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(i - w, 0)
    return (c[i] - c[lo]) / (i - lo)


def _estimate(s: np.ndarray, t: int, p: dict) -> tuple[float, float]:
    """``(mu, sd)`` of the moving averages of the history window before ``t`` (NuPIC's null distribution when the
    learning rows leave nothing)."""
    first = max(0, t - p["history"])
    skip = min(t, max(0, p["learning"] - first))  # learning rows still inside the window
    agg = _moving_mean(s[first:t], p["averaging"])
    if len(agg) <= skip:
        return 0.5, 1e3
    mu = max(float(np.mean(agg[skip:])), p["mean_floor"])
    var = max(float(np.var(agg[skip:])), p["var_floor"])
    return mu, float(np.sqrt(var))


def _tail(m: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    z = np.abs(m - mu) / sd
    return 0.5 * erfc(z / np.sqrt(2.0))


def numenta_likelihood(scores, **params) -> np.ndarray:
    """Anomaly likelihood ``L_t`` in ``[0, 1]`` of raw ``scores`` (see the module docstring for the formula).

    Parameters
    ----------
    scores : (n,) array
        Raw anomaly scores of one series, in time order.
    **params
        Any of :data:`NUMENTA_DEFAULTS` (``averaging``, ``history``, ``learning``, ``estimation``, ``reestimate``,
        ``mean_floor``, ``var_floor``, ``red``, ``yellow``).

    Returns
    -------
    (n,) array
    """
    unknown = set(params) - set(NUMENTA_DEFAULTS)
    if unknown:
        raise ValueError(f"numenta_likelihood: unknown parameter(s) {sorted(unknown)}")
    p = {**NUMENTA_DEFAULTS, **params}
    for k in ("averaging", "history", "estimation", "reestimate"):
        check_positive_int(p[k], k, "numenta_likelihood")
    if p["history"] < p["estimation"]:
        raise ValueError("numenta_likelihood: estimation exceeds history")
    s = np.nan_to_num(np.asarray(scores, dtype=float), nan=0.0, posinf=np.finfo(float).max / 1e6)
    n, start = len(s), int(p["learning"]) + int(p["estimation"])
    out = np.full(n, 0.5)
    if n <= start:
        return out
    t = np.arange(start, n)
    est_at = np.r_[start, np.arange(-(-(start + 1) // p["reestimate"]) * p["reestimate"], n, p["reestimate"])]
    params_at = np.array([_estimate(s, int(k), p) for k in est_at])
    k = np.searchsorted(est_at, t, side="right") - 1
    mu, sd = params_at[k, 0], params_at[k, 1]
    m = _moving_mean(s, p["averaging"])
    q = _tail(m[t], mu, sd)
    q_prev = _tail(m[t - 1], mu, sd)
    red = 1.0 - p["red"]
    q = np.where((q <= red) & (q_prev <= red), 1.0 - p["yellow"], q)
    out[start:] = 1.0 - q
    return out
