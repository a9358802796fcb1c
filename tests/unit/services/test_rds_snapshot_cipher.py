"""The chunked AEAD of snapshot files: a round trip at every size that matters, and every
way a sealed stream can be altered (a flipped bit, cut, reordered, extended, re-bound to
another snapshot, opened with another key) is detected before any of its plaintext is
trusted. Small chunks keep multi-chunk streams cheap; the format is the same."""

from __future__ import annotations

import io
import secrets
import struct

import pytest

from warden.core.redacted import Redacted
from warden.services.rds.snapshot_cipher import (
    MAGIC,
    PREFIX_BYTES,
    SnapshotCorrupt,
    drain,
    opening,
    sealing,
)

CHUNK = 64
HEADER = len(MAGIC) + PREFIX_BYTES
ARN = b"arn:aws:rds:us-east-1:123456789012:cluster-snapshot:one"


def _key() -> Redacted[bytes]:
    return Redacted(secrets.token_bytes(32))


def _seal(data: bytes, key: Redacted[bytes], binding: bytes = ARN, *, writes: int = 7) -> bytes:
    out = io.BytesIO()
    with sealing(out, key, binding, secrets.token_bytes(PREFIX_BYTES), chunk=CHUNK) as sink:
        for start in range(0, len(data), writes):
            sink.write(data[start : start + writes])
    return out.getvalue()


def _open(sealed: bytes, key: Redacted[bytes], binding: bytes = ARN) -> bytes:
    stream = opening(io.BytesIO(sealed), key, binding, chunk=CHUNK)
    return stream.read()


def _chunks(sealed: bytes) -> list[bytes]:
    """The framed chunks (length prefix included) after the header."""
    out, at = [], HEADER
    while at < len(sealed):
        (length,) = struct.unpack(">I", sealed[at : at + 4])
        out.append(sealed[at : at + 4 + length])
        at += 4 + length
    return out


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 3])
def test_round_trip_at_every_boundary(size: int) -> None:
    key = _key()
    data = secrets.token_bytes(size)
    sealed = _seal(data, key)
    assert _open(sealed, key) == data
    assert size < 16 or data not in sealed
    assert len(_chunks(sealed)) == size // CHUNK + 1  # the final chunk is always there


@pytest.mark.parametrize("writes", [1, CHUNK - 1, CHUNK + 3, 3 * CHUNK])
def test_round_trip_whatever_the_writes_sizes(writes: int) -> None:
    """Writes smaller than a chunk, straddling chunks, and spanning several at once."""
    key = _key()
    data = secrets.token_bytes(4 * CHUNK + 11)
    sealed = _seal(data, key, writes=writes)
    assert _open(sealed, key) == data
    assert len(_chunks(sealed)) == 5


def test_progress_reports_plaintext_bytes() -> None:
    seen: list[int] = []
    out = io.BytesIO()
    with sealing(out, _key(), ARN, b"p" * PREFIX_BYTES, chunk=CHUNK, progress=seen.append) as s:
        s.write(b"x" * (2 * CHUNK + 5))
    assert seen == [CHUNK, 2 * CHUNK, 2 * CHUNK + 5]


