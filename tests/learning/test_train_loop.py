"""train_for: the one budgeted training loop (steps or seconds, cosine tail, chunks, progress records)."""
import json

import torch

import pytest

from playground import load_preset
from playground.learning.train_loop import cosine_tail
from playground.learning.trainer import TrainConfig, Trainer
from tests.helpers import run


class FakeTrainer:
    """The duck-typed interface train_for drives: step, train(k), lr_scale, events (and stalled).

    Each chunk moves a fake clock by `seconds_per_chunk`; chunks listed in `skip` skip every step."""

    def __init__(self, skip=(), seconds_per_chunk=1.0, event_at=None, stall_at=None):
        self.step, self.lr_scale, self.events, self.stalled = 0, 1.0, ["made"], False
        self.skip, self.event_at, self.stall_at, self.dt = set(skip), event_at, stall_at, seconds_per_chunk
        self.scales, self.chunks, self.now = [], [], 0.0

    def clock(self):
        return self.now

    def train(self, k=1):
        n = len(self.chunks)
        self.chunks.append(k)
        self.scales.append(self.lr_scale)
        self.now += self.dt
        if n == self.event_at:
            self.events.append(f"chunk {n}: something happened")
        if n == self.stall_at:
            self.stalled = True
        if n in self.skip:
            return []
        self.step += k
        return [float(n)] * k


def train_for(*args, **kwargs):
    from playground.learning.train_loop import train_for
    return list(train_for(*args, **kwargs))


def test_a_steps_budget_is_reached_exactly_in_chunks():
    trainer = Trainer(load_preset("two_moons").target, TrainConfig(seed=0, device="cpu", batch=64))
    records = train_for(trainer, steps=60, chunk=25)
    assert [r.step for r in records] == [25, 50, 60] and trainer.step == 60
    assert all(r.total == 60 and not r.skipped and r.loss is not None for r in records)
    assert records[-1].elapsed >= records[0].elapsed > 0


def test_exactly_one_of_steps_or_seconds():
    with pytest.raises(ValueError):
        train_for(FakeTrainer())
    with pytest.raises(ValueError):
        train_for(FakeTrainer(), steps=10, seconds=1.0)


def test_the_learning_rate_ends_on_a_cosine_tail():
    trainer = FakeTrainer()
    train_for(trainer, steps=1000, chunk=10)
    s = trainer.scales
    assert s[0] == 1.0 and all(b <= a for a, b in zip(s, s[1:])) and s[-1] < 0.06


def test_a_seconds_budget_counts_from_clock_start_and_trains_at_least_one_chunk():
    trainer = FakeTrainer()
    records = train_for(trainer, seconds=10, chunk=5, clock=trainer.clock)
    assert len(records) == 10 and records[-1].elapsed == 10 and all(r.total is None for r in records)
    assert trainer.scales == pytest.approx([cosine_tail(i / 10) for i in range(10)])
    late = FakeTrainer()
    late.now = 50.0                         # the budget was spent before training began (reflow's couplings)
    records = train_for(late, seconds=10, clock=late.clock, clock_start=0.0)
    assert len(records) == 1 and late.step == 25


def test_a_chunk_whose_steps_were_all_skipped_is_marked_and_events_come_with_their_chunk():
    trainer = FakeTrainer(skip={1}, event_at=2)
    records = train_for(trainer, steps=60, chunk=20)
    assert [r.skipped for r in records] == [False, True, False, False]
    assert records[1].loss is None and records[1].losses == [] and records[0].loss == 0.0
    assert [r.events for r in records] == [[], [], ["chunk 2: something happened"], []]
    assert trainer.step == 60


def test_a_stalled_trainer_ends_the_loop():
    trainer = FakeTrainer(stall_at=1)
    assert len(train_for(trainer, steps=1000)) == 2


def test_the_classifier_trainer_runs_in_the_same_loop():
    from playground.learning.classifier import ClassifierConfig, ClassifierTrainer
    trainer = ClassifierTrainer(load_preset("loaded_dice").target, ClassifierConfig(seed=0, device="cpu", batch=64))
    records = train_for(trainer, steps=30, chunk=20)
    assert [r.step for r in records] == [20, 30] and trainer.lr_scale == cosine_tail(20 / 30) < 1
    assert len(records[0].losses) == 20 and records[0].loss > 0


def spiky_cli(monkeypatch, skipped_calls):
    """Trainer.train skips every step on the given calls (1-based); returns the calls and the progress lines."""
    from playground.tools.cli.common import ProgressLine
    real, calls, shown = Trainer.train, [], []

    def spiky(self, k=1):
        calls.append(k)
        return [] if len(calls) in skipped_calls else real(self, k)

    monkeypatch.setattr(Trainer, "train", spiky)
    monkeypatch.setattr(ProgressLine, "show", lambda self, line: shown.append(line))
    return calls, shown


def test_train_cli_says_when_a_chunk_was_skipped(tmp_path, monkeypatch):
    calls, shown = spiky_cli(monkeypatch, {2})
    r = run("train", "two_moons", "--steps", 50, "--device", "cpu", "--out", tmp_path / "m.pt")
    assert r.returncode == 0, r.stderr
    assert len(calls) == 3 and shown[0].startswith("step 25/50  dsm loss ") and shown[2].startswith("step 50/50  dsm")
    assert shown[1].startswith("step 25/50  all steps skipped (loss spike)  ") and shown[1].endswith(" steps/s  cpu")


def test_reflow_cli_survives_a_chunk_whose_steps_were_all_skipped(tmp_path, monkeypatch):
    """`reflow --seconds 90` once ended in "unexpected TypeError": a loss-spike chunk had no loss to print."""
    assert run("train", "two_moons", "--steps", 10, "--out", tmp_path / "base.pt").returncode == 0
    calls, shown = spiky_cli(monkeypatch, {1, 3})
    r = run("reflow", "two_moons", "--model", tmp_path / "base.pt", "--out", tmp_path / "r.pt", "--steps", 30,
            "--pairs", 200, "--ode-steps", 3)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["steps"] == 30 and len(calls) == 4
    train_lines = [line for line in shown if line.startswith("reflow step")]
    assert train_lines[0] == "reflow step 0/30  all steps skipped (loss spike)", train_lines
    assert train_lines[1].startswith("reflow step 25/30  fm loss ") and len(train_lines) == 4


def test_a_power_ema_averages_the_end_of_a_run_whatever_its_length():
    """ema_power: the EMA weights are an average of the last ~1/(power + 1) of the steps, never the start."""
    trainer = Trainer(load_preset("loaded_dice").target, TrainConfig(ema_power=8.0, batch=64, seed=0, device="cpu"))
    flat = lambda ps: torch.cat([p.detach().flatten() for p in ps])
    raw = []
    for _ in range(200):
        trainer.train(1)
        raw.append(flat(trainer.model.parameters()))
    ema = flat(trainer.ema_model.parameters())
    late, early = torch.stack(raw[-25:]).mean(0), torch.stack(raw[:100]).mean(0)
    assert float((ema - late).norm()) < 0.25 * float((ema - early).norm())
    assert float((ema - raw[-1]).norm()) > 0        # an average of the last steps, not a copy of the last
