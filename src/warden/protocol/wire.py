"""The values that cross the protocol boundary: raw HTTP in, parsed calls, HTTP out.

The server builds a ``WireRequest`` from the ASGI scope (raw path, raw header list,
whole body) and hands it to ``protocol``; handlers only ever see ``ParsedCall.params``
and return plain dicts keyed by the model's member names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class WireRequest:
    method: str
    raw_path: str  # exactly as on the wire, percent-encoding intact, without the query
    query_string: str  # raw, without the leading "?"
    headers: tuple[tuple[str, str], ...]  # names lower-cased, in wire order, duplicates kept
    body: bytes
    source_ip: str = ""
    secure: bool = False

    def header(self, name: str) -> str | None:
        """The first header of that (lower-case) name, or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class ParsedCall:
    """A request the model understood: which service, which operation, which input."""

    service: str  # the botocore service name: "rds", "iam", "secretsmanager", ...
    operation: str  # the model's operation name: "DescribeDBClusters"
    params: dict[str, Any]  # keyed by member names of the operation's input shape
    protocol: str  # "query" | "ec2" | "json" | "rest-json"


@dataclass(frozen=True, slots=True)
class WireResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    extra: dict[str, Any] = field(default_factory=dict)
