"""The real pre-commit framework installs this repository's hooks in a
consumer repository and refuses commits and pushes that break the policy.

This is what a user does: `repo:` points at Guardian (here a snapshot of this
working tree, committed to a temporary repository), `rev:` at its commit,
`pre-commit install`, then plain `git commit` and `git push`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GOOD_GITIGNORE, ROOT, Repo, isolate


def _snapshot_of_this_checkout(dest: Path) -> tuple[Path, str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for raw in listed.split(b"\0"):
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    copy = Repo(dest)
    return dest, copy.commit("guardian snapshot")


def _git(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo.path, capture_output=True, text=True)


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    base = tmp_path_factory.mktemp("precommit")
    mp = pytest.MonkeyPatch()
    isolate(mp, base)
    mp.setenv("PRE_COMMIT_HOME", str(base / "cache"))
    guardian_repo, rev = _snapshot_of_this_checkout(base / "guardian")
    repo = Repo(base / "consumer")
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n- repo: {guardian_repo}\n  rev: {rev}\n  hooks:\n  - id: guardian\n  - id: guardian-pre-push\n",
    )
    repo.write(".gitignore", GOOD_GITIGNORE)
    repo.write(".guardian.toml", '[rules.dir-budget.budgets]\n"tools/" = "10 KB"\n')
    repo.commit("config")
    for hook_type in ("pre-commit", "pre-push"):
        out = subprocess.run(
            ["pre-commit", "install", "--hook-type", hook_type], cwd=repo.path, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
    # Build the hook environment once (pip-installs Guardian from the snapshot).
    warm = subprocess.run(["pre-commit", "install-hooks"], cwd=repo.path, capture_output=True, text=True)
    assert warm.returncode == 0, warm.stdout + warm.stderr
    yield repo
    mp.undo()


VIOLATIONS = {
    "max-file-size": ("data/big.bin", os.urandom(2 * 1024 * 1024), b"small\n"),
    "forbidden-import": ("pkg/mod.py", b"import optimization_engine.solvers\n", b"import atomizer.solvers\n"),
    "windows-path": ("conf/run.cfg", b"out = C:\\runs\\out\n", b"out = ${RUN_DIR}/out\n"),
    "dir-budget": ("tools/blob.dat", b"x" * 20_000, b"x" * 2_000),
}


@pytest.mark.parametrize("rule", sorted(VIOLATIONS))
def test_commit_refused_then_accepted_once_fixed(consumer: Repo, rule: str) -> None:
    path, bad, good = VIOLATIONS[rule]
    consumer.write(path, bad)
    consumer.add(path)
    refused = _git(consumer, "commit", "-m", f"break {rule}")
    assert refused.returncode != 0, refused.stdout
    assert rule in refused.stdout + refused.stderr
    consumer.write(path, good)
    consumer.add(path)
    accepted = _git(consumer, "commit", "-m", f"respect {rule}")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_gitignore_required_refused_then_accepted(consumer: Repo) -> None:
    consumer.write(".gitignore", GOOD_GITIGNORE.replace("*.sqlite\n", ""))
    consumer.add(".gitignore")
    refused = _git(consumer, "commit", "-m", "drop a pattern")
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "gitignore-required" in output and "*.sqlite" in output
    consumer.write(".gitignore", GOOD_GITIGNORE + "build/\n")
    consumer.add(".gitignore")
    accepted = _git(consumer, "commit", "-m", "keep every pattern")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_run_all_files_reports_committed_violations(consumer: Repo) -> None:
    consumer.write("legacy/old.py", "from optimization_engine import x\n")
    consumer.add("legacy/old.py")
    assert _git(consumer, "commit", "--no-verify", "-m", "sneak in").returncode == 0
    run = subprocess.run(["pre-commit", "run", "--all-files"], cwd=consumer.path, capture_output=True, text=True)
    assert run.returncode == 1
    assert "legacy/old.py:1:6: forbidden-import" in run.stdout
    consumer.write("legacy/old.py", "from atomizer import x\n")
    consumer.add("legacy/old.py")
    assert _git(consumer, "commit", "-m", "clean up").returncode == 0


def test_push_refused_for_a_commit_that_skipped_the_hook(consumer: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    _git(consumer, "remote", "add", "origin", str(remote))
    # The history so far (including an earlier --no-verify commit) is already shared.
    first = _git(consumer, "push", "-q", "--no-verify", "origin", "HEAD:refs/heads/main")
    assert first.returncode == 0, first.stdout + first.stderr
    consumer.write("scripts/run.py", "ROOT = r'\\\\fileserver\\share\\runs'\n")
    consumer.add("scripts/run.py")
    assert _git(consumer, "commit", "--no-verify", "-m", "unc").returncode == 0
    refused = _git(consumer, "push", "origin", "HEAD:refs/heads/main")
    assert refused.returncode != 0
    assert "scripts/run.py:1:10: windows-path" in refused.stdout + refused.stderr


def test_first_push_of_a_history_is_checked(consumer: Repo, tmp_path: Path) -> None:
    # pre-commit passes no refs when a push carries the root commit.
    remote = tmp_path / "fresh.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    _git(consumer, "remote", "add", "fresh", str(remote))
    consumer.write("first/mod.py", "from optimization_engine import legacy\n")
    consumer.add("first/mod.py")
    assert _git(consumer, "commit", "--no-verify", "-m", "sneak in").returncode == 0
    refused = _git(consumer, "push", "fresh", "HEAD:refs/heads/main")
    assert refused.returncode != 0
    assert "first/mod.py:1:6: forbidden-import" in refused.stdout + refused.stderr
    consumer.write("first/mod.py", "from atomizer import legacy\n")
    consumer.add("first/mod.py")
    assert _git(consumer, "commit", "-m", "fix").returncode == 0


def test_repository_findings_come_once_however_pre_commit_splits_the_files(consumer: Repo) -> None:
    # 4,000 staged files with long names: more than one command line can hold,
    # so pre-commit runs the hook several times, each with a share.
    for i in range(4000):
        consumer.write(f"generated/module_group_{i % 40:02d}/file_{i:04d}_with_a_rather_long_name.txt", f"{i}\n")
    consumer.write(".gitignore", GOOD_GITIGNORE.replace("*.zip\n", ""))
    consumer.write("tools/big.dat", b"x" * 20_000)
    consumer.write("cache.sqlite", b"SQLite format 3\0")
    consumer.git("add", "-A", "-f")
    try:
        run = subprocess.run(["pre-commit", "run", "guardian"], cwd=consumer.path, capture_output=True, text=True)
        out = run.stdout + run.stderr
        assert run.returncode == 1, out
        assert out.count("files checked") >= 2, out[-2000:]  # it was split
        assert out.count("`*.zip` is not ignored") == 1, out[-4000:]
        assert out.count("dir-budget tools/ holds") == 1, out[-4000:]
        assert out.count("cache.sqlite: gitignore-required tracked file matches") == 1
        # A second run (a retried commit) reports them again, once.
        again = subprocess.run(["pre-commit", "run", "guardian"], cwd=consumer.path, capture_output=True, text=True)
        assert (again.stdout + again.stderr).count("`*.zip` is not ignored") == 1
    finally:
        consumer.git("reset", "-q", "--hard", "HEAD")
        consumer.git("clean", "-qfdx")


def test_hook_args_can_name_a_baseline(consumer: Repo) -> None:
    config = (consumer.path / ".pre-commit-config.yaml").read_text()
    try:
        # An old file that breaks the policy, committed before Guardian, and
        # accepted in a baseline the hook is told about in `args:`.
        consumer.write("legacy/old_module.py", "from optimization_engine import x\n")
        consumer.add("legacy/old_module.py")
        assert _git(consumer, "commit", "--no-verify", "-m", "the past").returncode == 0
        made = subprocess.run(
            ["guardian", "baseline", "--all-files", "--output", "accepted.json"], cwd=consumer.path, capture_output=True
        )
        assert made.returncode == 0, made.stderr
        consumer.write(
            ".pre-commit-config.yaml",
            config.replace("  - id: guardian\n", "  - id: guardian\n    args: [--baseline, accepted.json]\n"),
        )
        consumer.add("accepted.json", ".pre-commit-config.yaml")
        assert _git(consumer, "commit", "--no-verify", "-m", "accept it").returncode == 0
        # Editing the old file keeps the accepted line: the commit passes.
        consumer.write("legacy/old_module.py", "from optimization_engine import x\n\nVERSION = 2\n")
        consumer.add("legacy/old_module.py")
        done = _git(consumer, "commit", "-m", "touch the old module")
        assert done.returncode == 0, done.stdout + done.stderr
        # A new violation still fails.
        consumer.write("legacy/new_module.py", "import optimization_engine.solvers\n")
        consumer.add("legacy/new_module.py")
        refused = _git(consumer, "commit", "-m", "a new one")
        assert refused.returncode != 0 and "legacy/new_module.py:1:8" in refused.stdout + refused.stderr
    finally:
        consumer.git("reset", "-q", "--hard", "HEAD")
        consumer.write(".pre-commit-config.yaml", config)
        consumer.git("rm", "-q", "-r", "--cached", "--ignore-unmatch", "legacy", "accepted.json")
        consumer.git("add", ".pre-commit-config.yaml")
        consumer.git("commit", "-q", "--no-verify", "-m", "restore", "--allow-empty")
        consumer.git("clean", "-qfdx")
