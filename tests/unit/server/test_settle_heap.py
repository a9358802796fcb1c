"""The serving process settles its heap before it serves (``run.settle_heap``)."""

from __future__ import annotations

import gc
import weakref

from warden.server.run import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_garbage_is_collected_and_the_rest_frozen_out_of_every_generation() -> None:
    garbage = _Node()
    freed = weakref.ref(garbage)
    del garbage
    kept = [_Node() for _ in range(100)]
    try:
        settle_heap()
        assert freed() is None  # collected first, not frozen
        assert gc.get_freeze_count() >= len(kept)
        # A full pass now walks nothing that was alive when it settled.
        assert all(gc.get_objects(generation=g) == [] for g in (1, 2))
    finally:
        gc.unfreeze()
