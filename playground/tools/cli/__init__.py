"""Command line: presets, target, train, train-classifier, reflow, sample, nll, compare, diagnose, memorisation,
tour, bench and gui.

Bad input of any kind ends in one line on stderr and exit status 2, never a traceback, and
outputs are written atomically so a failed command leaves earlier files untouched. Each command
lives in its own module with `add_parsers(sub)`; this one only assembles them and runs one.
"""
from __future__ import annotations

import os
import sys
import warnings

from . import (app_cmds, classifier_cmd, compare_cmd, data_cmds, diagnose_cmd, memorisation_cmd, reflow_cmd, sample_cmds,
               tour_cmd, train_cmd)
from .common import USER_ERROR, Parser, Progress, UsageError, example

COMMANDS = (app_cmds, data_cmds, train_cmd, classifier_cmd, reflow_cmd, sample_cmds, compare_cmd, diagnose_cmd,
            memorisation_cmd, tour_cmd)


def build_parser() -> Parser:
    from playground import __version__
    p = Parser(prog="diffusion-playground", description="Learn and compare diffusion samplers on exact 2D targets.",
               epilog=example("diffusion-playground presets", "diffusion-playground gui --preset spiral",
                              "diffusion-playground sample --help"))
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for module in COMMANDS:
        module.add_parsers(sub)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from playground.formats.checkpoint import CheckpointError
    from playground.formats.presets import PresetError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # a warning is never a second stderr line: errors say it all
            parser = build_parser()
            args = parser.parse_args(argv or ["gui"])
            if args.command is None:
                args = parser.parse_args(["gui"] + argv)
            return args.func(args)
    except BrokenPipeError:          # `presets | head -3`: the reader left, which is not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    except MemoryError:
        _end_progress_line()
        print("error: out of memory (use fewer particles, steps or components)", file=sys.stderr)
        return USER_ERROR
    except (UsageError, PresetError, CheckpointError, ValueError, OSError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        _end_progress_line()
        print(f"error: {msg}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:     # outputs are written atomically: nothing half-written is left
        _end_progress_line()
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a bug still ends in one line, never a traceback
        _end_progress_line()
        print(f"error: unexpected {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''} "
              "(please report this)", file=sys.stderr)
        return USER_ERROR


def _end_progress_line() -> None:
    if Progress.open_line:
        print(file=sys.stderr)
        Progress.open_line = False
