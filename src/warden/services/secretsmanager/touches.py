"""LastAccessedDate, written off the request path.

AWS keeps the date (not the time) a secret was last read, and updates it asynchronously.
Writing it inside GetSecretValue would make the busiest read a writer once a day per secret
and version, waiting for the store's write lock; instead the reads hand the update to one
background thread and return. Each (secret, version) is handed over at most once a day.

Invariants: the operations that report LastAccessedDate (DescribeSecret, ListSecrets,
ListSecretVersionIds) call ``flush`` first, so a caller reads back its own access; a failed
update is logged and retried at the next access; the date only moves forward (the store's
``touch_accessed`` never sets an earlier day).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from warden.store.db import Store

from . import repository as repo

log = logging.getLogger("warden.secretsmanager")

Touch = tuple[str, str]  # (secret ARN, version id)


class Touches:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._day: datetime | None = None
        self._handed: set[Touch] = set()  # handed over for ``self._day``
        self._pending: Future[None] | None = None
        self._writer: ThreadPoolExecutor | None = None

    def submit(self, day: datetime, touched: Sequence[Touch]) -> None:
        """Record that each (secret, version) was read on ``day`` (asynchronously)."""
        with self._lock:
            if day != self._day:
                self._day, self._handed = day, set()
            fresh = [t for t in touched if t not in self._handed]
            if not fresh:
                return
            self._handed.update(fresh)
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="sm-last-accessed")
            self._pending = self._writer.submit(self._write, day, fresh)

    def flush(self) -> None:
        """Wait until every update handed over so far is written (or has failed)."""
        with self._lock:
            pending = self._pending
        if pending is not None:
            pending.exception()  # waits; a failure was logged by _write

    def _write(self, day: datetime, touched: Sequence[Touch]) -> None:
        try:
            with self._store.begin() as conn:
                for arn, version_id in touched:
                    repo.touch_accessed(conn, arn, version_id, day)
        except Exception:
            log.warning("LastAccessedDate not recorded for %d versions", len(touched),
                        exc_info=True)  # fmt: skip
            with self._lock:
                self._handed.difference_update(touched)  # the next access tries again
