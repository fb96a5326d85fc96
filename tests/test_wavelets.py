"""Wavelet features, denoising and scalogram against PyWavelets directly and the textbook threshold formulas."""

import numpy as np
import pytest
import pywt
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from tsrnn.features import WaveletDenoiser, WaveletFeatures, cwt_scalogram
from tsrnn.features.wavelets import bayes_threshold, mad_sigma, universal_threshold

FAMILIES = ["haar", "db4", "sym5", "coif2", "bior3.5", "rbio2.4"]  # dmey is only near-perfect (FIR approximation)


@parametrize_with_checks([WaveletFeatures(), WaveletFeatures(wavelet="haar", features="raw"),
                          WaveletDenoiser(), WaveletDenoiser(threshold="universal", mode="hard")])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("wavelet", FAMILIES)
def test_raw_coefficients_reconstruct_exactly(wavelet, rng):
    X = rng.normal(size=(3, 200))
    tr = WaveletFeatures(wavelet=wavelet, level=3, features="raw").fit(X)
    raw = tr.transform(X)
    sizes = [len(c) for c in pywt.wavedec(X[0], wavelet, level=3)]
    for row, x in zip(raw, X):
        coeffs = np.split(row, np.cumsum(sizes)[:-1])
        np.testing.assert_allclose(pywt.waverec(coeffs, wavelet)[:200], x, atol=1e-10)
    assert raw.shape == (3, sum(sizes)) and len(tr.get_feature_names_out()) == sum(sizes)


@pytest.mark.parametrize("wavelet", ["db4", "sym5", "haar"])
def test_summaries_match_pywt(wavelet, rng):
    X = rng.normal(size=(4, 128))
    tr = WaveletFeatures(wavelet=wavelet).fit(X)
    out = tr.transform(X)
    J = pywt.dwt_max_level(128, pywt.Wavelet(wavelet).dec_len)
    assert tr.level_ == J and out.shape == (4, 4 * (J + 1))
    for row, x in zip(out, X):
        expect = []
        for c in pywt.wavedec(x, wavelet, level=J):
            p = c**2 / np.sum(c**2)
            expect += [np.sum(c**2), c.mean(), c.std(), -np.sum(p * np.log(p))]
        np.testing.assert_allclose(row, expect, rtol=1e-10)
    names = tr.get_feature_names_out()
    assert names[0] == f"A{J}_energy" and names[-1] == "D1_entropy"


def test_energy_is_preserved_by_orthogonal_wavelets(rng):
    x = rng.normal(size=(1, 256))
    energy = WaveletFeatures(wavelet="db2", level=4, mode="periodization", features=("energy",)).fit_transform(x)
    assert energy.sum() == pytest.approx(np.sum(x**2), rel=1e-10)  # Parseval


def test_feature_errors():
    X = np.zeros((2, 16))
    with pytest.raises(ValueError, match="unknown discrete wavelet"):
        WaveletFeatures(wavelet="morl").fit(X)
    with pytest.raises(ValueError, match="features"):
        WaveletFeatures(features=("energy", "kurtosis")).fit(X)
    with pytest.raises(ValueError, match="level"):
        WaveletFeatures(level=-1).fit(X)


# ------------------------------------------------------------------------------------------ thresholds


