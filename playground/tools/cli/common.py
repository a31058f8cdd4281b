"""What every command shares: the one-line error, number parsers, output checks, sources."""
from __future__ import annotations

import argparse
import re
import sys
import time
import textwrap
from pathlib import Path

from playground.formats import validate as limits

USER_ERROR = 2


class UsageError(Exception):
    """A problem with what the user asked for; its message is shown as is."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default after its help (none when the default is None/False: nothing to show);
    a help's own line breaks are kept (choice lists: one per line, wrapped under the description);
    in descriptions and epilogs, indented lines (the examples) are printed as written."""

    def _get_help_string(self, action):
        text = action.help or ""
        shown = (action.option_strings and not action.required and action.default is not None
                 and action.default is not False and action.default != argparse.SUPPRESS)
        return f"{text} (default: %(default)s)" if shown and "%(default)" not in text else text

    def _split_lines(self, text, width):
        lines = []
        for para in text.splitlines():
            hang = re.match(r"\s+\S+\s\s+", para)         # "  name  text": continue under the text
            lines += textwrap.wrap(para, width, subsequent_indent=" " * len(hang.group()) if hang else "") or [""]
        return lines

    def _fill_text(self, text, width, indent):
        return "\n".join(line if line[:1].isspace() or not line else textwrap.fill(line, width, initial_indent=indent,
                                                                                  subsequent_indent=indent)
                         for line in text.splitlines())


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def example(*commands: str) -> str:
    """A command's epilog: the commands a learner can paste."""
    return "example:\n" + "\n".join(f"  {c}" for c in commands)


def choices_help(intro: str, choices: dict[str, str]) -> str:
    """`intro` then one line per choice: name and its one-line description."""
    width = max(map(len, choices))
    return intro + "\n" + "\n".join(f"  {name:<{width}}  {text}" for name, text in choices.items())


def sampler_choices() -> dict[str, str]:
    """Sampler name -> its label from the sampler-info table (the one source of these texts)."""
    from playground.maths.samplers import SAMPLERS
    from playground.maths.samplers.explanations import kind, label
    return {name: f"{label(name)}, {kind(name)}" for name in SAMPLERS}


def schedule_choices() -> dict[str, str]:
    from playground.maths.schedules import SCHEDULES
    return {name: cls.label for name, cls in SCHEDULES.items()}


PRESET_HELP = ("a built-in preset (see `presets`), a preset .json file, an image (.png, .jpg: darker = more mass) "
               "or points (.csv with header x,y, or .npy (N, 2))")
POINTS_OUT_HELP = "output file: .npy (float32 array (N, 2)) or .csv (header x,y)"
DEVICE_HELP = "where the network runs: auto = cuda when available, else cpu"


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return v


MAX_N = 2_000_000


def count(text: str) -> int:
    v = positive_int(text)
    if v > MAX_N:
        raise argparse.ArgumentTypeError(f"at most {MAX_N} samples, got {v}")
    return v


def _bounded(parse, lo, hi, what):
    def check(text: str):
        v = parse(text)
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be between {lo} and {hi}, got {text}")
        return v
    return check


step_count = _bounded(positive_int, 1, limits.MAX_STEPS, "steps")
seed = _bounded(whole, 0, limits.MAX_SEED, "the seed")
learning_rate = _bounded(positive_float, 1e-6, limits.MAX_LR, "the learning rate")


def preset_command(sub, name: str, text: str, usage_example: str, short: str | None = None):
    """A subcommand that acts on a preset (its first argument), with its help text and an example."""
    parser = sub.add_parser(name, help=short or text, description=text, epilog=example(usage_example))
    parser.add_argument("preset", help=PRESET_HELP)
    return parser


def add_training_budget(parser, steps_help: str, seconds_help: str, seed_help: str, device_help: str) -> None:
    """--steps N or --seconds S (the command checks that exactly one is given), --seed and --device:
    what every command that trains (train, train-classifier, reflow) takes."""
    parser.add_argument("--steps", type=positive_int, help=steps_help)
    parser.add_argument("--seconds", type=positive_float, help=seconds_help)
    parser.add_argument("--seed", type=seed, default=0, help=seed_help)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help=device_help)
guidance_scale = _bounded(finite_float, 0.0, limits.MAX_GUIDANCE, "the guidance scale")


def check_cost(n: int, steps: int, components: int | None = None, evals_per_step: int = 1) -> None:
    """Refuse a run whose particles x steps (x components, for the exact score) exceed the stated limits."""
    if n * steps > limits.MAX_PARTICLE_STEPS:
        raise UsageError(f"{n} particles x {steps} steps is more than {limits.MAX_PARTICLE_STEPS:.0e}; "
                         "use fewer particles or steps")
    if components and n * steps * components * evals_per_step > limits.MAX_EXACT_PAIRS:
        raise UsageError(f"{n} particles x {steps} steps x {components} Gaussians is beyond the exact score's "
                         f"budget ({limits.MAX_EXACT_PAIRS:.0e} evaluations); use fewer particles or steps")


class Progress:
    """Progress on stderr for long work. Quiet for the first seconds (so quick runs print nothing
    extra), then rewritten in place on a terminal, or one line every 5 s in a log."""
    open_line = False

    def __init__(self, label: str, quiet_s: float = 2.0):
        self.label, self.t0, self.quiet_s, self.last = label, time.perf_counter(), quiet_s, 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, fraction: float, note: str = "") -> None:
        now = time.perf_counter()
        if now - self.t0 < self.quiet_s or now - self.last < (0.5 if self.tty else 5.0):
            return
        self.last = now
        line = f"{self.label}: {100 * min(max(fraction, 0.0), 1.0):3.0f}%  {now - self.t0:.0f} s{note}"
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)
        Progress.open_line = self.tty

    def done(self) -> None:
        """Close the line; a run that showed progress also shows that it reached 100%."""
        if self.last and self.label:
            line = f"{self.label}: 100%  {time.perf_counter() - self.t0:.0f} s"
            print(("\r" + line) if self.tty else line, file=sys.stderr, flush=True)
            Progress.open_line = False
        elif Progress.open_line:
            print(file=sys.stderr)
            Progress.open_line = False


