"""Helpers for the engine tests: specs, client connections, a source-bound TCP forwarder.

libpq has no option to choose the client's source address, so ``SourceForwarder`` listens
on 127.0.0.1 and relays each connection to the server from a socket bound to another
loopback address (127.0.0.2): to PostgreSQL the client then comes from that address.
TLS passes through untouched, so the client still verifies the server certificate.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from warden.core.redacted import Redacted
from warden.engines.base import (
    AccessRules,
    InstanceSpec,
    MasterUser,
    ParameterValues,
    TlsMaterial,
)
from warden.engines.postgres import certs

MakeSpec = Callable[..., InstanceSpec]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Ca:
    cert: bytes
    key: Redacted[bytes]

    @classmethod
    def make(cls) -> Ca:
        cert, key = certs.make_ca("engine test CA", datetime.now(UTC))
        return cls(cert, key)

    def issue(self, name: str) -> TlsMaterial:
        return certs.issue(self.cert, self.key, name, ["127.0.0.1"], datetime.now(UTC))


@dataclass(frozen=True)
class Running:
    spec: InstanceSpec
    master: MasterUser


def with_parameters(spec: InstanceSpec, **values: str) -> InstanceSpec:
    merged = {**spec.parameters.as_dict(), **values}
    return replace(spec, parameters=ParameterValues.of(merged))


def with_access(spec: InstanceSpec, *cidrs: str) -> InstanceSpec:
    return replace(spec, access=AccessRules.of(cidrs))


def connect(
    spec: InstanceSpec,
    user: str,
    password: str,
    *,
    dbname: str = "postgres",
    port: int | None = None,
    sslmode: str = "verify-full",
    ca_file: Path | None = None,
) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(
        host="127.0.0.1",
        port=port or spec.port,
        user=user,
        password=password,
        dbname=dbname,
        sslmode=sslmode,
        sslrootcert=str(ca_file or spec.root / "tls" / "ca.pem"),
        gssencmode="disable",
        connect_timeout=5,
        autocommit=True,
    )


class SourceForwarder:
    """Relays TCP from 127.0.0.1:<port> to ``target`` with the source address ``source``."""

    def __init__(self, target_port: int, source: str = "127.0.0.2") -> None:
        self._target = ("127.0.0.1", target_port)
        self._source = source
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._spawn(self._accept)

    def _spawn(self, fn: Any, *args: Any) -> None:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.socket()
            upstream.bind((self._source, 0))
            try:
                upstream.connect(self._target)
            except OSError:
                client.close()
                upstream.close()
                continue
            self._spawn(self._relay, client, upstream)

    @classmethod
    def _relay(cls, client: socket.socket, upstream: socket.socket) -> None:
        back = threading.Thread(target=cls._pump, args=(upstream, client), daemon=True)
        back.start()
        cls._pump(client, upstream)
        back.join(timeout=10)
        client.close()
        upstream.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)
