"""The window's one error path: a failure is one banner line, its traceback goes to the log file."""
import pytest

from playground.app.core import errors


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFUSION_PLAYGROUND_STATE_DIR", str(tmp_path))    # the log follows the state folder
    return tmp_path

def fail():
    raise ValueError("the rate must be\npositive")

def test_a_failure_is_one_line_for_the_banner_and_a_traceback_in_the_log(log_dir, capfd):
    shown = []
    with errors.reported("set lr", shown.append) as outcome:
        fail()
    assert shown == ["set lr: the rate must be positive"] and outcome.failed == shown[0] and not outcome
    for h in errors.LOG.handlers:
        h.flush()
    text = (log_dir / errors.LOG_NAME).read_text()
    assert "Traceback" in text and "in fail" in text and "set lr" in text
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err                  # never on the user's console

def test_a_refusal_is_its_own_sentence_and_logs_nothing(log_dir):
    shown = []
    assert errors.guarded("export", shown.append, lambda: (_ for _ in ()).throw(errors.Refusal("press Sample first")),
                          default="nothing") == "nothing"
    assert shown == ["press Sample first"]
    assert not (log_dir / errors.LOG_NAME).exists() or "Traceback" not in (log_dir / errors.LOG_NAME).read_text()

def test_a_block_that_succeeds_shows_nothing(log_dir):
    shown = []
    with errors.reported("fine", shown.append) as outcome:
        value = 3
    assert outcome and value == 3 and shown == []
    assert errors.guarded("fine", shown.append, lambda x: x + 1, 1) == 2
