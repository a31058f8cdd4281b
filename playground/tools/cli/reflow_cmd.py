"""`reflow`: rectified flow from a trained model (either objective) to a new, straighter fm model."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .common import (PRESET_HELP, ProgressLine, UsageError, add_training_budget, check_out, count, example,
                     limit_threads, load, positive_int)


def cmd_reflow(args) -> int:
    from playground.formats.checkpoint import model_from_state, model_info, read_checkpoint, save_checkpoint
    from playground.learning.reflow import Reflow, flow_report
    from playground.learning.train_loop import loss_text
    from playground.learning.devices import resolve_device
    if (args.steps is None) == (args.seconds is None):
        raise UsageError("give exactly one of --steps N or --seconds S")
    preset, target = load(args.preset)
    out = check_out(args.out, (".pt",))
    if Path(args.model).resolve() == out.resolve():
        raise UsageError("--out must not overwrite the base model")
    limit_threads()
    device, note = resolve_device(args.device)
    if note:
        print(note, file=sys.stderr)
    state = read_checkpoint(args.model)
    base_name = Path(args.model).name
    base = model_from_state(state, base_name, device=device)
    info = model_info(state)
    reflow = Reflow(target, base, pairs=args.pairs, ode_steps=args.ode_steps, seed=args.seed, base_name=base_name,
                    base_reflowed=info["reflowed"], device=args.device)
    t0, progress = time.perf_counter(), ProgressLine()
    for p in reflow.run(steps=args.steps, seconds=args.seconds):
        goal = f"/{p.total}" if p.total else f" ({time.perf_counter() - t0:.0f}/{args.seconds:g} s)"
        if p.phase == "couple":
            progress.show(f"couplings: ODE step {p.done}{goal} for {args.pairs} pairs")
        else:
            progress.show(f"reflow step {p.done}{goal}  {loss_text('fm loss', p.loss, '.5f')}")
    seconds = time.perf_counter() - t0
    progress.close()
    trainer = reflow.trainer
    for e in trainer.events:
        print(e, file=sys.stderr)
    save_checkpoint(trainer, out, extra={"preset": preset.name, "train_seconds": seconds, **reflow.checkpoint_extra()})
    before = flow_report(base, target, seed=args.seed)
    after = flow_report(trainer.ema_model, target, seed=args.seed)
    print(f"reflowed {base_name} ({reflow.reflowed}-rectified): {trainer.step} steps on {len(reflow.x0)} pairs "
          f"in {seconds:.1f} s; saved {out}", file=sys.stderr)
    print(json.dumps({"preset": preset.name, "base": base_name, "base_objective": info["objective"],
                      "out": str(out), "objective": "fm", "reflowed": reflow.reflowed,
                      "warm_start": info["objective"] == "fm",
                      "pairs": int(len(reflow.x0)), "ode_steps": args.ode_steps, "steps": trainer.step,
                      "seconds": round(seconds, 2), "couple_seconds": round(reflow.couple_seconds, 2),
                      "straightness": {"base": before["straightness"], "reflowed": after["straightness"]},
                      "sw2_1step": {"base": before["sw2_1step"], "reflowed": after["sw2_1step"]}}))
    return 0


def add_parsers(sub) -> None:
    from playground.learning.reflow import DEFAULT_ODE_STEPS, DEFAULT_PAIRS
    r = sub.add_parser("reflow", help="rectified flow: retrain a model on its own straightened ODE paths",
                       description="Draw noise z, integrate BASE's probability-flow ODE to x = ODE(z), then train a "
                                   "new flow-matching model on the straight lines between z and x. Progress on "
                                   "stderr; the last stdout line is one JSON object (straightness and one-step SW2 "
                                   "on the flow schedule, before and after).",
                       epilog=example("diffusion-playground reflow two_moons --model base.pt --out reflowed.pt --seconds 90"))
    r.add_argument("preset", help=PRESET_HELP)
    r.add_argument("--model", required=True, help="the base checkpoint (dsm or fm, possibly already reflowed)")
    r.add_argument("--out", required=True, help="where to save the reflowed fm checkpoint (.pt)")
    add_training_budget(r, "training steps for the new model", "total time budget in seconds, couplings included",
                        "seed of the noise and of training (default: 0)", "default: auto")
    r.add_argument("--pairs", type=count, default=DEFAULT_PAIRS,
                   help=f"number of (noise, sample) couplings drawn from the base (default: {DEFAULT_PAIRS})")
    r.add_argument("--ode-steps", type=positive_int, default=DEFAULT_ODE_STEPS,
                   help=f"ode-heun steps used to integrate the base's ODE (default: {DEFAULT_ODE_STEPS})")
    r.set_defaults(func=cmd_reflow)
