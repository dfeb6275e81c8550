"""Clients that are not GitHub: the port is open to anyone, before any signature.

Raw sockets against the real server: a body that never finishes, a header
of a hundred megabytes, a client that hangs up mid-body. The server runs
with the options of ``python -m guardian_app.serve`` (in a subprocess where its
memory is measured).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_github import AppEnv, serve_subprocess, wait_for

HALF_SENT = (
    b"POST /webhook HTTP/1.1\r\nHost: guardian\r\nContent-Type: application/json\r\n"
    b"X-GitHub-Event: ping\r\nContent-Length: 1000\r\n\r\n" + b'{"zen": "'
)


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (or ``timeout`` passes: an error)."""
    sock.settimeout(timeout)
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open for {timeout} s") from None
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3"), body_timeout=1.0, log_level="INFO") as env:
        yield env


def test_half_sent_bodies_are_answered_408_and_dropped(env: AppEnv) -> None:
    clients = [_connect(env.url) for _ in range(20)]
    try:
        for client in clients:
            client.sendall(HALF_SENT)
        for client in clients:
            # A generous bound: the App's deadline is one second.
            answer = _read_until_closed(client, timeout=30)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
            assert b"connection: close" in answer.lower()
    finally:
        for client in clients:
            client.close()
    # The App is none the worse for it.
    assert env.client.get(f"{env.url}/healthz").status_code == 200
    assert env.queue.jobs() == []


def test_a_client_hanging_up_mid_body_is_one_info_line(env: AppEnv, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    client = _connect(env.url)
    client.sendall(HALF_SENT)
    time.sleep(0.2)  # the request reaches the App before the hang-up
    client.close()
    seen: list[str] = []

    def logged() -> bool:
        seen.append(capfd.readouterr().err)
        return "disconnected" in "".join(seen)

    wait_for(logged, 15)
    # Anything more it would log (a traceback) comes at once; give it that moment.
    time.sleep(0.5)
    seen.append(capfd.readouterr().err)
    err = "".join(seen)
    assert "Traceback" not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    about = [entry for entry in lines if "disconnected" in entry["message"]]
    assert [entry["level"] for entry in about] == ["info"]
    assert not [entry for entry in lines if entry["level"] in ("error", "critical")]
    assert env.client.get(f"{env.url}/healthz").status_code == 200


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")


def test_a_huge_header_is_refused_without_the_memory_to_hold_it(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), serve=False) as env:
        proc, url, sock = serve_subprocess(env, tmp_path)
        try:
            before = _peak_rss_kib(proc.pid)
            size = 100 * 1024 * 1024
            client = _connect(url)
            sent = 0
            with contextlib.closing(client):
                client.sendall(b"POST /webhook HTTP/1.1\r\nHost: guardian\r\nX-Padding: ")
                chunk = b"a" * (1024 * 1024)
                try:
                    while sent < size:
                        client.sendall(chunk)
                        sent += len(chunk)
                    client.sendall(b"\r\nContent-Length: 2\r\n\r\n{}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # refused before the end: what a bound on the header looks like
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    answer = _read_until_closed(client, timeout=30)
                    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:100]
            assert sent < size
            # The peak memory of the server process barely moved (it never held the header).
            assert _peak_rss_kib(proc.pid) - before < 32 * 1024
            assert proc.poll() is None
        finally:
            proc.terminate()
            proc.wait(30)
            sock.close()


def test_past_the_connection_limit_requests_are_refused_at_once(env: AppEnv) -> None:
    from guardian_app.serve import MAX_CONCURRENCY

    idle = [_connect(env.url) for _ in range(MAX_CONCURRENCY)]
    try:
        wait_for(lambda: env.client.get(f"{env.url}/healthz").status_code == 503, 15)
    finally:
        for client in idle:
            client.close()
    wait_for(lambda: env.client.get(f"{env.url}/healthz").status_code == 200, 15)
