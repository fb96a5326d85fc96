"""Baselines: forecasts and intervals by the textbook formulas; Naive2 reproduces the M4 Hourly table."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tsrnn.models import Drift, Mean, Naive, Naive2, SeasonalNaive
from tsrnn.models.baselines import seasonal_indices, seasonality_test


def _y():
    return pd.Series([3.0, 5.0, 4.0, 6.0, 8.0, 7.0, 9.0, 10.0], index=pd.date_range("2024-01-01", periods=8, freq="D"))


def test_naive_and_intervals():
    y = _y()
    f = Naive().fit(y).predict(3, level=[95])
    resid = np.diff(y.values)
    sigma = np.sqrt(np.sum(resid**2) / len(resid))
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(f["Naive"], 10.0)
    np.testing.assert_allclose(f["Naive-hi-95"], 10 + z * sigma * np.sqrt([1, 2, 3]))


def test_seasonal_naive_repeats_last_season():
    y = _y()
    f = SeasonalNaive(season_length=3).fit(y).predict(5, level=[80])
    np.testing.assert_allclose(f["SeasonalNaive"], [7.0, 9.0, 10.0, 7.0, 9.0])
    resid = y.values[3:] - y.values[:-3]
    sigma = np.sqrt(np.mean(resid**2))
    width = f["SeasonalNaive-hi-80"] - f["SeasonalNaive"]
    np.testing.assert_allclose(width, stats.norm.ppf(0.9) * sigma * np.sqrt([1, 1, 1, 2, 2]))


def test_drift_and_mean():
    y = _y()
    f = Drift().fit(y).predict(2)
    np.testing.assert_allclose(f, [10 + 1, 10 + 2])  # slope (10 - 3) / 7 = 1
    f = Mean().fit(y).predict(2, level=[80])
    assert f["Mean"].iloc[0] == pytest.approx(y.mean())
    s = y.std(ddof=1) * np.sqrt(1 + 1 / 8)
    assert f["Mean-hi-80"].iloc[0] - f["Mean"].iloc[0] == pytest.approx(stats.norm.ppf(0.9) * s)


def test_naive2_is_naive_without_seasonality_and_reseasonalises_with_it():
    y = _y()
    np.testing.assert_allclose(Naive2(season_length=1).fit(y).predict(3), Naive().fit(y).predict(3))
    t = np.arange(96)
    seasonal = pd.Series((100 + t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12)))
    assert seasonality_test(seasonal.values, 12)
    si = seasonal_indices(seasonal.values, 12)
    assert si.mean() == pytest.approx(1.0)
    f = Naive2(season_length=12).fit(seasonal).predict(12)
    last_adj = seasonal.values[-1] / si[95 % 12]
    np.testing.assert_allclose(f.values, last_adj * si[(96 + np.arange(12)) % 12])


def test_seasonal_indices_match_statsmodels_decomposition():
    from statsmodels.tsa.seasonal import seasonal_decompose

    r = np.random.default_rng(1)
    t = np.arange(120)
    y = (50 + 0.2 * t) * (1 + 0.2 * np.cos(2 * np.pi * t / 12)) * r.lognormal(0, 0.02, 120)
    ours = seasonal_indices(y, 12)
    ref = seasonal_decompose(y, model="multiplicative", period=12).seasonal[:12]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


@pytest.mark.data
def test_naive2_reproduces_m4_hourly_table(mirror):
    """M4 paper (Makridakis et al. 2020), Hourly Naive2: sMAPE 18.383, MASE 2.395."""
    from tsrnn.datasets import load_m4
    from tsrnn.metrics import mase, mase_scale, smape

    train, test = load_m4("Hourly")
    fc = Naive2(season_length=24).fit(train).predict(48)
    y = test["y"].to_numpy().reshape(-1, 48)
    f = fc["Naive2"].to_numpy().reshape(-1, 48)
    assert y.shape == (414, 48)
    scales = [mase_scale(g.to_numpy(), 24) for _, g in train.groupby("unique_id", sort=False)["y"]]
    assert np.mean(smape(y, f)) == pytest.approx(18.383, abs=0.01)
    assert np.mean(mase(y, f, scale=np.array(scales))) == pytest.approx(2.395, abs=0.01)
