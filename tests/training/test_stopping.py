"""SIGTERM / Ctrl-C stop a training run cleanly, at a step that resumes exactly."""

import os
import signal
import subprocess
import sys
import threading
import time

import torch

from specfm.training import MaskedTokenObjective, ObjectiveConfig, StopRequest
from specfm.training.checkpoint import checkpoint_step

from ..model.toy import toy_dataset
from .test_command_and_distributed import CONFIG
from .test_resume_point import _trainer


def test_the_first_signal_is_recorded_and_the_second_acts_as_before():
    seen = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:
        with StopRequest([signal.SIGUSR1, signal.SIGUSR2]) as stop:
            assert stop.requested is None and stop.name is None
            os.kill(os.getpid(), signal.SIGUSR1)
            assert stop.requested == signal.SIGUSR1 and stop.name == "SIGUSR1"
            assert seen == []  # caught, not passed on
            os.kill(os.getpid(), signal.SIGUSR1)  # the handler before it is back
            assert seen == [signal.SIGUSR1]
            assert stop.requested == signal.SIGUSR1
        # every handler it installed is gone once the block ends
        assert signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_handlers_are_put_back_when_no_signal_came():
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest([signal.SIGTERM]):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_nothing_is_caught_without_signals_or_off_the_main_thread():
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest() as stop:
        assert signal.getsignal(signal.SIGTERM) is before
    assert stop.requested is None
    inside = []

    def worker():
        with StopRequest([signal.SIGTERM]):
            inside.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert inside == [before]


class _SignalAtStep(MaskedTokenObjective):
    """The objective, sending a signal to this process during training step ``at``."""

    def __init__(self, at, signum):
        super().__init__(ObjectiveConfig(n_flux_queries=3))
        self.at, self.signum, self.calls = at, signum, 0

    def __call__(self, network, batch, generator):
        if network.training:
            self.calls += 1
            if self.calls == self.at:
                os.kill(os.getpid(), self.signum)
        return super().__call__(network, batch, generator)


def test_a_signal_stops_the_trainer_with_a_resume_point_that_resumes_exactly(tmp_path):
    full = _trainer(tmp_path / "a")
    full.fit()
    part = _trainer(tmp_path / "b")
    part.objective = _SignalAtStep(5, signal.SIGTERM)
    before = signal.getsignal(signal.SIGTERM)
    result = part.fit(stop_signals=(signal.SIGTERM, signal.SIGINT))
    assert result.interrupted and result.stop_reason == "SIGTERM" and result.steps == 5
    assert signal.getsignal(signal.SIGTERM) is before
    # step 5 is not a checkpoint step (every 3): one is written there, and the resume point
    assert checkpoint_step(tmp_path / "b" / "repo" / "resume") == 5
    again = _trainer(tmp_path / "b")
    again.load_checkpoint(tmp_path / "b" / "repo" / "resume")
    assert again.fit().steps == 10
    for (name, a), b in zip(full.network.state_dict().items(),
                            again.network.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_without_stop_signals_the_trainer_leaves_signals_alone(tmp_path):
    part = _trainer(tmp_path)
    part.objective = _SignalAtStep(2, signal.SIGUSR1)
    got = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: got.append(signum))
    try:
        result = part.fit()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert got == [signal.SIGUSR1]
    assert not result.interrupted and result.stop_reason is None and result.steps == 10


def test_sigterm_stops_specfm_train_with_a_resume_point(tmp_path):
    toy_dataset(24, n_pix=12).save(tmp_path / "train.safetensors")
    config = tmp_path / "run.toml"
    # far more steps than the test waits for; checkpoints every 2 steps show it is going
    config.write_text(CONFIG.replace("epochs = 2", "max_steps = 1000000")
                      + 'resume_point = "resume"\n')
    proc = subprocess.Popen([sys.executable, "-m", "specfm.cli.train", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "resume" / "state.json").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run wrote no checkpoint in 120 s"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "specfm train: stopped by SIGTERM at step " in out, out
    step = int(out.split("at step ")[1].split(";")[0])
    assert 2 <= step < 1000000
    assert checkpoint_step(tmp_path / "resume") == step
    assert not (tmp_path / "model").exists()  # an unfinished run writes no model
