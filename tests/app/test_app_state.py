"""The app's data model without a window (as napari tests its layers without Qt widgets):
Settings round trip and validation, and AppState's signals."""
from __future__ import annotations

import json

import numpy as np
import pytest

from playground import load_preset
from playground.formats.session import SessionError, check_settings
from playground.formats.settings import FIELDS, Settings, SettingsError, known
from playground.learning.loss_history import LossHistory, ema, for_plot

pytest.importorskip("PySide6")
from playground.app.core.state import AppState  # noqa: E402


# ----- Settings -------------------------------------------------------------------------------------
def test_settings_json_round_trip_keeps_every_field():
    s = Settings(sampler="ddim", steps=12, seed=7, lr=0.002, density=True, device="cpu", hidden=32)
    text = json.dumps(s.to_json())
    back = Settings.from_json(json.loads(text))
    assert back == s
    assert set(s.to_json()) == set(FIELDS)


def test_missing_keys_keep_the_base_and_unknown_keys_are_ignored():
    base = Settings(steps=33, particles=500)
    s = Settings.from_json({"sampler": "ddpm", "from_a_newer_version": 1}, base=base)
    assert (s.sampler, s.steps, s.particles) == ("ddpm", 33, 500)


@pytest.mark.parametrize("key,value", [
    ("seed", 2**40), ("seed", -1), ("steps", 0), ("steps", 1.5), ("particles", True), ("lr", float("nan")),
    ("lr", 1e9), ("device", "tpu:7"), ("sampler", "no-such"), ("density", 1), ("hidden", 20_000)])
def test_a_value_outside_the_controls_range_is_refused_naming_the_setting(key, value):
    with pytest.raises(SettingsError) as err:
        Settings().with_(**{key: value})
    assert err.value.key == key and f"settings.{key}" in str(err.value)
    with pytest.raises(SessionError, match=f"settings.{key}"):
        check_settings({key: value})


def test_ranges_are_the_widgets_ranges():
    from PySide6.QtWidgets import QApplication
    QApplication.instance() or QApplication([])
    from playground.app.widgets.controls import ControlsPanel
    c = ControlsPanel()
    for key in ("hidden", "batch", "steps", "particles", "seed", "speed"):
        spin = getattr(c, key)
        assert (spin.minimum(), spin.maximum()) == (FIELDS[key].lo, FIELDS[key].hi), key
    defaults = Settings()
    assert c.steps.value() == defaults.steps and c.sampler.currentData() == defaults.sampler


def test_known_keeps_only_settings():
    assert known({"steps": 3, "other": 1}) == {"steps": 3}


# ----- loss history (the maths the loss plot draws) -------------------------------------------------
def test_ema_in_chunks_equals_ema_at_once_and_matches_the_definition():
    rng = np.random.default_rng(0)
    y = rng.uniform(0.5, 2.0, 1234)
    y[[5, 600]] = np.nan
    whole, _ = ema(y, 0.98)
    a, carry = ema(y[:700], 0.98)
    b, _ = ema(y[700:], 0.98, carry)
    assert np.allclose(np.concatenate([a, b]), whole)
    num = den = 0.0                     # s_k = sum d^(k-j)(1-d) y_j / sum d^(k-j)(1-d), NaNs skipped
    for v in y[:50]:
        if np.isfinite(v):
            num, den = 0.98 * num + 0.02 * v, 0.98 * den + 0.02
        else:
            num, den = 0.98 * num, 0.98 * den
    assert whole[49] == pytest.approx(num / den, rel=1e-9)


def test_loss_history_buffers_then_folds_in():
    h = LossHistory()
    h.append([1.0, 2.0])
    h.append([np.nan, 4.0])
    assert len(h) == 4 and h.last == 4.0          # the latest chunk's finite mean
    assert np.array_equal(h.all()[[0, 1, 3]], [1.0, 2.0, 4.0])
    assert len(h.values()) == 4 and len(h.smoothed()) == 4
    h.reset()
    assert len(h) == 0 and np.isnan(h.last)


def test_loss_history_grows_in_chunks_to_what_one_pass_gives():
    """Thousands of chunks: the record is every loss in order, the smoothed curve the one-pass EMA,
    and the store stays float32 with at most double capacity (8 bytes a step, not a Python list)."""
    rng = np.random.default_rng(0)
    chunks = [rng.exponential(size=int(k)).astype(np.float32) for k in rng.integers(1, 60, size=3000)]
    h = LossHistory()
    for i, c in enumerate(chunks):
        h.append(c)
        if i % 7 == 0:
            h.flush()
    everything = np.concatenate(chunks)
    assert np.array_equal(h.all(), everything) and np.array_equal(h.values(), everything)
    assert np.allclose(h.smoothed(), ema(everything.astype(np.float64), h.decay)[0], rtol=1e-5)
    assert h.values().dtype == np.float32 and h.smoothed().dtype == np.float32
    assert h.values().base.nbytes <= 2 * everything.nbytes + 4096


