"""Secrets Manager in one run: rotation latency, a wave of due rotations, and GetSecretValue
throughput side by side with moto's server.

1. RotateSecret → the new AWSCURRENT logging in: a single-user secret of a real PostgreSQL
   (warden's engine, TLS verified against the data dir's CA) is rotated ``ROTATIONS`` times in
   a row; each sample runs from the RotateSecret call until GetSecretValue (polled every
   10 ms) returns the new version and a fresh TLS + SCRAM login with it succeeds (p50, p99).
2. A wave: ``WAVE`` secrets (each its own PostgreSQL user) are configured for rotation with
   ``RotateImmediately=false``, then made due at once by moving their ``next_rotation_at``
   into the past in the store (the only step that bypasses the API: it stands in for the
   calendar reaching their window). Measured: the time until all of them rotated, and the
   server's resident memory before and at its peak (VmHWM).
3. GetSecretValue at 16 concurrent clients (separate processes) against warden and against
   moto's server with IAM checks on, with ``bench/api.py``'s ``start_moto`` and ``measure``
   (and its no-work server beside them, the bound on the ratio);
   then the same servers' capacity when the 16 clients are light (``measure_replay``: one
   signed request replayed over urllib3), since boto3's own CPU per call is most of the
   machine's work in the first measurement.

Writes (or replaces) its own section of bench/RESULTS.md, leaving the others as they are.
Run: ``.venv/bin/python bench/secrets.py`` (BENCH_WAVE, BENCH_ROTATIONS, BENCH_SECONDS).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file shares its name with the standard library's ``secrets``, which warden and its
# dependencies import: the script's own directory goes last on the path, after the stdlib.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _HERE)] + [_HERE]

import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

import api

ROTATIONS = int(os.environ.get("BENCH_ROTATIONS", "50"))
WAVE = int(os.environ.get("BENCH_WAVE", "1000"))
FN = "arn:aws:lambda:us-east-1:{account}:function:SecretsManagerRDSPostgreSQLRotationSingleUser"
GSV = "secretsmanager:GetSecretValue"
HEADING = "## bench/secrets.py"

# bench/api.py's measure() runs CALLS[call] with the clients _clients(target) builds, in
# spawned worker processes; those re-import this script, so this extension applies there too.
_api_clients = api._clients


def _clients(target: dict[str, str]) -> dict[str, Any]:
    clients = _api_clients(target)
    kw: dict[str, Any] = {
        "endpoint_url": target["endpoint"],
        "region_name": "us-east-1",
        "aws_access_key_id": target["key"],
        "aws_secret_access_key": target["secret"],
        "config": api.CFG,
    }
    if target.get("ca"):
        kw["verify"] = target["ca"]
    clients["secretsmanager"] = boto3.client("secretsmanager", **kw)
    clients["secret_id"] = target["secret_id"]
    return clients


api._clients = _clients
api.CALLS[GSV] = lambda c: c["secretsmanager"].get_secret_value(SecretId=c["secret_id"])


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)]


def _settled(sm: Any, arn: str) -> None:
    """Wait until no rotation of ``arn`` is in progress (the configuration test is over)."""
    while any(
        "AWSPENDING" in s for s in sm.describe_secret(SecretId=arn)["VersionIdsToStages"].values()
    ):
        time.sleep(0.05)


def rotation_latency(sm: Any, db: Any, account: str) -> dict[str, float]:
    user, password = "bench_rot", "initial-" + uuid.uuid4().hex
    db.create_user(user, password)
    arn = sm.create_secret(
        Name="bench/rotation", SecretString=json.dumps(db.secret(user, password, ssl=True))
    )["ARN"]
    sm.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=FN.format(account=account),
        RotateImmediately=False,
        RotationRules={"AutomaticallyAfterDays": 30},
    )
    _settled(sm, arn)
    samples = []
    for _ in range(ROTATIONS):
        t0 = time.perf_counter()
        version = sm.rotate_secret(SecretId=arn)["VersionId"]
        while True:
            got = sm.get_secret_value(SecretId=arn)
            if got["VersionId"] == version:
                break
            time.sleep(0.01)  # a client waiting for the rotation; faster polls slow the server
        doc = json.loads(got["SecretString"])
        if not db.logs_in(doc["username"], doc["password"]):
            raise RuntimeError("the new AWSCURRENT does not log in")
        samples.append(time.perf_counter() - t0)
    return {
        "p50_ms": statistics.median(samples) * 1000,
        "p99_ms": _percentile(samples, 0.99) * 1000,
        "n": len(samples),
    }


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def wave(warden: Any, sm: Any, db: Any, account: str) -> dict[str, float]:
    import sqlalchemy as sa

    from warden.engines.postgres.scram import make_verifier
    from warden.store.db import Store
    from warden.store.schema import secretsmanager_secrets as secrets_t
    from warden.store.schema import secretsmanager_stages as stages_t

    arns = []
    with db.connect(db.master.username, db.master.password.reveal()) as conn:
        for i in range(WAVE):
            verifier = str(make_verifier(f"wave-initial-{i}"))
            conn.execute(f"CREATE ROLE wave_{i} LOGIN PASSWORD '{verifier}'")
    for i in range(WAVE):
        doc = db.secret(f"wave_{i}", f"wave-initial-{i}", ssl=True)
        arn = sm.create_secret(Name=f"bench/wave/{i}", SecretString=json.dumps(doc))["ARN"]
        sm.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=FN.format(account=account),
            RotateImmediately=False,
            RotationRules={"AutomaticallyAfterDays": 1},
        )
        arns.append(arn)
    store = Store.sqlite_in(Path(warden.data_dir))
    try:
        placeholders = (
            sa.select(sa.func.count())
            .select_from(stages_t)
            .where(stages_t.c.secret_arn.in_(arns), stages_t.c.stage == "AWSPENDING")
        )
        while True:  # the configuration tests of RotateImmediately=false have all run
            with store.read() as conn:
                if conn.execute(placeholders).scalar_one() == 0:
                    break
            time.sleep(0.5)
        time.sleep(3.0)
        rss_before = _memory_kib(warden.proc.pid, "VmRSS")
        start = datetime.now(UTC)
        with store.begin() as conn:
            conn.execute(
                sa.update(secrets_t)
                .where(secrets_t.c.arn.in_(arns))
                .values(next_rotation_at=start - timedelta(seconds=1))
            )
        t0 = time.perf_counter()
        done_q = (
            sa.select(sa.func.count())
            .select_from(secrets_t)
            .where(secrets_t.c.arn.in_(arns), secrets_t.c.last_rotated_at >= start)
        )
        while True:
            with store.read() as conn:
                done = conn.execute(done_q).scalar_one()
            if done == len(arns):
                break
            time.sleep(0.2)
        total = time.perf_counter() - t0
    finally:
        store.close()
    peak = _memory_kib(warden.proc.pid, "VmHWM")
    sample = json.loads(sm.get_secret_value(SecretId=arns[-1])["SecretString"])
    if not db.logs_in(sample["username"], sample["password"]):
        raise RuntimeError("a rotated wave secret does not log in")
    return {
        "n": len(arns),
        "seconds": total,
        "per_s": len(arns) / total,
        "rss_mib": rss_before / 1024,
        "peak_mib": peak / 1024,
    }


def throughput(warden: Any) -> dict[str, dict[str, float]]:
    key, secret = warden.credentials()
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=warden.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        verify=warden.ca,
        config=api.CFG,
    )
    w_id = sm.create_secret(Name="bench/gsv", SecretString="x" * 64)["ARN"]
    moto, m_target = api.start_moto()
    try:
        m_sm = boto3.client(
            "secretsmanager",
            endpoint_url=m_target["endpoint"],
            region_name="us-east-1",
            aws_access_key_id=m_target["key"],
            aws_secret_access_key=m_target["secret"],
            config=api.CFG,
        )
        m_target["secret_id"] = m_sm.create_secret(Name="bench/gsv", SecretString="x" * 64)["ARN"]
        w_target = {
            "endpoint": warden.endpoint,
            "key": key,
            "secret": secret,
            "ca": warden.ca,
            "secret_id": w_id,
        }
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.GetSecretValue",
        }
        w_body = json.dumps({"SecretId": w_id}).encode()
        no_work, n_target = api.start_no_work(
            warden, w_target, {GSV: ("secretsmanager", w_body, headers)}
        )
        try:
            w, m, n = api.measure([w_target, m_target, n_target], GSV, 16, warden.proc.pid)
        finally:
            no_work.terminate()
            no_work.wait()
        out = {"warden": w, "moto": m, "no-work": n}
        for name, target in (("warden", w_target), ("moto", m_target)):
            body = json.dumps({"SecretId": target["secret_id"]}).encode()
            before = api.cpu_seconds(warden.proc.pid)
            light = api.measure_replay(target, "secretsmanager", body, headers, 16)
            if name == "warden":  # warden's server CPU (moto's is not measured)
                spent = api.cpu_seconds(warden.proc.pid) - before
                light["server_cpu_ms"] = spent / light["calls"] * 1000
            out[name + " light"] = light
        return out
    finally:
        moto.terminate()
        moto.wait()


def main() -> None:
    from harness import Warden, clean_env, free_port
    from rotation_db import start_database

    # The machine's AWS_CA_BUNDLE would override the data dir's CA in the written profile.
    env = clean_env()  # read before the clear: it filters the live environment
    os.environ.clear()
    os.environ.update(env)

    tmp = Path(tempfile.mkdtemp(prefix="warden-bench-secrets-"))
    os.chmod(tmp, 0o711)  # started as root, warden runs as its service user: it must get in
    warden = Warden(tmp / "data", free_port())
    if warden.init("--account-id", "123456789012").returncode != 0:
        raise SystemExit("warden init failed")
    warden.start()
    db = start_database(tmp / "data" / "tls")
    try:
        sm: Any = warden.client("secretsmanager")
        rot = rotation_latency(sm, db, "123456789012")
        print(f"rotation: p50 {rot['p50_ms']:.1f} ms, p99 {rot['p99_ms']:.1f} ms", flush=True)
        wv = wave(warden, sm, db, "123456789012")
        print(
            f"wave: {wv['n']} in {wv['seconds']:.1f} s, peak {wv['peak_mib']:.0f} MiB", flush=True
        )
        gsv = throughput(warden)
        for name, got in gsv.items():
            print(f"GetSecretValue x16, {name}: {got['rps']:.0f}/s", flush=True)
    finally:
        db.close()
        warden.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    write_results(rot, wv, gsv)


def write_results(
    rot: dict[str, float], wv: dict[str, float], gsv: dict[str, dict[str, float]]
) -> None:
    w, m, n = gsv["warden"], gsv["moto"], gsv["no-work"]
    light = gsv["warden light"]["rps"], gsv["moto light"]["rps"]
    light_cpu = gsv["warden light"]["server_cpu_ms"]
    lines = [
        HEADING,
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}; warden, PostgreSQL 17",
        "(warden's engine, TLS verify-full against the data dir's CA, scram-sha-256) and the clients share it.",
        "",
        f"- RotateSecret → new AWSCURRENT logging in (single user, {rot['n']:.0f} rotations in a row, each from the",
        f"  call until GetSecretValue (polled every 10 ms) returns the new version and a fresh TLS + SCRAM login succeeds): p50 {rot['p50_ms']:.1f} ms, p99 {rot['p99_ms']:.1f} ms.",
        f"- A wave of {wv['n']:.0f} due secrets (single user, one PostgreSQL user each, 4 executors): all rotated in",
        f"  {wv['seconds']:.1f} s ({wv['per_s']:.0f} rotations/s); server RSS {wv['rss_mib']:.0f} MiB before, peak {wv['peak_mib']:.0f} MiB (VmHWM).",
        "",
        "| call | clients | warden req/s | warden p50 ms | warden p99 ms | moto req/s | moto p50 ms | moto p99 ms | warden/moto throughput |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {GSV} | 16 | {w['rps']:.0f} | {w['p50_ms']:.2f} | {w['p99_ms']:.2f} | {m['rps']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {w['rps'] / m['rps']:.2f}× |",
        "",
        f"The no-work server (`bench/no_work_server.py`: warden's HTTP and TLS set-up answering with warden's recorded response, nothing else) took its turns beside them: {n['rps']:.0f} req/s, {n['rps'] / m['rps']:.2f}× moto, a ratio warden's should not exceed here.",
        "",
        "warden: HTTPS, SigV4, authorizer (identity + resource policies), KMS envelope decryption per",
        "call, durable audit trail. moto: `moto_server`, HTTP, IAM checks on, in memory. The boto3",
        f"clients drive the three servers side by side, in turns of {api.SLICE:g} s ({api.DURATION:g} s each).",
        "",
        f"CPU per call: {w['client_cpu_ms']:.2f} ms in the boto3 clients, {w['server_cpu_ms']:.2f} ms in warden's server (all",
        "its threads over all three servers' turns, its idle background workers included). warden and moto with 16 light clients (one",
        f"request signed once and replayed over urllib3, counted over {gsv['warden light']['seconds']:.0f} and {gsv['moto light']['seconds']:.0f} s): warden {light[0]:.0f} req/s",
        f"({light_cpu:.2f} ms of server CPU per call), moto {light[1]:.0f} req/s, {light[0] / light[1]:.2f}×. The target (≥ 3×) is set on the",
        "boto3 row above.",
    ]
    api.replace_section(api.ROOT / "bench" / "RESULTS.md", HEADING, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
