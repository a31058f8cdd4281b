"""Command line: presets, target, train, sample, nll, compare, bench and gui.

Bad input of any kind ends in one line on stderr and exit status 2, never a traceback, and
outputs are written atomically so a failed command leaves earlier files untouched.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

USER_ERROR = 2


class UsageError(Exception):
    """A problem with what the user asked for; its message is shown as is."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


# ----- helpers ------------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def _float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return v


MAX_N = 2_000_000


def _n(text: str) -> int:
    v = _positive_int(text)
    if v > MAX_N:
        raise argparse.ArgumentTypeError(f"at most {MAX_N} samples, got {v}")
    return v


def _check_out(path: str, suffixes: tuple[str, ...]) -> Path:
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise UsageError(f"{path}: output must end in {' or '.join(suffixes)}")
    if p.is_dir():
        raise UsageError(f"{path}: is a folder")
    if not p.parent.exists():
        raise UsageError(f"{path}: folder {p.parent} does not exist")
    return p


def write_points(path: Path, x) -> None:
    import numpy as np
    from .io_utils import atomic_path
    arr = np.asarray(x, dtype=np.float32)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, arr)
        else:
            np.savetxt(tmp, arr, delimiter=",", header="x,y", comments="", fmt="%.7g")


def _load(name: str):
    from .presets import load_preset
    preset = load_preset(name)
    return preset, preset.target


def _source(args, target):
    from .sources import ExactSource, ModelSource
    if args.exact == bool(args.model):
        raise UsageError("give exactly one of --model FILE.pt or --exact")
    if args.exact:
        return ExactSource(target)
    from .checkpoint import load_model
    from .trainer import resolve_device
    device, note = resolve_device(getattr(args, "device", "auto"))
    if note:
        print(note, file=sys.stderr)
    return ModelSource(load_model(args.model, device=device), copy_weights=False)


def _guided(args, target, source):
    """`--class K [--guidance W]`: classifier-free guidance towards class K (default W = 1)."""
    if args.class_ is None:
        if args.guidance is not None:
            raise UsageError("--guidance needs --class K")
        return source
    from .guidance import ExactGuidedSource, GuidedSource, parse_class
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


def _threads():
    import torch
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))


# ----- commands ---------------------------------------------------------------------------------

def cmd_presets(args) -> int:
    from .presets import builtin_names, load_preset
    for name in builtin_names():
        print(f"{name:18s} {load_preset(name).description}")
    return 0


def cmd_target(args) -> int:
    out = _check_out(args.out, (".npy", ".csv"))
    _, target = _load(args.preset)
    write_points(out, target.sample(args.n, seed=args.seed).numpy())
    return 0


def cosine_tail(done: float, start: float = 0.6, floor: float = 0.05) -> float:
    """Learning-rate factor: 1 until `start` of the budget, then a cosine down to `floor`."""
    if done <= start:
        return 1.0
    f = min(1.0, (done - start) / (1 - start))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * f))


def cmd_train(args) -> int:
    from .checkpoint import save_checkpoint
    from .model import ModelConfig
    from .trainer import TrainConfig, Trainer
    if (args.steps is None) == (args.seconds is None):
        raise UsageError("give exactly one of --steps N or --seconds S")
    preset, target = _load(args.preset)
    out = _check_out(args.out or f"{Path(preset.name).stem.replace(' ', '_')}.pt", (".pt",))
    _threads()
    cfg = TrainConfig(seed=args.seed, device=args.device, lr=args.lr or TrainConfig.lr,
                      batch=args.batch or TrainConfig.batch, dataset_size=args.dataset_size,
                      conditional=args.conditional,
                      model=ModelConfig(hidden=args.hidden or ModelConfig.hidden))
    trainer = Trainer(target, cfg)
    for e in trainer.events:
        print(e, file=sys.stderr)
    seen_events = len(trainer.events)
    t0, last_print = time.perf_counter(), 0.0
    chunk = 25
    tty = sys.stderr.isatty()
    while True:
        elapsed = time.perf_counter() - t0
        if args.steps is not None and trainer.step >= args.steps:
            break
        if args.seconds is not None and elapsed >= args.seconds:
            break
        k = chunk if args.steps is None else min(chunk, args.steps - trainer.step)
        done = elapsed / args.seconds if args.steps is None else trainer.step / args.steps
        trainer.lr_scale = cosine_tail(done)
        losses = trainer.train(k)
        for e in trainer.events[seen_events:]:
            print(e, file=sys.stderr)
        seen_events = len(trainer.events)
        if elapsed > 0.5 and time.perf_counter() - last_print > (0.5 if tty else 5.0) and losses:
            last_print = time.perf_counter()
            goal = f"/{args.steps}" if args.steps else f" ({elapsed:.0f}/{args.seconds:g} s)"
            line = (f"step {trainer.step}{goal}  loss {sum(losses) / len(losses):.4f}  "
                    f"{trainer.step / max(elapsed, 1e-9):.0f} steps/s  {trainer.device}")
            print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0
    if tty:
        print(file=sys.stderr)
    save_checkpoint(trainer, out, extra={"preset": preset.name, "train_seconds": elapsed})
    print(f"trained {trainer.step} steps in {elapsed:.1f} s; saved {out}", file=sys.stderr)
    return 0


