r"""The one training loop every neural estimator of tsrnn uses: :func:`fit_module`.

Mini-batches are drawn from tensors held on the device (no DataLoader: the windows of a panel fit in memory),
shuffled by a generator seeded from ``random_state``; Adam with gradient-norm clipping; a learning-rate schedule;
early stopping on a held-out set (the estimators hold out the last windows of each series) with the best weights
restored; tqdm progress; mixed precision on a GPU. Calling it again on an already trained module continues from its
weights (``warm_start`` in the estimators), optionally with the optimiser state of the previous call.

Determinism: everything random (initialisation done by the caller inside :func:`seeded`, shuffling, dropout) is
drawn from ``random_state``, inside ``torch.random.fork_rng`` so the global generators are left untouched. On a CPU
two runs with the same ``random_state`` give bit-identical weights.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import Tensor, nn

__all__ = ["fit_module", "TrainingHistory", "seeded", "seed_from", "resolve_device", "torch_threads", "adding_problem"]


def seed_from(random_state) -> int:
    """An integer seed from ``None`` (fresh entropy), an int or a ``np.random.RandomState``."""
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


@contextlib.contextmanager
def seeded(seed: int, device: str | torch.device = "cpu"):
    """Seed torch's generators inside the block and restore the previous global state after it."""
    dev = torch.device(device)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type="cuda" if devices else "cpu"):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def torch_threads(n_threads: int | None):
    """Run the block with ``torch.set_num_threads(n_threads)`` and restore the previous count after it.

    ``None`` leaves torch's setting as it is. Small recurrent models are sequential: one intra-op thread is
    fastest for them, and on shared cores more threads make each step wait for busy ones (measured on 2 busy
    cores: one LSTM step 4 ms with 1 thread, 937 ms with 2). tsrnn's estimators default to 1 on the CPU.
    """
    if n_threads is None:
        yield
        return
    n = int(n_threads)
    if n < 1:
        raise ValueError(f"n_threads must be a positive integer or None, got {n_threads!r}")
    previous = torch.get_num_threads()
    if n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def resolve_device(device) -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; anything else goes to ``torch.device``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass
class TrainingHistory:
    """What :func:`fit_module` did: losses per epoch, the best epoch, time, and the optimiser state (CPU)."""

    train_loss: list = field(default_factory=list)
    valid_loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    seconds: float = 0.0
    n_samples: int = 0
    optimizer_state: dict | None = None
    amp: str | None = None  # the autocast dtype used, if any

    @property
    def n_epochs(self) -> int:
        return len(self.train_loss)


def _default_loss(module: nn.Module, batch: Sequence[Tensor]) -> Tensor:
    *inputs, target = batch
    return nn.functional.mse_loss(module(*inputs), target)


def _to_tensors(data, device) -> tuple[Tensor, ...]:
    if data is None:
        return ()
    if isinstance(data, (Tensor, np.ndarray)):
        data = (data,)
    out = []
    for a in data:
        t = torch.as_tensor(a)
        if t.is_floating_point():
            t = t.float()
        out.append(t.to(device))
    n = {len(t) for t in out}
    if len(n) != 1:
        raise ValueError(f"fit_module: all tensors of a data set need the same first dimension, got {sorted(n)}")
    return tuple(out)


def _cpu_state(obj):
    if isinstance(obj, Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _cpu_state(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_state(v) for v in obj)
    return copy.deepcopy(obj)


def _make_schedule(name, optimizer, max_epochs, patience):
    if name in (None, "none", "constant"):
        return None
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=max(1, patience // 3))
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, max_epochs))
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, max_epochs // 3), gamma=0.3)
    raise ValueError(f"fit_module: lr_schedule must be 'plateau', 'cosine', 'step' or None, got {name!r}")


