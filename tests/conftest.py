import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402

# CI has 2 cores; keep torch from oversubscribing them while Qt paints.
torch.set_num_threads(2)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory, monkeypatch):
    """Windows autosave on close: keep every test's autosave and crash marker out of the real home."""
    monkeypatch.setenv("DIFFUSION_PLAYGROUND_STATE_DIR", str(tmp_path_factory.mktemp("state")))
