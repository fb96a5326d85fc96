"""fit_module: equals a hand-written Adam loop, determinism, early stopping with best weights restored, schedules,
continuing training, global RNG untouched; the adding problem (LSTM and GRU learn it, the tanh RNN does not)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tsrnn.nn import RNN, fit_module
from tsrnn.nn.training import adding_problem, resolve_device, seed_from, seeded


def _data(n=64, seed=0):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, 5)).astype(np.float32)
    y = (x @ np.arange(1, 6, dtype=np.float32)[:, None] + 0.1 * g.normal(size=(n, 1))).astype(np.float32)
    return x, y


def _params(m):
    return [p.detach().clone() for p in m.parameters()]


def test_full_batch_equals_plain_torch_adam_loop():
    x, y = _data()
    with seeded(0):
        m1 = nn.Linear(5, 1)
    m2 = nn.Linear(5, 1)
    m2.load_state_dict(m1.state_dict())
    fit_module(m1, (x, y), max_epochs=5, batch_size=len(x), lr=0.05, clip_grad_norm=None, lr_schedule=None,
               random_state=0, device="cpu")
    opt = torch.optim.Adam(m2.parameters(), lr=0.05)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(5):
        opt.zero_grad()
        nn.functional.mse_loss(m2(xt), yt).backward()
        opt.step()
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_same_seed_same_weights_and_global_rng_untouched():
    x, y = _data()

    def run(seed):
        with seeded(seed):
            m = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.3), nn.Linear(8, 1))
        h = fit_module(m, (x, y), max_epochs=3, batch_size=8, random_state=seed, device="cpu")
        return _params(m), h

    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    (p1, h1), (p2, h2), (p3, _) = run(7), run(7), run(8)
    after = torch.rand(3)
    assert torch.equal(before, after)  # fit and init ran on forked generators
    assert all(torch.equal(a, b) for a, b in zip(p1, p2)) and h1.train_loss == h2.train_loss
    assert not all(torch.equal(a, b) for a, b in zip(p1, p3))


def test_clipping_bounds_the_update():
    x, y = _data()
    y = y * 1e4  # huge gradients
    with seeded(0):
        m = nn.Linear(5, 1)
    w0 = _params(m)
    # plain SGD would move by lr * |g|; Adam's first step moves each weight by ~lr whatever the clipping, so check
    # the clipped gradient norm directly via a hook on the optimiser step
    norms = []
    orig = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *a, **k):
        out = orig(params, max_norm, *a, **k)
        norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in m.parameters()]))))
        return out

    torch.nn.utils.clip_grad_norm_ = spy
    try:
        fit_module(m, (x, y), max_epochs=1, batch_size=16, clip_grad_norm=0.5, random_state=0, device="cpu")
    finally:
        torch.nn.utils.clip_grad_norm_ = orig
    assert len(norms) == 4 and max(norms) <= 0.5 + 1e-5
    assert not all(torch.equal(a, b) for a, b in zip(w0, m.parameters()))


def test_early_stopping_restores_the_best_weights():
    x, y = _data(200)
    xv, yv = _data(50, seed=1)
    yv = -yv  # the validation target is the opposite: validation loss rises as training improves
    with seeded(0):
        m = nn.Linear(5, 1)
    h = fit_module(m, (x, y), (xv, yv), max_epochs=100, batch_size=16, lr=0.05, patience=3, random_state=0,
                   device="cpu")
    assert h.stopped_early and h.n_epochs == h.best_epoch + 4
    with torch.no_grad():
        restored = nn.functional.mse_loss(m(torch.from_numpy(xv)), torch.from_numpy(yv)).item()
    assert restored == pytest.approx(min(h.valid_loss), rel=1e-5)


def test_schedules_and_max_steps():
    x, y = _data()
    m = nn.Linear(5, 1)
    h = fit_module(m, (x, y), max_epochs=6, batch_size=64, lr=0.1, lr_schedule="step", random_state=0, device="cpu")
    assert h.lr == pytest.approx([0.1, 0.1, 0.03, 0.03, 0.009, 0.009])
    h = fit_module(nn.Linear(5, 1), (x, y), max_epochs=4, lr=1.0, lr_schedule="cosine", batch_size=64, device="cpu")
    assert h.lr[0] == 1.0 and h.lr[2] == pytest.approx(0.5 * (1 + np.cos(np.pi * 2 / 4)))
    h = fit_module(nn.Linear(5, 1), (x, y), max_epochs=100, batch_size=8, max_steps=11, device="cpu")
    assert h.n_samples == 8 * 11 and h.n_epochs == 2
    with pytest.raises(ValueError, match="lr_schedule"):
        fit_module(nn.Linear(5, 1), (x, y), lr_schedule="bogus", device="cpu")


def test_continuing_with_optimizer_state_equals_one_long_run():
    x, y = _data()
    with seeded(0):
        a = nn.Linear(5, 1)
    b = nn.Linear(5, 1)
    b.load_state_dict(a.state_dict())
    kw = dict(batch_size=len(x), lr=0.05, lr_schedule=None, clip_grad_norm=None, device="cpu")
    fit_module(a, (x, y), max_epochs=6, **kw)
    h = fit_module(b, (x, y), max_epochs=3, **kw)
    fit_module(b, (x, y), max_epochs=3, optimizer_state=h.optimizer_state, **kw)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_helpers():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert seed_from(3) == seed_from(3) and 0 <= seed_from(None) < 2**31
    x, y = adding_problem(50, 20, random_state=0)
    assert x.shape == (50, 20, 2) and y.shape == (50, 1)
    marks = x[..., 1]
    assert (marks.sum(1) == 2).all() and (marks[:, :10].sum(1) == 1).all()
    assert np.allclose(y[:, 0], (x[..., 0] * marks).sum(1), atol=1e-6)
    with pytest.raises(ValueError, match="same first dimension"):
        fit_module(nn.Linear(5, 1), (x[:3, 0], y[:4]))


class _Last(nn.Module):
    def __init__(self, cell, hidden=32):
        super().__init__()
        self.rnn, self.out = RNN(cell, 2, hidden), nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(self.rnn(x)[0][:, -1])


@pytest.mark.slow
def test_adding_problem_gated_cells_learn_tanh_rnn_does_not():
    """T = 50: predicting the mean scores 1/6 ~ 0.167. LSTM and GRU get far below within a fixed budget of epochs;
    the tanh RNN stays at the mean (its gradient from the first marker has vanished)."""
    x, y = adding_problem(2500, 50, random_state=0)
    train, valid = (x[:2000], y[:2000]), (x[2000:], y[2000:])
    best = {}
    for cell in ("gru", "lstm", "elman"):
        with seeded(0):
            m = _Last(cell)
        state, best[cell] = None, np.inf
        for _ in range(14):
            h = fit_module(m, train, valid, max_epochs=1, batch_size=50, lr=1e-2, lr_schedule=None, patience=None,
                           random_state=0, device="cpu", optimizer_state=state)
            state, best[cell] = h.optimizer_state, min(best[cell], h.valid_loss[-1])
            if best[cell] < 0.02:
                break
    assert best["gru"] < 0.02 and best["lstm"] < 0.02, best
    assert best["elman"] > 0.1, best


def test_torch_threads_sets_and_restores():
    import torch

    from tsrnn.nn.training import torch_threads

    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with torch_threads(target):
        assert torch.get_num_threads() == target
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(target):  # restored after an error too
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads"), torch_threads(0):
        pass
