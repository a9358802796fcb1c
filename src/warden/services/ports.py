"""Small Protocols for what one part needs from another, wired in ``server/app.py``.

Services never import each other or the server; when one needs something that
lives elsewhere it names the need here and receives an implementation.
"""

from __future__ import annotations

from typing import Protocol


class AuditFlush(Protocol):
    def flush(self) -> None:
        """Block until every audit record accepted so far is committed to the store."""
        ...
