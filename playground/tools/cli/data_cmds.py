"""`presets` and `target`: what the built-in targets are, and exact samples of any target."""
from __future__ import annotations

from .common import check_out, count, load, seed, write_points


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
    sub.add_parser("presets", help="list built-in presets").set_defaults(func=cmd_presets)
    t = sub.add_parser("target", help="exact samples of a target")
    t.add_argument("preset")
    t.add_argument("--n", type=count, required=True)
    t.add_argument("--seed", type=seed, default=0)
    t.add_argument("--out", required=True)
    t.set_defaults(func=cmd_target)
