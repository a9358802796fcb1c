"""Running PostgreSQL programs as their owner, and finding their processes.

PostgreSQL refuses to run as root. Started as root, warden runs every server program as
an unprivileged service account (``warden-pg`` unless configured otherwise), creating it
if missing, as PostgreSQL's own packages do; started as anyone else, programs run as that
user. Files the engine writes for a server are handed to the owner and kept private.

Invariants: children get a minimal environment (nothing of warden's own), a 077 umask and
no inherited descriptors; a process counts as an instance's only if ``/proc`` shows it is
alive (not a zombie), runs as the owner and has its working directory in the data
directory (every postgres process chdirs there).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import SetupError

SERVICE_USER = "warden-pg"
_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"}
PIPE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OsAccount:
    name: str
    uid: int
    gid: int

    @classmethod
    def named(cls, name: str) -> OsAccount:
        entry = pwd.getpwnam(name)
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)

    @classmethod
    def current(cls) -> OsAccount:
        entry = pwd.getpwuid(os.geteuid())
        return cls(entry.pw_name, entry.pw_uid, os.getegid())


def ensure_account(name: str = SERVICE_USER) -> OsAccount:
    """The account server processes run as: ``name`` (created if missing) under root,
    the current user otherwise."""
    if os.geteuid() != 0:
        return OsAccount.current()
    with contextlib.suppress(KeyError):
        return OsAccount.named(name)
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return OsAccount.named(name)  # another process may have created it meanwhile
    except KeyError:
        raise SetupError(f"cannot create the service user {name}: {made.stderr.strip()}") from None


class Runner:
    """Runs programs as the owner and manages the files those programs read."""

    def __init__(self, owner: OsAccount) -> None:
        self.owner = owner
        self._switch = os.geteuid() == 0 and owner.uid != 0

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120.0,
        as_owner: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run to completion and return the result (the caller checks returncode)."""
        switch = as_owner and self._switch
        return subprocess.run(
            list(argv),
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env={**_ENV, **(env or {})},
            timeout=timeout,
            check=False,
            start_new_session=True,  # a ^C in warden's terminal must not reach servers
            umask=0o077,
            user=self.owner.uid if switch else None,
            group=self.owner.gid if switch else None,
            extra_groups=[] if switch else None,
        )

    def _as_owner(self) -> dict[str, Any]:
        """Popen's arguments for a child of the owner, in a session of its own."""
        switch = self._switch
        return {
            "env": dict(_ENV),
            "start_new_session": True,
            "umask": 0o077,
            "user": self.owner.uid if switch else None,
            "group": self.owner.gid if switch else None,
            "extra_groups": [] if switch else None,
        }

    def spawn(self, argv: Sequence[str], *, cwd: Path) -> subprocess.Popen[bytes]:
        """Start a program as the owner without waiting for it (``run``'s settings; its
        output, both streams together, on the returned process's stdout pipe)."""
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            **self._as_owner(),
        )

    def feed(self, argv: Sequence[str], *, cwd: Path, errors: IO[bytes]) -> subprocess.Popen[bytes]:
        """A program run as the owner, reading what warden writes to its stdin (through a
        ``PIPE_BYTES`` pipe); its stderr goes to ``errors``."""
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            pipesize=PIPE_BYTES,
            **self._as_owner(),
        )

    def stream(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], errors: IO[bytes]
    ) -> subprocess.Popen[bytes]:
        """A client program (pg_basebackup) run as warden itself, stdout piped to us
        through a pipe of ``PIPE_BYTES`` (the default 64 KiB would stall it while a
        megabyte is sealed; a megabyte is the largest pipe any user may ask for)."""
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**_ENV, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            pipesize=PIPE_BYTES,
            stderr=errors,
            start_new_session=True,
            umask=0o077,
        )

    def give(self, path: Path) -> None:
        if self._switch:
            os.chown(path, self.owner.uid, self.owner.gid, follow_symlinks=False)

    def make_dir(self, path: Path) -> None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        self.give(path)

    def write_file(self, path: Path, data: bytes, mode: int = 0o600) -> None:
        """Atomically replace ``path`` (same-directory temp file, fsync, rename)."""
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            self.give(Path(tmp))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def check_reachable(self, path: Path) -> None:
        """Fail early with a clear message when the owner cannot enter ``path``."""
        if not self._switch:
            return
        done = self.run(["test", "-w", str(path), "-a", "-x", str(path)], cwd=Path("/"))
        if done.returncode != 0:
            raise SetupError(
                f"{path} is not reachable by the service user {self.owner.name}: "
                "hand the data directory and its parents to it (or allow traversal)"
            )


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return None


def _uid_and_state(pid: int) -> tuple[int, str] | None:
    status = _read(f"/proc/{pid}/status")
    if status is None:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    try:
        return int(fields["Uid"].split()[1]), fields["State"].strip()[:1]
    except (KeyError, IndexError, ValueError):
        return None


def _cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def is_instance_process(pid: int, data_dir: Path, owner: OsAccount) -> bool:
    """Whether ``pid`` is a live process of the server whose data directory is given."""
    seen = _uid_and_state(pid)
    if seen is None or seen[1] in {"Z", "X"} or seen[0] != owner.uid:
        return False
    return _cwd(pid) == data_dir.resolve()


def instance_processes(data_dir: Path, owner: OsAccount) -> list[int]:
    """Every live process working in ``data_dir`` (postmaster, backends, helpers)."""
    target = data_dir.resolve()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _cwd(int(entry)) == target:
            pid = int(entry)
            if is_instance_process(pid, target, owner):
                found.append(pid)
    return found


def kill_all(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def remove_tree(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=False)
