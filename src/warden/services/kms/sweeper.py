"""The KMS sweeper: rotates keys whose automatic rotation is due and deletes keys
whose deletion window has passed. Runs as a background worker."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from warden.core.clock import Clock

log = logging.getLogger("warden.kms")


class _Sweepable(Protocol):
    def rotate_due(self, now: datetime) -> list[str]: ...

    def delete_due(self, now: datetime) -> list[str]: ...


class KmsSweeper:
    name = "kms-sweeper"

    def __init__(self, kms: _Sweepable, clock: Clock) -> None:
        self._kms = kms
        self._clock = clock

    def tick(self) -> bool:
        now = self._clock.now()
        rotated = self._kms.rotate_due(now)
        deleted = self._kms.delete_due(now)
        for key in rotated:
            log.info("rotated KMS key %s (automatic rotation)", key)
        for key in deleted:
            log.info("deleted KMS key %s (its deletion window ended)", key)
        # Each call handles everything due now; nothing more until the next sweep.
        return False
