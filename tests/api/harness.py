"""A real warden server for black-box tests: `warden init` + `warden server` in a
subprocess on a free loopback port, and the clients (boto3, the aws CLI) that talk to it
exactly as a user would, through the written profile.

Started as root, warden runs as its unprivileged service user, which must be able to reach
the data directory; pytest's temporary directories are private to root (0700), so as root
a data directory is placed in a directory of its own under the system temp dir instead
(traversable, removed at exit).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NO_RETRY = Config(
    retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10, read_timeout=60
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _others_can_reach(path: Path) -> bool:
    for parent in (path, *path.parents):
        if parent.exists() and not os.stat(parent).st_mode & 0o001:
            return False
    return True


def _reachable_base() -> Path:
    base = Path(tempfile.mkdtemp(prefix="warden-api-"))
    os.chmod(base, 0o711)
    atexit.register(shutil.rmtree, base, True)
    return base


def clean_env() -> dict[str, str]:
    """The process environment without AWS_* variables (the machine sets AWS_CA_BUNDLE)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


@dataclass
class Warden:
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        if os.geteuid() == 0 and not _others_can_reach(self.data_dir.parent):
            self.data_dir = _reachable_base() / self.data_dir.name
        self.log = self.data_dir.parent / f"server-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> str:
        return str(self.data_dir / "tls" / "ca.pem")

    def init(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(BIN / "warden"),
                "init",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                *extra,
            ],
            capture_output=True,
            text=True,
            env=clean_env(),
            check=False,
        )

    def start(self, *extra: str) -> None:
        with open(self.log, "ab") as fh:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [str(BIN / "warden"), "server", "--data-dir", str(self.data_dir), *extra],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=clean_env(),
            )
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        ctx = ssl.create_default_context(cafile=self.ca)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"warden exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(
                    f"{self.endpoint}/_warden/health", context=ctx, timeout=2
                ) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"warden did not become healthy: {self.log.read_text()}")

    def stop(self) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.proc = None

    def profile_env(self) -> dict[str, str]:
        """The environment a user sets to use the written profile (and nothing else)."""
        env = clean_env()
        env.update(
            AWS_CONFIG_FILE=str(self.data_dir / "aws" / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.data_dir / "aws" / "credentials"),
            AWS_PROFILE="warden",
            AWS_PAGER="",
        )
        return env

    def session(self) -> boto3.Session:
        """A boto3 session built from the written profile files, as a user's would be."""
        import botocore.session

        bs = botocore.session.Session()
        env = self.profile_env()
        bs.set_config_variable("config_file", env["AWS_CONFIG_FILE"])
        bs.set_config_variable("credentials_file", env["AWS_SHARED_CREDENTIALS_FILE"])
        bs.set_config_variable("profile", "warden")
        return boto3.Session(botocore_session=bs)

    def client(self, service: str, **kw: object) -> object:
        return self.session().client(service, config=NO_RETRY, **kw)  # type: ignore[call-overload]

    def raw_client(
        self,
        service: str,
        *,
        key: str,
        secret: str,
        token: str | None = None,
        region: str = "us-east-1",
        **kw: object,
    ) -> object:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            verify=self.ca,
            config=kw.pop("config", NO_RETRY),
            **kw,
        )

    def aws(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "aws"), *args],
            capture_output=True,
            text=True,
            env=env or self.profile_env(),
            check=False,
            timeout=120,
        )

    def credentials(self) -> tuple[str, str]:
        import configparser

        cp = configparser.ConfigParser()
        cp.read(self.data_dir / "aws" / "credentials")
        return cp["warden"]["aws_access_key_id"], cp["warden"]["aws_secret_access_key"]
