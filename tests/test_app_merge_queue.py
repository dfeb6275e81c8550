"""The App and GitHub's merge queue: a ``guardian`` verdict on every merge group.

A repository that requires ``guardian`` and merges through the queue gets a
``merge_group`` delivery for each group the queue builds. The group's head
commit (on a ``gh-readonly-queue/...`` branch) holds the base and the queued
pull requests together: that is where two pull requests that each stay under
a directory budget can exceed it between them. Every test reads what the
fake GitHub recorded: the check run and status on the group's head, the
requests the App made, and that no comment was posted anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_github import (
    REQUIRED_IGNORES,
    AppEnv,
    Json,
    Repo,
    check_run_event,
    check_suite_event,
    merge_group_event,
    pull_request_event,
    wait_for,
)

KIB = 1024
#: The base's policy: ``tools/`` may hold 10 KiB.
POLICY = b'[rules.dir-budget.budgets]\n"tools/" = "10 KiB"\n'


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3")) as env:
        yield env


def _base(**extra: bytes) -> dict[str, bytes]:
    return {
        ".gitignore": REQUIRED_IGNORES.encode(),
        ".guardian.toml": POLICY,
        "README.md": b"# atomizer\n",
        "tools/old.bin": b"\0" * (4 * KIB),
        **extra,
    }


def _queue(env: AppEnv, *changes: dict[str, bytes]) -> tuple[Repo, str, str, list[str]]:
    """A repository whose base is ``_base()``, one open pull request per
    change, and the merge group the queue builds of them all: (repo, base
    sha, group head sha, pull request heads)."""
    repo = env.fake.add_repo("acme/atomizer")
    base_files = _base()
    base = repo.commit(base_files, "base")
    heads = []
    for number, change in enumerate(changes, start=1):
        head = repo.commit({**base_files, **change}, f"pr {number}")
        repo.open_pr(number, base, head, head_ref=f"feature-{number}")
        heads.append(head)
    grouped: dict[str, bytes] = dict(base_files)
    for change in changes:
        grouped.update(change)
    group_head = repo.commit(grouped, "merge group")
    return repo, base, group_head, heads


def _runs_on(env: AppEnv, repo: Repo, sha: str) -> list[Json]:
    with env.fake.lock:
        return [r for r in repo.check_runs if r["head_sha"] == sha]


def _no_comment_anywhere(env: AppEnv) -> None:
    assert env.fake.calls(None, r"/issues/") == []


def test_two_prs_under_the_budget_each_fail_together_in_the_merge_group(env: AppEnv) -> None:
    # Each pull request adds 4 KiB to tools/ (8 of 10 KiB): each passes alone.
    # The second also raises the budget in its own .guardian.toml, which must
    # not count: the group is judged by its base's policy.
    repo, base, group, heads = _queue(
        env,
        {"tools/a.bin": b"\1" * (4 * KIB)},
        {"tools/b.bin": b"\2" * (4 * KIB), ".guardian.toml": b'[rules.dir-budget.budgets]\n"tools/" = "1 MiB"\n'},
    )
    for number, head in enumerate(heads, start=1):
        env.deliver("pull_request", pull_request_event(repo, number, "opened"))
        assert env.wait_completed(repo, head)["conclusion"] == "success"
    env.wait_idle()
    comments_before = env.fake.calls(None, r"/issues/")

    answer = env.deliver("merge_group", merge_group_event(repo, group, base, number=2))
    assert answer.status_code == 202 and answer.json() == {"queued": 1, "coalesced": 0}
    run = env.wait_completed(repo, group)
    env.wait_idle()

    assert run["name"] == "guardian" and run["conclusion"] == "failure"
    budget = [n for n in run["annotations"] if n["title"] == "guardian dir-budget"]
    assert len(budget) == 1 and "tools/ holds 12.0 KiB" in str(budget[0]["message"])
    summary = str(run["output"]["summary"])
    assert "merge group" in summary and base[:12] in summary
    assert "this pull request changes" not in summary and "changes `.guardian.toml`" in summary
    # The changed files are what the group adds to its base, asked of the compare API.
    compares = env.fake.calls("GET", r"/compare/")
    assert [c.path for c in compares] == [f"/repos/acme/atomizer/compare/{base}...{group}"]
    # A group has no pull request to read, and no conversation to comment on.
    assert env.fake.calls(None, r"/issues/") == comments_before
    assert [s["state"] for s in repo.statuses if s["sha"] == group] == ["failure"]
    assert {s["context"] for s in repo.statuses if s["sha"] == group} == {"guardian"}


def test_a_clean_merge_group_passes_with_a_check_run_and_a_status(env: AppEnv) -> None:
    repo, base, group, _heads = _queue(env, {"docs/usage.md": b"# Usage\n"}, {"tools/small.bin": b"\3" * KIB})
    env.deliver("merge_group", merge_group_event(repo, group, base))
    run = env.wait_completed(repo, group)
    env.wait_idle()
    assert (run["name"], run["conclusion"]) == ("guardian", "success")
    assert run["output"]["title"] == "No policy violations"
    assert [(s["context"], s["state"]) for s in repo.statuses if s["sha"] == group] == [("guardian", "success")]
    assert env.fake.calls("GET", r"/pulls") == []
    _no_comment_anywhere(env)


def test_destroyed_cancels_a_group_check_that_has_not_started(tmp_path: Path) -> None:
    # One worker, held busy by the first group: the second waits in the queue
    # when the queue drops it (its first pull request was dequeued).
    with AppEnv(str(tmp_path / "app.sqlite3"), workers=1) as env:
        repo, base, first, _heads = _queue(env, {"docs/a.md": b"a\n"})
        second = repo.commit({**_base(), "docs/a.md": b"a\n", "docs/b.md": b"b\n"}, "second group")
        held = env.fake.hold("GET", rf"/compare/{base}\.\.\.{first}$")
        env.deliver("merge_group", merge_group_event(repo, first, base, number=1))
        assert held.arrived.wait(10)
        env.deliver("merge_group", merge_group_event(repo, second, base, number=2))
        answer = env.deliver(
            "merge_group", merge_group_event(repo, second, base, number=2, action="destroyed", reason="dequeued")
        )
        assert answer.status_code == 202 and answer.json() == {"cancelled": 1}
        held.release.set()
        assert env.wait_completed(repo, first)["conclusion"] == "success"
        env.wait_idle()
        # Nothing was written for the destroyed group: no check run, no status, no evaluation.
        assert _runs_on(env, repo, second) == []
        assert [s for s in repo.statuses if s["sha"] == second] == []
        assert env.fake.calls("GET", rf"/compare/{base}\.\.\.{second}$") == []
        cancelled = [j for j in env.queue.jobs() if j["head_sha"] == second]
        assert [(j["state"], j["error"]) for j in cancelled] == [("skipped", "merge group destroyed (dequeued)")]
        # A group already checked keeps its verdict when it is destroyed (merged).
        merged = env.deliver(
            "merge_group", merge_group_event(repo, first, base, number=1, action="destroyed", reason="merged")
        )
        assert merged.json() == {"cancelled": 0}
        assert [r["conclusion"] for r in _runs_on(env, repo, first)] == ["success"]
        _no_comment_anywhere(env)


def test_the_queue_branchs_own_check_suite_does_not_evaluate_the_group_again(env: AppEnv) -> None:
    repo, base, group, _heads = _queue(env, {"tools/a.bin": b"\1" * KIB})
    queue_branch = f"gh-readonly-queue/main/pr-1-{base}"

    def suite(action: str) -> Json:
        payload = check_suite_event(repo, group, [], action)
        payload["check_suite"]["head_branch"] = queue_branch
        return payload

    # GitHub announces the queue branch's push as a check suite, before or
    # after the merge_group delivery; a person may also re-request it.
    early = env.deliver("check_suite", suite("requested"))
    env.deliver("merge_group", merge_group_event(repo, group, base))
    env.wait_completed(repo, group)
    env.wait_idle()
    late = env.deliver("check_suite", suite("requested"))
    again = env.deliver("check_suite", suite("rerequested"))
    env.wait_idle()
    for answer in (early, late, again):
        assert answer.status_code == 202 and "merge queue" in answer.json()["ignored"]
    assert len(env.fake.calls("POST", r"/check-runs$")) == 1
    assert len(env.fake.calls("GET", r"/compare/")) == 1
    assert env.fake.calls("GET", r"/pulls") == []  # nobody looked for a pull request with the group's head
    assert [r["conclusion"] for r in _runs_on(env, repo, group)] == ["success"]
    _no_comment_anywhere(env)


def test_re_run_on_a_group_check_run_checks_the_same_group_again(env: AppEnv) -> None:
    repo, base, group, _heads = _queue(env, {"tools/a.bin": b"\1" * (8 * KIB)})
    env.deliver("merge_group", merge_group_event(repo, group, base))
    first = env.wait_completed(repo, group)
    env.wait_idle()
    assert first["conclusion"] == "failure"
    env.deliver("check_run", check_run_event(repo, first))
    wait_for(lambda: len(env.completed_runs(repo, group)) == 2)
    env.wait_idle()
    assert [r["conclusion"] for r in env.completed_runs(repo, group)] == ["failure", "failure"]
    assert [c.path for c in env.fake.calls("GET", r"/compare/")] == [
        f"/repos/acme/atomizer/compare/{base}...{group}"
    ] * 2
    _no_comment_anywhere(env)


def test_a_group_is_not_failed_for_what_stood_on_its_base_but_is_for_adding_to_it(env: AppEnv) -> None:
    # The base's tools/ is over its budget already (a past the team accepted).
    repo = env.fake.add_repo("acme/atomizer")
    base_files = _base(**{"tools/big.bin": b"\0" * (12 * KIB)})
    base = repo.commit(base_files, "base")
    docs_only = repo.commit({**base_files, "docs/usage.md": b"# Usage\n"}, "group: docs")
    env.deliver("merge_group", merge_group_event(repo, docs_only, base))
    run = env.wait_completed(repo, docs_only)
    assert run["conclusion"] == "success" and run["annotations"] == []
    notice = [line for line in str(run["output"]["summary"]).splitlines() if "stood on the base branch" in line]
    assert len(notice) == 1 and "dir-budget on `tools`" in notice[0] and "merge group" in notice[0]

    more_tools = repo.commit({**base_files, "tools/more.bin": b"\4" * KIB}, "group: tools")
    env.deliver("merge_group", merge_group_event(repo, more_tools, base, number=2))
    worse = env.wait_completed(repo, more_tools)
    assert worse["conclusion"] == "failure"
    assert [n["title"] for n in worse["annotations"]] == ["guardian dir-budget"]
    env.wait_idle()
    _no_comment_anywhere(env)
