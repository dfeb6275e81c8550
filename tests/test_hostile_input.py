"""Hostile input at the command line: a file, a file name or a policy written
to hang, mislead or harm Guardian. Each case was reproduced against an
earlier version; each test runs Guardian as a user does (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GOOD_GITIGNORE, Repo, run_guardian
from tests.fake_github import AppEnv, pull_request_event

ESC = "\x1b"


# -- the policy is found as TOML defines it ------------------------------------------
#: Spellings of the same [tool.guardian] table that a byte search for
#: "tool.guardian" missed (the shipped default then applied silently).
SPELLINGS = {
    "quoted key": '[tool."guardian".rules.windows-path]\nenabled = false\n',
    "spaces around the dot": "[tool . guardian.rules.windows-path]\nenabled = false\n",
    "inline table under [tool]": "[tool]\nguardian = { rules = { windows-path = { enabled = false } } }\n",
    "literal string key": "[tool.'guardian'.rules.windows-path]\nenabled = false\n",
    "unicode escape": '[tool."gu\\u0061rdian".rules.windows-path]\nenabled = false\n',
    "dotted keys": "[tool]\nguardian.rules.windows-path.enabled = false\n",
}
WINDOWS = 'DATA = "C:\\\\data\\\\runs"\n'


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_every_toml_spelling_of_tool_guardian_is_the_policy(clean_repo: Repo, spelling: str) -> None:
    clean_repo.write("pyproject.toml", '[project]\nname = "x"\n' + SPELLINGS[spelling])
    clean_repo.write("src/m.py", WINDOWS)
    clean_repo.commit()
    result = clean_repo.guardian("check", "--all-files")
    assert result.code == 0, result
    assert "pyproject.toml" in result.out and "windows-path" not in result.out


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3")) as env:
        yield env


@pytest.mark.parametrize("spelling", ["quoted key", "inline table under [tool]", "unicode escape"])
def test_the_app_reads_the_same_spellings_from_the_base_branch(env: AppEnv, spelling: str) -> None:
    pyproject = ('[project]\nname = "x"\n' + SPELLINGS[spelling]).encode()
    repo, _base, head = env.repo_with_pr({"src/m.py": WINDOWS.encode()}, base_files={"pyproject.toml": pyproject})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head)
    assert run["conclusion"] == "success", run["output"]
    assert "pyproject.toml" in str(run["output"]["summary"])


# -- a terminal receives no control characters ---------------------------------------
def test_file_bytes_in_a_finding_reach_the_terminal_escaped(clean_repo: Repo) -> None:
    # ESC c resets a terminal; U+202E reverses what follows; backspaces hide text.
    clean_repo.write("notes.txt", f"see C:\\tools\\{ESC}c\\x\u202e\\\b\b\bok\n")
    clean_repo.commit()
    for fmt in ("text", "github"):
        result = clean_repo.guardian("check", "--all-files", "--format", fmt)
        assert result.code == 1, result
        assert "windows-path" in result.out
        for bad in (ESC, "\u202e", "\b"):
            assert bad not in result.out, (fmt, bad, result.out)
        assert "\\x1b" in result.out and "\\u202e" in result.out


def test_a_config_key_in_an_error_reaches_the_terminal_escaped(clean_repo: Repo) -> None:
    # An OSC 8 hyperlink and "clear screen" in an unknown key's name.
    key = f"{ESC}]8;;https://evil.example/{ESC}\\\\click{ESC}]8;;{ESC}\\\\{ESC}[2J"
    clean_repo.write(".guardian.toml", f'"{key}" = 1\n'.replace(ESC, "\\u001b"))
    result = clean_repo.guardian("check", "--all-files")
    assert result.code == 2, result
    assert "unknown key" in result.err
    assert ESC not in result.err and "\\x1b" in result.err
    assert result.err.count("\n") == 1


# -- special files never hang a run -------------------------------------------------
def test_check_of_a_directory_holding_a_fifo_does_not_hang(clean_repo: Repo) -> None:
    clean_repo.write("src/m.py", "import optimization_engine\n")
    os.mkfifo(clean_repo.path / "src" / "pipe.py")
    proc = subprocess.run(
        [sys.executable, "-m", "guardian", "check", "src"],
        cwd=clean_repo.path,
        capture_output=True,
        timeout=60,  # it used to wait forever on the FIFO
    )
    out = proc.stdout.decode()
    assert proc.returncode == 1, out
    assert "src/m.py:1:8: forbidden-import" in out
    assert "skipped by content rules: src/pipe.py" in out


def test_a_config_that_is_a_fifo_is_a_one_line_error(clean_repo: Repo) -> None:
    fifo = clean_repo.path / "policy.toml"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "guardian", "check", "--config", str(fifo)],
        cwd=clean_repo.path,
        capture_output=True,
        timeout=60,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "not a regular file (a FIFO)" in err and err.count("\n") == 1, err


# -- bad policies are usage errors, not internal ones -----------------------------------
def _one_line_error(repo: Repo, *args: str) -> str:
    result = repo.guardian(*args)
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and "internal error" not in result.err, result.err
    return result.err


def test_a_1200_file_extend_chain_is_a_configuration_error(clean_repo: Repo) -> None:
    for i in range(1200):
        clean_repo.write(f"policies/p{i}.toml", f'extend = "p{i + 1}.toml"\n')
    clean_repo.write("policies/p1200.toml", 'extend = "none"\n')
    clean_repo.write(".guardian.toml", 'extend = "policies/p0.toml"\n')
    assert "extend chain is longer than" in _one_line_error(clean_repo, "check", "--all-files")


def test_an_extend_cycle_through_other_directories_is_found(clean_repo: Repo) -> None:
    clean_repo.write("a/p.toml", 'extend = "../b/p.toml"\n')
    clean_repo.write("b/p.toml", 'extend = "../a/p.toml"\n')
    clean_repo.write(".guardian.toml", 'extend = "a/p.toml"\n')
    assert "extends itself" in _one_line_error(clean_repo, "check", "--all-files")


def test_arrays_nested_5000_deep_are_a_configuration_error(clean_repo: Repo) -> None:
    clean_repo.write(".guardian.toml", "exclude = " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in _one_line_error(clean_repo, "check", "--all-files")


@pytest.mark.parametrize("size", ["1.0e308 TiB", "1e400 B", "99999999999999999999 GiB"])
def test_an_absurd_size_is_a_configuration_error(clean_repo: Repo, size: str) -> None:
    clean_repo.write(".guardian.toml", f'[rules.max-file-size]\nlimit = "{size}"\n')
    err = _one_line_error(clean_repo, "check", "--all-files")
    assert "rules.max-file-size.limit" in err


def test_a_huge_integer_size_is_a_configuration_error(clean_repo: Repo) -> None:
    clean_repo.write(".guardian.toml", "max-content-size = 99999999999999999999999\n")
    assert "max-content-size" in _one_line_error(clean_repo, "check", "--all-files")


# -- the purge script runs nothing before it is asked to --------------------------------
def test_a_repository_name_with_a_newline_cannot_run_a_command_from_the_purge_script(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "x\ntouch PWNED\n#")
    repo.write(".guardian.toml", '[rules.max-file-size]\nlimit = "1 KiB"\n')
    repo.write(".gitignore", GOOD_GITIGNORE)
    repo.write("big\ntouch PWNED2\n.bin", os.urandom(4000))
    repo.commit("big")
    script = tmp_path / "purge.sh"
    result = run_guardian("history", "--select", "max-file-size", "--purge-script", str(script), cwd=repo.path)
    assert result.code == 1, result
    text = script.read_text()
    header = text[: text.index("set -eu")]
    assert all(line == "" or line.startswith("#") for line in header.splitlines()), header
    ran = subprocess.run(["sh", str(script)], cwd=tmp_path, capture_output=True)
    assert ran.returncode == 2 and b"--i-understand" in ran.stderr
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()


def test_a_pull_request_with_a_backtracking_gitignore_gets_its_check_run_and_the_next_one_too(env: AppEnv) -> None:
    # The reported poison job: it used to hold the App's event loop for minutes.
    hostile = {".gitignore": b"*a*a*a*a*a*a*a*a*a*a*b\n", "a" * 200 + "/.gitignore": b"x\n"}
    repo, _base, head = env.repo_with_pr(hostile, number=1)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head, timeout=60)
    assert run["conclusion"] == "failure"
    assert "gitignore-required" in str(run["output"]["summary"])
    assert env.client.get(f"{env.url}/healthz").status_code == 200
    repo2, _base2, head2 = env.repo_with_pr({"src/ok.py": b"import atomizer\n"}, number=2, name="acme/other")
    env.deliver("pull_request", pull_request_event(repo2, 2, "opened"))
    assert env.wait_completed(repo2, head2, timeout=60)["conclusion"] == "success"
