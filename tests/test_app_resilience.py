"""When GitHub or the App misbehaves: retries, rate limits, expired tokens,
a killed process, and the start-up reconcile. Real HTTP both ways."""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardian_app.logs import SCRUBBER
from tests.fake_github import (
    SECRET,
    AppEnv,
    Json,
    Repo,
    blob_sha,
    deliver,
    installation_event,
    pull_request_event,
    serve_subprocess,
    wait_for,
)

BAD_PY = b"import optimization_engine.core\n"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3")) as env:
        yield env


def test_502_then_200_still_ends_in_a_completed_check_run(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    env.fake.fail("GET", r"/pulls/1/files$", 502, body={"message": "Server Error"})
    env.fake.fail("PATCH", r"/check-runs/\d+$", 502, times=2)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    assert run["conclusion"] == "failure"
    assert [r.status for r in env.fake.calls("GET", r"/pulls/1/files$")] == [502, 200]
    assert [r.status for r in env.fake.calls("PATCH", r"/check-runs/")] == [502, 502, 200]
    assert len(env.fake.calls("POST", r"/check-runs$")) == 1
    # A create that was answered needs no look-up of the head's check runs.
    assert env.fake.calls("GET", r"/check-runs$") == []
    env.wait_idle()
    assert env.queue.jobs()[0]["attempts"] == 1  # the client retried; the job never had to


def _guardian_runs(env: AppEnv, repo: Repo, head: str) -> list[Json]:
    with env.fake.lock:
        return [r for r in repo.check_runs if r["head_sha"] == head and r["name"] == "guardian"]


@pytest.mark.parametrize("lost", [502, 0], ids=["502-after-the-write", "connection-lost-after-the-write"])
def test_a_check_run_created_without_an_answer_is_found_not_created_again(env: AppEnv, lost: int) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    # GitHub creates the run, but the App never hears back.
    env.fake.fail("POST", r"/check-runs$", lost, body={"message": "Bad Gateway"}, performed=True)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    env.wait_completed(repo, head)
    env.wait_idle()
    # One guardian check run on the head, completed with the verdict: none left "in progress".
    runs = _guardian_runs(env, repo, head)
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "failure")]
    assert "forbidden-import" in str(runs[0]["output"]["summary"])
    assert len(env.fake.calls("POST", r"/check-runs$")) == 1
    lookups = env.fake.calls("GET", r"/commits/[0-9a-f]+/check-runs$")
    assert [(r.query.get("check_name"), r.query.get("filter")) for r in lookups] == [("guardian", "all")]


def test_a_retried_job_completes_the_check_run_its_first_attempt_created(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    env.fake.fail("POST", r"/check-runs$", 0, performed=True)
    # The look-up fails too, longer than the client retries: the job itself is retried.
    env.fake.fail("GET", r"/commits/[0-9a-f]+/check-runs$", 502, times=env.settings.http_retries + 1)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    wait_for(lambda: env.queue.jobs()[0]["state"] == "done")
    runs = _guardian_runs(env, repo, head)
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "failure")]
    assert len(env.fake.calls("POST", r"/check-runs$")) == 1
    job = env.queue.jobs()[0]
    assert (job["attempts"], job["check_run_id"]) == (2, runs[0]["id"])
    # The reviewer's other views of the verdict arrive once, too.
    assert len(repo.bot_comments(1)) == 1
    assert [s["state"] for s in repo.statuses] == ["failure"]


def test_a_job_that_gives_up_after_a_lost_create_marks_that_run_failed(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), job_attempts=1) as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        env.fake.fail("POST", r"/check-runs$", 502, performed=True)
        env.fake.fail("GET", r"/commits/[0-9a-f]+/check-runs$", 502, times=env.settings.http_retries + 1)
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        wait_for(lambda: env.queue.jobs()[0]["state"] == "failed")
        runs = _guardian_runs(env, repo, head)
        # Not "in progress" forever: the run says Guardian could not finish, and how to try again.
        assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "failure")]
        assert runs[0]["output"]["title"] == "Guardian could not finish"
        assert "Re-run" in str(runs[0]["output"]["summary"])


