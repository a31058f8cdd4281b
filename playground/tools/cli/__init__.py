"""Command line: presets, target, train, reflow, sample, nll, compare, bench and gui.

Bad input of any kind ends in one line on stderr and exit status 2, never a traceback, and
outputs are written atomically so a failed command leaves earlier files untouched. Each command
lives in its own module with `add_parsers(sub)`; this one only assembles them and runs one.
"""
from __future__ import annotations

import sys

from . import app_cmds, compare_cmd, data_cmds, reflow_cmd, sample_cmds, train_cmd
from .common import USER_ERROR, Parser, UsageError

COMMANDS = (app_cmds, data_cmds, train_cmd, reflow_cmd, sample_cmds, compare_cmd)


def build_parser() -> Parser:
    p = Parser(prog="diffusion-playground", description="Learn and compare diffusion samplers on exact 2D targets.")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for module in COMMANDS:
        module.add_parsers(sub)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from playground.formats.checkpoint import CheckpointError
    from playground.formats.presets import PresetError
    try:
        parser = build_parser()
        args = parser.parse_args(argv or ["gui"])
        if args.command is None:
            args = parser.parse_args(["gui"] + argv)
        return args.func(args)
    except (UsageError, PresetError, CheckpointError, ValueError, OSError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"error: {msg}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
