"""Stop a training run cleanly when the process is asked to end (SIGTERM, Ctrl-C).

Batch schedulers (SLURM, PBS, Kubernetes) send SIGTERM some time before they kill a job,
and a person stops a run with Ctrl-C. `StopRequest` turns the first such signal into a
request that `~specfm.training.Trainer.fit` reads after each step: it then writes a
checkpoint (and the resume point) at that step and returns, so that ``specfm train
--resume`` continues exactly from there. The first signal also puts the previous handlers
back, so a second one acts as it would have without specfm (Ctrl-C twice still
interrupts at once).
"""

import signal
import threading

__all__ = ["StopRequest"]


class StopRequest:
    """Context manager that records the first of some signals instead of acting on it.

    Parameters
    ----------
    signals : sequence of int
        Signal numbers to catch, e.g. ``(signal.SIGTERM, signal.SIGINT)``. Empty: catch
        nothing (``requested`` stays None). Handlers can only be installed from the main
        thread; elsewhere nothing is caught either.

    Attributes
    ----------
    requested : int or None
        The number of the first signal received, or None.

    Examples
    --------
    >>> import os, signal
    >>> from specfm.training import StopRequest
    >>> with StopRequest([signal.SIGTERM]) as stop:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    ...     stop.name
    'SIGTERM'

    """

    def __init__(self, signals=()):
        self.signals = tuple(int(s) for s in signals)
        self.requested = None
        self._previous = {}

    @property
    def name(self):
        """Name of the signal received (e.g. ``"SIGTERM"``), or None."""
        return None if self.requested is None else signal.Signals(self.requested).name

    def _handle(self, signum, frame):
        if self.requested is None:
            self.requested = signum
        self._restore()

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def __enter__(self):
        if self.signals and threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        self._restore()
        return False
