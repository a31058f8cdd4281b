"""`gui` and `bench`: the desktop window and the performance benchmark."""
from __future__ import annotations

from .common import check_out, positive_float


def cmd_bench(args) -> int:
    from playground.tools.bench import run_bench
    return run_bench(args.json, quick=args.quick, reference=args.reference)


def cmd_gui(args) -> int:
    from playground.app.launch import run_gui
    if args.screenshot:
        check_out(args.screenshot, (".png",))
    return run_gui(preset=args.preset, device=args.device, screenshot=args.screenshot,
                   after=args.after, session=args.session)


def add_parsers(sub) -> None:
    g = sub.add_parser("gui", help="open the desktop window (the default)")
    g.add_argument("--preset")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    g.add_argument("--screenshot", help="train and animate, save a PNG of the window, exit")
    g.add_argument("--after", type=positive_float, default=10.0, help="seconds before the screenshot")
    g.add_argument("--session", help="open a saved session file (.dpsession)")
    g.set_defaults(func=cmd_gui)
