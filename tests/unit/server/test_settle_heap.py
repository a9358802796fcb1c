"""The serving process settles its heap before it serves (``run.settle_heap``)."""

from __future__ import annotations

import gc
import weakref

from warden.server.run import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_garbage_is_collected_and_the_rest_frozen_out_of_every_generation() -> None:
    gc.disable()  # no automatic pass: only settle_heap's own collection may free the cycle
    try:
        garbage = _Node()
        freed = weakref.ref(garbage)
        del garbage
        kept = _Node()
        settle_heap()
        assert freed() is None  # collected first, not frozen
        # What was alive is frozen: no generation holds it, so a full pass no longer walks it.
        assert all(o is not kept for o in gc.get_objects())
        assert all(gc.get_objects(generation=g) == [] for g in (1, 2))
    finally:
        gc.unfreeze()
        gc.enable()
