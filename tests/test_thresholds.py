"""Threshold strategies: fixed quantile, rolling quantile (vs a brute-force loop), peaks over threshold (vs the
exact quantiles of exponential and generalised Pareto laws, and the false-alarm rate on fresh data)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tsrnn.anomaly import RollingZScore
from tsrnn.anomaly.thresholds import (
    POTThreshold,
    QuantileThreshold,
    RollingQuantileThreshold,
    apply_cooldown,
    gpd_threshold,
    make_threshold,
)


def test_quantile_threshold(rng):
    s = rng.normal(size=5000)
    t = QuantileThreshold(contamination=0.02).fit(s)
    assert t.threshold_ == pytest.approx(np.quantile(s, 0.98))
    assert t.flags(s).mean() == pytest.approx(0.02, abs=1e-3)
    with pytest.raises(ValueError, match="contamination"):
        QuantileThreshold(contamination=1.5).fit(s)


def test_rolling_quantile_matches_a_loop_and_never_looks_ahead(rng):
    train = rng.normal(size=200)
    s = np.concatenate([rng.normal(size=300), 3 + rng.normal(size=300)])
    th = RollingQuantileThreshold(contamination=0.05, window=50, min_periods=20).fit(train)
    got = th.thresholds(s)
    for t in range(len(s)):
        past = s[max(0, t - 50):t]
        want = np.quantile(past, 0.95) if len(past) >= 20 else th.threshold_
        assert got[t] == pytest.approx(want), t
    # the level shift at 300 is flagged at first, then absorbed by the rolling window
    f = th.flags(s)
    assert f[300:310].mean() > 0.5 and f[400:].mean() < 0.15
    s2 = s.copy()
    s2[450:] += 100
    assert np.array_equal(th.thresholds(s2)[:451], got[:451])


def test_pot_threshold_matches_the_exponential_quantile(rng):
    s = rng.exponential(size=100_000)
    th = POTThreshold(risk=1e-4, init_quantile=0.98).fit(s)
    assert th.threshold_ == pytest.approx(-np.log(1e-4), rel=0.06)  # 9.21, beyond every empirical quantile
    fresh = rng.exponential(size=200_000)
    assert th.flags(fresh).mean() == pytest.approx(1e-4, rel=0.6)


def test_pot_threshold_matches_a_gpd_tail(rng):
    gamma, sigma, q = 0.25, 2.0, 1e-3
    s = stats.genpareto.rvs(gamma, scale=sigma, size=60_000, random_state=rng)
    th = POTThreshold(risk=q, init_quantile=0.95).fit(s)
    assert th.threshold_ == pytest.approx(stats.genpareto.ppf(1 - q, gamma, scale=sigma), rel=0.1)
    # formula with gamma ~ 0 reduces to t - sigma log(q n / N_t)
    peaks = rng.exponential(size=5000)
    z = gpd_threshold(peaks, 1.0, 100_000, 1e-4)
    assert z == pytest.approx(1.0 - np.log(1e-4 * 100_000 / 5000), rel=0.05)


def test_spot_streams_and_ignores_alarms(rng):
    train = rng.exponential(size=5000)
    th = POTThreshold(risk=1e-3, dynamic=True).fit(train)
    stream = rng.exponential(size=5000)
    stream[2500] = 50.0
    z = th.thresholds(stream)
    assert z[0] == pytest.approx(th.threshold_)
    assert z[2501] == z[2500]  # the alarm did not join the tail model
    assert th.flags(stream)[2500] == 1
    assert th.flags(stream).mean() < 0.004
    assert z[-1] == pytest.approx(-np.log(1e-3), rel=0.15)


def test_cooldown_keeps_one_alarm_per_burst():
    f = np.zeros(30, dtype=int)
    f[[2, 3, 4, 9, 10, 20]] = 1
    assert np.flatnonzero(apply_cooldown(f, 5)).tolist() == [2, 9, 20]
    assert np.array_equal(apply_cooldown(f, 0), f)


def test_make_threshold_and_detector_integration(rng):
    assert isinstance(make_threshold("pot", 0.01), POTThreshold)
    assert make_threshold(RollingQuantileThreshold(window=7), 0.5).window == 7
    with pytest.raises(ValueError, match="threshold"):
        make_threshold("bogus", 0.01)
    y = rng.normal(size=1500)
    y[1200] = 12
    for kind in ("quantile", "rolling", "pot", "spot"):
        det = RollingZScore(window=50, threshold=kind, contamination=0.01, cooldown=20).fit(y[:500])
        flags = det.predict(y).to_numpy()
        assert flags[1200] == 1, kind
        assert flags.sum() < 60, kind
        assert det.thresholder_.threshold_ == det.threshold_


def test_likelihood_z_matches_a_loop_and_anomaly_likelihood_wraps_any_detector(rng):
    from tsrnn.anomaly.thresholds import AnomalyLikelihood, likelihood_z

    s = rng.exponential(size=400)
    z = likelihood_z(s, short=5, long=50, min_periods=20)
    for t in range(400):
        past = s[max(0, t - 5 - 50 + 1):max(0, t - 5 + 1)]
        if len(past) < 20:
            assert z[t] == 0.0, t
            continue
        want = (s[max(0, t - 4):t + 1].mean() - past.mean()) / past.std(ddof=1)
        assert z[t] == pytest.approx(max(want, 0.0)), t
    # a level that persists stops alarming: the raw z-score stays high, the likelihood fades
    y = rng.normal(size=3000)
    y[2000:] += 8 * rng.normal(size=1000) ** 2
    raw = RollingZScore(window=50).fit(y[:1000])
    lik = AnomalyLikelihood(RollingZScore(window=50), long=500, threshold="pot", contamination=1e-3).fit(y[:1000])
    sl = lik.decision_function(y).to_numpy()
    assert sl[2000:2020].max() > 5 and np.median(sl[2600:]) < np.median(raw.decision_function(y).to_numpy()[2600:])
    np.testing.assert_allclose(lik.decision_function(y[:2100]).to_numpy(), sl[:2100])
