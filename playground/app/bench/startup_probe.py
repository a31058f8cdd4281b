"""Start the app as a user would and exit right after the first paint (for `bench`'s startup_s)."""
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from playground.app.shell.launch import quiet_qt_messages
from playground.app.shell.main_window import MainWindow


class _FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print(f"first-paint {time.time():.3f}", flush=True)
            QTimer.singleShot(0, QApplication.instance().quit)
            obj.removeEventFilter(self)
        return False


def main() -> int:
    app = QApplication(sys.argv[:1])
    quiet_qt_messages()
    w = MainWindow(defer_features=True)     # as `gui` builds it
    probe = _FirstPaint()
    w.particle_view.viewport().installEventFilter(probe)
    w.show()
    app.exec()
    w.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
