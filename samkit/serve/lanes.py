"""`ModelLock`: the service's one model lock, with two lanes so that clicks do not wait for a
whole automatic-mask run.

- **Interactive lane** (uploads and clicks: one encoder or decoder pass each): ``with lock:``.
  Interactive callers are served first come, first served (a ticket queue).
- **Generate lane** (``/generate``): ``with lock.generate() as handoff:``. One generate at a time
  is admitted to the lane (others queue for it, holding nothing); it takes the model once every
  interactive caller already waiting has been served. While it runs, it calls ``handoff()``
  between its chunks of model work (`samkit.models.grid_generator.between_batches`); when an
  interactive caller is waiting, ``handoff`` gives the model to every interactive caller that is
  waiting at that moment, waits until each of them has had its turn, and takes the model back
  before any interactive caller that arrived later. A click therefore waits for at most the
  chunk in progress (one decoder batch of ``points_per_batch`` points, or one crop's encoder
  pass) plus the clicks queued before it, and a generate keeps moving under a steady stream of
  clicks: each handoff lets through a bounded set of them.

A bare ``release(); acquire()`` between chunks would not do this: a released ``threading.Lock``
is often re-acquired by the thread that released it before a waiter wakes. Here the handoff
waits on a condition until the waiters have actually run.

Only the model is guarded: whoever holds the lock is the one thread running model code.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["ModelLock"]


class ModelLock:
    """The model lock of `SegmentationService` (see the module docstring).

    ``with lock:`` takes the interactive lane; ``with lock.generate() as handoff:`` the generate
    lane. ``locked()`` is True while any thread holds the model (as ``threading.Lock.locked``).
    Counters: ``handoffs`` (times a generate gave the model to waiting interactive callers).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held = False
        self._issued = 0  # interactive tickets handed out
        self._served = 0  # interactive tickets granted (tickets are granted in order)
        self._abandoned: set[int] = set()  # tickets whose waiter left without the model
        #: while a generate waits to take or take back the model: interactive tickets below this go first
        self._generate_until: int | None = None
        self._generate_lane = threading.Lock()  # one generate at a time in the lane
        self.handoffs = 0

    # ------------------------------------------------------------------ state
    def locked(self) -> bool:
        """True while a thread holds the model."""
        with self._cond:
            return self._held

    def interactive_waiting(self) -> int:
        """Interactive callers waiting for the model now."""
        with self._cond:
            return self._issued - self._served - len(self._abandoned)

    def wait_for_interactive(self, count: int = 1, timeout: float | None = None) -> bool:
        """Block until at least ``count`` interactive callers wait for the model (for tests and
        benchmarks that order events without sleeping); False on ``timeout`` (seconds)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._issued - self._served - len(self._abandoned) >= count, timeout)

    # ------------------------------------------------------------------ interactive lane
    def acquire(self) -> bool:
        """Take the model on the interactive lane (blocks; first come, first served)."""
        with self._cond:
            ticket = self._issued
            self._issued += 1
            self._cond.notify_all()  # `wait_for_interactive` and a generate's handoff watch the queue
            try:
                while not self._may_take(ticket):
                    self._cond.wait()
            except BaseException:  # interrupted while waiting: let the next ticket through
                self._abandoned.add(ticket)
                self._skip_abandoned()
                self._cond.notify_all()
                raise
            self._held = True
            self._served += 1
            self._skip_abandoned()
            return True

    def _may_take(self, ticket: int) -> bool:
        if self._held or ticket != self._served:
            return False
        return self._generate_until is None or ticket < self._generate_until

    def _skip_abandoned(self) -> None:
        while self._served in self._abandoned:
            self._abandoned.discard(self._served)
            self._served += 1

    def release(self) -> None:
        """Give the model back (either lane)."""
        with self._cond:
            if not self._held:
                raise RuntimeError("release of an unheld ModelLock")
            self._held = False
            self._cond.notify_all()

    def __enter__(self) -> ModelLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    # ------------------------------------------------------------------ generate lane
    def _take_for_generate(self) -> None:
        """Take the model once every interactive caller waiting now has been served."""
        with self._cond:
            self._generate_until = self._issued
            try:
                self._cond.wait_for(lambda: not self._held and self._served >= self._generate_until)
                self._held = True
            finally:
                self._generate_until = None
                self._cond.notify_all()

    @contextlib.contextmanager
    def generate(self) -> Iterator[Callable[[], bool]]:
        """Hold the model for a generate; yields ``handoff()``, to call between chunks of model
        work: if interactive callers are waiting, it lets each of them run once, then takes the
        model back (before any interactive caller that arrives meanwhile) and returns True."""
        with self._generate_lane:
            self._take_for_generate()
            holding = [True]

            def handoff() -> bool:
                return self._handoff(holding)

            try:
                yield handoff
            finally:
                if holding[0]:
                    self.release()

    def _handoff(self, holding: list[bool]) -> bool:
        with self._cond:
            if not holding[0] or self._issued - self._served - len(self._abandoned) == 0:
                return False
            self.handoffs += 1
            self._held, holding[0] = False, False
            self._generate_until = self._issued
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: not self._held and self._served >= self._generate_until)
                self._held, holding[0] = True, True
            finally:
                self._generate_until = None
                self._cond.notify_all()
            return True