def test_429_with_retry_after_is_honoured_and_the_check_run_completes(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    env.fake.fail("POST", r"/check-runs$", 429, headers={"Retry-After": "1"}, body={"message": "slow down"})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    assert run["conclusion"] == "failure"
    attempts = env.fake.calls("POST", r"/check-runs$")
    assert [r.status for r in attempts] == [429, 201]
    # Waited the second GitHub asked for, not the App's own (0.6 s here) back-off.
    assert attempts[1].time - attempts[0].time >= 0.95
    env.wait_idle()
    assert env.queue.jobs()[0]["attempts"] == 1  # waited as told, within the same attempt


def test_an_exhausted_rate_limit_waits_for_its_reset(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    reset = str(int(time.time()) + 1)
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    env.fake.fail("GET", r"/git/trees/", 403, headers=headers, body={"message": "API rate limit exceeded"})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    assert env.wait_completed(repo, head)["conclusion"] == "failure"
    trees = env.fake.calls("GET", r"/git/trees/")
    refused = trees[0]
    retried = next(r for r in trees[1:] if (r.path, r.query) == (refused.path, refused.query))
    assert (refused.status, retried.status) == (403, 200)
    # Not before the reset GitHub announced (the client adds a second for clock skew).
    assert retried.time >= int(reset) + 0.9
    env.wait_idle()
    assert env.queue.jobs()[0]["attempts"] == 1


def test_a_long_rate_limit_puts_the_job_back_in_the_queue(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), max_retry_wait=0.2) as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        env.fake.fail("GET", r"/pulls/1$", 429, headers={"Retry-After": "1"})
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        wait_for(lambda: env.queue.jobs()[0]["state"] == "queued" and env.queue.jobs()[0]["error"])
        assert "rate limited" in str(env.queue.jobs()[0]["error"])
        assert env.wait_completed(repo, head)["conclusion"] == "failure"


def test_a_permission_error_fails_the_job_without_retrying(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    env.fake.fail("GET", r"/git/trees/", 403, body={"message": "Resource not accessible by integration"}, times=5)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    # The check run says what went wrong instead of staying "in progress" forever.
    assert run["conclusion"] == "failure"
    assert "Resource not accessible by integration" in str(run["output"]["summary"])
    env.wait_idle()
    job = env.queue.jobs()[0]
    assert (job["state"], job["attempts"]) == ("failed", 1)


@pytest.mark.parametrize("cause", ["permanent-403", "attempts-exhausted"])
def test_a_job_that_gives_up_leaves_an_error_status_not_a_missing_one(tmp_path: Path, cause: str) -> None:
    # A branch protection rule that requires the ``guardian`` status would
    # otherwise wait for ever on a check run that failed.
    with AppEnv(str(tmp_path / "app.sqlite3"), job_attempts=2) as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        if cause == "permanent-403":
            env.fake.fail("GET", r"/git/trees/", 403, body={"message": "Resource not accessible by integration"})
        else:
            env.fake.fail("GET", r"/pulls/1/files$", 502, times=2 * (env.settings.http_retries + 1))
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        wait_for(lambda: env.queue.jobs()[0]["state"] == "failed")
        run = env.completed_runs(repo, head)[-1]
        assert (run["conclusion"], run["output"]["title"]) == ("failure", "Guardian could not finish")
        [status] = repo.statuses
        assert (status["context"], status["state"], status["sha"]) == ("guardian", "error", head)
        assert "Re-run" in str(status["description"]) and len(str(status["description"])) <= 140
        assert str(status["target_url"]).startswith("https://")
        assert env.queue.jobs()[0]["attempts"] == (1 if cause == "permanent-403" else 2)


def test_a_job_that_gives_up_posts_no_status_when_statuses_are_off(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), commit_status=False) as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        env.fake.fail("GET", r"/git/trees/", 403, body={"message": "Resource not accessible by integration"})
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        wait_for(lambda: env.queue.jobs()[0]["state"] == "failed")
        assert env.completed_runs(repo, head)[-1]["conclusion"] == "failure"
        assert repo.statuses == [] and env.fake.calls("POST", r"/statuses/") == []


def test_a_revoked_installation_token_is_replaced_once(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    env.wait_completed(repo, head)
    env.wait_idle()
    assert len(env.fake.calls("POST", r"/access_tokens$")) == 1  # cached across the job's requests
    env.fake.revoke_tokens()
    env.deliver("pull_request", pull_request_event(repo, 1, "reopened"))
    wait_for(lambda: len(env.completed_runs(repo, head)) == 2)
    assert len(env.fake.calls("POST", r"/access_tokens$")) == 2
    assert 401 in [r.status for r in env.fake.requests]


def test_the_app_jwt_has_the_claims_github_requires(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    before = int(time.time())
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    env.wait_completed(repo, head)
    claims = env.fake.jwt_claims[0]  # verified with the App's public key, RS256
    assert claims["iss"] == str(env.settings.app_id)
    assert before - 61 <= int(claims["iat"]) <= before - 59 + 2
    assert int(claims["exp"]) - int(claims["iat"]) <= 600


def test_tokens_are_refreshed_a_minute_before_they_expire(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3")) as env:
        held = len(SCRUBBER)
        env.fake.token_ttl = 50  # already inside the one-minute margin
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        env.wait_completed(repo, head)
        env.wait_idle()
        assert len(env.fake.calls("POST", r"/access_tokens$")) > 3
        # Each replaced token leaves the log scrubber: it holds the tokens in use only.
        assert len(SCRUBBER) <= held + 1


# -- a killed process ----------------------------------------------------------------


def test_a_killed_workers_job_completes_after_restart(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), serve=False) as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY, "data/cache.sqlite": b"db"})
        held = env.fake.hold("GET", r"/pulls/1/files$")
        proc, url, sock = serve_subprocess(env, tmp_path)
        try:
            response = deliver(env.client, url, SECRET, "pull_request", pull_request_event(repo, 1, "opened"))
            assert response.status_code == 202
            assert held.arrived.wait(10)  # mid-job: the check run exists, the evaluation is under way
            assert [r["status"] for r in repo.check_runs] == ["in_progress"]
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            sock.close()
        held.release.set()
        assert repo.check_runs[0]["status"] == "in_progress"

        proc, url, sock = serve_subprocess(env, tmp_path)
        try:
            run = env.wait_completed(repo, head)
            wait_for(lambda: len(repo.bot_comments(1)) == 1)
        finally:
            proc.terminate()
            proc.wait(10)
            sock.close()
        # The same check run was completed: no second one, none left in progress.
        assert len(repo.check_runs) == 1 and run is repo.check_runs[0]
        assert run["conclusion"] == "failure"
        assert {str(n["title"]) for n in run["annotations"]} == {
            "guardian forbidden-import",
            "guardian gitignore-required",
        }


def test_a_job_killed_between_annotation_batches_sends_each_annotation_once(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), serve=False) as env:
        lines = b"".join(b"import optimization_engine.mod%d\n" % i for i in range(120))
        repo, _base, head = env.repo_with_pr({"src/legacy.py": lines})
        # The first batch goes through; the process dies while the second is in flight.
        held = env.fake.hold("PATCH", r"/check-runs/\d+$", after=1, discard=True)
        proc, url, sock = serve_subprocess(env, tmp_path)
        try:
            deliver(env.client, url, SECRET, "pull_request", pull_request_event(repo, 1, "opened"))
            assert held.arrived.wait(10)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            sock.close()
        held.release.set()
        assert len(repo.check_runs[0]["annotations"]) == 50

        proc, url, sock = serve_subprocess(env, tmp_path)
        try:
            run = env.wait_completed(repo, head)
        finally:
            proc.terminate()
            proc.wait(10)
            sock.close()
        assert len(repo.check_runs) == 1
        assert sorted(n["start_line"] for n in run["annotations"]) == list(range(1, 121))
        assert run["annotation_batches"] == [50, 50, 20]


