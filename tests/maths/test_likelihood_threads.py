"""The exact divergence uses forward-mode AD, whose levels torch keeps process-wide: the Likelihood
tab and the learned p_t backdrop compute it in two threads at once, and neither may break the other."""
import threading

import torch

from playground.formats.presets import load_preset
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths.likelihood import divergence_and_drift


def test_two_threads_computing_the_divergence_at_once_both_succeed():
    source = Trainer(load_preset("two_moons").target, TrainConfig(seed=0)).source()
    y = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    want = divergence_and_drift(source, y, 0.5)[1]
    errors, done = [], []

    def work():
        try:
            for _ in range(150):
                torch.testing.assert_close(divergence_and_drift(source, y, 0.5)[1], want)
            done.append(1)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(repr(exc))
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(done) == 2, errors[:1]
