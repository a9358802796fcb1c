"""A policy compiled once for fast, repeated evaluation, and a cache of them.

``CompiledPolicy`` indexes its statements by action (``ActionIndex``) so a request
looks at only the statements that can apply to it: exact action names in a dict,
wildcard patterns grouped by their (literal) service prefix, and the rest
(``NotAction``, ``*``, wildcard service prefixes) tested per action. The answer per
action is memoised (bounded), so a steady workload costs one dict lookup per policy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from .decision import PolicyType
from .document import PolicyDocument, parse_document
from .statement import CompiledStatement
from .wildcard import has_wildcard

MEMO_LIMIT = 2048  # actions remembered per policy (and per compiled set)


class ActionIndex:
    """Statements indexed by action: exact names in a dict, wildcard patterns bucketed
    by their literal service prefix, the rest (``NotAction``, ``*``, a wildcard in the
    service, a Deny without actions) tested one by one. ``lookup`` answers positions
    in the original order."""

    __slots__ = ("by_service", "exact", "generic", "statements")

    def __init__(self, statements: Sequence[CompiledStatement]) -> None:
        self.statements = tuple(statements)
        exact: dict[str, list[int]] = {}
        by_service: dict[str, list[int]] = {}
        generic: list[int] = []
        for i, compiled in enumerate(self.statements):
            element = compiled.statement.action
            if element is None or element.negated:
                generic.append(i)
                continue
            for pattern in element.patterns:
                lowered = pattern.lower()
                service, colon, _ = lowered.partition(":")
                if not has_wildcard(lowered):
                    exact.setdefault(lowered, []).append(i)
                elif colon and not has_wildcard(service):
                    by_service.setdefault(service, []).append(i)
                else:
                    generic.append(i)
        self.exact = {k: tuple(dict.fromkeys(v)) for k, v in exact.items()}
        self.by_service = {k: tuple(dict.fromkeys(v)) for k, v in by_service.items()}
        self.generic = tuple(dict.fromkeys(generic))

    def lookup(self, action: str) -> list[int]:
        """Positions of the statements whose Action/NotAction matches ``action``
        (lower-cased), ascending."""
        hits = set(self.exact.get(action, ()))
        service = action.split(":", 1)[0]
        statements = self.statements
        for i in self.by_service.get(service, ()) + self.generic:
            if i not in hits and statements[i].matches_action(action):
                hits.add(i)
        return sorted(hits)


class CompiledPolicy:
    """A parsed, indexed policy. Build with ``CompiledPolicy.compile``."""

    __slots__ = ("_index", "_memo", "document", "policy_id", "policy_type", "statements", "text")

    def __init__(
        self,
        policy_id: str,
        document: PolicyDocument,
        policy_type: PolicyType,
        text: str | None = None,
    ) -> None:
        self.policy_id = policy_id
        self.document = document
        self.policy_type = policy_type
        self.text = text
        variables = document.supports_variables
        required = policy_type is not PolicyType.RESOURCE
        self.statements = tuple(
            CompiledStatement.build(policy_id, s, variables, required) for s in document.statements
        )
        self._index = ActionIndex(self.statements)
        self._memo: dict[str, tuple[CompiledStatement, ...]] = {}

    @classmethod
    def compile(
        cls,
        policy_id: str,
        document: str | Mapping[str, object],
        *,
        policy_type: PolicyType,
    ) -> CompiledPolicy:
        """Parse and index; raises ``PolicyError`` only if the grammar cannot hold it."""
        parsed = parse_document(document)
        return cls(policy_id, parsed, policy_type, document if isinstance(document, str) else None)

    def __repr__(self) -> str:
        kind, count = self.policy_type.name, len(self.statements)
        return f"CompiledPolicy({self.policy_id!r}, {kind}, {count} statements)"

    def candidates(self, action: str) -> tuple[CompiledStatement, ...]:
        """Statements whose Action/NotAction matches ``action`` (lower-cased), in order."""
        found = self._memo.get(action)
        if found is None:
            found = tuple(self.statements[i] for i in self._index.lookup(action))
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            self._memo[action] = found
        return found


class PolicyCache:
    """Compiled policies keyed by (policy id, version id, type); bounded, LRU eviction.

    Thread-safe. A policy version's document never changes, so entries never go stale;
    a new default version has a new key.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str, PolicyType], CompiledPolicy] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        policy_id: str,
        version_id: str,
        document: str | Mapping[str, object],
        *,
        policy_type: PolicyType,
    ) -> CompiledPolicy:
        key = (policy_id, version_id, policy_type)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        compiled = CompiledPolicy.compile(policy_id, document, policy_type=policy_type)
        with self._lock:
            self._entries[key] = compiled
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return compiled
