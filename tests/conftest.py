"""Fixtures of the whole suite: a private autosave folder for every test, garbage collected on the
GUI thread, one torch thread where asked, and the real MainWindow (the `make_window` factory and the
`window` fixture, set per file or per test with the `window` marker). Plain helpers are in
tests/helpers.py."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402

# CI has 2 cores. One torch thread per Python thread: with two, OpenMP threads spin against the
# window's worker threads (and anything else on the machine) and small ops get 10-30x slower.
torch.set_num_threads(1)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory, monkeypatch):
    """Windows autosave on close: every test's autosave and crash marker go to a folder of its own
    (not created yet, as on a first start), never to the real home directory; a test that looks
    at them asks for this fixture by name."""
    d = tmp_path_factory.mktemp("state") / "state"
    monkeypatch.setenv("DIFFUSION_PLAYGROUND_STATE_DIR", str(d))
    return d


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread():
    """The app turns automatic garbage collection off (playground/app/gui_gc.py: cycles holding
    widgets must be freed on the GUI thread); between tests, collect here what is due."""
    yield
    import sys
    gui_gc = sys.modules.get("playground.app.core.gui_gc")
    if gui_gc is not None:
        gui_gc.collect_if_due()


@pytest.fixture
def one_torch_thread():
    """For files of small torch batches (pytestmark = pytest.mark.usefixtures("one_torch_thread")):
    one thread is as fast, and ~10x faster when the 2 cores are shared; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ----- the window -------------------------------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "window(**options): how the `window` fixture builds its window "
                                       "(the options of make_window: size, shown, preset, particles, steps, dock, "
                                       "activate, and MainWindow's own keywords)")


@pytest.fixture
def make_window(qtbot):
    """make_window(**options) -> a real MainWindow (real workers, real painting), registered with qtbot,
    shut down and closed after the test. Options and their defaults:
      size=(1300, 850)     resize (None: keep the window's own size)
      shown=True           show it and wait until it is exposed (False: never shown)
      preset=None          set_preset(preset) once shown
      particles=None, steps=None   set the particle and step spin boxes
      dock=None            raise that feature's dock (e.g. "dice_editor")
      activate=False       activate the window and wait until it is the active one (key shortcuts)
    and MainWindow's own keyword arguments (defer_features)."""
    from PySide6.QtWidgets import QSpinBox

    from playground.app import MainWindow
    from tests.helpers import WAIT_MS, child, show_widget
    made = []

    def make(size=(1300, 850), shown=True, preset=None, particles=None, steps=None, dock=None, activate=False,
             **window_options):
        w = MainWindow(**window_options)
        made.append(w)
        if shown:
            show_widget(qtbot, w, size)
        else:
            qtbot.addWidget(w)
            if size is not None:
                w.resize(*size)
        if preset is not None:
            w.set_preset(preset)
        if particles is not None:
            child(w, QSpinBox, "particlesSpin").setValue(particles)
        if steps is not None:
            child(w, QSpinBox, "stepsSpin").setValue(steps)
        if dock is not None:
            getattr(w, dock).dock.raise_()
        if activate:
            w.activateWindow()
            qtbot.waitUntil(w.isActiveWindow, timeout=WAIT_MS)
        return w

    yield make
    for w in reversed(made):       # shutdown() stops the workers; close() is what a user does (idempotent both)
        w.shutdown()
        w.close()


@pytest.fixture
def window(request, make_window):
    """The window most app tests use: make_window() with the options of the closest `window` marker,
    e.g. pytestmark = pytest.mark.window(size=(1200, 800), preset="loaded_dice") for a whole file."""
    marker = request.node.get_closest_marker("window")
    return make_window(**(marker.kwargs if marker is not None else {}))