def cmd_sample(args) -> int:
    from .samplers import DEFAULT_STEPS, SAMPLERS, sample_steps
    if args.sampler not in SAMPLERS:
        raise UsageError(f"unknown sampler {args.sampler!r} (one of {', '.join(SAMPLERS)})")
    out = _check_out(args.out, (".npy", ".csv"))
    gif = _check_out(args.gif, (".gif",)) if args.gif else None
    preset, target = _load(args.preset)
    _threads()
    source = _guided(args, target, _source(args, target))
    frames, last = [], None
    steps = args.steps or DEFAULT_STEPS
    if gif:
        from .render import density_background, frame
        bg = density_background(target, preset.view["xlim"], preset.view["ylim"])
    for last in sample_steps(args.sampler, source, args.n, seed=args.seed, steps=steps,
                             schedule=args.schedule, eta=args.eta):
        if gif:
            frames.append(frame(last.x.float().cpu().numpy(), preset.view["xlim"], preset.view["ylim"], background=bg,
                                progress=min(1.0, last.i / steps)))
    x = last.x.float().cpu().numpy()
    import numpy as np
    if not np.all(np.isfinite(x)):
        raise UsageError("the sampler diverged (non-finite samples); nothing was written")
    write_points(out, x)
    if gif:
        from .render import write_gif
        write_gif(gif, frames)
    print(f"{args.sampler}: {args.n} samples, {source.nfe} evaluations; saved {out}", file=sys.stderr)
    return 0


def cmd_nll(args) -> int:
    from .likelihood import nll
    _, target = _load(args.preset)
    _threads()
    source = _source(args, target)
    x = target.sample(args.n, seed=args.seed)
    values = nll(source, x)
    true = -target.log_prob(x.double())
    print(json.dumps({"nll": float(values.mean()), "nll_true": float(true.mean())}))
    return 0


