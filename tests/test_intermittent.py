"""Croston, TSB, ADIDA, IMAPA against hand computations from the papers' formulas and against statsforecast."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar

from tsrnn.models import ADIDA, IMAPA, TSB, Croston

# y = 0 3 0 0 5 0 2: demands z = 3 5 2, intervals p = 2 3 2 (first demand at position 2)
Y = np.array([0, 3, 0, 0, 5, 0, 2], dtype=float)


def _ses(x, alpha):
    """SES by the textbook loop, level started at the first value (statsforecast's initialisation)."""
    level = x[0]
    for v in x:
        level = alpha * v + (1 - alpha) * level
    return level


def _ses_sse(x, alpha):
    level, sse = x[0], 0.0
    for i in range(1, len(x)):
        level = alpha * x[i - 1] + (1 - alpha) * level
        sse += (x[i] - level) ** 2
    return sse


def _opt_ses(x):
    """Reference optimized SES: bounded Brent on [0.1, 0.3] (the series below have one minimum there)."""
    if len(x) < 3:
        return _ses(x, 0.2)
    r = minimize_scalar(lambda a: _ses_sse(x, a), bounds=(0.1, 0.3), method="bounded", options={"xatol": 1e-12})
    best = min([r.x, 0.1, 0.3], key=lambda a: _ses_sse(x, a))
    return _ses(x, best)


def _intermittent(n, p, seed):
    r = np.random.default_rng(seed)
    y = (r.random(n) < p) * r.gamma(2.0, 3.0, n)
    y[r.integers(0, n)] = 4.0  # at least one demand
    return y


def test_hand_worked_example():
    # SES(z, .1): 3 -> 3 -> 3.2 -> 3.08; SES(p, .1): 2 -> 2 -> 2.1 -> 2.09
    assert Croston().fit(Y).predict(2).to_numpy() == pytest.approx([3.08 / 2.09] * 2, abs=1e-12)
    # SBA: 0.95 * 3.08 / 2.09 = 1.4 exactly
    assert Croston(method="sba").fit(Y).predict(1).iloc[0] == pytest.approx(1.4, abs=1e-12)
    # TSB: SES(1[y>0], .1) = 0 .1 .09 .081 .1729 .15561 .240049; times 3.08
    assert TSB(alpha_d=0.1, alpha_p=0.1).fit(Y).predict(1).iloc[0] == pytest.approx(0.240049 * 3.08, abs=1e-12)
    # ADIDA: k = round(7/3) = 2; drop y_1; bucket sums 3 5 2; SSE(a) = 4 + (1 + 2a)^2 is least at a = 0.1
    assert ADIDA().fit(Y).predict(1).iloc[0] == pytest.approx(3.08 / 2, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_formulas_on_generated_series(seed):
    y = _intermittent(90 + 7 * seed, 0.2 + 0.1 * seed, seed)
    z = y[y > 0]
    pos = np.flatnonzero(y > 0) + 1
    p = np.diff(pos, prepend=0).astype(float)
    classic = _ses(z, 0.1) / _ses(p, 0.1)
    assert Croston().fit(y).predict(3).to_numpy() == pytest.approx([classic] * 3, abs=1e-9)
    assert Croston(method="sba").fit(y).predict(1).iloc[0] == pytest.approx(0.95 * classic, abs=1e-9)
    assert Croston(method="optimized").fit(y).predict(1).iloc[0] == pytest.approx(_opt_ses(z) / _opt_ses(p),
                                                                                   abs=1e-6)
    tsb = _ses((y > 0).astype(float), 0.05) * _ses(z, 0.3)
    assert TSB(alpha_d=0.3, alpha_p=0.05).fit(y).predict(1).iloc[0] == pytest.approx(tsb, abs=1e-9)
    k_max = round(p.mean())

    def adida(k):
        cut = y[len(y) % k:]
        return _opt_ses(cut.reshape(-1, k).sum(axis=1)) / k

    assert ADIDA().fit(y).predict(1).iloc[0] == pytest.approx(adida(k_max), abs=1e-6)
    imapa = np.mean([adida(k) for k in range(1, k_max + 1)])
    assert IMAPA().fit(y).predict(1).iloc[0] == pytest.approx(imapa, abs=1e-6)


def test_equal_to_statsforecast():
    sf = pytest.importorskip("statsforecast.models", reason="statsforecast (optional, extra 'bench') not installed")
    for seed in range(40):
        r = np.random.default_rng(100 + seed)
        y = _intermittent(int(r.integers(30, 150)), float(r.uniform(0.15, 0.8)), seed)
        pairs = [
            (Croston(), sf.CrostonClassic()), (Croston(method="sba"), sf.CrostonSBA()),
            (Croston(method="optimized"), sf.CrostonOptimized()),
            (TSB(alpha_d=0.2, alpha_p=0.05), sf.TSB(alpha_d=0.2, alpha_p=0.05)),
            (ADIDA(), sf.ADIDA()), (IMAPA(), sf.IMAPA()),
        ]
        for ours, theirs in pairs:
            got = ours.fit(y).predict(4).to_numpy()
            ref = theirs.forecast(y, h=4)["mean"]
            np.testing.assert_allclose(got, ref, atol=1e-6, rtol=0, err_msg=f"{ours!r} seed {seed}")


def test_croston_ignores_zero_periods_and_tsb_decays():
    """Croston (1972) updates only when demand occurs; TSB's probability decays by (1 - alpha_p) per zero."""
    y = _intermittent(60, 0.4, 7)
    y[-1] = 3.0
    more = np.r_[y, np.zeros(5)]
    assert Croston().fit(more).predict(1).iloc[0] == pytest.approx(Croston().fit(y).predict(1).iloc[0])
    a = TSB(alpha_d=0.2, alpha_p=0.3)
    assert a.fit(more).predict(1).iloc[0] == pytest.approx(0.7 ** 5 * a.fit(y).predict(1).iloc[0])


def test_update_keeps_smoothing_constants_and_levels():
    y = pd.Series(_intermittent(120, 0.3, 3))
    for est in (Croston(method="optimized"), ADIDA(), IMAPA()):
        first = est.fit(y.iloc[:100]).states_[0][1]
        upd = est.update(y.iloc[100:])
        assert upd.states_[0][1] == first  # alphas (and aggregation levels) not re-estimated
    z = y[y > 0].to_numpy()
    p = np.diff(np.flatnonzero(y.to_numpy() > 0) + 1, prepend=0).astype(float)
    a_z, a_p = Croston(method="optimized").fit(y.iloc[:100]).states_[0][1]
    upd = Croston(method="optimized").fit(y.iloc[:100]).update(y.iloc[100:])
    assert upd.predict(1).iloc[0] == pytest.approx(_ses(z, a_z) / _ses(p, a_p), abs=1e-12)


def test_no_demand_forecasts_zero_and_intervals_are_non_negative():
    y = pd.Series(np.zeros(30))
    for est in (Croston(), TSB(), ADIDA(), IMAPA()):
        assert (est.fit(y).predict(3) == 0).all()
    f = Croston().fit(_intermittent(80, 0.3, 1)).predict(5, level=[80, 95])
    assert (f.filter(like="-lo-") >= 0).all().all()
    assert (f["Croston-lo-95"] <= f["Croston"]).all() and (f["Croston"] <= f["Croston-hi-95"]).all()


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="negative"):
        Croston().fit(np.array([1.0, -2.0, 0.0]))
    with pytest.raises(ValueError, match="method"):
        Croston(method="sbj").fit(Y)
    with pytest.raises(ValueError, match="alpha_p"):
        TSB(alpha_p=0.0).fit(Y)
