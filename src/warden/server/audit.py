"""The audit trail: one record per API call, allowed, denied or failed.

Records are written by one background thread in batches (group commit): a batch
lingers up to 50 ms for company and commits in one transaction, so the server
pays one fsync per batch, not per call, and every record is durable within
milliseconds of its call.
``flush`` blocks until everything accepted so far is committed (LookupEvents
calls it so a caller reads its own calls back; shutdown calls it so nothing
accepted is lost on SIGTERM). The queue is bounded: when the store cannot keep
up, callers wait rather than records being dropped.

Request parameters arrive already redacted from the model's ``sensitive``
flags; nothing here ever sees a secret value. The same thread keeps each access
key's last-used time, region and service current (GetAccessKeyLastUsed).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from warden.store.db import Store
from warden.store.prepared import Prepared
from warden.store.schema import access_keys, audit_events, audit_resources

log = logging.getLogger("warden.audit")

_EVENT_COLUMNS = (
    "event_id", "event_time", "request_id", "account_id", "region", "event_source",
    "event_name", "read_only", "principal_arn", "principal_type", "user_name", "access_key_id",
    "source_ip", "user_agent", "resource_arns", "resource_types", "decision", "error_code",
    "error_message", "request_parameters",
)  # fmt: skip
_INSERT_EVENTS = Prepared(sa.insert(audit_events), columns=_EVENT_COLUMNS)
_INSERT_RESOURCES = Prepared(
    sa.insert(audit_resources), columns=("event_id", "resource_name", "resource_type")
)
_KEY_USED = Prepared(
    sa.update(access_keys)
    .where(access_keys.c.access_key_id == sa.bindparam("akid"))
    .values(
        last_used_at=sa.bindparam("at", type_=access_keys.c.last_used_at.type),
        last_used_service=sa.bindparam("service"),
        last_used_region=sa.bindparam("region"),
    )
)

_BATCH = 512
_PUT_TIMEOUT = 10.0
_LINGER = 0.05  # seconds a batch may wait for company before it commits


@dataclass(frozen=True, slots=True)
class AuditRecord:
    event_id: str
    event_time: datetime
    request_id: str
    account_id: str
    region: str
    event_source: str
    event_name: str
    read_only: bool
    principal_arn: str
    principal_type: str
    user_name: str
    access_key_id: str
    source_ip: str
    user_agent: str
    resource_arns: tuple[str, ...]
    resource_types: tuple[str, ...]
    decision: str
    error_code: str
    error_message: str
    request_parameters: dict[str, Any] | None
    key_used: bool = False  # the access key authenticated: update its last-used record


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


class AuditWriter:
    def __init__(self, store: Store, *, capacity: int = 50_000) -> None:
        self._store = store
        self._capacity = capacity
        self._queue: queue.Queue[AuditRecord | _Flush | None] = queue.Queue(capacity)
        self._hurry = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._failed = False
        self._thread.start()

    def record(self, rec: AuditRecord) -> None:
        try:
            self._queue.put(rec, timeout=_PUT_TIMEOUT)
            if self._queue.qsize() >= _BATCH:
                self._hurry.set()
        except queue.Full:
            # The writer cannot keep up or is stuck: say so; the pipeline then refuses calls.
            self._failed = True
            log.error("audit queue full for %.0f s; refusing calls until it drains", _PUT_TIMEOUT)

    def flush(self, timeout: float = 30.0) -> None:
        marker = _Flush()
        self._queue.put(marker)
        self._hurry.set()
        marker.done.wait(timeout)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._hurry.set()
        self._thread.join(timeout=30)

    def has_room(self) -> bool:
        """Whether a record can be queued without waiting (the queue is under half full)."""
        return self._queue.qsize() < self._capacity // 2

    @property
    def healthy(self) -> bool:
        return not self._failed and self._thread.is_alive()

    def _run(self) -> None:
        stop = False
        while not stop:
            items = [self._queue.get()]
            if isinstance(items[0], AuditRecord):
                # Linger for company (one commit, one fsync, per batch) without waking for
                # each record that arrives: a flush, close or full batch cuts it short.
                self._hurry.wait(_LINGER)
            self._hurry.clear()
            while len(items) < _BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not self._queue.empty():
                self._hurry.set()  # more than a batch waits: no lingering for the next one
            batch = [item for item in items if isinstance(item, AuditRecord)]
            markers = [item for item in items if isinstance(item, _Flush)]
            stop = None in items  # close() queues None after its flush: nothing follows it
            try:
                if batch:
                    self._write(batch, stopping=stop)
            except Exception:
                # Never let the writer thread die: a dead writer would hang every caller.
                log.exception("audit writer failed on a batch of %d", len(batch))
                self._failed = True
            finally:
                for m in markers:
                    m.done.set()

    def _write(self, batch: Sequence[AuditRecord], *, stopping: bool = False) -> None:
        events = [_row(r) for r in batch]
        resources = [
            {"event_id": r.event_id, "resource_name": arn, "resource_type": rtype}
            for r in batch
            # A call may name one resource twice (BatchGetSecretValue): index it once.
            for arn, rtype in dict.fromkeys(zip(r.resource_arns, r.resource_types, strict=False))
        ]
        used: dict[str, AuditRecord] = {}
        for r in batch:
            if r.key_used and r.access_key_id and not r.access_key_id.startswith("ASIA"):
                used[r.access_key_id] = r
        attempt = 0
        while True:
            try:
                with self._store.begin() as conn:
                    _INSERT_EVENTS.run_many(conn, events)
                    _INSERT_RESOURCES.run_many(conn, resources)
                    for akid, r in used.items():
                        _KEY_USED.run(
                            conn,
                            akid=akid,
                            at=r.event_time,
                            service=r.event_source.split(".")[0],
                            region=r.region,
                        )
                self._failed = False
                return
            except sa.exc.IntegrityError:
                # The data, not the store, is at fault: retrying would block every caller
                # on one hostile request. Write what can be written, record by record.
                log.exception("audit batch of %d refused; writing it record by record", len(batch))
                self._write_each(batch)
                return
            except sa.exc.SQLAlchemyError:
                attempt += 1
                log.exception("audit batch of %d failed (attempt %d)", len(batch), attempt)
                # Records are not dropped: the pipeline refuses calls while this batch waits,
                # and the batch is retried until the store takes it (or the server stops).
                self._failed = True
                if stopping and attempt >= 3:
                    log.error("dropping %d audit records at shutdown", len(batch))
                    return
                time.sleep(min(5.0, 0.2 * attempt))

    def _write_each(self, batch: Sequence[AuditRecord]) -> None:
        for r in batch:
            try:
                with self._store.begin() as conn:
                    _INSERT_EVENTS.run_many(conn, [_row(r)])
            except sa.exc.IntegrityError:
                log.error("audit record %s refused by the store; skipped", r.event_id)
        self._failed = False


def _row(r: AuditRecord) -> dict[str, Any]:
    return {
        "event_id": r.event_id,
        "event_time": r.event_time,
        "request_id": r.request_id,
        "account_id": r.account_id,
        "region": r.region,
        "event_source": r.event_source,
        "event_name": r.event_name,
        "read_only": r.read_only,
        "principal_arn": r.principal_arn,
        "principal_type": r.principal_type,
        "user_name": r.user_name,
        "access_key_id": r.access_key_id,
        "source_ip": r.source_ip,
        "user_agent": r.user_agent,
        "resource_arns": list(r.resource_arns),
        "resource_types": list(r.resource_types),
        "decision": r.decision,
        "error_code": r.error_code,
        "error_message": r.error_message,
        "request_parameters": r.request_parameters,
    }
