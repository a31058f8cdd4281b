"""`sample` and `nll`: run a sampler on a learned or exact score, or measure a likelihood."""
from __future__ import annotations

import json
import sys

from .common import (DEVICE_HELP, POINTS_OUT_HELP, PRESET_HELP, Progress, UsageError, check_cost, check_out,
                     choices_help, count, example, finite_float, guidance_scale, guided, limit_threads, load,
                     sampler_choices, schedule_choices, seed, source_for, step_count, warn_far, write_array,
                     write_points)

MAX_NLL_POINTS = 200_000      # one adaptive ODE solve over all points: memory and time grow with N
TWO_EVALS = ("ode-heun", "annealed-langevin", "ode-rk45")
MAX_PATH_VALUES = 50_000_000  # --paths holds (K+1) x N x 2 floats: 400 MB at most
MAX_GIF_FRAMES = 1000         # one 256x256 frame per step is held in memory until the GIF is written


def cmd_sample(args) -> int:
    from playground.maths.samplers import DEFAULT_STEPS, SAMPLERS
    from playground.maths.samplers.record import KEEP_ALL, KEEP_LAST, record_run
    if args.sampler not in SAMPLERS:
        raise UsageError(f"unknown sampler {args.sampler!r} (one of {', '.join(SAMPLERS)})")
    out = check_out(args.out, (".npy", ".csv"))
    gif = check_out(args.gif, (".gif",)) if args.gif else None
    paths_out = check_out(args.paths, (".npy",)) if args.paths else None
    if paths_out and ((args.steps or DEFAULT_STEPS) + 1) * args.n > MAX_PATH_VALUES:
        raise UsageError(f"--paths: at most {MAX_PATH_VALUES:.0e} particle-steps are kept in memory; use fewer "
                         "particles or steps")
    preset, target = load(args.preset)
    steps = args.steps or DEFAULT_STEPS
    if gif and steps > MAX_GIF_FRAMES:
        raise UsageError(f"--gif: at most {MAX_GIF_FRAMES} steps (one frame per step), got {steps}")
    check_cost(args.n, steps, len(target.mixture) if args.exact else None,
               2 if args.sampler in TWO_EVALS else 1)
    limit_threads()
    source = guided(args, target, source_for(args, target))
    frames = []
    progress = Progress(args.sampler)
    options = sampler_options(args)
    if gif:
        from playground.formats.render import density_background, frame
        bg = density_background(target, preset.view["xlim"], preset.view["ylim"])

    def watch(st) -> None:
        progress(st.i / steps, f"  step {st.i}")
        if gif:                     # drawn as the run goes: a GIF frame is far smaller than a big state
            frames.append(frame(st.x.float().cpu().numpy(), preset.view["xlim"], preset.view["ylim"], background=bg,
                                progress=min(1.0, st.i / steps)))
    run = record_run(args.sampler, source, args.n, args.seed, steps, args.schedule, options,
                     keep=KEEP_ALL if paths_out else KEEP_LAST, on_step=watch, eta=args.eta)
    progress.done()
    x = run.samples
    import numpy as np
    if not np.all(np.isfinite(x)):
        raise UsageError("the sampler diverged (non-finite samples); nothing was written")
    warn_far(x, preset)
    write_points(out, x)
    if paths_out:
        write_array(paths_out, run.frames())
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
    if args.n > MAX_NLL_POINTS:
        raise UsageError(f"nll: at most {MAX_NLL_POINTS} points, got {args.n}")
    _, target = load(args.preset)
    check_cost(args.n, 1, len(target.mixture) * 200 if args.exact else None)
    limit_threads()
    source = source_for(args, target)
    x = target.sample(args.n, seed=args.seed)
    if args.elbo_steps is not None and not args.elbo:
        raise UsageError("--elbo-steps needs --elbo")
    args.elbo_steps = args.elbo_steps or DEFAULT_ELBO_STEPS
    progress = Progress("nll")
    values = nll(source, x, progress=progress)
    progress.done()
    true = -target.log_prob(x.double())
    line = {"nll": float(values.mean()), "nll_true": float(true.mean())}
    if args.elbo:
        from playground.maths.elbo import negative_elbo
        line["elbo"] = float(negative_elbo(source, x, steps=args.elbo_steps, seed=args.seed)["elbo"].mean())
    print(json.dumps(line))
    return 0


