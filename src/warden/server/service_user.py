"""Running as the service user: PostgreSQL refuses root, so warden does not stay root.

Started as root, ``warden init`` and ``warden server`` make sure the unprivileged system
account ``warden`` exists (``useradd --system``: no home, no login shell), hand the data
directory to it (ownership only: DIR stays 0700) and drop to it — supplementary groups
cleared, then the group, then the user, irrevocably — before any store, key ring or socket is
opened. The server and every PostgreSQL process it starts then run as that user, as
PostgreSQL's own packages do. Started as anyone else nothing changes: everything runs as
that user.

One exception: a Python installation the account cannot read (a pyenv under ``/root``, as
on some build machines) cannot keep running once privileges are dropped (every later
import would fail). Then warden stays root, says so on stderr, and only the PostgreSQL
processes run as the service user (the engine switches user for them).

Invariants: the data directory must be reachable by the account (every parent directory
traversable by it), checked before anything is handed over, so a refusal changes nothing;
``init`` hands over only the directory itself (it is empty or ``init`` refuses it), the
server the whole tree; symbolic links are never followed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "warden"


class ServiceUserError(Exception):
    """The service user cannot be created, or cannot reach the data directory."""


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    name: str
    uid: int
    gid: int

    @classmethod
    def named(cls, name: str) -> ServiceAccount:
        entry = pwd.getpwnam(name)
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)

    def groups(self) -> frozenset[int]:
        return frozenset((self.gid, *os.getgrouplist(self.name, self.gid)))


def ensure_account(name: str = SERVICE_USER) -> ServiceAccount:
    """The system account ``name``, created first when missing (root only)."""
    with contextlib.suppress(KeyError):
        return ServiceAccount.named(name)
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return ServiceAccount.named(name)  # another process may have created it meanwhile
    except KeyError:
        raise ServiceUserError(
            f"cannot create the service user {name}: {made.stderr.strip()}"
        ) from None


def _traversable(path: Path, account: ServiceAccount) -> bool:
    info = path.stat()
    if info.st_uid == account.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in account.groups():
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def blocking_parent(path: Path, account: ServiceAccount) -> Path | None:
    """The first existing parent of ``path`` the account cannot traverse, if any."""
    for parent in reversed(path.parents):
        if not parent.exists():
            return None
        if not _traversable(parent, account):
            return parent
    return None


def hand_over(root: Path, account: ServiceAccount, *, recursive: bool) -> None:
    """Give ``root`` (and, if ``recursive``, everything below it) to the account."""

    def give(path: Path) -> None:
        info = path.lstat()
        if (info.st_uid, info.st_gid) != (account.uid, account.gid):
            os.chown(path, account.uid, account.gid, follow_symlinks=False)

    give(root)
    if not recursive:
        return
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            give(Path(dirpath) / name)


def drop_to(account: ServiceAccount) -> None:
    """Become the account for good: no supplementary groups, its group, then its user."""
    os.setgroups([])
    os.setgid(account.gid)
    os.setuid(account.uid)
    if os.getuid() != account.uid or os.geteuid() != account.uid:  # pragma: no cover
        raise ServiceUserError(f"could not drop privileges to {account.name}")
    os.environ.update(HOME="/", USER=account.name, LOGNAME=account.name)
    os.umask(0o077)


@dataclass(frozen=True, slots=True)
class Privileges:
    """What ``become_service_user`` did."""

    account: ServiceAccount | None  # the service user; None when not started as root
    dropped: bool
    blocker: Path | None = None  # why not: the directory the account cannot traverse

    @property
    def postgres_user(self) -> str | None:
        """The user the engine must run PostgreSQL as, when warden itself stayed root."""
        return self.account.name if self.account is not None and not self.dropped else None


def interpreter_blocker(account: ServiceAccount) -> Path | None:
    """A directory that keeps the account from running this Python (None: it can)."""
    paths = {Path(sys.executable).resolve(), Path(sys.prefix), Path(sys.base_prefix)}
    paths |= {Path(p) for p in sys.path if p}
    for path in sorted(paths):
        if path.exists():
            blocked = blocking_parent(path / "-", account)
            if blocked is not None:
                return blocked
    return None


def become_service_user(
    data_dir: Path, *, initialising: bool, name: str = SERVICE_USER
) -> Privileges:
    """As root: check reachability, hand ``data_dir`` over and drop privileges (see the
    module docstring for when they cannot be dropped). Nothing happens for any other user.
    ``initialising`` creates ``data_dir`` (empty, 0700) if missing."""
    if os.geteuid() != 0:
        return Privileges(None, dropped=False)
    account = ensure_account(name)
    data_dir = data_dir.resolve()
    blocked = blocking_parent(data_dir, account)
    if blocked is not None:
        raise ServiceUserError(
            f"{data_dir} is not reachable by the service user {account.name}: it cannot "
            f"traverse {blocked}. Choose a data directory it can reach "
            f"(or allow traversal: chmod o+x {blocked})"
        )
    if initialising and not data_dir.exists():
        data_dir.mkdir(mode=0o700, parents=True)
        os.chmod(data_dir, 0o700)
    if data_dir.exists():
        empty = not any(data_dir.iterdir())
        # init refuses a non-empty directory: then nothing of it is handed over.
        if not initialising or empty:
            hand_over(data_dir, account, recursive=not initialising)
    stuck = interpreter_blocker(account)
    if stuck is not None:
        return Privileges(account, dropped=False, blocker=stuck)
    drop_to(account)
    return Privileges(account, dropped=True)
