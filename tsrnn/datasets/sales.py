"""A realistic synthetic retail sales panel, seeded: the data that ships with tsrnn.

Each item's expected daily demand is

``mu_t = level * trend_t * weekly[dow_t] * yearly_t * holiday_t * promo_t``

with a log-normal base level, a slow multiplicative trend, a weekly profile (weekend peak or dip), a yearly cycle
with a random phase, holidays (closed on Christmas and New Year's Day, a run-up before Christmas, Easter
weekend uplift), promotions (runs of 3-7 days with an uplift and a post-promotion dip), and observed sales are
negative-binomial counts around ``mu_t`` (over-dispersed, non-negative integers). A share of the items are
intermittent low-volume products whose demand is mostly zeros. Weekly or monthly series are sums of the daily
ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_sales", "load_sales"]

_FREQ_ALIASES = {"D": "D", "W": "W-SUN", "W-SUN": "W-SUN", "M": "MS", "MS": "MS"}


def _easter(year: int) -> pd.Timestamp:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = ((h + l_ - 7 * m + 114) % 31) + 1
    return pd.Timestamp(year=year, month=month, day=day)


def _holiday_effect(days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative holiday factor per day and a 0/1 holiday indicator."""
    factor = np.ones(len(days))
    flag = np.zeros(len(days), dtype=int)
    md = days.month * 100 + days.day
    closed = np.isin(md, [1225, 101])
    factor[closed] = 0.0
    flag[closed] = 1
    runup = (days.month == 12) & (days.day >= 10) & (days.day <= 23)
    factor[runup] *= 1.0 + 0.04 * (days.day[runup] - 9)
    eve = md == 1224
    factor[eve] *= 1.6
    flag[eve] = 1
    for year in np.unique(days.year):
        e = _easter(int(year))
        mask = (days >= e - pd.Timedelta(days=3)) & (days <= e + pd.Timedelta(days=1))
        factor[mask] *= 1.35
        flag[mask] = 1
    return factor, flag


def make_sales(n_series: int = 20, freq: str = "D", length: int = 730, seed: int = 0,
               start: str = "2022-01-03", intermittent_share: float = 0.25, with_exog: bool = False) -> pd.DataFrame:
    """Generate a synthetic sales panel.

    Parameters
    ----------
    n_series : int
        Number of items.
    freq : {"D", "W", "MS"}
        Daily series, or weekly / monthly sums of them.
    length : int
        Observations per series at ``freq``.
    seed : int
        Everything random is drawn from ``numpy.random.default_rng(seed)``.
    start : str
        First day.
    intermittent_share : float
        Share of items that are intermittent low-volume products.
    with_exog : bool
        Add ``promo`` (share of promotion days) and ``holiday`` (share of holiday days) columns.

    Returns
    -------
    pd.DataFrame
        Long frame ``unique_id, ds, y`` (``y`` non-negative integers stored as float), plus ``promo, holiday``.
    """
    if freq not in _FREQ_ALIASES:
        raise ValueError(f"freq must be one of 'D', 'W', 'MS', got {freq!r}")
    if n_series < 1 or length < 2:
        raise ValueError(f"need n_series >= 1 and length >= 2, got n_series={n_series}, length={length}")
    if not 0 <= intermittent_share <= 1:
        raise ValueError(f"intermittent_share must lie in [0, 1], got {intermittent_share}")
    alias = _FREQ_ALIASES[freq]
    rng = np.random.default_rng(seed)
    periods, days = _calendar(pd.Timestamp(start), length, alias)
    hol_factor, hol_flag = _holiday_effect(days)
    n_inter = int(round(intermittent_share * n_series))
    frames = []
    width = len(str(n_series - 1))
    for i in range(n_series):
        daily, promo_flag = _item_days(rng, days, hol_factor, intermittent=i >= n_series - n_inter)
        frame = pd.DataFrame({"ds": days, "y": daily, "promo": promo_flag.astype(float),
                              "holiday": hol_flag.astype(float)})
        if alias != "D":
            frame = _aggregate(frame, alias, periods)
        frame.insert(0, "unique_id", f"item_{i:0{width}d}")
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    if not with_exog:
        out = out[["unique_id", "ds", "y"]]
    return out


