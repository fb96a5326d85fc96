"""ConformalForecaster: the finite-sample quantile, hand-computed intervals, coverage on simulated and sales data."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from tsrnn.datasets import make_sales
from tsrnn.models import AutoARIMA, ConformalForecaster, Naive, RNNForecaster, Theta
from tsrnn.models.conformal import conformal_quantile


def test_finite_sample_quantile():
    s = np.arange(1.0, 21.0)  # 20 scores: 80 % -> ceil(21 * .8) = 17th, 95 % -> ceil(21 * .95) = 20th
    assert conformal_quantile(s[::-1], 80) == 17.0
    assert conformal_quantile(s, 95) == 20.0
    assert conformal_quantile(np.arange(1.0, 5.0), 80) == 4.0  # 4 scores: ceil(5 * .8) = 4, the largest
    with pytest.raises(ValueError, match="3 calibration scores cannot give a 80 % .*at least 4"):
        conformal_quantile(np.ones(3), 80)


def test_intervals_by_hand_on_a_line():
    # y = t: Naive's error at step j is exactly j; the naive MAE scale is 1; the profile d_j = j; every pooled
    # score is 1, so the interval is y_T -+ j at any level the 3 * 4 = 12 scores allow (up to 92 %).
    y = pd.Series(np.arange(40.0))
    f = ConformalForecaster(Naive(), n_windows=3).fit(y).predict(4, level=[50, 90])
    j = np.arange(1, 5)
    np.testing.assert_allclose(f["ConformalForecaster"], 39.0)
    np.testing.assert_allclose(f["ConformalForecaster-lo-90"], 39.0 - j)
    np.testing.assert_allclose(f["ConformalForecaster-hi-50"], 39.0 + j)
    with pytest.raises(ValueError, match="12 calibration scores"):
        ConformalForecaster(Naive()).fit(y).predict(4, level=[95])
    with pytest.raises(ValueError, match="3 calibration scores"):
        ConformalForecaster(Naive(), method="per_step").fit(y).predict(4, level=[80])


def _random_walks(n_series, n, seed):
    r = np.random.default_rng(seed)
    return pd.concat([pd.DataFrame({"unique_id": i, "ds": np.arange(n), "y": np.cumsum(r.normal(size=n))})
                      for i in range(n_series)], ignore_index=True)


@pytest.mark.parametrize("method", ["pooled", "per_step"])
def test_coverage_on_random_walks(method):
    """Exchangeable errors: the next window's 80 % intervals cover close to 80 % of 1,500 points."""
    panel = _random_walks(300, 45, 0)
    train = panel[panel["ds"] < 40]
    f = ConformalForecaster(Naive(), method=method).fit(train).predict(5, level=[80])
    m = panel[panel["ds"] >= 40].merge(f, on=["unique_id", "ds"])
    inside = ((m["y"] >= m["ConformalForecaster-lo-80"]) & (m["y"] <= m["ConformalForecaster-hi-80"])).mean()
    assert 0.76 <= inside <= 0.86


def test_sales_coverage_autoarima_and_rnn():
    """make_sales, two held-out weeks after the fitted history: 80 % conformal intervals cover 72-88 %."""
    df = make_sales(n_series=10, length=100, seed=0)
    models = {
        "AutoARIMA": AutoARIMA(season_length=7, max_order=3, method="css"),
        "RNN": RNNForecaster(hidden_size=8, window=14, max_epochs=3, season_length=7, random_state=0),
    }
    for name, inner in models.items():
        inside = []
        for k in (2, 1):
            keep = df.groupby("unique_id").cumcount(ascending=False) >= 7 * k
            test = df[~keep].groupby("unique_id").head(7)
            f = ConformalForecaster(inner).fit(df[keep]).predict(7, level=[80])
            m = test.merge(f, on=["unique_id", "ds"])
            assert len(m) == 70
            assert (m.filter(like="-lo-") >= 0).all().all()  # sales are non-negative: clipped at 0
            inside.append((m["y"] >= m["ConformalForecaster-lo-80"]) & (m["y"] <= m["ConformalForecaster-hi-80"]))
        cover = pd.concat(inside).mean()
        assert 0.72 <= cover <= 0.88, f"{name}: coverage {cover:.3f}"


def test_sklearn_composition_and_state(joblib_roundtrip):
    est = ConformalForecaster(Theta(season_length=7), n_windows=2, h=5)
    params = est.get_params(deep=True)
    assert params["forecaster__season_length"] == 7
    est.set_params(forecaster__season_length=1)
    assert est.forecaster.season_length == 1
    c = clone(est)
    assert c.forecaster is not est.forecaster and c.get_params()["forecaster__season_length"] == 1
    y = pd.Series(50 + np.sin(np.arange(80)) + np.random.default_rng(0).normal(0, 0.2, 80))
    fitted = est.fit(y)
    assert fitted.calibration_[0].shape == (1, 2, 5)
    before = fitted.calibration_[0].copy()
    a = fitted.predict(5, level=[80])
    np.testing.assert_array_equal(fitted.calibration_[0], before)  # predict changed nothing
    b = joblib_roundtrip(fitted).predict(5, level=[80])
    pd.testing.assert_frame_equal(a, b)
    assert len(fitted.predict(3, level=[80])) == 3
    with pytest.raises(ValueError, match="calibrated for h <= 5"):
        fitted.predict(6, level=[80])


def test_clip_at_zero_and_bad_parameters():
    y = pd.Series(np.r_[np.linspace(30, 1, 40), [0.5, 0.2, 0.0]])
    est = ConformalForecaster(Naive(), clip_at_zero=False).fit(y)
    assert (est.predict(5, level=[80])["ConformalForecaster-lo-80"] < 0).any()
    clipped = ConformalForecaster(Naive()).fit(y).predict(5, level=[80])  # "auto": the series is never negative
    assert (clipped["ConformalForecaster-lo-80"] >= 0).all()
    for bad, match in [({"n_windows": 0}, "n_windows"), ({"method": "x"}, "method"), ({"h": 0}, "h must"),
                       ({"clip_at_zero": "yes"}, "clip_at_zero")]:
        with pytest.raises(ValueError, match=match):
            ConformalForecaster(Naive(), **bad).fit(y)
    with pytest.raises(ValueError, match="too short"):
        ConformalForecaster(Naive(), n_windows=3).fit(y.iloc[:12]).predict(5, level=[80])


def test_update_moves_the_inner_forecaster_and_keeps_the_calibration():
    y = pd.Series(np.cumsum(np.random.default_rng(5).normal(size=60)) + 20)
    est = ConformalForecaster(Naive(), h=4).fit(y.iloc[:50])
    scores = est.calibration_[0].copy()
    est.update(y.iloc[50:])
    f = est.predict(4, level=[80])
    np.testing.assert_allclose(f["ConformalForecaster"], y.iloc[-1])  # Naive from the new last value
    np.testing.assert_array_equal(est.calibration_[0], scores)
    assert f.index[0] == 60
