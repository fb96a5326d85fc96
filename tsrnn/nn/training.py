r"""The one training loop every neural estimator of tsrnn uses (:func:`fit_module`) and the one training
configuration they share (:class:`TrainingParams`).

Loop. Mini-batches are drawn from tensors held on the device (no DataLoader: the windows of a panel fit in memory),
shuffled by a generator seeded from ``random_state``; Adam with gradient-norm clipping; a learning-rate schedule;
early stopping on a held-out set with the best weights restored; tqdm progress; optional mixed precision on a GPU.
Calling it again on an already trained module continues from its weights (``warm_start`` in the estimators),
optionally with the optimiser state of the previous call. Its steps are named: :class:`_TrainData` (rows on the
device or built lazily), :class:`_Precision` (autocast and its float32 fallback), :class:`_Run` (loss and one
optimiser step), :func:`_train_epoch`, :func:`_train_epochs` (validation, schedule, :class:`_EarlyStopping`).

Configuration. The settings every neural estimator shares (``max_epochs``, ``batch_size``, ``lr``,
``weight_decay``, ``lr_schedule``, ``patience``, ``validation_size``, ``clip_grad_norm``, ``device``,
``n_threads``, ``progress``, ``random_state``) are the fields of one dataclass, :class:`TrainingParams`: their
defaults, their validation (:meth:`TrainingParams._training_config`, called in ``fit``, so ``__init__`` only
stores) and their documentation (:data:`TRAINING_PARAMETERS_DOC`, filled with each class's defaults) live here
once. An estimator subclasses it and is decorated with :func:`neural_estimator`, which makes the estimator a
dataclass too: its own annotated fields, then the shared ones as keyword-only parameters, become a generated
``__init__`` that only stores its arguments. scikit-learn reads that signature, so ``get_params``, ``set_params``
and ``clone`` work unchanged; no constructor repeats the settings. A class that needs another default redeclares
one field (``lr: float = field(default=5e-3, kw_only=True)``). Why not a ``training=TrainingParams(...)``
parameter: the public API (``RNNForecaster(max_epochs=5)``, ``n_threads``/``device`` on every torch-backed
estimator) names the settings directly, and nested parameters make grid searches and error texts longer.

Defaults are for small recurrent models on a CPU. ``n_threads=1``: these models are sequential, one intra-op
thread is fastest for them, and with more threads every step waits for the slowest core when other processes
share the machine (``benchmarks/results/busy_cpu.md``); it is applied only inside ``fit``/``predict`` through
:func:`torch_threads` and restored. ``device="cpu"``, not ``"auto"``: at the default sizes (batch 64, hidden 32) a
GPU trains only 1.2-1.4x faster than a CPU (``benchmarks/results/rnn_speed_cuda.md``), and on the CPU the same
``random_state`` gives bit-identical forecasts on every machine, with or without a GPU; pass ``device="auto"``
for large models.

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
from dataclasses import dataclass, field, fields

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import Tensor, nn

__all__ = ["fit_module", "TrainingParams", "neural_estimator", "TrainingHistory", "seeded", "seed_from", "resolve_device", "torch_threads", "adding_problem"]


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


# ---------------------------------------------------------------------------------------------------------------------
# One training configuration shared by every neural estimator
# ---------------------------------------------------------------------------------------------------------------------
_SCHEDULES = (None, "none", "constant", "plateau", "cosine", "step")


@dataclass(eq=False, repr=False, kw_only=True)
class TrainingParams:
    """The training settings every neural estimator shares, declared once (see the module docstring).

    Used two ways: as a base class of an estimator decorated with :func:`neural_estimator` (the fields become
    keyword-only ``__init__`` parameters of the estimator), and as the validated value object that
    :meth:`_training_config` returns and :func:`fit_module` reads. Validation happens in ``_training_config`` (called
    from ``fit``), never in ``__init__``, as scikit-learn requires.
    """

    max_epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_schedule: str | None = "plateau"
    patience: int | None = 10
    validation_size: float | None = 0.1
    clip_grad_norm: float | None = 1.0
    device: str = "cpu"
    n_threads: int | None = 1
    progress: bool = False
    random_state: int | np.random.RandomState | None = None

    def _training_config(self) -> TrainingParams:
        """The training settings of this estimator as a validated :class:`TrainingParams` (clear ``ValueError``
        naming the estimator and the setting otherwise)."""
        values = {f.name: getattr(self, f.name) for f in fields(TrainingParams)}
        try:
            return _validated(TrainingParams(**values))
        except ValueError as e:
            raise ValueError(f"{type(self).__name__}: {e}") from None

    def _threads(self):
        """Context manager: ``n_threads`` torch threads inside the block (``fit``/``predict`` bodies), restored after."""
        n = self.n_threads
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise ValueError(f"{type(self).__name__}: n_threads must be a positive integer or None, got {n!r}")
        return torch_threads(n)

    def _fit_kwargs(self) -> dict:
        """The keyword arguments of :func:`fit_module` these settings give: all but ``validation_size`` (the
        estimator builds its held-out set) and ``random_state`` (the estimator passes the seed it derived)."""
        skip = {"validation_size", "random_state"}
        return {f.name: getattr(self, f.name) for f in fields(TrainingParams) if f.name not in skip}


def _positive_int(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def _non_negative_float(value, name: str, allow_none: bool = False, positive: bool = False):
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) < 0 or (positive and float(value) == 0):
        kind = "a positive" if positive else "a non-negative"
        raise ValueError(f"{name} must be {kind} finite number{' or None' if allow_none else ''}, got {value!r}")
    return float(value)


def _validated(c: TrainingParams) -> TrainingParams:
    """A copy of ``c`` with every setting checked and converted to its plain Python type."""
    if c.lr_schedule not in _SCHEDULES:
        raise ValueError(f"lr_schedule must be 'plateau', 'cosine', 'step' or None, got {c.lr_schedule!r}")
    vs = _non_negative_float(c.validation_size, "validation_size", allow_none=True)
    if vs is not None and vs >= 1:
        raise ValueError(f"validation_size must be a fraction in [0, 1) or None, got {c.validation_size!r}")
    try:
        resolve_device(c.device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or a torch.device, got {c.device!r} ({e})") from None
    if not isinstance(c.progress, (bool, np.bool_)):
        raise ValueError(f"progress must be True or False, got {c.progress!r}")
    return TrainingParams(
        max_epochs=_positive_int(c.max_epochs, "max_epochs"), batch_size=_positive_int(c.batch_size, "batch_size"),
        lr=_non_negative_float(c.lr, "lr", positive=True),
        weight_decay=_non_negative_float(c.weight_decay, "weight_decay"), lr_schedule=c.lr_schedule,
        patience=_positive_int(c.patience, "patience", allow_none=True), validation_size=vs or None,
        clip_grad_norm=_non_negative_float(c.clip_grad_norm, "clip_grad_norm", allow_none=True, positive=True),
        device=c.device, n_threads=_positive_int(c.n_threads, "n_threads", allow_none=True),
        progress=bool(c.progress), random_state=c.random_state)


DEFAULTS = TrainingParams()

TRAINING_PARAMETERS_DOC = """\
    max_epochs : int, default {max_epochs}
        Passes over the training windows (fewer when early stopping ends training).
    batch_size : int, default {batch_size}
        Rows per mini-batch.
    lr : float, default {lr}
        Adam's learning rate.
    weight_decay : float, default {weight_decay}
        Adam's L2 penalty.
    lr_schedule : {{"plateau", "cosine", "step", None}}, default {lr_schedule!r}
        Halve the rate after ``patience // 3`` flat epochs, cosine annealing over ``max_epochs``, a step decay,
        or a constant rate.
    patience : int or None, default {patience}
        Stop after this many epochs without a better validation loss and restore the best weights (needs a
        validation part; ``None``: never stop early).
    validation_size : float or None, default {validation_size}
        Fraction held out for early stopping (``None`` or 0: none; train on everything for ``max_epochs``).
    clip_grad_norm : float or None, default {clip_grad_norm}
        Rescale the gradient so that its global L2 norm is at most this value.
    device : {{"cpu", "auto", "cuda"}} or torch.device, default {device!r}
        Where training runs (``"auto"``: CUDA when available). The fitted network is kept on the CPU.
    n_threads : int or None, default {n_threads}
        Torch intra-op threads, set only inside ``fit`` and ``predict`` and restored after (``None``: leave
        torch's setting).
    progress : bool, default {progress}
        Show a progress bar over epochs.
    random_state : None, int or RandomState, default {random_state}
        Seeds initialisation, shuffling, dropout and the validation split: the same value gives bit-identical
        results on the CPU."""


def neural_estimator(cls):
    """Class decorator for an estimator that subclasses :class:`TrainingParams`.

    The class's annotated fields (its own, then the shared training settings, keyword-only) become a generated
    ``__init__`` that only stores its arguments, which is what scikit-learn's ``get_params``/``clone`` read; and
    ``{training_parameters}`` in the class docstring becomes :data:`TRAINING_PARAMETERS_DOC` filled with this
    class's defaults. No ``__eq__``, ``__hash__`` or ``__repr__`` is generated (scikit-learn's are kept).
    """
    cls = dataclass(eq=False, repr=False)(cls)
    if cls.__doc__ and "{training_parameters}" in cls.__doc__:
        defaults = {f.name: f.default for f in fields(TrainingParams)}
        defaults.update({f.name: f.default for f in fields(cls) if f.name in defaults})
        cls.__doc__ = cls.__doc__.replace("{training_parameters}", TRAINING_PARAMETERS_DOC.format(**defaults).strip())
    return cls


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
    max_epochs: int = DEFAULTS.max_epochs,
    batch_size: int = DEFAULTS.batch_size,
    lr: float = DEFAULTS.lr,
    weight_decay: float = DEFAULTS.weight_decay,
    clip_grad_norm: float | None = DEFAULTS.clip_grad_norm,
    patience: int | None = DEFAULTS.patience,
    lr_schedule: str | None = DEFAULTS.lr_schedule,
    max_steps: int | None = None,
    random_state=None,
    device=DEFAULTS.device,
    amp: bool | str = False,
    optimizer_state: dict | None = None,
    progress: bool = DEFAULTS.progress,
    desc: str = "training",
    n_threads: int | None = None,
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
    max_epochs, batch_size, lr, weight_decay, clip_grad_norm, patience, lr_schedule, device, progress :
        As in :class:`TrainingParams` (Adam with ``betas=(0.9, 0.999)``; early stopping needs ``valid``).
    max_steps : int, optional
        Stop after this many optimiser steps in total (for fixed-budget experiments).
    random_state : None, int or RandomState
        Seeds the shuffling and dropout (the caller builds the module inside :func:`seeded` for initialisation).
    amp : bool or "auto", default False
        Mixed precision on CUDA only (bfloat16 autocast, or float16 with gradient scaling where bfloat16 is
        unsupported). Off by default: for these recurrent models it ran at 0.64-0.86x the float32 throughput on
        an H200 (``benchmarks/results/rnn_speed_cuda.md``). Custom cells' recurrences stay in float32.
    optimizer_state : dict, optional
        ``history.optimizer_state`` of a previous call, to continue training exactly where it stopped.
    progress : bool
        Show a tqdm bar over epochs with the losses.
    n_threads : int or None, default None
        Torch intra-op threads during training, restored afterwards (``None``: leave torch's setting). The
        estimators pass their ``n_threads`` (default 1).

    Returns
    -------
    TrainingHistory
    """
    with torch_threads(n_threads):
        dev = resolve_device(device)
        module.to(dev)
        train_d, valid_d = _TrainData(train, dev), _TrainData(valid, dev)
        if len(train_d) == 0:
            raise ValueError("fit_module: the training set is empty")
        run = _Run(module, loss_fn or _default_loss, _Precision.build(amp, dev), clip_grad_norm, max_steps)
        run.opt = torch.optim.Adam(run.params, lr=lr, weight_decay=weight_decay)
        if optimizer_state is not None:
            run.opt.load_state_dict(optimizer_state)
        sched = _make_schedule(lr_schedule, run.opt, max_epochs, patience or 10)
        seed = seed_from(random_state)
        hist = _train_epochs(run, train_d, valid_d, sched, _EarlyStopping(patience), seed, dev, max_epochs,
                             batch_size, _progress_bar(progress, max_epochs, desc))
        hist.amp = str(run.precision.dtype).replace("torch.", "") if run.precision.enabled else None
        hist.optimizer_state = _cpu_state(run.opt.state_dict())
        return hist