def test_a_flipped_bit_anywhere_is_detected() -> None:
    key = _key()
    sealed = bytearray(_seal(secrets.token_bytes(3 * CHUNK + 10), key))
    for position in (0, HEADER - 1, HEADER + 2, HEADER + 10, len(sealed) // 2, len(sealed) - 1):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(SnapshotCorrupt):
            _open(bytes(tampered), key)


def test_a_stream_cut_at_a_chunk_boundary_is_detected() -> None:
    key = _key()
    sealed = _seal(secrets.token_bytes(3 * CHUNK + 10), key)
    chunks = _chunks(sealed)
    for kept in range(len(chunks)):
        cut = sealed[:HEADER] + b"".join(chunks[:kept])
        with pytest.raises(SnapshotCorrupt):
            _open(cut, key)


def test_a_stream_cut_inside_a_chunk_is_detected() -> None:
    key = _key()
    sealed = _seal(secrets.token_bytes(2 * CHUNK), key)
    for length in (HEADER - 1, HEADER + 2, HEADER + 30, len(sealed) - 1):
        with pytest.raises(SnapshotCorrupt):
            _open(sealed[:length], key)


def test_reordered_or_repeated_chunks_are_detected() -> None:
    key = _key()
    sealed = _seal(secrets.token_bytes(3 * CHUNK + 10), key)
    header, chunks = sealed[:HEADER], _chunks(sealed)
    swapped = [chunks[1], chunks[0], *chunks[2:]]
    repeated = [chunks[0], chunks[0], *chunks[1:]]
    for order in (swapped, repeated):
        with pytest.raises(SnapshotCorrupt):
            _open(header + b"".join(order), key)


def test_anything_appended_is_detected() -> None:
    key = _key()
    sealed = _seal(secrets.token_bytes(CHUNK + 1), key)
    other = _seal(b"more", key)
    for extra in (b"\x00", b"\x00\x00\x00\x10" + bytes(16), _chunks(other)[0]):
        with pytest.raises(SnapshotCorrupt):
            _open(sealed + extra, key)


def test_another_binding_another_key_or_another_file_do_not_open() -> None:
    key = _key()
    data = secrets.token_bytes(2 * CHUNK)
    sealed = _seal(data, key)
    with pytest.raises(SnapshotCorrupt):
        _open(sealed, key, ARN.replace(b"one", b"two"))
    with pytest.raises(SnapshotCorrupt):
        _open(sealed, _key())
    second = _seal(data, key)  # same key and plaintext, another nonce prefix
    spliced = second[:HEADER] + b"".join(_chunks(sealed))
    with pytest.raises(SnapshotCorrupt):
        _open(spliced, key)
    with pytest.raises(SnapshotCorrupt):
        _open(b"NOTASNAP" + sealed[8:], key)


def test_an_abandoned_writer_leaves_a_stream_that_never_opens() -> None:
    key = _key()
    out = io.BytesIO()
    with pytest.raises(RuntimeError), sealing(out, key, ARN, b"p" * PREFIX_BYTES, chunk=CHUNK) as s:
        s.write(b"y" * (2 * CHUNK))
        raise RuntimeError("the source failed mid-stream")
    with pytest.raises(SnapshotCorrupt):
        _open(out.getvalue(), key)


def test_drain_verifies_what_a_reader_left_unread() -> None:
    key = _key()
    sealed = _seal(secrets.token_bytes(3 * CHUNK), key)
    stream = opening(io.BytesIO(sealed[:-1]), key, ARN, chunk=CHUNK)
    assert len(stream.read(CHUNK)) == CHUNK  # the first chunk is intact
    with pytest.raises(SnapshotCorrupt):
        drain(stream)


def test_a_chunk_length_beyond_the_chunk_size_is_refused_without_reading_it() -> None:
    key = _key()
    sealed = _seal(b"abc", key)
    forged = sealed[:HEADER] + struct.pack(">I", 2**31) + sealed[HEADER + 4 :]
    with pytest.raises(SnapshotCorrupt, match="impossible length"):
        _open(forged, key)


def test_a_chunk_that_did_not_open_leaves_nothing_readable_and_the_stream_refused() -> None:
    key = _key()
    sealed = bytearray(_seal(secrets.token_bytes(3 * CHUNK), key))
    sealed[HEADER + (4 + CHUNK + 16) + 4 + 10] ^= 1  # inside the second chunk
    reader = opening(io.BytesIO(bytes(sealed)), key, ARN, chunk=CHUNK)
    assert len(reader.read(CHUNK)) == CHUNK  # the first chunk is fine
    for _ in range(2):  # and the stream stays refused: the third chunk is never served
        with pytest.raises(SnapshotCorrupt, match="chunk 1 does not authenticate"):
            reader.read(CHUNK)
