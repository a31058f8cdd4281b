"""`train`: fit the default denoiser for a number of steps or seconds and save a checkpoint."""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from .common import (DEVICE_HELP, MAX_N, PRESET_HELP, UsageError, _bounded, check_out, example, learning_rate,
                     limit_threads, load, positive_float, positive_int, seed)

batch_size = _bounded(positive_int, 1, 65_536, "the batch size")
hidden_width = _bounded(positive_int, 1, 4096, "the hidden width")
dataset_size = _bounded(positive_int, 1, MAX_N, "the training-set size")


def cosine_tail(done: float, start: float = 0.6, floor: float = 0.05) -> float:
    """Learning-rate factor: 1 until `start` of the budget, then a cosine down to `floor`."""
    if done <= start:
        return 1.0
    f = min(1.0, (done - start) / (1 - start))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * f))


def cmd_train(args) -> int:
    from playground.formats.checkpoint import save_checkpoint
    from playground.learning.model import ModelConfig
    from playground.learning.trainer import TrainConfig, Trainer
    if (args.steps is None) == (args.seconds is None):
        raise UsageError("give exactly one of --steps N or --seconds S")
    preset, target = load(args.preset)
    out = check_out(args.out or f"{Path(preset.name).stem.replace(' ', '_')}.pt", (".pt",))
    limit_threads()
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
            print(("\n" if tty and last_print else "") + e, file=sys.stderr)
        seen_events = len(trainer.events)
        if trainer.stalled:          # the event said why; keep the last good weights and stop
            break
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


def add_parsers(sub) -> None:
    from playground.learning.model import ModelConfig
    from playground.learning.trainer import TrainConfig
    text = "train the default denoiser on fresh exact samples of a target and save a checkpoint"
    tr = sub.add_parser("train", help=text, description=text, epilog=example(
        "diffusion-playground train swiss_roll --seconds 60 --seed 0 --out swiss.pt"))
    tr.add_argument("preset", help=PRESET_HELP)
    tr.add_argument("--steps", type=positive_int, help="optimiser steps to train (give this or --seconds)")
    tr.add_argument("--seconds", type=positive_float, help="seconds to train (give this or --steps)")
    tr.add_argument("--seed", type=seed, default=0, help="random seed of the weights and the training noise")
    tr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help=DEVICE_HELP)
    tr.add_argument("--out", metavar="FILE.pt", help="checkpoint to write (default: <preset name>.pt here)")
    tr.add_argument("--lr", type=learning_rate, help=f"learning rate (default: {TrainConfig.lr:g})")
    tr.add_argument("--batch", type=batch_size, help=f"samples per step (default: {TrainConfig.batch})")
    tr.add_argument("--hidden", type=hidden_width, help=f"width of the network's layers (default: {ModelConfig.hidden})")
    tr.add_argument("--dataset-size", type=dataset_size, metavar="N",
                    help="train on N fixed samples instead of fresh ones (default: fresh samples every step)")
    tr.add_argument("--conditional", action="store_true",
                    help="also learn the class-conditional denoiser (labels = classes, for sample --class)")
    tr.set_defaults(func=cmd_train)