class _TrainData:
    """Rows of a data set: tensors held on the device, or a lazy dataset (``__len__`` + ``take(indices)``) whose
    batches are built when needed, so memory does not grow with the number of windows. ``None`` is empty."""

    def __init__(self, data, device):
        self.device = device
        self.lazy = hasattr(data, "take")
        self.data = data if self.lazy else _to_tensors(data, device)

    def __len__(self) -> int:
        if self.lazy:
            return len(self.data)
        return len(self.data[0]) if self.data else 0

    def rows(self, idx: Tensor) -> tuple[Tensor, ...]:
        """The mini-batch of rows ``idx`` (a tensor of indices on the device)."""
        if self.lazy:
            return _to_tensors(self.data.take(idx.cpu().numpy()), self.device)
        return tuple(t[idx] for t in self.data)

    def chunks(self, size: int):
        """Consecutive batches of at most ``size`` rows, in order (for evaluation)."""
        n = len(self)
        for start in range(0, n, size):
            if self.lazy:
                yield _to_tensors(self.data.take(np.arange(start, min(n, start + size))), self.device)
            else:
                yield tuple(t[start:start + size] for t in self.data)


@dataclass
class _Precision:
    """Mixed precision on CUDA: the autocast dtype and, for float16, a gradient scaler against underflow.

    Switched off (with a warning) when the first forward pass fails under autocast, i.e. the model has an op
    without a low-precision kernel.
    """

    enabled: bool
    dtype: torch.dtype
    scaler: torch.amp.GradScaler

    @classmethod
    def build(cls, amp, dev: torch.device) -> _Precision:
        on = (dev.type == "cuda") if amp == "auto" else bool(amp) and dev.type == "cuda"
        dtype = torch.bfloat16 if on and torch.cuda.is_bf16_supported() else torch.float16
        return cls(on, dtype, torch.amp.GradScaler("cuda", enabled=on and dtype == torch.float16))

    def autocast(self):
        return torch.autocast("cuda", dtype=self.dtype) if self.enabled else contextlib.nullcontext()

    def disable(self, error: Exception) -> None:
        warnings.warn(f"fit_module: mixed precision failed ({error}); training in float32", stacklevel=6)
        self.enabled = False
        self.scaler = torch.amp.GradScaler("cuda", enabled=False)


