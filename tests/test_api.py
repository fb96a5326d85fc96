"""Every public name of the architecture contract imports from its documented path."""

import importlib

import pytest

CONTRACT = {
    "tsrnn.models": ["Naive", "SeasonalNaive", "Drift", "Mean", "Naive2", "ARIMA", "AutoARIMA", "ETS", "Theta",
                     "StateSpace", "FourierForecaster", "WaveletForecaster", "HMMForecaster", "ReductionForecaster",
                     "RNNForecaster", "Seq2SeqForecaster"],
    "tsrnn.features": ["make_windows", "detect_seasonality", "FourierFeatures", "Periodogram", "STFTFeatures",
                       "WaveletFeatures", "WaveletDenoiser", "cwt_scalogram"],
    "tsrnn.anomaly": ["RollingZScore", "ResidualDetector", "HMMDetector", "WaveletDetector", "AutoencoderDetector",
                      "evaluate_detectors", "nab_score"],
    "tsrnn.classification": ["RNNClassifier", "RNNTagger"],
    "tsrnn.backtest": ["backtest", "ExpandingWindow", "SlidingWindow", "BacktestResult"],
    "tsrnn.metrics": ["mae", "rmse", "mape", "smape", "mase", "owa", "coverage", "pinball_loss"],
    "tsrnn.datasets": ["list_datasets", "load_m4", "load_nab", "load_mitbih", "load_ucr", "load_retail",
                       "load_sales", "make_sales", "make_ecg", "inject_anomalies"],
    "tsrnn.report": ["plot_forecast", "plot_backtest", "plot_anomalies", "plot_attention", "plot_periodogram",
                     "plot_scalogram", "plot_regimes"],
    "tsrnn.nn": ["RNN", "Attention", "Seq2Seq", "greedy", "sample", "beam_search", "HopfieldNetwork", "DNC"],
}
CASES = [(mod, name) for mod, names in CONTRACT.items() for name in names]


@pytest.mark.parametrize("module, name", CASES, ids=[f"{m}.{n}" for m, n in CASES])
def test_public_name_imports(module, name):
    assert getattr(importlib.import_module(module), name) is not None


def test_cells_module():
    from tsrnn.nn import cells

    for n in ("ElmanCell", "LSTMCell", "GRUCell", "MUT1Cell", "MUT2Cell", "MUT3Cell"):
        assert hasattr(cells, n)


def test_models_import_without_torch_for_baselines():
    import subprocess
    import sys

    code = "import sys, tsrnn.models as m; m.Naive; m.ARIMA; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
