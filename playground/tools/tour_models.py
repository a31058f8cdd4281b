"""Rebuild the small models the guided tours ship: `python -m playground.tools.tour_models`.

Each is trained by the `train` / `reflow` commands from a fixed seed on one CPU thread, then cut down
to what a tour needs (config, EMA weights, step): a few tens of kB each instead of the optimiser's
copies. Anyone can rebuild them; the tours only need them to exist (formats/tour_files.py).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

# name -> the command that trains it (a reflow names its base, built before it)
RECIPES: dict[str, list[str]] = {
    "dice_12_rolls": ["train", "loaded_dice", "--dataset-size", "12", "--steps", "3000"],
    "dice_fresh": ["train", "loaded_dice", "--steps", "2000"],
    "eight_fm": ["train", "eight_gaussians", "--objective", "fm", "--steps", "2500"],
    "eight_fm_reflowed": ["reflow", "eight_gaussians", "--model", "{eight_fm}", "--steps", "1500",
                          "--pairs", "10000", "--ode-steps", "50"],
}
KEEP = ("format", "objective", "config", "ema", "step", "preset", "reflowed", "base")
SEED = "0"


def slim(src: Path, out: Path) -> None:
    """Keep the weights a tour loads and the facts about them; drop the optimiser and the raw weights."""
    state = torch.load(src, map_location="cpu", weights_only=True)
    torch.save({k: state[k] for k in KEEP if k in state}, out)


def build(out_dir: Path, names=None) -> None:
    from playground.tools.cli import main
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        full = {}
        for name, recipe in RECIPES.items():
            if names and name not in names and not any(f"{{{name}}}" in r for n in names for r in RECIPES[n]):
                continue
            full[name] = Path(tmp) / f"{name}.pt"
            args = [a.format(**{k: str(v) for k, v in full.items()}) for a in recipe]
            if main(args + ["--seed", SEED, "--device", "cpu", "--out", str(full[name])]) != 0:
                raise SystemExit(f"building {name} failed")
            slim(full[name], out_dir / f"{name}.pt")
            print(f"{name}: {(out_dir / f'{name}.pt').stat().st_size // 1024} kB", file=sys.stderr)


def main(argv=None) -> int:
    from playground.formats.tour_files import MODEL_DIR
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help=f"models to rebuild (default: all of {', '.join(RECIPES)})")
    p.add_argument("--out", default=str(MODEL_DIR), help="folder to write them to (default: the package's)")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in RECIPES]
    if unknown:
        print(f"error: unknown tour model {unknown[0]!r}", file=sys.stderr)
        return 2
    build(Path(args.out), args.names)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
