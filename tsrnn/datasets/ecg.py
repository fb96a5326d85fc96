r"""Synthetic ECG after the dynamical model of McSharry et al. (2003), with labelled ectopic beats.

McSharry's ECGSYN moves a point round a unit limit cycle at angular speed :math:`\omega = 2\pi / RR` and drives
the vertical coordinate with one Gaussian per wave :math:`i \in \{P, Q, R, S, T\}`:

.. math::
    \dot z = -\sum_i a_i\,\omega\,\Delta\theta_i \exp\!\left(-\frac{\Delta\theta_i^2}{2 b_i^2}\right) - (z - z_0),
    \qquad \Delta\theta_i = \theta - \theta_i .

While :math:`\omega` is constant within an RR interval, :math:`d\theta = \omega\,dt` and the first term integrates
in closed form to :math:`\sum_i a_i b_i^2 \exp(-\Delta\theta_i^2 / 2 b_i^2)`. :func:`make_ecg` uses that closed
form (with the slow unit-rate relaxation to :math:`z_0` replaced by adding the baseline :math:`z_0(t)` directly),
so the signal is exact on the samples, fast, and every beat's R peak is known: it is where the R wave's angle
:math:`\theta_R = 0` is crossed. What neurokit2's ECGSYN lacks and is added here: the phase runs from one R peak
(:math:`\theta = 0`) to the next (:math:`\theta = 2\pi`), the T wave belongs to the preceding beat and the P wave to
the following one, and each beat may be given its own waves: premature ventricular contractions (``V``: early,
no P wave, wide QRS, discordant T, compensatory pause) and atrial premature beats (``A``: early, abnormal P,
normal QRS, no compensatory pause), labelled with their MIT-BIH symbols.

The RR process has McSharry's bimodal spectrum (Mayer waves at 0.1 Hz, respiratory sinus arrhythmia at 0.25 Hz,
LF/HF power ratio ``lf_hf``), and the wave angles and widths scale with the instantaneous heart rate as in ECGSYN
(:math:`b_i \propto \sqrt{HR/60}`; Q and S angles :math:`\propto \sqrt{HR/60}`, P and T :math:`\propto (HR/60)^{1/4}`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_ecg", "WAVES"]

_DEG = np.pi / 180
# McSharry et al. (2003), Table 1: angle (deg), a, b (rad) for P, Q, R, S, T
_THETA = np.array([-70.0, -15.0, 0.0, 15.0, 100.0]) * _DEG
_A = np.array([1.2, -5.0, 30.0, -7.5, 0.75])
_B = np.array([0.25, 0.1, 0.1, 0.1, 0.4])
_MV = 3.6  # scales a*b^2 so that a normal R wave stands about 1 mV above the baseline

#: wave parameters per beat symbol: (angle (rad), amplitude (mV), width (rad)) for P, Q, R, S, T
WAVES = {
    "N": (_THETA, _A * _B**2 * _MV, _B),
    "V": (np.array([-70.0, -15.0, 0.0, 40.0, 110.0]) * _DEG,
          np.array([0.0, 0.0, 1.3, -0.35, -0.55]),
          np.array([0.25, 0.1, 0.22, 0.2, 0.45])),
    "A": (np.array([-60.0, -15.0, 0.0, 15.0, 100.0]) * _DEG,
          _A * _B**2 * _MV * np.array([-0.6, 1, 1, 1, 1]),
          _B * np.array([0.8, 1, 1, 1, 1])),
}
# how the wave angles scale with the rate (hrfact = sqrt(HR/60)): P, T by sqrt(hrfact); Q, S by hrfact
_ANGLE_POWER = np.array([0.5, 1.0, 0.0, 1.0, 0.5])


def _hr_process(n: int, heart_rate: float, hrv: float, lf_hf: float, rng: np.random.Generator) -> np.ndarray:
    """Heart rate (bpm) sampled at 1 Hz for ``n`` seconds: mean ``heart_rate``, std ``hrv``, bimodal spectrum."""
    m = int(2 ** np.ceil(np.log2(max(n, 64))))
    f = np.fft.rfftfreq(m, d=1.0)
    c = 0.01
    power = (lf_hf * np.exp(-((f - 0.1) ** 2) / (2 * c**2)) + np.exp(-((f - 0.25) ** 2) / (2 * c**2)))
    spec = np.sqrt(power) * np.exp(2j * np.pi * rng.random(len(f)))
    x = np.fft.irfft(spec, n=m)[:n]
    x = (x - x.mean()) / (x.std() + 1e-12)
    return heart_rate + hrv * x


def _beat_times(duration_s, heart_rate, hrv, lf_hf, ectopic_rate, kinds, rng):
    """R-peak times (s) covering ``[-2 RR, duration + 2 RR]`` and their symbols."""
    rr0 = 60.0 / heart_rate
    pad = 3 * rr0
    hr = _hr_process(int(np.ceil(duration_s + 2 * pad)) + 2, heart_rate, hrv, lf_hf, rng)
    grid = np.arange(len(hr), dtype=np.float64)
    times, symbols = [-pad], ["N"]
    t = -pad
    pending = None  # interval forced after an ectopic beat
    while t < duration_s + pad:
        rr = 60.0 / max(float(np.interp(t + pad, grid, hr)), 20.0)
        if pending is not None:
            step, sym, pending = pending, "N", None
        elif symbols[-1] == "N" and ectopic_rate > 0 and rng.random() < ectopic_rate:
            sym = kinds[rng.integers(len(kinds))]
            if sym == "V":  # coupling ~0.6 RR, compensatory pause: the two intervals add to 2 RR
                step = rr * rng.uniform(0.55, 0.65)
                pending = 2 * rr - step
            else:  # "A": coupling ~0.7 RR, the sinus node resets (no full compensation)
                step = rr * rng.uniform(0.65, 0.75)
                pending = rr * 1.05
        else:
            step, sym = rr, "N"
        t += step
        times.append(t)
        symbols.append(sym)
    return np.array(times), np.array(symbols)


def _waves(times, symbols, t):
    """ECG (mV, without baseline and noise) at times ``t`` from R-peak times and beat symbols."""
    k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    rr = times[k + 1] - times[k]
    phase = 2 * np.pi * (t - times[k]) / rr
    hrfact = np.sqrt((60.0 / rr) / 60.0)
    angle_scale = hrfact[:, None] ** _ANGLE_POWER[None, :]
    z = np.zeros(len(t))
    for beat, ph in ((k, phase), (k + 1, phase - 2 * np.pi)):  # beat before (S, T ...) and after (P, Q ...)
        params = [WAVES[s] for s in symbols[beat]]
        theta = np.array([p[0] for p in params]) * angle_scale
        amp = np.array([p[1] for p in params])
        width = np.array([p[2] for p in params]) * hrfact[:, None]
        z += np.sum(amp * np.exp(-((ph[:, None] - theta) ** 2) / (2 * width**2)), axis=1)
    return z


def make_ecg(
    duration_s: float = 10.0,
    fs: float = 360.0,
    heart_rate: float = 70.0,
    hrv: float = 2.0,
    noise: float = 0.01,
    ectopic_rate: float = 0.0,
    ectopic_kinds: tuple[str, ...] = ("V", "A"),
    baseline_wander: float = 0.05,
    lf_hf: float = 0.5,
    seed: int | np.random.Generator | None = None,
) -> tuple[pd.Series, pd.DataFrame]:
    """Generate a single-lead ECG with P-QRS-T morphology, heart-rate variability and ectopic beats.

    Parameters
    ----------
    duration_s : float
        Length in seconds; the signal has ``n = round(duration_s * fs)`` samples.
    fs : float
        Sampling frequency in Hz (MIT-BIH uses 360).
    heart_rate : float
        Mean sinus rate in beats per minute.
    hrv : float
        Standard deviation of the sinus rate in bpm (McSharry's ``hrstd``).
    noise : float
        Standard deviation of additive white Gaussian noise, in mV.
    ectopic_rate : float
        Probability that a sinus beat is followed by an ectopic one (never two ectopics in a row).
    ectopic_kinds : tuple of {"V", "A"}
        Ectopic kinds to draw from uniformly: ``"V"`` premature ventricular contraction, ``"A"`` atrial premature.
    baseline_wander : float
        Amplitude (mV) of a respiratory baseline oscillation at 0.25 Hz.
    lf_hf : float
        Ratio of the RR spectrum's power at 0.1 Hz to that at 0.25 Hz.
    seed : int or numpy Generator, optional
        The same seed gives the same signal.

    Returns
    -------
    signal : pd.Series
        ``(n,)`` in mV, indexed by sample number (``RangeIndex`` named ``sample``); ``signal.attrs["fs"] = fs``.
    beats : pd.DataFrame
        One row per beat whose R peak falls in the signal: ``sample`` (nearest sample to the R peak, where the R
        wave's angle is crossed), ``symbol`` (``N``, ``V`` or ``A``, MIT-BIH codes), ``aami`` (``N``, ``V``, ``S``)
        and ``time_s``.
    """
    if duration_s <= 0 or fs <= 0 or heart_rate <= 0:
        raise ValueError("duration_s, fs and heart_rate must be positive")
    if not 0 <= ectopic_rate <= 1:
        raise ValueError(f"ectopic_rate must lie in [0, 1], got {ectopic_rate}")
    bad = set(ectopic_kinds) - {"V", "A"}
    if bad or not ectopic_kinds:
        raise ValueError(f"ectopic_kinds must be a non-empty subset of ('V', 'A'), got {ectopic_kinds}")
    if hrv < 0 or noise < 0:
        raise ValueError("hrv and noise must be non-negative")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    times, symbols = _beat_times(duration_s, heart_rate, hrv, lf_hf, ectopic_rate, tuple(ectopic_kinds), rng)
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    z = _waves(times, symbols, t)
    resp_phase = rng.uniform(0, 2 * np.pi)
    z += baseline_wander * np.sin(2 * np.pi * 0.25 * t + resp_phase)
    if noise > 0:
        z += rng.normal(0.0, noise, n)
    signal = pd.Series(z, index=pd.RangeIndex(n, name="sample"), name="ecg")
    signal.attrs["fs"] = float(fs)
    samples = np.rint(times * fs).astype(np.int64)
    inside = (samples >= 0) & (samples < n)
    beats = pd.DataFrame({
        "sample": samples[inside],
        "symbol": symbols[inside],
        "aami": pd.Series(symbols[inside]).map({"N": "N", "V": "V", "A": "S"}).to_numpy(),
        "time_s": times[inside],
    })
    return signal, beats
