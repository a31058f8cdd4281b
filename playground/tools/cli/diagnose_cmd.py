"""`diagnose`: a denoiser's error at each noise level next to the exact denoiser's (the floor)."""
from __future__ import annotations

import json

from playground.formats.validate import MAX_EXACT_PAIRS

from .common import (DEVICE_HELP, PRESET_HELP, Progress, UsageError, _bounded, check_out, count, example, guided,
                     limit_threads, load, positive_int, seed, source_for)

level_count = _bounded(positive_int, 2, 1000, "the number of levels")
MAX_DRAWS = 20_000_000      # n x levels points held at once (with the exact answers: ~0.5 GB)


def cmd_diagnose(args) -> int:
    from playground.formats.io_utils import atomic_write_text
    from playground.maths.diagnostics.loss_by_level import level_grid, loss_by_level
    from playground.maths.guidance import conditional_target, parse_class
    out = check_out(args.json, (".json",))
    if args.n * args.levels > MAX_DRAWS:
        raise UsageError(f"--n x --levels is at most {MAX_DRAWS:.0e} points; use fewer samples or levels")
    _, target = load(args.preset)
    if args.n * args.levels * len(target.mixture) > MAX_EXACT_PAIRS:
        raise UsageError(f"{args.n} samples x {args.levels} levels x {len(target.mixture)} Gaussians is beyond the exact "
                         f"denoiser's budget ({MAX_EXACT_PAIRS:.0e} evaluations); use fewer samples or levels")
    limit_threads()
    source = guided(args, target, source_for(args, target))
    if args.class_ is not None:         # x0 from class K, and the floor of its exact denoiser
        target = conditional_target(target, parse_class(target, args.class_))
    progress = Progress("diagnose")
    result = loss_by_level(source, target, level_grid(args.levels), n=args.n, seed=args.seed, progress=progress)
    progress.done()
    table = {**result.to_json(), "n": args.n, "score": "exact" if args.exact else "model"}
    atomic_write_text(out, json.dumps(table, indent=1))
    print(f"{'level':>10s} {'model mse':>12s} {'floor mse':>12s} {'ratio':>8s}")
    for s, m, f in zip(result.levels, result.model_mse, result.floor_mse):
        print(f"{s:10.4g} {m:12.4g} {f:12.4g} {m / f if f > 0 else float('nan'):8.3f}")
    return 0


def add_parsers(sub) -> None:
    from playground.maths.diagnostics.loss_by_level import DEFAULT_LEVELS, DEFAULT_N
    from playground.maths.schedules import SIGMA_MAX, SIGMA_MIN
    text = ("the denoising error mse(s) = E||D(x0 + s*eps, s) - x0||^2 at noise levels s log-spaced from "
            f"{SIGMA_MIN:g} to {SIGMA_MAX:g}, of a model or the exact denoiser, next to the floor: the same error of "
            "the exact denoiser, the least any denoiser can make. Both are averaged on the same draws with x0 "
            "integrated out given the noised point, so their gap is the model's own error. Writes "
            '{"levels", "model_mse", "floor_mse"} and prints the table')
    d = sub.add_parser("diagnose", help="denoising error per noise level against the exact floor", description=text,
                       epilog=example("diffusion-playground diagnose swiss_roll --model swiss.pt --json levels.json",
                                      "diffusion-playground diagnose loaded_dice --exact --class 6 --json six.json"))
    d.add_argument("preset", help=PRESET_HELP)
    d.add_argument("--model", metavar="FILE.pt", help="a checkpoint from `train`: its denoiser (or --exact)")
    d.add_argument("--exact", action="store_true", help="the exact denoiser (its row equals the floor) (or --model)")
    d.add_argument("--levels", type=level_count, default=DEFAULT_LEVELS, metavar="K", help="number of noise levels")
    d.add_argument("--n", type=count, default=DEFAULT_N, help="exact samples x0 (and noises) per level")
    d.add_argument("--seed", type=seed, default=0, help="random seed of the draws")
    d.add_argument("--class", dest="class_", metavar="K",
                   help="one class only (1-based number or name): x0 from class K, the model asked for class K "
                        "(a --conditional checkpoint), the floor that of class K's exact denoiser")
    d.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help=DEVICE_HELP)
    d.add_argument("--json", required=True, metavar="FILE.json",
                   help='the table: {"levels": [...], "model_mse": [...], "floor_mse": [...], "n", "score"}')
    d.set_defaults(func=cmd_diagnose, guidance=None)
