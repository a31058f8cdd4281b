"""`compare`: sampler quality (sliced W2 to fresh exact samples) against the number of steps."""
from __future__ import annotations

import json

from .common import (PRESET_HELP, Progress, UsageError, check_cost, check_out, choices_help, count, example,
                     limit_threads, load, sampler_choices, seed)
from playground.formats.validate import MAX_STEPS

MAX_STEP_COUNTS = 50


def cmd_compare(args) -> int:
    from playground.maths.quality import quality_vs_steps
    from playground.formats.io_utils import atomic_write_text
    from playground.maths.sources import ExactSource, ModelSource
    out = check_out(args.json, (".json",))
    _, target = load(args.preset)
    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    try:
        steps = [int(s) for s in args.steps.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--steps must be a comma-separated list of whole numbers, got {args.steps!r}") from None
    if not steps or len(steps) > MAX_STEP_COUNTS or not all(1 <= k <= MAX_STEPS for k in steps):
        raise UsageError(f"--steps: 1 to {MAX_STEP_COUNTS} step counts, each between 1 and {MAX_STEPS}")
    if not args.exact and not args.model:
        raise UsageError("give --exact, --model FILE.pt, or both")
    runs = len(samplers) * (bool(args.exact) + len(args.model or []))
    check_cost(args.n, sum(steps) * runs, len(target.mixture) if args.exact else None, 2)
    limit_threads()
    sources, fields = {}, {}
    if args.exact:
        sources["exact"] = lambda: ExactSource(target)
    if args.model:
        from pathlib import Path

        from playground.formats.checkpoint import load_model
        for i, path in enumerate(args.model):
            key = "model" if len(args.model) == 1 else f"model {i}"
            model = load_model(path)
            sources[key] = lambda model=model: ModelSource(model, copy_weights=False)
            if len(args.model) > 1:
                fields[key] = {"score": "model", "model": Path(path).name}

    progress = Progress("compare", quiet_s=0.0)
    table = quality_vs_steps(target, samplers, steps, sources, n=args.n, seed=args.seed, progress=progress,
                             row_fields=fields)
    progress.done()
    atomic_write_text(out, json.dumps(table, indent=1))
    print(f"{'sampler':18s} {'score':6s}" + "".join(f"{k:>9d}" for k in table["steps"]) + "   <- steps; SW2 below")
    for r in table["results"]:
        print(f"{r['sampler']:18s} {r.get('model', r['score']):6s}" + "".join(f"{v:9.3f}" for v in r["sw2"]))
    print(f"noise floor: SW2 between two exact sample sets of N = {table['n']}: median {table['floor']:.3f}, "
          f"90th percentile {table['floor_p90']:.3f} over {table['floor_draws']} draws")
    return 0


def add_parsers(sub) -> None:
    text = ("quality (sliced W2 to fresh exact samples) against the number of steps, per sampler, for the exact "
            "and/or a learned score, next to the noise floor (the same distance between two exact sample sets)")
    c = sub.add_parser("compare", help="quality (sliced W2) against number of steps", description=text,
                       epilog=example("diffusion-playground compare swiss_roll --samplers ode-euler,ode-heun,dpm-solver++ "
                                      "--steps 1,2,5,10,20,50 --exact --model swiss.pt --json quality.json"))
    c.add_argument("preset", help=PRESET_HELP)
    c.add_argument("--samplers", required=True, metavar="A,B,...",
                   help=choices_help("comma-separated sampler names:", sampler_choices()))
    c.add_argument("--steps", required=True, metavar="K,K,...", help="comma-separated step counts, e.g. 1,2,5,10,20,50")
    c.add_argument("--model", action="append", metavar="FILE.pt",
                   help="a checkpoint from `train` or `reflow`: rows with its learned score; give it several times "
                        "to compare models (each row then carries \"model\": its file name)")
    c.add_argument("--exact", action="store_true", help="rows with the exact score (the sampler's error alone)")
    c.add_argument("--n", type=count, default=2000, help="samples per run, and per exact reference set")
    c.add_argument("--seed", type=seed, default=0, help="random seed of every run")
    c.add_argument("--json", required=True, metavar="FILE.json", help="the table as JSON: steps, floor, floor_p90, results")
    c.set_defaults(func=cmd_compare)
