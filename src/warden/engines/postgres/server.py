"""One PostgreSQL server process: start, stop, status, single-user commands, teardown.

``pg_ctl`` starts the postmaster detached (its own session, outside warden's process
tree), so a server survives a warden restart and is found again from ``postmaster.pid``.
A pid from that file is trusted only when ``/proc`` confirms it (see ``process``): a pid
reused by an unrelated program after a crash is never adopted, signalled or killed.

Invariants: ``stop`` escalates fast → immediate → SIGKILL and returns only when no
process works in the data directory any more; ``start`` of a crashed instance first
clears what the dead server left (orphaned backends, the stale lock file), so the
reconciler can always call ``start``.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..base import InstanceState, InstanceStatus
from ..errors import PortInUse, StartFailed
from .binaries import PgBinaries
from .config import InstancePaths
from .process import Runner, instance_processes, is_instance_process, kill_all

_PM_STATES = {
    "starting": InstanceState.STARTING,
    "stopping": InstanceState.STOPPING,
    "ready": InstanceState.RUNNING,
    "standby": InstanceState.RUNNING,
}
_SETTLE_SECONDS = 10.0
_READY_POLL = 0.01  # seconds between looks at a starting server


@dataclass(frozen=True, slots=True)
class PidFile:
    pid: int
    port: int | None
    state: InstanceState


def read_pid_file(paths: InstancePaths) -> PidFile | None:
    try:
        lines = paths.pid_file.read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return None
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return None
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    state = (
        _PM_STATES.get(lines[7].strip(), InstanceState.STARTING)
        if len(lines) > 7
        else (InstanceState.STARTING)
    )
    return PidFile(pid, port, state)


def port_is_free(addresses: Sequence[str], port: int) -> bool:
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # PostgreSQL binds with SO_REUSEADDR too, so TIME_WAIT leftovers do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return False
                raise
    return True


class PgServer:
    def __init__(self, binaries: PgBinaries, runner: Runner, paths: InstancePaths) -> None:
        self.binaries = binaries
        self.runner = runner
        self.paths = paths

    def status(self) -> InstanceStatus:
        if not (self.paths.data / "PG_VERSION").exists():
            return InstanceStatus(InstanceState.ABSENT)
        found = read_pid_file(self.paths)
        if found is None:
            return InstanceStatus(InstanceState.STOPPED)
        if not is_instance_process(found.pid, self.paths.data, self.runner.owner):
            return InstanceStatus(InstanceState.CRASHED, port=found.port)
        return InstanceStatus(found.state, pid=found.pid, port=found.port)

    def _pg_ctl(self, *args: str, timeout: float = 90.0) -> tuple[int, str]:
        argv = [self.binaries.path("pg_ctl"), "-D", str(self.paths.data), *args]
        done = self.runner.run(argv, cwd=self.paths.root, timeout=timeout)
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace")

    def start(self, listen: Sequence[str], port: int, timeout: int = 60) -> InstanceStatus:
        current = self.status()
        if current.state in {InstanceState.RUNNING, InstanceState.STARTING}:
            return self.wait_ready(timeout)
        if current.state is InstanceState.CRASHED:
            self.clear_crash()
        if not port_is_free(listen, port):
            raise PortInUse(f"port {port} is already in use")
        self.runner.write_file(self.paths.startup_log, b"")  # reasons from this start only
        log = str(self.paths.startup_log)
        argv = [self.binaries.path("pg_ctl"), "-D", str(self.paths.data), "-l", log, "-w",
                "-t", str(timeout), "-s", "start"]  # fmt: skip
        proc = self.runner.spawn(argv, cwd=self.paths.root)
        # pg_ctl looks at the server ten times a second; warden looks more often and
        # returns as soon as the server is ready (about 70 ms sooner), leaving pg_ctl to
        # notice on its own.
        try:
            while proc.poll() is None:
                ready = self.status()
                if ready.state is InstanceState.RUNNING:
                    threading.Thread(target=_reap, args=(proc,), daemon=True).start()
                    return ready
                time.sleep(_READY_POLL)
        except BaseException:
            threading.Thread(target=_reap, args=(proc,), daemon=True).start()
            raise
        out = proc.communicate()[0].decode(errors="replace")
        code = proc.returncode
        if code != 0:
            reason = self._startup_reason() or out.strip()
            if "could not bind" in reason or "Address already in use" in reason:
                raise PortInUse(f"port {port} is already in use")
            raise StartFailed(f"PostgreSQL did not start: {reason}")
        return self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> InstanceStatus:
        deadline = time.monotonic() + timeout
        while True:
            now = self.status()
            if now.state is InstanceState.RUNNING or time.monotonic() > deadline:
                if now.state is not InstanceState.RUNNING:
                    raise StartFailed(f"PostgreSQL is {now.state.value}, not running")
                return now
            if now.state in {InstanceState.STOPPED, InstanceState.CRASHED}:
                raise StartFailed(f"PostgreSQL stopped while starting: {self._startup_reason()}")
            time.sleep(0.05)

    def _startup_reason(self) -> str:
        try:
            lines = self.paths.startup_log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        important = [ln for ln in lines if "FATAL" in ln or "ERROR" in ln or "PANIC" in ln]
        return " | ".join((important or lines)[-3:])

    def stop(self, timeout: int = 60) -> None:
        """Stop and return only when no process of the instance is left."""
        current = self.status()
        if current.state is InstanceState.ABSENT:
            return
        if current.pid is not None:
            for mode in ("fast", "immediate"):
                code, _ = self._pg_ctl("-m", mode, "-w", "-t", str(timeout), "-s", "stop")
                if code == 0 and read_pid_file(self.paths) is None:
                    break
        self.clear_crash()

    def clear_crash(self) -> None:
        """Kill whatever still works in the data directory and drop a stale lock file."""
        deadline = time.monotonic() + _SETTLE_SECONDS
        while pids := instance_processes(self.paths.data, self.runner.owner):
            # Backends of a dead postmaster exit on their own; give them a moment first.
            if time.monotonic() > deadline - _SETTLE_SECONDS / 2:
                kill_all(pids)
            if time.monotonic() > deadline:
                raise StartFailed(f"processes {pids} of the old server do not exit")
            time.sleep(0.05)
        found = read_pid_file(self.paths)
        if found is not None and not is_instance_process(
            found.pid, self.paths.data, self.runner.owner
        ):
            with contextlib.suppress(FileNotFoundError):
                self.paths.pid_file.unlink()
        if read_pid_file(self.paths) is None:
            # The dead server's socket and its lock file go too: PostgreSQL checks that lock
            # with kill(pid, 0), which a postmaster killed but not yet reaped (a zombie, where
            # init does not reap) passes, and would refuse to start.
            for leftover in self.paths.run.glob(".s.PGSQL.*"):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def reload(self) -> None:
        code, out = self._pg_ctl("-s", "reload")
        if code != 0:
            raise StartFailed(f"reload failed: {out.strip()}")

    def single_user(self, statements: Sequence[str], database: str = "postgres") -> None:
        """Run statements in single-user mode (the server must be stopped). Each
        statement must be one line: single-user mode ends a command at a newline."""
        script = "".join(s.strip().rstrip(";") + ";\n" for s in statements)
        if any("\n" in s.strip() for s in statements):
            raise ValueError("single-user statements must be single lines")
        argv = [
            self.binaries.path("postgres"),
            "--single",
            "-D",
            str(self.paths.data),
            "-c",
            "log_min_messages=warning",
            "-c",
            "logging_collector=off",
            "-c",
            "log_destination=stderr",
            # A restored base backup is flushed before its recovery: one syncfs(2) of the file
            # system rather than an open and fsync per file (about 0.1 s of 0.3 s here).
            "-c",
            "recovery_init_sync_method=syncfs",
            database,
        ]
        done = self.runner.run(argv, cwd=self.paths.root, stdin=script.encode())
        err = done.stderr.decode(errors="replace")
        bad = [ln for ln in err.splitlines() if any(k in ln for k in ("ERROR", "FATAL", "PANIC"))]
        if done.returncode != 0 or bad:
            raise StartFailed("single-user setup failed: " + " | ".join(bad or [err.strip()]))


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Collect a pg_ctl that outlived warden's interest (its server is already ready)."""
    with contextlib.suppress(Exception):
        proc.communicate()  # pg_ctl ends by itself: its own -t bounds its wait
