"""Hidden Markov model forecaster and regime decoder, fitted with hmmlearn across a whole panel.

A hidden Markov model (HMM) has ``K`` hidden states ``s_t`` following a Markov chain with transition matrix
``A[i, j] = P(s_{t+1} = j | s_t = i)`` and start distribution ``pi``; given the state, the observation is drawn
from a Gaussian (``emission="gaussian"``) or a mixture of ``M`` Gaussians (``emission="gmm"``):

    b_k(x) = sum_m w_km N(x; mu_km, sigma_km^2).

The observation ``x_t`` is the level ``y_t`` (``on="levels"``), the difference ``y_t - y_{t-m}``
(``"differences"``) or the log return ``log(y_t / y_{t-m})`` (``"returns"``), with lag ``m = season_length``.
By default (``on="auto"``, ``season_length="auto"``) the choice is made from the data at ``fit``: seasonal
differences when a clear season is found, first differences when a unit root is not rejected, else levels (see
:class:`HMMForecaster`).

**Forward filter** (no look-ahead). With the one-step predicted state distribution ``p_{t|t-1}``
(``p_{1|0} = pi``):

    c_t = sum_k p_{t|t-1}[k] b_k(x_t)          (one-step predictive density of x_t)
    a_t = p_{t|t-1} * b(x_t) / c_t             (filtered probabilities P(s_t | x_1..x_t))
    p_{t+1|t} = a_t A

and ``log L = sum_t log c_t``, the likelihood hmmlearn's ``score`` returns.

**Forecast.** From the filtered distribution at the last observation ``a_T`` the state distribution ``j`` steps
ahead is ``p_j = a_T A^j``, and ``x_{T+j}`` has the mixture density ``sum_k p_j[k] b_k(x)``. On levels the
point forecast is the mixture mean and the ``level`` % interval runs between the mixture's ``(1 - level/100)/2``
and ``(1 + level/100)/2`` quantiles (found by bisection of the mixture CDF), not a normal approximation. On
differences and returns the level is a sum over the future path, whose law is a mixture over ``K^h`` paths: the
mean is exact (for ``m = 1``: ``y_T + sum_{i<=j} p_i . mu`` for differences, ``y_T a_T (A D)^j 1`` with
``D = diag(E[exp(x) | s = k])`` for returns; with lag ``m`` the sum / product runs over steps ``j, j-m, ...``)
and the quantiles come from ``n_samples`` simulated paths.

**Scaling.** The model is fitted to standardised observations (hmmlearn's variance floor ``min_covar`` and
the initialisation assume unit scale) and then rescaled, so that with ``scale="global"`` ``model_`` is in the
units of the observations (``means_`` are levels of ``y`` when ``on="levels"``). With ``scale="series"`` each
series is standardised by its own mean and standard deviation (better for panels of series of different size);
``model_`` is then in standardised units and ``scales_`` holds each series' ``(centre, scale)``.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from hmmlearn import hmm
from sklearn.utils import check_random_state

from .._validation import Panel, SeriesData, check_positive_int, to_pandas_index, to_pandas_stamps, to_panel
from ..base import BaseForecaster
from ._season import panel_season

__all__ = ["HMMForecaster", "forward_filter", "mixture_quantiles", "emission_components"]

_EMISSIONS = ("gaussian", "gmm")
_ON = ("auto", "levels", "differences", "returns")
_SCALES = ("global", "series")
_COV_TYPES = ("diag", "spherical", "full", "tied")


# ------------------------------------------------------------------------------------------ pure numerics


def emission_components(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and variances of a 1-D hmmlearn ``GaussianHMM`` or ``GMMHMM``, each of shape ``(K, M)``.

    A ``GaussianHMM`` is a mixture with one component per state (``M = 1``, weight 1).
    """
    K = model.n_components
    if hasattr(model, "n_mix"):
        M = model.n_mix
        w = np.asarray(model.weights_, dtype=float).reshape(K, M)
        mu = np.asarray(model.means_, dtype=float).reshape(K, M)
        cov = np.asarray(model.covars_, dtype=float)
        if model.covariance_type == "tied":
            var = np.repeat(cov.reshape(K, 1), M, axis=1)
        else:
            var = cov.reshape(K, M)
        return w, mu, var
    mu = np.asarray(model.means_, dtype=float).reshape(K, 1)
    var = np.asarray(model.covars_, dtype=float).reshape(K, 1)  # hmmlearn returns full (K, 1, 1) matrices
    return np.ones((K, 1)), mu, var


