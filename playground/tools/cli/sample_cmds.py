"""`sample` and `nll`: run a sampler on a learned or exact score, or measure a likelihood."""
from __future__ import annotations

import json
import sys

from .common import (UsageError, check_out, count, finite_float, guided, limit_threads, load, positive_int,
                     source_for, whole, write_array, write_points)


def cmd_sample(args) -> int:
    from playground.maths.samplers import DEFAULT_STEPS, SAMPLERS, sample_steps
    if args.sampler not in SAMPLERS:
        raise UsageError(f"unknown sampler {args.sampler!r} (one of {', '.join(SAMPLERS)})")
    out = check_out(args.out, (".npy", ".csv"))
    gif = check_out(args.gif, (".gif",)) if args.gif else None
    paths_out = check_out(args.paths, (".npy",)) if args.paths else None
    preset, target = load(args.preset)
    limit_threads()
    source = guided(args, target, source_for(args, target))
    frames, states, last = [], [], None
    steps = args.steps or DEFAULT_STEPS
    if gif:
        from playground.formats.render import density_background, frame
        bg = density_background(target, preset.view["xlim"], preset.view["ylim"])
    for last in sample_steps(args.sampler, source, args.n, seed=args.seed, steps=steps,
                             schedule=args.schedule, eta=args.eta):
        if paths_out:
            states.append(last.x.float().cpu().numpy())
        if gif:
            frames.append(frame(last.x.float().cpu().numpy(), preset.view["xlim"], preset.view["ylim"], background=bg,
                                progress=min(1.0, last.i / steps)))
    x = last.x.float().cpu().numpy()
    import numpy as np
    if not np.all(np.isfinite(x)):
        raise UsageError("the sampler diverged (non-finite samples); nothing was written")
    write_points(out, x)
    if paths_out:
        write_array(paths_out, np.stack(states))
    if gif:
        from playground.formats.render import write_gif
        write_gif(gif, frames)
    print(f"{args.sampler}: {args.n} samples, {source.nfe} evaluations; saved {out}", file=sys.stderr)
    return 0


def cmd_nll(args) -> int:
    from playground.maths.likelihood import nll
    _, target = load(args.preset)
    limit_threads()
    source = source_for(args, target)
    x = target.sample(args.n, seed=args.seed)
    values = nll(source, x)
    true = -target.log_prob(x.double())
    print(json.dumps({"nll": float(values.mean()), "nll_true": float(true.mean())}))
    return 0


def add_parsers(sub) -> None:
    from playground.maths.schedules import DEFAULT_SCHEDULE, SCHEDULES
    for name, func, help_ in (("sample", cmd_sample, "draw samples with a sampler"),
                              ("nll", cmd_nll, "negative log-likelihood through the probability-flow ODE")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("preset")
        s.add_argument("--model")
        s.add_argument("--exact", action="store_true")
        s.add_argument("--n", type=count, required=True)
        s.add_argument("--seed", type=whole, default=0)
        s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        if name == "sample":
            s.add_argument("--sampler", required=True)
            s.add_argument("--steps", type=positive_int)
            s.add_argument("--eta", type=finite_float)
            s.add_argument("--schedule", default=DEFAULT_SCHEDULE, choices=list(SCHEDULES))
            s.add_argument("--out", required=True)
            s.add_argument("--gif")
            s.add_argument("--paths", metavar="FILE.npy",
                           help="also write the whole run: float32 array (K+1, N, 2) in the schedule's frame, "
                                "row 0 the initial noise, row K the samples (default: not written)")
            s.add_argument("--class", dest="class_", metavar="K",
                           help="guide towards class K: 1-based number or name, e.g. 'face 6'")
            s.add_argument("--guidance", type=finite_float, metavar="W",
                           help="guidance scale: 0 unconditional, 1 conditional (default), >1 sharper")
        s.set_defaults(func=func)
