"""`presets` and `target`: what the built-in targets are, and exact samples of any target."""
from __future__ import annotations

from .common import POINTS_OUT_HELP, PRESET_HELP, check_out, count, example, load, seed, write_points


def cmd_presets(args) -> int:
    from playground.formats.presets import builtin_names, load_preset
    for name in builtin_names():
        print(f"{name:18s} {load_preset(name).description}")
    return 0


def cmd_target(args) -> int:
    out = check_out(args.out, (".npy", ".csv"))
    _, target = load(args.preset)
    write_points(out, target.sample(args.n, seed=args.seed).numpy())
    return 0


def add_parsers(sub) -> None:
    text = "list built-in presets, one per line with a one-line description"
    sub.add_parser("presets", help=text, description=text,
                   epilog=example("diffusion-playground presets")).set_defaults(func=cmd_presets)
    text = "exact samples of a target (its Gaussian mixture sampled directly, no model)"
    t = sub.add_parser("target", help=text, description=text,
                       epilog=example("diffusion-playground target spiral --n 5000 --seed 0 --out spiral.csv"))
    t.add_argument("preset", help=PRESET_HELP)
    t.add_argument("--n", type=count, required=True, help="number of samples")
    t.add_argument("--seed", type=seed, default=0, help="random seed: the same seed gives the same samples")
    t.add_argument("--out", required=True, help=POINTS_OUT_HELP)
    t.set_defaults(func=cmd_target)
