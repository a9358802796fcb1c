"""Creating an account: root (console password only, no access keys), the admin
IAM user in group ``Administrators`` with ``AdministratorAccess``, and its key.

Runs once, at ``warden init``, in one store transaction: either everything exists
afterwards or nothing does.
"""

from __future__ import annotations

from dataclasses import dataclass

from warden.core.arn import iam_arn
from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.core.redacted import Redacted
from warden.store.credentials import access_key_aad
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import (
    access_keys,
    accounts,
    iam_attachments,
    iam_group_members,
    iam_groups,
    iam_users,
)

from .passwords import generate_password, hash_password

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ADMIN_GROUP = "Administrators"


@dataclass(frozen=True, slots=True)
class Bootstrapped:
    account_id: str
    root_password: Redacted[str]
    admin_user: str
    admin_arn: str
    access_key_id: str
    secret_access_key: Redacted[str]


def create_account(
    store: Store,
    ring: KeyRing,
    clock: Clock,
    ids: IdFactory,
    *,
    account_id: str,
    admin_user: str,
) -> Bootstrapped:
    now = clock.now()
    root_password = generate_password()
    user_id = ids.unique_id("AIDA")
    group_id = ids.unique_id("AGPA")
    user_arn = iam_arn(account_id, "user", admin_user)
    akid = ids.access_key_id("AKIA")
    secret = ids.secret_access_key()
    with store.begin() as conn:
        conn.execute(
            accounts.insert().values(
                account_id=account_id,
                created_at=now,
                root_password_hash=hash_password(root_password),
                root_user_id=account_id,
            )
        )
        conn.execute(
            iam_users.insert().values(
                user_id=user_id,
                account_id=account_id,
                name=admin_user,
                name_lower=admin_user.lower(),
                path="/",
                arn=user_arn,
                created_at=now,
                tags=[],
            )
        )
        conn.execute(
            iam_groups.insert().values(
                group_id=group_id,
                account_id=account_id,
                name=ADMIN_GROUP,
                name_lower=ADMIN_GROUP.lower(),
                path="/",
                arn=iam_arn(account_id, "group", ADMIN_GROUP),
                created_at=now,
            )
        )
        conn.execute(iam_group_members.insert().values(group_id=group_id, user_id=user_id))
        conn.execute(
            iam_attachments.insert().values(
                account_id=account_id,
                principal_type="group",
                principal_id=group_id,
                policy_arn=ADMIN_POLICY_ARN,
            )
        )
        conn.execute(
            access_keys.insert().values(
                access_key_id=akid,
                account_id=account_id,
                user_id=user_id,
                status="Active",
                secret_ciphertext=ring.seal(secret.encode(), aad=access_key_aad(akid)),
                created_at=now,
            )
        )
    return Bootstrapped(
        account_id=account_id,
        root_password=Redacted(root_password),
        admin_user=admin_user,
        admin_arn=user_arn,
        access_key_id=akid,
        secret_access_key=Redacted(secret),
    )
