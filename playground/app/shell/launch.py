"""Start the window (the CLI's `diffusion-playground gui` calls run_gui).

With `screenshot`, the run is scripted so a picture can be made unattended: train from the
start, sample at 60% of `after`, and at `after` seconds save window.grab() and exit 0.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

NO_DISPLAY = "no display: set DISPLAY or use --screenshot with QT_QPA_PLATFORM=offscreen"
NEEDS_DISPLAY = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}    # Linux platforms that talk to a server


def apt_package(soname: str) -> str:
    """Debian's package for a shared library: libxcb-cursor.so.0 -> libxcb-cursor0, libxkbcommon-x11.so.0 ->
    libxkbcommon-x11-0 (a dash when the name already ends in a digit)."""
    stem, _, version = soname.partition(".so.")
    stem = stem.lower()
    return f"{stem}-{version}" if stem[-1:].isdigit() else f"{stem}{version}"


def missing_libraries(plugin: str, ldd_output: str | None = None) -> list[str]:
    """Shared libraries the platform plugin needs but the loader cannot find (from `ldd`; none if it can't run)."""
    if ldd_output is None:
        try:
            ldd_output = subprocess.run(["ldd", plugin], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            return []
    return sorted({m for m in re.findall(r"^\s*(\S+) => not found", ldd_output, re.M)})


def server_reachable(kind: str, env=os.environ) -> bool:
    """xcb: open and close a connection with the library Qt itself uses (True if it cannot be loaded);
    wayland: the compositor's socket exists (absolute, or relative to XDG_RUNTIME_DIR)."""
    name = env[NEEDS_DISPLAY[kind]]
    if kind == "wayland":
        runtime = env.get("XDG_RUNTIME_DIR")
        return os.path.exists(name if os.path.isabs(name) else os.path.join(runtime, name)) if (
            runtime or os.path.isabs(name)) else False
    import ctypes
    try:
        lib = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True
    lib.xcb_connect.restype = ctypes.c_void_p
    lib.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    conn = ctypes.c_void_p(lib.xcb_connect(name.encode(), None))    # never NULL: an error object
    ok = lib.xcb_connection_has_error(conn) == 0
    lib.xcb_disconnect(conn)
    return ok


def _platform_plugin(name: str) -> str:
    from PySide6.QtCore import QLibraryInfo
    return os.path.join(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath), "platforms", f"libq{name}.so")


def display_problem(env=os.environ, platform: str = sys.platform) -> str | None:
    """Why Qt could not open a window here, as one line; None when it can (or when we cannot tell).

    Checked before a QApplication exists: Qt itself aborts the process (core dump) on a missing
    display or platform plugin library. macOS and Windows always have their platform plugin.
    """
    if not platform.startswith(("linux", "freebsd")):
        return None
    wanted = [p.split(":")[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]
    candidates = wanted or [p for p in ("wayland", "xcb") if env.get(NEEDS_DISPLAY[p])] or ["xcb"]
    problems = []
    for name in candidates:
        kind = "wayland" if name.startswith("wayland") else name
        if kind not in NEEDS_DISPLAY:
            return None                  # offscreen, minimal, vnc, eglfs...: no display server needed
        if not env.get(NEEDS_DISPLAY[kind]):
            problems.append(NO_DISPLAY)
            continue
        missing = missing_libraries(_platform_plugin(kind))
        if missing:
            problems.append(f"Qt's {kind} platform plugin cannot load: missing {', '.join(missing)} (on "
                            f"Debian/Ubuntu: sudo apt-get install {' '.join(apt_package(m) for m in missing)})")
        elif not server_reachable(kind, env):
            problems.append(f"cannot connect to the {kind} display {env[NEEDS_DISPLAY[kind]]!r}: is it running? "
                            "(or use --screenshot with QT_QPA_PLATFORM=offscreen)")
        else:
            return None
    return next((p for p in problems if p != NO_DISPLAY), problems[0]) if problems else None


def quiet_qt_messages() -> None:
    """Drop the offscreen plugin's "propagateSizeHints" notice (harmless, printed per dock); keep the rest."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode, context, message):
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)
    qInstallMessageHandler(handler)


def offer_first_tour(window) -> None:
    """On a user's first start the banner offers the first guided tour, once its feature is installed.
    Only here, in the `gui` command: windows built by scripts and tests start without the offer."""
    from PySide6.QtCore import Qt

    def offer():
        tours = window.features.get("tours")
        if tours is not None:
            tours.offer_first_tour()

    if window.features_ready():
        offer()
    else:
        window.featuresReady.connect(offer, Qt.ConnectionType.SingleShotConnection)


def run_gui(preset: str | None = None, device: str = "auto", screenshot: str | None = None,
            after: float = 20.0, session: str | None = None, size: tuple[int, int] | None = None) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    embedded = QApplication.instance() is not None
    problem = None if embedded else display_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from playground.app.shell.main_window import MainWindow

    saved = None
    if session:
        from playground.formats.session import SessionError, read_session
        try:
            saved = read_session(session)           # checked before any window exists
        except SessionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    quiet_qt_messages()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    # Inside an application that goes on afterwards (tests, scripts), a screenshot run ends a local
    # event loop: app.quit() would leave the application quitting, and QThreads started later in
    # the same process then stop after their first event.
    loop = QEventLoop() if embedded and screenshot else None
    window = MainWindow(defer_features=saved is None)    # a session's panels need their features first
    from playground.formats.settings import SettingsError
    try:        # the same Settings the controls and sessions use: one check of the device name
        window.state.update_settings(device=str(device or "auto").lower())
    except SettingsError:
        print(f"unknown device {device!r}: use auto, cpu or cuda", file=sys.stderr)
        window.shutdown()
        return 2
    if preset:
        from playground.formats.presets import PresetError, load_preset
        try:
            load_preset(preset)
        except (PresetError, OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            window.shutdown()
            return 2
        window.set_preset(preset)
    if saved is not None and not window.open_session(saved):
        print(f"error: {window.statusBar().currentMessage() or 'could not open the session'}", file=sys.stderr)
        window.shutdown()
        return 2
    if size is not None:
        window.resize(*size)
    window.show()
    result = {"code": 0}

    if not screenshot and saved is None:
        offer_first_tour(window)
    if screenshot:
        after_ms = max(1000, int(float(after) * 1000))

        def save():
            try:
                frames = window.current_frames()
                if frames is not None and window.is_playing():
                    window.show_frame(len(frames) - 1)     # the picture shows the final samples
                app.processEvents()
                if not window.grab().save(str(screenshot), "PNG"):
                    print(f"error: could not write {screenshot}", file=sys.stderr)
                    result["code"] = 1
            finally:
                window.close()
                (loop or app).quit()

        QTimer.singleShot(200, lambda: window.train_button.setChecked(True))
        QTimer.singleShot(int(0.6 * after_ms), window.start_sampling)
        QTimer.singleShot(after_ms, save)

    code = (loop or app).exec()
    window.shutdown()
    return result["code"] if screenshot else int(code)
