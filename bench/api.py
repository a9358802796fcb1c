"""Signed API throughput and latency: warden side by side with moto's server, one run.

Both servers run on this machine on loopback ports, both with authentication on:
warden always (SigV4, the authorizer, a durable audit trail); moto with its IAM checks
turned on by ``INITIAL_NO_AUTH_ACTION_COUNT`` (the setup calls pass, every later call is
checked). The same boto3 calls (retries off) go to each at 1 and 16 concurrent clients
(separate processes, so the client's GIL is not the limit), side by side: the clients drive
the two servers in turns of ``SLICE`` seconds, so the machine's changes of speed during a
run (this one's vary up to twofold) reach both servers alike. A third server takes its turns
beside them: ``no_work_server.py``, the same HTTP and TLS set-up as warden doing no work,
the bound on what any server of that make gets from these clients here. A separate in-process
measurement times warden's server-side work per request (route, parse, verify,
authorize, handler, serialize, audit enqueue) without HTTP, by replaying a signed
request through the pipeline.

Writes bench/RESULTS.md. Run with `make bench`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/secrets.py shares its name with the standard library's ``secrets``, which boto3
# imports: this script's own directory goes last on the path, after the stdlib.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _HERE)] + [_HERE]

import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))

from harness import Warden, clean_env, free_port

HEADING = "## bench/api.py"
CFG = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=4)
DURATION = float(os.environ.get("BENCH_SECONDS", "8"))
CALLS: dict[str, Callable[[Any], Any]] = {
    "sts:GetCallerIdentity": lambda c: c["sts"].get_caller_identity(),
    "iam:ListUsers": lambda c: c["iam"].list_users(),
    # A describe call; no cluster exists on either server, so both answer an empty list.
    "rds:DescribeDBClusters": lambda c: c["rds"].describe_db_clusters(),
}


_FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
# Each call as one signed request: (service, body, headers).
REQUESTS: dict[str, tuple[str, bytes, dict[str, str]]] = {
    "sts:GetCallerIdentity": ("sts", b"Action=GetCallerIdentity&Version=2011-06-15", _FORM),
    "iam:ListUsers": ("iam", b"Action=ListUsers&Version=2010-05-08", _FORM),
    "rds:DescribeDBClusters": ("rds", b"Action=DescribeDBClusters&Version=2014-10-31", _FORM),
}


def _clients(target: dict[str, str]) -> dict[str, Any]:
    kw = {
        "endpoint_url": target["endpoint"],
        "region_name": "us-east-1",
        "aws_access_key_id": target["key"],
        "aws_secret_access_key": target["secret"],
        "config": CFG,
    }
    if target.get("ca"):
        kw["verify"] = target["ca"]
    return {s: boto3.client(s, **kw) for s in ("sts", "iam", "rds")}


WARM_UP = 20  # calls per client before the measured ones: connections, botocore's caches
SLICE = 1.0  # seconds each server is driven before the clients turn to the other
_turns: Any = None  # the barrier every client (and the conductor) meets at each turn


def _join(barrier: Any) -> None:
    global _turns
    _turns = barrier


def _worker(args: tuple[list[dict[str, str]], str, int]) -> list[tuple[list[float], float]]:
    """Per target: the latencies of the measured calls and the CPU seconds this client spent
    on them. The clients drive one target at a time, in turns of ``SLICE`` seconds, all
    together: every turn begins when each client (and the conductor) has finished the last
    call of the turn before, so no call to one server overlaps a turn of the other. The
    first turn of each target is not measured (its connections may have idled out while
    the slowest client warmed up)."""
    targets, call, turns = args
    try:
        clients = [_clients(t) for t in targets]
        fn = CALLS[call]
        for c in clients:
            for _ in range(WARM_UP):
                fn(c)
        out: list[tuple[list[float], float]] = [([], 0.0) for _ in targets]
        _turns.wait()  # everyone is warm: no time limit on the slowest to get there
        for turn in range(turns):
            i = turn % len(targets)
            lat: list[float] = []
            until = time.monotonic() + SLICE
            cpu = time.process_time()
            while time.monotonic() < until:
                t0 = time.perf_counter()
                fn(clients[i])
                lat.append(time.perf_counter() - t0)
            if turn >= len(targets):
                out[i] = (out[i][0] + lat, out[i][1] + time.process_time() - cpu)
            _turns.wait(60)
        return out
    except BaseException:
        _turns.abort()  # the others stop waiting at once; the pool reports this error
        raise


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    targets: list[dict[str, str]], call: str, clients: int, server_pid: int
) -> list[dict[str, float]]:
    """Throughput and latency of ``call`` at ``clients`` for each target, measured side by
    side: the clients take turns between the targets (``_worker``), ``DURATION`` seconds
    each in all, so a change in the machine's speed during the run reaches both alike.
    Also the clients' CPU per measured call, and for the first target the CPU of the
    process ``server_pid`` (all its threads) over the measured turns of all the targets,
    divided by the first target's calls: what it spends while the other target is driven
    (idle work, the end of its last turn's audit batch) is counted against it."""
    ctx = mp.get_context("spawn")
    measured = len(targets) * max(1, round(DURATION / SLICE))
    turns = len(targets) + measured  # one unmeasured turn per target first
    barrier = ctx.Barrier(clients + 1)
    with ctx.Pool(clients, initializer=_join, initargs=(barrier,)) as pool:
        pending = pool.map_async(_worker, [(targets, call, turns)] * clients)
        try:
            barrier.wait()  # the clients are warm
            for _ in range(len(targets)):
                barrier.wait(120)
            before = cpu_seconds(server_pid)
            for _ in range(measured):
                barrier.wait(120)
            server = cpu_seconds(server_pid) - before
        except threading.BrokenBarrierError:
            pending.get(120)  # a client failed: its own error says why
            raise
        done = pending.get(120)
    out = []
    for i in range(len(targets)):
        results = [r[i] for r in done]
        lat = sorted(x for r, _ in results for x in r)
        # Throughput over the target's turns: every client ran through the same turns.
        window = max(sum(r) for r, _ in results)
        out.append(
            {
                "rps": len(lat) / window,
                "p50_ms": statistics.median(lat) * 1000,
                "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
                "n": len(lat),
                "client_cpu_ms": sum(cpu for _, cpu in results) / len(lat) * 1000,
                "server_cpu_ms": server / len(lat) * 1000 if i == 0 else 0.0,
            }
        )
    return out


def _replay_worker(args: tuple[str, str, bytes, dict[str, str], float]) -> list[float]:
    import urllib3

    url, ca, body, headers, until = args
    pool = urllib3.PoolManager(ca_certs=ca or None, maxsize=1, retries=False)
    done: list[float] = []
    while time.time() < until:
        response = pool.request("POST", url, body=body, headers=headers)
        if response.status != 200:
            raise RuntimeError(f"replay answered {response.status}: {response.data[:200]!r}")
        done.append(time.time())
    return done


def measure_replay(
    target: dict[str, str], service: str, body: bytes, headers: dict[str, str], clients: int
) -> dict[str, float]:
    """Requests/s the server answers when ``clients`` processes replay one request, signed
    once, over urllib3: a client that costs a fraction of boto3's CPU per call, so the
    server, not the clients, is the limit. ``rps`` counts completions from 1 s after the
    last client's first answer (every client running) until the first client stops;
    ``calls`` is every call made."""
    url = target["endpoint"] + "/"
    signed = _signed(target, service, body, headers)
    stop = time.time() + 15.0 + DURATION  # room for the clients to start
    with mp.get_context("spawn").Pool(clients) as pool:
        results = pool.map(
            _replay_worker, [(url, target.get("ca", ""), body, signed, stop)] * clients
        )
    start = max(r[0] for r in results) + 1.0
    until = min(r[-1] for r in results)
    if until - start < DURATION / 2:
        raise RuntimeError(f"the clients overlapped for {until - start:.1f} s only")
    return {
        "rps": sum(1 for r in results for t in r if start <= t < until) / (until - start),
        "calls": sum(len(r) for r in results),
        "seconds": until - start,
    }


def _signed(
    target: dict[str, str], service: str, body: bytes, headers: dict[str, str]
) -> dict[str, str]:
    """``headers`` with a SigV4 signature of a POST of ``body`` to the target's endpoint."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=target["endpoint"] + "/", data=body, headers=headers)
    SigV4Auth(Credentials(target["key"], target["secret"]), service, "us-east-1").add_auth(request)
    return dict(request.prepare().headers.items())


def start_no_work(
    warden: Warden, target: dict[str, str], requests: dict[str, tuple[str, bytes, dict[str, str]]]
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """``no_work_server.py`` beside warden, answering each of ``requests`` with the response
    warden gave it just now, over warden's TLS certificate; and its target."""
    import json

    import urllib3

    from no_work_server import call_name

    pool = urllib3.PoolManager(ca_certs=target["ca"], retries=False)
    recorded = {}
    for service, body, headers in requests.values():
        response = pool.request(
            "POST",
            target["endpoint"] + "/",
            body=body,
            headers=_signed(target, service, body, headers),
        )
        if response.status != 200:
            raise RuntimeError(f"recording a response: {response.status} {response.data[:200]!r}")
        kept = [(k, v) for k, v in response.headers.items() if k.lower() != "date"]
        recorded[call_name({k.lower(): v for k, v in headers.items()}, body)] = {
            "status": response.status,
            "headers": kept,
            "body": response.data.decode(),
        }
    responses = warden.data_dir.parent / "no-work-responses.json"
    responses.write_text(json.dumps(recorded))
    port = free_port()
    tls = warden.data_dir / "tls"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve().parent / "no_work_server.py"),
            str(port),
            str(tls / "server.pem"),
            str(tls / "server.key"),
            str(responses),
        ],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(f"the no-work server exited {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, {**target, "endpoint": f"https://127.0.0.1:{port}"}
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the no-work server did not start listening")


def start_moto() -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    port = free_port()
    env = clean_env()
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"  # the three setup calls below, then IAM checks on
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # so AdministratorAccess can be attached
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="x" * 40,
        config=CFG,
    )
    for _ in range(100):
        try:
            iam.create_user(UserName="bench")
            break
        except Exception:
            time.sleep(0.1)
    iam.attach_user_policy(
        UserName="bench", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    return proc, {"endpoint": endpoint, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def serve(runtime: Any, req: Any) -> int:
    """One call the way the server answers a plain read on its event loop (app._serve);
    the response's status."""
    started = runtime.pipeline.start(req)
    if not runtime.pipeline.light(started):
        raise RuntimeError("the replayed call is not one the server answers on its loop")
    return int(runtime.finish_light(started).status)


def in_process(warden: Warden, n: int = 3000) -> dict[str, float]:
    """Server-side µs per request: the pipeline on a replayed signed request, no HTTP."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from warden.protocol.wire import WireRequest
    from warden.server.app import open_runtime

    key, secret = warden.credentials()
    runtime = open_runtime(warden.data_dir)
    out: dict[str, float] = {}
    try:
        for name, (service, body, request_headers) in REQUESTS.items():
            aws = AWSRequest(
                method="POST", url=warden.endpoint + "/", data=body, headers=request_headers
            )
            SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(aws)
            headers = tuple((k.lower(), v) for k, v in aws.prepare().headers.items())
            headers += (("host", f"127.0.0.1:{warden.port}"),)
            req = WireRequest("POST", "/", "", headers, body, "127.0.0.1", True)
            status = serve(runtime, req)
            if status != 200:
                raise RuntimeError(f"{name}: in-process replay answered {status}")
            for _ in range(200):
                serve(runtime, req)
            samples = []
            for _ in range(n):
                t0 = time.perf_counter()
                serve(runtime, req)
                samples.append(time.perf_counter() - t0)
            samples.sort()
            out[name] = statistics.median(samples) * 1e6
            out[name + " p99"] = samples[int(n * 0.99)] * 1e6
    finally:
        runtime.close()
    return out


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="warden-bench-"))
    warden = Warden(tmp / "data", free_port())
    if warden.init().returncode != 0:
        raise SystemExit("warden init failed")
    warden.start()
    key, secret = warden.credentials()
    w_target = {"endpoint": warden.endpoint, "key": key, "secret": secret, "ca": warden.ca}
    moto, m_target = start_moto()
    no_work = None
    rows = []
    try:
        no_work, n_target = start_no_work(warden, w_target, REQUESTS)
        for call in CALLS:
            for clients in (1, 16):
                w, m, n = measure([w_target, m_target, n_target], call, clients, warden.proc.pid)
                rows.append((call, clients, w, m, n))
                print(
                    call,
                    clients,
                    f"warden {w['rps']:.0f}/s",
                    f"moto {m['rps']:.0f}/s",
                    f"no-work {n['rps']:.0f}/s",
                    flush=True,
                )
        inproc = in_process(warden)
    finally:
        for proc in (no_work, moto):
            if proc is not None:
                proc.terminate()
                proc.wait()
        warden.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    write_results(rows, inproc)


Row = tuple[str, int, dict[str, float], dict[str, float], dict[str, float]]


def write_results(rows: list[Row], inproc: dict[str, float]) -> None:
    import platform

    lines = [
        HEADING,
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. Client and servers share the machine. The clients are separate",
        "processes using boto3 (retries off); they drive the three servers side by side, in turns of",
        f"{SLICE:g} s, {DURATION:g} s each per cell after a first unmeasured turn each (all servers stay up;",
        "a turn starts once every call of the turn before is answered). warden: HTTPS, SigV4, authorizer,",
        "durable audit trail (SQLite WAL, synchronous=FULL, group commit). moto: `moto_server`, HTTP,",
        "IAM checks on via `INITIAL_NO_AUTH_ACTION_COUNT`, in memory. no-work: `bench/no_work_server.py`,",
        "uvicorn with warden's HTTP protocol and TLS set-up answering each call with warden's recorded",
        "response and doing nothing else: warden's ratio over moto should not exceed this server's.",
        "",
        "| call | clients | warden req/s | warden p50 ms | warden p99 ms | moto req/s | moto p50 ms | moto p99 ms | warden/moto throughput | no-work req/s | no-work/moto |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for call, clients, w, m, n in rows:
        lines.append(
            f"| {call} | {clients} | {w['rps']:.0f} | {w['p50_ms']:.2f} | {w['p99_ms']:.2f} | "
            f"{m['rps']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {w['rps'] / m['rps']:.2f}× | "
            f"{n['rps']:.0f} | {n['rps'] / m['rps']:.2f}× |"
        )
    lines += [
        "",
        "CPU per call (ms): the clients' in warden's turns; the server's is all its threads over all",
        "servers' turns (background workers included) divided by warden's calls. A call's latency at",
        "one client is about the two added together.",
        "",
        "| call | clients | boto3 client | warden server |",
        "|---|---|---|---|",
    ]
    for call, clients, w, _, _ in rows:
        lines.append(
            f"| {call} | {clients} | {w['client_cpu_ms']:.2f} | {w['server_cpu_ms']:.2f} |"
        )
    lines += [
        "",
        "Server-side work per request, in process (no HTTP): route, parse, SigV4 verify, authorize,",
        "handler, serialize, audit enqueue; a replayed signed request, median (p99) over 3000 calls:",
        "",
    ]
    for name in CALLS:
        lines.append(f"- {name}: {inproc[name]:.0f} µs ({inproc[name + ' p99']:.0f} µs p99)")
    replace_section(ROOT / "bench" / "RESULTS.md", HEADING, lines)
    print("\n".join(lines))


def replace_section(path: Path, heading: str, lines: list[str]) -> None:
    """Write this benchmark's section of RESULTS.md where it was (at the end if new),
    keeping the other benchmarks' sections."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    sections = text.split("\n## ")
    head, rest = sections[0], ["## " + s for s in sections[1:]]
    body = "\n".join(lines).rstrip() + "\n"
    mine = [i for i, s in enumerate(rest) if s.startswith(heading)]
    if mine:
        rest[mine[0]] = body
        rest = [s for i, s in enumerate(rest) if i not in mine[1:]]
    else:
        rest.append(body)
    path.write_text("\n".join([head.rstrip() + "\n", *[s.rstrip() + "\n" for s in rest]]))


if __name__ == "__main__":
    main()
