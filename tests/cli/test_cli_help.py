"""Help that teaches: every option explained with its default, choices listed, an example that runs."""
import argparse
import shlex
import subprocess
import sys

import pytest

from playground.maths.samplers import SAMPLERS
from playground.maths.schedules import SCHEDULES
from playground.tools.cli import build_parser

PARSER = build_parser()
COMMANDS = PARSER._subparsers._group_actions[0].choices


def options(parser):
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help_with_its_default(name):
    parser = COMMANDS[name]
    text = parser.format_help()
    for action in options(parser):
        assert action.help and action.help.strip(), (name, action.option_strings)
        if action.default is not None and action.default is not False:
            formatted = parser._get_formatter()._expand_help(action)
            assert f"(default: {action.default})" in formatted, (name, action.option_strings, formatted)
    for action in parser._actions:
        if not action.option_strings:
            assert action.help, (name, action.dest)      # positionals too
    assert "default: None" not in text and "default: False" not in text


@pytest.mark.parametrize("name", sorted(COMMANDS) + [None])
def test_help_ends_with_examples_that_parse(name):
    text = (COMMANDS[name] if name else PARSER).format_help()
    tail = text.rstrip().split("example:\n")
    assert len(tail) == 2 and tail[1].strip(), text
    for line in tail[1].strip().splitlines():
        words = [w for w in shlex.split(line) if "=" not in w or w.startswith("-")]   # drop VAR=value
        assert words[0] == "diffusion-playground"
        if words[1:] == [name or "sample", "--help"]:
            continue
        args = PARSER.parse_args(words[1:])        # raises UsageError on an unknown option or a bad value
        assert args.command == (name or args.command)


@pytest.mark.parametrize("option, names", [("--sampler", SAMPLERS), ("--schedule", SCHEDULES)])
def test_sampler_and_schedule_list_their_choices_one_per_line(option, names):
    text = COMMANDS["sample"].format_help()
    lines = [line.split() for line in text.splitlines()]
    starts = {words[0] for words in lines if words}
    assert set(names) <= starts, set(names) - starts
    first = {name: next(i for i, w in enumerate(lines) if w and w[0] == name) for name in names}
    assert len(set(first.values())) == len(names)          # one line each


def test_version_prints_the_distribution_version():
    from playground import __version__
    r = subprocess.run([sys.executable, "-m", "playground", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"diffusion-playground {__version__}"
    assert __version__[0].isdigit() or __version__.startswith("unknown")
