"""Benchmark of the GitHub App on loopback: acknowledgement latency and throughput.

Three processes: the fake GitHub API (tests/fake_github.py), the App
(started as in production: ``python -m guardian_app.serve``, uvicorn with the h11
parser and the server limits of ``guardian_app.serve``; ``--uvicorn-factory`` starts
it the earlier way, ``uvicorn --factory guardian_app.main:create_app`` with uvicorn's
own choices) and this script, which sends signed webhook deliveries over HTTP.

1. Throughput: N pull requests of 10 changed files, then M of 300, are
   delivered at once; evaluations per minute = PRs / time until the fake
   has every check run completed (each evaluation: the pull request, trees,
   files, blobs, check run with annotations, commit status, comment).
2. Acknowledgement: rounds of 50 concurrent signed ``pull_request``
   deliveries; the time from sending each request to its 202, p50/p99/max,
   measured while the App's workers evaluate what earlier rounds queued.

``--store postgres`` measures both again with two App instances sharing a
PostgreSQL database (a throwaway server from ``tests/pg.py``, with
PostgreSQL's default durability: fsync and synchronous commits on), the
deliveries spread over both, beside the single-instance SQLite figures of
the same run.

Run from the repository root: ``python bench/bench_app.py [--store postgres]``.
Figures depend on the machine; the fake API server shares it with the App.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_github import (  # noqa: E402 - after the path set-up
    REQUIRED_IGNORES,
    FakeGitHub,
    make_key,
    pull_request_event,
    sign,
)

SECRET = "bench-webhook-secret"


def _pr_files(count: int, seed: int) -> dict[str, bytes]:
    files = {f"pkg/m{seed}/mod_{i:03d}.py": b"import atomizer\nVALUE = %d\n" % (i + seed) for i in range(count - 1)}
    # One offending file per PR, so every evaluation reports findings.
    files[f"pkg/m{seed}/legacy.py"] = b'import optimization_engine.core\nOUT = "C:\\\\runs\\\\%d"\n' % seed
    return files


def _fake_process(conn: object, public_pem: bytes, plan: dict[str, tuple[int, int]]) -> None:
    """Serve a fake GitHub holding the benchmark's repositories (name -> (PRs, files each)) until told to stop."""
    fake = FakeGitHub(public_pem).start()
    events: dict[str, list[dict[str, object]]] = {}
    base_files = {".gitignore": REQUIRED_IGNORES.encode(), "README.md": b"# bench\n", "src/atomizer/__init__.py": b""}
    for name, (count, size) in plan.items():
        repo = fake.add_repo(name)
        base = repo.commit(base_files, "base")
        events[name] = []
        for number in range(1, count + 1):
            head = repo.commit({**base_files, **_pr_files(size, number)}, f"pr {number}")
            repo.open_pr(number, base, head)
            events[name].append(pull_request_event(repo, number, "opened"))
    conn.send({"url": fake.url, "events": events})  # type: ignore[attr-defined]
    # "reset": a configuration starts with a full rate limit (the fake counts one for every caller).
    while conn.recv() == "reset":  # type: ignore[attr-defined]
        with fake.lock:
            fake.rate_remaining = 5000
    fake.stop()


