"""The ``warden`` command: ``init`` a data directory, run the ``server``.

Started as root, both commands first become the unprivileged service user
(``server/service_user.py``): PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from warden import __version__

if TYPE_CHECKING:
    from warden.server.service_user import Privileges


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="warden", description=__doc__)
    p.add_argument("--version", action="version", version=f"warden {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    i = sub.add_parser("init", help="create and initialise a data directory")
    i.add_argument("--data-dir", required=True, type=Path)
    i.add_argument("--host", default="127.0.0.1")
    i.add_argument("--port", default=9443, type=int)
    i.add_argument("--region", default="us-east-1")
    i.add_argument("--account-id", default=None)
    i.add_argument("--admin-user", default="admin")
    i.add_argument("--store", default="", help="a PostgreSQL URL for a shared store")

    s = sub.add_parser("server", help="serve the AWS APIs from a data directory")
    s.add_argument("--data-dir", required=True, type=Path)
    s.add_argument("--host", default=None)
    s.add_argument("--port", default=None, type=int)
    s.add_argument("--store", default=None, help="a PostgreSQL URL for a shared store")
    s.add_argument(
        "--pg-bin",
        default=None,
        type=Path,
        help="the bin directory of another PostgreSQL installation (14 or later)",
    )
    s.add_argument(
        "--insecure-http",
        action="store_true",
        help="serve plain HTTP (only allowed on a loopback address)",
    )
    return p


def _profile_hint(data_dir: Path) -> str:
    d = data_dir.resolve()
    return (
        "Point the AWS CLI or boto3 at it with:\n"
        f"  export AWS_CONFIG_FILE={d}/aws/config\n"
        f"  export AWS_SHARED_CREDENTIALS_FILE={d}/aws/credentials\n"
        "  export AWS_PROFILE=warden\n"
        "  unset AWS_CA_BUNDLE   # it would override the profile's ca_bundle\n"
        "  aws sts get-caller-identity"
    )


def _become_service_user(command: str, data_dir: Path, *, initialising: bool) -> Privileges | None:
    """Privileges as they now are; None (after saying why) when warden must not go on."""
    from warden.server.service_user import ServiceUserError, become_service_user

    try:
        done = become_service_user(data_dir, initialising=initialising)
    except (ServiceUserError, OSError) as exc:
        print(f"warden {command}: {exc}", file=sys.stderr)
        return None
    if done.account is not None and not done.dropped:
        print(
            f"warden {command}: WARNING: staying root: the service user {done.account.name} "
            f"cannot run this Python installation ({done.blocker} is not traversable by it). "
            f"PostgreSQL runs as {done.account.name}; install warden where that user can "
            "read it to run the server unprivileged too.",
            file=sys.stderr,
        )
    return done


def _cmd_init(args: argparse.Namespace) -> int:
    from warden.server.datadir import DataDirError
    from warden.server.init import init

    privileges = _become_service_user("init", args.data_dir, initialising=True)
    if privileges is None:
        return 2
    try:
        result = init(
            args.data_dir,
            host=args.host,
            port=args.port,
            region=args.region,
            account_id=args.account_id,
            admin_user=args.admin_user,
            store_url=args.store,
        )
    except (DataDirError, ValueError, OSError) as exc:
        print(f"warden init: {exc}", file=sys.stderr)
        return 2
    if privileges.postgres_user is not None and privileges.account is not None:
        from warden.server.service_user import hand_over

        hand_over(args.data_dir.resolve(), privileges.account, recursive=True)
    s = result.settings
    print(f"Initialised {args.data_dir.resolve()} for account {s.account_id} in {s.region}.")
    password = result.root_password.reveal()
    print(f"Root console password (shown once, stored only as a hash): {password}")
    print("The root user has no access keys; use the IAM user below.")
    print(f"Admin IAM user: {result.admin_arn} (group Administrators, AdministratorAccess)")
    print(_profile_hint(args.data_dir))
    return 0


def _cmd_server(args: argparse.Namespace) -> int:
    from warden.engines.errors import SetupError
    from warden.server.datadir import DataDirError, Settings
    from warden.server.run import serve
    from warden.store.keyring import KeyRingError

    privileges = _become_service_user("server", args.data_dir, initialising=False)
    if privileges is None:
        return 2
    try:
        settings = Settings.read(args.data_dir)
    except DataDirError as exc:
        print(f"warden server: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    if args.insecure_http and not _is_loopback(host):
        print(
            "warden server: --insecure-http is only allowed on a loopback address", file=sys.stderr
        )
        return 2
    try:
        return serve(
            args.data_dir.resolve(),
            host=host,
            port=port,
            store_url=args.store,
            insecure_http=args.insecure_http,
            banner=_profile_hint(args.data_dir),
            pg_bin=args.pg_bin,
            postgres_user=privileges.postgres_user,
        )
    except (DataDirError, KeyRingError, SetupError) as exc:
        print(f"warden server: {exc}", file=sys.stderr)
        return 2


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    if args.command == "init":
        return _cmd_init(args)
    return _cmd_server(args)


if __name__ == "__main__":
    sys.exit(main())
