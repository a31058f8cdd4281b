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
