"""`guardian audit DIR`: what a directory holds on disk, in git and in history,
and whether it fits its budget."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Repo, Result, run_guardian

LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345678\n"
)


def audit(repo: Repo, *args: str) -> tuple[Result, dict[str, object]]:
    result = repo.guardian("audit", "--format", "json", *args)
    assert result.code in (0, 1), result
    return result, json.loads(result.out)


@pytest.fixture
def tools(repo: Repo) -> Repo:
    """tools/ with tracked, untracked and ignored files, and a big file that
    history holds but the tree no longer does."""
    repo.write(".gitignore", "*.log\nbuild/\n")
    repo.write("tools/solver/bin/nastran.exe", b"\x7fELF" + b"x" * 5000)
    repo.write("tools/scripts/run.py", "print('hi')\n")
    repo.write("tools/old.zip", b"z" * 8000)
    repo.write("README.md", "hello\n")
    repo.commit("tools")
    repo.git("rm", "-q", "tools/old.zip")
    repo.commit("drop the archive")
    repo.write("tools/notes.txt", "n" * 300)  # untracked
    repo.write("tools/run.log", "l" * 700)  # ignored by pattern
    repo.write("tools/build/out.o", b"o" * 2000)  # inside an ignored directory
    return repo


def test_disk_split_tracked_untracked_ignored(tools: Repo) -> None:
    result, report = audit(tools, "tools")

    assert result.code == 0
    disk = report["disk"]
    assert disk["tracked"] == {"files": 2, "bytes": 5004 + 12}
    assert disk["untracked"] == {"files": 1, "bytes": 300}
    assert disk["ignored"] == {"files": 2, "bytes": 2700}
    assert disk["total"] == {"files": 5, "bytes": 5016 + 300 + 2700}
    assert report["directory"] == "tools/"


def test_history_bytes_include_what_was_deleted(tools: Repo) -> None:
    _result, report = audit(tools, "tools")
    history = report["history"]
    # nastran.exe + run.py + the deleted old.zip: small now, bigger in history.
    assert history == {"blobs": 3, "bytes": 5004 + 12 + 8000, "missing_objects": 0}


def test_top_files_extensions_and_tree(tools: Repo) -> None:
    _result, report = audit(tools, "tools", "--top", "2")

    assert [f["path"] for f in report["largest"]] == ["tools/solver/bin/nastran.exe", "tools/build/out.o"]
    assert report["largest"][1]["kind"] == "ignored"
    by_ext = {e["extension"]: e for e in report["by_extension"]}
    assert by_ext[".exe"] == {"extension": ".exe", "files": 1, "bytes": 5004}
    assert by_ext[".log"]["bytes"] == 700
    tree = report["tree"]
    assert tree["bytes"] == 8016
    children = {c["path"]: c for c in tree["children"]}
    assert children["tools/solver/"]["bytes"] == 5004
    assert children["tools/solver/"]["children"][0]["path"] == "tools/solver/bin/"


def test_text_report_has_bars_and_sections(tools: Repo) -> None:
    result = tools.guardian("audit", "tools", env={"PYTHONIOENCODING": "utf-8"})
    assert result.code == 0, result
    for heading in ("On disk:", "Largest files", "By extension", "By directory", "History:"):
        assert heading in result.out
    assert "█" in result.out
    assert "solver/" in result.out and "└── " in result.out


def test_markdown_for_an_issue(tools: Repo) -> None:
    result = tools.guardian("audit", "tools", "--format", "markdown")
    assert result.code == 0
    assert result.out.startswith("### `guardian audit tools/`")
    assert "| tracked |" in result.out
    assert "```text" in result.out


def test_whole_repository_is_the_default(tools: Repo) -> None:
    _result, report = audit(tools)
    assert report["directory"] == "."
    assert report["disk"]["tracked"]["files"] == 4  # .gitignore and README.md too


def test_dir_budget_over_and_within(tools: Repo) -> None:
    tools.write(".guardian.toml", '[rules.dir-budget.budgets]\n"tools/" = "4 KiB"\n')
    result = tools.guardian("audit", "tools")
    assert result.code == 1, result
    assert "Over budget: tools/ holds 4.9 KiB in git, 920 B over its 4.0 KiB budget" in result.out

    _r, report = audit(tools, "tools")
    (budget,) = report["budgets"]
    assert budget["over_by"] == 5016 - 4096
    assert report["over_budget"] is True

    tools.write(".guardian.toml", '[rules.dir-budget.budgets]\n"tools/" = "1 MiB"\n')
    within = tools.guardian("audit", "tools")
    assert within.code == 0
    assert "Within budget: tools/" in within.out


def test_lfs_pointers_and_content(repo: Repo) -> None:
    repo.write(".gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n")
    repo.write("assets/model.bin", LFS_POINTER)
    repo.write("assets/mesh.bin", LFS_POINTER)
    repo.commit("lfs pointers, as committed without the content downloaded")
    repo.write("assets/mesh.bin", b"\x00" * 4096)  # as if git-lfs had smudged it

    _result, report = audit(repo, "assets")

    lfs = report["lfs"]
    assert lfs["pointers"] == {"files": 1, "bytes": len(LFS_POINTER)}
    assert lfs["content"] == {"files": 1, "bytes": 4096}
    assert lfs["not_downloaded_bytes"] == 12345678


def test_symlink_loops_are_not_followed(repo: Repo) -> None:
    repo.write("tools/a.txt", "a" * 100)
    os.symlink("..", repo.path / "tools" / "up")
    os.symlink(".", repo.path / "tools" / "self")
    (repo.path / "tools" / "deep").mkdir()
    os.symlink("../deep", repo.path / "tools" / "deep" / "loop")
    repo.commit()

    result, report = audit(repo, "tools")

    assert result.code == 0
    assert report["disk"]["symlinks"]["files"] == 3
    assert report["disk"]["total"]["files"] == 4  # a.txt and the three links themselves


def test_a_directory_with_100000_files(repo: Repo) -> None:
    repo.write(".gitignore", "cache/\n")
    repo.write("big/tracked.txt", "t")
    repo.commit()
    base = repo.path / "big"
    for d in range(100):
        for sub in ("cache", "work"):
            folder = base / sub / f"d{d:03d}"
            folder.mkdir(parents=True)
            for f in range(500):
                (folder / f"f{f}.dat").write_bytes(b"x")

    result, report = audit(repo, "big", "--no-history")

    assert result.code == 0
    disk = report["disk"]
    assert disk["ignored"]["files"] == 50_000
    assert disk["untracked"]["files"] == 50_000
    assert disk["tracked"]["files"] == 1


def test_unicode_names(repo: Repo) -> None:
    repo.write("données/résumé é.csv", "1,2\n")
    repo.commit()
    _result, report = audit(repo, "données")
    assert report["largest"][0]["path"] == "données/résumé é.csv"
    assert report["disk"]["tracked"]["files"] == 1


def test_bad_directories_are_usage_errors(repo: Repo, tmp_path: Path) -> None:
    repo.write("file.txt", "x")
    repo.commit()
    missing = repo.guardian("audit", "nope")
    assert missing.code == 2 and "no such directory" in missing.err
    not_dir = repo.guardian("audit", "file.txt")
    assert not_dir.code == 2 and "not a directory" in not_dir.err
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = run_guardian("audit", str(outside), cwd=repo.path)
    assert result.code == 2
    assert "Traceback" not in result.err