def log_emissions(x: np.ndarray, w: np.ndarray, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``log b_k(x_t)`` of shape ``(n, K)`` for observations ``x`` of shape ``(n,)``."""
    d = x[:, None, None] - mu[None]
    comp = np.log(np.maximum(w, 1e-300))[None] - 0.5 * (np.log(2 * np.pi * var)[None] + d * d / var[None])
    top = comp.max(axis=2, keepdims=True)
    return (top + np.log(np.exp(comp - top).sum(axis=2, keepdims=True)))[..., 0]


def forward_filter(logb: np.ndarray, startprob: np.ndarray, transmat: np.ndarray):
    """Scaled forward algorithm.

    Parameters
    ----------
    logb : ndarray (n, K)
        Log emission densities ``log b_k(x_t)``.
    startprob : ndarray (K,)
    transmat : ndarray (K, K)

    Returns
    -------
    filtered : ndarray (n, K)
        ``P(s_t = k | x_1..x_t)``.
    logpred : ndarray (n,)
        ``log p(x_t | x_1..x_{t-1})``; its sum is the log-likelihood.
    """
    n, K = logb.shape
    filtered = np.empty((n, K))
    logpred = np.empty(n)
    pred = np.asarray(startprob, dtype=float)
    top = logb.max(axis=1)
    b = np.exp(logb - top[:, None])
    for t in range(n):
        joint = pred * b[t]
        c = joint.sum()
        if c <= 0:  # every state impossible under the predicted distribution: fall back to the emissions
            joint, c = b[t] / K, b[t].sum() / K
        filtered[t] = joint / c
        logpred[t] = np.log(c) + top[t]
        pred = filtered[t] @ transmat
    return filtered, logpred


def _mixture_cdf(x, w, mu, sd):
    from scipy.special import ndtr

    return (w * ndtr((x[..., None] - mu) / sd)).sum(axis=-1)


def mixture_quantiles(q: np.ndarray, w: np.ndarray, mu: np.ndarray, sd: np.ndarray, n_iter: int = 100) -> np.ndarray:
    """Quantiles of Gaussian mixtures by bisection of the CDF.

    Parameters
    ----------
    q : ndarray (L,)
        Probabilities in (0, 1).
    w, mu, sd : ndarray (h, C)
        Weights (rows sum to 1), means and standard deviations of ``h`` mixtures of ``C`` components.

    Returns
    -------
    ndarray (h, L)
    """
    q = np.asarray(q, dtype=float)
    lo = (mu - 12 * sd).min(axis=1)[:, None] * np.ones((1, len(q)))
    hi = (mu + 12 * sd).max(axis=1)[:, None] * np.ones((1, len(q)))
    W, MU, SD = (a[:, None, :] for a in (w, mu, sd))
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        below = _mixture_cdf(mid, W, MU, SD) < q[None]
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _type_covars(var: np.ndarray, covariance_type: str) -> np.ndarray:
    """Per-state 1-D variances ``(K,)`` in the layout hmmlearn's ``GaussianHMM.covars_`` setter expects."""
    K = len(var)
    return {"diag": var.reshape(K, 1), "spherical": var.reshape(K), "full": var.reshape(K, 1, 1),
            "tied": var[:1].reshape(1, 1)}[covariance_type]


def rescale_model(model, centre: float, scale: float):
    """A copy of a 1-D hmmlearn model fitted to ``(x - centre) / scale``, expressed in the units of ``x``."""
    out = copy.deepcopy(model)
    if hasattr(model, "n_mix"):
        out.means_ = centre + scale * np.asarray(model.means_)
        out.covars_ = np.asarray(model.covars_) * scale**2
    else:
        _, _, var = emission_components(model)
        out.means_ = centre + scale * np.asarray(model.means_)
        out.covars_ = _type_covars(var[:, 0] * scale**2, model.covariance_type)
    return out


@contextlib.contextmanager
def _quiet_hmmlearn():
    """Silence hmmlearn's log messages about EM steps that lower the likelihood by rounding error."""
    log = logging.getLogger("hmmlearn")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


class _GMMHMM(hmm.GMMHMM):
    """hmmlearn's ``GMMHMM`` minus its k-means initialisation, which it runs even when ``init_params=""`` asks
    for none (eleven k-means fits with ``n_init=10`` per model); :meth:`HMMForecaster._initialise` sets the
    starting values instead."""

    def _init(self, X, lengths=None):
        if self.init_params:
            return super()._init(X, lengths)
        super(hmm.GMMHMM, self)._init(X, lengths)
        self._init_covar_priors()
        self._fix_priors_shape()


def _mostly_unit_root(ys, max_series: int = 50, max_obs: int = 1000) -> bool:
    """Whether an augmented Dickey-Fuller test (constant, lags by AIC, 5 %) keeps a unit root in at least half
    of the first ``max_series`` series (each cut to its last ``max_obs`` values)."""
    from statsmodels.tsa.stattools import adfuller

    from ._sm import quiet

    keep = []
    for y in list(ys)[:max_series]:
        y = np.asarray(y, dtype=float)[-max_obs:]
        if len(y) < 8 or np.ptp(y) == 0:
            continue
        with quiet():
            keep.append(adfuller(y, regression="c", autolag="AIC")[1] > 0.05)
    return bool(keep) and 2 * sum(keep) >= len(keep)


# ------------------------------------------------------------------------------------------ the estimator


class HMMForecaster(BaseForecaster):
    """Hidden Markov model forecaster, fitted globally across all series of a panel (see the module docs).

    Parameters
    ----------
    n_states : "auto", int or sequence of int, default "auto"
        Number of hidden states ``K``; ``"auto"`` picks the one with the lowest BIC among 1..6, a sequence picks
        among its values. The chosen number is ``n_states_``, the BIC of each candidate ``bic_``.
    emission : {"gaussian", "gmm"}, default "gaussian"
        A Gaussian per state, or a mixture of ``n_mix`` Gaussians per state.
    on : {"auto", "levels", "differences", "returns"}, default "auto"
        What the HMM models: ``y_t``, ``y_t - y_{t-m}`` or ``log(y_t / y_{t-m})`` (needs ``y > 0``). ``"auto"``
        (stored as ``on_``) picks, so that the defaults forecast an ordinary trending or seasonal series:
        ``"differences"`` at the seasonal lag when a season is found (the forecast is then the last season plus
        the regime-weighted mean seasonal change: a seasonal naive forecast with a regime-dependent drift);
        otherwise ``"differences"`` at lag 1 when an augmented Dickey-Fuller test (5 %, constant, on at most the
        last 1000 points of each of the first 50 series) does not reject a unit root in most series (a level
        that wanders or trends leaves the range of the fitted state means, which a levels HMM cannot follow);
        else ``"levels"`` (a stationary series switching between regimes, where the state means are the levels).
    season_length : int or "auto", default "auto"
        The lag ``m`` of the differences / returns: ``x_t = y_t - y_{t-m}`` (or ``log(y_t / y_{t-m})``), so that
        ``on="differences", season_length=24`` lets the HMM model hour-on-same-hour-yesterday changes. Not used
        with ``on="levels"``. ``"auto"``: the period :func:`tsrnn.features.detect_seasonality` finds on most
        series (1 if none); the lag used is ``season_length_``.
    covariance_type : {"diag", "spherical", "full", "tied"}, default "diag"
        hmmlearn's covariance type; for 1-D observations only "tied" (one variance shared by all states) differs.
    n_mix : int, default 2
        Mixture components per state with ``emission="gmm"``.
    scale : {"global", "series"}, default "global"
        Standardise all series together (``model_`` in the units of ``y``) or each series on its own.
    n_init : int, default 3
        EM restarts per number of states; the best likelihood wins. The first starts from the data's quantiles
        and sticky transitions, later ones from random quantiles and random sticky transitions.
    n_iter : int, default 200
        Maximum EM iterations per restart.
    tol : float, default 1e-6
        EM stops when the log-likelihood gain of an iteration, per observation, falls below ``tol``.
    max_select_obs : int or None, default 50000
        With several candidate numbers of states and more observations than this, BIC compares the candidates
        on whole series drawn at random with at most this many observations in all, and the chosen number is
        then refitted on all the data (``None``: always select on all the data).
    n_samples : int, default 1000
        Simulated paths for the intervals of ``on="differences"`` / ``"returns"``.
    random_state : int, RandomState or None
        Seeds the EM restarts and the simulated paths.

    Attributes
    ----------
    on_, season_length_ : str, int
        What the model was fitted on and the lag (``"auto"`` resolved).
    model_ : hmmlearn.hmm.GaussianHMM or GMMHMM
        The fitted model (``transmat_``, ``startprob_``, ``means_``, ``covars_``, ...).
    n_states_ : int
    bic_ : dict {n_states: BIC}
        BIC of each candidate on the selection data (standardised units).
    select_series_ : list
        The ``unique_id`` of the series the selection used.
    scales_ : dict {unique_id: (centre, scale)}
        The affine map from observations to ``model_``'s units (identity with ``scale="global"``).
    """

    _is_global = True

    def __init__(self, n_states="auto", emission: str = "gaussian", on: str = "auto", season_length="auto",
                 covariance_type: str = "diag", n_mix: int = 2, scale: str = "global", n_init: int = 3,
                 n_iter: int = 200, tol: float = 1e-6, max_select_obs: int | None = 50_000, n_samples: int = 1000,
                 random_state=None):
        self.n_states = n_states
        self.emission = emission
        self.on = on
        self.season_length = season_length
        self.covariance_type = covariance_type
        self.n_mix = n_mix
        self.scale = scale
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.max_select_obs = max_select_obs
        self.n_samples = n_samples
        self.random_state = random_state

    # -------------------------------------------------------------------------------------- validation
    def _min_length(self) -> int:
        m = self.season_length
        if m == "auto":
            return 3
        m = check_positive_int(m, "season_length", "HMMForecaster", alternatives="'auto'")
        return 2 if self.on == "levels" else m + 2

    def _resolve(self, panel: Panel) -> None:
        """``season_length_`` and ``on_`` from the data where they are "auto" (see ``on``)."""
        m = self.season_length
        if m == "auto":
            m = panel_season([s.y for s in panel.series]) or 1
        on = self.on
        if on == "auto":
            on = "differences" if m > 1 or _mostly_unit_root([s.y for s in panel.series]) else "levels"
        n_min = min(len(s.y) for s in panel.series)
        if on != "levels" and n_min < m + 2:
            if self.season_length != "auto":
                raise ValueError(f"HMMForecaster: the shortest series has {n_min} values, too few for lag "
                                 f"season_length={m} (needs {m + 2})")
            m = 1
        self.on_, self.season_length_ = on, int(m)

    def _candidates(self) -> list[int]:
        ns = self.n_states
        if isinstance(ns, str):
            if ns != "auto":
                raise ValueError(f"HMMForecaster: n_states must be 'auto', an int or a list of ints, got {ns!r}")
            return list(range(1, 7))
        cands = [ns] if np.isscalar(ns) else list(ns) if isinstance(ns, (Sequence, range, np.ndarray)) else None
        if not cands or any(isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1
                            for k in cands):
            raise ValueError(f"HMMForecaster: n_states must be 'auto', a positive int or a list of them, got {ns!r}")
        return sorted({int(k) for k in cands})

    def _check_params(self) -> None:
        for name, allowed in (("emission", _EMISSIONS), ("on", _ON), ("scale", _SCALES),
                              ("covariance_type", _COV_TYPES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"HMMForecaster: {name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("n_init", "n_iter", "n_samples", "n_mix"):
            check_positive_int(getattr(self, name), name, "HMMForecaster")
        check_positive_int(self.max_select_obs, "max_select_obs", "HMMForecaster", allow_none=True)
        if not isinstance(self.tol, (int, float, np.number)) or not self.tol >= 0:
            raise ValueError(f"HMMForecaster: tol must be a non-negative number, got {self.tol!r}")

    # -------------------------------------------------------------------------------------- observations
    def _lag(self) -> int:
        return 1 if self.on_ == "levels" else self.season_length_

    def _observations(self, s: SeriesData) -> np.ndarray:
        """The modelled observations of one series: levels, lag-``m`` differences or lag-``m`` log returns."""
        if self.on_ == "levels":
            return s.y
        m = self._lag()
        if self.on_ == "differences":
            return s.y[m:] - s.y[:-m]
        if (s.y <= 0).any():
            raise ValueError(f"series {s.uid!r}: on='returns' needs strictly positive values "
                             f"(first non-positive at position {int(np.flatnonzero(s.y <= 0)[0])})")
        ly = np.log(s.y)
        return ly[m:] - ly[:-m]

    def _obs_stamps(self, s: SeriesData) -> np.ndarray:
        return s.ds if self.on_ == "levels" else s.ds[self._lag():]

    def _affine(self, uid) -> tuple[float, float]:
        """``(centre, scale)`` with observations ``x = centre + scale * z`` and ``z`` in ``model_``'s units."""
        return self.scales_.get(uid, self._pooled_affine_)

    # -------------------------------------------------------------------------------------- fitting
    def _make(self, K: int, seed: int, n_obs: int):
        common = dict(n_components=K, covariance_type=self.covariance_type, n_iter=self.n_iter,
                      tol=self.tol * n_obs, random_state=seed, implementation="scaling")
        if self.emission == "gmm":
            return _GMMHMM(n_mix=self.n_mix, **common)
        return hmm.GaussianHMM(**common)

    def _initialise(self, model, K: int, Z: np.ndarray, restart: int, rng) -> None:
        """Starting values (no k-means, which is slow for tiny data and thread-hungry).

        Restart 0: state means at the data quantiles ``(k + 1/2) / K``, transitions 0.9 on the diagonal. Later
        restarts: means at random quantile levels, transition rows drawn from a Dirichlet with a heavy diagonal.
        Variances are the within-group variance of the data split at the midpoints between the means; with
        ``emission="gmm"`` a state's components start at its mean ``± 0.5`` within-group standard deviations.
        """
        z = Z[:, 0]
        if restart == 0:
            u = (np.arange(K) + 0.5) / K
            A = np.full((K, K), 0.1 / max(K - 1, 1))
            np.fill_diagonal(A, 0.9 if K > 1 else 1.0)
        else:
            u = np.sort(rng.uniform(0.02, 0.98, size=K))
            A = rng.dirichlet(np.ones(K), size=K) + np.eye(K) * K
            A /= A.sum(axis=1, keepdims=True)
        means = np.quantile(z, u)
        cuts = 0.5 * (means[1:] + means[:-1])
        groups = np.searchsorted(cuts, z)
        var = max(float(np.mean((z - means[groups]) ** 2)), 1e-2)
        model.startprob_ = np.full(K, 1.0 / K)
        model.transmat_ = A
        model.init_params = ""
        if self.emission == "gaussian":
            model.means_ = means.reshape(K, 1)
            model.covars_ = _type_covars(np.full(K, var), self.covariance_type)
            return
        M = self.n_mix
        offsets = np.linspace(-0.5, 0.5, M) if M > 1 else np.zeros(1)
        model.weights_ = np.full((K, M), 1.0 / M)
        model.means_ = (means[:, None] + np.sqrt(var) * offsets[None]).reshape(K, M, 1)
        shape = {"diag": (K, M, 1), "spherical": (K, M), "full": (K, M, 1, 1), "tied": (K, 1, 1)}
        model.covars_ = np.full(shape[self.covariance_type], var)

    def _fit_K(self, K: int, Z: np.ndarray, lengths: list[int], rs):
        best, best_ll, errors = None, -np.inf, []
        seeds = rs.randint(np.iinfo(np.int32).max, size=self.n_init)
        for restart, seed in enumerate(seeds):
            model = self._make(K, int(seed), len(Z))
            self._initialise(model, K, Z, restart, np.random.default_rng(int(seed)))
            try:
                with _quiet_hmmlearn():
                    try:
                        model.fit(Z, lengths)
                    except ValueError as e:  # the faster scaled recursions underflow on extreme outliers
                        if "underflow" not in str(e):
                            raise
                        model = self._make(K, int(seed), len(Z))
                        self._initialise(model, K, Z, restart, np.random.default_rng(int(seed)))
                        model.implementation = "log"
                        model.fit(Z, lengths)
                model.implementation = "log"  # robust decoding of any later data
                ll = model.score(Z, lengths)
            except (ValueError, np.linalg.LinAlgError) as e:  # degenerate restart (an empty state, ...)
                errors.append(str(e))
                continue
            ok = np.isfinite(ll) and np.allclose(model.transmat_.sum(axis=1), 1) and np.isfinite(model.means_).all()
            if ok and ll > best_ll:
                best, best_ll = model, ll
        if best is None:
            raise RuntimeError(f"HMMForecaster: every EM restart with {K} states failed: {errors[:1]}")
        return best

    def _fit_panel(self, panel: Panel) -> None:
        self._check_params()
        self._resolve(panel)
        cands = self._candidates()
        obs = [self._observations(s) for s in panel.series]
        allx = np.concatenate(obs)
        c0, s0 = float(allx.mean()), float(allx.std())
        s0 = s0 if s0 > 0 else 1.0
        if self.scale == "series":
            scales = {}
            for s, x in zip(panel.series, obs):
                sd = float(x.std())
                scales[s.uid] = (float(x.mean()), sd if sd > 0 else s0)
            Z = np.concatenate([(x - scales[s.uid][0]) / scales[s.uid][1] for s, x in zip(panel.series, obs)])
        else:
            scales = {s.uid: (0.0, 1.0) for s in panel.series}
            Z = (allx - c0) / s0
        Z = Z.reshape(-1, 1)
        lengths = [len(x) for x in obs]
        if len(Z) < max(cands) + 1 and len(cands) == 1:
            raise ValueError(f"HMMForecaster: {len(Z)} observations are too few for {max(cands)} states")
        cands = [k for k in cands if k < len(Z)] or [1]
        rs = check_random_state(self.random_state)
        sel = self._selection_series(lengths, rs) if len(cands) > 1 else np.arange(len(lengths))
        starts = np.r_[0, np.cumsum(lengths)]
        Zs = np.concatenate([Z[starts[i]:starts[i + 1]] for i in sel])
        ls = [lengths[i] for i in sel]
        self.bic_ = {}
        best, best_bic = None, np.inf
        for K in cands:
            model = self._fit_K(K, Zs, ls, rs)
            bic = float(model.bic(Zs, ls))
            self.bic_[K] = bic
            if bic < best_bic:
                best, best_bic = model, bic
        if len(sel) < len(lengths):  # chosen on a subset: EM on everything, from the subset's best fit
            best = self._refit(best, Z, lengths)
        self.select_series_ = [panel.series[i].uid for i in sel]
        self.n_states_ = best.n_components
        self.model_ = best if self.scale == "series" else rescale_model(best, c0, s0)
        self.scales_ = scales
        self._pooled_affine_ = (0.0, 1.0) if self.scale == "global" else (c0, s0)
        self._sim_seed_ = int(rs.randint(np.iinfo(np.int32).max))

    def _refit(self, model, Z: np.ndarray, lengths: list[int]):
        """Continue EM on all the data from the parameters of ``model`` (fitted on a subset)."""
        full = copy.deepcopy(model)
        full.init_params = ""
        full.tol = self.tol * len(Z)
        with _quiet_hmmlearn():
            try:
                full.implementation = "scaling"
                full.fit(Z, lengths)
            except ValueError as e:
                if "underflow" not in str(e):
                    raise
                full = copy.deepcopy(model)
                full.init_params, full.tol, full.implementation = "", self.tol * len(Z), "log"
                full.fit(Z, lengths)
        full.implementation = "log"
        return full

    def _selection_series(self, lengths: list[int], rs) -> np.ndarray:
        """Indices of whole series, drawn at random, with at most ``max_select_obs`` observations in all (at
        least one series); every series when they fit."""
        cap = self.max_select_obs
        if cap is None or sum(lengths) <= cap:
            return np.arange(len(lengths))
        order = rs.permutation(len(lengths))
        keep = order[np.cumsum(np.asarray(lengths)[order]) <= cap]
        return np.sort(keep) if len(keep) else order[:1]

    # -------------------------------------------------------------------------------------- filtering
    def _filter(self, s: SeriesData, uid=None) -> tuple[np.ndarray, np.ndarray]:
        """Filtered state probabilities ``(n_obs, K)`` and one-step predictive log densities ``(n_obs,)`` of
        one series, in the units of its observations."""
        x = self._observations(s)
        c, sc = self._affine(s.uid if uid is None else uid)
        w, mu, var = emission_components(self.model_)
        filt, logpred = forward_filter(log_emissions((x - c) / sc, w, mu, var), self.model_.startprob_,
                                       self.model_.transmat_)
        return filt, logpred - np.log(sc)

    def _log_predictive(self, s: SeriesData) -> np.ndarray:
        """``log p(x_t | x_1..x_{t-1})`` per observation of ``s`` (no look-ahead)."""
        return self._filter(s)[1]

    # -------------------------------------------------------------------------------------- forecasting
    def _state_paths(self, a_T: np.ndarray, h: int) -> np.ndarray:
        """``p_j = a_T A^j`` for ``j = 1..h``, shape ``(h, K)``."""
        A = self.model_.transmat_
        out = np.empty((h, len(a_T)))
        p = a_T
        for j in range(h):
            p = p @ A
            out[j] = p / p.sum()
        return out

    def _forecast_one(self, s: SeriesData, h: int, levels: list):
        filt, _ = self._filter(s)
        P = self._state_paths(filt[-1], h)
        c, sc = self._affine(s.uid)
        w, mu, var = emission_components(self.model_)
        mu, sd = c + sc * mu, sc * np.sqrt(var)
        if self.on_ == "levels":
            W = (P[:, :, None] * w[None]).reshape(h, -1)
            MU, SD = np.broadcast_to(mu.ravel(), W.shape), np.broadcast_to(sd.ravel(), W.shape)
            mean = (W * MU).sum(axis=1)
            intervals = {}
            if levels:
                q = np.array([p for lv in levels for p in (0.5 - lv / 200, 0.5 + lv / 200)])
                Q = mixture_quantiles(q, W, MU, SD)
                intervals = {lv: (Q[:, 2 * i], Q[:, 2 * i + 1]) for i, lv in enumerate(levels)}
            return mean, intervals
        m = self._lag()
        base = s.y[-m:]  # y_{T+j} builds on y_{T+j-m}: observed for j <= m, else itself a forecast
        A = self.model_.transmat_
        if self.on_ == "differences":  # y_{T+j} = y_{T+j-m} + x_{T+j}
            step_mean = P @ (w * mu).sum(axis=1)
            mean = np.empty(h)
            for j in range(h):
                mean[j] = (base[j] if j < m else mean[j - m]) + step_mean[j]
        else:  # y_{T+j} = y_{T+j-m} exp(x_{T+j}): E[prod over j, j-m, ... of exp(x)] = a_T (A D_j)(A D_j)... 1
            D = (w * np.exp(mu + 0.5 * sd**2)).sum(axis=1)
            mean = np.empty(h)
            for j in range(h):
                v = filt[-1]
                for i in range(j + 1):
                    v = v @ A
                    if (j - i) % m == 0:
                        v = v * D
                mean[j] = base[j % m] * v.sum()
        intervals = {}
        if levels:
            x = self._simulate(filt[-1], h, w, mu, sd)
            paths = np.empty_like(x)
            for j in range(h):
                prev = base[j] if j < m else paths[:, j - m]
                paths[:, j] = prev + x[:, j] if self.on_ == "differences" else prev * np.exp(x[:, j])
            for lv in levels:
                lo, hi = np.quantile(paths, [0.5 - lv / 200, 0.5 + lv / 200], axis=0)
                intervals[lv] = (lo, hi)
        return mean, intervals

    def _simulate(self, a_T, h, w, mu, sd) -> np.ndarray:
        """``n_samples`` simulated future observation paths ``(n_samples, h)`` (seeded at fit time)."""
        rng = np.random.default_rng(self._sim_seed_)
        N = self.n_samples
        cumA = np.cumsum(self.model_.transmat_, axis=1)
        cumw = np.cumsum(w, axis=1)
        state = np.minimum((rng.random(N)[:, None] > np.cumsum(a_T)[None]).sum(axis=1), len(a_T) - 1)
        out = np.empty((N, h))
        for j in range(h):
            state = np.minimum((rng.random(N)[:, None] > cumA[state]).sum(axis=1), len(a_T) - 1)
            comp = np.minimum((rng.random(N)[:, None] > cumw[state]).sum(axis=1), w.shape[1] - 1)
            out[:, j] = mu[state, comp] + sd[state, comp] * rng.standard_normal(N)
        return out

    def _predict_panel(self, panel: Panel, h: int, X: dict, levels: list):
        return [self._forecast_one(s, h, levels) for s in panel.series]

    # -------------------------------------------------------------------------------------- decoding
    def _decode_input(self, y) -> Panel:
        self._check_fitted()
        if y is None:
            return self.panel_
        return to_panel(y, min_length=self._min_length(), model=self._describe())

    def _per_stamp(self, panel: Panel, values: list[np.ndarray], columns: list[str]):
        stamps = [self._obs_stamps(s) for s in panel.series]
        if panel.kind == "series":
            idx = to_pandas_index(panel, stamps[0])
            v = values[0]
            return pd.Series(v, index=idx, name=columns[0]) if v.ndim == 1 else pd.DataFrame(v, idx, columns)
        out = pd.DataFrame({
            "unique_id": np.repeat(np.array(panel.uids, dtype=object), [len(d) for d in stamps]),
            "ds": to_pandas_stamps(panel, np.concatenate(stamps)),
        })
        vals = np.concatenate(values)
        for i, col in enumerate(columns):
            out[col] = vals if vals.ndim == 1 else vals[:, i]
        return out

    def predict_state_proba(self, y=None, *, online: bool = False):
        """State probabilities per observed stamp.

        Parameters
        ----------
        y : pd.Series, 1-D array or long frame, optional
            Series to decode (default: the fitted ones). With ``on="differences"``/``"returns"`` the first
            ``season_length`` stamps of each series have no observation and are left out.
        online : bool, default False
            ``False``: smoothed ``P(s_t | x_1..x_n)`` (forward-backward, uses the whole series).
            ``True``: filtered ``P(s_t | x_1..x_t)``: appending data never changes a past value.

        Returns
        -------
        pd.DataFrame with columns ``state_0 .. state_{K-1}`` (plus ``unique_id, ds`` for a panel).
        """
        panel = self._decode_input(y)
        vals = []
        for s in panel.series:
            if online:
                vals.append(self._filter(s)[0])
            else:
                c, sc = self._affine(s.uid)
                vals.append(self.model_.predict_proba(((self._observations(s) - c) / sc).reshape(-1, 1)))
        return self._per_stamp(panel, vals, [f"state_{k}" for k in range(self.n_states_)])

    def predict_states(self, y=None, *, online: bool = False):
        """Most likely state per observed stamp.

        ``online=False``: the Viterbi path (the jointly most likely sequence, uses the whole series).
        ``online=True``: ``argmax_k P(s_t = k | x_1..x_t)`` from the forward filter only, never future data.

        Returns
        -------
        pd.Series of int named ``state`` (a long frame ``unique_id, ds, state`` for a panel).
        """
        panel = self._decode_input(y)
        vals = [self._decode(s, online) for s in panel.series]
        return self._per_stamp(panel, vals, ["state"])

    def plot_regimes(self, y=None, *, online: bool = False, ax=None):
        """Plot one series coloured by its decoded state (the first series of a panel unless ``y`` is given).

        A quick look from the model itself; :func:`tsrnn.report.plot_regimes` draws the report-layer figure
        (state-coloured background and a panel of state probabilities).

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        panel = self._decode_input(y)
        s = panel.series[0]
        one = Panel([s], "series", panel.freq, panel.index_type, [], s.uid, panel.tz)
        st = self._decode(s, online)
        idx = to_pandas_index(one, s.ds)
        if ax is None:
            _, ax = plt.subplots(figsize=(10, 3))
        ax.plot(idx, s.y, color="0.7", lw=0.8, zorder=1)
        m = 0 if self.on_ == "levels" else self._lag()
        y_obs, x_obs = s.y[m:], idx[m:]
        cmap = plt.get_cmap("tab10")
        for k in range(self.n_states_):
            m = st == k
            if m.any():
                ax.scatter(x_obs[m], y_obs[m], s=6, color=cmap(k % 10), label=f"state {k}", zorder=2)
        ax.set_title(f"{s.uid}: {'filtered' if online else 'Viterbi'} states of a {self.n_states_}-state HMM")
        ax.legend(loc="best", fontsize="small", markerscale=2)
        return ax

    def _decode(self, s: SeriesData, online: bool) -> np.ndarray:
        if online:
            return self._filter(s)[0].argmax(axis=1)
        c, sc = self._affine(s.uid)
        return self.model_.predict(((self._observations(s) - c) / sc).reshape(-1, 1)).astype(int)
