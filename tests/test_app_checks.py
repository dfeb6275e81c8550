"""The GitHub App end to end: signed webhooks in over HTTP, a fake GitHub out.

The App runs in a real uvicorn server on loopback; the fake GitHub API
(tests/fake_github.py) answers with GitHub's REST shapes and records every
request, so each test reads like what a reviewer sees on the pull request.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardian_app import report
from tests.fake_github import (
    BOT_LOGIN,
    REQUIRED_IGNORES,
    AppEnv,
    Json,
    blob_sha,
    check_run_event,
    check_suite_event,
    pull_request_event,
    wait_for,
)

BAD_PY = b'import optimization_engine.solvers\nOUT = "C:\\\\results\\\\run1"\n'
GOOD_PY = b"import atomizer.solvers\nOUT = RESULTS_DIR / 'run1'\n"
TWO_MIB = b"\0\x01binary" * (2 * 1024 * 1024 // 8)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3")) as env:
        yield env


def _by_rule(run: Json) -> dict[str, list[Json]]:
    found: dict[str, list[Json]] = {}
    for note in run["annotations"]:
        found.setdefault(str(note["title"]).removeprefix("guardian "), []).append(note)
    return found


def test_a_pr_breaking_the_policy_fails_with_annotations_and_one_comment_then_turns_green(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr(
        {"data/huge.bin": TWO_MIB, "src/solver.py": BAD_PY, "data/results.sqlite": b"SQLite format 3\0tables"}
    )
    response = env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    assert response.status_code == 202

    run = env.wait_completed(repo, head)
    assert run["name"] == "guardian"
    assert run["conclusion"] == "failure"
    notes = _by_rule(run)
    assert [(n["path"], n["annotation_level"]) for n in notes["max-file-size"]] == [("data/huge.bin", "failure")]
    assert [(n["path"], n["start_line"]) for n in notes["forbidden-import"]] == [("src/solver.py", 1)]
    assert "atomizer.solvers" in str(notes["forbidden-import"][0]["message"])
    assert [(n["path"], n["start_line"]) for n in notes["windows-path"]] == [("src/solver.py", 2)]
    assert [n["path"] for n in notes["gitignore-required"]] == ["data/results.sqlite"]
    summary = str(run["output"]["summary"])
    assert "forbidden-import" in summary and "shipped policy 'default'" in summary
    assert run["output"]["title"] == "4 errors, 0 warnings"

    env.wait_idle()
    comments = repo.bot_comments(1)
    assert len(comments) == 1
    assert "4 errors" in str(comments[0]["body"]) and "src/solver.py" in str(comments[0]["body"])
    status = repo.statuses[-1]
    assert (status["context"], status["state"], status["sha"]) == ("guardian", "failure", head)
    assert len(str(status["description"])) <= 140

    # The author fixes everything and pushes: the check turns green and the
    # same comment is edited to say so.
    fixed = repo.commit({".gitignore": REQUIRED_IGNORES.encode(), "src/solver.py": GOOD_PY})
    repo.push(1, fixed)
    env.deliver("pull_request", pull_request_event(repo, 1, "synchronize"))
    green = env.wait_completed(repo, fixed)
    assert green["conclusion"] == "success"
    assert green["annotations"] == []
    env.wait_idle()
    comments = repo.bot_comments(1)
    assert len(comments) == 1
    assert comments[0]["edits"] == 1
    assert "no policy violations" in str(comments[0]["body"])
    assert repo.statuses[-1]["state"] == "success"


def test_an_unchanged_result_does_not_touch_the_comment_again(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    env.wait_completed(repo, head)
    env.wait_idle()
    # Same findings on a new head (an unrelated file changed).
    again = repo.commit(
        {
            **{p: repo.blobs[s] for p, (_m, s) in repo.flatten(repo.commits[head]).items()},
            "docs/notes.md": b"notes\n",
        }
    )
    repo.push(1, again)
    env.deliver("pull_request", pull_request_event(repo, 1, "synchronize"))
    env.wait_completed(repo, again)
    env.wait_idle()
    comments = repo.bot_comments(1)
    assert len(comments) == 1 and comments[0].get("edits", 0) == 0
    assert env.fake.calls("PATCH", r"/issues/comments/") == []


def test_a_clean_pr_gets_a_green_check_and_no_comment(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/atomizer/solve.py": GOOD_PY})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    assert run["conclusion"] == "success"
    assert run["output"]["title"] == "No policy violations"
    env.wait_idle()
    assert repo.comments.get(1, []) == []
    assert repo.statuses[-1]["state"] == "success"


def test_warnings_only_end_neutral(env: AppEnv) -> None:
    config = b'[rules.windows-path]\nseverity = "warning"\n'
    repo, _base, head = env.repo_with_pr(
        {"src/paths.py": b'DATA = "D:\\\\data"\n'}, base_files={".guardian.toml": config}
    )
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    assert run["conclusion"] == "neutral"
    assert [n["annotation_level"] for n in run["annotations"]] == ["warning"]
    assert ".guardian.toml" in str(run["output"]["summary"])


def test_120_findings_arrive_as_three_annotation_batches(env: AppEnv) -> None:
    lines = b"".join(b"import optimization_engine.mod%d\n" % i for i in range(120))
    repo, _base, head = env.repo_with_pr({"src/legacy.py": lines})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    assert run["annotation_batches"] == [50, 50, 20]
    assert len(run["annotations"]) == 120
    assert sorted(n["start_line"] for n in run["annotations"]) == list(range(1, 121))
    patches = env.fake.calls("PATCH", r"/check-runs/")
    assert len(patches) == 3
    # Only the last request completes the run, so GitHub never shows a partial result as final.
    assert [("conclusion" in p.body) for p in patches] == [False, False, True]


def test_the_policy_comes_from_the_base_branch_and_a_config_change_is_reported(env: AppEnv) -> None:
    # The PR tries to switch the import rule off in its own .guardian.toml.
    repo, _base, head = env.repo_with_pr(
        {
            ".guardian.toml": b"[rules.forbidden-import]\nenabled = false\n",
            "src/solver.py": b"import optimization_engine\n",
        }
    )
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    assert run["conclusion"] == "failure"
    assert "forbidden-import" in _by_rule(run)
    summary = str(run["output"]["summary"])
    assert "this pull request changes `.guardian.toml`" in summary
    env.wait_idle()
    assert "changes `.guardian.toml`" in str(repo.bot_comments(1)[0]["body"])


def test_a_broken_base_config_fails_the_check_and_names_the_key(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr(
        {"src/ok.py": GOOD_PY}, base_files={".guardian.toml": b'[rules.max-file-size]\nlimit = "lots"\n'}
    )
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    assert run["conclusion"] == "failure"
    assert "rules.max-file-size.limit" in str(run["output"]["summary"])
    env.wait_idle()
    assert repo.statuses[-1]["state"] == "error"


def test_pyproject_tool_guardian_on_the_base_is_the_policy(env: AppEnv) -> None:
    pyproject = b'[project]\nname = "atomizer"\n\n[tool.guardian.rules.max-file-size]\nlimit = "10 KiB"\n'
    repo, _base, head = env.repo_with_pr(
        {"assets/logo.png": b"\x89PNG" + b"\0" * 20_000}, base_files={"pyproject.toml": pyproject}
    )
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    assert [n["path"] for n in _by_rule(run)["max-file-size"]] == ["assets/logo.png"]
    assert "pyproject.toml" in str(run["output"]["summary"])


@pytest.mark.parametrize(
    ("name", "config", "conclusion"),
    [
        (".guardian.toml", b'[rules.windows-path]\nseverity = "warning"\n', "neutral"),
        ("pyproject.toml", b'[project]\nname = "atomizer"\n', "failure"),
    ],
    ids=["policy-file", "pyproject-without-tool-guardian"],
)
def test_the_base_policy_file_is_fetched_once_per_blob(env: AppEnv, name: str, config: bytes, conclusion: str) -> None:
    # The policy lookup reads each base file with one blob fetch; what that
    # blob held (a policy, or none) is remembered by its id.
    repo = env.fake.add_repo("acme/atomizer")
    tidy = {".gitignore": REQUIRED_IGNORES.encode(), "README.md": b"# atomizer\n", name: config}
    base = repo.commit(tidy, "base")
    heads = [repo.commit({**tidy, f"src/paths{n}.py": b'DATA = "D:\\\\data"\n'}, f"pr {n}") for n in (1, 2)]
    for number, head in enumerate(heads, start=1):
        repo.open_pr(number, base, head)
        env.deliver("pull_request", pull_request_event(repo, number, "opened"))
        assert env.wait_completed(repo, head)["conclusion"] == conclusion
        env.wait_idle()
    assert len(env.fake.calls("GET", rf"/git/blobs/{blob_sha(config)}$")) == 1


def test_a_redelivered_delivery_is_evaluated_once(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    # A reopen asks for a fresh evaluation even of a checked head: only the
    # delivery id tells a redelivery from a second reopen.
    payload = pull_request_event(repo, 1, "reopened")
    first = env.deliver("pull_request", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    env.wait_completed(repo, head)
    env.wait_idle()
    again = env.deliver("pull_request", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == {"duplicate": True}
    env.wait_idle()
    assert len(env.fake.calls("POST", r"/check-runs$")) == 1
    assert len(env.fake.calls("GET", r"/pulls/1/files$")) == 1


def test_deliveries_for_the_same_head_coalesce_into_one_evaluation(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    held = env.fake.hold("POST", r"/app/installations/")  # keep the first job from finishing
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    assert held.arrived.wait(5)
    # While it runs, more deliveries for the same head arrive.
    answers = [
        # The push announced again, and a draft turning ready: the running evaluation covers them.
        env.deliver("check_suite", check_suite_event(repo, head, [1])).json(),
        env.deliver("pull_request", pull_request_event(repo, 1, "ready_for_review")).json(),
        # Someone asks for a re-run: one more evaluation, which a reopen then joins.
        env.deliver("check_suite", check_suite_event(repo, head, [1], "rerequested")).json(),
        env.deliver("pull_request", pull_request_event(repo, 1, "reopened")).json(),
    ]
    assert answers == [
        {"queued": 0, "coalesced": 1},
        {"queued": 0, "coalesced": 1},
        {"queued": 1, "coalesced": 0},
        {"queued": 0, "coalesced": 1},
    ]
    held.release.set()
    env.wait_idle()
    assert len(env.fake.calls("POST", r"/check-runs$")) == 2


def test_a_push_announced_twice_is_evaluated_once(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    env.deliver("pull_request", pull_request_event(repo, 1, "synchronize"))
    env.wait_completed(repo, head)
    env.wait_idle()
    late = env.deliver("check_suite", check_suite_event(repo, head, [1]))
    assert late.json() == {"queued": 0, "coalesced": 1}
    env.wait_idle()
    assert len(env.fake.calls("POST", r"/check-runs$")) == 1


def test_a_branch_pushed_before_its_pr_opened_is_checked_when_it_opens(env: AppEnv) -> None:
    repo = env.fake.add_repo("acme/atomizer")
    base = repo.commit({".gitignore": REQUIRED_IGNORES.encode(), "README.md": b"x\n"})
    head = repo.commit({".gitignore": REQUIRED_IGNORES.encode(), "README.md": b"x\n", "a.py": BAD_PY})
    # The push: GitHub requests a check suite; no pull request exists yet.
    env.deliver("check_suite", check_suite_event(repo, head, []))
    env.wait_idle()
    assert repo.check_runs == []
    repo.open_pr(3, base, head)
    assert env.deliver("pull_request", pull_request_event(repo, 3, "opened")).json() == {"queued": 1, "coalesced": 0}
    assert env.wait_completed(repo, head)["conclusion"] == "failure"


def test_a_fork_check_suite_without_pull_requests_is_mapped_to_its_pr(env: AppEnv) -> None:
    repo = env.fake.add_repo("acme/atomizer")
    base = repo.commit({".gitignore": b"*.sqlite\n", "README.md": b"x\n"})
    head = repo.commit(
        {".gitignore": b"*.sqlite\n", "README.md": b"x\n", "tools/run.py": b"import optimization_engine\n"}
    )
    repo.open_pr(7, base, head, fork="contributor/atomizer", head_ref="patch-1")
    event = check_suite_event(repo, head, [])
    assert event["check_suite"]["pull_requests"] == []
    env.deliver("check_suite", event)
    run = env.wait_completed(repo, head)
    assert "forbidden-import" in _by_rule(run)
    env.wait_idle()
    assert len(repo.bot_comments(7)) == 1


def test_the_rerun_button_evaluates_the_head_again(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    first = env.wait_completed(repo, head)
    env.wait_idle()
    env.deliver("check_run", check_run_event(repo, first))
    wait_for(lambda: len(env.completed_runs(repo, head)) == 2)
    assert env.completed_runs(repo, head)[-1]["conclusion"] == "failure"


def test_a_stale_head_is_skipped_when_the_pr_moved_on(env: AppEnv) -> None:
    repo, _base, _head = env.repo_with_pr({"src/solver.py": BAD_PY})
    old_event = pull_request_event(repo, 1, "opened")
    newer = repo.commit({"README.md": b"# atomizer\n", "src/solver.py": GOOD_PY, ".gitignore": b"*.sqlite\n"})
    repo.push(1, newer)
    env.deliver("pull_request", old_event)
    env.wait_idle()
    assert env.fake.calls("POST", r"/check-runs$") == []


def test_the_read_budget_holds_and_is_reported_for_a_300_file_pr(env: AppEnv) -> None:
    files = {f"pkg/mod_{i:03d}.py": b"x = %d\n" % i for i in range(300)}
    files["pkg/bad.py"] = b"from optimization_engine import core\n"
    repo, _base, head = env.repo_with_pr(files)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    env.wait_idle()
    reads = [
        r
        for r in env.fake.requests
        if r.method == "GET" and "/git/blobs/" not in r.path and r.path.startswith("/repos/")
    ]
    reads = [r for r in reads if "/issues/" not in r.path]  # comment lookup is reporting, not evaluation
    assert len(reads) <= 4 + math.ceil(301 / 100)
    assert len(env.fake.calls("GET", r"/pulls/1/files$")) == 4  # 301 files, 100 per page, via Link
    assert f"{len(reads)} besides blobs" in str(run["output"]["summary"])
    # Blobs: the 301 changed Python files the content rules read, and the .gitignore.
    assert len(env.fake.calls("GET", r"/git/blobs/")) == 301 + 1


def test_a_truncated_tree_is_walked_subtree_by_subtree(env: AppEnv) -> None:
    env.fake.truncate_trees_over = 5
    files = {f"tools/bin/tool{i}.dat": b"\0" * 1000 for i in range(8)}
    files["tools/bin/giant.dat"] = b"\0" * 3_000_000
    repo, _base, head = env.repo_with_pr(
        files, base_files={".guardian.toml": b'[rules.dir-budget.budgets]\n"tools/" = "1 MiB"\n'}
    )
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    budget = _by_rule(run)["dir-budget"]
    assert budget and "tools/" in str(budget[0]["message"])
    assert "truncated" in str(run["output"]["summary"])
    assert len(env.fake.calls("GET", r"/git/trees/")) > 2


def test_a_sticky_comment_is_found_by_its_marker_after_the_app_forgot_it(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "one.sqlite3")) as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        env.fake.add_user_comment(repo, 1, "LGTM once the imports are fixed")
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        env.wait_completed(repo, head)
        env.wait_idle()
        # A new process with a new database: it must find its comment, not add one.
        env.stop_app()
        env.settings = type(env.settings)(**{**env.settings.__dict__, "db_path": str(tmp_path / "two.sqlite3")})
        env.start_app()
        fixed = repo.commit({".gitignore": REQUIRED_IGNORES.encode(), "src/solver.py": GOOD_PY})
        repo.push(1, fixed)
        env.deliver("pull_request", pull_request_event(repo, 1, "synchronize"))
        env.wait_completed(repo, fixed)
        env.wait_idle()
        assert len(repo.bot_comments(1)) == 1
        assert len(repo.comments[1]) == 2  # the user's and ours
        assert "no policy violations" in str(repo.bot_comments(1)[0]["body"])
        assert repo.comments[1][0]["user"]["login"] != BOT_LOGIN


def test_another_apps_comment_quoting_the_marker_is_left_alone(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    quoted = f"Summary of the checks on this PR:\n> {report.COMMENT_MARKER}\n> Guardian: 2 errors"
    env.fake.add_user_comment(repo, 1, quoted, user="ci-digest[bot]")
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    env.wait_completed(repo, head)
    env.wait_idle()
    # Ours is a comment of its own; the other App's is not edited (GitHub would refuse).
    assert len(repo.bot_comments(1)) == 1
    assert repo.comments[1][0]["body"] == quoted
    assert [r.status for r in env.fake.calls("PATCH", r"/issues/comments/")] == []


def test_commit_status_and_comment_can_be_switched_off(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), commit_status=False, pr_comment=False) as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        assert env.wait_completed(repo, head)["conclusion"] == "failure"
        env.wait_idle()
        assert repo.statuses == []
        assert repo.comments.get(1, []) == []
        assert env.fake.calls(pattern=r"/issues/") == []


def test_a_blob_nobody_fetched_beforehand_is_reported_as_not_read() -> None:
    # The engine runs in a process without credentials: it reads what was
    # fetched for it and names the rest, never asking GitHub itself.
    from guardian import engine
    from guardian.config import build_policy
    from guardian.model import FileEntry
    from guardian_app.snapshot import GitHubSnapshot
    from tests.fake_github import blob_sha

    fetched = FileEntry("src/a.py", 32, "100644", blob_sha(b"import optimization_engine.core\n"))
    unforeseen = FileEntry("src/b.py", 32, "100644", blob_sha(b"import optimization_engine.cli\n"))
    snapshot = GitHubSnapshot(
        [fetched, unforeseen],
        [fetched, unforeseen],
        label="t",
        blobs={fetched.oid: b"import optimization_engine.core\n"},
    )
    result = engine.run(snapshot, build_policy({}, "<no project configuration>"))
    assert [f.path for f in result.findings if f.rule == "forbidden-import"] == ["src/a.py"]
    assert result.skipped == [("src/b.py", "not fetched before the evaluation")]
    assert snapshot.unforeseen == 1


def test_a_github_enterprise_api_url_with_a_path_prefix_works(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), api_prefix="/api/v3") as env:
        assert env.settings.api_url.endswith("/api/v3")
        files = {f"src/mod_{i:03d}.py": b"x = 1\n" for i in range(149)}
        files["src/old.py"] = BAD_PY
        repo, _base, head = env.repo_with_pr(files)
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        run = env.wait_completed(repo, head)
        assert run["conclusion"] == "failure"
        # Every request stayed under the prefix, the Link-followed second page included.
        assert [r.query.get("page") for r in env.fake.calls("GET", r"/pulls/1/files$")] == [None, "2"]
        assert env.fake.calls(pattern="outside-the-api-prefix") == []