def fit_module(
    module: nn.Module,
    train,
    valid=None,
    *,
    loss_fn: Callable[[nn.Module, Sequence[Tensor]], Tensor] | None = None,
    max_epochs: int = 50,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    clip_grad_norm: float | None = 1.0,
    patience: int | None = 10,
    lr_schedule: str | None = "plateau",
    max_steps: int | None = None,
    random_state=None,
    device="auto",
    amp: bool | str = False,
    optimizer_state: dict | None = None,
    progress: bool = False,
    desc: str = "training",
) -> TrainingHistory:
    r"""Train ``module`` in place with Adam on mini-batches of ``train``; return a :class:`TrainingHistory`.

    Parameters
    ----------
    module : nn.Module
        Trained in place, moved to ``device`` (left there; call ``module.cpu()`` to persist).
    train : tuple of arrays/tensors with the same first dimension ``n``, or a lazy dataset
        An object with ``__len__`` and ``take(indices) -> tuple of arrays`` builds each mini-batch on demand
        (e.g. :class:`tsrnn.models.rnn.WindowDataset`), so training memory does not grow with the data.
        One mini-batch is the tuple of those rows, e.g. ``(x (n, window, features), target (n, h))``.
    valid : tuple like ``train``, optional
        Held-out rows (the last windows of each series); when given the loop stops after ``patience`` epochs
        without improvement of the validation loss and restores the best weights.
    loss_fn : callable ``(module, batch) -> scalar``, optional
        Default: ``mse(module(*batch[:-1]), batch[-1])``. The validation loss uses the same function.
    max_epochs, batch_size, lr, weight_decay : training settings (Adam, ``betas=(0.9, 0.999)``).
    clip_grad_norm : float or None
        Rescale the gradient so that its global L2 norm is at most this value.
    patience : int or None
        Early-stopping patience in epochs (``None``: never stop early).
    lr_schedule : {"plateau", "cosine", "step", None}
        ReduceLROnPlateau (halve after ``patience // 3`` flat epochs), cosine annealing over ``max_epochs``, a
        step decay, or a constant rate.
    max_steps : int, optional
        Stop after this many optimiser steps in total (for fixed-budget experiments).
    random_state : None, int or RandomState
        Seeds the shuffling and dropout (the caller builds the module inside :func:`seeded` for initialisation).
    device : "auto", "cpu", "cuda" or torch.device
    amp : bool or "auto", default False
        Mixed precision on CUDA (bfloat16 autocast, or float16 with gradient scaling where bfloat16 is
        unsupported); ``"auto"``/``True`` enable it on CUDA only, never on the CPU. Off by default: for the
        recurrent models of this package it did not pay on an H200 (LSTM, batch 64/hidden 32 and batch
        1024/hidden 128: 0.64-0.74x and 0.84-0.86x the float32 throughput in two runs,
        ``benchmarks/results/rnn_speed_cuda.md``), since cuDNN's float32 RNN kernels are already fast at these
        sizes and autocast adds casts. The recurrences of the custom cells run in float32 even under autocast.
    optimizer_state : dict, optional
        ``history.optimizer_state`` of a previous call, to continue training exactly where it stopped.
    progress : bool
        Show a tqdm bar over epochs with the losses.

    Returns
    -------
    TrainingHistory
    """
    dev = resolve_device(device)
    module.to(dev)
    # a lazy dataset (``__len__`` + ``take(indices) -> arrays``) builds each batch when it is needed, so memory
    # does not grow with the number of windows; arrays and tensors are moved to the device once
    lazy = hasattr(train, "take")
    train_t = None if lazy else _to_tensors(train, dev)
    valid_t = valid if hasattr(valid, "take") else _to_tensors(valid, dev)
    if hasattr(valid_t, "take") and len(valid_t) == 0:
        valid_t = ()
    n = len(train) if lazy else len(train_t[0])
    if n == 0:
        raise ValueError("fit_module: the training set is empty")
    loss_fn = loss_fn or _default_loss
    use_amp = (dev.type == "cuda") if amp == "auto" else bool(amp) and dev.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if optimizer_state is not None:
        opt.load_state_dict(optimizer_state)
    sched = _make_schedule(lr_schedule, opt, max_epochs, patience or 10)
    hist = TrainingHistory()
    seed = seed_from(random_state)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    best, best_state, bad = math.inf, None, 0
    steps = 0
    t0 = time.perf_counter()

    amp_on = [use_amp]  # switched off if the model has an op without a low-precision kernel

    def autocast():
        return torch.autocast("cuda", dtype=amp_dtype) if amp_on[0] else contextlib.nullcontext()

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_epochs, desc=desc, leave=False)
    with seeded(seed, dev):
        for _epoch in range(max_epochs):
            module.train()
            perm = torch.randperm(n, generator=gen).to(dev)
            total, count = 0.0, 0
            for start in range(0, n, batch_size):
                idx = perm[start:start + batch_size]
                batch = (_to_tensors(train.take(idx.cpu().numpy()), dev) if lazy
                         else tuple(t[idx] for t in train_t))
                try:
                    with autocast():
                        loss = loss_fn(module, batch)
                except RuntimeError as e:
                    if not amp_on[0] or steps:
                        raise
                    warnings.warn(f"fit_module: mixed precision failed ({e}); training in float32", stacklevel=2)
                    amp_on[0] = False
                    scaler = torch.amp.GradScaler("cuda", enabled=False)
                    loss = loss_fn(module, batch)
                opt.zero_grad(set_to_none=True)
                if scaler.is_enabled():  # float16 autocast: scale the loss against underflow
                    scaler.scale(loss).backward()
                    if clip_grad_norm:
                        scaler.unscale_(opt)
                        nn.utils.clip_grad_norm_(params, clip_grad_norm)
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    if clip_grad_norm:
                        nn.utils.clip_grad_norm_(params, clip_grad_norm)
                    opt.step()
                total += loss.detach() * len(idx)
                count += len(idx)
                steps += 1
                if max_steps is not None and steps >= max_steps:
                    break
            hist.n_samples += count
            hist.train_loss.append(float(total) / count)  # one device sync per epoch
            if not math.isfinite(hist.train_loss[-1]):
                raise FloatingPointError(f"fit_module: the training loss became {hist.train_loss[-1]} "
                                         f"(epoch {_epoch}); lower lr or check the inputs")
            hist.lr.append(opt.param_groups[0]["lr"])
            monitor = hist.train_loss[-1]
            if valid_t:
                monitor = _evaluate(module, valid_t, loss_fn, batch_size * 4, autocast)
                hist.valid_loss.append(monitor)
                if monitor < best - 1e-12:
                    best, bad, hist.best_epoch = monitor, 0, _epoch
                    best_state = _cpu_state(module.state_dict())
                else:
                    bad += 1
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(monitor)
            elif sched is not None:
                sched.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{hist.train_loss[-1]:.4g}",
                                **({"valid": f"{monitor:.4g}"} if valid_t else {}))
            if valid_t and patience is not None and bad >= patience:
                hist.stopped_early = True
                break
            if max_steps is not None and steps >= max_steps:
                break
    if bar is not None:
        bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    if not valid_t:
        hist.best_epoch = hist.n_epochs - 1
    module.eval()
    hist.seconds = time.perf_counter() - t0
    hist.amp = str(amp_dtype).replace("torch.", "") if amp_on[0] else None
    hist.optimizer_state = _cpu_state(opt.state_dict())
    return hist


