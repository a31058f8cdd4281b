"""`tour`: list the guided tours, or play one offscreen and save a picture of every stop."""
from __future__ import annotations

import json
import os
import sys

from .common import UsageError, example, window_size


def cmd_tour(args) -> int:
    from playground.formats.tour_files import TourError, read_tour, tour_names
    if args.list:
        for name in tour_names():
            print(f"{name:22s} {read_tour(name).title}")
        return 0
    if not args.name:
        raise UsageError("name a tour (see `tour --list`), or give --list")
    try:
        read_tour(args.name)
    except TourError as exc:
        raise UsageError(str(exc)) from None
    if not args.screenshots:
        raise UsageError("give --screenshots DIR: the folder for one picture per stop")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")     # without a display, always
    from playground.app.shell.launch import display_problem, quiet_qt_messages
    problem = display_problem()
    if problem:
        raise UsageError(problem)
    quiet_qt_messages()
    from playground.app.shell.tour_shots import TourFailed, play_tour
    try:
        result = play_tour(args.name, args.screenshots, args.size)
    except TourFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for i, s in enumerate(result.pop("stop_seconds"), 1):
        print(f"stop {i}: {s:.2f} s", file=sys.stderr)
    print(json.dumps(result))
    return 0


def add_parsers(sub) -> None:
    text = "guided tours: list them, or play one without a display and save one PNG per stop"
    t = sub.add_parser("tour", help=text, description=text, epilog=example(
        "diffusion-playground tour --list",
        "diffusion-playground tour loaded-die --screenshots shots/ --size 1366x768"))
    t.add_argument("name", nargs="?", help="the tour to play (a name from --list)")
    t.add_argument("--list", action="store_true", help="print one line per tour: its name, then its title")
    t.add_argument("--screenshots", metavar="DIR", help="write 01.png, 02.png, ... (one per stop) into DIR")
    t.add_argument("--size", type=window_size, default=(1366, 768), metavar="WxH",
                   help="window size of the pictures (default 1366x768, a laptop's screen)")
    t.set_defaults(func=cmd_tour)
