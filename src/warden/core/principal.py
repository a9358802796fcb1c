"""Who is calling: the authenticated principal, as a value.

Built once per request by the authentication step and never changed afterwards.
The fields mirror what AWS puts in ``aws:Principal*`` condition keys and in the
``userIdentity`` block of a CloudTrail event.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class PrincipalType(enum.Enum):
    """The CloudTrail ``userIdentity.type`` / ``aws:PrincipalType`` values warden issues."""

    ROOT = "Root"
    IAM_USER = "IAMUser"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"


@dataclass(frozen=True, slots=True)
class Principal:
    arn: str  # the caller's ARN as GetCallerIdentity answers it
    type: PrincipalType
    account_id: str
    # GetCallerIdentity's UserId: AIDA… for users, the account id for root, AROA…:session for roles
    user_id: str
    access_key_id: str
    name: str  # user name, role session name, or "" for root
    temporary: bool = False
    mfa_authenticated: bool = False
    mfa_auth_time: datetime | None = None
    principal_arn: str = ""  # aws:PrincipalArn: the role ARN for assumed roles; else same as arn
    role_id: str = ""  # AROA… for assumed-role sessions
    session_policy: str | None = None  # the session policy documents (JSON list), if any
    session_tags: tuple[tuple[str, str], ...] = ()  # role session tags: win over the role's

    @property
    def policy_arn(self) -> str:
        return self.principal_arn or self.arn
