"""`memorisation`: does a model trained on N fixed points make new samples or copy its training set?"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from playground.formats.validate import MAX_EXACT_PAIRS

from .common import (DEVICE_HELP, MAX_N, PRESET_HELP, UsageError, _bounded, check_out, count, example, limit_threads,
                     load, positive_int, seed, write_array)

training_size = _bounded(positive_int, 2, MAX_N, "the training-set size")


def cmd_memorisation(args) -> int:
    from playground.formats.io_utils import atomic_write_text
    from playground.learning.dataset import training_set
    from playground.maths.diagnostics.memorisation import STEPS, memorisation
    import numpy as np
    outs = [check_out(args.dataset_out, (".npy",)), check_out(args.out, (".npy",)), check_out(args.json, (".json",))]
    if len({p.resolve() for p in outs}) < 3:
        raise UsageError("--dataset-out, --out and --json must be three different files")
    _, target = load(args.preset)
    if args.n * args.dataset_size * 2 * STEPS > MAX_EXACT_PAIRS:     # each evaluation looks at every training point
        raise UsageError(f"{args.n} samples x {args.dataset_size} training points x {2 * STEPS} evaluations is more "
                         f"than {MAX_EXACT_PAIRS:.0e}; use fewer samples (--n) or a smaller set")
    limit_threads()
    source = model_source(args) if args.model else None
    dataset = training_set(target, args.dataset_size, args.seed)[0]
    result = memorisation(target, dataset, n=args.n, seed=args.seed, source=source)
    samples = result.samples_empirical if source is None else result.samples_model
    if not np.all(np.isfinite(samples)):
        raise UsageError("the model's samples are not finite (a diverged model?); nothing was written")
    write_array(outs[0], result.dataset)
    write_array(outs[1], samples)
    atomic_write_text(outs[2], json.dumps(result.to_json(), indent=1))
    print(json.dumps(result.to_json()))
    return 0


def model_source(args):
    """The checkpoint's denoiser; a warning when it was not trained on the set these flags describe."""
    from playground.formats.checkpoint import model_from_state, read_checkpoint
    from playground.learning.devices import resolve_device
    from playground.maths.sources import ModelSource
    device, note = resolve_device(args.device)
    if note:
        print(note, file=sys.stderr)
    state = read_checkpoint(args.model)
    config = state.get("config") if isinstance(state.get("config"), dict) else {}
    trained = (config.get("dataset_size"), config.get("seed", 0))
    if trained != (args.dataset_size, args.seed):
        how = "fresh samples" if not trained[0] else f"--dataset-size {trained[0]} --seed {trained[1]}"
        print(f"warning: {Path(args.model).name} was trained with {how}, not on the set of --dataset-size "
              f"{args.dataset_size} --seed {args.seed} that its samples are compared with", file=sys.stderr)
    return ModelSource(model_from_state(state, Path(args.model).name, device=device), copy_weights=False)


def add_parsers(sub) -> None:
    from playground.maths.diagnostics.memorisation import COPY_FACTOR, SAMPLER, STEPS
    text = (f"the training set of `train P --dataset-size N --seed S`, samples ({SAMPLER}, {STEPS} steps) of the model "
            "trained on it or, without --model, of the exact denoiser of those N points (which reproduces them), and "
            f"their copy rates: a copy is a sample closer to a training point than {COPY_FACTOR:g} x the set's median "
            "nearest-neighbour spacing; fresh exact samples give the rate chance alone makes. Writes "
            '{"n_train", "copy_rate_model", "copy_rate_empirical_exact", "copy_rate_fresh"} (copy_rate_model is null '
            "without --model) and prints it as one line")
    m = sub.add_parser("memorisation", help="copy rates of a model trained on N fixed points", description=text,
                       epilog=example("diffusion-playground memorisation loaded_dice --dataset-size 16 --seed 0 "
                                      "--dataset-out set.npy --out exact16.npy --json exact16.json",
                                      "diffusion-playground memorisation loaded_dice --dataset-size 16 --seed 0 "
                                      "--model dice16.pt --dataset-out set.npy --out samples.npy --json copies.json"))
    m.add_argument("preset", help=PRESET_HELP)
    m.add_argument("--dataset-size", type=training_size, required=True, metavar="N",
                   help="training-set size, as given to train --dataset-size (at least 2)")
    m.add_argument("--seed", type=seed, default=0, help="the training seed (train --seed); also seeds the samples")
    m.add_argument("--model", metavar="FILE.pt", help="a checkpoint trained with --dataset-size N --seed S "
                   "(default: none; the samples are then the empirical-exact denoiser's)")
    m.add_argument("--n", type=count, default=2000, help="samples of each kind")
    m.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help=DEVICE_HELP)
    m.add_argument("--dataset-out", required=True, metavar="D.npy", help="the training set, float32 (N, 2)")
    m.add_argument("--out", required=True, metavar="X.npy",
                   help="the model's samples, float32 (n, 2); without --model the empirical-exact denoiser's")
    m.add_argument("--json", required=True, metavar="FILE.json", help="the copy rates")
    m.set_defaults(func=cmd_memorisation)
