"""Files we write get the permissions any program's output gets, not mkstemp's private 0600."""
import os
import stat
import subprocess
import sys

import pytest

from playground.formats.io_utils import atomic_write_text

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_get_0666_minus_the_umask(tmp_path, umask):
    atomic_write_text(tmp_path / "a.json", "{}")
    assert mode(tmp_path / "a.json") == 0o644
    umask(0o077)
    atomic_write_text(tmp_path / "b.json", "{}")
    assert mode(tmp_path / "b.json") == 0o600
    umask(0o002)
    atomic_write_text(tmp_path / "c.json", "{}")
    assert mode(tmp_path / "c.json") == 0o664


def test_an_overwritten_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "kept.json"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o640


def test_cli_outputs_are_readable_by_others_under_umask_022(tmp_path, umask):
    out = tmp_path / "t.npy"
    r = subprocess.run([sys.executable, "-m", "playground", "target", "two_moons", "--n", "10", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert mode(out) == 0o644
