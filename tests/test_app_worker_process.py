"""The App as production runs it (``python -m guardian_app.serve``): the
webhook's process acknowledges, and the workers run in a process of their
own that it starts, wakes, asks for metrics, restarts and takes down with it."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fake_github import SECRET, AppEnv, deliver, pull_request_event, serve_subprocess, wait_for

BAD_PY = b"import optimization_engine.core\n"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3"), serve=False) as env:
        yield env


@pytest.fixture
def served(env: AppEnv, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    # Idle workers look for work only once a minute: only a wake-up from
    # the webhook's process gets a delivery evaluated within the tests' waits.
    proc, url, sock = serve_subprocess(env, tmp_path, GUARDIAN_POLL_INTERVAL="60")
    try:
        yield proc, url
    finally:
        _stop(proc, sock)


def _stop(proc: subprocess.Popen[bytes], sock: socket.socket) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(30)
    sock.close()


def _stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name ([] once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def _workers_pid(parent: int) -> int:
    """The workers' process: the spawned child of the served process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if len(fields) > 1 and int(fields[1]) == parent and fields[0] != "Z":
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                found.append(int(entry.name))
    assert len(found) == 1, f"expected one workers' process under {parent}, found {found}"
    return found[0]


def _metric(text: str, sample: str) -> float:
    values = [line.rpartition(" ")[2] for line in text.splitlines() if line.startswith(sample + " ")]
    assert len(values) == 1, f"{sample}: {values}"
    return float(values[0])


def test_the_workers_have_a_process_of_their_own_woken_by_each_delivery(
    env: AppEnv, served: tuple[subprocess.Popen[bytes], str]
) -> None:
    proc, url = served
    workers = _workers_pid(proc.pid)
    # Lower CPU priority than the process that acknowledges (the 19th field of stat is the nice value).
    assert int(_stat(workers)[16]) == 10 and int(_stat(proc.pid)[16]) == 0
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    response = deliver(env.client, url, SECRET, "pull_request", pull_request_event(repo, 1))
    assert response.status_code == 202 and response.json() == {"queued": 1, "coalesced": 0}
    run = env.wait_completed(repo, head, timeout=20)
    assert run["conclusion"] == "failure"
    health = httpx.get(f"{url}/healthz").json()
    assert health["ok"] and health["workers"] == "running"


def test_metrics_add_the_workers_counts_to_the_webhooks_in_one_exposition(
    env: AppEnv, served: tuple[subprocess.Popen[bytes], str]
) -> None:
    _proc, url = served
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    deliver(env.client, url, SECRET, "pull_request", pull_request_event(repo, 1))
    env.wait_completed(repo, head, timeout=20)
    wait_for(lambda: 'guardian_jobs_total{outcome="done"} 1' in httpx.get(f"{url}/metrics").text, 10)
    text = httpx.get(f"{url}/metrics").text
    # Counted by the webhook's process ...
    assert _metric(text, 'guardian_jobs_total{outcome="queued"}') == 1
    assert _metric(text, 'guardian_webhook_deliveries_total{event="pull_request",outcome="queued"}') == 1
    # ... and by the workers' process (the GitHub calls are all theirs).
    assert _metric(text, 'guardian_jobs_total{outcome="done"}') == 1
    assert _metric(text, "guardian_evaluation_seconds_count") == 1
    assert _metric(text, 'guardian_github_requests_total{status="201"}') >= 1
    # Both processes' store calls in one histogram: the intake's record and the workers' claims.
    assert _metric(text, 'guardian_store_seconds_count{call="record"}') >= 1
    assert _metric(text, 'guardian_store_seconds_count{call="claim"}') >= 1
    # One family each, as Prometheus requires.
    types = [line for line in text.splitlines() if line.startswith("# TYPE ")]
    assert len(types) == len(set(types))


def test_a_workers_process_that_dies_is_replaced_and_finishes_the_job(
    env: AppEnv, served: tuple[subprocess.Popen[bytes], str]
) -> None:
    proc, url = served
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    # Mid-job: the check run exists, and its completion is in flight (then lost with the process).
    held = env.fake.hold("PATCH", r"/check-runs/\d+$", discard=True)
    assert deliver(env.client, url, SECRET, "pull_request", pull_request_event(repo, 1)).status_code == 202
    assert held.arrived.wait(20)
    first = _workers_pid(proc.pid)
    subprocess.run(["kill", "-KILL", str(first)], check=True)
    held.release.set()
    # Acknowledgements go on meanwhile; the next workers' process takes the job back.
    other, _base2, other_head = env.repo_with_pr({"src/ok.py": b"import atomizer\n"}, number=2, name="acme/other")
    assert deliver(env.client, url, SECRET, "pull_request", pull_request_event(other, 2)).status_code == 202
    run = env.wait_completed(repo, head, timeout=60)
    assert run["conclusion"] == "failure"
    # The same check run, completed once: nothing sent twice.
    assert len(repo.check_runs) == 1 and run is repo.check_runs[0]
    assert env.wait_completed(other, other_head, timeout=30)["conclusion"] == "success"
    second = _workers_pid(proc.pid)
    assert second != first and not _alive(first)
    assert httpx.get(f"{url}/healthz").json()["workers"] == "running"


def test_killing_the_served_process_ends_its_workers_process(env: AppEnv, tmp_path: Path) -> None:
    proc, _url, sock = serve_subprocess(env, tmp_path)
    try:
        workers = _workers_pid(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # Its pipe to the served process closed: it stops rather than work on unseen.
        wait_for(lambda: not _alive(workers), 20)
    finally:
        _stop(proc, sock)