def cmd_compare(args) -> int:
    from .compare import quality_vs_steps
    from .io_utils import atomic_write_text
    from .sources import ExactSource, ModelSource
    out = _check_out(args.json, (".json",))
    _, target = _load(args.preset)
    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    try:
        steps = [int(s) for s in args.steps.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--steps must be a comma-separated list of whole numbers, got {args.steps!r}") from None
    if not args.exact and not args.model:
        raise UsageError("give --exact, --model FILE.pt, or both")
    _threads()
    sources = {}
    if args.exact:
        sources["exact"] = lambda: ExactSource(target)
    if args.model:
        from .checkpoint import load_model
        model = load_model(args.model)
        sources["model"] = lambda: ModelSource(model, copy_weights=False)

    def progress(f):
        print(f"\rcompare: {100 * f:3.0f}%", end="", file=sys.stderr, flush=True)

    table = quality_vs_steps(target, samplers, steps, sources, n=args.n, seed=args.seed, progress=progress)
    print(file=sys.stderr)
    atomic_write_text(out, json.dumps(table, indent=1))
    for r in table["results"]:
        print(f"{r['sampler']:18s} {r['score']:6s} " + " ".join(f"{v:.3f}" for v in r["sw2"]))
    print(f"{'noise floor':25s} {table['floor']:.3f}")
    return 0


def cmd_bench(args) -> int:
    from .bench import run_bench
    return run_bench(args.json, quick=args.quick, reference=args.reference)


def cmd_gui(args) -> int:
    from .app.launch import run_gui
    if args.screenshot:
        _check_out(args.screenshot, (".png",))
    return run_gui(preset=args.preset, device=args.device, screenshot=args.screenshot,
                   after=args.after, session=args.session)


# ----- parser -----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from .samplers import SAMPLERS
    from .schedules import DEFAULT_SCHEDULE, SCHEDULES
    p = _Parser(prog="diffusion-playground", description="Learn and compare diffusion samplers on exact 2D targets.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    g = sub.add_parser("gui", help="open the desktop window (the default)")
    g.add_argument("--preset")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    g.add_argument("--screenshot", help="train and animate, save a PNG of the window, exit")
    g.add_argument("--after", type=_positive_float, default=10.0, help="seconds before the screenshot")
    g.add_argument("--session", help="open a saved session file (.dpsession)")
    g.set_defaults(func=cmd_gui)

    sub.add_parser("presets", help="list built-in presets").set_defaults(func=cmd_presets)

    t = sub.add_parser("target", help="exact samples of a target")
    t.add_argument("preset")
    t.add_argument("--n", type=_n, required=True)
    t.add_argument("--seed", type=_int, default=0)
    t.add_argument("--out", required=True)
    t.set_defaults(func=cmd_target)

    tr = sub.add_parser("train", help="train the default denoiser and save a checkpoint")
    tr.add_argument("preset")
    tr.add_argument("--steps", type=_positive_int)
    tr.add_argument("--seconds", type=_positive_float)
    tr.add_argument("--seed", type=_int, default=0)
    tr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    tr.add_argument("--out")
    tr.add_argument("--lr", type=_positive_float)
    tr.add_argument("--batch", type=_positive_int)
    tr.add_argument("--hidden", type=_positive_int)
    tr.add_argument("--dataset-size", type=_positive_int, help="train on N fixed samples instead of fresh ones")
    tr.add_argument("--conditional", action="store_true",
                    help="also learn the class-conditional denoiser (labels = classes, for sample --class)")
    tr.set_defaults(func=cmd_train)

    for name, func, help_ in (("sample", cmd_sample, "draw samples with a sampler"),
                              ("nll", cmd_nll, "negative log-likelihood through the probability-flow ODE")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("preset")
        s.add_argument("--model")
        s.add_argument("--exact", action="store_true")
        s.add_argument("--n", type=_n, required=True)
        s.add_argument("--seed", type=_int, default=0)
        s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        if name == "sample":
            s.add_argument("--sampler", required=True)
            s.add_argument("--steps", type=_positive_int)
            s.add_argument("--eta", type=_float)
            s.add_argument("--schedule", default=DEFAULT_SCHEDULE, choices=list(SCHEDULES))
            s.add_argument("--out", required=True)
            s.add_argument("--gif")
            s.add_argument("--class", dest="class_", metavar="K",
                           help="guide towards class K: 1-based number or name, e.g. 'face 6'")
            s.add_argument("--guidance", type=_float, metavar="W",
                           help="guidance scale: 0 unconditional, 1 conditional (default), >1 sharper")
        s.set_defaults(func=func)

    c = sub.add_parser("compare", help="quality (sliced W2) against number of steps")
    c.add_argument("preset")
    c.add_argument("--samplers", required=True, help=f"comma-separated: {','.join(SAMPLERS)}")
    c.add_argument("--steps", required=True, help="comma-separated step counts, e.g. 1,2,5,10,20,50")
    c.add_argument("--model")
    c.add_argument("--exact", action="store_true")
    c.add_argument("--n", type=_n, default=2000)
    c.add_argument("--seed", type=_int, default=0)
    c.add_argument("--json", required=True)
    c.set_defaults(func=cmd_compare)

    b = sub.add_parser("bench", help="performance benchmark")
    b.add_argument("--json")
    b.add_argument("--quick", action="store_true", help="fewer repeats (for smoke tests)")
    b.add_argument("--reference", action="store_true",
                   help="also train the toy-diffusion reference recipe to the same quality (minutes) and report the ratio")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from .checkpoint import CheckpointError
    from .presets import PresetError
    try:
        parser = build_parser()
        args = parser.parse_args(argv or ["gui"])
        if args.command is None:
            args = parser.parse_args(["gui"] + argv)
        return args.func(args)
    except (UsageError, PresetError, CheckpointError, ValueError, OSError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"error: {msg}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
