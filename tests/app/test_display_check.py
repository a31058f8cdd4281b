"""`gui` without a usable display: one line naming what is missing and exit 2, before Qt can abort."""
import os
import subprocess
import sys

import pytest

from playground.app.shell.launch import NO_DISPLAY, apt_package, display_problem, missing_libraries

LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
"""


def test_no_display_ends_in_one_line_and_exit_2_instead_of_a_qt_abort():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    for argv in (["gui"], []):        # no arguments opens the window too
        r = subprocess.run([sys.executable, "-m", "playground", *argv], env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().splitlines() == [f"error: {NO_DISPLAY}"]
        assert r.stdout == ""


@pytest.mark.parametrize("env", [{"QT_QPA_PLATFORM": "offscreen"}, {"QT_QPA_PLATFORM": "minimal"},
                                 {"QT_QPA_PLATFORM": "xcb;offscreen"}])
def test_platforms_without_a_display_server_need_nothing(env):
    assert display_problem(env, "linux") is None


def test_a_display_server_platform_without_its_server_is_named():
    assert display_problem({}, "linux") == NO_DISPLAY
    assert display_problem({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux") == NO_DISPLAY
    assert display_problem({"QT_QPA_PLATFORM": "wayland"}, "linux") == NO_DISPLAY
    assert display_problem({}, "darwin") is None and display_problem({}, "win32") is None


def test_an_x_display_that_is_not_there_is_a_problem_not_an_abort():
    problem = display_problem({"DISPLAY": ":987", "QT_QPA_PLATFORM": "xcb"}, "linux")
    # missing xcb libraries on a bare machine (named with their apt packages), else the failed connection
    assert problem is not None and "\n" not in problem
    assert ("apt-get install libxcb" in problem) or ("cannot connect to the xcb display ':987'" in problem), problem


def test_missing_libraries_come_from_ldd_and_map_to_debian_packages():
    assert missing_libraries("libqxcb.so", LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert missing_libraries("libqxcb.so", "\tlibc.so.6 => /lib/libc.so.6 (0x7f)\n") == []
    assert [apt_package(s) for s in ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1",
                                     "libxkbcommon-x11.so.0", "libX11-xcb.so.1", "libwayland-cursor.so.0")] == [
        "libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0", "libx11-xcb1",
        "libwayland-cursor0"]
