"""The GitHub Action: its check step run as a runner runs it (the event in
GITHUB_EVENT_PATH, inputs in INPUT_* variables) on real repositories, and its
metadata held to GitHub's schema and a security audit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GOOD_GITIGNORE, ROOT, Repo

BAD = "import optimization_engine.core\n"


@pytest.fixture
def pr(repo: Repo) -> tuple[Repo, str, str]:
    """A base with an old violation, and a head that adds a new one."""
    repo.write(".gitignore", GOOD_GITIGNORE)
    repo.write("legacy/old.py", BAD)
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/new.py", "x = 1\n" + BAD)
    head = repo.commit("head")
    return repo, base, head


def _run(repo: Repo, tmp_path: Path, event_name: str, event: dict[str, object], **inputs: str) -> tuple[int, str]:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    env = {
        **os.environ,
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_OUTPUT": str(outputs),
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "action" / "run.py")], cwd=repo.path, env=env, capture_output=True, timeout=120
    )
    return proc.returncode, proc.stdout.decode() + proc.stderr.decode()


def test_a_pull_request_gets_annotations_for_what_it_adds_only(pr: tuple[Repo, str, str], tmp_path: Path) -> None:
    repo, base, _head = pr
    code, out = _run(repo, tmp_path, "pull_request", {"pull_request": {"base": {"sha": base}, "number": 1}})
    assert code == 1, out
    assert "::error file=src/new.py,line=2,col=8,title=guardian forbidden-import::" in out
    assert "legacy/old.py" not in out  # already on the base


def test_a_merge_group_is_checked_against_the_queue_s_base(pr: tuple[Repo, str, str], tmp_path: Path) -> None:
    repo, base, head = pr
    repo.git("checkout", "-q", "--detach", head)
    event = {"merge_group": {"base_sha": base, "head_sha": head, "head_ref": "refs/heads/gh-readonly-queue/main/x"}}
    code, out = _run(repo, tmp_path, "merge_group", event)
    assert code == 1 and "file=src/new.py" in out and "legacy/old.py" not in out, out


def test_a_clean_push_passes_and_a_new_branch_is_checked_whole(pr: tuple[Repo, str, str], tmp_path: Path) -> None:
    repo, _base, head = pr
    repo.write("src/new.py", "x = 1\n")
    fixed = repo.commit("fix")
    code, out = _run(repo, tmp_path, "push", {"before": head, "after": fixed})
    assert code == 0, out
    # A new branch: every blob no remote branch holds, the base's old file included.
    code, out = _run(repo, tmp_path, "push", {"before": "0" * 40, "after": fixed})
    assert code == 1 and "legacy/old.py" in out, out


def test_all_files_checks_the_whole_tree(pr: tuple[Repo, str, str], tmp_path: Path) -> None:
    repo, base, _head = pr
    code, out = _run(repo, tmp_path, "pull_request", {"pull_request": {"base": {"sha": base}}}, all_files="true")
    assert code == 1 and "legacy/old.py" in out and "src/new.py" in out, out


def test_sarif_is_written_and_named_for_the_upload_step(pr: tuple[Repo, str, str], tmp_path: Path) -> None:
    repo, base, _head = pr
    code, out = _run(
        repo,
        tmp_path,
        "pull_request",
        {"pull_request": {"base": {"sha": base}}},
        sarif="guardian.sarif",
        args="--select forbidden-import",
    )
    assert code == 1, out
    log = json.loads((repo.path / "guardian.sarif").read_text())
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["forbidden-import"]
    assert (tmp_path / "github_output").read_text() == "sarif-file=guardian.sarif\n"


def test_inputs_are_never_run_as_shell(pr: tuple[Repo, str, str], tmp_path: Path) -> None:
    repo, base, _head = pr
    code, out = _run(repo, tmp_path, "pull_request", {"pull_request": {"base": {"sha": base}}}, args="; touch pwned")
    assert code == 2, out  # an unknown argument for guardian check, not a command
    assert not (repo.path / "pwned").exists()


def test_action_metadata_matches_github_s_schema_and_passes_zizmor() -> None:
    schema = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions", "action.yml"],
        cwd=ROOT,
        capture_output=True,
    )
    assert schema.returncode == 0, schema.stdout.decode() + schema.stderr.decode()
    zizmor = subprocess.run(
        [str(Path(sys.executable).parent / "zizmor"), "--offline", "--config", ".github/zizmor.yml", "action.yml"],
        cwd=ROOT,
        capture_output=True,
    )
    assert zizmor.returncode == 0, zizmor.stdout.decode() + zizmor.stderr.decode()


def test_the_readme_workflow_matches_github_s_workflow_schema(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    (workflow,) = re.findall(r"```yaml\n(# \.github/workflows/guardian\.yml\n.*?)```", readme, re.S)
    path = tmp_path / "guardian.yml"
    path.write_text(workflow)
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert "merge_group:" in workflow and "guardian-policy/guardian@v1" in workflow
