"""`compare`: sampler quality (sliced W2 to fresh exact samples) against the number of steps."""
from __future__ import annotations

import json
import sys

from .common import UsageError, check_out, count, limit_threads, load, whole


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
    if not args.exact and not args.model:
        raise UsageError("give --exact, --model FILE.pt, or both")
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

    def progress(f):
        print(f"\rcompare: {100 * f:3.0f}%", end="", file=sys.stderr, flush=True)

    table = quality_vs_steps(target, samplers, steps, sources, n=args.n, seed=args.seed, progress=progress,
                             row_fields=fields)
    print(file=sys.stderr)
    atomic_write_text(out, json.dumps(table, indent=1))
    for r in table["results"]:
        print(f"{r['sampler']:18s} {r.get('model', r['score']):6s} " + " ".join(f"{v:.3f}" for v in r["sw2"]))
    print(f"{'noise floor':25s} {table['floor']:.3f}")
    return 0


def add_parsers(sub) -> None:
    from playground.maths.samplers import SAMPLERS
    c = sub.add_parser("compare", help="quality (sliced W2) against number of steps")
    c.add_argument("preset")
    c.add_argument("--samplers", required=True, help=f"comma-separated: {','.join(SAMPLERS)}")
    c.add_argument("--steps", required=True, help="comma-separated step counts, e.g. 1,2,5,10,20,50")
    c.add_argument("--model", action="append", metavar="FILE.pt",
                   help="a trained checkpoint; give it several times to compare models (each row then "
                        "carries \"model\": its file name)")
    c.add_argument("--exact", action="store_true")
    c.add_argument("--n", type=count, default=2000)
    c.add_argument("--seed", type=whole, default=0)
    c.add_argument("--json", required=True)
    c.set_defaults(func=cmd_compare)
