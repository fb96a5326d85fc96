"""AutoencoderDetector on the shared training loop: equals a hand-written Adam loop on the same initial weights,
holds out the last windows for early stopping, honours clipping and the thread count, keeps its contract."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from tsrnn.anomaly import AutoencoderDetector
from tsrnn.anomaly.autoencoder import LSTMAutoencoder
from tsrnn.nn.training import seed_from, seeded


def _series(n=240, seed=0):
    g = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 3 * np.sin(2 * np.pi * t / 24) + 0.3 * g.normal(size=n)


def test_full_batch_training_equals_a_plain_adam_loop():
    y = _series()
    kw = dict(window=12, hidden_size=4, max_epochs=4, lr=1e-2, batch_size=10_000, validation_size=None,
              lr_schedule=None, clip_grad_norm=None, random_state=3)
    d = AutoencoderDetector(**kw).fit(y)
    with seeded(seed_from(3)):
        net = LSTMAutoencoder(4)
    z = (y - y.mean()) / y.std()
    X = torch.from_numpy(np.lib.stride_tricks.sliding_window_view(z, 12).astype(np.float32)).unsqueeze(-1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = torch.mean((net(X) - X) ** 2)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    np.testing.assert_allclose(d.loss_history_, losses, rtol=1e-5)
    for a, b in zip(d.network_.parameters(), net.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().double().numpy(), atol=1e-5)


def test_default_holds_out_the_last_windows_and_stops_early():
    y = _series(400)
    d = AutoencoderDetector(window=12, hidden_size=4, max_epochs=40, patience=2, lr=5e-2, random_state=0)
    d.fit(y)
    train, valid = d._datasets(d.panel_, 0.1)
    m = 400 - 12 + 1
    n_val = round(0.1 * m)
    assert len(valid) == n_val and len(train) == m - n_val - 11  # training windows end before validation starts
    np.testing.assert_allclose(valid[-1], (y[-12:] - d.mean_) / d.scale_)
    h = d.history_
    assert len(h.valid_loss) == h.n_epochs and h.best_epoch == int(np.argmin(h.valid_loss))
    assert h.stopped_early and h.n_epochs == h.best_epoch + 2 + 1 < 40
    with torch.no_grad():  # the kept weights are the best epoch's
        xv = torch.from_numpy(valid[..., None])
        assert float(torch.mean((d.network_(xv) - xv) ** 2)) == pytest.approx(h.valid_loss[h.best_epoch], rel=1e-4)


def test_clipping_changes_training_and_threads_are_set_only_inside(thread_spy):
    y = _series()
    base = dict(window=12, hidden_size=4, max_epochs=2, random_state=0)
    a = AutoencoderDetector(**base, clip_grad_norm=None).fit(y)
    b = AutoencoderDetector(**base, clip_grad_norm=1e-3).fit(y)
    assert not np.allclose(a.loss_history_, b.loss_history_)
    thread_spy.watch(LSTMAutoencoder)
    d = AutoencoderDetector(**base, n_threads=thread_spy.target).fit(y)
    thread_spy.check()
    d.decision_function(y)
    thread_spy.check()


def test_contract_params_and_errors():
    d = AutoencoderDetector()
    assert d.get_params()["max_epochs"] == 10 and d.get_params()["random_state"] == 0
    assert clone(d).get_params() == d.get_params()
    with pytest.raises(ValueError, match="AutoencoderDetector: max_epochs must be a positive integer"):
        AutoencoderDetector(max_epochs=0).fit(_series())
    with pytest.raises(ValueError, match="AutoencoderDetector: window"):
        AutoencoderDetector(window=1).fit(_series())
    y = _series(60)
    d = AutoencoderDetector(window=12, hidden_size=4, max_epochs=2).fit(y)
    e = AutoencoderDetector(window=12, hidden_size=4, max_epochs=2).fit(y)
    np.testing.assert_array_equal(d.decision_function(y).to_numpy(), e.decision_function(y).to_numpy())
