"""Streaming authenticated encryption of snapshot files: AES-256-GCM, one chunk at a time.

A sealed stream is a header (``MAGIC`` and an 8-byte random nonce prefix) and then chunks,
each ``length (4 bytes, big-endian) || AESGCM(plaintext chunk)``. Every chunk but the last
holds exactly ``chunk`` plaintext bytes; the last holds the rest (possibly none) and is
always written, so an empty stream is one empty final chunk. Chunk ``i``'s nonce is the
prefix followed by ``i``; its associated data is the header, ``i``, the final flag and the
caller's binding (the snapshot's ARN). So a chunk moved to another position, another file
or another snapshot does not open; a stream cut at a chunk boundary ends in a chunk sealed
as not final, and one with anything appended has its real last chunk read as not final:
both fail. Nothing is returned from a chunk before its tag has been verified.

Memory stays at about two chunks whatever the stream's size. A writer that is abandoned
(an exception before ``finish``) never writes a final chunk, so what it wrote never opens.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from warden.core.redacted import Redacted

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

CHUNK = 1024 * 1024
MAGIC = b"WSNAP\x00\x01\x00"
PREFIX_BYTES = 8
KEY_BYTES = 32
_TAG = 16
_LENGTH = struct.Struct(">I")
_MAX_CHUNKS = 2**32

Progress = Callable[[int], None]  # called with the plaintext bytes done so far


class SnapshotCorrupt(Exception):
    """The stream is not one this key sealed for this binding: tampered, cut, reordered,
    extended, or another key's. ``str(exc)`` is safe to show."""


def _aad(header: bytes, index: int, final: bool, binding: bytes) -> bytes:
    return header + struct.pack(">QB", index, final) + binding


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= _MAX_CHUNKS:
        raise SnapshotCorrupt("the stream has more chunks than a nonce can count")
    return prefix + index.to_bytes(4, "big")


def _aead(key: Redacted[bytes]) -> AESGCM:
    material = key.reveal()
    if len(material) != KEY_BYTES:
        raise ValueError("a snapshot key is 32 bytes")
    return AESGCM(material)


class _SealingRaw(io.RawIOBase):
    """Seals in place: one plaintext and one sealed buffer, allocated once (a fresh
    megabyte per chunk costs more in page faults than AES-GCM costs to encrypt it)."""

    def __init__(
        self,
        out: BinaryIO,
        key: Redacted[bytes],
        binding: bytes,
        prefix: bytes,
        chunk: int,
        progress: Progress | None,
    ) -> None:
        if len(prefix) != PREFIX_BYTES:
            raise ValueError("the nonce prefix is 8 bytes")
        self._out, self._aead, self._binding = out, _aead(key), binding
        self._prefix, self._chunk, self._progress = prefix, chunk, progress
        self._header = MAGIC + prefix
        self._plain = bytearray(chunk)
        self._filled = 0
        self._sealed = bytearray(_LENGTH.size + chunk + _TAG)
        self._index = 0
        self._done = 0
        self._abandoned = False
        out.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data).cast("B")
        if self._abandoned:
            return len(view)
        taken = 0
        while taken < len(view):
            count = min(self._chunk - self._filled, len(view) - taken)
            self._plain[self._filled : self._filled + count] = view[taken : taken + count]
            self._filled += count
            taken += count
            if self._filled == self._chunk:
                self._emit(final=False)
        return taken

    def abandon(self) -> None:
        """Write nothing more (the stream stays invalid: no final chunk)."""
        self._abandoned = True
        self._filled = 0

    def finish(self) -> None:
        """Seal what is left as the final chunk: only now does the stream become valid."""
        self._emit(final=True)

    def _emit(self, *, final: bool) -> None:
        aad = _aad(self._header, self._index, final, self._binding)
        size = self._filled + _TAG
        sealed = memoryview(self._sealed)
        _LENGTH.pack_into(sealed, 0, size)
        self._aead.encrypt_into(
            _nonce(self._prefix, self._index),
            memoryview(self._plain)[: self._filled],
            aad,
            sealed[_LENGTH.size : _LENGTH.size + size],
        )
        self._out.write(sealed[: _LENGTH.size + size])
        self._index += 1
        self._done += self._filled
        self._filled = 0
        if self._progress is not None:
            self._progress(self._done)


@contextmanager
def sealing(
    out: BinaryIO,
    key: Redacted[bytes],
    binding: bytes,
    prefix: bytes,
    *,
    chunk: int = CHUNK,
    progress: Progress | None = None,
) -> Iterator[BinaryIO]:
    """A writable stream that seals into ``out``; completed (final chunk written) only when
    the block exits normally. ``prefix`` must be fresh random bytes for each stream."""
    raw = _SealingRaw(out, key, binding, prefix, chunk, progress)
    buffered = io.BufferedWriter(raw, buffer_size=chunk)
    try:
        yield buffered
    except BaseException:
        raw.abandon()
        raise
    buffered.flush()
    raw.finish()


