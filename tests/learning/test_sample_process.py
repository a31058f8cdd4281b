"""What keeps live pictures cheap, below the window: the denoiser's one-level fast path (the same values
as per-point levels) and the sampling child process (the same samples as a run in this process, a
cancelled job's answer never returned for the next, one error when it cannot start). Moved here from
tests/app/test_live_refresh.py, which keeps the window's side."""
import numpy as np
import pytest
import torch

from playground.formats.presets import load_preset
from playground.learning.model import ModelConfig
from playground.learning.trainer import TrainConfig, Trainer


@pytest.mark.parametrize("objective", ["dsm", "fm"])
def test_one_noise_level_for_the_batch_gives_the_per_point_answer(objective):
    target = load_preset("two_moons").target
    trainer = Trainer(target, TrainConfig(seed=0, model=ModelConfig(objective=objective)))
    trainer.train(30)
    model = trainer.model.eval()
    x = torch.randn(257, 2, generator=torch.Generator().manual_seed(1)) * 2
    for level in (0.02, 0.7, 9.0):
        with torch.no_grad():
            one = model(x, level)
            per_point = model(x, torch.full((257, 1), level))
        torch.testing.assert_close(one, per_point, rtol=1e-5, atol=1e-5)


def test_the_sampling_process_gives_the_same_samples_as_a_run_in_this_process():
    """Live runs of a CPU model go to a child process (its own core and GIL): same noise, same
    network, same sampler, so the same samples; a cancelled job's late answer is never returned
    for the next job, and the process ends on close."""
    import threading

    from playground.learning.sample_process import SampleProcess
    from playground.maths.samplers.record import KEEP_LAST, RunRequest
    trainer = Trainer(load_preset("two_moons").target, TrainConfig(seed=0))
    trainer.train(30)
    source = trainer.source()

    def request(sampler, n, seed, steps, **options):
        return RunRequest(sampler, n, steps, "edm", seed, options, keep=KEEP_LAST)
    ge = request("gradient-estimation", 400, 3, 12, gamma=3.0)
    here = ge.record(source)
    process = SampleProcess()
    try:
        cancelled = threading.Event()
        cancelled.set()
        assert process.run(source.model, request("ode-heun", 400, 9, 12), cancelled) is None
        out = process.run(source.model, ge, threading.Event())
        assert np.allclose(out.samples, here.samples, atol=1e-5) and out.options == {"gamma": 3.0}
        assert out.nfe == here.nfe and out.step == here.step and out.total == 13 and len(out) == 1
        with pytest.raises(RuntimeError, match="warp"):
            process.run(source.model, request("warp-drive", 10, 0, 3), threading.Event())
        # A cancelled job whose answer (9000 particles) overflows the pipe, then a job too big for
        # one pipe buffer (a 256-wide network): the answer is drained first, so neither side blocks.
        wide = Trainer(load_preset("two_moons").target,
                       TrainConfig(seed=0, model=ModelConfig(hidden=256))).source().model
        assert process.run(wide, request("ode-euler", 9000, 0, 3), cancelled) is None
        out = process.run(wide, request("ode-euler", 9000, 1, 3), threading.Event())
        assert out.samples.shape == (9000, 2)
    finally:
        proc = process._proc
        process.close()
    assert proc is not None and proc.poll() is not None


def test_a_sampling_process_that_cannot_start_says_so_in_one_error():
    import threading

    from playground.learning.sample_process import SampleProcess
    from playground.maths.samplers.record import RunRequest
    trainer = Trainer(load_preset("two_moons").target, TrainConfig(seed=0))
    process = SampleProcess()
    process.MAX_STARTS = 0
    with pytest.raises(RuntimeError, match="sampling here instead"):
        process.run(trainer.source().model, RunRequest("ode-euler", 10, 2, "edm"), threading.Event())
    process.close()
