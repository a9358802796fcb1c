from __future__ import annotations

import threading

import pytest

from warden.server.workers import Scheduled, Workers


class _Counting:
    name = "counting"

    def __init__(self, busy_for: int, fail_on: int = -1) -> None:
        self.ticks = 0
        self.busy_for = busy_for
        self.fail_on = fail_on
        self.done = threading.Event()

    def tick(self) -> bool:
        self.ticks += 1
        if self.ticks == self.fail_on:
            raise RuntimeError("boom")
        if self.ticks >= self.busy_for:
            self.done.set()
            return False
        return True


def test_busy_worker_ticks_again_and_a_failing_tick_does_not_stop_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = _Counting(busy_for=5, fail_on=2)
    workers = Workers([Scheduled(worker, idle_seconds=0.01)])
    workers.start()
    assert worker.done.wait(10)
    workers.stop()
    assert worker.ticks >= 5
    assert any("failed a tick" in r.message for r in caplog.records)


def test_stop_ends_an_idle_worker() -> None:
    worker = _Counting(busy_for=0)
    workers = Workers([Scheduled(worker, idle_seconds=3600)])
    workers.start()
    assert worker.done.wait(10)
    workers.stop(timeout=10)
    assert not any(t.name == "worker-counting" for t in threading.enumerate())


class _Signalling:
    name = "signalling"

    def __init__(self) -> None:
        self.ticked = threading.Semaphore(0)

    def tick(self) -> bool:
        self.ticked.release()
        return False


def test_a_wake_ends_the_idle_wait_at_once() -> None:
    worker = _Signalling()
    scheduled = Scheduled(worker, idle_seconds=3600)
    workers = Workers([scheduled])
    workers.start()
    try:
        assert worker.ticked.acquire(timeout=10)  # the first tick, then an hour's idle wait
        assert not worker.ticked.acquire(timeout=0.2)
        scheduled.wake.set()
        assert worker.ticked.acquire(timeout=10)
    finally:
        workers.stop(timeout=10)


def test_a_tick_that_found_work_wakes_the_workers_it_feeds() -> None:
    consumer = _Signalling()
    fed = Scheduled(consumer, idle_seconds=3600)
    producer = _Counting(busy_for=3)
    workers = Workers([fed, Scheduled(producer, idle_seconds=3600, wakes=(fed.wake,))])
    workers.start()
    try:
        assert producer.done.wait(10)
        # The consumer's first tick, then at least one more that the producer's work caused.
        assert consumer.ticked.acquire(timeout=10) and consumer.ticked.acquire(timeout=10)
    finally:
        workers.stop(timeout=10)


class _WaitingInside:
    """A worker whose tick waits on something of its own (as rotation executors wait on
    their doorbell), for an hour unless interrupted."""

    name = "waiting-inside"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def tick(self) -> bool:
        self.entered.set()
        self.release.wait(3600)
        return False


def test_stop_interrupts_a_worker_that_waits_inside_its_tick() -> None:
    worker = _WaitingInside()
    workers = Workers([Scheduled(worker, idle_seconds=3600, interrupt=worker.release.set)])
    workers.start()
    assert worker.entered.wait(10)
    workers.stop(timeout=30)
    assert worker.release.is_set()
    assert not any(t.name == "worker-waiting-inside" for t in threading.enumerate())
