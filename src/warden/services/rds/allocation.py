"""Ports for new volumes: each volume listens on its own port of this host.

A requested port must be free now (nothing listens on it) and owned by no other volume of
the store; without one RDS's default 5432 is taken when free, else a port the kernel
chooses (free at that moment). The reconciler still meets a port another program took
later: the instance then fails to start with the reason in an event.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Collection, Sequence

from .errors import InvalidParameterValue

DEFAULT_PORT = 5432
_MAX_TRIES = 20


def port_is_free(addresses: Sequence[str], port: int) -> bool:
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # PostgreSQL binds with SO_REUSEADDR too, so TIME_WAIT leftovers do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    return False
                raise
    return True


def _kernel_port(address: str) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def choose_port(requested: int | None, used: Collection[int], addresses: Sequence[str]) -> int:
    if requested is not None:
        if requested in used or not port_is_free(addresses, requested):
            raise InvalidParameterValue(
                message=f"Port {requested} is already in use on this host; choose another "
                "or leave Port unset."
            )
        return requested
    if DEFAULT_PORT not in used and port_is_free(addresses, DEFAULT_PORT):
        return DEFAULT_PORT
    for _ in range(_MAX_TRIES):
        candidate = _kernel_port(addresses[0])
        if candidate not in used and candidate >= 1150 and port_is_free(addresses, candidate):
            return candidate
    raise InvalidParameterValue(message="No free port is available on this host.")
