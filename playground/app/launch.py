"""Start the window (the CLI's `diffusion-playground gui` calls run_gui).

With `screenshot`, the run is scripted so a picture can be made unattended: train from the
start, sample at 60% of `after`, and at `after` seconds save window.grab() and exit 0.
"""
from __future__ import annotations

import sys


def quiet_qt_messages() -> None:
    """Drop the offscreen plugin's "propagateSizeHints" notice (harmless, printed per dock); keep the rest."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode, context, message):
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)
    qInstallMessageHandler(handler)


def run_gui(preset: str | None = None, device: str = "auto", screenshot: str | None = None,
            after: float = 20.0, session: str | None = None) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    saved = None
    if session:
        from playground.formats.session import SessionError, read_session
        try:
            saved = read_session(session)           # checked before any window exists
        except SessionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    quiet_qt_messages()
    embedded = QApplication.instance() is not None
    app = QApplication.instance() or QApplication(sys.argv[:1])
    # Inside an application that goes on afterwards (tests, scripts), a screenshot run ends a local
    # event loop: app.quit() would leave the application quitting, and QThreads started later in
    # the same process then stop after their first event.
    loop = QEventLoop() if embedded and screenshot else None
    window = MainWindow()
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
    window.show()
    result = {"code": 0}

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
