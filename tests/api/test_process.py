"""`warden init` and `warden server` as processes: the public contract of DESIGN.md §1."""

from __future__ import annotations

import os
import stat

import sqlalchemy as sa
from harness import Warden


def _mode(path: os.PathLike[str]) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_init_lays_out_a_private_data_dir(fresh_dir: Warden) -> None:
    out = fresh_dir.init("--region", "eu-west-1", "--admin-user", "alice")
    assert out.returncode == 0, out.stderr
    d = fresh_dir.data_dir
    assert _mode(d) == 0o700
    assert _mode(d / "keyring.json") == 0o600
    assert _mode(d / "warden.db") == 0o600
    assert _mode(d / "tls" / "ca.key") == 0o600
    assert _mode(d / "tls" / "server.key") == 0o600
    assert _mode(d / "aws" / "credentials") == 0o600
    config = (d / "aws" / "config").read_text()
    assert "[profile warden]" in config and "region = eu-west-1" in config
    assert f"endpoint_url = https://127.0.0.1:{fresh_dir.port}" in config
    assert f"ca_bundle = {d / 'tls' / 'ca.pem'}" in config
    assert "arn:aws:iam::" in out.stdout and ":user/alice" in out.stdout
    assert "Root console password" in out.stdout

    from warden.store.db import Store
    from warden.store.schema import access_keys, accounts, iam_attachments

    store = Store.sqlite_in(d)
    try:
        with store.read() as conn:
            assert (
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(access_keys)
                    .where(access_keys.c.user_id.is_(None))
                ).scalar()
                == 0
            ), "root must have no access keys"
            assert conn.execute(sa.select(sa.func.count()).select_from(access_keys)).scalar() == 1
            pw_hash = conn.execute(sa.select(accounts.c.root_password_hash)).scalar()
            assert pw_hash and pw_hash.startswith("scrypt$")
            printed = out.stdout.split("stored only as a hash): ")[1].split()[0]
            assert printed not in pw_hash
            attached = conn.execute(sa.select(iam_attachments.c.policy_arn)).scalars().all()
            assert attached == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    finally:
        store.close()
    # The secret key is in the credentials file for the CLI, but never in the store in plaintext.
    _, secret = fresh_dir.credentials()
    assert secret.encode() not in (d / "warden.db").read_bytes()


def test_init_refuses_to_overwrite(fresh_dir: Warden) -> None:
    assert fresh_dir.init().returncode == 0
    again = fresh_dir.init()
    assert again.returncode == 2
    assert "refusing" in again.stderr


def test_server_refuses_a_keyring_others_can_read(fresh_dir: Warden) -> None:
    import subprocess

    from harness import BIN, clean_env

    assert fresh_dir.init().returncode == 0
    os.chmod(fresh_dir.data_dir / "keyring.json", 0o644)
    out = subprocess.run(
        [str(BIN / "warden"), "server", "--data-dir", str(fresh_dir.data_dir)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert "keyring.json" in out.stderr and "refusing" in out.stderr


def test_insecure_http_only_on_loopback(fresh_dir: Warden) -> None:
    import subprocess

    from harness import BIN, clean_env

    assert fresh_dir.init().returncode == 0
    out = subprocess.run(
        [
            str(BIN / "warden"),
            "server",
            "--data-dir",
            str(fresh_dir.data_dir),
            "--host",
            "0.0.0.0",
            "--insecure-http",
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert out.returncode == 2 and "loopback" in out.stderr


def test_sigterm_shuts_down_cleanly_and_keeps_the_audit_trail(fresh_dir: Warden) -> None:
    assert fresh_dir.init("--account-id", "210987654321").returncode == 0
    fresh_dir.start()
    for _ in range(3):
        fresh_dir.client("sts").get_caller_identity()
    assert fresh_dir.stop() == 0
    from warden.store.db import Store
    from warden.store.schema import audit_events

    store = Store.sqlite_in(fresh_dir.data_dir)
    try:
        with store.read() as conn:
            n = conn.execute(
                sa.select(sa.func.count())
                .select_from(audit_events)
                .where(audit_events.c.event_name == "GetCallerIdentity")
            ).scalar()
    finally:
        store.close()
    assert n == 3
    # It starts again from the same data dir.
    fresh_dir.start()
    assert fresh_dir.client("sts").get_caller_identity()["Account"] == "210987654321"
    assert fresh_dir.stop() == 0


def test_sigterm_does_not_wait_on_an_idle_keep_alive_client(fresh_dir: Warden) -> None:
    assert fresh_dir.init().returncode == 0
    fresh_dir.start()
    sts = fresh_dir.client("sts")
    sts.get_caller_identity()  # the client keeps its TLS connection open, idle, in its pool
    assert fresh_dir.stop() == 0
    log = fresh_dir.log.read_text()
    assert "timeout graceful shutdown exceeded" not in log
    fresh_dir.start()  # the same client reconnects to the new server
    assert sts.get_caller_identity()["Arn"].endswith(":user/admin")
    assert fresh_dir.stop() == 0