# -- start-up reconcile ----------------------------------------------------------------


def test_on_start_up_open_prs_without_a_completed_check_are_evaluated(tmp_path: Path) -> None:
    # Started once the repository exists (GitHub lists its installation from then on).
    with AppEnv(str(tmp_path / "app.sqlite3"), serve=False) as env:
        repo, base, head1 = env.repo_with_pr({"src/one.py": BAD_PY}, number=1)
        head2 = repo.commit({".gitignore": b"x\n", "src/two.py": BAD_PY})
        repo.open_pr(2, base, head2)
        env.start_app()
        env.deliver("installation", installation_event(1, [repo]))
        # PR 2 was checked before the App went down; PR 1's webhook was lost.
        repo.check_runs.append(
            {
                "id": 999,
                "name": "guardian",
                "head_sha": head2,
                "status": "completed",
                "conclusion": "success",
                "app": {"id": int(env.settings.app_id)},
                "output": {},
                "annotations": [],
            }
        )
        env.stop_app()
        env.settings = dataclasses.replace(env.settings, reconcile_limit=10)
        env.start_app()
        run = env.wait_completed(repo, head1)
        assert run["conclusion"] == "failure"
        env.wait_idle()
        assert [r.body["head_sha"] for r in env.fake.calls("POST", r"/check-runs$")] == [head1]


