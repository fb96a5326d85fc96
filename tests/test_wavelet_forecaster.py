"""causal_mra and WaveletForecaster: exact reconstruction, causality, closed-form Haar, statsmodels AutoReg."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.ar_model import AutoReg

from tsrnn.features.wavelets import causal_mra
from tsrnn.models import SeasonalNaive, WaveletForecaster
from tsrnn.utils.estimator_checks import check_estimator


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4", "sym5", "coif2"])
def test_mra_exact_and_causal(wavelet, rng):
    y = rng.normal(size=300).cumsum()
    M = causal_mra(y, wavelet, level=4)
    assert M.shape == (5, 300)
    np.testing.assert_allclose(M.sum(axis=0), y, atol=1e-10)
    np.testing.assert_array_equal(causal_mra(y[:250], wavelet, level=4), M[:, :250])  # no look-ahead


def test_mra_haar_closed_form_and_shift_invariance(rng):
    y = rng.normal(size=100)
    M = causal_mra(y, "haar", level=2)
    yp = np.r_[y[0], y]  # values before the start equal y_0
    c1 = (yp[1:] + yp[:-1]) / 2
    c1p = np.r_[np.full(2, c1[0]), c1]
    c2 = (c1p[2:] + c1p[:-2]) / 2
    np.testing.assert_allclose(M, [y - c1, c1 - c2, c2], atol=1e-12)
    z = np.r_[rng.normal(size=37), y]  # the same data later in time: same components once past the boundary
    np.testing.assert_allclose(causal_mra(z, "haar", 2)[:, 37 + 3:], M[:, 3:], atol=1e-12)


def test_mra_separates_scales():
    t = np.arange(1024)
    M = causal_mra(np.sin(2 * np.pi * t / 12), "db4", level=4)
    energy = (M[:, 200:] ** 2).sum(axis=1)
    assert np.argmax(energy) == 2  # D_3 holds periods of about 8..16


@pytest.mark.parametrize("kw", [{}, {"forecaster": SeasonalNaive(7), "wavelet": "db2"}])
def test_conformance(kw):
    check_estimator(WaveletForecaster(**kw))


def test_default_model_is_autoreg_per_component(rng):
    y = rng.normal(size=400).cumsum() + np.sin(np.arange(400) / 3)
    f = WaveletForecaster(level=2, n_lags=3).fit(y)
    expect = np.zeros(12)
    for c in causal_mra(y, "haar", 2):
        expect += AutoReg(c, lags=3, trend="c").fit().predict(start=400, end=411)
    np.testing.assert_allclose(f.predict(12).to_numpy(), expect, rtol=1e-8, atol=1e-8)


def test_linear_component_model_recombines_exactly(rng):
    y = pd.Series(rng.normal(size=200).cumsum() + 5 * np.sin(2 * np.pi * np.arange(200) / 24))
    a = WaveletForecaster(SeasonalNaive(24), wavelet="sym4", level=3).fit(y).predict(30)
    b = SeasonalNaive(24).fit(y).predict(30)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-9)  # seasonal naive is linear in y


def test_update_keeps_coefficients(rng):
    y = rng.normal(size=300).cumsum()
    f = WaveletForecaster(level=2, n_lags=2).fit(y[:-10])
    phis = [st["phi"].copy() for st in f.states_[0]["components"]]
    f.update(pd.Series(y[-10:], index=pd.RangeIndex(290, 300)))
    expect = 0.0
    for st, phi, c in zip(f.states_[0]["components"], phis, causal_mra(y, "haar", 2)):
        np.testing.assert_array_equal(st["phi"], phi)
        expect += st["c"] + phi[0] * c[-1] + phi[1] * c[-2]
    assert f.predict(1).iloc[0] == pytest.approx(expect)


def test_forecasts_a_noisy_cycle(rng):
    t = np.arange(24 * 30)
    y = 20 + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.5, len(t))
    f = WaveletForecaster().fit(y[:-48])
    err = np.mean(np.abs(f.predict(48).to_numpy() - y[-48:]))
    assert err < 0.8  # noise MAE is 0.4; a flat forecast would be about 3.2


def test_errors():
    with pytest.raises(ValueError, match="level"):
        WaveletForecaster(level=0).fit(np.arange(30.0))
    with pytest.raises(ValueError, match="local tsrnn forecaster"):
        WaveletForecaster(forecaster="ARIMA").fit(np.arange(30.0))
    with pytest.raises(ValueError, match="wavelet"):
        WaveletForecaster(wavelet="morl").fit(np.arange(30.0))


def test_log_models_log_y(rng):
    y = np.exp(rng.normal(size=200).cumsum() / 10 + np.sin(np.arange(200) / 4))
    a = WaveletForecaster(log=True).fit(y).predict(10, level=[80])
    b = WaveletForecaster().fit(np.log(y)).predict(10, level=[80])
    np.testing.assert_allclose(a.to_numpy(), np.exp(b.to_numpy()), rtol=1e-10)
    with pytest.raises(ValueError, match="positive"):
        WaveletForecaster(log=True).fit(np.r_[0.0, np.ones(30)])
