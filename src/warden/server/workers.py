"""Background workers: threads started and stopped with the server.

A worker is a ``tick()`` that does one bounded unit of work (claim a job and run it,
sweep due rotations, check a process) and says whether it found any. Each runs in its
own thread: after a tick that found work it ticks again at once; otherwise it waits
``idle_seconds``, until its ``wake`` event is set (a service changed what the worker
converges: RDS wakes its workers after every change it accepts) or until stopped. A
tick that found work also wakes the workers named in ``wakes`` (one's output is the
other's input: a restored volume for the reconciler to start). A tick that raises is
logged with its traceback and the loop goes on: one bad job must not stop the others.
Durable state lives in the store (the job table and its leases), so a crash at any point
resumes at the next start; stopping only waits for the current tick to finish (a worker
that waits inside its tick names an ``interrupt`` that ends the wait).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("warden.workers")


class Worker(Protocol):
    name: str

    def tick(self) -> bool:
        """Do one bounded unit of work; True if there was work (tick again at once)."""
        ...


@dataclass(frozen=True, slots=True)
class Scheduled:
    worker: Worker
    idle_seconds: float
    wake: threading.Event = field(default_factory=threading.Event)
    wakes: tuple[threading.Event, ...] = ()
    # For a worker that waits inside its tick (on something other than ``wake``): called
    # on stop to end that wait.
    interrupt: Callable[[], None] | None = None


class Workers:
    def __init__(self, scheduled: Sequence[Scheduled]) -> None:
        self._scheduled = tuple(scheduled)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for item in self._scheduled:
            thread = threading.Thread(
                target=self._loop, args=(item,), name=f"worker-{item.worker.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for item in self._scheduled:
            item.wake.set()
            if item.interrupt is not None:
                try:
                    item.interrupt()
                except Exception:  # the joins below must still run
                    log.exception("interrupting worker %s failed", item.worker.name)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _loop(self, item: Scheduled) -> None:
        while not self._stop.is_set():
            item.wake.clear()  # before the tick: a wake during it means "look again"
            try:
                busy = item.worker.tick()
            except Exception:
                log.exception("worker %s failed a tick", item.worker.name)
                busy = False
            if busy:
                for other in item.wakes:
                    other.set()
            else:
                item.wake.wait(item.idle_seconds)
