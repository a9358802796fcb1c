"""Ids: request ids are version-4 UUIDs in canonical text; ``uuid_text`` is ``str(UUID)``."""

from __future__ import annotations

import os
import uuid

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
