"""One-second training (issue 26): SW2 over the noise floor after a short budgeted run, per target.

The yardstick is the `compare` command's: ode-heun, 50 steps, N = 4000 samples against fresh exact
samples, divided by the median of ten two-sample floors (quality.quality_vs_steps). A run is either
in-process (train_for on `budget_config`, as the CLI's train does, with the clock started after the
model is built, as train's is) or, with cli=True, the `train` command itself in a fresh process.

    python -m playground.tools.one_second                      # built-ins and unseen targets, 400 steps
    python -m playground.tools.one_second --seconds 1 --cli    # the issue's check, through the CLI
    python -m playground.tools.one_second --recipe default     # the open-ended defaults, for the before column

--steps 400 is what one second of the budget recipe gives on an idle two-core machine (400-450
through the CLI; the stable target costs ~0.7 ms of a ~2.6 ms step), so a comparison between
recipes does not move with other processes' load.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from playground.formats.builtin import builtin_names
from playground.formats.presets import PresetError, load_preset
from playground.learning.train_loop import budget_config, train_for
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths.quality import quality_vs_steps
from playground.maths.sources import ExactSource, ModelSource

N, SAMPLER, STEPS = 4000, "ode-heun", 50
IDLE_STEPS_1S = 400
UNSEEN_DIR = Path(__file__).with_name("unseen_targets")


def builtin_presets() -> list[str]:
    """Every built-in with a target (blank has none and does not load as one)."""
    def has_target(name):
        try:
            return load_preset(name).target is not None
        except PresetError:
            return False
    return [n for n in builtin_names() if has_target(n)]


def unseen_presets() -> list[str]:
    return sorted(str(p) for p in UNSEEN_DIR.glob("*.json"))


def floor_ratio(target, model, n: int = N, seed: int = 0) -> float:
    """SW2(model samples, fresh exact samples) / median two-sample floor, as `compare` computes it;
    model None: the exact score's, what a perfect model would read at this evaluation seed."""
    source = (lambda: ExactSource(target)) if model is None else (lambda: ModelSource(model, copy_weights=False))
    table = quality_vs_steps(target, [SAMPLER], [STEPS], {"model": source}, n=n, seed=seed)
    return table["results"][0]["sw2"][0] / table["floor"]


def trained_ratio(preset: str, seconds: float | None = None, steps: int | None = None, seed: int = 0,
                  recipe: str = "budget", n: int = N) -> tuple[float, int]:
    """(ratio, steps trained) after training in this process for `seconds` or `steps`."""
    target = load_preset(preset).target
    config = budget_config(seed=seed, device="cpu") if recipe == "budget" else TrainConfig(seed=seed, device="cpu")
    trainer = Trainer(target, config)
    for _ in train_for(trainer, steps=steps, seconds=seconds):
        pass
    return floor_ratio(target, trainer.ema_model, n), trainer.step


def cli_ratio(preset: str, seconds: float = 1.0, seed: int = 0) -> tuple[float, int]:
    """(ratio, steps trained) after `python -m playground train P --seconds S` in a fresh process."""
    from playground.formats.checkpoint import load_model, read_checkpoint
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "m.pt")
        subprocess.run([sys.executable, "-m", "playground", "train", preset, "--seconds", f"{seconds:g}",
                        "--seed", str(seed), "--device", "cpu", "--out", out], check=True, capture_output=True)
        steps = int(read_checkpoint(out).get("step", 0))
        return floor_ratio(load_preset(preset).target, load_model(out)), steps


def train_1s(presets: list[str] | None = None, seconds: float = 1.0) -> dict:
    """bench's train_1s: {"per_preset": {name: ratio}, "worst": max ratio, "steps": {name: steps}}."""
    per, steps = {}, {}
    for name in presets or builtin_presets():
        per[name], steps[name] = trained_ratio(name, seconds=seconds)
    return {"per_preset": per, "worst": max(per.values()), "steps": steps}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m playground.tools.one_second", description=__doc__.split("\n\n")[0])
    ap.add_argument("presets", nargs="*", help="preset names or JSON files (default: built-ins and unseen_targets/)")
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help=f"train this many steps (default: {IDLE_STEPS_1S})")
    budget.add_argument("--seconds", type=float, help="train this many seconds instead")
    ap.add_argument("--cli", action="store_true", help="train through `python -m playground train` (needs --seconds)")
    ap.add_argument("--recipe", choices=("budget", "default"), default="budget",
                    help="budget: what train uses now; default: TrainConfig's open-ended defaults")
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds")
    ap.add_argument("--exact", action="store_true",
                    help="also print the exact score's ratio: the yardstick's own reading for a perfect model")
    ap.add_argument("--json", help="write {preset: [ratio per seed]} here")
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    if a.cli and (a.seconds is None or a.recipe != "budget"):
        ap.error("--cli trains with the train command: give --seconds, and no --recipe default")
    steps = None if a.seconds else (a.steps or IDLE_STEPS_1S)
    rows = {}
    for preset in a.presets or builtin_presets() + unseen_presets():
        runs = [cli_ratio(preset, a.seconds, int(s)) if a.cli else
                trained_ratio(preset, a.seconds, steps, int(s), a.recipe) for s in a.seeds.split(",")]
        rows[Path(preset).stem] = [r for r, _ in runs]
        exact = f"   exact {floor_ratio(load_preset(preset).target, None):.2f}" if a.exact else ""
        print(f"{Path(preset).stem:16s} " + " ".join(f"{r:5.2f}" for r, _ in runs)
              + "   steps " + ",".join(str(k) for _, k in runs) + exact, flush=True)
    ratios = [statistics.mean(v) for v in rows.values()]
    passed = sum(max(v) <= 1.5 for v in rows.values())
    print(f"worst {max(max(v) for v in rows.values()):.2f}  mean {statistics.mean(ratios):.2f}  "
          f"within 1.5x: {passed}/{len(rows)}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
