"""Adopting Guardian in a repository that already has a past: old large
files in an over-budget tools/, an incomplete .gitignore, old imports. A
baseline named once in the policy reaches every surface; a commit is held
only to what it changes."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import GOOD_GITIGNORE, Repo

POLICY = """baseline = ".guardian-baseline.json"

[rules.dir-budget.budgets]
"tools/" = "50 KB"
"""


@pytest.fixture
def past(repo: Repo) -> Repo:
    """The repository as Guardian finds it: committed before any policy."""
    repo.write(".gitignore", GOOD_GITIGNORE.replace("*.zip\n", ""))
    repo.write("tools/solver.bin", b"\1" * 40_000)
    repo.write("tools/mesher.bin", b"\2" * 30_000)
    repo.write("legacy/run.py", "import optimization_engine.core\n")
    repo.write("README.md", "# project\n")
    repo.write(".guardian.toml", POLICY)
    repo.commit("the past")
    return repo


def _commit(repo: Repo, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo.path, capture_output=True, text=True)


def test_without_a_baseline_a_commit_that_touches_none_of_the_past_passes(past: Repo) -> None:
    past.write(".guardian.toml", POLICY.replace('baseline = ".guardian-baseline.json"\n', ""))
    past.commit("no baseline yet")
    assert past.guardian("install").code == 0
    past.write("README.md", "# project\n\nMore words.\n")
    past.add("README.md")
    done = _commit(past, "docs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stood before this change" in done.stdout + done.stderr
    # The same commit touching tools/ makes the overage worse: refused.
    past.write("tools/extra.bin", b"\3" * 1000)
    past.add("tools/extra.bin")
    refused = _commit(past, "more tools")
    assert refused.returncode != 0
    assert "dir-budget tools/ holds" in refused.stdout + refused.stderr


def test_a_baseline_named_once_reaches_check_hooks_and_history(past: Repo) -> None:
    made = past.guardian("baseline", "--all-files")
    assert made.code == 0, made
    assert "Wrote" in made.out and ".guardian-baseline.json" in made.out
    past.commit("accept the past")
    # check, whole tree: everything accepted, nothing to report.
    assert past.guardian("check", "--all-files").code == 0
    # history: the same baseline, without --baseline.
    history = past.guardian("history", "--quiet", "--format", "json")
    assert history.code == 0, history
    assert json.loads(history.out)["summary"]["baselined"] >= 1
    # The plain git hook: a README edit passes, an addition to tools/ does not,
    # although the baseline accepted tools/ as it was.
    assert past.guardian("install").code == 0
    past.write("README.md", "# project\n\nMore.\n")
    past.add("README.md")
    assert _commit(past, "docs").returncode == 0
    past.write("tools/extra.bin", b"\3" * 1000)
    past.add("tools/extra.bin")
    refused = _commit(past, "more tools")
    assert refused.returncode != 0 and "dir-budget" in refused.stdout + refused.stderr


def test_a_commit_that_drops_a_required_pattern_is_refused(past: Repo) -> None:
    assert past.guardian("baseline", "--all-files").code == 0
    past.commit("accept the past")
    assert past.guardian("install").code == 0
    past.write(".gitignore", GOOD_GITIGNORE.replace("*.zip\n", "").replace("*.bak\n", ""))
    past.add(".gitignore")
    refused = _commit(past, "drop *.bak")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert "`*.bak` is not ignored" in out
    # The pattern that was already missing stays a note.
    assert "*.zip" not in out.split("note:")[0]


def test_the_policy_baseline_must_exist(past: Repo) -> None:
    result = past.guardian("check", "--all-files")
    assert result.code == 2 and "baseline not found" in result.err, result


def test_a_bad_baseline_key_is_a_configuration_error(repo: Repo) -> None:
    repo.write(".guardian.toml", 'baseline = "../elsewhere.json"\n')
    result = repo.guardian("check", "--all-files")
    assert result.code == 2 and "baseline: must be a path relative to the repository root" in result.err


def test_whole_tree_and_ci_checks_still_report_what_stood_before(past: Repo) -> None:
    past.write(".guardian.toml", POLICY.replace('baseline = ".guardian-baseline.json"\n', ""))
    past.commit("no baseline")
    result = past.guardian("check", "--all-files")
    assert result.code == 1
    assert "dir-budget tools/ holds" in result.out and "`*.zip` is not ignored" in result.out


def test_guardian_s_own_files_are_skipped_by_history_too(past: Repo) -> None:
    assert past.guardian("baseline", "--all-files").code == 0
    past.write(".guardian.toml", POLICY.replace('baseline = ".guardian-baseline.json"\n', ""))
    past.commit("a baseline file that names the old module, not applied")
    # The baseline names the old module; history, like check, does not judge it.
    plain = past.guardian("history", "--quiet", "--format", "json", "--select", "forbidden-import")
    paths = {p for f in json.loads(plain.out)["findings"] for p in f["paths"]}
    assert paths == {"legacy/run.py"}


def test_a_refused_push_names_the_commit_that_brought_the_problem(repo: Repo) -> None:
    repo.write(".gitignore", GOOD_GITIGNORE)
    base = repo.commit("base")
    repo.write("results/big.bin", b"\1" * (3 * 1024 * 1024))
    added = repo.commit("Add the solver results")
    repo.git("rm", "-q", "results/big.bin")
    repo.write("src/a.py", "import optimization_engine.core\n")
    repo.commit("Remove them again, import the old package")
    text = repo.guardian("check", "--rev-range", f"{base}..HEAD")
    assert text.code == 1
    assert "results/big.bin: max-file-size file is 3.0 MiB" in text.out
    assert f'(from {added[:12]} "Add the solver results")' in text.out
    doc = json.loads(repo.guardian("check", "--rev-range", f"{base}..HEAD", "--format", "json").out)
    by_path = {f["path"]: f for f in doc["findings"]}
    assert by_path["results/big.bin"]["commit"] == {"id": added, "subject": "Add the solver results"}
    sarif = json.loads(repo.guardian("check", "--rev-range", f"{base}..HEAD", "--format", "sarif").out)
    commits = [r.get("properties", {}).get("commit", {}).get("subject") for r in sarif["runs"][0]["results"]]
    assert "Add the solver results" in commits
    github = repo.guardian("check", "--rev-range", f"{base}..HEAD", "--format", "github").out
    assert f'(from {added[:12]} "Add the solver results")' in github
    # A whole-tree check has no commit to name.
    assert "(from " not in repo.guardian("check", "--all-files").out


def test_history_names_the_introducing_commit_with_its_subject(repo: Repo) -> None:
    repo.write(".gitignore", GOOD_GITIGNORE)
    repo.write("src/a.py", "import optimization_engine.core\n")
    first = repo.commit("Port the solver")
    text = repo.guardian("history", "--quiet")
    assert f'introduced in {first[:12]} "Port the solver"' in text.out, text
    doc = json.loads(repo.guardian("history", "--quiet", "--format", "json").out)
    assert doc["findings"][0]["commit"]["subject"] == "Port the solver"
    github = repo.guardian("history", "--quiet", "--format", "github")
    assert "::error file=src/a.py,line=1,col=8" in github.out and "Port the solver" in github.out


def test_the_wheel_installs_no_top_level_package_but_guardian_s(tmp_path: Path) -> None:
    """A project with its own ``app`` package can install Guardian beside it."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(root)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"guardian", "guardian_app"}
    assert "guardian_app/main.py" in names and "guardian_app/store/sqlite.py" in names