def test_the_reconcile_is_bounded(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), reconcile_limit=2) as env:
        repo, base, _head = env.repo_with_pr({"src/one.py": BAD_PY}, number=1)
        for number in range(2, 6):
            repo.open_pr(number, base, repo.commit({"src/n.py": b"x = %d\n" % number}))
        env.deliver("installation", installation_event(1, [repo]))
        env.stop_app()
        env.start_app()
        wait_for(lambda: len(env.fake.calls("POST", r"/check-runs$")) == 2)
        env.wait_idle()
        # Two of the five are checked: the reconcile looks at two pull requests'
        # check runs, and each of the two jobs may look again before creating its own.
        assert len(env.fake.calls("POST", r"/check-runs$")) == 2
        assert 2 <= len(env.fake.calls("GET", r"/commits/[0-9a-f]+/check-runs$")) <= 4


# -- bounds and upkeep -------------------------------------------------------------------


def test_no_answer_is_read_past_its_bound(tmp_path: Path) -> None:
    import asyncio

    from guardian.model import FileEntry
    from guardian_app.github import GitHubClient, TooLarge
    from guardian_app.metrics import Metrics
    from guardian_app.snapshot import BlobFetcher

    with AppEnv(str(tmp_path / "app.sqlite3"), serve=False, max_response_bytes=4096) as env:
        big = b"import optimization_engine\n" + b"x = 1\n" * 20_000
        repo, _base, _head = env.repo_with_pr({"src/big.py": big})
        # A changed file missing from an incomplete tree listing has no known size (-1).
        unknown = FileEntry("src/big.py", -1, "100644", blob_sha(big))

        async def run() -> tuple[bytes | None, bytes | None]:
            client = GitHubClient(env.settings, Metrics())
            try:
                with pytest.raises(TooLarge, match="larger than 4,096 bytes"):
                    # The blob as JSON: base64 of 120 kB.
                    await client.get_json(f"/repos/{repo.full_name}/git/blobs/{blob_sha(big)}", installation=1)
                small = BlobFetcher(client, repo.full_name, 1, concurrency=2, max_bytes=1000)
                ample = BlobFetcher(client, repo.full_name, 1, concurrency=2, max_bytes=len(big))
                return await small.fetch(unknown), await ample.fetch(unknown)
            finally:
                await client.aclose()

        over, whole = asyncio.run(run())
        # Over the bound: nothing (the engine reports the file as not read), never a truncated prefix.
        assert over is None
        assert whole == big


def test_workers_outlive_a_failing_queue(tmp_path: Path) -> None:
    import sqlite3

    from guardian_app.settings import Settings
    from guardian_app.store import Job
    from guardian_app.store.sqlite import SqliteStore

    class LockedAtFirst(SqliteStore):
        """The database is locked for the first few claims (another process writing)."""

        failures = 5

        def claim(self) -> Job | None:
            if LockedAtFirst.failures > 0:
                LockedAtFirst.failures -= 1
                raise sqlite3.OperationalError("database is locked")
            return super().claim()

    def factory(settings: Settings) -> SqliteStore:
        return LockedAtFirst(settings.db_path)

    with AppEnv(str(tmp_path / "app.sqlite3"), store_factory=factory) as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        assert env.wait_completed(repo, head)["conclusion"] == "failure"
        assert LockedAtFirst.failures == 0