class _EarlyStopping:
    """Tracks the best validation loss, keeps a CPU copy of the best weights, and says when to stop."""

    def __init__(self, patience: int | None):
        self.patience, self.best, self.best_state, self.bad, self.best_epoch = patience, math.inf, None, 0, -1

    def update(self, loss: float, epoch: int, module: nn.Module) -> bool:
        """Record an epoch's validation loss; True when ``patience`` epochs passed without improvement."""
        if loss < self.best - 1e-12:
            self.best, self.bad, self.best_epoch = loss, 0, epoch
            self.best_state = _cpu_state(module.state_dict())
        else:
            self.bad += 1
        return self.patience is not None and self.bad >= self.patience

    def restore(self, module: nn.Module) -> None:
        if self.best_state is not None:
            module.load_state_dict(self.best_state)


@dataclass
class _Run:
    """What one training run updates: the module, its loss, the optimiser, precision, and the step count."""

    module: nn.Module
    loss_fn: Callable
    precision: _Precision
    clip_grad_norm: float | None
    max_steps: int | None
    opt: torch.optim.Optimizer | None = None
    steps: int = 0

    def __post_init__(self):
        self.params = [p for p in self.module.parameters() if p.requires_grad]

    @property
    def out_of_steps(self) -> bool:
        return self.max_steps is not None and self.steps >= self.max_steps

    def loss(self, batch) -> Tensor:
        """The loss of one batch, under autocast when enabled (falling back to float32 before the first step)."""
        try:
            with self.precision.autocast():
                return self.loss_fn(self.module, batch)
        except RuntimeError as e:
            if not self.precision.enabled or self.steps:
                raise
            self.precision.disable(e)
            return self.loss_fn(self.module, batch)

    def step(self, loss: Tensor) -> None:
        """Backward pass, gradient-norm clipping, and one optimiser step (scaled when float16 autocast is on)."""
        self.opt.zero_grad(set_to_none=True)
        scaler, params = self.precision.scaler, self.params
        if scaler.is_enabled():
            scaler.scale(loss).backward()
            if self.clip_grad_norm:
                scaler.unscale_(self.opt)
                nn.utils.clip_grad_norm_(params, self.clip_grad_norm)
            scaler.step(self.opt)
            scaler.update()
        else:
            loss.backward()
            if self.clip_grad_norm:
                nn.utils.clip_grad_norm_(params, self.clip_grad_norm)
            self.opt.step()
        self.steps += 1


