"""Every served operation has an authz entry naming the IAM action of the Service
Authorization Reference, and names a real operation of the served model.

Checked on the runtime exactly as `warden server` wires it, so an operation added to a
service without an authz entry, or wired without one, fails here.
"""

from __future__ import annotations

from pathlib import Path

import botocore.session

from warden.server.app import open_runtime
from warden.server.init import init

# Operations whose IAM action is not named after the operation (per the SAR).
ACTION_EXCEPTIONS = {("kms", "ReEncrypt"): "kms:ReEncryptFrom"}


def test_every_served_operation_has_an_authz_entry(tmp_path: Path) -> None:
    init(tmp_path / "d", account_id="123456789012")
    runtime = open_runtime(tmp_path / "d")
    try:
        services = runtime.pipeline.services
        assert {"iam", "sts", "cloudtrail", "kms", "secretsmanager"} <= set(services)
        session = botocore.session.get_session()
        for name, svc in services.items():
            model = session.get_service_model(name)
            assert set(svc.handlers) == set(svc.authz), name
            for op, entry in svc.authz.items():
                assert op in model.operation_names, (name, op)
                prefix = "sts" if name == "sts" else model.signing_name
                expected = ACTION_EXCEPTIONS.get((name, op), f"{prefix}:{op}")
                assert entry.action == expected, (name, op, entry.action)
        assert "AssumeRole" in services["sts"].handlers
    finally:
        runtime.close()
