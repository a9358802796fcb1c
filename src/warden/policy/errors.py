"""The one error the policy package raises: a document IAM would refuse to store.

Raised only while parsing or validating a document (write time), never while
evaluating a request. ``reason`` is worded as AWS words it, so the IAM service can
answer ``MalformedPolicyDocument`` (or ``LimitExceeded`` for size quotas) with it
unchanged.
"""

from __future__ import annotations

import enum


class PolicyErrorCode(enum.Enum):
    MALFORMED = "MalformedPolicyDocument"
    LIMIT_EXCEEDED = "LimitExceeded"


SYNTAX_ERROR = "Syntax errors in policy."
LEGACY_PARSING = "The policy failed legacy parsing"


class PolicyError(Exception):
    """A policy document IAM would reject; ``reason`` is AWS's message."""

    def __init__(self, reason: str, *, code: PolicyErrorCode = PolicyErrorCode.MALFORMED) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code

    def __repr__(self) -> str:
        return f"PolicyError({self.code.value}: {self.reason!r})"