def _train_epoch(run: _Run, data: _TrainData, perm: Tensor, batch_size: int) -> tuple[float, int]:
    """One pass over the rows in the order ``perm``; the mean training loss and the number of rows seen."""
    run.module.train()
    total, count = 0.0, 0
    for start in range(0, len(data), batch_size):
        idx = perm[start:start + batch_size]
        loss = run.loss(data.rows(idx))
        run.step(loss)
        total += loss.detach() * len(idx)
        count += len(idx)
        if run.out_of_steps:
            break
    return float(total) / count, count  # one device sync per epoch


def _train_epochs(run, train, valid, sched, stopper, seed, dev, max_epochs, batch_size, bar) -> TrainingHistory:
    """Epochs of training, validation, schedule step and early stopping; the best weights restored at the end."""
    hist = TrainingHistory()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    t0 = time.perf_counter()
    with seeded(seed, dev):
        for epoch in range(max_epochs):
            perm = torch.randperm(len(train), generator=gen).to(dev)
            loss, count = _train_epoch(run, train, perm, batch_size)
            if not math.isfinite(loss):
                raise FloatingPointError(f"fit_module: the training loss became {loss} (epoch {epoch}); "
                                         "lower lr or check the inputs")
            hist.n_samples += count
            hist.train_loss.append(loss)
            hist.lr.append(run.opt.param_groups[0]["lr"])
            monitor, stop = loss, False
            if len(valid):
                monitor = _evaluate(run.module, valid, run.loss_fn, batch_size * 4, run.precision)
                hist.valid_loss.append(monitor)
                stop = stopper.update(monitor, epoch, run.module)
            _schedule_step(sched, monitor)
            _show(bar, loss, monitor if len(valid) else None)
            if stop or run.out_of_steps:
                hist.stopped_early = stop
                break
    if bar is not None:
        bar.close()
    stopper.restore(run.module)
    hist.best_epoch = stopper.best_epoch if len(valid) else hist.n_epochs - 1
    run.module.eval()
    hist.seconds = time.perf_counter() - t0
    return hist


def _schedule_step(sched, monitor: float) -> None:
    if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
        sched.step(monitor)
    elif sched is not None:
        sched.step()


def _progress_bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


def _show(bar, loss: float, valid: float | None) -> None:
    if bar is not None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4g}", **({"valid": f"{valid:.4g}"} if valid is not None else {}))


@torch.no_grad()
def _evaluate(module, data: _TrainData, loss_fn, batch_size, precision: _Precision) -> float:
    module.eval()
    total = 0.0
    for batch in data.chunks(batch_size):
        with precision.autocast():
            total += float(loss_fn(module, batch)) * len(batch[0])
    module.train()
    return total / len(data)


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
