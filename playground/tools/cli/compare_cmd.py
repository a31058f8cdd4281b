"""`compare`: sampler quality (sliced W2 to fresh exact samples) against the number of steps."""
from __future__ import annotations

import json

from .common import Progress, UsageError, check_cost, check_out, count, limit_threads, load, seed
from playground.formats.validate import MAX_STEPS

MAX_STEP_COUNTS = 50


def cmd_compare(args) -> int:
    from playground.tools.compare import quality_vs_steps
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
    runs = len(samplers) * (bool(args.exact) + bool(args.model))
    check_cost(args.n, sum(steps) * runs, len(target.mixture) if args.exact else None, 2)
    limit_threads()
    sources = {}
    if args.exact:
        sources["exact"] = lambda: ExactSource(target)
    if args.model:
        from playground.formats.checkpoint import load_model
        model = load_model(args.model)
        sources["model"] = lambda: ModelSource(model, copy_weights=False)

    progress = Progress("compare", quiet_s=0.0)
    table = quality_vs_steps(target, samplers, steps, sources, n=args.n, seed=args.seed, progress=progress)
    progress.done()
    atomic_write_text(out, json.dumps(table, indent=1))
    for r in table["results"]:
        print(f"{r['sampler']:18s} {r['score']:6s} " + " ".join(f"{v:.3f}" for v in r["sw2"]))
    print(f"{'noise floor':25s} {table['floor']:.3f}")
    return 0


def add_parsers(sub) -> None:
    from playground.maths.samplers import SAMPLERS
    c = sub.add_parser("compare", help="quality (sliced W2) against number of steps")
    c.add_argument("preset")
    c.add_argument("--samplers", required=True, help=f"comma-separated: {','.join(SAMPLERS)}")
    c.add_argument("--steps", required=True, help="comma-separated step counts, e.g. 1,2,5,10,20,50")
    c.add_argument("--model")
    c.add_argument("--exact", action="store_true")
    c.add_argument("--n", type=count, default=2000)
    c.add_argument("--seed", type=seed, default=0)
    c.add_argument("--json", required=True)
    c.set_defaults(func=cmd_compare)
