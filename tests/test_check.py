"""`guardian check` end to end on real repositories, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GOOD_GITIGNORE, Repo

MIB = 1024 * 1024


def big(n: int = 2 * MIB) -> bytes:
    # Incompressible enough that nothing clever happens; content is irrelevant.
    return os.urandom(n)


def test_clean_repository_exits_0(clean_repo: Repo) -> None:
    result = clean_repo.guardian("check")
    assert result.code == 0, result
    assert "No violations" in result.out


def test_staged_large_file_is_refused_and_sized_as_the_blob(clean_repo: Repo) -> None:
    clean_repo.write("data/blob.bin", big())
    clean_repo.add("data/blob.bin")
    result = clean_repo.guardian("check", "--staged")
    assert result.code == 1, result
    assert "data/blob.bin: max-file-size file is 2.0 MiB" in result.out


def test_limit_is_inclusive_and_configurable(clean_repo: Repo) -> None:
    clean_repo.write(".guardian.toml", '[rules.max-file-size]\nlimit = "10 KB"\n')
    clean_repo.write("exact.bin", b"x" * 10_000)
    clean_repo.write("over.bin", b"x" * 10_001)
    clean_repo.add()
    result = clean_repo.guardian("check", "--staged", "--select", "max-file-size")
    assert result.code == 1
    assert "over.bin" in result.out and "exact.bin" not in result.out


def test_pure_rename_of_an_old_large_file_is_not_a_new_violation(clean_repo: Repo) -> None:
    clean_repo.write("old.bin", big())
    clean_repo.commit("grandfathered")
    clean_repo.git("mv", "old.bin", "moved.bin")
    assert clean_repo.guardian("check", "--staged").code == 0
    # ...but the whole-tree check still lists it.
    result = clean_repo.guardian("check", "--all-files")
    assert result.code == 1 and "moved.bin" in result.out


def test_unchanged_large_file_passed_by_name_is_not_new(clean_repo: Repo) -> None:
    clean_repo.write("old.bin", big())
    clean_repo.commit("grandfathered")
    assert clean_repo.guardian("check", "--staged", "old.bin").code == 0
    clean_repo.write("old.bin", big())
    clean_repo.add("old.bin")
    assert clean_repo.guardian("check", "--staged", "old.bin").code == 1


def test_staged_blob_not_working_file_is_judged(clean_repo: Repo) -> None:
    clean_repo.write("a.bin", b"small")
    clean_repo.add("a.bin")
    clean_repo.write("a.bin", big())  # unstaged growth does not count
    assert clean_repo.guardian("check", "--staged").code == 0


def test_lfs_pointer_passes_where_the_raw_file_fails(clean_repo: Repo) -> None:
    # A clean filter that stores a pointer, as git-lfs does.
    clean_repo.git(
        "config",
        "filter.lfs.clean",
        'sh -c \'printf "version https://git-lfs.github.com/spec/v1\\noid sha256:%s\\nsize 2097152\\n" '
        '$(sha256sum | cut -d" " -f1)\'',
    )
    clean_repo.git("config", "filter.lfs.smudge", "cat")
    clean_repo.git("config", "filter.lfs.required", "true")
    clean_repo.write(".gitattributes", "*.op2 filter=lfs diff=lfs merge=lfs -text\n")
    clean_repo.write("results/run.op2", big())
    clean_repo.git("add", "-f", ".gitattributes", "results/run.op2")
    stored = int(clean_repo.git("cat-file", "-s", ":results/run.op2").strip())
    assert stored < 200
    assert clean_repo.guardian("check", "--staged", "--select", "max-file-size").code == 0
    clean_repo.write("raw.bin", big())
    clean_repo.add("raw.bin")
    assert clean_repo.guardian("check", "--staged", "--select", "max-file-size").code == 1


def test_rev_range_sees_a_blob_added_then_deleted(clean_repo: Repo) -> None:
    base = clean_repo.git("rev-parse", "HEAD").strip()
    clean_repo.write("huge.bin", big())
    clean_repo.commit("add")
    (clean_repo.path / "huge.bin").unlink()
    head = clean_repo.commit("remove")
    result = clean_repo.guardian("check", "--rev-range", f"{base}..{head}")
    assert result.code == 1, result
    assert "huge.bin" in result.out
    # Nothing new after head.
    assert clean_repo.guardian("check", "--rev-range", f"{head}..{head}").code == 0


def test_pre_push_from_pre_commit_environment(clean_repo: Repo) -> None:
    base = clean_repo.git("rev-parse", "HEAD").strip()
    clean_repo.write("src/app.py", "import optimization_engine.solvers\n")
    head = clean_repo.commit("bad import")
    result = clean_repo.guardian("check", "--pre-push", env={"PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": head})
    assert result.code == 1, result
    assert "src/app.py:1:8: forbidden-import" in result.out


def test_pre_push_reads_git_hook_stdin(clean_repo: Repo) -> None:
    base = clean_repo.git("rev-parse", "HEAD").strip()
    clean_repo.write("conf/paths.cfg", "root = C:\\solver\\runs\n")
    head = clean_repo.commit("windows path")
    stdin = f"refs/heads/main {head} refs/heads/main {base}\n".encode()
    result = clean_repo.guardian("check", "--pre-push", input=stdin)
    assert result.code == 1, result
    assert "conf/paths.cfg:1:8: windows-path" in result.out
    deletion = f"(delete) {'0' * 40} refs/heads/old {base}\n".encode()
    assert clean_repo.guardian("check", "--pre-push", input=deletion).code == 0


def test_missing_required_gitignore_patterns(repo: Repo) -> None:
    repo.write(".gitignore", "*.bak\n")
    repo.write("db/cache.sqlite", b"SQLite format 3\0")
    repo.git("add", "-f", ".gitignore", "db/cache.sqlite")
    result = repo.guardian("check", "--all-files")
    assert result.code == 1
    assert "gitignore-required" in result.out
    assert "*.whl" in result.out
    assert "db/cache.sqlite: gitignore-required" in result.out


def test_dir_budget(clean_repo: Repo) -> None:
    clean_repo.write(".guardian.toml", '[rules.dir-budget.budgets]\n"tools/" = "100 KB"\n')
    for i in range(3):
        clean_repo.write(f"tools/bin/t{i}.dat", b"x" * 40_000)
    clean_repo.commit()
    result = clean_repo.guardian("check")
    assert result.code == 1, result
    assert "tools: dir-budget tools/ holds 117.2 KiB in 3 files, 19.5 KiB over its 97.7 KiB budget" in result.out


def test_warning_severity_does_not_fail(clean_repo: Repo) -> None:
    clean_repo.write(".guardian.toml", '[rules.windows-path]\nseverity = "warning"\n')
    clean_repo.write("notes.txt", "data lives in D:\\data\\runs\n")
    clean_repo.commit()
    result = clean_repo.guardian("check")
    assert result.code == 0, result
    assert "notes.txt:1:15: windows-path" in result.out
    assert "Found 1 warning in" in result.out


def test_exit_zero(clean_repo: Repo) -> None:
    clean_repo.write("x.py", "import optimization_engine\n")
    clean_repo.commit()
    assert clean_repo.guardian("check", "--exit-zero").code == 0
    assert clean_repo.guardian("check").code == 1


def test_select_and_ignore(clean_repo: Repo) -> None:
    clean_repo.write("x.py", "import optimization_engine\np = 'C:\\\\temp'\n")
    clean_repo.commit()
    only = clean_repo.guardian("check", "--select", "windows-path")
    assert "windows-path" in only.out and "forbidden-import" not in only.out
    rest = clean_repo.guardian("check", "--ignore", "windows-path")
    assert "windows-path" not in rest.out and "forbidden-import" in rest.out
    bad = clean_repo.guardian("check", "--select", "nope")
    assert bad.code == 2 and "unknown rule 'nope'" in bad.err


def test_inline_suppression(clean_repo: Repo) -> None:
    clean_repo.write(
        "x.py",
        "import optimization_engine  # guardian: ignore[forbidden-import]\n"
        "import optimization_engine.a  # guardian: ignore[windows-path]\n"
        "import optimization_engine.b  # guardian: ignore\n",
    )
    clean_repo.commit()
    result = clean_repo.guardian("check")
    assert result.code == 1
    assert "x.py:2:" in result.out
    assert "x.py:1:" not in result.out and "x.py:3:" not in result.out
    assert "2 suppressed inline" in result.out


def test_odd_file_names(clean_repo: Repo) -> None:
    names = ["with space.py", "new\nline.py", "ünïcödé/ﬁle.py", "-dash.py"]
    for name in names:
        clean_repo.write(name, "from optimization_engine import x\n")
    clean_repo.commit()
    result = clean_repo.guardian("check", "--format", "json")
    assert result.code == 1, result
    paths = sorted(f["path"] for f in json.loads(result.out)["findings"])
    assert paths == sorted(names)
    text = clean_repo.guardian("check")
    assert "new\\nline.py:1:6: forbidden-import" in text.out
    staged = clean_repo.guardian("check", "--staged", "--files", *names)
    assert staged.code == 1 and "with space.py:1:6" in staged.out


def test_binary_non_utf8_symlink_and_submodule_entries_do_not_crash(clean_repo: Repo, tmp_path: object) -> None:
    clean_repo.write("bin/blob.dat", b"\0\xff\xfeoptimization_engine C:\\x\0")
    clean_repo.write("latin1.py", "s = 'caf\xe9'\nimport optimization_engine\n".encode("latin-1"))
    os.symlink("C:\\Windows\\target", clean_repo.path / "link")
    sub = Repo(clean_repo.path.parent / "sub")
    sub.write("f.txt", "x")
    sub.commit()
    clean_repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), "vendor/sub")
    clean_repo.commit()
    result = clean_repo.guardian("check")
    assert "Traceback" not in result.err
    assert result.code == 1, result
    assert "latin1.py:2:8: forbidden-import" in result.out
    assert "bin/blob.dat" not in result.out
    assert "link:" not in result.out


def test_paths_on_disk_without_git(tmp_path: os.PathLike[str]) -> None:
    from pathlib import Path

    from tests.conftest import run_guardian

    base = Path(tmp_path) / "loose"
    base.mkdir()
    (base / "a.py").write_text("import optimization_engine\n")
    (base / "ok.py").write_text("import atomizer\n")
    result = run_guardian("check", "a.py", "ok.py", cwd=base)
    assert result.code == 1 and "a.py:1:8: forbidden-import" in result.out
    missing = run_guardian("check", "nope.py", cwd=base)
    assert missing.code == 2 and "nope.py: no such file" in missing.err
    outside = run_guardian("check", cwd=base)
    assert outside.code == 2 and "not inside a git work tree" in outside.err


def test_usage_errors_exit_2(clean_repo: Repo) -> None:
    assert clean_repo.guardian("check", "--all-files", "x.py").code == 2
    assert clean_repo.guardian("check", "--staged", "--all-files").code == 2
    assert clean_repo.guardian("check", "--format", "xml").code == 2
    bad_range = clean_repo.guardian("check", "--rev-range", "nope..HEAD")
    assert bad_range.code == 2 and "not a commit" in bad_range.err


def test_output_file_and_summary_on_stderr(clean_repo: Repo) -> None:
    clean_repo.write("x.py", "import optimization_engine\n")
    clean_repo.commit()
    result = clean_repo.guardian("check", "--format", "json", "--output", "report.json")
    assert result.code == 1
    assert result.out == ""
    data = json.loads((clean_repo.path / "report.json").read_text())
    assert data["findings"][0]["rule"] == "forbidden-import"
    assert "report.json" in result.err


def test_no_color_unless_tty(clean_repo: Repo) -> None:
    clean_repo.write("x.py", "import optimization_engine\n")
    clean_repo.commit()
    assert "\033[" not in clean_repo.guardian("check").out


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_every_format_reports_the_same_findings(clean_repo: Repo, fmt: str) -> None:
    clean_repo.write("x.py", "import optimization_engine\n")
    clean_repo.commit()
    result = clean_repo.guardian("check", "--format", fmt)
    assert result.code == 1
    assert "forbidden-import" in result.out
    assert "x.py" in result.out


def test_missing_object_is_reported_as_skipped_not_a_crash(clean_repo: Repo) -> None:
    clean_repo.write("src/gone.py", "import optimization_engine\n")
    clean_repo.write("src/kept.py", "import optimization_engine\n# other\n")
    clean_repo.commit()
    oid = clean_repo.git("rev-parse", "HEAD:src/gone.py").strip()
    (clean_repo.path / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
    # An unchanged working file would still supply the blob's exact bytes.
    clean_repo.write("src/gone.py", "import optimization_engine  # edited\n")
    result = clean_repo.guardian("check", "--all-files", "--format", "json")
    assert "Traceback" not in result.err
    data = json.loads(result.out)
    assert {"path": "src/gone.py", "reason": "object missing (partial clone?)"} in data["skipped"]
    assert [f["path"] for f in data["findings"]] == ["src/kept.py"]


def test_content_rules_skip_files_over_max_content_size_and_say_so(clean_repo: Repo) -> None:
    clean_repo.write(".guardian.toml", 'max-content-size = "1 KB"\n')
    clean_repo.write("big.py", "import optimization_engine\n" + "# padding\n" * 200)
    clean_repo.commit()
    result = clean_repo.guardian("check")
    assert result.code == 0, result
    assert "1 file skipped by content rules" in result.out


def _run_on_a_terminal(repo: Repo, env: dict[str, str]) -> str:
    """Run `guardian check` with its standard output on a pseudo-terminal."""
    import pty
    import subprocess
    import sys

    primary, secondary = pty.openpty()
    full_env = {**os.environ, **env}
    proc = subprocess.run(
        [sys.executable, "-m", "guardian", "check"],
        cwd=repo.path,
        stdout=secondary,
        stderr=subprocess.PIPE,
        env=full_env,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.returncode == 1
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_unless_no_color(clean_repo: Repo) -> None:
    clean_repo.write("x.py", "import optimization_engine\n")
    clean_repo.commit()
    assert "\033[31mforbidden-import" in _run_on_a_terminal(clean_repo, {"TERM": "xterm"})
    assert "\033[" not in _run_on_a_terminal(clean_repo, {"TERM": "xterm", "NO_COLOR": "1"})


def test_rev_range_sees_a_big_blob_replaced_inside_the_range(clean_repo: Repo) -> None:
    base = clean_repo.git("rev-parse", "HEAD").strip()
    clean_repo.write("d.bin", big())
    clean_repo.commit("big")
    clean_repo.write("d.bin", b"small")
    head = clean_repo.commit("small again")
    result = clean_repo.guardian("check", "--rev-range", f"{base}..{head}", "--select", "max-file-size")
    assert result.code == 1, result
    assert "d.bin: max-file-size file is 2.0 MiB" in result.out


def test_rev_range_judges_every_path_a_blob_is_stored_under(clean_repo: Repo) -> None:
    base = clean_repo.git("rev-parse", "HEAD").strip()
    data = big()
    clean_repo.write("dashboard/assets/logo.png", data)  # exempt by the shipped policy
    clean_repo.write("src/logo.png", data)  # the same blob, not exempt
    clean_repo.write("odd\nname.py", "import optimization_engine\n")
    head = clean_repo.commit("same blob twice")
    result = clean_repo.guardian("check", "--rev-range", f"{base}..{head}", "--format", "json")
    found = {(f["rule"], f["path"]) for f in json.loads(result.out)["findings"]}
    assert ("max-file-size", "src/logo.png") in found
    assert ("max-file-size", "dashboard/assets/logo.png") not in found
    assert ("forbidden-import", "odd\nname.py") in found


def test_pre_push_with_an_unknown_remote_tip_checks_what_no_remote_has(clean_repo: Repo) -> None:
    clean_repo.write("src/app.py", "import optimization_engine\n")
    head = clean_repo.commit("bad import")
    unknown = "1234567890abcdef1234567890abcdef12345678"
    stdin = f"refs/heads/main {head} refs/heads/main {unknown}\n".encode()
    result = clean_repo.guardian("check", "--pre-push", input=stdin)
    assert result.code == 1, result
    assert "src/app.py:1:8: forbidden-import" in result.out


def test_hook_file_names_that_look_like_options_stay_file_names(clean_repo: Repo) -> None:
    clean_repo.write("--output", "root = C:\\runs\\x\n")
    clean_repo.write("victim.py", "print(1)\n")
    clean_repo.write("-x.py", "import optimization_engine\n")
    clean_repo.git("add", "--", "--output", "victim.py", "-x.py")
    result = clean_repo.guardian("check", "--staged", "--files", "--format=json", "--output", "victim.py", "-x.py")
    assert (clean_repo.path / "victim.py").read_text() == "print(1)\n"
    assert result.code == 1, result
    assert sorted(f["path"] for f in json.loads(result.out)["findings"]) == ["--output", "-x.py"]


def test_paths_from_a_subdirectory_match_root_anchored_excludes(clean_repo: Repo) -> None:
    clean_repo.write("dashboard/assets/x.png", big())
    clean_repo.write("scripts/INSTALL.BAT", "copy C:\\data\\x D:\\y\n")
    from tests.conftest import run_guardian

    result = run_guardian("check", "assets/x.png", cwd=clean_repo.path / "dashboard")
    assert result.code == 0, result
    assert clean_repo.guardian("check", "scripts/INSTALL.BAT").code == 0


def test_a_staged_copy_of_a_blob_head_holds_is_not_new(clean_repo: Repo) -> None:
    data = big()
    clean_repo.write("old.bin", data)
    clean_repo.commit("grandfathered")
    clean_repo.write("copy.bin", data)
    clean_repo.add("copy.bin")
    assert clean_repo.guardian("check", "--staged", "--select", "max-file-size").code == 0
    clean_repo.write("other.bin", big())
    clean_repo.add("other.bin")
    result = clean_repo.guardian("check", "--staged", "--select", "max-file-size")
    assert result.code == 1 and "other.bin" in result.out and "copy.bin" not in result.out


def test_usage_errors_are_one_line(clean_repo: Repo) -> None:
    for args in (("check", "--format", "xml"), ("bogus",), ("check", "--staged", "--all-files")):
        result = clean_repo.guardian(*args)
        assert result.code == 2, result
        assert len(result.err.strip().splitlines()) == 1, result
        assert "error:" in result.err and "--help" in result.err


def test_pre_push_of_two_refs_sharing_commits_reports_each_finding_once(clean_repo: Repo) -> None:
    base = clean_repo.git("rev-parse", "HEAD").strip()
    clean_repo.write("src/app.py", "import optimization_engine\n")
    head = clean_repo.commit("bad import")
    stdin = (
        f"refs/heads/main {head} refs/heads/main {base}\nrefs/heads/topic {head} refs/heads/topic {base}\n"
    ).encode()
    result = clean_repo.guardian("check", "--pre-push", "--format", "json", input=stdin)
    assert result.code == 1, result
    assert [f["path"] for f in json.loads(result.out)["findings"]] == ["src/app.py"]


def test_content_is_the_staged_blob_even_when_the_working_file_has_the_same_size(clean_repo: Repo) -> None:
    # Clean files are read from the work tree, but only when their bytes hash
    # to the staged blob: a same-size edit must not change the verdict.
    clean_repo.write("a.py", 'P = "C:/data/x.csv"\n')
    clean_repo.add("a.py")
    clean_repo.write("a.py", 'P = "Q_/data/x.csv"\n')
    staged = clean_repo.guardian("check", "--staged", "--select", "windows-path")
    assert staged.code == 1 and "a.py:1:" in staged.out, staged
    # And the other way round: a clean blob with a dirty working file passes.
    clean_repo.write("b.py", 'P = "data/x.csv"\n')
    clean_repo.git("add", "b.py")
    clean_repo.git("rm", "-q", "--cached", "-f", "a.py")
    clean_repo.write("b.py", 'P = "C:\\\\x.csv"\n')
    assert clean_repo.guardian("check", "--staged", "--select", "windows-path").code == 0


def test_a_clean_filter_means_the_blob_not_the_working_file_is_judged(clean_repo: Repo) -> None:
    # The working file says `atomizer`; git's clean filter stores the old
    # name in the blob. Guardian judges what git stores.
    clean_repo.git("config", "filter.rename.clean", "sed s/atomizer/optimization_engine/")
    clean_repo.git("config", "filter.rename.smudge", "cat")
    clean_repo.write(".gitattributes", "*.py filter=rename\n")
    clean_repo.write("mod.py", "import atomizer\n")
    clean_repo.commit("filtered")
    assert "optimization_engine" in clean_repo.git("show", "HEAD:mod.py")
    result = clean_repo.guardian("check", "--all-files", "--select", "forbidden-import")
    assert result.code == 1 and "mod.py:1:" in result.out, result


def test_a_fifo_in_place_of_a_staged_file_is_not_opened_for_reading(clean_repo: Repo) -> None:
    clean_repo.write("a.py", 'P = "C:\\\\data\\\\x.csv"\n')
    clean_repo.add("a.py")
    (clean_repo.path / "a.py").unlink()
    os.mkfifo(clean_repo.path / "a.py")  # reading it would block forever
    result = clean_repo.guardian("check", "--staged", "--select", "windows-path")
    assert result.code == 1 and "a.py:1:" in result.out, result


def test_staged_blobs_are_judged_whether_loose_or_packed(clean_repo: Repo) -> None:
    # A hook reads what `git add` wrote as loose objects; after a repack the
    # same blobs come from the pack, through git.
    clean_repo.write("a.py", "import optimization_engine\n")
    clean_repo.add("a.py")
    clean_repo.write("a.py", "import atomizer\n")  # unstaged: not what is judged
    loose = clean_repo.guardian("check", "--staged", "--files", "a.py")
    assert loose.code == 1 and "a.py:1:" in loose.out, loose
    clean_repo.git("gc", "-q", "--prune=now")
    oid = clean_repo.git("rev-parse", ":a.py").strip()
    assert not (clean_repo.path / ".git" / "objects" / oid[:2] / oid[2:]).exists()
    packed = clean_repo.guardian("check", "--staged", "--files", "a.py")
    assert packed.code == 1 and packed.out == loose.out, packed


def test_a_repository_whose_path_holds_line_breaks(tmp_path: os.PathLike[str]) -> None:
    for name in ("nl\ndir", "cr\rdir", "sep\u2028dir"):
        repo = Repo(Path(tmp_path) / name)
        repo.write("a.py", 'P = "C:/data/x.csv"\n')
        repo.add("a.py")
        result = repo.guardian("check", "--staged", "--select", "windows-path")
        assert result.code == 1 and "a.py:1:" in result.out, (name, result)


def test_git_still_answers_when_sigchld_is_ignored(clean_repo: Repo) -> None:
    # A parent that ignores SIGCHLD makes the kernel reap git before Guardian
    # waits for it; the check must go on, not fail on the lost exit status.
    clean_repo.write("a.py", 'P = "C:/data/x.csv"\n')
    clean_repo.add("a.py")
    script = (
        "import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); "
        "os.execv(sys.executable, [sys.executable, '-m', 'guardian', 'check', '--staged'])"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=clean_repo.path, capture_output=True, text=True)
    assert proc.returncode == 1 and "a.py:1:" in proc.stdout, proc.stderr


def test_many_new_files_over_a_tiny_limit_are_each_reported(clean_repo: Repo) -> None:
    clean_repo.write(".guardian.toml", '[rules.max-file-size]\nlimit = "1 B"\n')
    clean_repo.commit()
    for i in range(300):
        clean_repo.write(f"d/f{i}.txt", f"content {i}\n")
    clean_repo.add("d")
    result = clean_repo.guardian("check", "--staged", "--select", "max-file-size", "--format", "json")
    assert len(json.loads(result.out)["findings"]) == 300, result


def test_a_large_work_tree_file_is_not_read_to_learn_its_size(clean_repo: Repo) -> None:
    from guardian.model import FileEntry
    from guardian.sources.blobs import worktree_blob

    clean_repo.write("big.bin", b"x" * 4096)
    oid = clean_repo.git("hash-object", "big.bin").strip()
    entry = FileEntry("big.bin", -1, "100644", oid)
    assert worktree_blob(str(clean_repo.path), entry) == b"x" * 4096
    assert worktree_blob(str(clean_repo.path), entry, max_size=1024) is None


def test_plain_check_judges_the_files_as_they_are_on_disk(clean_repo: Repo) -> None:
    clean_repo.write("src/a.py", "import atomizer\n")
    clean_repo.commit()
    # An unstaged edit, and an untracked file: what ruff users expect checked.
    clean_repo.write("src/a.py", "import optimization_engine.core\n")
    clean_repo.write("src/new.py", "from optimization_engine import x\n")
    result = clean_repo.guardian("check")
    assert result.code == 1, result
    assert "src/a.py:1:8: forbidden-import" in result.out and "src/new.py:1:6: forbidden-import" in result.out
    # --all-files judges the index, as the hooks do: the committed file is clean.
    staged = clean_repo.guardian("check", "--all-files")
    assert staged.code == 0, staged


def test_check_after_fix_agrees_with_fix(clean_repo: Repo) -> None:
    clean_repo.write("pkg/m.py", "from optimization_engine.solvers import run\n")
    clean_repo.write(".gitignore", GOOD_GITIGNORE.replace("*.zip\n", ""))
    clean_repo.commit()
    fixed = clean_repo.guardian("fix")
    assert "fixed pkg/m.py" in fixed.out and "fixed .gitignore" in fixed.out, fixed
    after = clean_repo.guardian("check")
    assert after.code == 0, after
    assert "fixable" not in after.out


def test_large_working_copy_of_a_small_blob_is_judged_by_the_blob(clean_repo: Repo) -> None:
    # A git-lfs style pointer: the index holds a small blob, the working copy is big.
    clean_repo.write("assets/model.bin", b"pointer\n")
    clean_repo.commit()
    (clean_repo.path / "assets/model.bin").write_bytes(b"\1" * (2 * 1024 * 1024))
    assert clean_repo.guardian("check", "--select", "max-file-size").code == 0


def test_a_missing_path_is_a_usage_error(clean_repo: Repo) -> None:
    for args in (("check", "--staged", "nope.py"), ("fix", "nope.py")):
        result = clean_repo.guardian(*args)
        assert result.code == 2, (args, result)
        assert "nope.py: no such file or directory" in result.err and result.err.count("\n") == 1


def test_fix_of_one_path_fixes_no_repository_file(clean_repo: Repo) -> None:
    clean_repo.write(".gitignore", "*.bak\n")
    clean_repo.write("pkg/m.py", "from optimization_engine.solvers import run\n")
    clean_repo.commit()
    result = clean_repo.guardian("fix", "pkg/m.py")
    assert "fixed pkg/m.py" in result.out and ".gitignore" not in result.out, result
    assert (clean_repo.path / ".gitignore").read_text() == "*.bak\n"
