"""The deny matrix: every served operation, called by principals that hold no allow for it
(no policy, an explicit deny, an allow under a false condition), is refused with AWS's
AccessDenied; the same calls by a principal whose policy allows them are not.

Requests are real: botocore serializes random valid inputs for each operation and signs
them with the principal's key; the server's own pipeline (route, parse, authenticate,
authorize, handle, serialize) answers them in process. The allowed principal's calls
also must never answer a 5xx, whatever the random input.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, create_request_object, prepare_request_dict
from botocore.credentials import Credentials
from botocore.exceptions import ParamValidationError
from botocore.serialize import create_serializer

from warden.protocol.wire import WireRequest
from warden.server.app import Runtime, open_runtime
from warden.server.init import init
from warden.store.credentials import access_key_aad
from warden.store.schema import access_keys, iam_inline_policies, iam_users

ACCOUNT = "123456789012"
ENDPOINT = "https://127.0.0.1:9443"
ALWAYS_ALLOWED = {("sts", "GetCallerIdentity")}  # AWS allows it even under an explicit deny

POLICIES: dict[str, list[dict[str, Any]]] = {
    "nopolicy": [],
    "denied": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
    ],
    "falsecondition": [
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
        }
    ],
    "allowed": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Caller:
    name: str
    key: str
    secret: str


@pytest.fixture(scope="module")
def runtime(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Runtime, dict[str, Caller]]]:
    data = tmp_path_factory.mktemp("matrix") / "d"
    init(data, account_id=ACCOUNT)
    rt = open_runtime(data)
    callers = {}
    now = datetime.now(UTC)
    with rt.store.begin() as conn:
        for i, (name, statements) in enumerate(POLICIES.items()):
            user_id = f"AIDAMATRIX{i:011d}"
            conn.execute(
                iam_users.insert().values(
                    user_id=user_id,
                    account_id=ACCOUNT,
                    name=name,
                    name_lower=name,
                    path="/",
                    arn=f"arn:aws:iam::{ACCOUNT}:user/{name}",
                    created_at=now,
                    tags=[],
                )
            )
            if statements:
                conn.execute(
                    iam_inline_policies.insert().values(
                        account_id=ACCOUNT,
                        principal_type="user",
                        principal_id=user_id,
                        policy_name="p",
                        document=json.dumps({"Version": "2012-10-17", "Statement": statements}),
                    )
                )
            key, secret = f"AKIAMATRIX{i:010d}", f"secret-{name}-{'x' * 30}"
            conn.execute(
                access_keys.insert().values(
                    access_key_id=key,
                    account_id=ACCOUNT,
                    user_id=user_id,
                    status="Active",
                    secret_ciphertext=rt.ring.seal(secret.encode(), aad=access_key_aad(key)),
                    created_at=now,
                )
            )
            callers[name] = Caller(name, key, secret)
    yield rt, callers
    rt.close()


def _sample(rng: random.Random, model: Any, op: Any) -> dict[str, Any]:
    samples = str(Path(__file__).resolve().parents[1] / "protocol")
    if samples not in sys.path:
        sys.path.insert(0, samples)
    from protocol_samples import Sampler

    return Sampler(rng, model.metadata["protocol"], output=False, max_depth=3, budget=40).top(
        op.input_shape
    )


def _request(model: Any, op: Any, params: dict[str, Any], caller: Caller) -> WireRequest:
    serializer = create_serializer(model.metadata["protocol"], include_validation=True)
    request_dict = serializer.serialize_to_request(params, op)
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    prepared = create_request_object(request_dict)
    aws = AWSRequest(
        method=prepared.method, url=prepared.url, data=prepared.data, headers=prepared.headers
    )
    SigV4Auth(Credentials(caller.key, caller.secret), model.signing_name, "us-east-1").add_auth(aws)
    ready = aws.prepare()
    body = ready.body or b""
    if isinstance(body, str):
        body = body.encode()
    path, _, query = ready.url.removeprefix(ENDPOINT).partition("?")
    headers = tuple(
        (k.lower(), v if isinstance(v, str) else v.decode()) for k, v in ready.headers.items()
    )
    headers += (("host", ENDPOINT.removeprefix("https://")),)  # what the HTTP client adds
    return WireRequest(ready.method, path or "/", query, headers, body, "127.0.0.1", True)


def _code(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    if text.startswith("{"):
        return str(json.loads(text).get("__type", "")).rsplit("#", 1)[-1]
    start = text.find("<Code>")
    return text[start + 6 : text.find("</Code>")] if start >= 0 else ""


def _operations(rt: Runtime) -> list[tuple[str, str]]:
    return sorted((s, op) for s, svc in rt.pipeline.services.items() for op in svc.handlers)


def test_no_operation_is_reachable_without_an_allow(
    runtime: tuple[Runtime, dict[str, Caller]],
) -> None:
    rt, callers = runtime
    session = botocore.session.get_session()
    rng = random.Random(7)
    reachable: list[str] = []
    refused_for_allowed: list[str] = []
    server_errors: list[str] = []
    checked = 0
    for service, name in _operations(rt):
        model = session.get_service_model(service)
        op = model.operation_model(name)
        params = _sample(rng, model, op)
        for who in ("nopolicy", "denied", "falsecondition", "allowed"):
            resp = rt.pipeline.handle(_request(model, op, params, callers[who]))
            code = _code(resp.body) if resp.status >= 400 else ""
            denied = code in ("AccessDenied", "AccessDeniedException")
            if resp.status >= 500:
                server_errors.append(f"{service}:{name} as {who}: {resp.status} {code}")
            if who == "allowed":
                if denied:
                    refused_for_allowed.append(f"{service}:{name}")
            elif not denied and (service, name) not in ALWAYS_ALLOWED:
                reachable.append(f"{service}:{name} as {who}: {resp.status} {code}")
            checked += 1
    assert checked >= 4 * 100
    assert reachable == []
    assert refused_for_allowed == []
    assert server_errors == []


@pytest.mark.parametrize(
    ("service", "operation", "params", "light"),
    [
        ("sts", "GetCallerIdentity", {}, True),
        ("iam", "ListUsers", {}, True),
        ("secretsmanager", "GetSecretValue", {"SecretId": "missing"}, True),
        ("rds", "DescribeDBClusters", {}, True),
        # Reads that wait (for LastAccessedDate updates, for the audit trail), may build the
        # engine's template or create an AWS-managed key: never on the event loop.
        ("secretsmanager", "DescribeSecret", {"SecretId": "missing"}, False),
        ("rds", "DescribeDBClusterParameters", {"DBClusterParameterGroupName": "x"}, False),
        ("kms", "DescribeKey", {"KeyId": "alias/aws/secretsmanager"}, False),
        ("iam", "CreateUser", {"UserName": "light-test"}, False),
        ("secretsmanager", "PutSecretValue", {"SecretId": "x", "SecretString": "v"}, False),
        ("cloudtrail", "LookupEvents", {}, False),
    ],
)
def test_only_plain_reads_and_errors_may_finish_on_the_event_loop(
    runtime: tuple[Runtime, dict[str, Caller]],
    service: str,
    operation: str,
    params: dict[str, Any],
    light: bool,
) -> None:
    rt, callers = runtime
    model = botocore.session.get_session().get_service_model(service)
    req = _request(model, model.operation_model(operation), params, callers["allowed"])
    started = rt.pipeline.start(req)
    assert started.error is None and rt.pipeline.light(started) is light
    # A call stopped in the first steps (here: a bad signature) is always light.
    forged = dataclasses.replace(req, body=req.body + b" ")
    refused = rt.pipeline.start(forged)
    assert refused.error is not None and rt.pipeline.light(refused)
    assert rt.pipeline.finish(refused).status == 403


def test_every_call_light_enough_for_the_event_loop_finishes_there(
    runtime: tuple[Runtime, dict[str, Caller]],
) -> None:
    # On the event loop a writing transaction is refused (it would stall the server): a call
    # the pipeline deems light that tried one would answer 500 here.
    rt, callers = runtime
    session = botocore.session.get_session()
    rng = random.Random(11)
    finished_on_loop: list[str] = []
    failures: list[str] = []

    async def finish(started: Any) -> Any:
        return rt.pipeline.finish(started)

    for service, name in _operations(rt):
        model = session.get_service_model(service)
        op = model.operation_model(name)
        for params in ({}, _sample(rng, model, op)):
            try:
                req = _request(model, op, params, callers["allowed"])
            except ParamValidationError:
                continue  # {} for an operation with required members
            started = rt.pipeline.start(req)
            if started.error is not None or not rt.pipeline.light(started):
                continue
            finished_on_loop.append(f"{service}:{name}")
            resp = asyncio.run(finish(started))
            if resp.status >= 500:
                failures.append(f"{service}:{name} {params}: {resp.status} {_code(resp.body)}")
    assert "sts:GetCallerIdentity" in finished_on_loop and "iam:ListUsers" in finished_on_loop
    assert failures == []
