"""Plot helpers: each returns a Figure whose drawn data equal independently computed numbers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import pywt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import signal  # noqa: E402

from tsrnn.report import (  # noqa: E402
    plot_anomalies,
    plot_attention,
    plot_backtest,
    plot_forecast,
    plot_periodogram,
    plot_regimes,
    plot_scalogram,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture
def series():
    idx = pd.date_range("2024-01-01", periods=140, freq="D")
    t = np.arange(140)
    y = 10 + 3 * np.sin(2 * np.pi * t / 7) + np.random.default_rng(0).normal(0, 0.3, 140)
    return pd.Series(y, index=idx, name="s")


def _lines(ax, label):
    return [ln for ln in ax.get_lines() if ln.get_label() == label]


def test_plot_forecast_draws_the_forecast_and_its_bands(series):
    from tsrnn.models import SeasonalNaive

    fc = SeasonalNaive(season_length=7).fit(series).predict(14, level=[80, 95])
    fig = plot_forecast(series, fc, n_history=30, actual=series.iloc[-14:])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    (line,) = _lines(ax, "SeasonalNaive")
    np.testing.assert_allclose(line.get_ydata(), fc["SeasonalNaive"].to_numpy())
    (hist,) = _lines(ax, "history")
    np.testing.assert_allclose(hist.get_ydata(), series.to_numpy()[-30:])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # one per level
    for lv in (80, 95):
        (band,) = [b for b in bands if b.get_label() == f"SeasonalNaive {lv}%"]
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() == pytest.approx(fc[f"SeasonalNaive-lo-{lv}"].min())
        assert ys.max() == pytest.approx(fc[f"SeasonalNaive-hi-{lv}"].max())


def test_plot_forecast_panel_selects_series_and_rejects_unknown(daily_panel):
    from tsrnn.models import Naive

    fc = Naive().fit(daily_panel).predict(5)
    uid = daily_panel["unique_id"].iloc[-1]
    fig = plot_forecast(daily_panel, fc, uid)
    (line,) = _lines(fig.axes[0], "Naive")
    np.testing.assert_allclose(line.get_ydata(), fc.loc[fc["unique_id"] == uid, "Naive"].to_numpy())
    with pytest.raises(ValueError, match="unknown unique_id"):
        plot_forecast(daily_panel, fc, "nope")
    with pytest.raises(ValueError, match="no forecast column"):
        plot_forecast(daily_panel, fc, uid, models=["ARIMA"])


def test_plot_backtest_one_actual_segment_per_window(daily_panel):
    from tsrnn.backtest import backtest
    from tsrnn.models import Mean, Naive

    r = backtest({"Naive": Naive(), "Mean": Mean()}, daily_panel, h=4, n_windows=3, level=[80], progress=False)
    uid = r.forecasts["unique_id"].iloc[0]
    fig = r.plot(uid)
    ax = fig.axes[0]
    g = r.forecasts[r.forecasts["unique_id"] == uid]
    actual = [ln for ln in ax.get_lines() if ln.get_color() == "black" and ln.get_marker() == "."]
    assert len(actual) == 3
    np.testing.assert_allclose(np.concatenate([a.get_ydata() for a in actual]), g["y"].to_numpy())
    fig2 = plot_backtest(r, uid, models=["Mean"], max_windows=1)
    assert len(_lines(fig2.axes[0], "Mean")) == 1
    assert not _lines(fig2.axes[0], "Naive")


def test_plot_anomalies_marks_labels_and_detections():
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    lab = np.zeros(200, int)
    lab[50:60] = 1
    lab[120:125] = 1
    det = np.zeros(200, int)
    det[[52, 130, 180]] = 1
    score = np.abs(y)
    fig = plot_anomalies(y, detections=det, scores=score, labels=lab, threshold=2.0)
    top, bottom = fig.axes[:2]
    spans = [p for p in top.patches]
    assert len(spans) == 2  # one shaded span per labelled window
    (pts,) = top.collections
    np.testing.assert_allclose(pts.get_offsets()[:, 0], [52, 130, 180])
    np.testing.assert_allclose(_lines(bottom, "score")[0].get_ydata(), score)
    with pytest.raises(ValueError, match="detections"):
        plot_anomalies(y, detections=det[:10])


def test_plot_anomalies_from_detector_result():
    from tsrnn.anomaly import RollingZScore, evaluate_detectors

    rng = np.random.default_rng(2)
    y = rng.normal(size=300)
    y[200] += 12
    lab = np.zeros(300, int)
    lab[195:205] = 1
    data = pd.DataFrame({"unique_id": "a", "ds": np.arange(300), "y": y, "label": lab})
    res = evaluate_detectors({"z": RollingZScore(window=30), "z2": RollingZScore(window=60)}, data, progress=False)
    fig = plot_anomalies(res, unique_id="a")
    top = fig.axes[0]
    counts = {c.get_label(): len(c.get_offsets()) for c in top.collections}
    d = res.detections
    for m in ("z", "z2"):
        n = int(d.loc[d["model"] == m, "anomaly"].sum())
        assert counts[f"{m} ({n})"] == n


def test_plot_attention_shows_the_weights():
    w = np.random.default_rng(0).dirichlet(np.ones(12), size=(3, 5))
    fig = plot_attention(w, unique_id=2)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), w[2])
    assert fig.axes[0].get_yticklabels()[0].get_text() == "t+1"
    with pytest.raises(ValueError, match="2-D"):
        plot_attention(np.ones(4))


def test_plot_periodogram_marks_the_true_period(series):
    fig = plot_periodogram(series, top_k=1)
    ax = fig.axes[0]
    f, P = signal.periodogram(series.to_numpy(), detrend="constant")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), P[1:], rtol=1e-10)
    text = ax.texts[0].get_text()
    assert text == f"period {1 / f[np.argmax(P)]:.3g}" and abs(float(text.split()[1]) - 7) < 0.2


def test_plot_scalogram_is_the_cwt_power(series):
    scales = np.arange(1, 20)
    fig = plot_scalogram(series, scales=scales, log_power=False)
    mesh = fig.axes[1].collections[0]
    coef, freqs = pywt.cwt(series.to_numpy() - series.mean(), scales, "morl")
    order = np.argsort(1 / freqs)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(len(scales), -1), (np.abs(coef) ** 2)[order])


def test_plot_regimes_from_states_and_from_an_hmm():
    from tsrnn.models import HMMForecaster

    rng = np.random.default_rng(3)
    states = np.repeat([0, 1, 0, 1], 60)
    y = pd.Series(np.where(states == 1, 5.0, 0.0) + rng.normal(0, 0.5, 240))
    fig = plot_regimes(y, states)
    assert len(fig.axes[0].patches) == 4
    hmm = HMMForecaster(n_states=2, random_state=0).fit(y)
    fig = plot_regimes(hmm)
    decoded = hmm.predict_states().to_numpy()
    runs = 1 + np.count_nonzero(np.diff(decoded))
    assert len(fig.axes[0].patches) == runs
    assert len(fig.axes) == 2  # series + state probabilities
    with pytest.raises(ValueError, match="states"):
        plot_regimes(y)


def test_plots_draw_into_a_given_axes(series):
    fig, (a, b) = plt.subplots(1, 2)
    assert plot_periodogram(series, ax=a) is fig
    assert plot_attention(np.eye(4), ax=b) is fig
    assert len(a.get_lines()) > 0 and len(b.images) == 1


@pytest.mark.parametrize("index", [pd.period_range("2020-01", periods=40, freq="M"), pd.RangeIndex(40)])
def test_period_and_integer_stamps(index):
    from tsrnn.backtest import backtest
    from tsrnn.models import Naive

    y = pd.Series(np.arange(40.0), index=index)
    r = backtest([Naive()], y, h=3, n_windows=2, level=[80], progress=False)
    fig = plot_backtest(r)
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "Naive"]
    np.testing.assert_allclose(line.get_ydata(), r.forecasts["Naive"].to_numpy()[:3])  # the first window carries the label
    fig = plot_forecast(y, Naive().fit(y).predict(5, level=[80]))
    np.testing.assert_allclose(_lines(fig.axes[0], "history")[0].get_ydata(), y.to_numpy())


def test_plot_confusion_writes_the_counts_and_colours_the_recall():
    from tsrnn.report.plots import plot_confusion

    cm = pd.DataFrame([[8, 2], [1, 9]], index=["true a", "true b"], columns=["a", "b"])
    fig = plot_confusion(cm, title="m")
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "8", "9"]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.8, 0.2], [0.1, 0.9]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]


def test_plot_reliability_puts_each_model_at_its_coverage():
    from tsrnn.report.plots import plot_reliability

    cov = pd.DataFrame({"80": [0.7, 0.85], "95": [0.9, 0.96]}, index=["x", "y"])
    fig = plot_reliability(cov)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    np.testing.assert_allclose(lines["x"].get_xydata(), [[80, 70], [95, 90]])
    np.testing.assert_allclose(lines["nominal"].get_xydata(), [[0, 0], [100, 100]])


def test_plot_ranks_marks_the_models_within_the_critical_difference():
    from tsrnn.report.plots import plot_ranks

    fig = plot_ranks(pd.Series({"c": 3.0, "a": 1.2, "b": 2.0}), cd=1.0)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    colors = ax.collections[-1].get_facecolors()  # scatter: a and b within CD of a, c not
    assert np.allclose(colors[0], colors[1]) and not np.allclose(colors[0], colors[2])
