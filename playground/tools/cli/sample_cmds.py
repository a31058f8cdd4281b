"""`sample` and `nll`: run a sampler on a learned or exact score, or measure a likelihood."""
from __future__ import annotations

import json
import sys

from .common import (UsageError, check_out, count, finite_float, guided, limit_threads, load, positive_int,
                     source_for, whole, write_points)


def cmd_sample(args) -> int:
    from playground.maths.samplers import DEFAULT_STEPS, SAMPLERS, sample_steps
    if args.sampler not in SAMPLERS:
        raise UsageError(f"unknown sampler {args.sampler!r} (one of {', '.join(SAMPLERS)})")
    out = check_out(args.out, (".npy", ".csv"))
    gif = check_out(args.gif, (".gif",)) if args.gif else None
    preset, target = load(args.preset)
    limit_threads()
    source = guided(args, target, source_for(args, target))
    frames, last = [], None
    steps = args.steps or DEFAULT_STEPS
    options = sampler_options(args)
    if gif:
        from playground.formats.render import density_background, frame
        bg = density_background(target, preset.view["xlim"], preset.view["ylim"])
    for last in sample_steps(args.sampler, source, args.n, seed=args.seed, steps=steps,
                             schedule=args.schedule, eta=args.eta, **options):
        if gif:
            frames.append(frame(last.x.float().cpu().numpy(), preset.view["xlim"], preset.view["ylim"], background=bg,
                                progress=min(1.0, last.i / steps)))
    x = last.x.float().cpu().numpy()
    import numpy as np
    if not np.all(np.isfinite(x)):
        raise UsageError("the sampler diverged (non-finite samples); nothing was written")
    write_points(out, x)
    if gif:
        from playground.formats.render import write_gif
        write_gif(gif, frames)
    print(f"{args.sampler}: {args.n} samples, {source.nfe} evaluations; saved {out}", file=sys.stderr)
    return 0


def sampler_options(args) -> dict:
    """`--gamma` and `--mu`, checked here so a bad value fails before any work (exit 2)."""
    from playground.maths.samplers import check_options
    options = {k: v for k, v in (("gamma", args.gamma), ("mu", args.mu)) if v is not None}
    if options and args.sampler != "gradient-estimation":
        raise UsageError(f"--{' and --'.join(options)} only appl{'y' if len(options) > 1 else 'ies'} "
                         "to --sampler gradient-estimation")
    try:
        check_options(args.sampler, options)
    except ValueError as e:
        raise UsageError(f"--{str(e)}") from None
    return options


def cmd_nll(args) -> int:
    from playground.maths.elbo import DEFAULT_ELBO_STEPS
    from playground.maths.likelihood import nll
    _, target = load(args.preset)
    limit_threads()
    source = source_for(args, target)
    x = target.sample(args.n, seed=args.seed)
    if args.elbo_steps is not None and not args.elbo:
        raise UsageError("--elbo-steps needs --elbo")
    args.elbo_steps = args.elbo_steps or DEFAULT_ELBO_STEPS
    values = nll(source, x)
    true = -target.log_prob(x.double())
    line = {"nll": float(values.mean()), "nll_true": float(true.mean())}
    if args.elbo:
        from playground.maths.elbo import negative_elbo
        line["elbo"] = float(negative_elbo(source, x, steps=args.elbo_steps, seed=args.seed)["elbo"].mean())
    print(json.dumps(line))
    return 0


def add_parsers(sub) -> None:
    from playground.maths.samplers import SAMPLERS
    from playground.maths.elbo import DEFAULT_ELBO_STEPS
    from playground.maths.samplers.denoising import GAMMA, MU
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
            s.add_argument("--sampler", required=True, help="one of: " + ", ".join(SAMPLERS))
            s.add_argument("--steps", type=positive_int)
            s.add_argument("--eta", type=finite_float, help="ddim only: stochasticity in [0, 1] (default 0)")
            s.add_argument("--gamma", type=finite_float, metavar="G",
                           help=f"gradient-estimation only: weight of the current noise estimate, "
                                f"eps_bar = G*eps + (1-G)*eps_prev (default {GAMMA:g}; 1 = DDIM)")
            s.add_argument("--mu", type=finite_float, metavar="M",
                           help=f"gradient-estimation only: share of fresh noise, in [0, 1) (default {MU:g}: "
                                "deterministic; 0.5 = DDPM-like)")
            s.add_argument("--schedule", default=DEFAULT_SCHEDULE, choices=list(SCHEDULES))
            s.add_argument("--out", required=True)
            s.add_argument("--gif")
            s.add_argument("--class", dest="class_", metavar="K",
                           help="guide towards class K: 1-based number or name, e.g. 'face 6'")
            s.add_argument("--guidance", type=finite_float, metavar="W",
                           help="guidance scale: 0 unconditional, 1 conditional (default), >1 sharper")
            s.add_argument("--guidance-kind", choices=["cfg", "classifier"], default="cfg",
                           help="cfg: classifier-free (needs --exact or a --conditional model; the default); "
                                "classifier: score + W * grad log p(K | x_t) with the exact or --classifier's classifier")
            s.add_argument("--classifier", metavar="C.pt",
                           help="with --guidance-kind classifier: a checkpoint from train-classifier "
                                "(default: the target's exact classifier)")
        if name == "nll":
            s.add_argument("--elbo", action="store_true",
                           help='also print "elbo": the negative ELBO in nats (an upper bound on the NLL) of the '
                                "K-step discrete diffusion with this denoiser")
            s.add_argument("--elbo-steps", type=positive_int, metavar="K",
                           help=f"steps K of that discrete diffusion (default {DEFAULT_ELBO_STEPS})")
        s.set_defaults(func=func)