@torch.no_grad()
def _evaluate(module, data, loss_fn, batch_size, autocast) -> float:
    module.eval()
    lazy = hasattr(data, "take")
    n = len(data) if lazy else len(data[0])
    device = next(module.parameters()).device
    total = 0.0
    for start in range(0, n, batch_size):
        batch = (_to_tensors(data.take(np.arange(start, min(n, start + batch_size))), device) if lazy
                 else tuple(t[start:start + batch_size] for t in data))
        with autocast():
            total += float(loss_fn(module, batch)) * len(batch[0])
    module.train()
    return total / n


def copy_task(generator: torch.Generator, batch: int, length: int, bits: int):
    """The copy task (Graves et al. 2014): ``length`` random bit vectors, a delimiter flag, then the same vectors
    are to be output.

    Returns inputs ``(batch, 2 length + 1, bits + 1)``, targets ``(batch, 2 length + 1, bits)`` and the slice of
    the output phase.
    """
    seq = torch.randint(0, 2, (batch, length, bits), generator=generator).float()
    T = 2 * length + 1
    x = torch.zeros(batch, T, bits + 1)
    x[:, :length, :bits] = seq
    x[:, length, bits] = 1
    y = torch.zeros(batch, T, bits)
    y[:, length + 1:] = seq
    return x, y, slice(length + 1, T)


def adding_problem(n: int, length: int = 100, random_state=None) -> tuple[np.ndarray, np.ndarray]:
    r"""The adding problem of Hochreiter & Schmidhuber (1997), in the form of Le, Jaitly & Hinton (2015).

    Each sequence has two channels: values ``u_t ~ U(0, 1)`` and a marker that is 1 at exactly two steps, one in
    each half of the sequence; the target is the sum of the two marked values. Predicting the mean (1) has mean
    squared error 1/6 ≈ 0.167; solving it needs memory over up to ``length`` steps.

    Returns
    -------
    x : (n, length, 2) float32, y : (n, 1) float32
    """
    rng = check_random_state(random_state)
    u = rng.uniform(0.0, 1.0, size=(n, length))
    marks = np.zeros((n, length))
    half = length // 2
    first = rng.randint(0, half, size=n)
    second = rng.randint(half, length, size=n)
    rows = np.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    x = np.stack([u, marks], axis=-1).astype(np.float32)
    y = (u[rows, first] + u[rows, second])[:, None].astype(np.float32)
    return x, y
