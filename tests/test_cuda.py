"""CUDA paths of the neural estimators: the same numbers as on the CPU, mixed precision, and a model trained on a
GPU that loads and predicts in a process that has no GPU. Skipped where torch sees no CUDA device (CI); run on a
GPU machine with ``pytest tests/test_cuda.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from tsrnn.nn import RNN, fit_module
from tsrnn.nn.cells import CELLS
from tsrnn.nn.training import resolve_device, seeded

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

ROOT = Path(__file__).resolve().parents[1]


def _panel(n_series=6, n=240, seed=0):
    g = np.random.default_rng(seed)
    idx = pd.date_range("2021-01-01", periods=n, freq="h")
    t = np.arange(n)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": idx,
                                    "y": 20 + 3 * i + 4 * np.sin(2 * np.pi * (t + i) / 24) + g.normal(0, 0.3, n)})
                      for i in range(n_series)], ignore_index=True)


def test_auto_device_is_cuda():
    assert resolve_device("auto").type == "cuda"


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_every_cell_gives_the_cpu_numbers_on_cuda(cell):
    """Forward outputs and BPTT gradients of each cell (fused cuDNN for Elman/LSTM/GRU, the loop for the others)
    equal the CPU's in float64."""
    with seeded(0):
        cpu = RNN(cell, 3, 8, num_layers=2, bidirectional=True).double()
    gpu = RNN(cell, 3, 8, num_layers=2, bidirectional=True).double().cuda()
    gpu.load_state_dict(cpu.state_dict())
    x = torch.randn(5, 17, 3, dtype=torch.float64)
    out_c, _ = cpu(x)
    out_g, _ = gpu(x.cuda())
    torch.testing.assert_close(out_g.cpu(), out_c, rtol=1e-9, atol=1e-9)
    gc = torch.autograd.grad(out_c.square().sum(), list(cpu.parameters()))
    gg = torch.autograd.grad(out_g.square().sum(), list(gpu.parameters()))
    for a, b in zip(gc, gg):
        torch.testing.assert_close(b.cpu(), a, rtol=1e-8, atol=1e-9)


def _sine_task(n=2048, T=24, seed=0):
    g = np.random.default_rng(seed)
    phase = g.uniform(0, 2 * np.pi, n)
    t = np.arange(T + 1)
    s = np.sin(2 * np.pi * t[None] / 12 + phase[:, None]).astype(np.float32)
    return s[:, :T, None], s[:, T:]


class _Net(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn, self.head = RNN(cell, 1, 32), nn.Linear(32, 1)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


@pytest.mark.parametrize("cell", ["lstm", "mut1"])
def test_mixed_precision_trains_as_well_as_float32(cell):
    losses = {}
    for amp in (False, True):
        with seeded(0):
            net = _Net(cell)
        hist = fit_module(net, _sine_task(), max_epochs=15, batch_size=128, lr=1e-2, patience=None,
                          lr_schedule=None, random_state=0, device="cuda", amp=amp)
        assert hist.amp == ("bfloat16" if amp else None)
        losses[amp] = hist.train_loss[-1]
    assert losses[False] < 0.01  # learnt: the sine's variance is 0.5
    assert losses[True] < max(3 * losses[False], 0.01)


def test_gpu_trained_forecaster_loads_and_predicts_in_a_process_without_cuda(tmp_path):
    panel = _panel()
    f = __import__("tsrnn.models", fromlist=["RNNForecaster"]).RNNForecaster(
        window=24, hidden_size=16, max_epochs=5, random_state=0, device="auto")
    f.fit(panel)
    assert f.history_.amp is None  # float32 by default (autocast does not pay for these models)
    expected = f.predict(12, level=[80])
    path = tmp_path / "model.joblib"
    joblib.dump(f, path)
    code = ("import sys, joblib, torch; assert not torch.cuda.is_available(); "
            "f = joblib.load(sys.argv[1]); f.predict(12, level=[80]).to_pickle(sys.argv[2])")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "fc.pkl")], env=env, check=True,
                   timeout=300)
    got = pd.read_pickle(tmp_path / "fc.pkl")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-5, atol=1e-5)


def test_seeded_cuda_training_is_repeatable():
    """Two fits with one random_state on the GPU: the same forecasts (bit-identical is promised on the CPU only;
    cuDNN's RNN kernels are deterministic without dropout, so this holds here too)."""
    from tsrnn.models import RNNForecaster

    panel = _panel()
    fc = [RNNForecaster(window=24, hidden_size=16, max_epochs=3, random_state=3, device="cuda").fit(panel).predict(6)
          for _ in range(2)]
    pd.testing.assert_frame_equal(fc[0], fc[1], check_exact=False, rtol=1e-6, atol=1e-6)


def test_seq2seq_and_classifier_train_on_cuda():
    from tsrnn.classification import RNNClassifier
    from tsrnn.models import Seq2SeqForecaster

    panel = _panel(n_series=3)
    s2s = Seq2SeqForecaster(attention="additive", window=24, horizon=6, max_epochs=3, random_state=0,
                            device="cuda").fit(panel)
    fc = s2s.predict(6)
    assert np.isfinite(fc.select_dtypes("number").to_numpy()).all()
    assert all(p.device.type == "cpu" for p in s2s.module_.parameters())
    g = np.random.default_rng(0)
    X = g.normal(size=(120, 30, 1)).astype(np.float32)
    y = (X[:, :, 0].mean(axis=1) > 0).astype(int)
    X[y == 1] += 0.5
    clf = RNNClassifier(max_epochs=20, random_state=0, device="cuda").fit(X, y)
    assert clf.score(X, y) > 0.9
