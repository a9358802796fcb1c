"""The rotation functions warden runs itself: AWS's PostgreSQL templates, built in.

A secret names its rotation function by a Lambda ARN. Two names are built in, after AWS's
templates, in every account and Region (the ARN's Region and account must be the secret's):

- ``arn:aws:lambda:REGION:ACCOUNT:function:SecretsManagerRDSPostgreSQLRotationSingleUser``:
  the user's own password changes (the user alters itself, logged in with its current or
  previous password);
- ``…:function:SecretsManagerRDSPostgreSQLRotationMultiUser``: alternating users. The
  superuser secret named by ``masterarn`` creates ``<user>_clone`` with the user's attributes
  and memberships (and membership in the user itself), and each rotation flips which of the
  two users is current, changing only that one's password; the other keeps working.

Any other function cannot be invoked, which is what AWS records when Lambda refuses the call
(``FunctionUnavailable``). Secrets another warden service owns (``OwningService``) have no
function: that service applies the new password through ``ports.ManagedRotation``.

Each step is idempotent (re-running it after a crash converges): ``set_secret`` accepts a
server that already has the pending password, and the superuser's credentials are only ever
sent to the server the superuser secret itself names. No message contains a password.

A fresh single-user rotation logs in for setSecret while createSecret stores ``AWSPENDING``
(``log_in_early``): the connection's TLS handshake and SCRAM exchange overlap that write, and
the password itself still changes only after it. Measured: setSecret about 22 ms before, 14
after, createSecret 3 to 4 ms slower (the two share the GIL): about 3 ms off the 60 or so from
RotateSecret to the new AWSCURRENT.
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

from warden.core.redacted import Redacted
from warden.engines.base import Accounts, AccountSession, Endpoint, Login
from warden.engines.errors import EngineError, LoginFailed
from warden.services.ports import ManagedRotation

from .dbsecret import DbSecret, SecretFormatError, Trust, alternate_user, base_user, endpoint
from .envelope import SecretValue
from .password import random_password

# The templates' defaults: 32 characters, every type, none that breaks a connection string.
EXCLUDE_CHARACTERS = ":/@\"'\\"
PASSWORD_RULES = {
    "PasswordLength": 32,
    "ExcludeCharacters": EXCLUDE_CHARACTERS,
    "RequireEachIncludedType": True,
}
CANNOT_INVOKE = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function "
    "policy grants access to the principal secretsmanager.amazonaws.com."
)
_FUNCTION_ARN = re.compile(
    r"arn:(aws|aws-cn|aws-us-gov):lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]+)"
    r"(:[A-Za-z0-9$_-]+)?"
)
T = TypeVar("T")


class Strategy(enum.Enum):
    SINGLE_USER = "SecretsManagerRDSPostgreSQLRotationSingleUser"
    MULTI_USER = "SecretsManagerRDSPostgreSQLRotationMultiUser"
    MANAGED = "managed"  # the owning service rotates (no function)


class StepFailed(Exception):
    """A rotation step failed. ``code`` names the cause for the event; ``permanent`` means
    retrying cannot help. The message is safe to record (no secret in it)."""

    def __init__(self, message: str, *, code: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


class FunctionUnavailable(StepFailed):
    def __init__(self) -> None:
        super().__init__(CANNOT_INVOKE, code="AccessDeniedException", permanent=True)


def strategy_for(function: str | None, *, account_id: str, region: str) -> Strategy:
    """The built-in function a RotationLambdaARN names (None: managed by the owning service)."""
    if function is None:
        return Strategy.MANAGED
    match = _FUNCTION_ARN.fullmatch(function)
    if match is None or (match.group(2), match.group(3)) != (region, account_id):
        raise FunctionUnavailable()
    try:
        return Strategy(match.group(4))
    except ValueError:
        raise FunctionUnavailable() from None


def formatted(fn: Callable[[], T]) -> T:
    """Run ``fn``; a malformed secret becomes a failed step."""
    try:
        return fn()
    except SecretFormatError as exc:
        raise StepFailed(str(exc), code="InvalidSecretFormat") from None


@dataclass(frozen=True)
class PostgresFunctions:
    """The steps of the built-in functions over an ``Accounts`` engine."""

    accounts: Accounts
    trust: Trust
    managed: dict[str, ManagedRotation]
    connect_timeout: int = 5

    def log_in_early(self, current: DbSecret) -> EarlyLogin:
        """Begin the single-user function's setSecret login (as ``current``) on a thread of
        its own, so that it overlaps createSecret, which stores ``AWSPENDING`` first: the
        password itself changes only in setSecret, through this session. The session is
        then a few milliseconds old when it is used: a password changed elsewhere in between
        is overwritten rather than refused, and a connection the server dropped meanwhile
        fails the step (retried like any other failure)."""
        where = self._endpoint(current)
        return EarlyLogin(
            current, where, _in_background(lambda: self.accounts.log_in(where, current.login))
        )

    def new_pending(self, strategy: Strategy, current: DbSecret) -> SecretValue:
        """createSecret: the pending version's value (a new password; the other user of an
        alternating pair)."""
        username = current.username
        if strategy is Strategy.MULTI_USER:
            if not current.masterarn:
                raise StepFailed("masterarn key is missing from secret JSON", code="InvalidSecret")
            username = formatted(lambda: alternate_user(current.username))
        return current.with_login(username, Redacted(random_password(PASSWORD_RULES)))

    def set_secret(
        self,
        strategy: Strategy,
        *,
        secret_arn: str,
        owner: str | None,
        pending: DbSecret,
        current: DbSecret,
        previous: DbSecret | None,
        master: DbSecret | None,
        early: EarlyLogin | None = None,
    ) -> None:
        """setSecret: make the server accept the pending credentials (``early``: a login
        ``log_in_early`` began for this rotation, used if it is the acting one)."""
        if strategy is Strategy.MANAGED:
            service = self._service(owner)
            _engine(
                lambda: service.set_secret(
                    secret_arn=secret_arn, username=pending.username, password=pending.password
                )
            )
            return
        if not pending.same_server(current):
            raise StepFailed(
                "Attempting to modify user for host other than current host",
                code="InvalidSecret",
            )
        if strategy is Strategy.SINGLE_USER:
            self._set_own(pending, current, previous, early)
        else:
            self._set_by_master(pending, current, master)

    def _set_own(
        self,
        pending: DbSecret,
        current: DbSecret,
        previous: DbSecret | None,
        early: EarlyLogin | None,
    ) -> None:
        if pending.username != current.username:
            raise StepFailed(
                "Attempting to modify user other than current user", code="InvalidSecret"
            )
        where = self._endpoint(pending)
        # The current password first (a fresh rotation), then the pending one (a rotation
        # resumed after its password was set), then the previous one (a half-finished
        # earlier rotation): the first that logs in sets the pending password.
        candidates = [current, pending] + ([previous] if previous is not None else [])
        for acting in candidates:
            if acting.username != pending.username:
                continue
            try:
                if early is not None and early.serves(acting, where):
                    session = early.take()
                else:
                    session = self.accounts.log_in(where, acting.login)
                with session:
                    session.set_password(pending.username, pending.password)
                return
            except LoginFailed:
                continue
            except EngineError as exc:
                raise _failed(exc) from None
        raise StepFailed(
            "setSecret: Unable to log into database with previous, current, or pending secret",
            code="LoginFailed",
        )

    def _set_by_master(self, pending: DbSecret, current: DbSecret, master: DbSecret | None) -> None:
        if master is None:
            raise StepFailed("masterarn key is missing from secret JSON", code="InvalidSecret")
        if not master.same_server(current):
            # The superuser's credentials go only to the server its own secret names.
            raise StepFailed(
                f"Current database host {current.host}:{current.port} is not the same host "
                f"as master {master.host}:{master.port}",
                code="InvalidSecret",
            )
        if base_user(pending.username) != base_user(current.username):
            raise StepFailed(
                "Attempting to modify a user other than the current user or its clone",
                code="InvalidSecret",
            )
        where = self._endpoint(pending)
        base = base_user(current.username)
        try:
            with self.accounts.log_in(where, master.login) as session:
                if pending.username == base:
                    session.set_password(base, pending.password)
                else:
                    session.ensure_clone(base, pending.username, pending.password)
        except EngineError as exc:
            raise _failed(exc) from None

    def test_secret(
        self, strategy: Strategy, *, secret_arn: str, owner: str | None, pending: DbSecret
    ) -> None:
        """testSecret: the pending credentials log in."""
        if strategy is Strategy.MANAGED:
            service = self._service(owner)
            _engine(
                lambda: service.test_secret(
                    secret_arn=secret_arn, username=pending.username, password=pending.password
                )
            )
            return
        self._login(self._endpoint(pending), pending.login, "with pending secret")

    def test_configuration(
        self,
        strategy: Strategy,
        *,
        secret_arn: str,
        owner: str | None,
        current: DbSecret,
        master: DbSecret | None,
    ) -> None:
        """RotateImmediately=false: the function could rotate this secret (its current
        credentials, and the superuser's for alternating users, log in)."""
        if strategy is Strategy.MANAGED:
            self.test_secret(strategy, secret_arn=secret_arn, owner=owner, pending=current)
            return
        self._login(self._endpoint(current), current.login, "with current secret")
        if strategy is Strategy.MULTI_USER:
            if master is None:
                raise StepFailed("masterarn key is missing from secret JSON", code="InvalidSecret")
            if not master.same_server(current):
                raise StepFailed(
                    "Current database host is not the same host as master", code="InvalidSecret"
                )
            self._login(self._endpoint(master), master.login, "with master secret")

    def _login(self, where: Endpoint, login: Login, which: str) -> None:
        check = self.accounts.check_login(where, login)
        if not check.ok:
            raise StepFailed(
                f"testSecret: Unable to log into database {which}: {check.reason}",
                code="LoginFailed",
            )

    def _endpoint(self, secret: DbSecret) -> Endpoint:
        return endpoint(secret, self.trust, connect_timeout=self.connect_timeout)

    def _service(self, owner: str | None) -> ManagedRotation:
        service = self.managed.get(owner or "")
        if service is None:
            raise StepFailed(
                f"The secret is managed by {owner}, which cannot rotate it now",
                code="ServiceUnavailable",
            )
        return service


class EarlyLogin:
    """A login begun ahead of the step that uses it (``PostgresFunctions.log_in_early``).
    ``take`` hands over its session, or raises what logging in raised; ``close`` closes a
    session nobody took, now or once the login finishes."""

    def __init__(self, secret: DbSecret, where: Endpoint, login: Future[AccountSession]) -> None:
        self.secret = secret
        self._where = where
        self._login = login
        self._taken = False

    def serves(self, acting: DbSecret, where: Endpoint) -> bool:
        return not self._taken and acting is self.secret and where == self._where

    def take(self) -> AccountSession:
        self._taken = True
        return self._login.result()

    def close(self) -> None:
        if not self._taken:
            self._taken = True
            self._login.add_done_callback(_close_session)


def _close_session(login: Future[AccountSession]) -> None:
    if login.exception() is None:
        login.result().close()


def _in_background(fn: Callable[[], T]) -> Future[T]:
    """``fn``'s outcome, computed on a daemon thread (it never holds up the process's exit;
    a login ends within its connect timeout)."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # handed to whoever takes the result
            future.set_exception(exc)

    threading.Thread(target=run, name="sm-login-ahead", daemon=True).start()
    return future


def _failed(exc: EngineError) -> StepFailed:
    return StepFailed(str(exc) or type(exc).__name__, code=type(exc).__name__)


def _engine(fn: Callable[[], None]) -> None:
    try:
        fn()
    except EngineError as exc:
        raise _failed(exc) from None