def _start_app(
    fake_url: str, key_file: str, db_path: str, workers: int, stack: list[str] | None, database_url: str = ""
) -> tuple[subprocess.Popen[bytes], str, socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARDIAN_")}
    env.update(
        GUARDIAN_WEBHOOK_SECRET=SECRET,
        GUARDIAN_APP_ID="4242",
        GUARDIAN_PRIVATE_KEY_PATH=key_file,
        GUARDIAN_GITHUB_API_URL=fake_url,
        GUARDIAN_DB_PATH=db_path,
        GUARDIAN_WORKERS=str(workers),
        GUARDIAN_RECONCILE_LIMIT="0",
        GUARDIAN_LOG_LEVEL="WARNING",
        GUARDIAN_POLL_INTERVAL="0.2",
        GUARDIAN_REDELIVER_INTERVAL="0",
    )
    if database_url:
        env["GUARDIAN_DATABASE_URL"] = database_url
    if stack is None:
        cmd = [sys.executable, "-m", "guardian_app.serve", "--fd", str(sock.fileno())]
    else:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "guardian_app.main:create_app",
            "--fd",
            str(sock.fileno()),
            "--no-access-log",
            *stack,
        ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, pass_fds=[sock.fileno()], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url, sock
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the App did not start")
        time.sleep(0.05)


def _delivery(payload: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a signed delivery, as GitHub sends it."""
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/bench",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": secrets.token_hex(16),
        "X-Hub-Signature-256": sign(SECRET, body),
    }
    return body, headers


async def _send(client: httpx.AsyncClient, url: str, payload: dict[str, object]) -> None:
    body, headers = _delivery(payload)
    response = await client.post(f"{url}/webhook", content=body, headers=headers)
    if response.status_code != 202:
        raise SystemExit(f"unexpected answer {response.status_code}: {response.text}")


async def _throughput(urls: list[str], fake_url: str, repo: str, events: list[dict[str, object]]) -> float:
    """Deliver every PR at once (spread over the instances); seconds until each has a completed check run."""
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_send(client, urls[i % len(urls)], e) for i, e in enumerate(events)))
        while True:
            stats = (await client.get(f"{fake_url}/_fake/stats")).json()
            if stats["completed_check_runs"].get(repo, 0) >= len(events):
                break
            await asyncio.sleep(0.02)
        return time.perf_counter() - started


async def _timed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> float:
    """Send one prepared request on a kept-alive connection; seconds until the answer is read."""
    started = time.perf_counter()
    writer.write(request)
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    elapsed = time.perf_counter() - started
    if not status.startswith(b"HTTP/1.1 202"):
        raise SystemExit(f"unexpected answer {status!r}")
    return elapsed


async def _acks(urls: list[str], events: list[dict[str, object]], rounds: int, concurrency: int) -> list[float]:
    """Rounds of ``concurrency`` deliveries sent at once, one per kept-alive
    connection (the connections spread over the instances). Requests are
    serialised before the clock starts, so the figures are the App's (a
    load generator's job, as wrk does it)."""
    addresses = [url.removeprefix("http://").partition(":")[::2] for url in urls]
    connections = []
    for i in range(concurrency):
        host, port = addresses[i % len(addresses)]
        connections.append(await asyncio.open_connection(host, int(port)))
    latencies: list[float] = []
    try:
        for r in range(rounds):
            requests = []
            for i in range(concurrency):
                body, headers = _delivery(events[(r * concurrency + i) % len(events)])
                host, port = addresses[i % len(addresses)]
                head = f"POST /webhook HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
                requests.append(head.encode() + body)
            round_latencies = await asyncio.gather(
                *(_timed(rd, wr, req) for (rd, wr), req in zip(connections, requests, strict=True))
            )
            latencies.extend(round_latencies)
            if os.environ.get("BENCH_ROUNDS"):
                print(f"  round {r + 1}: max {max(round_latencies) * 1000:.1f} ms", flush=True)
            await asyncio.sleep(0.05)
    finally:
        for _reader, writer in connections:
            writer.close()
    return latencies


def _report_acks(label: str, latencies: list[float], args: argparse.Namespace) -> None:
    ms = [x * 1000 for x in latencies]
    print(
        f"acknowledgement {label}: {args.rounds} rounds of {args.concurrency} concurrent signed deliveries "
        f"({len(ms)} in all): p50 {statistics.median(ms):.1f} ms, p99 {_percentile(ms, 0.99):.1f} ms, "
        f"max {max(ms):.1f} ms (target p99 <= 50 ms)"
    )


def _impl(module: str, pure: bool) -> str:
    import importlib.util

    fallback = "h11" if module == "httptools" else "asyncio"
    return module if importlib.util.find_spec(module) and not pure else fallback


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class _Apps:
    """App processes started for one configuration; stopped together."""

    def __init__(self) -> None:
        self.started: list[tuple[subprocess.Popen[bytes], str, socket.socket]] = []

    @property
    def urls(self) -> list[str]:
        return [url for _proc, url, _sock in self.started]

    def stop(self) -> None:
        for proc, _url, _sock in self.started:
            proc.send_signal(signal.SIGTERM)
        for proc, _url, sock in self.started:
            proc.wait(15)
            sock.close()
        self.started.clear()


def _measure(
    label: str,
    start: Callable[[str, str], _Apps],
    fake_url: str,
    events: dict[str, list[dict[str, object]]],
    prefix: str,
    args: argparse.Namespace,
) -> dict[str, float]:
    """Throughput and acknowledgement figures of one configuration (``start(fake_url, name)`` starts its Apps)."""
    figures: dict[str, float] = {}
    apps = start(fake_url, "main")
    try:
        print(f"== {label}")
        for repo, size in ((f"{prefix}small", 10), (f"{prefix}large", 300)):
            seconds = asyncio.run(_throughput(apps.urls, fake_url, repo, events[repo]))
            count = len(events[repo])
            figures[f"evaluations/min, {size} files"] = count / seconds * 60
            print(
                f"throughput, PRs of {size} changed files: {count} evaluations in {seconds:.2f} s = "
                f"{count / seconds * 60:.0f} evaluations/minute"
            )
        latencies = asyncio.run(_acks(apps.urls, events["bench/ack"], args.rounds, args.concurrency))
        figures["p99 ack ms, workers busy"] = _percentile([x * 1000 for x in latencies], 0.99)
        _report_acks("while the workers evaluate what the deliveries queue", latencies, args)
        for url in apps.urls:
            metrics = httpx.get(f"{url}/metrics").text
            for line in metrics.splitlines():
                if line.startswith(("guardian_webhook_ack_seconds_sum", "guardian_webhook_ack_seconds_count")):
                    print(f"  server side ({url}): {line}")
                if line.startswith(('guardian_store_seconds_sum{call="record"}', "guardian_instances ")):
                    print(f"  server side ({url}): {line}")
    finally:
        apps.stop()
    # The acknowledgement path alone: Apps whose GitHub refuses connections,
    # so their workers sit in backoff and use no CPU.
    idle = start("http://127.0.0.1:9", "idle")
    try:
        latencies = asyncio.run(_acks(idle.urls, events["bench/ack"], args.rounds, args.concurrency))
        figures["p99 ack ms, workers idle"] = _percentile([x * 1000 for x in latencies], 0.99)
        _report_acks("with the workers idle (the webhook path alone)", latencies, args)
    finally:
        idle.stop()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=40, help="PRs of 10 changed files")
    parser.add_argument("--large", type=int, default=10, help="PRs of 300 changed files")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of concurrent deliveries")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="GUARDIAN_WORKERS (of each instance)")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="postgres: also two instances on one PostgreSQL database, beside one on SQLite",
    )
    parser.add_argument("--instances", type=int, default=2, help="App instances with --store postgres")
    parser.add_argument(
        "--uvicorn-factory",
        action="store_true",
        help=(
            "start the App the earlier way, `uvicorn --factory guardian_app.main:create_app`,"
            " instead of `python -m guardian_app.serve`"
        ),
    )
    parser.add_argument(
        "--pure-python",
        action="store_true",
        help="with --uvicorn-factory: --http h11 --loop asyncio even when httptools/uvloop are installed",
    )
    args = parser.parse_args(argv)
    if args.pure_python and not args.uvicorn_factory:
        parser.error("--pure-python applies to --uvicorn-factory (guardian_app.serve always uses h11)")

    pem, public = make_key()
    from cryptography.hazmat.primitives import serialization

    public_pem = public.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    parent, child = multiprocessing.Pipe()
    plan = {"bench/small": (args.small, 10), "bench/large": (args.large, 300), "bench/ack": (args.concurrency, 10)}
    if args.store == "postgres":
        plan.update({"bench/pg-small": (args.small, 10), "bench/pg-large": (args.large, 300)})
    fake_proc = multiprocessing.Process(target=_fake_process, args=(child, public_pem, plan), daemon=True)
    fake_proc.start()
    setup = parent.recv()
    fake_url, events = setup["url"], setup["events"]

    pg = None
    with tempfile.TemporaryDirectory() as tmp:
        key_file = os.path.join(tmp, "app.pem")
        Path(key_file).write_text(pem)
        stack: list[str] | None = None
        if args.uvicorn_factory:
            stack = ["--http", "h11", "--loop", "asyncio"] if args.pure_python else []

        def sqlite_apps(api: str, name: str) -> _Apps:
            apps = _Apps()
            apps.started.append(_start_app(api, key_file, os.path.join(tmp, f"{name}.sqlite3"), args.workers, stack))
            return apps

        try:
            print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {args.workers} workers")
            http = _impl("httptools", args.pure_python) if args.uvicorn_factory else "h11"
            factory = "uvicorn --factory guardian_app.main:create_app"
            how = factory if args.uvicorn_factory else "python -m guardian_app.serve"
            print(f"server: {how}; http={http}, loop={_impl('uvloop', args.pure_python)}")
            size = len(json.dumps(events["bench/ack"][0]))
            print(f"payload: pull_request.opened, {size:,} bytes")
            label = "one instance, SQLite"
            results = {label: _measure(label, sqlite_apps, fake_url, events, "bench/", args)}
            if args.store == "postgres":
                from tests.pg import PgServer

                pg = PgServer(durable=True).start()
                databases = {"main": pg.fresh_database(), "idle": pg.fresh_database()}
                print(f"PostgreSQL: {pg.bindir.parent.name} ({pg.bindir}), fsync on, synchronous_commit on")

                def pg_apps(api: str, name: str) -> _Apps:
                    apps = _Apps()
                    try:
                        for i in range(args.instances):
                            path = os.path.join(tmp, f"unused-{name}-{i}.sqlite3")
                            apps.started.append(_start_app(api, key_file, path, args.workers, stack, databases[name]))
                    except BaseException:
                        apps.stop()
                        raise
                    return apps

                parent.send("reset")
                label = f"{args.instances} instances, PostgreSQL"
                results[label] = _measure(label, pg_apps, fake_url, events, "bench/pg-", args)
            if len(results) > 1:
                print("== side by side (one run, one machine)")
                names = list(results)
                keys = list(results[names[0]])
                print(f"{'':32}" + "".join(f"{n:>28}" for n in names))
                for key in keys:
                    print(f"{key:32}" + "".join(f"{results[n][key]:>28.1f}" for n in names))
        finally:
            if pg is not None:
                pg.stop()
            parent.send("stop")
            fake_proc.join(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
