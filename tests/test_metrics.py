"""Metrics against hand-computed values and the M4 paper's Hourly Naive2 figures."""

import numpy as np
import pytest
from scipy import stats

from tsrnn.metrics import coverage, crps, mae, mape, mase, mase_scale, msis, owa, pinball_loss, rmse, smape


def test_hand_computed_values():
    y, f = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0])
    assert mae(y, f) == pytest.approx((1 + 0 + 3) / 3)
    assert rmse(y, f) == pytest.approx(np.sqrt((1 + 0 + 9) / 3))
    assert mape(y, f) == pytest.approx(100 * (1 / 1 + 0 + 3 / 4) / 3)
    # M4 sMAPE: 200/h * sum |y-f| / (|y|+|f|)
    assert smape(y, f) == pytest.approx(200 / 3 * (1 / 3 + 0 + 3 / 5))
    assert smape(np.zeros(2), np.zeros(2)) == 0.0
    assert smape(np.array([1.0]), np.array([-1.0])) == pytest.approx(200.0)


def test_mase_scale_is_in_sample_seasonal_naive_mae():
    train = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    assert mase_scale(train, 1) == pytest.approx((2 + 1 + 3 + 1) / 4)
    assert mase_scale(train, 2) == pytest.approx((1 + 2 + 2) / 3)
    assert mase(np.array([6.0, 6.0]), np.array([5.0, 8.0]), train, 2) == pytest.approx(1.5 / (5 / 3))
    with pytest.raises(ValueError, match="season_length=5"):
        mase_scale(train, 5)


def test_rowwise_on_2d():
    Y = np.array([[1.0, 2.0], [3.0, 5.0]])
    F = np.array([[1.0, 1.0], [3.0, 3.0]])
    np.testing.assert_allclose(mae(Y, F), [0.5, 1.0])
    np.testing.assert_allclose(mase(Y, F, scale=np.array([0.5, 2.0])), [1.0, 0.5])


def test_owa_coverage_pinball():
    assert owa(10, 1, 20, 2) == pytest.approx(0.5)
    assert coverage(np.array([1.0, 2, 3, 4]), np.array([0.0, 2.5, 2, 0]), np.array([2.0, 3, 4, 3])) == 0.5
    y, q = np.array([10.0, 10.0]), np.array([8.0, 12.0])
    assert pinball_loss(y, q, 0.9) == pytest.approx((0.9 * 2 + 0.1 * 2) / 2)
    with pytest.raises(ValueError, match="quantile"):
        pinball_loss(y, q, 1.5)
    with pytest.raises(ValueError, match="shape"):
        mae(np.zeros(3), np.zeros(2))


def test_owa_with_unequal_ratios_matches_the_m4_paper():
    """M4 paper (Makridakis et al. 2020), Hourly: ES-RNN sMAPE 9.328, MASE 0.893, OWA 0.440 against Naive2's
    18.383 and 2.395. The two ratios (0.507, 0.373) differ, so a geometric mean (0.435) would not match."""
    assert owa(9.328, 0.893, 18.383, 2.395) == pytest.approx(0.440, abs=5e-4)
    assert owa(18.138, 2.455, 18.383, 2.395) == pytest.approx(1.006, abs=5e-4)  # Theta, Hourly


def test_msis_is_m4s_formula_by_hand():
    y = np.array([10.0, 12.0, 20.0])
    lo, hi = np.array([8.0, 13.0, 9.0]), np.array([11.0, 15.0, 18.0])
    insample = np.array([1.0, 3.0, 2.0, 5.0, 4.0])  # seasonal-naive (m=1) MAE = 7/4
    # a = 0.05, 2/a = 40: inside -> width 3; below by 1 -> 2 + 40; above by 2 -> 9 + 80
    assert msis(y, lo, hi, insample, m=1) == pytest.approx((3 + 42 + 89) / 3 / 1.75)
    # level 80: 2/a = 10; m = 2: scale (1 + 2 + 2)/3
    assert msis(y, lo, hi, insample, m=2, level=80) == pytest.approx((3 + 12 + 29) / 3 / (5 / 3))
    np.testing.assert_allclose(msis(np.vstack([y, y]), np.vstack([lo, lo]), np.vstack([hi, hi]),
                                    scale=np.array([1.75, 3.5])), [134 / 3 / 1.75, 134 / 3 / 3.5])
    with pytest.raises(ValueError, match="insample"):
        msis(y, lo, hi)


