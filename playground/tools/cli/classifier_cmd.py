"""`train-classifier`: fit a noisy classifier p(class | x_t) for classifier guidance and save it."""
from __future__ import annotations

import sys
import time

from .common import UsageError, add_training_budget, check_out, limit_threads, load, preset_command


def cmd_train_classifier(args) -> int:
    from playground.formats.checkpoint import save_classifier
    from playground.learning.classifier import ClassifierConfig, ClassifierTrainer
    from playground.learning.train_loop import loss_text, train_for
    if (args.steps is None) == (args.seconds is None):
        raise UsageError("give exactly one of --steps N or --seconds S")
    preset, target = load(args.preset)
    if target.n_groups < 2:
        raise UsageError(f"{preset.name}: has only one class; a classifier needs at least two")
    out = check_out(args.out, (".pt",))
    limit_threads()
    trainer = ClassifierTrainer(target, ClassifierConfig(seed=args.seed, device=args.device))
    for e in trainer.events:
        print(e, file=sys.stderr)
    t0, last_print, tty = time.perf_counter(), 0.0, sys.stderr.isatty()
    for p in train_for(trainer, steps=args.steps, seconds=args.seconds, clock_start=t0):
        if time.perf_counter() - last_print > (0.5 if tty else 5.0):
            last_print = time.perf_counter()
            goal = f"/{args.steps}" if args.steps else f" ({p.elapsed:.0f}/{args.seconds:g} s)"
            line = f"step {p.step}{goal}  {loss_text('cross-entropy', p.loss)}"
            print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0
    if tty:
        print(file=sys.stderr)
    acc = trainer.accuracy(n=4000, seed=args.seed)
    save_classifier(trainer, out, extra={"preset": preset.name, "train_seconds": elapsed, **acc})
    print(f"trained {trainer.step} steps in {elapsed:.1f} s; accuracy on noisy points {acc['accuracy']:.3f} "
          f"(exact posterior: {acc['bayes_accuracy']:.3f}); saved {out}", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    text = "train a noisy classifier p(class | x_t) for classifier guidance"
    c = preset_command(sub, "train-classifier", text,
                       "diffusion-playground train-classifier loaded_dice --seconds 30 --out dice_classifier.pt")
    c.add_argument("--out", required=True, help="checkpoint to write (.pt, weights only)")
    add_training_budget(c, "number of optimiser steps (or --seconds)", "training time in seconds (or --steps)",
                        "random seed (default 0)", "where to train (default auto)")
    c.set_defaults(func=cmd_train_classifier)
