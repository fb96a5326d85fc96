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


def _nupic_loop(scores, averaging, history, learning, estimation, reestimate):
    """NuPIC's AnomalyLikelihood procedure, record by record (the reference the vectorised version must equal)."""
    from collections import deque
    from math import erfc, sqrt

    hist, dist, out, prev = deque(maxlen=history), None, [], None

    def tail(x, mu, sd):
        x = 2 * mu - x if x < mu else x
        return 0.5 * erfc((x - mu) / sd / sqrt(2))

    def movavg(vals):
        return [np.mean(vals[max(0, i - averaging + 1):i + 1]) for i in range(len(vals))]

    for t, s in enumerate(scores):
        if t < learning + estimation:
            out.append(0.5)
        else:
            if dist is None or t % reestimate == 0:
                skip = min(t, max(0, learning - max(0, t - history)))
                agg = movavg(list(hist))
                if len(agg) <= skip:
                    dist = (0.5, 1e3)
                else:
                    a = np.array(agg[skip:])
                    dist = (max(a.mean(), 0.03), np.sqrt(max(a.var(), 0.0003)))
                prev = tail(agg[-1], *dist)
            m = np.mean((list(hist) + [s])[-averaging:])
            q = tail(m, *dist)
            filt = 1 - 0.999 if (q <= 1e-5 and prev <= 1e-5) else q
            out.append(1 - filt)
            prev = q
        hist.append(s)
    return np.array(out)


def test_numenta_likelihood_equals_nupics_procedure(rng):
    from tsrnn.anomaly.likelihood import numenta_likelihood

    s = np.abs(rng.normal(0, 0.1, 700))
    s[400:405] = 1.0  # a burst: red once, then yellow (the filter), then back
    s[550] = 0.8
    kw = {"averaging": 5, "history": 120, "learning": 30, "estimation": 20, "reestimate": 25}
    got = numenta_likelihood(s, **kw)
    np.testing.assert_allclose(got, _nupic_loop(s, **kw), rtol=0, atol=1e-12)
    assert (got[:50] == 0.5).all() and got[400] > 0.99999 and got[401] == pytest.approx(0.999)
    # NuPIC's defaults on a long stream
    s = rng.exponential(0.05, 1500)
    s[1200] = 3.0
    np.testing.assert_allclose(numenta_likelihood(s), _nupic_loop(s, 10, 8640, 288, 100, 100), atol=1e-12)


def test_numenta_likelihood_hand_case():
    from tsrnn.anomaly.likelihood import numenta_likelihood

    # constant 0.1 then 1.0: the averages before t=6 are all 0.1 -> mean 0.1, variance floored at 0.0003;
    # at t=6 the average of the last 2 scores is 0.55, z = 0.45 / sqrt(0.0003), L = 1 - Q(z)
    s = np.array([0.1] * 6 + [1.0, 0.1])
    got = numenta_likelihood(s, averaging=2, history=100, learning=1, estimation=5, reestimate=100)
    z = 0.45 / np.sqrt(0.0003)
    assert got[5] == pytest.approx(1 - stats.norm.sf(0.0 / np.sqrt(0.0003)))  # average 0.1 = mean: L = 0.5
    assert got[6] == pytest.approx(1 - stats.norm.sf(z), abs=1e-15) and got[6] > 1 - 1e-12
    assert got[7] == pytest.approx(0.999)  # still red after a red row: NuPIC's filter lowers it to yellow
    assert (got[:5] == 0.5).all()


def test_anomaly_likelihood_wraps_any_detector_and_fades_on_a_persistent_level(rng):
    from tsrnn.anomaly.likelihood import numenta_likelihood
    from tsrnn.anomaly.thresholds import AnomalyLikelihood

    y = rng.normal(size=3000)
    y[2000:] += 8 * rng.normal(size=1000) ** 2
    raw = RollingZScore(window=50, likelihood=False).fit(y[:1000])
    lik = AnomalyLikelihood(RollingZScore(window=50), history=500).fit(y[:1000])
    sl = lik.decision_function(y).to_numpy()
    want = numenta_likelihood(raw.decision_function(y).to_numpy() ** 2, history=500)
    np.testing.assert_allclose(sl, want)
    assert sl[2000:2020].max() > 0.99999 and ((sl >= 0) & (sl <= 1)).all()
    np.testing.assert_allclose(lik.decision_function(y[:2100]).to_numpy(), sl[:2100])
    assert lik.threshold_ == pytest.approx(1 - 1e-5)
    flags = lik.predict(y).to_numpy()
    assert flags[2000:2020].any() and flags.sum() <= 10
    # the detector's own likelihood output is the same wrapper
    np.testing.assert_allclose(RollingZScore(window=50).fit(y[:1000]).decision_function(y).to_numpy(),
                               numenta_likelihood(raw.decision_function(y).to_numpy() ** 2))
