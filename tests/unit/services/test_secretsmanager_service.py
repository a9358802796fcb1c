"""Secrets Manager operations over a real store, with a fixed clock.

KMS is replaced by ``AesDataKeys``, a TEST DOUBLE of the ``services.ports.DataKeys`` Protocol
that does real AES-256-GCM key wrapping with random master keys (the API tests use the real
KMS). Everything else is the production code: store, migrations, envelope, labels, jobs.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from warden.core.clock import FixedClock
from warden.core.ids import RandomIds
from warden.core.principal import Principal, PrincipalType
from warden.core.redacted import Redacted
from warden.services.context import CallContext
from warden.services.ports import (
    DataKey,
    KeyUnavailable,
    RotationInProgress,
    ServiceSecret,
    ServiceSecretError,
    ServiceSecretState,
)
from warden.services.secretsmanager import errors
from warden.services.secretsmanager.handlers import build, service_secrets
from warden.services.secretsmanager.password import PUNCTUATION, random_password
from warden.services.secretsmanager.rotation import ROTATE_JOB
from warden.store.db import Store
from warden.store.jobs import JobQueue
from warden.store.schema import accounts, jobs, secretsmanager_versions

ACCOUNT = "123456789012"
REGION = "us-east-1"
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
TOKEN = "a" * 36


class AesDataKeys:
    """TEST DOUBLE for ``DataKeys``: data keys wrapped with AES-GCM under per-key masters,
    the encryption context as associated data. ``disabled`` keys refuse like KMS would."""

    def __init__(self) -> None:
        self.masters = {"managed": secrets.token_bytes(32), "cmk": secrets.token_bytes(32)}
        self.disabled: set[str] = set()

    def _arn(self, name: str) -> str:
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}"

    def resolve_key(
        self, *, account_id: str, region: str, key_id: str | None, managed_alias: str
    ) -> str:
        name = "managed" if key_id is None else key_id.rsplit("/", 1)[-1]
        if name not in self.masters or name in self.disabled:
            raise KeyUnavailable(f"Key {name} is not usable", code="NotFoundException")
        return self._arn(name)

    def generate_data_key(
        self,
        *,
        account_id: str,
        region: str,
        key_id: str | None,
        managed_alias: str,
        encryption_context: Mapping[str, str],
        caller: CallContext | None = None,
    ) -> DataKey:
        arn = self.resolve_key(
            account_id=account_id, region=region, key_id=key_id, managed_alias=managed_alias
        )
        name = arn.rsplit("/", 1)[-1]
        plain = secrets.token_bytes(32)
        nonce = secrets.token_bytes(12)
        aad = json.dumps(dict(encryption_context), sort_keys=True).encode()
        blob = name.encode() + b"|" + nonce + AESGCM(self.masters[name]).encrypt(nonce, plain, aad)
        return DataKey(Redacted(plain), blob, arn)

    def decrypt_data_key(
        self,
        *,
        account_id: str,
        region: str,
        ciphertext_blob: bytes,
        encryption_context: Mapping[str, str],
        caller: CallContext | None = None,
    ) -> tuple[Redacted[bytes], str]:
        name, _, rest = ciphertext_blob.partition(b"|")
        key = name.decode()
        if key in self.disabled:
            raise KeyUnavailable(f"Key {key} is disabled", code="DisabledException")
        aad = json.dumps(dict(encryption_context), sort_keys=True).encode()
        try:
            plain = AESGCM(self.masters[key]).decrypt(rest[:12], rest[12:], aad)
        except InvalidTag:
            raise KeyUnavailable("invalid ciphertext", code="InvalidCiphertextException") from None
        return Redacted(plain), self._arn(key)


def _allow_all(ctx: CallContext, action: str, resource: str, **_: Any) -> str | None:
    return None


class Harness:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = FixedClock(T0)
        self.keys = AesDataKeys()
        self.jobs = JobQueue(store, self.clock, RandomIds())
        self.service = build(store, self.clock, RandomIds(), self.keys, _allow_all, self.jobs)

    def call(self, operation: str, **params: Any) -> Any:
        return self.call_on((), operation, **params)

    def call_on(self, authorized: tuple[str, ...], operation: str, **params: Any) -> Any:
        """A call authorized on ``authorized`` (the pipeline's resources; () for warden's own)."""
        principal = Principal(
            f"arn:aws:iam::{ACCOUNT}:user/t", PrincipalType.IAM_USER, ACCOUNT, "AIDA", "AKIA", "t"
        )

        def page(
            items: Sequence[Any], *, default_page: int = 100
        ) -> tuple[list[Any], dict[str, Any]]:
            return list(items), {}

        ctx = CallContext(
            "req",
            ACCOUNT,
            REGION,
            "secretsmanager",
            operation,
            principal,
            "127.0.0.1",
            "t",
            True,
            self.clock.now(),
            page,
            resources=authorized,
        )
        return self.service.handlers[operation](ctx, params)

    def versions(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute(sa.select(secretsmanager_versions)).mappings()]


@pytest.fixture
def sm(tmp_path: Path) -> Iterator[Harness]:
    store = Store.sqlite_in(tmp_path)
    with store.begin() as conn:
        conn.execute(
            accounts.insert().values(
                account_id=ACCOUNT, created_at=T0, root_password_hash="x", root_user_id=ACCOUNT
            )
        )
    yield Harness(store)
    store.close()


def _token(n: int) -> str:
    return f"{n:036d}"


def test_only_ciphertexts_are_stored_and_bound_to_their_version(sm: Harness) -> None:
    created = sm.call(
        "CreateSecret", Name="db", SecretString="plain-text-value", ClientRequestToken=TOKEN
    )
    rows = sm.versions()
    assert len(rows) == 1
    assert b"plain-text-value" not in rows[0]["ciphertext"]
    assert rows[0]["kms_key_arn"].endswith("key/managed")
    other = sm.call(
        "PutSecretValue", SecretId="db", SecretString="other", ClientRequestToken=_token(2)
    )
    with sm.store.begin() as conn:  # move v1's ciphertext onto v2: it must not open there
        conn.execute(
            sa.update(secretsmanager_versions)
            .where(secretsmanager_versions.c.version_id == other["VersionId"])
            .values(ciphertext=rows[0]["ciphertext"], data_key=rows[0]["data_key"])
        )
    with pytest.raises(errors.DecryptionFailure):
        sm.call("GetSecretValue", SecretId=created["ARN"])
    assert sm.call("GetSecretValue", SecretId="db", VersionStage="AWSPREVIOUS")["SecretString"] == (
        "plain-text-value"
    )


def test_client_request_token_idempotency(sm: Harness) -> None:
    sm.call("CreateSecret", Name="idem", SecretString="v1", ClientRequestToken=TOKEN)
    again = sm.call("CreateSecret", Name="idem", SecretString="v1", ClientRequestToken=TOKEN)
    assert again["VersionId"] == TOKEN
    with pytest.raises(errors.ResourceExistsException, match="already exists"):
        sm.call("CreateSecret", Name="idem", SecretString="v2", ClientRequestToken=_token(9))
    with pytest.raises(errors.ResourceExistsException, match="modify an existing version"):
        sm.call("CreateSecret", Name="idem", SecretString="v2", ClientRequestToken=TOKEN)
    put = sm.call(
        "PutSecretValue", SecretId="idem", SecretBinary=b"\x00\x01", ClientRequestToken=_token(3)
    )
    same = sm.call(
        "PutSecretValue", SecretId="idem", SecretBinary=b"\x00\x01", ClientRequestToken=_token(3)
    )
    assert put == same and len(sm.versions()) == 2
    with pytest.raises(errors.ResourceExistsException):
        sm.call(
            "PutSecretValue", SecretId="idem", SecretString="\x00\x01", ClientRequestToken=_token(3)
        )
    with pytest.raises(errors.ResourceExistsException):
        sm.call("UpdateSecret", SecretId="idem", SecretString="x", ClientRequestToken=_token(3))


def test_deprecated_versions_beyond_100_are_dropped_after_24_hours(sm: Harness) -> None:
    sm.call("CreateSecret", Name="busy", SecretString="0", ClientRequestToken=_token(0))
    for i in range(1, 106):
        sm.call(
            "PutSecretValue", SecretId="busy", SecretString=str(i), ClientRequestToken=_token(i)
        )
    assert len(sm.versions()) == 106  # all young: none may go yet
    sm.clock.advance(timedelta(hours=25))
    sm.call("PutSecretValue", SecretId="busy", SecretString="last", ClientRequestToken=_token(999))
    ids = {r["version_id"] for r in sm.versions()}
    assert len(ids) == 100
    assert _token(0) not in ids and _token(105) in ids and _token(104) in ids


def test_deletion_window_then_purge_and_name_reuse(sm: Harness) -> None:
    first = sm.call("CreateSecret", Name="gone", SecretString="x", ClientRequestToken=TOKEN)
    deleted = sm.call("DeleteSecret", SecretId="gone", RecoveryWindowInDays=7)
    assert deleted["DeletionDate"] == T0 + timedelta(days=7)
    with pytest.raises(errors.InvalidRequestException, match="marked for deletion"):
        sm.call("GetSecretValue", SecretId="gone")
    with pytest.raises(errors.InvalidRequestException, match="already scheduled for deletion"):
        sm.call("CreateSecret", Name="gone")
    assert sm.call("DescribeSecret", SecretId="gone")["DeletedDate"] == T0
    sm.clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(errors.ResourceNotFoundException):
        sm.call("DescribeSecret", SecretId=first["ARN"])
    second = sm.call("CreateSecret", Name="gone", SecretString="y", ClientRequestToken=TOKEN)
    assert second["ARN"] != first["ARN"]
    assert sm.call("GetSecretValue", SecretId="gone")["SecretString"] == "y"


def test_managed_secrets_change_only_through_their_service(sm: Harness) -> None:
    owned = service_secrets(sm.store, sm.clock, RandomIds(), sm.keys, sm.jobs)
    spec = ServiceSecret(
        account_id=ACCOUNT,
        region=REGION,
        name="rds!cluster-1",
        owning_service="rds",
        value=Redacted('{"username":"u","password":"p"}'),
        kms_key_id=None,
        description="Secret associated with primary RDS DB cluster: c",
        tags=(("aws:rds:primaryDBClusterArn", "c"),),
        rotation_days=7,
    )
    arn = owned.ensure(spec)
    assert owned.ensure(spec) == arn  # by name: a repeated create is the same secret
    described = sm.call("DescribeSecret", SecretId=arn)
    assert described["OwningService"] == "rds" and described["RotationEnabled"] is True
    assert described["RotationRules"] == {"AutomaticallyAfterDays": 7}
    assert described["Tags"] == [
        {"Key": "aws:rds:primaryDBClusterArn", "Value": "c"},
        {"Key": "aws:secretsmanager:owningService", "Value": "rds"},
    ]
    assert owned.owned("rds") == ((ACCOUNT, REGION, "rds!cluster-1", arn),)
    assert owned.state(ACCOUNT, REGION, arn) is ServiceSecretState.ACTIVE
    for operation, params in [
        ("DeleteSecret", {}),
        ("UpdateSecret", {"Description": "x"}),
        ("PutSecretValue", {"SecretString": "x", "ClientRequestToken": _token(5)}),
        ("UpdateSecretVersionStage", {"VersionStage": "X", "MoveToVersionId": _token(5)}),
        ("CancelRotateSecret", {}),
    ]:
        with pytest.raises(errors.InvalidRequestException, match="managed by rds"):
            sm.call(operation, SecretId=arn, **params)
    with pytest.raises(errors.InvalidRequestException, match="omit RotationLambdaARN"):
        sm.call(
            "RotateSecret",
            SecretId=arn,
            ClientRequestToken=_token(6),
            RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:f",
        )
    # Users may change the schedule (and rotate now): a managed rotation, no function.
    sm.call(
        "RotateSecret",
        SecretId=arn,
        ClientRequestToken=_token(6),
        RotationRules={"AutomaticallyAfterDays": 3},
    )
    assert sm.call("DescribeSecret", SecretId=arn)["RotationRules"] == {"AutomaticallyAfterDays": 3}
    assert owned.state(ACCOUNT, REGION, arn) is ServiceSecretState.ROTATING
    with pytest.raises(RotationInProgress):
        owned.rotate(ACCOUNT, REGION, arn)
    job = sm.jobs.claim("w", [ROTATE_JOB], lease=timedelta(minutes=1))
    assert job is not None
    sm.jobs.fail(job, "the owner refused the password", permanent=True)
    assert owned.state(ACCOUNT, REGION, arn) is ServiceSecretState.IMPAIRED
    owned.rotate(ACCOUNT, REGION, arn)  # rotate-now reattempts a rotation that stopped
    assert owned.state(ACCOUNT, REGION, arn) is ServiceSecretState.ROTATING
    with sm.store.read() as conn:
        queued = conn.execute(sa.select(jobs).where(jobs.c.kind == ROTATE_JOB)).mappings().all()
    assert [j["payload"]["function"] for j in queued] == [None]
    assert json.loads(sm.call("GetSecretValue", SecretId=arn)["SecretString"])["password"] == "p"
    with pytest.raises(ServiceSecretError, match="already exists"):
        owned.ensure(replace(spec, owning_service="other"))
    owned.delete(ACCOUNT, REGION, arn)
    owned.delete(ACCOUNT, REGION, arn)  # nothing left: still fine
    assert owned.state(ACCOUNT, REGION, arn) is ServiceSecretState.ABSENT
    with pytest.raises(errors.ResourceNotFoundException):
        sm.call("DescribeSecret", SecretId=arn)


def test_rotate_secret_stages_pending_and_enqueues_one_durable_job(sm: Harness) -> None:
    sm.call("CreateSecret", Name="rot", SecretString="s1", ClientRequestToken=TOKEN)
    with pytest.raises(errors.InvalidRequestException, match="No Lambda rotation function"):
        sm.call("RotateSecret", SecretId="rot", ClientRequestToken=_token(1))
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SecretsManagerRDSPostgreSQLRotationSingleUser"
    out = sm.call(
        "RotateSecret",
        SecretId="rot",
        ClientRequestToken=_token(1),
        RotationLambdaARN=fn,
        RotationRules={"AutomaticallyAfterDays": 30},
    )
    assert out["VersionId"] == _token(1)
    again = sm.call("RotateSecret", SecretId="rot", ClientRequestToken=_token(1))
    assert again == out  # a retry of the same call
    described = sm.call("DescribeSecret", SecretId="rot")
    assert described["VersionIdsToStages"] == {TOKEN: ["AWSCURRENT"], _token(1): ["AWSPENDING"]}
    assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == fn
    assert described["NextRotationDate"] == datetime(2030, 1, 31, 23, 59, 59, tzinfo=UTC)
    with sm.store.read() as conn:
        queued = conn.execute(sa.select(jobs).where(jobs.c.kind == ROTATE_JOB)).mappings().all()
    assert len(queued) == 1
    assert queued[0]["payload"]["version_id"] == _token(1)
    assert queued[0]["payload"]["mode"] == "rotate" and queued[0]["payload"]["function"] == fn
    with pytest.raises(errors.ResourceNotFoundException, match="VersionId"):
        sm.call("GetSecretValue", SecretId="rot", VersionId=_token(1), VersionStage="AWSPENDING")
    with pytest.raises(errors.InvalidRequestException, match="previous rotation isn't complete"):
        sm.call("RotateSecret", SecretId="rot", ClientRequestToken=_token(2))
    # createSecret's PutSecretValue fills the placeholder; AWSCURRENT is untouched.
    sm.call(
        "PutSecretValue",
        SecretId="rot",
        SecretString="s2",
        ClientRequestToken=_token(1),
        VersionStages=["AWSPENDING"],
    )
    assert sm.call("GetSecretValue", SecretId="rot")["SecretString"] == "s1"
    cancelled = sm.call("CancelRotateSecret", SecretId="rot")
    assert cancelled["VersionId"] == _token(1)
    described = sm.call("DescribeSecret", SecretId="rot")
    assert described["RotationEnabled"] is False and "NextRotationDate" not in described


def test_last_accessed_is_a_date(sm: Harness) -> None:
    sm.call("CreateSecret", Name="acc", SecretString="x", ClientRequestToken=TOKEN)
    assert "LastAccessedDate" not in sm.call("DescribeSecret", SecretId="acc")
    sm.call("GetSecretValue", SecretId="acc")
    assert sm.call("DescribeSecret", SecretId="acc")["LastAccessedDate"] == datetime(
        2030, 1, 1, tzinfo=UTC
    )


def test_new_kms_key_reencrypts_labelled_versions(sm: Harness) -> None:
    sm.call("CreateSecret", Name="rekey", SecretString="one", ClientRequestToken=_token(1))
    sm.call("PutSecretValue", SecretId="rekey", SecretString="two", ClientRequestToken=_token(2))
    sm.call("UpdateSecret", SecretId="rekey", KmsKeyId="alias/cmk")
    assert {r["kms_key_arn"].rsplit("/", 1)[-1] for r in sm.versions()} == {"cmk"}
    sm.keys.disabled.add("managed")
    assert (
        sm.call("GetSecretValue", SecretId="rekey", VersionStage="AWSPREVIOUS")["SecretString"]
        == "one"
    )
    assert sm.call("DescribeSecret", SecretId="rekey")["KmsKeyId"] == "alias/cmk"
    sm.keys.disabled.add("cmk")
    with pytest.raises(errors.DecryptionFailure):
        sm.call("GetSecretValue", SecretId="rekey")
    with pytest.raises(errors.EncryptionFailure):
        sm.call("PutSecretValue", SecretId="rekey", SecretString="3", ClientRequestToken=_token(3))
    with pytest.raises(errors.EncryptionFailure):
        sm.call("CreateSecret", Name="nokey", KmsKeyId="alias/missing")


def test_random_passwords_follow_every_parameter() -> None:
    assert len(random_password({})) == 32
    for _ in range(20):
        pw = random_password({"PasswordLength": 4, "ExcludeCharacters": "abc"})
        assert len(pw) == 4 and not set(pw) & set("abc")
        assert any(c.isupper() for c in pw) and any(c.islower() for c in pw)
        assert any(c.isdigit() for c in pw) and any(c in PUNCTUATION for c in pw)
    only_digits = random_password(
        {
            "ExcludeUppercase": True,
            "ExcludeLowercase": True,
            "ExcludePunctuation": True,
            "PasswordLength": 50,
        }
    )
    assert only_digits.isdigit() and len(only_digits) == 50
    assert " " in random_password(
        {
            "IncludeSpace": True,
            "ExcludeUppercase": True,
            "ExcludeLowercase": True,
            "ExcludeNumbers": True,
            "ExcludePunctuation": True,
            "PasswordLength": 3,
        }
    )
    with pytest.raises(errors.InvalidParameterException, match="too short"):
        random_password({"PasswordLength": 3})
    assert len(random_password({"PasswordLength": 3, "RequireEachIncludedType": False})) == 3
    with pytest.raises(errors.InvalidParameterException, match="every character type"):
        random_password(
            {
                "ExcludeUppercase": True,
                "ExcludeLowercase": True,
                "ExcludeNumbers": True,
                "ExcludePunctuation": True,
            }
        )
    with pytest.raises(errors.ValidationException, match="less than or equal to 4096"):
        random_password({"PasswordLength": 4097})


def test_secret_record_is_frozen(sm: Harness) -> None:
    created = sm.call("CreateSecret", Name="frozen")
    from warden.services.context import Scope
    from warden.services.secretsmanager.authz import SecretLookup

    record = SecretLookup(sm.store, sm.clock).record(
        Scope(ACCOUNT, REGION, "arn:aws:iam::123456789012:root"), {"SecretId": "frozen"}
    )
    assert record is not None and record.arn == created["ARN"]
    with pytest.raises(AttributeError):
        record.name = "x"  # type: ignore[misc]
    assert replace(record, name="y").name == "y"


def test_every_operation_has_its_sar_authz_entry(sm: Harness) -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("secretsmanager")
    service = sm.service
    assert set(service.handlers) == set(service.authz)
    unserved = set(model.operation_names) - set(service.handlers)
    assert unserved == {
        "AssociateCrossAccountReplica",
        "DisassociateCrossAccountReplica",
        "ListResourcePolicies",
        "RemoveRegionsFromReplication",
        "ReplicateSecretToRegions",
        "StopReplicationToReplica",
    }
    for operation, entry in service.authz.items():
        assert entry.action == f"secretsmanager:{operation}"
    from warden.services.context import Scope

    scope = Scope(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:root")
    created = sm.call("CreateSecret", Name="authz/x", Tags=[{"Key": "team", "Value": "blue"}])
    get = service.authz["GetSecretValue"]
    params = {"SecretId": "authz/x", "VersionStage": "AWSCURRENT"}
    assert get.resources(scope, params) == (created["ARN"],)
    assert get.resource_tags is not None and get.resource_tags(scope, params) == {"team": "blue"}
    assert get.conditions is not None
    keys = get.conditions(scope, params)
    assert keys["secretsmanager:SecretId"] == created["ARN"]
    assert keys["secretsmanager:ResourceTag/team"] == "blue"
    assert keys["secretsmanager:VersionStage"] == "AWSCURRENT"
    absent = get.resources(scope, {"SecretId": "authz/none"})
    assert absent == (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:authz/none-??????",)
    create = service.authz["CreateSecret"]
    assert create.resources(scope, {"Name": "n"})[0].endswith(":secret:n-??????")
    assert service.authz["ListSecrets"].resources(scope, {}) == ("*",)
    assert service.authz["GetSecretValue"].read_only
    assert not service.authz["PutSecretValue"].read_only


@pytest.mark.postgres
def test_the_main_flow_on_postgresql(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        with store.begin() as conn:
            conn.execute(
                accounts.insert().values(
                    account_id=ACCOUNT, created_at=T0, root_password_hash="x", root_user_id=ACCOUNT
                )
            )
        sm = Harness(store)
        sm.call("CreateSecret", Name="pg", SecretString="one", ClientRequestToken=_token(1))
        sm.call(
            "PutSecretValue",
            SecretId="pg",
            SecretString="two",
            ClientRequestToken=_token(2),
            VersionStages=["AWSPENDING"],
        )
        sm.call(
            "UpdateSecretVersionStage",
            SecretId="pg",
            VersionStage="AWSCURRENT",
            MoveToVersionId=_token(2),
            RemoveFromVersionId=_token(1),
        )
        assert sm.call("GetSecretValue", SecretId="pg")["SecretString"] == "two"
        assert sm.call("DescribeSecret", SecretId="pg")["VersionIdsToStages"] == {
            _token(1): ["AWSPREVIOUS"],
            _token(2): ["AWSCURRENT", "AWSPENDING"],
        }
        sm.call(
            "RotateSecret",
            SecretId="pg",
            ClientRequestToken=_token(3),
            RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:f",
        )
        sm.call("DeleteSecret", SecretId="pg", ForceDeleteWithoutRecovery=True)
        with pytest.raises(errors.ResourceNotFoundException):
            sm.call("DescribeSecret", SecretId="pg")
        assert sm.versions() == []


def test_a_handler_serves_only_the_secret_the_call_was_authorized_on(sm: Harness) -> None:
    # The race: authorized on one secret, whose name now means another (deleted, re-created).
    first = sm.call("CreateSecret", Name="raced", SecretString="v1", ClientRequestToken=TOKEN)
    sm.call("DeleteSecret", SecretId="raced", ForceDeleteWithoutRecovery=True)
    second = sm.call("CreateSecret", Name="raced", SecretString="v2", ClientRequestToken=_token(5))
    assert first["ARN"] != second["ARN"]
    for operation, extra in (
        ("GetSecretValue", {}),
        ("DescribeSecret", {}),
        ("PutSecretValue", {"SecretString": "v3", "ClientRequestToken": _token(6)}),
        ("DeleteSecret", {"RecoveryWindowInDays": 7}),
    ):
        with pytest.raises(errors.ResourceNotFoundException):
            sm.call_on((first["ARN"],), operation, SecretId="raced", **extra)
    # A forced delete of a secret that is not there succeeds, as in AWS, deleting nothing.
    sm.call_on((first["ARN"],), "DeleteSecret", SecretId="raced", ForceDeleteWithoutRecovery=True)
    assert sm.call("DescribeSecret", SecretId="raced")["ARN"] == second["ARN"]
    served = sm.call_on((second["ARN"],), "GetSecretValue", SecretId="raced")
    assert served["SecretString"] == "v2"
    assert sm.call_on(("*",), "GetSecretValue", SecretId="raced")["ARN"] == second["ARN"]