EXAMPLES = {
    "sample": example("diffusion-playground sample swiss_roll --model swiss.pt --sampler ode-heun --steps 20 "
                      "--n 5000 --seed 0 --out samples.npy --gif run.gif",
                      "diffusion-playground sample loaded_dice --exact --sampler ddpm --steps 100 --n 2000 --seed 1 "
                      "--class 6 --guidance 2 --out six.csv"),
    "nll": example("diffusion-playground nll two_moons --exact --n 500 --seed 0"),
}


def add_parsers(sub) -> None:
    from playground.maths.elbo import DEFAULT_ELBO_STEPS
    from playground.maths.samplers import DEFAULT_STEPS
    from playground.maths.samplers.denoising import GAMMA, MU
    from playground.maths.schedules import DEFAULT_SCHEDULE, SCHEDULES
    for name, func, help_ in (("sample", cmd_sample, "draw samples with a sampler"),
                              ("nll", cmd_nll, "negative log-likelihood through the probability-flow ODE")):
        s = sub.add_parser(name, help=help_, description=help_, epilog=EXAMPLES[name])
        s.add_argument("preset", help=PRESET_HELP)
        s.add_argument("--model", metavar="FILE.pt", help="a checkpoint from `train`: its learned score (or --exact)")
        s.add_argument("--exact", action="store_true", help="the exact score of the preset's target (or --model)")
        s.add_argument("--n", type=count, required=True,
                       help="number of samples" if name == "sample" else "number of exact samples to measure")
        s.add_argument("--seed", type=seed, default=0, help="random seed: the same seed gives the same result")
        s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help=DEVICE_HELP)
        if name == "sample":
            s.add_argument("--sampler", required=True, metavar="NAME",
                           help=choices_help("the sampler, one of:", sampler_choices()))
            s.add_argument("--steps", type=step_count,
                           help=f"noise levels / time steps; langevin: total updates; ode-rk45 ignores it "
                                f"(default: {DEFAULT_STEPS})")
            s.add_argument("--eta", type=finite_float,
                           help="ddim's noise: 0 deterministic, 1 = ddpm (default: 0)")
            s.add_argument("--gamma", type=finite_float, metavar="G",
                           help=f"gradient-estimation only: weight of the current noise estimate, "
                                f"eps_bar = G*eps + (1-G)*eps_prev (default {GAMMA:g}; 1 = DDIM)")
            s.add_argument("--mu", type=finite_float, metavar="M",
                           help=f"gradient-estimation only: share of fresh noise, in [0, 1) (default {MU:g}: "
                                "deterministic; 0.5 = DDPM-like)")
            s.add_argument("--schedule", default=DEFAULT_SCHEDULE, choices=list(SCHEDULES), metavar="NAME",
                           help=choices_help("noise schedule (default: %(default)s), one of:", schedule_choices()))
            s.add_argument("--out", required=True, help=POINTS_OUT_HELP)
            s.add_argument("--gif", metavar="FILE.gif", help="also write an animation of the run, one frame per step")
            s.add_argument("--paths", metavar="FILE.npy",
                           help="also write the whole run: float32 array (K+1, N, 2) in the schedule's frame, "
                                "row 0 the initial noise, row K the samples (default: not written)")
            s.add_argument("--class", dest="class_", metavar="K",
                           help="guide towards class K: 1-based number or name, e.g. 'face 6'")
            s.add_argument("--guidance", type=guidance_scale, metavar="W",
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
            s.add_argument("--elbo-steps", type=step_count, metavar="K",
                           help=f"steps K of that discrete diffusion (default {DEFAULT_ELBO_STEPS})")
        s.set_defaults(func=func)
