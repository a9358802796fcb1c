"""What can go wrong at the engine boundary, as plain exceptions (not AWS errors).

Services map these to the AWS error codes of their API (an ``InvalidParameter`` becomes
``InvalidParameterValue``, a ``PortInUse`` an RDS fault, a failed rotation step a recorded
rotation failure). Messages never contain a password, a verifier or key material.
"""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """A database engine operation failed; ``str(exc)`` is safe to show and log."""


class SetupError(EngineError):
    """The host cannot run instances: binaries missing, OS user, directory permissions."""


class PortInUse(EngineError):
    """Another process already listens on the instance's address and port."""


class StartFailed(EngineError):
    """The server did not come up; the message carries the server's own reason."""


class NotRunning(EngineError):
    """The operation needs a running server and the instance is not running."""


class Unreachable(EngineError):
    """No connection could be made (refused, timed out, TLS verification failed)."""


class LoginFailed(EngineError):
    """The server rejected the credentials (wrong password, no pg_hba entry, no role)."""


class RoleError(EngineError):
    """A role operation was refused (missing privilege, reserved or invalid name)."""


class SnapshotError(EngineError):
    """Taking or restoring a snapshot failed."""


@dataclass(frozen=True, slots=True)
class ParameterProblem:
    """Why one parameter value cannot be applied (InvalidParameterValue material)."""

    name: str
    reason: str


class InvalidParameters(EngineError):
    """One or more parameter values were refused; nothing was applied."""

    def __init__(self, problems: tuple[ParameterProblem, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.name}: {p.reason}" for p in problems))
