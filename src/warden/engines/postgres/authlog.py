"""Connection and authentication events from an instance's ``jsonlog`` files.

The server writes one JSON object per line (``log_destination=jsonlog``) into files named
by start time, never truncated on rotation, so a (file name, byte offset) per file is a
complete, rotation-safe cursor: new files start at 0, a file that shrank was replaced and
starts again at 0, a deleted file leaves the cursor, and a line without its newline yet
is left for the next read. Other log lines (statements, errors) are skipped: only the
records below become events.

- ``connection received: host=… port=…`` → CONNECTION_RECEIVED
- ``connection authorized: user=… database=… SSL enabled …`` (also replication) → LOGIN_SUCCEEDED
- FATAL with SQLSTATE class 28 (invalid authorization) → LOGIN_FAILED, with the reason
- ``disconnection: session time: …`` → DISCONNECTED
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..base import AuthBatch, AuthEvent, AuthEventKind, AuthFailure, LogCursor

MAX_BATCH_BYTES = 4 * 1024 * 1024
_AUTHORIZED = re.compile(r"^(?:replication )?connection authorized: user=(\S+)(?: database=(\S+))?")


def _time(text: str) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M:%S.%f %Z", "%Y-%m-%d %H:%M:%S %Z"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return datetime.fromtimestamp(0, UTC)


def _failure(record: dict[str, Any]) -> AuthFailure:
    message = str(record.get("message", ""))
    detail = str(record.get("detail", ""))
    if "does not exist" in detail and detail.startswith("Role"):
        return AuthFailure.UNKNOWN_ROLE
    if message.startswith("password authentication failed"):
        return AuthFailure.BAD_PASSWORD
    if message.startswith(("no pg_hba.conf entry", "pg_hba.conf rejects")):
        return AuthFailure.NOT_ADMITTED
    if "not permitted to log in" in message or "expired" in detail:
        return AuthFailure.CANNOT_LOGIN
    if message.startswith("role") and message.endswith("does not exist"):
        return AuthFailure.UNKNOWN_ROLE
    return AuthFailure.OTHER


def to_event(record: dict[str, Any]) -> AuthEvent | None:
    """The event a log record stands for, or None for any other record."""
    message = str(record.get("message", ""))
    port = str(record.get("remote_port", ""))
    event = AuthEvent(
        time=_time(str(record.get("timestamp", ""))),
        kind=AuthEventKind.CONNECTION_RECEIVED,
        session_id=str(record.get("session_id", "")),
        remote_host=str(record.get("remote_host", "")),
        remote_port=int(port) if port.isdigit() else None,
        user=str(record.get("user", "")),
        database=str(record.get("dbname", "")),
    )
    if message.startswith("connection received:"):
        return event
    authorized = _AUTHORIZED.match(message)
    if authorized:
        return replace(
            event,
            kind=AuthEventKind.LOGIN_SUCCEEDED,
            user=event.user or authorized.group(1),
            database=event.database or (authorized.group(2) or ""),
            ssl="SSL enabled" in message,
        )
    fatal = record.get("error_severity") == "FATAL"
    if fatal and str(record.get("state_code", "")).startswith("28"):
        return replace(
            event,
            kind=AuthEventKind.LOGIN_FAILED,
            failure=_failure(record),
            reason=message,
            ssl=("SSL encryption" in message) if "pg_hba.conf" in message else None,
        )
    if message.startswith("disconnection:"):
        return replace(event, kind=AuthEventKind.DISCONNECTED)
    return None


def _complete_lines(
    path: Path, offset: int, budget: int, may_skip: bool
) -> tuple[list[bytes], int]:
    with open(path, "rb") as fh:
        fh.seek(offset)
        chunk = fh.read(budget)
    end = chunk.rfind(b"\n")
    if end < 0:
        # A line longer than the whole budget cannot be buffered: skip past it (the rest
        # of it fails to parse on the next read and is dropped the same way).
        return [], offset + (len(chunk) if may_skip and len(chunk) >= budget else 0)
    return chunk[: end + 1].splitlines(), offset + end + 1


def _records(lines: list[bytes]) -> Iterator[dict[str, Any]]:
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn line from a crash; never fatal for the reader
        if isinstance(record, dict):
            yield record


def read(log_dir: Path, cursor: LogCursor, max_bytes: int = MAX_BATCH_BYTES) -> AuthBatch:
    """Events written since ``cursor``, oldest file first, at most ``max_bytes`` read."""
    try:
        files = sorted(p for p in log_dir.iterdir() if p.suffix == ".json")
    except FileNotFoundError:
        return AuthBatch((), LogCursor(), more=False)
    offsets: dict[str, int] = {}
    events: list[AuthEvent] = []
    budget, more = max_bytes, False
    for path in files:
        start = cursor.offset(path.name)
        size = path.stat().st_size
        if size < start:
            start = 0  # replaced by a new file of the same name
        if size - start > budget:
            more = True  # capped by the budget: the caller should read again
        if budget <= 0:
            offsets[path.name] = start
            continue
        lines, end = _complete_lines(path, start, budget, may_skip=budget == max_bytes)
        budget -= end - start
        events.extend(e for e in map(to_event, _records(lines)) if e is not None)
        offsets[path.name] = end
    return AuthBatch(tuple(events), LogCursor(tuple(sorted(offsets.items()))), more=more)


def prune(log_dir: Path, before: datetime) -> int:
    """Delete log files last written before ``before`` (the newest file always stays, so
    the server's current file is never touched); returns how many were deleted."""
    try:
        files = sorted(p for p in log_dir.iterdir() if p.suffix == ".json")
    except FileNotFoundError:
        return 0
    cutoff = before.timestamp()
    old = [p for p in files[:-1] if p.stat().st_mtime < cutoff]
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)
