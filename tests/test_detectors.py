"""Detectors: no look-ahead (appending data never changes a past score), scores equal to their formulas computed
independently (loops, pywt per window, torch forward), persistence and scikit-learn conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import pywt
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tsrnn.anomaly import AutoencoderDetector, HMMDetector, ResidualDetector, RollingZScore, WaveletDetector
from tsrnn.anomaly.thresholds import Thresholded
from tsrnn.models import Naive, SeasonalNaive


def series(rng, n=600, spike=450):
    t = np.arange(n)
    y = 5 + np.sin(2 * np.pi * t / 24) + 0.2 * rng.normal(size=n)
    if spike < n:
        y[spike] += 4
    return y


def small_detectors():
    return {
        "zscore": RollingZScore(window=30),
        "residual": ResidualDetector(SeasonalNaive(season_length=24), init_length=50, window=40),
        "wavelet": WaveletDetector(window=16, level=2, baseline=60),
        "autoencoder": AutoencoderDetector(window=12, hidden_size=6, max_epochs=2, max_windows=200, random_state=0),
        "hmm": HMMDetector(n_states=2, random_state=0),
        "thresholded": Thresholded(RollingZScore(window=30), threshold="pot", contamination=0.01, cooldown=10),
    }


@pytest.mark.parametrize("name", list(small_detectors()))
def test_appending_future_data_never_changes_a_past_score(name, rng):
    y = series(rng)
    det = small_detectors()[name].fit(y[:250])
    full = det.decision_function(y).to_numpy()
    for k in (300, 451, 520):
        head = det.decision_function(y[:k]).to_numpy()
        np.testing.assert_allclose(head, full[:k], rtol=1e-9, atol=1e-12, err_msg=f"{name} at {k}")
    # changing the future changes nothing before it
    y2 = y.copy()
    y2[500:] += 50
    np.testing.assert_allclose(det.decision_function(y2).to_numpy()[:500], full[:500], rtol=1e-9, atol=1e-12)
    flags_full = det.predict(y).to_numpy()
    np.testing.assert_array_equal(det.predict(y[:400]).to_numpy(), flags_full[:400])
    # the spike (within the AE/wavelet window) is among the top 1 % of scores
    assert full[450:463].max() >= np.quantile(full, 0.99), name


def test_rolling_zscore_formula(rng):
    y = rng.normal(size=200)
    s = RollingZScore(window=20, min_periods=10, likelihood=False).fit(y).decision_function(y).to_numpy()
    for t in range(200):
        past = y[max(0, t - 20):t]
        want = abs(y[t] - past.mean()) / past.std(ddof=1) if len(past) >= 10 else 0.0
        assert s[t] == pytest.approx(want), t


def test_residual_detector_one_step_errors(rng):
    y = series(rng, n=300)
    d = ResidualDetector(SeasonalNaive(season_length=24), init_length=40, window=30, likelihood=False)
    f = d.one_step_forecasts(y)
    assert np.isnan(f[:40]).all()
    np.testing.assert_allclose(f[40:], y[16:-24])  # y_{t-24}
    assert np.allclose(ResidualDetector(Naive(), init_length=10).one_step_forecasts(y)[10:], y[9:-1])
    s = d.fit(y).decision_function(y).to_numpy()
    E, w, mp = (y - f)[40:], 30, 7  # robust z of e_t against the previous 30 errors (median / 1.4826 MAD)
    centre = np.array([np.median(E[max(0, i - w):i]) if i - max(0, i - w) >= mp else np.nan for i in range(len(E))])
    dev = np.abs(E - centre)
    for i in range(len(E)):
        past = dev[max(0, i - w):i]
        past = past[~np.isnan(past)]
        want = abs(E[i] - centre[i]) / (1.4826 * np.median(past)) if len(past) >= mp else 0.0
        assert s[40 + i] == pytest.approx(want, rel=1e-9), i
    assert np.all(s[:40] == 0)


def test_residual_detector_with_a_global_forecaster_path(rng):
    class GlobalNaive(Naive):  # the public fit / predict / update path used for global models
        _is_global = True

        def _fit_panel(self, panel):
            self.last_ = panel.series[0].y[-1]

        def _update_panel(self, panel):
            self.last_ = panel.series[0].y[-1]

        def _predict_panel(self, panel, h, X, levels):
            return [(np.full(h, self.last_), {})]

    y = rng.normal(size=80)
    f = ResidualDetector(GlobalNaive(), init_length=20).one_step_forecasts(y)
    np.testing.assert_allclose(f[20:], y[19:-1])


def test_wavelet_energy_matches_pywt_per_window_and_haar_formula(rng):
    y = rng.normal(size=120)
    d = WaveletDetector(wavelet="db2", level=2, window=16)
    e = d.energies(y)
    for t in (15, 40, 119):
        c = pywt.wavedec(y[t - 15:t + 1], "db2", level=2, mode="periodization")
        assert e[t] == pytest.approx(sum(np.sum(x**2) for x in c[1:]))
    haar = WaveletDetector(wavelet="haar", level=1, window=8).energies(y)
    w = y[-8:]
    assert haar[-1] == pytest.approx(np.sum((w[0::2] - w[1::2]) ** 2) / 2)
    with pytest.raises(ValueError, match="too short"):
        WaveletDetector(level=5, window=16).fit(y)


def test_autoencoder_error_is_the_network_reconstruction_and_persists(rng, joblib_roundtrip):
    y = series(rng, n=400)
    d = AutoencoderDetector(window=10, hidden_size=5, max_epochs=3, random_state=1).fit(y[:300])
    assert d.loss_history_[-1] < d.loss_history_[0]
    err = d.reconstruction_errors(y)
    x = torch.from_numpy((y[200:210] - d.mean_) / d.scale_).reshape(1, 10, 1)
    with torch.no_grad():
        rec = d.network_(x)
    assert err[209] == pytest.approx(float(torch.mean((rec - x) ** 2)))
    again = AutoencoderDetector(window=10, hidden_size=5, max_epochs=3, random_state=1).fit(y[:300])
    np.testing.assert_array_equal(again.decision_function(y).to_numpy(), d.decision_function(y).to_numpy())
    loaded = joblib_roundtrip(d)
    np.testing.assert_array_equal(loaded.decision_function(y).to_numpy(), d.decision_function(y).to_numpy())


def test_conventions_and_panel_layout(daily_panel, daily_series):
    for det in small_detectors().values():
        assert repr(clone(det)) == repr(det)
        with pytest.raises(NotFittedError):
            clone(det).decision_function(daily_series)
    d = RollingZScore(window=10).fit(daily_panel)
    out = d.decision_function(daily_panel)
    assert list(out.columns) == ["unique_id", "ds", "score"] and len(out) == len(daily_panel)
    flags = d.predict(daily_series)
    assert isinstance(flags, pd.Series) and flags.index.equals(daily_series.index)
    assert set(np.unique(flags)) <= {0, 1}
    with pytest.raises(ValueError, match="window"):
        RollingZScore(window=1).fit(daily_series)
