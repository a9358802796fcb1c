"""Ids: request ids are version-4 UUIDs and audit event ids version-7 UUIDs of their time, in
canonical text; ``uuid_text`` is ``str(UUID)``."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

from warden.core.ids import RandomIds, uuid_text


def test_uuid_text_is_the_canonical_form() -> None:
    samples = [bytes(16), b"\xff" * 16, *(os.urandom(16) for _ in range(500))]
    for raw in samples:
        assert uuid_text(raw) == str(uuid.UUID(bytes=raw))


def test_request_ids_are_distinct_version_4_uuids() -> None:
    ids = RandomIds()
    seen = [ids.request_id() for _ in range(2000)]
    assert len(set(seen)) == len(seen)
    for text in seen:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_event_ids_are_version_7_uuids_of_their_time() -> None:
    ids = RandomIds()
    start = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
    times = [start + timedelta(milliseconds=3 * i) for i in range(2000)]
    seen = [ids.event_id(at) for at in times]
    assert len(set(seen)) == len(seen)
    start_ms = 1_795_885_200_000  # 2026-11-28T17:00:00Z
    for i, text in enumerate(seen):
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert parsed.int >> 80 == start_ms + 3 * i  # RFC 9562: unix_ts_ms
    # Ids of later milliseconds sort after earlier ones, as text too (what the index sees).
    assert seen == sorted(seen)
    # Within one millisecond the rest is random.
    same = {ids.event_id(start) for _ in range(200)}
    assert len(same) == 200
