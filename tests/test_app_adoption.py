"""The App in a repository with a past: baselines, standing findings, a lost database.

The base branch of these repositories carries what a migration leaves
behind: an over-budget ``tools/``, a ``.gitignore`` missing required
patterns, an old banned import, and a baseline (made with Guardian's own
``Baseline``, as ``guardian baseline`` makes it) that accepts them. The App
runs on loopback against the fake GitHub; each test reads what it posted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardian import engine
from guardian.accept import Baseline
from guardian.config import load_policy_bytes
from guardian.model import MemorySnapshot
from tests.fake_github import (
    REQUIRED_IGNORES,
    AppEnv,
    Json,
    Repo,
    installation_event,
    pull_request_event,
    render_markdown,
    wait_for,
)

KIB = 1024
LEGACY_PY = b"import optimization_engine.core\n\nVALUE = 1\n"
POLICY = b'[rules.dir-budget.budgets]\n"tools/" = "10 KiB"\n'
WITH_BASELINE = POLICY.replace(b"[rules", b'baseline = ".guardian-baseline.json"\n\n[rules', 1)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3")) as env:
        yield env


def _baseline_of(files: dict[str, bytes], config: bytes) -> bytes:
    """What ``guardian baseline --all-files`` writes for ``files``: every finding accepted."""
    result = engine.run(MemorySnapshot(files), load_policy_bytes(config, ".guardian.toml"))
    return Baseline.from_findings(result.findings).dumps().encode()


def _past(*, baseline: bool = True) -> dict[str, bytes]:
    files = {
        ".gitignore": b"*.bak\n*.zip\n",  # twelve required patterns missing
        ".guardian.toml": WITH_BASELINE if baseline else POLICY,
        "README.md": b"# atomizer\n",
        "src/legacy.py": LEGACY_PY,
        "tools/old.bin": b"\0" * (12 * KIB),  # over its 10 KiB budget
    }
    if baseline:
        files[".guardian-baseline.json"] = _baseline_of(files, WITH_BASELINE)
    return files


def _pr(env: AppEnv, repo: Repo, number: int, base_files: dict[str, bytes], change: dict[str, bytes]) -> Json:
    base = repo.commit(base_files, "base")
    head = repo.commit({**base_files, **change}, f"pr {number}")
    repo.open_pr(number, base, head)
    env.deliver("pull_request", pull_request_event(repo, number, "opened"))
    return env.wait_completed(repo, head)


def _notice(run: Json) -> list[str]:
    return [line for line in str(run["output"]["summary"]).splitlines() if "stood on the base branch" in line]


def test_a_pr_that_touches_none_of_the_past_passes_with_one_notice(env: AppEnv) -> None:
    repo = env.fake.add_repo("acme/atomizer")
    run = _pr(env, repo, 1, _past(), {"README.md": b"# atomizer\n\nHow to run it.\n"})
    assert run["conclusion"] == "success" and run["annotations"] == []
    notice = _notice(run)
    assert len(notice) == 1
    assert "13 repository-wide findings" in notice[0]
    assert "dir-budget on `tools`" in notice[0] and "gitignore-required on `.gitignore` (12)" in notice[0]
    env.wait_idle()
    assert repo.comments.get(1, []) == []  # a clean pull request gets no comment
    assert repo.statuses[-1]["state"] == "success"


def test_the_baseline_on_the_base_branch_accepts_old_findings_in_an_edited_file(env: AppEnv) -> None:
    # The same edit to the file with the old import, in two repositories: one
    # whose base names a baseline accepting that import, one without.
    edit = {"src/legacy.py": LEGACY_PY.replace(b"VALUE = 1", b"VALUE = 2")}
    accepted = _pr(env, env.fake.add_repo("acme/with-baseline"), 1, _past(), edit)
    assert accepted["conclusion"] == "success"
    summary = str(accepted["output"]["summary"])
    assert "Baseline from the base branch, `.guardian-baseline.json`: 1 finding accepted there" in summary
    bare = _pr(env, env.fake.add_repo("acme/without-baseline"), 1, _past(baseline=False), edit)
    assert bare["conclusion"] == "failure"
    assert [(n["title"], n["path"], n["start_line"]) for n in bare["annotations"]] == [
        ("guardian forbidden-import", "src/legacy.py", 1)
    ]


def test_a_pr_cannot_accept_its_own_findings_by_editing_the_baseline(env: AppEnv) -> None:
    repo = env.fake.add_repo("acme/atomizer")
    base_files = _past()
    change = {"src/new.py": b"from optimization_engine import solvers\n"}
    # The pull request regenerates the baseline with its new finding in it.
    change[".guardian-baseline.json"] = _baseline_of({**base_files, **change}, WITH_BASELINE)
    run = _pr(env, repo, 1, base_files, change)
    assert run["conclusion"] == "failure"
    assert [(n["title"], n["path"]) for n in run["annotations"]] == [("guardian forbidden-import", "src/new.py")]
    # The baseline file is Guardian's own: no rule judges it.
    assert ".guardian-baseline.json" not in str(run["annotations"])


def test_adding_to_the_over_budget_directory_fails_though_the_baseline_accepted_it(env: AppEnv) -> None:
    repo = env.fake.add_repo("acme/atomizer")
    run = _pr(env, repo, 1, _past(), {"tools/helper.bin": b"\1" * KIB})
    assert run["conclusion"] == "failure"
    budget = [n for n in run["annotations"] if n["title"] == "guardian dir-budget"]
    assert len(budget) == 1 and "tools/ holds 13.0 KiB" in str(budget[0]["message"])
    # The .gitignore gaps it does not widen stay a notice.
    assert "gitignore-required on `.gitignore` (12)" in _notice(run)[0]
    env.wait_idle()
    assert len(repo.bot_comments(1)) == 1


def test_a_gitignore_edit_that_loses_a_required_pattern_fails(env: AppEnv) -> None:
    repo = env.fake.add_repo("acme/atomizer")
    run = _pr(env, repo, 1, _past(), {".gitignore": b"*.zip\nbuild/\n"})
    assert run["conclusion"] == "failure"
    lost = [n for n in run["annotations"] if n["title"] == "guardian gitignore-required"]
    assert len(lost) == 1 and "`*.bak` is not ignored" in str(lost[0]["message"])
    assert "gitignore-required on `.gitignore` (12)" in _notice(run)[0]


def test_a_baseline_the_base_policy_names_but_the_base_lacks_fails_naming_it(env: AppEnv) -> None:
    repo = env.fake.add_repo("acme/atomizer")
    base_files = _past()
    del base_files[".guardian-baseline.json"]
    run = _pr(env, repo, 1, base_files, {"README.md": b"# atomizer 2\n"})
    assert run["conclusion"] == "failure"
    assert ".guardian-baseline.json: baseline not found on the base branch" in str(run["output"]["summary"])
    env.wait_idle()
    assert repo.statuses[-1]["state"] == "error"


def test_a_baseline_over_the_apps_blob_bound_is_not_read(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), max_blob_bytes=64 * KIB) as env:
        repo = env.fake.add_repo("acme/atomizer")
        base_files = _past()
        base_files[".guardian-baseline.json"] += b" " * (80 * KIB)  # valid JSON, too large
        run = _pr(env, repo, 1, base_files, {"README.md": b"# atomizer 2\n"})
        assert run["conclusion"] == "failure"
        assert "over the App's 65,536-byte bound" in str(run["output"]["summary"])
        baseline_blobs = [c for c in env.fake.calls("GET", r"/git/blobs/") if c.status == 200]
        assert all("guardian-baseline" not in c.path for c in baseline_blobs)


def test_the_standing_notice_shows_repository_names_only_as_code(env: AppEnv) -> None:
    hostile = "cc @octocat [x](https:evil.example) <img src=x onerror=alert(1)> #1 HOSTILE"
    config = f'[rules.dir-budget.budgets]\n"{hostile}/" = "1 KiB"\n'.encode()
    repo = env.fake.add_repo("acme/atomizer")
    base_files = {
        ".gitignore": REQUIRED_IGNORES.encode(),
        ".guardian.toml": config,
        f"{hostile}/blob.bin": b"\0" * (2 * KIB),
    }
    # The pull request has a finding of its own, so a comment (with the notice) is posted too.
    run = _pr(env, repo, 1, base_files, {"src/new.py": b"import optimization_engine\n"})
    assert run["conclusion"] == "failure"
    env.wait_idle()
    comment = str(repo.bot_comments(1)[0]["body"])
    for markdown in (str(run["output"]["summary"]), comment):
        assert "stood on the base branch" in markdown
        shown = render_markdown(markdown)
        assert shown.images == [] and "img" not in shown.tags
        assert all("evil.example" not in link for link in shown.links)
        assert "HOSTILE" not in shown.live_text and "@" not in shown.live_text
        assert any(hostile in code for code in shown.code)


def _wipe(db_path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)


def test_after_a_lost_database_the_reconcile_finds_its_installations(tmp_path: Path) -> None:
    db = str(tmp_path / "app.sqlite3")
    with AppEnv(db, serve=False) as env:
        repo, _base, checked = env.repo_with_pr({"docs/a.md": b"a\n"})
        env.start_app()
        env.deliver("installation", installation_event(1, [repo]))
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        env.wait_completed(repo, checked)
        env.wait_idle()
        env.stop_app()
        _wipe(db)
        # While the App was down a pull request was opened; its delivery was lost.
        base = repo.pulls[1]["base"]["sha"]
        base_files = {p: repo.blobs[s] for p, (_m, s) in repo.flatten(repo.commits[base]).items()}
        missed = repo.commit({**base_files, "src/solver.py": b"import optimization_engine\n"})
        repo.open_pr(2, base, missed)
        before = len(env.fake.requests)
        env.settings = type(env.settings)(**{**env.settings.__dict__, "reconcile_limit": 100})
        env.start_app()
        run = env.wait_completed(repo, missed, timeout=30)
        env.wait_idle()
        assert run["conclusion"] == "failure"
        listing = [r for r in env.fake.requests[before:] if r.path == "/app/installations"]
        assert len(listing) == 1
        assert listing[0].headers["authorization"].startswith("Bearer ")  # the App's JWT
        assert listing[0].query.get("per_page") == "100"
        # The pull request already checked is not checked again.
        assert len(env.completed_runs(repo, checked)) == 1
        assert env.store.installations() == [1]


def test_the_installation_listing_is_followed_page_by_page(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), reconcile_limit=100, serve=False) as env:
        # 150 installations with nothing to check, and one, listed on the
        # second page, with an open pull request the store never heard of.
        for number in range(2, 152):
            env.fake.installations[number] = []
        repo = env.fake.add_repo("acme/late", installation=151)
        base = repo.commit({".gitignore": REQUIRED_IGNORES.encode(), "README.md": b"# late\n"})
        head = repo.commit({".gitignore": REQUIRED_IGNORES.encode(), "README.md": b"# late\n", "x.py": b"x = 1\n"})
        repo.open_pr(1, base, head)
        env.start_app()
        run = env.wait_completed(repo, head, timeout=30)
        assert run["conclusion"] == "success"
        pages = env.fake.calls("GET", r"^/app/installations$")
        assert [p.query.get("page", "1") for p in pages] == ["1", "2"]
        wait_for(lambda: 151 in env.store.installations())


def test_the_readmes_manifest_is_app_yml_as_json() -> None:
    import json
    import re

    import yaml

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Register the App") : readme.index("### Local development")]
    shown = json.loads(re.search(r"```json\n(.*?)\n```", section, re.S).group(1))  # type: ignore[union-attr]
    manifest = yaml.safe_load((root / "app.yml").read_text(encoding="utf-8"))
    assert shown == manifest
    assert manifest["default_permissions"] == {
        "checks": "write",
        "statuses": "write",
        "pull_requests": "write",
        "contents": "read",
        "metadata": "read",
        "merge_queues": "read",
    }
    assert set(manifest["default_events"]) == {"pull_request", "check_suite", "check_run", "merge_group"}
