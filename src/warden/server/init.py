"""``warden init``: lay out a new data directory and create the account.

Order matters for "nothing half-written": the directory is created empty (0700)
and refused if it already holds anything; key ring, store, account, TLS and the
AWS profile follow. A failure part-way leaves a directory that ``init`` refuses
and ``server`` does not accept (no settings file is written until the end).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from warden.core.clock import Clock, SystemClock
from warden.core.ids import IdFactory, RandomIds
from warden.core.redacted import Redacted
from warden.services.iam.bootstrap import create_account
from warden.store.db import Store
from warden.store.keyring import KeyRing

from . import tls
from .datadir import SETTINGS, DataDirError, Settings


@dataclass(frozen=True, slots=True)
class InitResult:
    settings: Settings
    root_password: Redacted[str]
    admin_arn: str
    config_file: Path
    credentials_file: Path
    ca_bundle: Path


def _prepare_dir(data_dir: Path) -> None:
    if data_dir.exists():
        if (data_dir / SETTINGS).exists() or any(data_dir.iterdir()):
            raise DataDirError(
                f"{data_dir} is already initialised or not empty; refusing to overwrite"
            )
        os.chmod(data_dir, 0o700)
    else:
        data_dir.mkdir(mode=0o700, parents=True)
        os.chmod(data_dir, 0o700)  # mkdir's mode is filtered by the umask


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def endpoint_url(host: str, port: int, *, secure: bool = True) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if secure else 'http'}://{shown}:{port}"


def init(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 9443,
    region: str = "us-east-1",
    account_id: str | None = None,
    admin_user: str = "admin",
    store_url: str = "",
    clock: Clock | None = None,
    ids: IdFactory | None = None,
) -> InitResult:
    clock = clock or SystemClock()
    ids = ids or RandomIds()
    account_id = account_id or "".join(secrets.choice("0123456789") for _ in range(12))
    if len(account_id) != 12 or not account_id.isdigit():
        raise ValueError("--account-id must be 12 digits")
    data_dir = data_dir.resolve()
    _prepare_dir(data_dir)
    ring = KeyRing.create(data_dir)
    store = Store.open(store_url) if store_url else Store.sqlite_in(data_dir)
    try:
        boot = create_account(store, ring, clock, ids, account_id=account_id, admin_user=admin_user)
    finally:
        store.close()
    paths = tls.create(data_dir, host, clock.now())
    aws = data_dir / "aws"
    aws.mkdir(mode=0o700)
    config = aws / "config"
    creds = aws / "credentials"
    _write_private(
        config,
        "[profile warden]\n"
        f"region = {region}\n"
        f"endpoint_url = {endpoint_url(host, port)}\n"
        f"ca_bundle = {paths.ca_cert}\n",
    )
    _write_private(
        creds,
        "[warden]\n"
        f"aws_access_key_id = {boot.access_key_id}\n"
        f"aws_secret_access_key = {boot.secret_access_key.reveal()}\n",
    )
    settings = Settings(account_id, region, host, port, admin_user, store_url)
    settings.write(data_dir)
    return InitResult(settings, boot.root_password, boot.admin_arn, config, creds, paths.ca_cert)
