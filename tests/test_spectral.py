"""Spectral features and seasonality detection against scipy, statsmodels, numpy least squares and known periods."""

import numpy as np
import pandas as pd
import pytest
from scipy import signal
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from statsmodels.tsa.stattools import acf as sm_acf

from tsrnn.features import FourierFeatures, Periodogram, STFTFeatures, detect_seasonality
from tsrnn.features.spectral import acf, fourier_terms


def _hourly(n_weeks=5, seed=0):
    t = np.arange(24 * 7 * n_weeks)
    r = np.random.default_rng(seed)
    return (10 * np.sin(2 * np.pi * t / 24) + 3 * np.sin(4 * np.pi * t / 24) + 6 * np.sin(2 * np.pi * t / 168 + 1)
            + 0.01 * t + r.normal(0, 2, len(t)))


@parametrize_with_checks([Periodogram(), Periodogram(method="welch", output="both", taper="hann"),
                          FourierFeatures(), FourierFeatures(output="amplitude"), STFTFeatures()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ------------------------------------------------------------------------------------------ detect_seasonality


def test_acf_matches_statsmodels(rng):
    x = rng.normal(size=300).cumsum()
    np.testing.assert_allclose(acf(x, 40), sm_acf(x, nlags=40, fft=False), atol=1e-12)


@pytest.mark.parametrize("period", [5, 7, 12, 30])
def test_sine_period_recovered(period, rng):
    n = 20 * period
    y = 3 * np.sin(2 * np.pi * np.arange(n) / period) + rng.normal(0, 0.5, n)
    assert detect_seasonality(y)[0] == period


def test_daily_weekly_contract(daily_series):
    assert 7 in list(detect_seasonality(daily_series))[:2]


def test_hourly_recovers_24_and_168():
    for seed in range(3):
        found = list(detect_seasonality(_hourly(seed=seed)))
        assert set(found[:2]) == {24, 168}, found


def test_noise_rarely_seasonal():
    r = np.random.default_rng(1234)
    hits = [len(detect_seasonality(r.normal(size=n))) > 0 for n in (60, 200, 600) for _ in range(20)]
    assert np.mean(hits) <= 0.05
    assert len(detect_seasonality(np.arange(50.0))) == 0  # a pure trend has no season
    assert len(detect_seasonality(np.ones(40))) == 0


def test_max_period_and_errors():
    y = _hourly()
    assert 168 not in detect_seasonality(y, max_period=100)
    with pytest.raises(ValueError, match="NaN"):
        detect_seasonality(np.r_[1.0, np.nan, 2.0])


def test_m4_hourly_true_period(mirror):
    df = pd.read_csv(mirror / "m4" / "hourly" / "Hourly-train.csv")
    vals = df.drop(columns=df.columns[0]).to_numpy(dtype=float)
    first = []
    for row in vals:
        p = detect_seasonality(row[np.isfinite(row)])
        first.append(p[0] if len(p) else 0)
    assert len(first) == 414
    assert np.mean(np.array(first) == 24) >= 0.90


# ------------------------------------------------------------------------------------------ Periodogram


def test_periodogram_matches_scipy(rng):
    X = rng.normal(size=(5, 64))
    out = Periodogram(detrend="linear").fit_transform(X)
    f, P = signal.periodogram(X, detrend="linear", axis=-1)
    np.testing.assert_allclose(out, P[:, 1:], rtol=1e-12)
    np.testing.assert_allclose(Periodogram().fit(X).frequencies_, f[1:])
    out = Periodogram(method="welch", taper="hann", nperseg=16).fit_transform(X)
    np.testing.assert_allclose(out, signal.welch(X, window="hann", nperseg=16, axis=-1)[1][:, 1:], rtol=1e-12)
    np.testing.assert_allclose(Periodogram(log=True).fit_transform(X), np.log1p(signal.periodogram(X, axis=-1)[1][:, 1:]))


def test_periodogram_dominant_periods():
    t = np.arange(96)
    X = np.vstack([5 * np.sin(2 * np.pi * t / 8) + 2 * np.sin(2 * np.pi * t / 24), np.sin(2 * np.pi * t / 12)])
    tr = Periodogram(output="dominant", top_k=2).fit(X)
    out = tr.transform(X)
    np.testing.assert_allclose(out[0, :2], [8, 24])
    assert out[0, 2] > out[0, 3] > 0
    assert out[1, 0] == 12
    assert list(tr.get_feature_names_out()) == ["period_1", "period_2", "power_1", "power_2"]
    # the power of a pure sine of amplitude A at its (on-grid) frequency: A^2 n / 2 (density, fs=1)
    assert out[1, 2] == pytest.approx(96 / 2)


# ------------------------------------------------------------------------------------------ Fourier


def test_fourier_coefficients_are_least_squares(rng):
    w = 48
    X = rng.normal(size=(6, w))
    tr = FourierFeatures(periods=[24, 12.5], orders=[3, 2]).fit(X)
    t = np.arange(w)
    cols = [np.ones(w)]
    for p, K in ((24, 3), (12.5, 2)):
        for k in range(1, K + 1):
            cols += [np.sin(2 * np.pi * k * t / p), np.cos(2 * np.pi * k * t / p)]
    B = np.column_stack(cols)
    coef = np.linalg.lstsq(B, X.T, rcond=None)[0][1:].T
    np.testing.assert_allclose(tr.transform(X), coef, atol=1e-10)
    assert tr.get_feature_names_out()[0] == "coef_sin_24_1"


def test_fourier_amplitude_of_sine():
    t = np.arange(60)
    X = np.vstack([3 * np.sin(2 * np.pi * t / 12 + 0.4) + 1, 0.5 * np.cos(2 * np.pi * 2 * t / 12)])
    amp = FourierFeatures(periods=[12], orders=2, output="amplitude").fit_transform(X)
    np.testing.assert_allclose(amp, [[3, 0], [0, 0.5]], atol=1e-10)


def test_fourier_terms_drop_duplicates_and_nyquist():
    F = fourier_terms(np.arange(10), [24, 168], [12, 8])
    assert F.shape == (10, 2 * (11 + 7))  # k=12 of 24 is Nyquist; k=7 of 168 equals k=1 of 24
    assert np.linalg.matrix_rank(fourier_terms(np.arange(400), [24, 168], [12, 8])) == F.shape[1]


def test_transform_index_lines_up_past_and_future():
    idx = pd.date_range("2021-03-01", periods=200, freq="h")
    ff = FourierFeatures(periods=[24, 168], orders=[2, 1])
    whole = ff.transform_index(idx)
    np.testing.assert_allclose(ff.transform_index(idx[150:]).to_numpy(), whole.to_numpy()[150:], atol=1e-9)
    assert list(whole.columns) == ["sin_24_1", "cos_24_1", "sin_24_2", "cos_24_2", "sin_168_1", "cos_168_1"]
    # same hour of day -> same daily terms
    np.testing.assert_allclose(whole.iloc[0, :4], whole.iloc[24, :4], atol=1e-9)
    np.testing.assert_allclose(ff.transform_index(np.arange(5)).to_numpy(), fourier_terms(np.arange(5), [24, 168],
                                                                                           [2, 1]))
    months = pd.date_range("2020-01-31", periods=30, freq="ME")
    m = FourierFeatures(periods=[12], orders=1).transform_index(months)
    np.testing.assert_allclose(m.iloc[0], m.iloc[12], atol=1e-9)
    with pytest.raises(ValueError, match="periods"):
        FourierFeatures().transform_index(idx)


# ------------------------------------------------------------------------------------------ STFT


def test_stft_band_summaries_match_scipy(rng):
    X = rng.normal(size=(4, 128))
    tr = STFTFeatures(nperseg=32, noverlap=16, n_bands=3).fit(X)
    out = tr.transform(X)
    _, _, Z = signal.stft(X, window="hann", nperseg=32, noverlap=16, boundary=None, padded=False, axis=-1)
    M = np.abs(Z)  # (4, 17, n_seg)
    edges = np.linspace(0, 17, 4).round().astype(int)
    expect = []
    for b in range(3):
        band = M[:, edges[b]:edges[b + 1]]
        seg = band.mean(axis=1)
        expect += [seg.mean(axis=1), seg.std(axis=1), band.max(axis=(1, 2))]
    np.testing.assert_allclose(out, np.column_stack(expect), rtol=1e-12)
    assert out.shape == (4, 9) and tr.get_feature_names_out()[3] == "band1_mean"


def test_stft_puts_energy_in_the_right_band():
    t = np.arange(256)
    X = np.vstack([np.sin(2 * np.pi * 0.05 * t), np.sin(2 * np.pi * 0.45 * t)])
    out = STFTFeatures(nperseg=64, n_bands=2, stats=("mean",)).fit_transform(X)
    assert out[0, 0] > 5 * out[0, 1] and out[1, 1] > 5 * out[1, 0]


def test_in_pipeline(rng):
    X = rng.normal(size=(20, 32))
    out = make_pipeline(Periodogram(output="dominant"), StandardScaler()).fit_transform(X)
    assert out.shape == (20, 6)
    with pytest.raises(ValueError, match="expecting 32 features"):
        Periodogram().fit(X).transform(X[:, :10])