def test_a_resumed_job_completes_its_check_run_even_with_fewer_batches(tmp_path: Path) -> None:
    """The process died after two of three annotation requests; on the retry
    the evaluation finds fewer findings. The run must still be completed."""
    import asyncio

    from guardian.model import Finding, Result
    from guardian_app.checks import Checks
    from guardian_app.evaluate import Evaluation
    from guardian_app.github import GitHubClient
    from guardian_app.metrics import Metrics
    from guardian_app.pulls import PullRequest
    from guardian_app.store import AsyncStore, JobSpec
    from guardian_app.store.sqlite import SqliteStore

    with AppEnv(str(tmp_path / "app.sqlite3"), serve=False) as env:
        repo, base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        queue = SqliteStore(env.settings.db_path)
        queue.record("d1", "pull_request", [JobSpec(repo.full_name, 1, head, pr=1)])
        job = queue.claim()
        assert job is not None
        result = Result()
        result.findings = [Finding("forbidden-import", "src/solver.py", "m", line=i + 1) for i in range(60)]
        pr = PullRequest(1, head, base, "main", "open", "https://github.com/acme/atomizer/pull/1")
        evaluation = Evaluation(pr=pr, result=result, changed_files=1)

        async def run() -> None:
            client = GitHubClient(env.settings, Metrics())
            try:
                checks = Checks(client, AsyncStore(queue), env.settings)
                created = await client.request(
                    "POST",
                    f"/repos/{repo.full_name}/check-runs",
                    installation=1,
                    json={"name": "guardian", "head_sha": head, "status": "in_progress"},
                )
                await checks.complete(job, int(created.json()["id"]), evaluation, already_sent=2)
            finally:
                await client.aclose()

        try:
            asyncio.run(run())
        finally:
            queue.close()
        run_ = repo.check_runs[0]
        assert (run_["status"], run_["conclusion"]) == ("completed", "failure")
        # Its 60 annotations were in the two requests sent before the restart; none is sent twice.
        assert run_["annotations"] == []


def test_a_queue_write_that_meets_a_lock_is_run_again_not_lost(tmp_path: Path) -> None:
    # SQLite can answer "database is locked" at once (a stale read snapshot on
    # a shared WAL file); giving up would leave a job "running" for good.
    import sqlite3

    from guardian_app.store import JobSpec
    from guardian_app.store.sqlite import SqliteStore

    queue = SqliteStore(str(tmp_path / "q.sqlite3"))
    queue.record("d1", "pull_request", [JobSpec("acme/x", 1, "a" * 40, pr=1)])
    job = queue.claim()
    assert job is not None
    real, failures = queue.db, [2]

    class Flaky:
        def execute(self, sql: str, *args: object) -> object:
            if failures[0] and sql.startswith("BEGIN"):
                failures[0] -= 1
                raise sqlite3.OperationalError("database is locked")
            return real.execute(sql, *args)

    queue.db = Flaky()  # type: ignore[assignment]
    queue.retry(job.id, 0.0, "timeout")
    queue.db = real
    assert failures == [0]
    assert [j["state"] for j in queue.jobs()] == ["queued"]
    queue.close()


@pytest.mark.parametrize("lost", [502, 0], ids=["502-after-the-write", "connection-lost-after-the-write"])
def test_a_comment_posted_without_an_answer_is_not_posted_again(env: AppEnv, lost: int) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    env.fake.fail("POST", r"/issues/1/comments$", lost, body={"message": "Bad Gateway"}, performed=True)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    env.wait_completed(repo, head)
    env.wait_idle()
    assert len(repo.bot_comments(1)) == 1
    assert len(env.fake.calls("POST", r"/issues/1/comments$")) == 1
    # Found by its marker and remembered: the App knows the comment it edits next.
    assert env.store.comment(repo.full_name, 1) is not None
