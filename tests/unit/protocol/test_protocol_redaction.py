"""The audit copy hides exactly what the model marks sensitive, and nothing else."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from protocol_samples import Sampler

from warden.protocol.dispatch import Wire
from warden.protocol.redaction import HIDDEN
from warden.protocol.specs import SERVED


def test_secret_values_are_hidden(wire: Wire) -> None:
    spec = wire.registry.spec("secretsmanager")
    params = {
        "Name": "prod/db",
        "SecretString": '{"password":"hunter2"}',
        "SecretBinary": b"\x00raw",
        "Tags": [{"Key": "team", "Value": "db"}],
        "ClientRequestToken": "t" * 32,
    }
    assert wire.redact(spec, "CreateSecret", params) == {
        "Name": "prod/db",
        "SecretString": HIDDEN,
        "SecretBinary": HIDDEN,
        "Tags": [{"Key": "team", "Value": "db"}],
        "ClientRequestToken": "t" * 32,
    }
    assert {"SecretString", "SecretBinary"} <= set(wire.sensitive_paths(spec, "CreateSecret"))


def test_passwords_are_hidden(wire: Wire) -> None:
    iam = wire.registry.spec("iam")
    login = {"UserName": "bob", "Password": "hunter2", "PasswordResetRequired": True}
    assert wire.redact(iam, "CreateLoginProfile", login) == {**login, "Password": HIDDEN}
    rds = wire.registry.spec("rds")
    cluster = {
        "DBClusterIdentifier": "c1",
        "Engine": "aurora-postgresql",
        "MasterUsername": "postgres",
        "MasterUserPassword": "hunter2hunter2",
        "VpcSecurityGroupIds": ["sg-1"],
        "NotAMember": "dropped",
    }
    assert wire.redact(rds, "CreateDBCluster", cluster) == {
        "DBClusterIdentifier": "c1",
        "Engine": "aurora-postgresql",
        "MasterUsername": "postgres",
        "MasterUserPassword": HIDDEN,
        "VpcSecurityGroupIds": ["sg-1"],
    }
    events = {"StartTime": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert wire.redact(rds, "DescribeEvents", events) == {"StartTime": "2024-01-02T03:04:05+00:00"}


def test_blobs_and_outputs(wire: Wire) -> None:
    ec2 = wire.registry.spec("ec2")
    key = {"KeyName": "k", "PublicKeyMaterial": b"ssh-ed25519 AAAA"}
    assert wire.redact(ec2, "ImportKeyPair", key) == {
        "KeyName": "k",
        "PublicKeyMaterial": base64.b64encode(b"ssh-ed25519 AAAA").decode(),
    }
    kms = wire.registry.spec("kms")
    assert wire.redact(kms, "Encrypt", {"KeyId": "k", "Plaintext": b"x"})["Plaintext"] == HIDDEN
    sts = wire.registry.spec("sts")
    credentials = {
        "AccessKeyId": "ASIA",
        "SecretAccessKey": "s",
        "SessionToken": "t",
        "Expiration": datetime(2030, 1, 1, tzinfo=UTC),
    }
    out = wire.redact_output(sts, "AssumeRole", {"Credentials": credentials})
    assert out["Credentials"]["SecretAccessKey"] == HIDDEN
    assert out["Credentials"]["AccessKeyId"] == "ASIA"
    assert wire.redact(sts, "GetCallerIdentity", {"Unknown": "dropped"}) == {}


def _reference(shape: Any, value: Any) -> Any:
    """An independent reading of the model's ``sensitive`` trait, on botocore's shapes."""
    if shape.metadata.get("sensitive"):
        return HIDDEN
    kind = shape.type_name
    if kind == "structure" and not shape.metadata.get("document"):
        return {k: _reference(shape.members[k], v) for k, v in value.items()}
    if kind == "list":
        return [_reference(shape.member, v) for v in value]
    if kind == "map":
        return {k: _reference(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return value.isoformat()
    if kind == "blob":
        return base64.b64encode(value).decode()
    return value


def _count(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count(v) for v in value)
    return int(value == HIDDEN)


@pytest.mark.parametrize("service", SERVED)
def test_every_operation_hides_exactly_the_sensitive_members(wire: Wire, service: str) -> None:
    spec = wire.registry.spec(service)
    hidden = 0
    for name in sorted(spec.operation_names):
        op = spec.model.operation_model(name)
        for direction, shape in (("in", op.input_shape), ("out", op.output_shape)):
            if shape is None:
                continue
            rng = random.Random(f"{service}:{name}:{direction}")
            value = Sampler(rng, spec.protocol, output=direction == "out").top(shape)
            redact = wire.redact if direction == "in" else wire.redact_output
            got = redact(spec, name, value)
            assert got == _reference(shape, value), (name, direction)
            hidden += _count(got)
    sensitive_services = {"rds", "ec2", "iam", "sts", "secretsmanager", "kms", "guardduty"}
    assert hidden > 0 or service not in sensitive_services
