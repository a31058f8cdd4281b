"""`gui` and `bench`: the desktop window and the performance benchmark."""
from __future__ import annotations

from .common import DEVICE_HELP, PRESET_HELP, check_out, example, positive_float, window_size


def cmd_bench(args) -> int:
    from playground.tools.bench import run_bench
    return run_bench(args.json, quick=args.quick, reference=args.reference)


def cmd_gui(args) -> int:
    from playground.app.shell.launch import run_gui
    if args.screenshot:
        check_out(args.screenshot, (".png",))
    return run_gui(preset=args.preset, device=args.device, screenshot=args.screenshot,
                   after=args.after, session=args.session, size=args.size)


def add_parsers(sub) -> None:
    text = "open the desktop window (the default when no command is given)"
    g = sub.add_parser("gui", help=text, description=text, epilog=example(
        "diffusion-playground gui --preset spiral",
        "QT_QPA_PLATFORM=offscreen diffusion-playground gui --preset two_moons --screenshot shot.png --after 20"))
    g.add_argument("--preset", help=f"start on this target: {PRESET_HELP} (default: the window's own default target)")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help=DEVICE_HELP)
    g.add_argument("--screenshot", metavar="FILE.png",
                   help="train and animate for --after seconds, save a PNG of the whole window, exit")
    g.add_argument("--after", type=positive_float, default=10.0, metavar="S", help="seconds before the screenshot")
    g.add_argument("--session", help="open a saved session file (.dpsession)")
    g.add_argument("--size", type=window_size, metavar="WxH", help="the window's size in pixels, e.g. 1366x768")
    g.set_defaults(func=cmd_gui)

    text = "the performance benchmark: training, sampling and window figures, each a median over repeats"
    b = sub.add_parser("bench", help=text, description=text,
                       epilog=example("diffusion-playground bench --json bench.json"))
    b.add_argument("--json", metavar="FILE.json", help="also write the figures as JSON")
    b.add_argument("--quick", action="store_true", help="one repeat instead of three (a smoke test)")
    b.add_argument("--reference", action="store_true",
                   help="also train the toy-diffusion reference recipe to the same quality (minutes) and report the ratio")
    b.set_defaults(func=cmd_bench)
