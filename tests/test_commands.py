"""`guardian fix`, `init`, `rules`, `explain`, `install` and `--version`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from guardian import __version__
from tests.conftest import ROOT, Repo


def test_version(repo: Repo) -> None:
    result = repo.guardian("--version")
    assert result.code == 0 and result.out == f"guardian {__version__}\n"


def test_fix_appends_missing_patterns_keeping_crlf(repo: Repo) -> None:
    repo.write(".gitignore", b"build/\r\n*.bak\r\n")
    repo.commit()
    result = repo.guardian("fix")
    assert "fixed .gitignore (gitignore-required)" in result.out, result
    data = (repo.path / ".gitignore").read_bytes()
    assert data.startswith(b"build/\r\n*.bak\r\n")
    assert b"*.sqlite\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert data.count(b"*.bak") == 1
    assert repo.guardian("check", "--select", "gitignore-required", "--all-files").code == 1  # not staged yet
    repo.commit()
    assert repo.guardian("check").code == 0


def test_fix_rewrites_imports_and_nothing_else(clean_repo: Repo) -> None:
    source = (
        b"# optimization_engine docs stay\r\n"
        b"from optimization_engine.solvers import run\r\n"
        b"x = 'optimization_engine'\r\n"
    )
    clean_repo.write("pkg/m.py", source)
    clean_repo.write("pkg/ok.py", b"print('untouched')\n")
    clean_repo.commit()
    before = (clean_repo.path / "pkg/ok.py").stat().st_mtime_ns
    result = clean_repo.guardian("fix")
    assert "fixed pkg/m.py (forbidden-import)" in result.out, result
    assert (clean_repo.path / "pkg/m.py").read_bytes() == source.replace(
        b"from optimization_engine.solvers", b"from atomizer.solvers"
    )
    assert (clean_repo.path / "pkg/ok.py").stat().st_mtime_ns == before


def test_check_never_writes(clean_repo: Repo) -> None:
    clean_repo.write("pkg/m.py", "from optimization_engine import x\n")
    clean_repo.write(".gitignore", "")
    clean_repo.commit()
    snapshot = {p: p.read_bytes() for p in clean_repo.path.rglob("*") if p.is_file() and ".git" not in p.parts}
    clean_repo.guardian("check")
    after = {p: p.read_bytes() for p in clean_repo.path.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == snapshot


def test_fix_does_not_write_through_symlinks(clean_repo: Repo) -> None:
    target = clean_repo.path.parent / "outside.py"
    target.write_text("import optimization_engine.x as y\n")
    os.symlink(target, clean_repo.path / "link.py")
    clean_repo.commit()
    clean_repo.guardian("fix")
    assert target.read_text() == "import optimization_engine.x as y\n"


def test_init_writes_a_config_that_loads_and_refuses_to_overwrite(clean_repo: Repo) -> None:
    first = clean_repo.guardian("init")
    assert first.code == 0 and (clean_repo.path / ".guardian.toml").exists()
    assert clean_repo.guardian("check").code == 0
    again = clean_repo.guardian("init")
    assert again.code == 2 and "already exists" in again.err


def test_rules_lists_every_rule_with_its_state(clean_repo: Repo) -> None:
    clean_repo.write(
        ".guardian.toml", '[rules.windows-path]\nenabled = false\n[rules.dir-budget]\nseverity = "warning"\n'
    )
    out = clean_repo.guardian("rules").out
    lines = {line.split()[0]: line.split()[1] for line in out.splitlines() if line and not line.startswith("Policy")}
    assert lines == {
        "max-file-size": "error",
        "gitignore-required": "error",
        "forbidden-import": "error",
        "windows-path": "off",
        "dir-budget": "warning",
    }


@pytest.mark.parametrize(
    "rule", ["max-file-size", "gitignore-required", "forbidden-import", "windows-path", "dir-budget"]
)
def test_explain_prints_every_section(repo: Repo, rule: str) -> None:
    out = repo.guardian("explain", rule).out
    sections = ["## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Options"]
    positions = [out.index(s) for s in sections]
    assert positions == sorted(positions)


def test_explain_unknown_rule(repo: Repo) -> None:
    result = repo.guardian("explain", "nope")
    assert result.code == 2 and "unknown rule" in result.err


def _hook_commit(repo: Repo) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "commit", "-q", "-m", "try"], cwd=repo.path, capture_output=True)


def test_installed_plain_hooks_refuse_a_bad_commit(clean_repo: Repo) -> None:
    result = clean_repo.guardian("install")
    assert result.code == 0, result
    hook = clean_repo.path / ".git/hooks/pre-commit"
    assert hook.stat().st_mode & stat.S_IXUSR
    clean_repo.write("m.py", "import optimization_engine\n")
    clean_repo.add("m.py")
    refused = _hook_commit(clean_repo)
    assert refused.returncode != 0
    assert b"forbidden-import" in refused.stdout + refused.stderr
    clean_repo.write("m.py", "import atomizer\n")
    clean_repo.add("m.py")
    assert _hook_commit(clean_repo).returncode == 0


def test_install_refuses_a_foreign_hook_without_force(clean_repo: Repo) -> None:
    hook = clean_repo.path / ".git/hooks/pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho mine\n")
    refused = clean_repo.guardian("install")
    assert refused.code == 2 and "not written by Guardian" in refused.err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    forced = clean_repo.guardian("install", "--force")
    assert forced.code == 0
    assert (clean_repo.path / ".git/hooks/pre-commit.guardian-backup").read_text() == "#!/bin/sh\necho mine\n"
    # Re-installing over our own hook needs no force.
    assert clean_repo.guardian("install").code == 0


def test_install_respects_core_hooks_path(clean_repo: Repo) -> None:
    clean_repo.git("config", "core.hooksPath", ".githooks")
    assert clean_repo.guardian("install", "--hook", "pre-push").code == 0
    assert (clean_repo.path / ".githooks/pre-push").exists()


def test_install_over_a_dangling_symlink_needs_force_and_keeps_it(clean_repo: Repo) -> None:
    hooks = clean_repo.path / ".git/hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-commit").symlink_to(hooks / "nowhere")
    refused = clean_repo.guardian("install", "--hook", "pre-commit")
    assert refused.code == 2 and "Traceback" not in refused.err
    forced = clean_repo.guardian("install", "--hook", "pre-commit", "--force")
    assert forced.code == 0, forced
    assert (hooks / "pre-commit.guardian-backup").is_symlink()


def test_forbidden_import_hook_files_pattern_agrees_with_the_rule() -> None:
    import re

    import yaml

    from guardian.rules.forbidden_import import ForbiddenImport
    from tests.conftest import ROOT

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    pattern = next(h["files"] for h in hooks if h["id"] == "guardian-forbidden-import")
    rule = ForbiddenImport()
    paths = ["a.py", "B.PYI", "w.pyw", "x/requirements-dev.txt", "requirements.in", "pkg/entry_points.txt"]
    paths += ["setup.cfg", "c.yaml", "d.YML", "e.json", "f.ini", "pyproject.toml", "notes.txt", "x.md", "a.pyc"]
    for path in paths:
        assert bool(re.search(pattern, path)) == rule.applies(path), path


def test_install_keeps_a_hook_that_only_mentions_guardian(clean_repo: Repo) -> None:
    hook = clean_repo.path / ".git/hooks/pre-commit"
    hook.parent.mkdir(exist_ok=True)
    mine = "#!/bin/sh\n# runs lint, then guardian-hook style checks\nmake lint\n"
    hook.write_text(mine)
    refused = clean_repo.guardian("install", "--hook", "pre-commit")
    assert refused.code == 2 and "not written by Guardian" in refused.err
    assert hook.read_text() == mine


def test_install_never_writes_through_a_symlinked_hook(clean_repo: Repo, tmp_path: Path) -> None:
    # Even a link to a file that looks like Guardian's hook: writing through
    # it would change a file outside the hooks directory.
    elsewhere = tmp_path / "shared-hook"
    elsewhere.write_bytes((ROOT / "hooks" / "pre-commit").read_bytes())
    hook = clean_repo.path / ".git/hooks/pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.symlink_to(elsewhere)
    before = elsewhere.read_bytes()
    refused = clean_repo.guardian("install", "--hook", "pre-commit")
    assert refused.code == 2 and "not written by Guardian" in refused.err
    forced = clean_repo.guardian("install", "--hook", "pre-commit", "--force")
    assert forced.code == 0, forced
    assert elsewhere.read_bytes() == before
    backup = clean_repo.path / ".git/hooks/pre-commit.guardian-backup"
    assert backup.is_symlink() and os.readlink(backup) == str(elsewhere)
    assert not hook.is_symlink() and hook.read_bytes() == (ROOT / "hooks" / "pre-commit").read_bytes()


def test_install_into_a_hooks_path_that_is_a_file_is_a_one_line_error(clean_repo: Repo) -> None:
    hooks = clean_repo.path / ".git/hooks"
    if hooks.exists():
        shutil.rmtree(hooks)
    hooks.write_text("not a directory\n")
    result = clean_repo.guardian("install")
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and "must be a directory" in result.err
    assert hooks.read_text() == "not a directory\n"


def test_a_fix_is_not_written_over_an_edit_saved_after_the_read(tmp_path: Path) -> None:
    from guardian.fixer import replace_if_unchanged

    path = tmp_path / "m.py"
    path.write_bytes(b"import optimization_engine.x as y\n")
    read = path.read_bytes()
    fixed = read.replace(b"optimization_engine", b"atomizer")
    path.write_bytes(b"import optimization_engine.x as y\nprint('saved meanwhile')\n")  # the editor saves
    why = replace_if_unchanged(str(path), read, fixed)
    assert "changed since Guardian read it" in why
    assert path.read_bytes().endswith(b"print('saved meanwhile')\n")
    # Same size, other bytes: still an edit.
    path.write_bytes(read.replace(b"y\n", b"z\n"))
    assert "changed" in replace_if_unchanged(str(path), read, fixed)
    # Unchanged: written.
    path.write_bytes(read)
    assert replace_if_unchanged(str(path), read, fixed) == ""
    assert path.read_bytes() == fixed
    # A file that appeared where the fix meant to create one is left alone.
    new = tmp_path / ".gitignore"
    new.write_bytes(b"mine\n")
    assert "created since" in replace_if_unchanged(str(new), None, b"*.bak\n")
    assert new.read_bytes() == b"mine\n"


def test_fix_leaves_a_read_only_file_read_only_and_says_so(clean_repo: Repo) -> None:
    source = b"from optimization_engine.solvers import run\n"
    target = clean_repo.write("pkg/m.py", source)
    clean_repo.commit()
    target.chmod(0o444)
    result = clean_repo.guardian("fix")
    assert "not fixed pkg/m.py (forbidden-import): it is read-only" in result.out, result
    assert target.read_bytes() == source
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


def test_fix_does_not_read_a_huge_untracked_file(clean_repo: Repo) -> None:
    # Sparse: 3 GiB on paper, nothing on disk. Reading it whole would take
    # 3 GiB of memory; the content bound leaves it unread.
    big = clean_repo.path / "huge.py"
    with open(big, "wb") as fh:
        fh.truncate(3 << 30)
    probe = (
        "import resource, subprocess, sys\n"
        "proc = subprocess.run([sys.executable, '-m', 'guardian', 'fix'], capture_output=True)\n"
        "print(proc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.stdout.write(proc.stdout.decode())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=clean_repo.path, capture_output=True, check=True)
    head, _, report = out.stdout.decode().partition("\n")
    code, peak_kib = (int(part) for part in head.split())
    assert code == 1  # the file itself is over max-file-size
    assert peak_kib < 300 * 1024, f"fix peaked at {peak_kib} KiB"
    assert "1 file skipped by content rules: huge.py" in report


def test_uninstall_removes_guardian_s_hooks_and_puts_back_the_old_one(clean_repo: Repo) -> None:
    hooks = clean_repo.path / ".git/hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-commit").write_text("#!/bin/sh\necho mine\n")
    assert clean_repo.guardian("install", "--force").code == 0
    result = clean_repo.guardian("uninstall")
    assert result.code == 0, result
    assert (hooks / "pre-commit").read_text() == "#!/bin/sh\necho mine\n"
    assert not (hooks / "pre-push").exists() and not (hooks / "pre-commit.guardian-backup").exists()
    # A hook Guardian did not write stays.
    again = clean_repo.guardian("uninstall")
    assert "left" in again.out and (hooks / "pre-commit").read_text() == "#!/bin/sh\necho mine\n"


def test_install_names_pre_commit_s_hook_and_warns_when_both_would_run(clean_repo: Repo) -> None:
    hooks = clean_repo.path / ".git/hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-commit").write_text("#!/usr/bin/env bash\n# File generated by pre-commit: https://pre-commit.com\n")
    refused = clean_repo.guardian("install", "--hook", "pre-commit")
    assert refused.code == 2 and "pre-commit manages these hooks" in refused.err
    (hooks / "pre-commit").unlink()
    clean_repo.write(".pre-commit-config.yaml", "repos: []\n")
    installed = clean_repo.guardian("install")
    assert installed.code == 0 and "would keep Guardian's hooks as NAME.legacy" in installed.out
    # Kept by pre-commit as the legacy hook, Guardian's hook says that both run.
    os.replace(hooks / "pre-commit", hooks / "pre-commit.legacy")
    run = subprocess.run([str(hooks / "pre-commit.legacy")], cwd=clean_repo.path, capture_output=True)
    assert b"kept by pre-commit as pre-commit.legacy" in run.stderr