class _OpeningRaw(io.RawIOBase):
    """Reads each sealed chunk, with the length of the next one, into one buffer and opens
    it into another, both allocated once (as ``_SealingRaw`` does): a fresh megabyte or two
    per chunk costs more in page faults than AES-GCM itself."""

    def __init__(
        self,
        source: BinaryIO,
        key: Redacted[bytes],
        binding: bytes,
        chunk: int,
        progress: Progress | None,
    ) -> None:
        self._source, self._aead, self._binding = source, _aead(key), binding
        self._chunk, self._progress = chunk, progress
        header = self._exactly(len(MAGIC) + PREFIX_BYTES, "header")
        if header[: len(MAGIC)] != MAGIC:
            raise SnapshotCorrupt("not a sealed snapshot stream")
        self._header, self._prefix = header, header[len(MAGIC) :]
        self._next_length = self._exactly(_LENGTH.size, "chunk length")
        self._sealed = memoryview(bytearray(chunk + _TAG + _LENGTH.size))
        self._opened = memoryview(bytearray(chunk))
        self._plain = self._opened[:0]
        self._failed: str | None = None
        self._offset = 0
        self._index = 0
        self._done = 0
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._failed is not None:
            raise SnapshotCorrupt(self._failed)
        while self._offset >= len(self._plain) and not self._ended:
            try:
                self._open_next()
            except SnapshotCorrupt as exc:
                # Nothing of a chunk that did not open stays readable, and the stream stays
                # refused: a caller that reads on gets the same error, not the next chunk.
                self._plain, self._offset = self._opened[:0], 0
                self._opened[:] = bytes(len(self._opened))
                self._failed = str(exc)
                raise
        target = memoryview(buffer).cast("B")
        count = min(len(target), len(self._plain) - self._offset)
        target[:count] = self._plain[self._offset : self._offset + count]
        self._offset += count
        return count

    def _exactly(self, size: int, what: str) -> bytes:
        data = self._source.read(size)
        if len(data) != size:
            raise SnapshotCorrupt(f"the stream is cut short (in a {what})")
        return data

    def _fill(self, view: memoryview) -> int:
        """Read into ``view`` until it is full or the source ends; the bytes read."""
        got = 0
        while got < len(view):
            n = self._source.readinto(view[got:])  # type: ignore[attr-defined]
            if not n:
                break
            got += n
        return got

    def _open_next(self) -> None:
        (length,) = _LENGTH.unpack(self._next_length)
        if not _TAG <= length <= self._chunk + _TAG:
            raise SnapshotCorrupt("a chunk has an impossible length")
        # The chunk and the next chunk's length, if there is one: none means this is the last.
        got = self._fill(self._sealed[: length + _LENGTH.size])
        if got < length:
            raise SnapshotCorrupt("the stream is cut short (in a chunk)")
        final = got == length
        if not final and got != length + _LENGTH.size:
            raise SnapshotCorrupt("the stream is cut short (in a chunk length)")
        aad = _aad(self._header, self._index, final, self._binding)
        plain = self._opened[: length - _TAG]
        try:
            self._aead.decrypt_into(
                _nonce(self._prefix, self._index), self._sealed[:length], aad, plain
            )
        except InvalidTag:
            raise SnapshotCorrupt(
                f"chunk {self._index} does not authenticate: the snapshot file was altered, "
                "cut, reordered or sealed with another key"
            ) from None
        if not final and len(plain) != self._chunk:
            raise SnapshotCorrupt("a chunk before the last is short")
        self._plain, self._offset = plain, 0
        self._next_length = b"" if final else bytes(self._sealed[length : length + _LENGTH.size])
        self._ended = final
        self._index += 1
        self._done += len(plain)
        if self._progress is not None:
            self._progress(self._done)


def opening(
    source: BinaryIO,
    key: Redacted[bytes],
    binding: bytes,
    *,
    chunk: int = CHUNK,
    progress: Progress | None = None,
) -> BinaryIO:
    """A readable stream of the plaintext of ``source``; reading raises ``SnapshotCorrupt``
    at the first chunk that does not authenticate. Only a stream read to its end (an
    empty read) has been verified whole."""
    return io.BufferedReader(_OpeningRaw(source, key, binding, chunk, progress), chunk)


def drain(stream: BinaryIO) -> None:
    """Read to the end: verifies the chunks a consumer (a tar reader) left unread."""
    while stream.read(CHUNK):
        pass
