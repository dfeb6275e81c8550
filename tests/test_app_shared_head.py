"""One branch opened against two base branches: two pull requests, one head.

Check runs and statuses belong to the commit, so both pull requests show
every run on it. Each pull request is judged with its own base's policy and
reported under its own name; ``guardian`` carries the most severe verdict.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardian_app.store import JobSpec
from guardian_app.store.sqlite import SqliteStore
from tests.fake_github import (
    REQUIRED_IGNORES,
    AppEnv,
    Json,
    Repo,
    check_run_event,
    check_suite_event,
    pull_request_event,
    wait_for,
)

BAD_PY = b'import optimization_engine.solvers\nOUT = "C:\\\\results\\\\run1"\n'
#: main is strict: Windows paths are errors (forbidden imports are, by default).
STRICT = b'[rules.windows-path]\nseverity = "error"\n'
#: release is lax: old imports are allowed there, Windows paths only warn.
LAX = b'[rules.forbidden-import]\nenabled = false\n\n[rules.windows-path]\nseverity = "warning"\n'
ON_MAIN = "guardian (#1 into main)"
ON_RELEASE = "guardian (#2 into release)"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3")) as env:
        yield env


def _branch_into_main_and_release(env: AppEnv, *, open_second: bool = True) -> tuple[Repo, str]:
    repo = env.fake.add_repo("acme/atomizer")
    tidy = {".gitignore": REQUIRED_IGNORES.encode(), "README.md": b"# atomizer\n"}
    main = repo.commit({**tidy, ".guardian.toml": STRICT}, "main")
    release = repo.commit({**tidy, ".guardian.toml": LAX}, "release")
    head = repo.commit({**tidy, ".guardian.toml": STRICT, "src/solver.py": BAD_PY}, "feature")
    repo.open_pr(1, main, head, base_ref="main", head_ref="feature")
    if open_second:
        repo.open_pr(2, release, head, base_ref="release", head_ref="feature")
    return repo, head


def _latest(items: list[Json], key: str) -> dict[str, Json]:
    latest: dict[str, Json] = {}
    for item in items:
        latest[str(item[key])] = item
    return latest


def _runs(env: AppEnv, repo: Repo, head: str) -> dict[str, Json]:
    return _latest(env.completed_runs(repo, head), "name")


def _statuses(env: AppEnv, repo: Repo) -> dict[str, Json]:
    with env.fake.lock:
        return _latest(list(repo.statuses), "context")


def _rules(run: Json) -> set[str]:
    return {str(n["title"]).removeprefix("guardian ") for n in run["annotations"]}


def test_each_pr_of_a_shared_head_gets_its_own_verdict_under_its_own_base_policy(env: AppEnv) -> None:
    repo, head = _branch_into_main_and_release(env)
    # A push to the branch: GitHub's check suite lists both pull requests.
    answer = env.deliver("check_suite", check_suite_event(repo, head, [1, 2])).json()
    assert answer == {"queued": 2, "coalesced": 0}
    wait_for(lambda: {ON_MAIN, ON_RELEASE, "guardian"} <= set(_runs(env, repo, head)))
    env.wait_idle()

    runs = _runs(env, repo, head)
    main, release = runs[ON_MAIN], runs[ON_RELEASE]
    assert main["conclusion"] == "failure"
    assert {"forbidden-import", "windows-path"} <= _rules(main)
    assert release["conclusion"] == "neutral"
    assert _rules(release) == {"windows-path"}
    assert {n["annotation_level"] for n in release["annotations"]} == {"warning"}
    assert main["external_id"].endswith(":pr:1") and release["external_id"].endswith(":pr:2")
    assert "`main`" in str(main["output"]["summary"]) and "`release`" in str(release["output"]["summary"])
    # ``guardian`` (what branch protection names) is the most severe of the two.
    combined = runs["guardian"]
    assert combined["conclusion"] == "failure"
    assert ON_MAIN in str(combined["output"]["summary"]) and ON_RELEASE in str(combined["output"]["summary"])
    # One evaluation per pull request, and one combined run.
    posted = [r.body["name"] for r in env.fake.calls("POST", r"/check-runs$")]
    assert sorted(posted) == sorted([ON_MAIN, ON_RELEASE, "guardian"])

    statuses = _statuses(env, repo)
    assert statuses[ON_MAIN]["state"] == "failure"
    assert statuses[ON_RELEASE]["state"] == "success"
    assert statuses["guardian"]["state"] == "failure"

    # Each pull request's sticky comment holds its own verdict.
    [on_main] = repo.bot_comments(1)
    [on_release] = repo.bot_comments(2)
    assert "2 errors" in str(on_main["body"]) and "`main`" in str(on_main["body"])
    assert "0 errors, 1 warning" in str(on_release["body"]) and "`release`" in str(on_release["body"])
    assert "forbidden-import" in str(on_main["body"]) and "forbidden-import" not in str(on_release["body"])


def test_a_second_pr_opened_later_from_the_same_branch_splits_the_verdict(env: AppEnv) -> None:
    repo, head = _branch_into_main_and_release(env, open_second=False)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    assert env.wait_completed(repo, head)["name"] == "guardian"
    env.wait_idle()
    assert set(_runs(env, repo, head)) == {"guardian"}

    # The same branch is opened against the release branch: its own
    # verdict, and the first pull request is reported under its own name too.
    release_base = repo.commit(
        {".gitignore": REQUIRED_IGNORES.encode(), "README.md": b"# atomizer\n", ".guardian.toml": LAX}, "release"
    )
    repo.open_pr(2, release_base, head, base_ref="release", head_ref="feature")
    env.deliver("pull_request", pull_request_event(repo, 2, "opened"))
    wait_for(lambda: {ON_MAIN, ON_RELEASE} <= set(_runs(env, repo, head)))
    env.wait_idle()

    runs = _runs(env, repo, head)
    assert (runs[ON_MAIN]["conclusion"], runs[ON_RELEASE]["conclusion"]) == ("failure", "neutral")
    # The newest ``guardian`` run is the combined one, written after both.
    assert runs["guardian"]["conclusion"] == "failure"
    assert runs["guardian"]["id"] > max(runs[ON_MAIN]["id"], runs[ON_RELEASE]["id"])
    assert _statuses(env, repo)["guardian"]["state"] == "failure"
    assert len(repo.bot_comments(1)) == 1 and len(repo.bot_comments(2)) == 1
    assert "0 errors, 1 warning" in str(repo.bot_comments(2)[0]["body"])


def test_rerunning_one_prs_run_rechecks_only_that_pr(env: AppEnv) -> None:
    repo, head = _branch_into_main_and_release(env)
    env.deliver("check_suite", check_suite_event(repo, head, [1, 2]))
    wait_for(lambda: "guardian" in _runs(env, repo, head))
    env.wait_idle()
    before = [r.body["name"] for r in env.fake.calls("POST", r"/check-runs$")]

    env.deliver("check_run", check_run_event(repo, _runs(env, repo, head)[ON_RELEASE]))
    wait_for(lambda: len(env.fake.calls("POST", r"/check-runs$")) >= len(before) + 2)
    env.wait_idle()
    after = [r.body["name"] for r in env.fake.calls("POST", r"/check-runs$")]
    assert sorted(after[len(before) :]) == sorted([ON_RELEASE, "guardian"])
    assert len(env.fake.calls("GET", r"/pulls/1$")) == 1  # the main pull request was not looked at again
    assert _runs(env, repo, head)["guardian"]["conclusion"] == "failure"


def test_a_single_pr_head_asks_nothing_more_and_keeps_the_guardian_name(env: AppEnv) -> None:
    repo, head = _branch_into_main_and_release(env, open_second=False)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    env.wait_completed(repo, head)
    env.wait_idle()
    env.deliver("check_suite", check_suite_event(repo, head, [1], "rerequested"))
    wait_for(lambda: len(env.completed_runs(repo, head)) == 2)
    env.wait_idle()
    assert {r["name"] for r in env.completed_runs(repo, head)} == {"guardian"}
    assert {s["context"] for s in repo.statuses} == {"guardian"}
    assert env.fake.calls("GET", r"/commits/[0-9a-f]+/pulls$") == []


# -- the SQLite store's schema (its semantics: tests/test_store_contract.py) ----------------------

SHA = "a" * 40


_OLD_SCHEMA = """
CREATE TABLE deliveries (id TEXT PRIMARY KEY, event TEXT NOT NULL, received REAL NOT NULL);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, installation INTEGER NOT NULL,
    head_sha TEXT NOT NULL, pr INTEGER, base_sha TEXT, base_ref TEXT, changed_files INTEGER,
    reason TEXT NOT NULL DEFAULT '', delivery TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0, not_before REAL NOT NULL DEFAULT 0, check_run_id INTEGER,
    batches_sent INTEGER NOT NULL DEFAULT 0, error TEXT, created REAL NOT NULL, updated REAL NOT NULL
);
CREATE INDEX jobs_by_state ON jobs (state, not_before, id);
CREATE UNIQUE INDEX jobs_one_waiting_per_head ON jobs (repo, head_sha) WHERE state = 'queued';
"""


def test_a_queue_database_made_by_the_earlier_version_is_migrated(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite3")
    old = sqlite3.connect(path)
    old.executescript(_OLD_SCHEMA)
    old.execute(
        "INSERT INTO jobs (repo, installation, head_sha, pr, created, updated) VALUES (?, 1, ?, 1, ?, ?)",
        ("acme/atomizer", SHA, 1e10, 1e10),
    )
    old.commit()
    old.close()

    queue = SqliteStore(path)
    # The job waiting from before is kept; a second PR of that head gets its own.
    assert queue.record("d1", "pull_request", [JobSpec("acme/atomizer", 1, SHA, pr=2)]).queued == 1
    assert queue.record("d2", "pull_request", [JobSpec("acme/atomizer", 1, SHA, pr=1)]).coalesced == 1
    assert sorted(j["pr"] for j in queue.jobs() if j["state"] == "queued") == [1, 2]
    indexes = {row[1] for row in queue.db.execute("PRAGMA index_list(jobs)").fetchall()}
    assert "jobs_one_waiting_per_head" not in indexes and "jobs_one_waiting_per_pr_head" in indexes
    job = queue.claim()
    assert job is not None
    queue.set_verdict(job.id, job.pr or 0, "guardian", "success")
    queue.close()
    # Opening it again changes nothing.
    again = SqliteStore(path)
    assert len(again.jobs()) == 2
    again.close()
