"""`train`: fit the default denoiser for a number of steps or seconds and save a checkpoint."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .common import (DEVICE_HELP, MAX_N, ProgressLine, UsageError, _bounded, add_training_budget, check_out,
                     choices_help, learning_rate, limit_threads, load, positive_float, positive_int, preset_command)

batch_size = _bounded(positive_int, 1, 65_536, "the batch size")
hidden_width = _bounded(positive_int, 1, 4096, "the hidden width")
dataset_size = _bounded(positive_int, 1, MAX_N, "the training-set size")
ot_batch = _bounded(positive_int, 1, 65_536, "the OT batch")


def cmd_train(args) -> int:
    from playground.formats.checkpoint import save_checkpoint
    from playground.learning.model import ModelConfig
    from playground.learning.train_loop import budget_config, loss_text, train_for
    from playground.learning.trainer import TrainConfig, Trainer
    if (args.steps is None) == (args.seconds is None):
        raise UsageError("give exactly one of --steps N or --seconds S")
    if args.coupling != "independent" and args.objective != "fm":
        raise UsageError(f"--coupling {args.coupling} pairs noise with data for flow matching: it needs --objective fm")
    preset, target = load(args.preset)
    out = check_out(args.out or f"{Path(preset.name).stem.replace(' ', '_')}.pt", (".pt",))
    limit_threads()
    rate = {"lr": args.lr} if args.lr else {}       # not given: the budget recipe's own rate
    cfg = budget_config(seed=args.seed, device=args.device, **rate,
                      batch=args.batch or TrainConfig.batch, dataset_size=args.dataset_size,
                      conditional=args.conditional, t_sampling=args.t_sampling, coupling=args.coupling,
                      ot_batch=args.ot_batch or TrainConfig.ot_batch, ot_reg=args.ot_reg or TrainConfig.ot_reg,
                      model=ModelConfig(hidden=args.hidden or ModelConfig.hidden, objective=args.objective))
    trainer = Trainer(target, cfg)
    for e in trainer.events:
        print(e, file=sys.stderr)
    t0, progress = time.perf_counter(), ProgressLine()
    for p in train_for(trainer, steps=args.steps, seconds=args.seconds, clock_start=t0):
        for e in p.events:           # a stall ends the loop; its event says why (the last good weights are kept)
            progress.interject(e)
        goal = f"/{args.steps}" if args.steps else f" ({p.elapsed:.0f}/{args.seconds:g} s)"
        progress.show(f"step {p.step}{goal}  {loss_text(f'{cfg.model.objective} loss', p.loss)}  "
                      f"{p.step / max(p.elapsed, 1e-9):.0f} steps/s  {trainer.device}")
    elapsed = time.perf_counter() - t0
    progress.close()
    save_checkpoint(trainer, out, extra={"preset": preset.name, "train_seconds": elapsed})
    print(f"trained {trainer.step} steps in {elapsed:.1f} s; saved {out}", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    from playground.learning.couplings import COUPLINGS
    from playground.learning.model import OBJECTIVES, ModelConfig
    from playground.learning.train_loop import BUDGET_RECIPE
    from playground.learning.trainer import T_SAMPLINGS, TrainConfig
    text = "train the default denoiser on fresh exact samples of a target and save a checkpoint"
    tr = preset_command(sub, "train", text, "diffusion-playground train swiss_roll --seconds 60 --seed 0 --out swiss.pt")
    add_training_budget(tr, "optimiser steps to train (give this or --seconds)", "seconds to train (give this or --steps)",
                        "random seed of the weights and the training noise", DEVICE_HELP)
    tr.add_argument("--out", metavar="FILE.pt", help="checkpoint to write (default: <preset name>.pt here)")
    tr.add_argument("--lr", type=learning_rate, help=f"peak learning rate (default: {BUDGET_RECIPE['lr']:g} for score "
                    f"matching, {TrainConfig.lr:g} for flow matching)")
    tr.add_argument("--batch", type=batch_size, help=f"samples per step (default: {TrainConfig.batch})")
    tr.add_argument("--hidden", type=hidden_width, help=f"width of the network's layers (default: {ModelConfig.hidden})")
    tr.add_argument("--dataset-size", type=dataset_size, metavar="N",
                    help="train on N fixed samples instead of fresh ones (default: fresh samples every step)")
    tr.add_argument("--conditional", action="store_true",
                    help="also learn the class-conditional denoiser (labels = classes, for sample --class)")
    tr.add_argument("--objective", choices=list(OBJECTIVES), default="dsm",
                    help="training objective: dsm = denoising score matching, fm = flow matching on "
                         "x_t = (1-t)*x0 + t*eps with velocity target eps - x0 (default: dsm)")
    tr.add_argument("--t-sampling", choices=list(T_SAMPLINGS), default=TrainConfig.t_sampling,
                    help=f"fm only: how t is drawn (default: {TrainConfig.t_sampling})")
    tr.add_argument("--coupling", choices=list(COUPLINGS), default="independent", metavar="NAME",
                    help=choices_help("fm only: how each batch pairs noise with data (default: %(default)s); "
                                      "with --conditional pairs stay within each class except for ot-global:",
                                      COUPLINGS))
    tr.add_argument("--ot-batch", type=ot_batch, metavar="B",
                    help=f"ot, sinkhorn: pairs solved at once; a batch is split into sub-batches of at most B "
                         f"(default: {TrainConfig.ot_batch})")
    tr.add_argument("--ot-reg", type=positive_float, metavar="E",
                    help="sinkhorn: entropic regularisation, in units of the batch's mean squared noise-data "
                         f"distance; large = independent, small = ot (default: {TrainConfig.ot_reg:g})")
    tr.set_defaults(func=cmd_train)
