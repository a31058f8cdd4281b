"""What every command shares: the one-line error, number parsers, output checks, sources."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

USER_ERROR = 2


class UsageError(Exception):
    """A problem with what the user asked for; its message is shown as is."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


# ----- helpers ------------------------------------------------------------------------------------

def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return v


MAX_N = 2_000_000


def count(text: str) -> int:
    v = positive_int(text)
    if v > MAX_N:
        raise argparse.ArgumentTypeError(f"at most {MAX_N} samples, got {v}")
    return v


def check_out(path: str, suffixes: tuple[str, ...]) -> Path:
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise UsageError(f"{path}: output must end in {' or '.join(suffixes)}")
    if p.is_dir():
        raise UsageError(f"{path}: is a folder")
    if not p.parent.exists():
        raise UsageError(f"{path}: folder {p.parent} does not exist")
    return p


def write_array(path: Path, x) -> None:
    """A float32 .npy file, written atomically."""
    import numpy as np
    from playground.formats.io_utils import atomic_path
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.asarray(x, dtype=np.float32))


def write_points(path: Path, x) -> None:
    import numpy as np
    from playground.formats.io_utils import atomic_path
    if path.suffix.lower() == ".npy":
        return write_array(path, x)
    with atomic_path(path) as tmp:
        np.savetxt(tmp, np.asarray(x, dtype=np.float32), delimiter=",", header="x,y", comments="", fmt="%.7g")


def load(name: str):
    from playground.formats.presets import load_preset
    preset = load_preset(name)
    return preset, preset.target


def source_for(args, target):
    from playground.maths.sources import ExactSource, ModelSource
    if args.exact == bool(args.model):
        raise UsageError("give exactly one of --model FILE.pt or --exact")
    if args.exact:
        return ExactSource(target)
    from playground.formats.checkpoint import load_model
    from playground.learning.trainer import resolve_device
    device, note = resolve_device(getattr(args, "device", "auto"))
    if note:
        print(note, file=sys.stderr)
    return ModelSource(load_model(args.model, device=device), copy_weights=False)


def guided(args, target, source):
    """`--class K [--guidance W]`: classifier-free guidance towards class K (default W = 1)."""
    if args.class_ is None:
        if args.guidance is not None:
            raise UsageError("--guidance needs --class K")
        return source
    from playground.maths.guidance import ExactGuidedSource, GuidedSource, parse_class
    label = parse_class(target, args.class_)
    scale = 1.0 if args.guidance is None else args.guidance
    if scale < 0:
        raise UsageError(f"--guidance must be >= 0 (0 = unconditional, 1 = conditional), got {scale:g}")
    if args.exact:
        return ExactGuidedSource(target, label, scale)
    if source.n_classes <= 0:
        raise UsageError(f"{Path(args.model).name} is an unconditional model: --class needs a checkpoint "
                         "trained with --conditional, or --exact")
    if label >= source.n_classes:
        raise UsageError(f"class {args.class_} is beyond the {source.n_classes} classes this model was trained on")
    return GuidedSource(source, label, scale)


class ProgressLine:
    """Progress on stderr: rewritten in place on a terminal (twice a second), a line every 5 s otherwise."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.t0 = self.last = time.perf_counter()

    def show(self, line: str) -> None:
        now = time.perf_counter()
        if now - self.t0 < 0.5 or now - self.last < (0.5 if self.tty else 5.0):
            return
        self.last = now
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty and self.last > self.t0:
            print(file=sys.stderr)


def limit_threads():
    import torch
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
