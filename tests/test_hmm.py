"""HMMForecaster against hmmlearn's own likelihood, posteriors and BIC, a hand-computed n-step propagation, exact
path enumeration, and data simulated from a known 3-state Gaussian HMM."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hmmlearn import hmm
from scipy import stats
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tsrnn.models import HMMForecaster
from tsrnn.models.hmm import forward_filter, mixture_quantiles

TRUE_A = np.array([[0.92, 0.05, 0.03], [0.04, 0.90, 0.06], [0.10, 0.05, 0.85]])
TRUE_MU = np.array([-2.0, 1.0, 4.0])
TRUE_SD = np.array([0.8, 0.6, 1.0])


def simulate(n: int, seed: int, loc: float = 10.0, scale: float = 5.0) -> np.ndarray:
    """``loc + scale * x`` with ``x`` drawn from the known 3-state Gaussian HMM."""
    g = hmm.GaussianHMM(3, covariance_type="diag")
    g.startprob_ = np.full(3, 1 / 3)
    g.transmat_ = TRUE_A
    g.means_ = TRUE_MU.reshape(3, 1)
    g.covars_ = (TRUE_SD**2).reshape(3, 1)
    x, _ = g.sample(n, random_state=seed)
    return loc + scale * x[:, 0]


def daily(values, start="2000-01-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"), name="y")


@pytest.fixture(scope="module")
def auto_fit():
    """BIC selection over 1..6 states on 4000 simulated observations (in units loc=10, scale=5)."""
    y = daily(simulate(4000, seed=1))
    return HMMForecaster(n_states="auto", n_init=2, random_state=0).fit(y), y


def _match(est_means: np.ndarray) -> np.ndarray:
    """Permutation ``p`` with ``est[p[k]]`` the estimated state closest to true state ``k``."""
    best = min(itertools.permutations(range(3)), key=lambda p: np.abs(est_means[list(p)] - TRUE_MU).sum())
    return np.array(best)


def test_bic_picks_three_states_and_recovers_parameters(auto_fit):
    f, _ = auto_fit
    assert f.n_states_ == 3, f.bic_
    assert set(f.bic_) == set(range(1, 7)) and min(f.bic_, key=f.bic_.get) == 3
    # model_ is in the units of y (means_ are levels): map back to the simulation's units to compare
    mu = (f.model_.means_.ravel() - 10.0) / 5.0
    sd = np.sqrt(f.model_.covars_.ravel()) / 5.0
    p = _match(mu)
    np.testing.assert_array_less(np.abs(mu[p] - TRUE_MU), 0.1 * TRUE_SD)
    np.testing.assert_allclose(sd[p], TRUE_SD, rtol=0.1)
    A = f.model_.transmat_[np.ix_(p, p)]
    np.testing.assert_array_less(np.abs(A - TRUE_A), 0.05)


def test_bic_equals_hmmlearn(auto_fit):
    f, y = auto_fit
    x = y.to_numpy().reshape(-1, 1)
    # hmmlearn's BIC of the rescaled model differs from the standardised one only by 2 n log(scale)
    shift = 2 * len(x) * np.log(x.std())
    assert f.model_.bic(x) == pytest.approx(f.bic_[3] + shift, rel=1e-9)


def test_forward_loglik_equals_hmmlearn_score(auto_fit):
    f, y = auto_fit
    x = y.to_numpy()
    logpred = f._log_predictive(f.panel_.series[0])
    assert abs(logpred.sum() - f.model_.score(x.reshape(-1, 1))) < 1e-8 * max(1.0, abs(logpred.sum()))
    # the filtered distribution at the end of every prefix equals hmmlearn's posterior on that prefix
    filt = f.predict_state_proba(online=True).to_numpy()
    for t in (0, 1, 10, 500, 3999):
        np.testing.assert_allclose(filt[t], f.model_.predict_proba(x[: t + 1].reshape(-1, 1))[-1], atol=1e-10)
    # each one-step predictive density is a ratio of prefix likelihoods
    for t in (1, 7, 1234):
        ref = f.model_.score(x[: t + 1].reshape(-1, 1)) - f.model_.score(x[:t].reshape(-1, 1))
        assert logpred[t] == pytest.approx(ref, abs=1e-8)


@pytest.mark.parametrize("kw", [dict(emission="gmm", n_states=2), dict(scale="series", n_states=2),
                                dict(on="differences", n_states=2), dict(covariance_type="tied", n_states=2)])
def test_forward_loglik_on_a_panel_equals_hmmlearn(kw):
    r = np.random.default_rng(3)
    parts = [simulate(300, seed=s, loc=20 + 5 * s, scale=1 + s) for s in range(3)]
    panel = pd.concat([pd.DataFrame({"unique_id": f"u{i}", "ds": np.arange(len(v)), "y": v})
                       for i, v in enumerate(parts)], ignore_index=True)
    f = HMMForecaster(n_init=1, random_state=int(r.integers(100)), **kw).fit(panel)
    total, ref = 0.0, 0.0
    for s in f.panel_.series:
        x = f._observations(s)
        c, sc = f.scales_[s.uid]
        total += f._log_predictive(s).sum()
        ref += f.model_.score(((x - c) / sc).reshape(-1, 1)) - len(x) * np.log(sc)
    assert total == pytest.approx(ref, abs=1e-8 * abs(ref))
    # Viterbi and smoothed posteriors are hmmlearn's on each series
    states = f.predict_states()
    s0 = f.panel_.series[0]
    c, sc = f.scales_[s0.uid]
    x0 = ((f._observations(s0) - c) / sc).reshape(-1, 1)
    np.testing.assert_array_equal(states.loc[states.unique_id == "u0", "state"].to_numpy(), f.model_.predict(x0))
    proba = f.predict_state_proba()
    np.testing.assert_allclose(proba.loc[proba.unique_id == "u0", ["state_0", "state_1"]].to_numpy(),
                               f.model_.predict_proba(x0), atol=1e-12)


def test_forward_filter_matches_a_brute_force_sum_over_paths():
    rng = np.random.default_rng(0)
    K, n = 2, 5
    A = rng.dirichlet(np.ones(K), size=K)
    pi = rng.dirichlet(np.ones(K))
    logb = rng.normal(size=(n, K))
    filt, logpred = forward_filter(logb, pi, A)
    joint = np.zeros(K)
    total = 0.0
    for path in itertools.product(range(K), repeat=n):
        p = pi[path[0]] * np.exp(logb[0, path[0]])
        for t in range(1, n):
            p *= A[path[t - 1], path[t]] * np.exp(logb[t, path[t]])
        total += p
        joint[path[-1]] += p
    assert logpred.sum() == pytest.approx(np.log(total), abs=1e-12)
    np.testing.assert_allclose(filt[-1], joint / total, atol=1e-12)


def test_n_step_forecast_equals_hand_propagation(auto_fit):
    f, y = auto_fit
    h = 12
    out = f.predict(h, level=[80, 95])
    x = y.to_numpy().reshape(-1, 1)
    a_T = f.model_.predict_proba(x)[-1]  # the smoothed posterior at the last stamp is the filtered one
    A = f.model_.transmat_
    mu = f.model_.means_.ravel()
    sd = np.sqrt(f.model_.covars_.ravel())
    for j in range(1, h + 1):
        p = a_T @ np.linalg.matrix_power(A, j)
        assert out["HMMForecaster"].iloc[j - 1] == pytest.approx(p @ mu, rel=1e-10)
        for lv in (80, 95):
            lo, hi = out[f"HMMForecaster-lo-{lv}"].iloc[j - 1], out[f"HMMForecaster-hi-{lv}"].iloc[j - 1]
            assert float(p @ stats.norm.cdf(lo, mu, sd)) == pytest.approx(0.5 - lv / 200, abs=1e-9)
            assert float(p @ stats.norm.cdf(hi, mu, sd)) == pytest.approx(0.5 + lv / 200, abs=1e-9)
    # far ahead the state distribution is the stationary one
    evals, evecs = np.linalg.eig(A.T)
    stat = np.real(evecs[:, np.argmax(np.real(evals))])
    stat /= stat.sum()
    far = f.predict(400)
    assert far.iloc[-1] == pytest.approx(stat @ mu, rel=1e-8)


def test_mixture_quantiles_of_one_gaussian_are_normal_quantiles():
    q = np.array([0.025, 0.1, 0.5, 0.9])
    got = mixture_quantiles(q, np.ones((2, 1)), np.array([[1.0], [-3.0]]), np.array([[2.0], [0.5]]))
    np.testing.assert_allclose(got, stats.norm.ppf(q, [[1.0], [-3.0]], [[2.0], [0.5]]), atol=1e-10)


def _enumerate_paths(f, s, h, steps):
    """Exact law of the sum of the future observations at ``steps`` (1-based, <= h): a mixture over all K^h
    state paths, each a Gaussian with the summed means and variances."""
    a_T = f._filter(s)[0][-1]
    A = f.model_.transmat_
    c, sc = f._affine(s.uid)
    mu = c + sc * f.model_.means_.ravel()
    var = sc**2 * f.model_.covars_.ravel()
    K = len(mu)
    idx = [j - 1 for j in steps]
    w, m, v = [], [], []
    for path in itertools.product(range(K), repeat=h):
        p = (a_T @ A)[path[0]] * np.prod([A[path[i - 1], path[i]] for i in range(1, h)])
        w.append(p)
        m.append(mu[[path[i] for i in idx]].sum())
        v.append(var[[path[i] for i in idx]].sum())
    return np.array(w), np.array(m), np.array(v)


@pytest.mark.parametrize("on,m", [("differences", 1), ("returns", 1), ("differences", 3), ("returns", 2)])
def test_differences_and_returns_against_path_enumeration(on, m):
    y = daily(np.exp(np.cumsum(simulate(400, seed=5, loc=0.0, scale=0.01))) * 100)
    f = HMMForecaster(n_states=2, on=on, season_length=m, n_init=1, n_samples=20000, random_state=0).fit(y)
    h = 5
    out = f.predict(h, level=[80])
    s = f.panel_.series[0]
    steps = list(range(h, 0, -m))  # y_{T+h} = y_{T+h-m} (+) x_{T+h} = ... = y_base (+) x_h (+) x_{h-m} ...
    base = y.iloc[len(y) - m + (h - 1) % m]
    w, mu, v = _enumerate_paths(f, s, h, steps)
    qs = [mixture_quantiles(np.array([q]), w[None], mu[None], np.sqrt(v)[None])[0, 0] for q in (0.1, 0.9)]
    if on == "differences":
        mean, (lo, hi) = base + w @ mu, (base + q for q in qs)
    else:
        mean, (lo, hi) = base * (w @ np.exp(mu + v / 2)), (base * np.exp(q) for q in qs)
    assert out["HMMForecaster"].iloc[-1] == pytest.approx(mean, rel=1e-10)
    spread = hi - lo  # simulated quantiles: Monte Carlo error of a few per mille of the spread
    assert out["HMMForecaster-lo-80"].iloc[-1] == pytest.approx(lo, abs=0.03 * spread)
    assert out["HMMForecaster-hi-80"].iloc[-1] == pytest.approx(hi, abs=0.03 * spread)
    if m > 1:  # the first m steps build on observed values of the last season
        np.testing.assert_array_equal(f.predict_states().index, y.index[m:])


def test_interval_calibration_over_many_origins():
    """80 % intervals of a 3-state model cover 75-85 % of 1..6-step-ahead values over 200 forecast origins."""
    y = daily(simulate(2600, seed=11))
    f = HMMForecaster(n_states=3, n_init=2, random_state=0).fit(y.iloc[:1400])
    params = f.model_.transmat_.copy()
    hits, n = 0, 0
    for origin in range(1400, 2600 - 6, 6):
        if origin > 1400:
            f.update(y.iloc[origin - 6:origin])
        out = f.predict(6, level=[80])
        truth = y.iloc[origin:origin + 6].to_numpy()
        hits += int(((out["HMMForecaster-lo-80"].to_numpy() <= truth)
                     & (truth <= out["HMMForecaster-hi-80"].to_numpy())).sum())
        n += 6
    np.testing.assert_array_equal(f.model_.transmat_, params)  # update never re-estimates
    assert n >= 1000 and 0.75 <= hits / n <= 0.85, hits / n


def test_online_decoding_never_changes_the_past(auto_fit):
    f, y = auto_fit
    full = f.predict_state_proba(y, online=True)
    states = f.predict_states(y, online=True)
    for m in (50, 777, 2000):
        part = f.predict_state_proba(y.iloc[:m], online=True)
        np.testing.assert_array_equal(part.to_numpy(), full.iloc[:m].to_numpy())
        np.testing.assert_array_equal(f.predict_states(y.iloc[:m], online=True).to_numpy(), states.iloc[:m].to_numpy())
    # online states agree with Viterbi most of the time on well-separated regimes
    assert (states.to_numpy() == f.predict_states(y).to_numpy()).mean() > 0.9
    assert np.allclose(full.sum(axis=1), 1.0)


def test_update_moves_the_origin_without_refitting(auto_fit):
    f, y = auto_fit
    g = HMMForecaster(n_states=3, n_init=2, random_state=0).fit(y.iloc[:3000])
    before = {k: np.copy(getattr(g.model_, k)) for k in ("transmat_", "means_", "startprob_")}
    g.update(y.iloc[3000:])
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(g.model_, k), v)
    a_T = g.model_.predict_proba(y.to_numpy().reshape(-1, 1))[-1]
    expected = a_T @ g.model_.transmat_ @ g.model_.means_.ravel()
    assert g.predict(1).iloc[0] == pytest.approx(expected, rel=1e-10)


def test_global_panel_shares_one_model_and_scales_by_series():
    parts = {"small": simulate(500, seed=2, loc=1.0, scale=0.1), "big": simulate(500, seed=3, loc=1000.0, scale=80.0)}
    panel = pd.concat([pd.DataFrame({"unique_id": k, "ds": pd.date_range("2001-01-01", periods=500, freq="D"),
                                     "y": v}) for k, v in parts.items()], ignore_index=True)
    f = HMMForecaster(n_states=3, scale="series", n_init=2, random_state=0).fit(panel)
    out = f.predict(3, level=[80])
    assert list(out.unique_id.unique()) == ["small", "big"] and len(out) == 6
    small = out[out.unique_id == "small"]["HMMForecaster"].to_numpy()
    big = out[out.unique_id == "big"]["HMMForecaster"].to_numpy()
    assert np.all(np.abs(small - 1.0) < 1.0) and np.all(np.abs(big - 1000.0) < 500)
    # one shared model in standardised units: series means map back through each series' own (centre, scale)
    for uid, v in parts.items():
        c, sc = f.scales_[uid]
        assert c == pytest.approx(v.mean()) and sc == pytest.approx(v.std())
    mu = np.sort(f.model_.means_.ravel())
    assert mu[0] < -0.5 < 0.5 < mu[-1]


def test_levels_mean_may_be_skewed_but_intervals_are_mixture_quantiles():
    """A chain stuck in one of two far-apart states gives a bimodal 1-step law; quantiles are not mean ± z sd."""
    x = np.r_[np.zeros(200), np.full(200, 10.0), np.zeros(200)] + np.random.default_rng(0).normal(0, 0.3, 600)
    f = HMMForecaster(n_states=2, n_init=1, random_state=0).fit(daily(x))
    out = f.predict(40, level=[80]).iloc[-1]
    normal_lo = out["HMMForecaster"] - 1.2816 * np.sqrt(
        (f.model_.covars_.ravel() + f.model_.means_.ravel() ** 2) @ f._state_paths(f._filter(f.panel_.series[0])[0][-1],
                                                                              40)[-1] - out["HMMForecaster"] ** 2)
    assert abs(out["HMMForecaster-lo-80"] - normal_lo) > 0.5


def test_persistence_reproducibility_and_clone(auto_fit, joblib_roundtrip):
    f, _ = auto_fit
    g = joblib_roundtrip(f)
    pd.testing.assert_frame_equal(f.predict(5, level=[80]), g.predict(5, level=[80]))
    y = daily(np.abs(simulate(300, seed=4)) + 1)
    a = HMMForecaster(n_states=2, on="returns", random_state=7).fit(y).predict(5, level=[90])
    b = HMMForecaster(n_states=2, on="returns", random_state=7).fit(y).predict(5, level=[90])
    pd.testing.assert_frame_equal(a, b)
    c = clone(f)
    assert c.get_params() == f.get_params() and not hasattr(c, "model_")


def test_errors():
    y = daily(simulate(100, seed=0))
    with pytest.raises(NotFittedError):
        HMMForecaster().predict(3)
    with pytest.raises(NotFittedError):
        HMMForecaster().predict_states(y)
    for bad in (dict(n_states=0), dict(n_states="many"), dict(n_states=[2, -1]), dict(emission="t"),
                dict(on="logs"), dict(scale="none"), dict(tol=-1.0), dict(n_init=0), dict(covariance_type="diagonal")):
        with pytest.raises(ValueError):
            HMMForecaster(**bad).fit(y)
    with pytest.raises(ValueError, match="strictly positive"):
        HMMForecaster(n_states=2, on="returns").fit(y - 100)
    with pytest.raises(ValueError, match="exogenous"):
        HMMForecaster(n_states=2).fit(y, X=pd.DataFrame({"x": np.arange(100.0)}, index=y.index))


def test_plot_regimes(auto_fit):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f, y = auto_fit
    ax = f.plot_regimes(y.iloc[:300])
    assert len(ax.collections) == 3 and "3-state" in ax.get_title()
    assert sum(len(c.get_offsets()) for c in ax.collections) == 300
    plt.close("all")


def test_selection_on_a_subset_then_refit_on_all_series():
    """With more data than ``max_select_obs``, BIC compares candidates on whole random series, and the chosen
    number of states is refitted on everything."""
    parts = [simulate(800, seed=20 + i) for i in range(4)]
    panel = pd.concat([pd.DataFrame({"unique_id": f"u{i}", "ds": np.arange(800), "y": v})
                       for i, v in enumerate(parts)], ignore_index=True)
    f = HMMForecaster(n_states=[2, 3, 4], max_select_obs=1700, n_init=2, random_state=0).fit(panel)
    assert len(f.select_series_) == 2 and set(f.bic_) == {2, 3, 4} and f.n_states_ == 3
    x = panel["y"].to_numpy().reshape(-1, 1)
    sub = HMMForecaster(n_states=3, n_init=2, random_state=0).fit(
        panel[panel.unique_id.isin(f.select_series_)])
    assert f.model_.score(x, [800] * 4) >= sub.model_.score(x, [800] * 4)  # refitting on all data beats the subset fit
    mu = (f.model_.means_.ravel() - 10.0) / 5.0
    p = _match(mu)
    np.testing.assert_array_less(np.abs(f.model_.transmat_[np.ix_(p, p)] - TRUE_A), 0.05)
