"""A pull request whose evaluation takes too long cannot take the App with it.

The engine runs in worker processes (``guardian_app.pool``) under
``evaluation_timeout``. The slow input here is legitimately slow, not a
pathological one: a few large Python files with two findings on every line,
seconds of engine time each, far past the tiny deadline the tests set.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from tests.fake_github import SECRET, AppEnv, Repo, deliver, pull_request_event, serve_subprocess, wait_for

BAD_PY = b"import optimization_engine.core\n"
_LINE = b'import optimization_engine.mod\nOUT = "C:\\\\results\\\\run1"\n'  # guardian: ignore[windows-path]


def slow_files(count: int, size: int = 3 * 1024 * 1024) -> dict[str, bytes]:
    """``count`` distinct files of ``size`` bytes with a finding on every line."""
    body = _LINE * (size // len(_LINE))
    return {f"src/generated_{i:02d}.py": body + b"# %d\n" % i for i in range(count)}


def _blob_reads(env: AppEnv, repo: Repo) -> int:
    return len(env.fake.calls("GET", rf"^/repos/{repo.full_name}/git/blobs/"))


def _pid_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] == "Z"  # a zombie runs nothing
    except FileNotFoundError:
        return True


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                parent = int(fh.read().rpartition(")")[2].split()[1])
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        children.setdefault(parent, []).append(int(name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_an_evaluation_past_its_deadline_is_stopped_reported_and_not_retried(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), evaluation_timeout=2.0, evaluation_processes=2) as env:
        pool = env.app.state.worker.pool if env.app is not None else None
        assert pool is not None
        first_pids = set(pool.pids())
        assert len(first_pids) == 2  # warm before the first delivery
        slow_files_ = slow_files(6)
        repo, _base, head = env.repo_with_pr(slow_files_)
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))

        # While the engine grinds, the App answers.
        answered_while_busy = 0
        deadline = time.monotonic() + 120
        while not env.completed_runs(repo, head):
            busy = _blob_reads(env, repo) >= len(slow_files_)
            response = env.client.get(f"{env.url}/healthz", timeout=10)
            assert response.status_code == 200
            answered_while_busy += busy
            assert time.monotonic() < deadline, "the slow pull request's check run never completed"
            time.sleep(0.05)
        assert answered_while_busy > 0

        run = env.completed_runs(repo, head)[-1]
        assert run["conclusion"] == "failure"
        assert run["output"]["title"] == "Guardian stopped the evaluation after 2 s"
        summary = str(run["output"]["summary"])
        assert "GUARDIAN_EVALUATION_TIMEOUT" in summary and "Re-run" in summary
        assert run["annotations"] == []
        # The commit status says so too: a rule requiring the ``guardian`` status does not wait for ever.
        # The status follows the check run: wait for it rather than race it.
        wait_for(lambda: any(s["sha"] == head for s in repo.statuses))
        status = next(s for s in repo.statuses if s["sha"] == head)
        assert (status["context"], status["state"]) == ("guardian", "failure")
        assert "stopped the evaluation after 2 s" in str(status["description"])

        # The next pull request is evaluated as usual, by a pool that replaced the killed process.
        other = env.fake.add_repo("acme/other")
        base = other.commit({".gitignore": b"*.bak\n", "README.md": b"x\n"})
        other_head = other.commit({".gitignore": b"*.bak\n", "README.md": b"x\n", "src/solver.py": BAD_PY})
        other.open_pr(1, base, other_head)
        env.deliver("pull_request", pull_request_event(other, 1, "opened"))
        normal = env.wait_completed(other, other_head, timeout=60)
        assert normal["conclusion"] == "failure"
        assert "forbidden-import" in {str(n["title"]).removeprefix("guardian ") for n in normal["annotations"]}

        env.wait_idle(timeout=30)
        slow_job = next(j for j in env.queue.jobs() if j["repo"] == repo.full_name)
        # Ended, once: not back in the queue for another try.
        assert (slow_job["state"], slow_job["attempts"]) == ("failed", 1)
        assert "2 s" in str(slow_job["error"])
        time.sleep(3 * env.settings.poll_interval)
        assert env.queue.depth() == 0
        assert len(env.completed_runs(repo, head)) == 1
        # The stuck process was killed; a fresh one took its place.
        wait_for(lambda: len(pool.pids()) == 2, 30)
        assert any(_pid_gone(pid) for pid in first_pids)
        assert pool.started >= 3


def test_sigterm_stops_the_app_while_an_evaluation_runs(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), serve=False) as env:
        files = slow_files(10)
        repo, _base, _head = env.repo_with_pr(files)
        proc, url, sock = serve_subprocess(env, tmp_path, GUARDIAN_EVALUATION_TIMEOUT="600")
        try:
            deliver(env.client, url, SECRET, "pull_request", pull_request_event(repo, 1, "opened"))
            wait_for(lambda: _blob_reads(env, repo) >= len(files), 60)
            time.sleep(1.0)  # the blobs are with the engine now
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
            family = _descendants(proc.pid)
            assert family  # the fork server and the evaluation processes
            proc.send_signal(signal.SIGTERM)
            # Well before the engine could finish the ten files.
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            sock.close()
        # uvicorn shuts down, then re-raises the signal it caught.
        assert proc.returncode in (0, -signal.SIGTERM)
        # Shut down, not just killed: the busy evaluation process went with it.
        wait_for(lambda: all(_pid_gone(pid) for pid in family), 15)
        # The job is left for the next process, which would stop it at its deadline.
        assert [r["status"] for r in repo.check_runs] == ["in_progress"]