class ProgressLine(Progress):
    """Progress whose line the caller writes (training: step, loss, speed), on the same rate limit."""

    def __init__(self, quiet_s: float = 0.5):
        super().__init__("", quiet_s)

    def show(self, line: str) -> None:
        now = time.perf_counter()
        if now - self.t0 < self.quiet_s or now - self.last < (0.5 if self.tty else 5.0):
            return
        self.last = now
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)
        Progress.open_line = self.tty

    def interject(self, message: str) -> None:
        """A message on its own line, even while a progress line is open."""
        self.done()
        print(message, file=sys.stderr)

    close = Progress.done


def warn_far(x, preset) -> None:
    """One warning line when samples land far outside the target's range (still written: exit 0)."""
    from playground.maths.metrics import far_fraction, support_box
    frac = far_fraction(x, support_box(preset.target, preset.view))
    if frac > 0:
        print(f"warning: {100 * frac:.3g}% of the samples lie beyond 10x the target's range "
              "(a diverging model or extreme settings?)", file=sys.stderr)


def check_out(path: str, suffixes: tuple[str, ...]) -> Path:
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise UsageError(f"{path}: output must end in {' or '.join(suffixes)}")
    if p.is_dir():
        raise UsageError(f"{path}: is a folder")
    if not p.parent.exists():
        raise UsageError(f"{path}: folder {p.parent} does not exist")
    return p


def write_array(path: Path, x) -> None:
    """A float32 .npy file, written atomically."""
    import numpy as np
    from playground.formats.io_utils import atomic_path
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.asarray(x, dtype=np.float32))


def write_points(path: Path, x) -> None:
    import numpy as np
    from playground.formats.io_utils import atomic_path
    if path.suffix.lower() == ".npy":
        return write_array(path, x)
    with atomic_path(path) as tmp:
        np.savetxt(tmp, np.asarray(x, dtype=np.float32), delimiter=",", header="x,y", comments="", fmt="%.7g")


def load(name: str):
    from playground.formats.presets import load_preset
    preset = load_preset(name)
    return preset, preset.target


def source_for(args, target):
    from playground.maths.sources import ExactSource, ModelSource
    if args.exact == bool(args.model):
        raise UsageError("give exactly one of --model FILE.pt or --exact")
    if args.exact:
        return ExactSource(target)
    from playground.formats.checkpoint import load_model
    from playground.learning.devices import resolve_device
    device, note = resolve_device(getattr(args, "device", "auto"))
    if note:
        print(note, file=sys.stderr)
    return ModelSource(load_model(args.model, device=device), copy_weights=False)


def guided(args, target, source):
    """`--class K [--guidance W] [--guidance-kind cfg|classifier] [--classifier C.pt]` (default W = 1):
    classifier-free guidance towards class K, or classifier guidance of the plain score."""
    kind = getattr(args, "guidance_kind", None) or "cfg"
    classifier_file = getattr(args, "classifier", None)
    if args.class_ is None:
        if args.guidance is not None or kind != "cfg" or classifier_file:
            raise UsageError("--guidance, --guidance-kind and --classifier need --class K")
        return source
    if classifier_file and kind != "classifier":
        raise UsageError("--classifier needs --guidance-kind classifier")
    from playground.maths.guidance import ExactGuidedSource, GuidedSource, parse_class
    label = parse_class(target, args.class_)
    scale = 1.0 if args.guidance is None else args.guidance
    if scale < 0:
        raise UsageError(f"--guidance must be >= 0 (0 = unconditional, 1 = conditional), got {scale:g}")
    if kind == "classifier":
        return classifier_guided(target, source, label, scale, classifier_file)
    if args.exact:
        return ExactGuidedSource(target, label, scale)
    if source.n_classes <= 0:
        raise UsageError(f"{Path(args.model).name} is an unconditional model: --class needs a checkpoint "
                         "trained with --conditional, or --exact")
    if label >= source.n_classes:
        raise UsageError(f"class {args.class_} is beyond the {source.n_classes} classes this model was trained on")
    return GuidedSource(source, label, scale)


def classifier_guided(target, source, label: int, scale: float, classifier_file: str | None):
    """score + W ∇log p(K | x_t) on the plain score; the exact classifier unless a file is given."""
    from playground.maths.classifier_guidance import ClassifierGuidedSource, ExactClassifier
    if classifier_file is None:
        return ClassifierGuidedSource(source, ExactClassifier(target), label, scale)
    from playground.formats.checkpoint import load_classifier
    from playground.learning.classifier import LearnedClassifier
    model, names = load_classifier(classifier_file, device=source.device)
    if names != list(target.group_names):
        raise UsageError(f"{Path(classifier_file).name}: was trained on classes {', '.join(names[:6])}"
                         f"{', ...' if len(names) > 6 else ''}, not this target's")
    return ClassifierGuidedSource(source, LearnedClassifier(model), label, scale)


def limit_threads():
    import torch
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))


def window_size(text: str) -> tuple[int, int]:
    """WxH in pixels, e.g. 1366x768 (argparse type): the window's size for screenshots."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WxH in pixels, e.g. 1366x768") from None
    if not (320 <= w <= 8192 and 240 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"{text!r}: width 320–8192 and height 240–8192 pixels")
    return w, h