def test_thresholds_equal_textbook_formulas(rng):
    n = 512
    x = np.sin(np.linspace(0, 8 * np.pi, n)) + rng.normal(0, 0.3, n)
    coeffs = pywt.wavedec(x, "sym4", level=4)
    sigma = np.median(np.abs(coeffs[-1])) / 0.6745
    uni = WaveletDenoiser(wavelet="sym4", level=4, threshold="universal").fit(x[None])
    np.testing.assert_allclose(uni.thresholds(x), np.full(4, sigma * np.sqrt(2 * np.log(n))), rtol=1e-12)
    bay = WaveletDenoiser(wavelet="sym4", level=4, threshold="bayes").fit(x[None])
    expect = []
    for d in coeffs[1:]:
        sx = np.sqrt(max(np.mean(d**2) - sigma**2, 0))
        expect.append(sigma**2 / sx if sx > 0 else np.max(np.abs(d)))
    np.testing.assert_allclose(bay.thresholds(x), expect, rtol=1e-12)
    assert mad_sigma(coeffs[-1]) == pytest.approx(sigma)
    assert universal_threshold(2.0, 100) == pytest.approx(2 * np.sqrt(2 * np.log(100)))
    d = rng.normal(0, 1.0, 1000)
    assert bayes_threshold(d, 5.0) == pytest.approx(np.max(np.abs(d)))  # pure noise: everything removed


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_denoiser_equals_manual_shrinkage(mode, rng):
    x = np.cumsum(rng.normal(size=300))
    out = WaveletDenoiser(wavelet="db3", level=3, threshold="universal", mode=mode).fit_transform(x[None])[0]
    c = pywt.wavedec(x, "db3", level=3)
    lam = np.median(np.abs(c[-1])) / 0.6745 * np.sqrt(2 * np.log(300))
    if mode == "soft":
        shrunk = [np.sign(d) * np.maximum(np.abs(d) - lam, 0) for d in c[1:]]
    else:
        shrunk = [d * (np.abs(d) > lam) for d in c[1:]]
    np.testing.assert_allclose(out, pywt.waverec([c[0]] + shrunk, "db3")[:300], atol=1e-10)


def test_known_sigma_is_used(rng):
    x = rng.normal(size=128)
    a = WaveletDenoiser(threshold="universal", sigma=0.0, level=3).fit_transform(x[None])[0]
    np.testing.assert_allclose(a, x, atol=1e-10)  # zero threshold: perfect reconstruction


def _snr(clean, est):
    return 10 * np.log10(np.sum((clean - clean.mean()) ** 2) / np.sum((clean - est) ** 2))


def _ecg(source):
    if source == "make_ecg":
        try:
            from tsrnn.datasets import make_ecg
        except ImportError as e:  # the generator lives in another module of the package
            pytest.skip(f"make_ecg not available: {e}")
        return make_ecg(duration_s=20, fs=360, noise=0.0, seed=0)[0].to_numpy()
    import neurokit2 as nk

    return np.asarray(nk.ecg_simulate(duration=20, sampling_rate=360, noise=0.0, heart_rate=70, random_state=0))


@pytest.mark.parametrize("source", ["make_ecg", "neurokit2"])
def test_denoiser_raises_ecg_snr_by_6db(source):
    clean = _ecg(source)
    r = np.random.default_rng(0)
    power = np.mean((clean - clean.mean()) ** 2)
    noisy = clean + r.normal(0, np.sqrt(power / 10 ** 0.5), len(clean))  # 5 dB SNR
    assert _snr(clean, noisy) == pytest.approx(5.0, abs=0.2)
    for den in (WaveletDenoiser(), WaveletDenoiser(wavelet="sym8", threshold="universal", mode="hard", level=4)):
        out = den.fit_transform(noisy[None])[0]
        assert _snr(clean, out) >= 5.0 + 6.0, den


# ------------------------------------------------------------------------------------------ scalogram


def test_scalogram_matches_pywt_and_finds_the_period():
    t = np.arange(512)
    y = np.sin(2 * np.pi * t / 32)
    scales = np.arange(1, 80)
    power, freqs = cwt_scalogram(y, scales=scales)
    coef, f = pywt.cwt(y, scales, "morl")
    np.testing.assert_allclose(power, np.abs(coef) ** 2)
    np.testing.assert_allclose(freqs, f)
    best = np.argmax(power[:, 100:400].mean(axis=1))
    assert 1 / freqs[best] == pytest.approx(32, rel=0.1)
    p, fr = cwt_scalogram(y)
    assert p.shape == (len(fr), 512)
    with pytest.raises(ValueError):
        cwt_scalogram([1.0])


def test_pipeline_denoise_then_features(rng):
    X = rng.normal(size=(10, 64))
    out = make_pipeline(WaveletDenoiser(), WaveletFeatures(wavelet="haar")).fit_transform(X)
    assert out.shape == (10, 4 * 7)
