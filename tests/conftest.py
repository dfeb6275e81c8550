"""Shared fixtures: real git repositories in temporary directories, and the
``guardian`` command run as a user runs it (a subprocess, real exit codes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# A throwaway PostgreSQL server (one per test process) and a fresh database per test.
from tests.pg import pg_server, pg_url  # noqa: F401

# CI explores the same examples on every run, so a landing is never decided by
# the draw; local runs keep drawing new ones (and the database remembers).
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent

# Tests must not see the developer's git identity, templates or hooks.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """A clean HOME and git identity, and this venv's tools first on PATH."""
    mp.setenv("HOME", str(home))
    mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for key, value in GIT_ENV.items():
        mp.setenv(key, value)
    # Hooks find `guardian` (and `pre-commit`) on PATH, as in a user's venv.
    mp.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    for key in ("NO_COLOR", "PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "GIT_DIR", "GIT_INDEX_FILE"):
        mp.delenv(key, raising=False)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    isolate(monkeypatch, tmp_path_factory.mktemp("home"))


class Repo:
    """A real git repository in a temporary directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")

    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> str:
        proc = subprocess.run(["git", *args], cwd=self.path, input=input, capture_output=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
        return proc.stdout.decode("utf-8", "surrogateescape")

    def write(self, rel: str, content: bytes | str) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)
        return target

    def add(self, *rels: str) -> None:
        self.git("add", "--", *(rels or (".",)))

    def commit(self, message: str = "change", *, all: bool = True) -> str:
        if all:
            self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def guardian(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> Result:
        return run_guardian(*args, cwd=self.path, input=input, env=env)


class Result:
    def __init__(self, proc: subprocess.CompletedProcess[bytes]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run_guardian(*args: str, cwd: Path, input: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "guardian", *args], cwd=cwd, input=input, capture_output=True, env=full_env
    )
    return Result(proc)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


# The .gitignore a repository needs to satisfy the shipped policy.
REQUIRED_PATTERNS = ["*.bak", "*.backup", "*.sqlite", "*.sqlite3", "*.whl", "*.tar.gz", "*.zip"]
REQUIRED_PATTERNS += ["*.sim", "*.prt", "*.fem", "*.bdf", "*.op2", "*.f06", "*.frd"]
GOOD_GITIGNORE = "\n".join(REQUIRED_PATTERNS) + "\n"


@pytest.fixture
def clean_repo(repo: Repo) -> Repo:
    """A repository that satisfies the shipped policy, with one commit."""
    repo.write(".gitignore", GOOD_GITIGNORE)
    repo.write("README.md", "hello\n")
    repo.commit("initial")
    return repo
