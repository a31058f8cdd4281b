"""The device a trainer runs on, the optimiser it steps with and how much of a batch one pass holds,
shared by every trainer."""
from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from playground.maths.budgets import TRAIN_CELLS, by_rows, rows_per_pass


def make_optimizer(params, lr: float, weight_decay: float = 0.0) -> torch.optim.AdamW:
    """AdamW with the fused kernel where torch has one for the device: one kernel for all
    parameters instead of a dozen small ops each, ~0.6 ms of a ~3 ms CPU step at batch 1024."""
    params = list(params)
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):     # an older torch or a device without the kernel
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def resolve_device(name: str) -> tuple[torch.device, str | None]:
    """The device to use (auto, cpu, cuda or cuda:N), and a message when the request could not be honoured."""
    name = (name or "auto").lower() if isinstance(name, str) else name
    index = name[5:] if isinstance(name, str) and name.startswith("cuda:") else None
    if name not in ("auto", "cpu", "cuda") and not (index and index.isdigit() and len(index) <= 2):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}")
    if name == "cpu":
        return torch.device("cpu"), None
    if torch.cuda.is_available():
        if index is None:
            return torch.device("cuda"), None
        if int(index) < torch.cuda.device_count():
            return torch.device(name), None
        return torch.device("cuda"), f"{name} does not exist ({torch.cuda.device_count()} GPUs); using cuda:0"
    return torch.device("cpu"), (f"{name} was requested but CUDA is not available; using the CPU"
                                 if name != "auto" else None)


def in_chunks(fn, width: int, *args):
    """fn(*args) for a batch whose tensors share their first dimension (None passes through). When
    rows x width is over TRAIN_CELLS, fn runs on slices under activation checkpointing: backward
    recomputes one slice at a time, so the pass holds one slice's activations instead of the whole
    batch's (65536 x 1024 peaked at 1.7 GB, now 0.8 GB) and the gradient is the same."""
    wrap = (lambda f, *part: checkpoint(f, *part, use_reentrant=False)) if torch.is_grad_enabled() else None
    return by_rows(fn, rows_per_pass(width, TRAIN_CELLS), *args, wrap=wrap)
