"""The IAM credential report: GenerateCredentialReport / GetCredentialReport.

Owns the ``iam_credential_reports`` row of each account: one CSV with AWS's columns, in
AWS's order, one row for the root user (``<root_account>``) and one per IAM user, with
AWS's special values (``not_supported`` for the root's password columns, ``N/A`` when
there is no password or key or it was never used, ``no_information`` for a password
never used). Booleans are lowercase ``true``/``false``; times are ISO 8601 UTC with an
offset, as AWS writes them.

As in AWS a report is regenerated at most every four hours: within that window
GenerateCredentialReport answers COMPLETE and leaves the stored report alone; a report
older than that is expired for GetCredentialReport. Generation is synchronous (it
reads a few rows per user), so the first call answers STARTED and the report is
already complete when it returns; ReportInProgress never happens.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping

from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import (
    access_keys,
    accounts,
    iam_credential_reports,
    iam_login_profiles,
    iam_mfa_devices,
    iam_password_policies,
    iam_users,
)

from .mfa_errors import ReportExpired, ReportNotPresent

REPORT_LIFETIME = timedelta(hours=4)
ROOT_USER = "<root_account>"
COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
NA = "N/A"
NOT_SUPPORTED = "not_supported"
NO_INFORMATION = "no_information"
STARTED_DESCRIPTION = "No report exists. Starting a new report generation task"


def _time(value: datetime | None, missing: str = NA) -> str:
    if value is None:
        return missing
    return value.replace(microsecond=0).isoformat()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _key_columns(keys: Sequence[RowMapping]) -> list[str]:
    """The ten access-key columns: the two keys in creation order."""
    out: list[str] = []
    for i in range(2):
        if i < len(keys):
            k = keys[i]
            used = k["last_used_at"]
            out += [
                _bool(k["status"] == "Active"),
                _time(k["created_at"]),
                _time(used),
                (k["last_used_region"] or NA) if used else NA,
                (k["last_used_service"] or NA) if used else NA,
            ]
        else:
            out += ["false", NA, NA, NA, NA]
    return out


def _certificate_columns() -> list[str]:
    # warden has no signing certificates (UploadSigningCertificate is not served).
    return ["false", NA, "false", NA]


def _max_password_age(policy: Any) -> int:
    if isinstance(policy, Mapping):
        value = policy.get("MaxPasswordAge")
        if isinstance(value, int) and value > 0:
            return value
    return 0


class CredentialReports:
    def __init__(self, store: Store) -> None:
        self._store = store

    def generate_credential_report(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        with self._store.begin() as conn:
            current = conn.execute(
                sa.select(iam_credential_reports.c.generated_at).where(
                    iam_credential_reports.c.account_id == ctx.account_id
                )
            ).scalar()
            if current is not None and ctx.now - current < REPORT_LIFETIME:
                return {"State": "COMPLETE"}
            content = self._render(conn, ctx.account_id)
            conn.execute(
                iam_credential_reports.delete().where(
                    iam_credential_reports.c.account_id == ctx.account_id
                )
            )
            conn.execute(
                iam_credential_reports.insert().values(
                    account_id=ctx.account_id, generated_at=ctx.now, content=content
                )
            )
        return {"State": "STARTED", "Description": STARTED_DESCRIPTION}

    def get_credential_report(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.read() as conn:
            row = conn.execute(
                sa.select(iam_credential_reports).where(
                    iam_credential_reports.c.account_id == ctx.account_id
                )
            ).first()
        if row is None:
            raise ReportNotPresent(
                message="The credential report does not exist. To generate a credential report, "
                "use GenerateCredentialReport."
            )
        if ctx.now - row.generated_at >= REPORT_LIFETIME:
            raise ReportExpired(
                message="The most recent credential report has expired. To generate a new "
                "credential report, use GenerateCredentialReport."
            )
        return {
            "Content": bytes(row.content),
            "ReportFormat": "text/csv",
            "GeneratedTime": row.generated_at,
        }

    # -- rendering -------------------------------------------------------------------

    def _render(self, conn: sa.Connection, account: str) -> bytes:
        created = conn.execute(
            sa.select(accounts.c.created_at).where(accounts.c.account_id == account)
        ).scalar()
        users = list(
            conn.execute(
                sa.select(iam_users)
                .where(iam_users.c.account_id == account)
                .order_by(iam_users.c.name_lower)
            ).mappings()
        )
        keys: dict[str | None, list[RowMapping]] = defaultdict(list)
        for key in conn.execute(
            sa.select(access_keys)
            .where(access_keys.c.account_id == account)
            .order_by(access_keys.c.created_at, access_keys.c.access_key_id)
        ).mappings():
            keys[key["user_id"]].append(key)
        mfa_owners = set(
            conn.execute(
                sa.select(iam_mfa_devices.c.user_id).where(
                    iam_mfa_devices.c.account_id == account,
                    iam_mfa_devices.c.enabled_at.is_not(None),
                )
            ).scalars()
        )
        logins = {
            row["user_id"]: row
            for row in conn.execute(
                sa.select(iam_login_profiles)
                .join(iam_users, iam_users.c.user_id == iam_login_profiles.c.user_id)
                .where(iam_users.c.account_id == account)
            ).mappings()
        }
        max_age = _max_password_age(
            conn.execute(
                sa.select(iam_password_policies.c.policy).where(
                    iam_password_policies.c.account_id == account
                )
            ).scalar()
        )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerow(
            [
                ROOT_USER,
                f"arn:aws:iam::{account}:root",
                _time(created),
                NOT_SUPPORTED,
                NO_INFORMATION,
                NOT_SUPPORTED,
                NOT_SUPPORTED,
                _bool(None in mfa_owners),
                *_key_columns(keys[None]),
                *_certificate_columns(),
            ]
        )
        for user in users:
            writer.writerow(
                [
                    user["name"],
                    user["arn"],
                    _time(user["created_at"]),
                    *_password_columns(user, logins.get(user["user_id"]), max_age),
                    _bool(user["user_id"] in mfa_owners),
                    *_key_columns(keys[user["user_id"]]),
                    *_certificate_columns(),
                ]
            )
        return out.getvalue().encode("utf-8")


def _password_columns(user: RowMapping, login: RowMapping | None, max_age: int) -> list[str]:
    """password_enabled, password_last_used, password_last_changed, password_next_rotation."""
    if login is None:
        return ["false", NA, NA, NA]
    changed: datetime = login["password_last_changed"]
    rotation = _time(changed + timedelta(days=max_age)) if max_age else NA
    return [
        "true",
        _time(user["password_last_used"], NO_INFORMATION),
        _time(changed),
        rotation,
    ]