def _calendar(start_ts: pd.Timestamp, length: int, alias: str):
    """The output stamps and the days they cover (weeks end on Sunday, months start on the 1st)."""
    periods = pd.date_range(start_ts, periods=length, freq=alias)
    if alias == "D":
        return periods, periods
    days = pd.date_range(periods[0] - (pd.Timedelta(days=6) if alias == "W-SUN" else pd.Timedelta(0)),
                         periods[-1] + (pd.offsets.MonthEnd(0) if alias == "MS" else pd.Timedelta(0)), freq="D")
    return periods, days


def _promotions(rng, n_days: int):
    """Promotion multipliers (3-7 day runs, then a 3-day dip: customers stocked up) and the 0/1 promo flag."""
    promo = np.ones(n_days)
    promo_flag = np.zeros(n_days, dtype=int)
    n_promos = rng.poisson(n_days / 60)
    for s in rng.integers(0, n_days, size=n_promos):
        run = int(rng.integers(3, 8))
        promo[s:s + run] *= rng.uniform(1.3, 2.5)
        promo_flag[s:s + run] = 1
        promo[s + run:s + run + 3] *= 0.8
    return promo, promo_flag


def _item_days(rng, days: pd.DatetimeIndex, hol_factor: np.ndarray, intermittent: bool):
    """Daily unit sales of one item (negative binomial around level x trend x week x year x holiday x promo)."""
    n_days = len(days)
    t_years = np.arange(n_days) / 365.25
    level = np.exp(rng.normal(-0.9, 0.5)) if intermittent else np.exp(rng.normal(3.3, 0.8))
    trend = np.exp(rng.normal(0.0, 0.15) * t_years)
    weekend = rng.choice([1.5, 0.7]) * rng.uniform(0.85, 1.15)
    weekly = np.array([1.0, 0.95, 0.97, 1.02, 1.15, weekend, weekend * 0.9])
    weekly = weekly / weekly.mean()
    amp, phase = rng.uniform(0.05, 0.35), rng.uniform(0, 2 * np.pi)
    yearly = 1 + amp * np.sin(2 * np.pi * days.day_of_year.to_numpy() / 365.25 + phase)
    if intermittent:
        promo, promo_flag = np.ones(n_days), np.zeros(n_days, dtype=int)
    else:
        promo, promo_flag = _promotions(rng, n_days)
    mu = level * trend * weekly[days.day_of_week.to_numpy()] * yearly * hol_factor * promo
    dispersion = 2.0 if intermittent else rng.uniform(8, 30)
    p = dispersion / (dispersion + mu)
    daily = rng.negative_binomial(dispersion, np.clip(p, 1e-12, 1.0)).astype(float)
    daily[hol_factor == 0] = 0.0
    return daily, promo_flag


def _aggregate(frame: pd.DataFrame, alias: str, periods: pd.DatetimeIndex) -> pd.DataFrame:
    """Daily rows summed (sales) or averaged (promo, holiday shares) to weeks or months."""
    monthly = alias == "MS"
    out = (frame.set_index("ds").resample(alias, label="left" if monthly else "right",
                                          closed="left" if monthly else "right")
           .agg({"y": "sum", "promo": "mean", "holiday": "mean"}).reindex(periods).reset_index(names="ds"))
    return out.fillna(0.0)


def load_sales() -> pd.DataFrame:
    """The default sales panel shipped with tsrnn: 12 daily items over two years (8 regular, 4 intermittent).

    It is generated (``make_sales(n_series=12, freq="D", length=730, seed=20240101)``), so it needs no network
    and is identical on every machine.
    """
    return make_sales(n_series=12, freq="D", length=730, seed=20240101, intermittent_share=1 / 3)