def test_a_long_loss_curve_reaches_the_plot_as_block_means_of_steps():
    y = np.arange(1, 11, dtype=np.float32)
    x, v = for_plot(y, max_points=20)                      # short: every step as it is
    assert np.array_equal(x, np.arange(1, 11)) and v is y
    y[4:8] = np.nan                                        # steps 5-8: a gap
    x, v = for_plot(y, max_points=3)                       # blocks of 4 steps: 1-4, 5-8, 9-10
    assert np.array_equal(x, [2.5, 6.5, 9.5])
    assert np.isclose(v[0], 24 ** 0.25) and np.isnan(v[1]) and np.isclose(v[2], 90 ** 0.5)   # geometric
    x, v = for_plot(np.ones(1_000_001, np.float32))
    assert len(x) <= 1 << 14 and x[0] >= 1 and x[-1] <= 1_000_001 and np.all(v == 1)


# ----- AppState ----------------------------------------------------------------------------------------
class Recorder:
    """Records (signal name, arguments) in the order the signals fire."""

    def __init__(self, state, *names):
        self.seen = []
        for name in names:
            getattr(state, name).connect(lambda *args, n=name: self.seen.append((n, args)))

    def names(self):
        return [n for n, _ in self.seen]


def test_setting_a_preset_clears_the_run_then_announces_the_target():
    state = AppState()
    rec = Recorder(state, "runChanged", "presetChanged", "targetChanged")
    state.run = object()
    preset = load_preset("two_moons")
    state.set_preset(preset, "two_moons")
    assert rec.names() == ["runChanged", "presetChanged", "targetChanged"]
    assert state.run is None and state.preset is preset
    assert state.view == {"xlim": [float(v) for v in preset.view["xlim"]],
                          "ylim": [float(v) for v in preset.view["ylim"]]}


def test_an_empty_preset_is_current_but_is_no_target():
    state = AppState()
    rec = Recorder(state, "targetChanged")
    empty = load_preset("blank")
    state.set_preset(empty, "blank")
    assert state.preset is empty and not state.has_target() and rec.seen == []


def test_settings_changes_say_what_changed_and_where_from():
    state = AppState()
    rec = Recorder(state, "settingsChanged")
    assert state.update_settings(steps=7) == {"steps"}
    assert state.update_settings(steps=7) == set()            # no change: no signal
    with pytest.raises(SettingsError):
        state.update_settings(steps=-3)
    assert state.settings.steps == 7 and len(rec.seen) == 1
    settings, changed, origin = rec.seen[0][1]
    assert settings.steps == 7 and changed == {"steps"} and origin == "user"


def test_new_generation_starts_losses_and_step_over():
    state = AppState()
    state.add_losses(np.ones(5, np.float32), 5, 100.0)
    rec = Recorder(state, "generationChanged")
    assert state.new_generation() == 1
    assert len(state.training.losses) == 0 and state.training.step == 0 and rec.seen


def test_a_run_is_announced_before_its_first_frame_and_the_frame_index_is_clamped():
    from playground.maths.samplers.record import Run
    state = AppState()
    source = object()
    f = Run("ddim", "edm", x=[np.zeros((3, 2))] * 4, step=[0, 1, 2, 3], alpha=[1] * 4, sigma=[1] * 4,
            level=[1] * 4, nfe=[0, 1, 2, 3], source=source)
    rec = Recorder(state, "runChanged", "frameShown")
    state.set_run(f, shown=2)
    assert rec.seen == [("runChanged", (f,)), ("frameShown", (2,))]
    assert state.run_source is source                        # the source comes with the run, never apart
    assert state.show_frame(99) == 3 and state.frame_index == 3
    state.set_run(None)
    assert state.show_frame(0) == -1 and state.run_source is None


def test_flags_and_typed_results():
    state = AppState()
    rec = Recorder(state, "flagsChanged", "qualityChanged", "reflowChanged")
    state.set_flags(conditional=True)
    state.set_flags(conditional=True)
    state.set_quality({"floor": 0.1})
    state.set_reflow(None)
    assert state.flags.conditional and state.quality["floor"] == 0.1
    assert rec.names() == ["flagsChanged", "qualityChanged", "reflowChanged"]


def test_a_restored_trainer_keeps_training_while_its_losses_wait_to_be_drawn(qtbot):
    """load_state hands the restored losses to the history, which holds them until the next refresh;
    a view onto the trainer's array('f') would pin it, and the next chunk's extend() raise BufferError."""
    import threading

    import torch

    from playground.app.core.training_worker import TrainingWorker
    from playground.learning.trainer import TrainConfig, Trainer
    target = load_preset("two_moons").target
    config = TrainConfig(seed=0, device="cpu", batch=64)
    trainer = Trainer(target, config)
    trainer.train(5)
    state = {**trainer.state_dict(), "losses": torch.tensor(trainer.losses)}
    worker, history, errors = TrainingWorker(), LossHistory(), []
    worker.lossesReady.connect(lambda losses, *rest: history.append(losses))
    worker.failed.connect(lambda *a: errors.append(a))
    worker.load_state(target, config, state, 0, threading.Event())
    assert len(history) == 5 and worker.trainer.step == 5
    worker._tick()                                   # a chunk before the history is flushed
    assert not errors and worker.trainer.step > 5 and len(worker.trainer.losses) == worker.trainer.step