def _crps_normal(y, mu, s):
    z = (y - mu) / s
    return s * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def test_crps_against_the_normal_closed_form():
    """Gneiting and Raftery (2007): CRPS(N(mu, s^2), y) = s [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]."""
    y = np.array([0.3, -1.2, 2.5, 0.0])
    mu, s = 0.1, 1.3
    exact = _crps_normal(y, mu, s)
    K = 2000
    q = (np.arange(1, K + 1) - 0.5) / K
    Q = mu + s * stats.norm.ppf(q)[:, None] * np.ones_like(y)
    for i in range(len(y)):
        assert crps(y[i:i + 1], Q[:, i:i + 1], q) == pytest.approx(exact[i], rel=2e-3)
    draws = np.random.default_rng(0).normal(mu, s, size=(20000, len(y)))
    for i in range(len(y)):
        assert crps(y[i:i + 1], draws[:, i:i + 1]) == pytest.approx(exact[i], rel=3e-2)
    assert crps(y, Q, q) == pytest.approx(exact.mean(), rel=2e-3)


def test_crps_of_samples_is_the_empirical_formula():
    x = np.array([[1.0], [4.0], [2.5]])
    y = np.array([2.0])
    brute = np.abs(x - y).mean() - 0.5 * np.abs(x - x.T).mean()
    assert crps(y, x) == pytest.approx(brute)
    assert crps(y, np.array([[2.0]])) == 0.0  # a point mass on the truth
    assert crps(np.array([3.0]), np.array([[1.0]])) == pytest.approx(2.0)  # a point mass: the absolute error


def test_interval_metrics_in_backtest():
    from tsrnn.backtest import backtest
    from tsrnn.models import Naive

    r = np.random.default_rng(0)
    y = np.cumsum(r.normal(size=60)) + 50
    res = backtest([Naive()], y, h=5, n_windows=2, metrics=("mase", "msis", "crps"), level=[80, 95],
                   progress=False)
    got = res.scores.pivot_table(index="cutoff", columns="metric", values="value")
    fc = res.forecasts
    for cut, g in fc.groupby("cutoff"):
        train = y[: int(cut) + 1]
        want = msis(g["y"], g["Naive-lo-95"], g["Naive-hi-95"], train, m=1, level=95)
        assert got.loc[cut, "msis-95"] == pytest.approx(want)
        q = [0.5, 0.1, 0.9, 0.025, 0.975]
        P = np.stack([g[c] for c in ("Naive", "Naive-lo-80", "Naive-hi-80", "Naive-lo-95", "Naive-hi-95")])
        assert got.loc[cut, "crps"] == pytest.approx(crps(g["y"].to_numpy(), P, q))
    lb = res.leaderboard()
    assert {"msis-80", "msis-95", "crps", "coverage-80"} <= set(lb.columns)
    with pytest.raises(ValueError, match="level"):
        backtest([Naive()], y, h=5, metrics=("msis",), progress=False)


def test_as_loss_reads_a_level_suffix_as_its_score():
    from tsrnn.metrics import as_loss

    np.testing.assert_array_equal(as_loss("msis-95", [3.0, 1.0]), [3.0, 1.0])  # lower is better, as msis
    np.testing.assert_array_equal(as_loss("msis-80", [3.0, 1.0]), [3.0, 1.0])
    np.testing.assert_allclose(as_loss("coverage-80", [0.7, 0.85, 0.8]), [0.1, 0.05, 0.0])  # distance to 80 %
    np.testing.assert_array_equal(as_loss("crps", [2.0]), [2.0])
    np.testing.assert_array_equal(as_loss("nab_standard", [50.0]), [-50.0])  # higher is better
