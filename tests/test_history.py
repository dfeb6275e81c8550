"""`guardian history`: every blob in history, judged once, mapped back to its
paths and the commit that introduced it. Real repositories, the command run
as a subprocess."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, Result, run_guardian

SMALL_LIMIT = '[rules.max-file-size]\nlimit = "1 KiB"\n'


def blob(n: int, seed: int = 0) -> bytes:
    """``n`` incompressible bytes, different for each seed."""
    return random.Random(seed).randbytes(n)


def scan(repo: Repo, *args: str) -> tuple[Result, dict[str, object]]:
    result = repo.guardian("history", "--format", "json", *args)
    assert result.code in (0, 1), result
    return result, json.loads(result.out)


def findings(report: dict[str, object], rule: str | None = None) -> list[dict[str, object]]:
    items = report["findings"]
    assert isinstance(items, list)
    return [f for f in items if rule is None or f["rule"] == rule]


def move(repo: Repo, old: str, new: str) -> None:
    (repo.path / new).parent.mkdir(parents=True, exist_ok=True)
    repo.git("mv", old, new)


def blob_id(repo: Repo, rev_path: str) -> str:
    return repo.git("rev-parse", rev_path).strip()


@pytest.fixture
def sized(repo: Repo) -> Repo:
    """A repository whose policy limits files to 1 KiB (so test blobs stay small)."""
    repo.write(".guardian.toml", SMALL_LIMIT)
    return repo


# -- sizes ----------------------------------------------------------------------------


def test_large_blob_introduced_renamed_deleted_is_reported_once_with_every_path(sized: Repo) -> None:
    sized.write("README.md", "hello\n")
    sized.write("data/big.bin", blob(5000, 1))
    first = sized.commit("add big")
    old_id = blob_id(sized, "HEAD:data/big.bin")
    move(sized, "data/big.bin", "archive/big.bin")
    sized.commit("move it")
    sized.git("rm", "-q", "archive/big.bin")
    sized.commit("delete it")
    sized.write("keep/huge.bin", blob(9000, 2))
    sized.commit("add one that stays")

    result, report = scan(sized, "--select", "max-file-size")

    assert result.code == 1
    large = findings(report, "max-file-size")
    assert [f["size"] for f in large] == [9000, 5000]  # largest first
    gone = large[1]
    assert gone["blob"] == old_id
    assert gone["paths"] == ["data/big.bin", "archive/big.bin"]
    assert gone["commit"]["id"] == first
    assert gone["commit"]["author"] == "Test Author <author@example.com>"
    assert gone["at_head"] is False
    assert large[0]["paths"] == ["keep/huge.bin"]
    assert large[0]["at_head"] is True
    summary = report["summary"]
    assert summary["large_blobs"] == 2
    assert summary["large_bytes"] == 14000
    assert summary["large_bytes_at_head"] == 9000


def test_text_report_lists_sizes_commits_and_totals(sized: Repo) -> None:
    sized.write("results/run.op2", blob(3000))
    commit = sized.commit("results")
    sized.git("rm", "-q", "results/run.op2")
    sized.commit("oops")

    result = sized.guardian("history", "--select", "max-file-size")

    assert result.code == 1, result
    assert "Blobs over the 1.0 KiB limit" in result.out
    assert "results/run.op2" in result.out
    assert commit[:12] in result.out
    assert "1 blob, 2.9 KiB in total; 0 still at HEAD" in result.out
    assert "Found 1 error" in result.out


def test_clean_history_exits_zero(sized: Repo) -> None:
    sized.write("small.txt", "x" * 1000)
    sized.commit()
    result = sized.guardian("history", "--select", "max-file-size")
    assert result.code == 0, result
    assert "No violations" in result.out


def test_blob_exempt_under_one_path_and_forbidden_under_another(sized: Repo) -> None:
    # The shipped policy exempts dashboard/assets/** from the size limit.
    logo = blob(4000, 3)
    sized.write("dashboard/assets/logo.png", logo)
    sized.write("dashboard/assets/only-here.png", blob(4000, 4))
    sized.commit("assets")
    sized.write("src/static/logo.png", logo)
    copy = sized.commit("copy the logo into the package")

    result, report = scan(sized, "--select", "max-file-size")

    assert result.code == 1
    large = findings(report, "max-file-size")
    assert len(large) == 1  # only-here.png is exempt everywhere it lives
    assert large[0]["paths"] == ["src/static/logo.png"]
    assert large[0]["exempt_paths"] == ["dashboard/assets/logo.png"]
    assert large[0]["path"] == "src/static/logo.png"
    # The blob itself was introduced by the first commit, under the exempt path.
    assert large[0]["commit"]["id"] != copy


def test_only_exempt_paths_means_no_finding(sized: Repo) -> None:
    sized.write("dashboard/assets/app.js", blob(5000))
    sized.commit()
    result = sized.guardian("history", "--select", "max-file-size")
    assert result.code == 0, result


def test_unicode_and_odd_paths(sized: Repo) -> None:
    names = ["données/résumé final.bin", "odd\nname.bin", "tab\there.bin", " lead space.bin"]
    for i, name in enumerate(names):
        sized.write(name, blob(2000 + i, i))
    sized.commit()

    result, report = scan(sized, "--select", "max-file-size")

    assert result.code == 1
    assert sorted(p for f in findings(report) for p in f["paths"]) == sorted(names)
    text = sized.guardian("history", "--select", "max-file-size")
    assert "données/résumé final.bin" in text.out
    assert "odd\\nname.bin" in text.out  # escaped: one finding stays one line


def test_blob_only_in_a_merge_resolution_is_found(sized: Repo) -> None:
    sized.write("f.txt", "base\n")
    sized.commit("base")
    sized.git("checkout", "-q", "-b", "side")
    sized.write("f.txt", "side\n")
    sized.commit("side")
    sized.git("checkout", "-q", "main")
    sized.write("f.txt", "main\n")
    sized.commit("main")
    sized.git("merge", "-q", "side", check=False)  # conflicts
    sized.write("f.txt", blob(3000).hex())
    sized.git("add", "f.txt")
    merge = sized.commit("resolve the conflict with a big file")

    _result, report = scan(sized, "--select", "max-file-size")

    large = findings(report, "max-file-size")
    assert [f["commit"]["id"] for f in large] == [merge]


def test_missing_object_is_reported_by_id_and_the_scan_goes_on(sized: Repo) -> None:
    sized.write("a/big.bin", blob(3000, 1))
    sized.write("b/gone.bin", blob(3000, 2))
    sized.write("src/mod.py", "import optimization_engine\n")
    sized.commit()
    gone = blob_id(sized, "HEAD:b/gone.bin")
    gone_py = blob_id(sized, "HEAD:src/mod.py")
    for oid in (gone, gone_py):
        (sized.path / ".git" / "objects" / oid[:2] / oid[2:]).unlink()

    result, report = scan(sized, "--select", "max-file-size,forbidden-import")

    assert result.code == 1  # a/big.bin is still judged
    assert [f["paths"] for f in findings(report, "max-file-size")] == [["a/big.bin"]]
    assert sorted(report["missing_objects"]) == sorted([gone, gone_py])
    assert gone in result.err and "missing" in result.err
    assert "Traceback" not in result.err


def test_revisions_since_and_all(sized: Repo) -> None:
    sized.write("old.bin", blob(2000, 1))
    sized.git("add", "-A")
    old_env = {"GIT_AUTHOR_DATE": "2001-01-01T00:00:00", "GIT_COMMITTER_DATE": "2001-01-01T00:00:00"}
    subprocess.run(["git", "commit", "-qm", "old"], cwd=sized.path, check=True, env={**os.environ, **old_env})
    sized.git("checkout", "-q", "-b", "topic")
    sized.write("topic.bin", blob(2000, 2))
    sized.commit("topic")
    sized.git("checkout", "-q", "main")

    _r, on_main = scan(sized, "--select", "max-file-size", "main")
    _r, everywhere = scan(sized, "--select", "max-file-size")
    _r, recent = scan(sized, "--select", "max-file-size", "--since", "2010-01-01")
    _r, topic_only = scan(sized, "--select", "max-file-size", "main..topic")

    assert [f["paths"] for f in findings(on_main)] == [["old.bin"]]
    assert sorted(p for f in findings(everywhere) for p in f["paths"]) == ["old.bin", "topic.bin"]
    assert [f["paths"] for f in findings(recent)] == [["topic.bin"]]
    assert [f["paths"] for f in findings(topic_only)] == [["topic.bin"]]


def test_unknown_revision_is_a_usage_error(sized: Repo) -> None:
    sized.commit("empty")
    result = sized.guardian("history", "no-such-branch")
    assert result.code == 2
    assert "no-such-branch" in result.err
    assert "Traceback" not in result.err


def test_repository_without_commits(repo: Repo) -> None:
    result = repo.guardian("history")
    assert result.code == 0, result


def test_outside_a_repository(tmp_path: Path) -> None:

    result = run_guardian("history", cwd=tmp_path)
    assert result.code == 2
    assert "not inside a git work tree" in result.err


# -- content --------------------------------------------------------------------------


def test_content_finding_mapped_to_the_commit_that_introduced_it(clean_repo: Repo) -> None:
    repo = clean_repo
    body = "import os\n\n\ndef run():\n    return os.getcwd()\n"
    repo.write("src/solver.py", body)
    repo.commit("clean start")
    repo.write("src/solver.py", body + "import optimization_engine.core\n")
    introduced = repo.commit("the bad import")
    # Later versions keep the line: still one finding, from the first commit.
    for i in range(3):
        repo.write("src/solver.py", body + "import optimization_engine.core\n" + f"X{i} = {i}\n")
        repo.commit(f"edit {i}")
    move(repo, "src/solver.py", "src/engine.py")
    repo.commit("rename")

    result, report = scan(repo, "--select", "forbidden-import")

    assert result.code == 1
    found = findings(report, "forbidden-import")
    assert len(found) == 1, found
    assert found[0]["path"] == "src/solver.py"
    assert found[0]["line"] == 6
    assert found[0]["commit"]["id"] == introduced
    assert "src/engine.py" in found[0]["paths"]
    assert found[0]["at_head"] is True


def test_a_new_offending_line_in_a_later_version_is_found(clean_repo: Repo) -> None:
    repo = clean_repo
    repo.write("tools/run.py", 'DATA = "C:\\\\data\\\\in"\n')
    repo.commit("one path")
    repo.write("tools/run.py", 'DATA = "C:\\\\data\\\\in"\nOUT = r"D:\\results\\out"\n')
    second = repo.commit("another path")
    repo.write("tools/run.py", "import os\nDATA = os.environ['DATA']\n")
    repo.commit("fixed")

    result, report = scan(repo, "--select", "windows-path")

    assert result.code == 1
    found = sorted(findings(report, "windows-path"), key=lambda f: f["line"])
    assert [f["line"] for f in found] == [1, 2]
    assert found[1]["commit"]["id"] == second
    assert all(f["at_head"] is False for f in found)


def test_content_blob_exempt_under_one_path_and_forbidden_under_another(clean_repo: Repo) -> None:
    repo = clean_repo
    shim = "from atomizer import *  # the deprecation shim\nimport optimization_engine.legacy\n"
    # The shipped policy exempts the old package itself (the shim).
    repo.write("optimization_engine/__init__.py", shim)
    repo.commit("shim")
    repo.write("atomizer/compat.py", shim)
    copied = repo.commit("copy the shim into the new package")

    result, report = scan(repo, "--select", "forbidden-import")

    assert result.code == 1
    found = findings(report, "forbidden-import")
    assert len(found) == 1, found
    assert found[0]["paths"] == ["atomizer/compat.py"]
    assert found[0]["commit"]["id"] == copied


def test_inline_suppression_and_binary_blobs(clean_repo: Repo) -> None:
    repo = clean_repo
    repo.write("src/ok.py", "import optimization_engine  # guardian: ignore[forbidden-import]\n")
    repo.write("src/data.py", b"\x00\x01import optimization_engine\n")
    repo.commit()
    result, report = scan(repo, "--select", "forbidden-import")
    assert result.code == 0, result
    assert report["summary"]["suppressed"] == 1


def test_content_rules_skip_blobs_over_the_bound_and_say_so(clean_repo: Repo) -> None:
    repo = clean_repo
    repo.write("big.py", "import optimization_engine\n" + "x = 1\n" * 2000)
    repo.commit()

    result = repo.guardian("history", "--select", "forbidden-import", "--max-content-size", "1 KiB")

    assert result.code == 0, result
    assert "skipped: big.py" in result.out
    assert "larger than max-content-size" in result.out
    assert repo.guardian("history", "--select", "forbidden-import").code == 1


# -- ref tips, baselines, formats -------------------------------------------------------


def test_gitignore_required_is_judged_at_each_ref_tip(clean_repo: Repo) -> None:
    repo = clean_repo
    repo.git("checkout", "-q", "-b", "old-release")
    repo.write(".gitignore", "*.pyc\n")
    repo.commit("an old branch with a thin .gitignore")
    repo.git("checkout", "-q", "main")

    result, report = scan(repo, "--select", "gitignore-required")

    assert result.code == 1
    found = findings(report, "gitignore-required")
    assert found
    assert all(f["refs"] == ["refs/heads/old-release"] for f in found)
    assert report["summary"]["ref_tips"] >= 2


def test_many_ref_tips_each_get_their_own_tree(clean_repo: Repo) -> None:
    # Tips share most of their trees; each must still be judged on its own:
    # a tracked database and a nested .gitignore negation come and go.
    repo = clean_repo
    repo.write("pkg/sub/mod.py", "x = 1\n")
    for i in range(30):
        if i == 10:
            repo.write("pkg/sub/cache.sqlite", b"db")
            repo.git("add", "-f", "pkg/sub/cache.sqlite")  # the .gitignore ignores it
        if i == 20:
            repo.git("rm", "-q", "pkg/sub/cache.sqlite")
        if i == 15:
            repo.write("pkg/.gitignore", "!*.zip\n")
        if i == 25:
            (repo.path / "pkg" / ".gitignore").unlink()
        repo.write("pkg/sub/mod.py", f"x = {i}\n")
        repo.commit(f"change {i}")
        repo.git("tag", f"t{i:02d}")

    result, report = scan(repo, "--select", "gitignore-required")

    assert result.code == 1, result
    tracked = [f for f in findings(report, "gitignore-required") if f["path"] == "pkg/sub/cache.sqlite"]
    assert len(tracked) == 1
    assert sorted(r for r in tracked[0]["refs"] if "/tags/" in r) == [f"refs/tags/t{i:02d}" for i in range(10, 20)]
    negated = [f for f in findings(report, "gitignore-required") if "re-includes" in f["message"]]
    assert negated and all(
        sorted(r for r in f["refs"] if "/tags/" in r) == [f"refs/tags/t{i:02d}" for i in range(15, 25)] for f in negated
    )
    assert report["summary"]["ref_tips"] == 32  # HEAD, main and 30 tags


def test_write_baseline_then_only_new_findings_fail(sized: Repo) -> None:
    sized.write("a.bin", blob(2000, 1))
    sized.commit()
    made = sized.guardian("history", "--select", "max-file-size", "--write-baseline", "hist.json")
    assert made.code == 0  # recording a baseline accepts what it records
    assert (sized.path / "hist.json").is_file()

    again = sized.guardian("history", "--select", "max-file-size", "--baseline", "hist.json")
    assert again.code == 0, again
    assert "1 in the baseline" in again.out

    sized.write("b.bin", blob(2000, 2))
    sized.commit()
    new = sized.guardian("history", "--select", "max-file-size", "--baseline", "hist.json")
    assert new.code == 1
    assert "b.bin" in new.out and "a.bin" not in new.out.split("Found")[0]


def test_sarif_carries_the_history_of_each_result(sized: Repo) -> None:
    sized.write("a.bin", blob(2000))
    commit = sized.commit()
    result = sized.guardian("history", "--select", "max-file-size", "--format", "sarif")
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["version"] == "2.1.0"
    (item,) = doc["runs"][0]["results"]
    assert item["ruleId"] == "max-file-size"
    assert item["properties"]["commit"]["id"] == commit
    assert item["properties"]["paths"] == ["a.bin"]


def test_output_file_and_exit_zero(sized: Repo) -> None:
    sized.write("a.bin", blob(2000))
    sized.commit()
    result = sized.guardian("history", "--select", "max-file-size", "--output", "report.txt", "--exit-zero")
    assert result.code == 0
    assert result.out == ""
    assert "a.bin" in (sized.path / "report.txt").read_text()
    assert "Report written to report.txt" in result.err


# -- purge script ------------------------------------------------------------------------


def test_purge_script_removes_the_blobs_when_run_on_purpose(sized: Repo, tmp_path: Path) -> None:
    sized.write("keep.txt", "keep\n")
    sized.write("big/one.bin", blob(3000, 1))
    sized.commit("one")
    sized.git("rm", "-q", "big/one.bin")
    sized.commit("gone, but still in history")
    big_id = sized.git("rev-list", "--objects", "--all").split("big/one.bin")[0].split()[-1]
    script = tmp_path / "purge.sh"

    result = sized.guardian("history", "--select", "max-file-size", "--purge-script", str(script))

    assert result.code == 1
    text = script.read_text()
    assert os.access(script, os.X_OK)
    assert big_id in text
    assert "git filter-repo --strip-blobs-with-ids" in text
    assert "REWRITES HISTORY" in text and "re-clone" in text

    # Without the explicit flag it refuses and touches nothing.
    head = sized.git("rev-parse", "HEAD")
    refused = subprocess.run(["sh", str(script)], cwd=sized.path, capture_output=True)
    assert refused.returncode == 2
    assert sized.git("rev-parse", "HEAD") == head

    # Run as documented: in a fresh mirror clone.
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(sized.path), str(mirror)], check=True)
    ran = subprocess.run(["sh", str(script), "--i-understand"], cwd=mirror, capture_output=True)
    assert ran.returncode == 0, ran.stderr.decode()
    objects = subprocess.run(["git", "rev-list", "--objects", "--all"], cwd=mirror, capture_output=True).stdout
    assert big_id.encode() not in objects
    assert b"keep.txt" in objects


def test_no_purge_script_without_large_blobs(sized: Repo, tmp_path: Path) -> None:
    sized.write("a.txt", "small\n")
    sized.commit()
    result = sized.guardian("history", "--select", "max-file-size", "--purge-script", str(tmp_path / "p.sh"))
    assert result.code == 0
    assert not (tmp_path / "p.sh").exists()


# -- progress ---------------------------------------------------------------------------------


def test_progress_only_on_a_terminal_and_never_with_quiet(sized: Repo) -> None:
    import pty

    sized.write("a.bin", blob(2000))
    sized.commit()

    def stderr_of(*args: str) -> bytes:
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "guardian", "history", "--select", "max-file-size", *args],
            cwd=sized.path,
            stdout=subprocess.DEVNULL,
            stderr=slave,
            env={**os.environ, "TERM": "xterm"},
        )
        proc.wait()
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        return b"".join(chunks)

    assert b"\r" in stderr_of()
    assert b"\r" not in stderr_of("--quiet")
    piped = sized.guardian("history", "--select", "max-file-size")
    assert "\r" not in piped.err


def test_progress_display_draws_and_erases() -> None:
    import io

    from guardian.progress import Progress, wanted

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    assert wanted(quiet=False, stream=stream)
    assert not wanted(quiet=True, stream=stream)
    assert not wanted(quiet=False, stream=io.StringIO())
    bar = Progress("history", "commits", enabled=True, stream=stream)
    bar.update(5, 10, force=True)
    assert "5/10 commits" in stream.getvalue()
    bar.close()
    assert stream.getvalue().endswith("\r")


# -- the log parser ------------------------------------------------------------------------------


def test_raw_records_read_plain_merge_and_odd_records_a_chunk_at_a_time() -> None:
    from guardian.git.records import RawRecords, is_content

    a, b, c, z = "a" * 40, "b" * 40, "c" * 40, "0" * 40
    stream = (
        f"\x01{'1' * 40}\0\n:000000 100644 {z} {a} A\0new file\0"
        f":100644 000000 {a} {z} D\0deleted\0"
        f":000000 160000 {z} {b} A\0submodule\0"
        f"\x01{'2' * 40}\0"  # a commit without changes
        f"\x01{'3' * 40}\0\n::100644 100644 100644 {a} {b} {c} MM\0merged\nname\0"
    ).encode()
    for size in (1, 7, len(stream)):  # records cut anywhere between chunks
        reader = RawRecords()
        records = [r for at in range(0, len(stream), size) for r in reader.feed(stream[at : at + size])]
        records += reader.close()
        assert [r[4] for r in records] == [b"A", b"D", b"A", b"MM"] and reader.commits == 3
        assert [(r[0], r[1], r[3], r[5]) for r in records if is_content(r)] == [
            (b"1" * 40, b"100644", a.encode(), b"new file"),
            (b"3" * 40, b"100644", c.encode(), b"merged\nname"),
        ]


def test_raw_records_give_both_paths_of_a_rename() -> None:
    from guardian.git.records import parse_records

    a, b = "a" * 40, "b" * 40
    out = f":100644 100644 {a} {b} R087\0old:name\0new name\0:100644 100644 {a} {a} M\0:odd\0".encode()
    assert [(r[4], r[5], r[6]) for r in parse_records(out)] == [
        (b"R087", b"new name", b"old:name"),
        (b"M", b":odd", b""),
    ]


def test_pre_commit_hook_runs_history_on_the_manual_stage(sized: Repo) -> None:
    import shlex

    import yaml

    from tests.conftest import ROOT

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks["guardian-history"]
    assert hook["stages"] == ["manual"]
    assert hook["pass_filenames"] is False
    program, *args = shlex.split(hook["entry"])
    assert program == "guardian"
    sized.write("a.bin", blob(2000))
    sized.commit()
    result = sized.guardian(*args)
    assert result.code == 1
    assert "a.bin" in result.out


def test_oid_set_remembers_every_id_through_growth() -> None:
    from guardian.sources.history import OidSet

    ids = [f"{random.Random(i).getrandbits(160):040x}".encode() for i in range(5000)]
    seen = OidSet()
    assert all(seen.add(OidSet.key(oid)) for oid in ids)
    assert not any(seen.add(OidSet.key(oid)) for oid in ids)
    assert seen.add(OidSet.key(ids[0], 3))  # the same blob under another profile is new
    assert seen.count == 5001


def test_partial_clone_reports_missing_blobs_and_never_fetches_them(tmp_path: Path) -> None:
    source = Repo(tmp_path / "source")
    source.git("config", "uploadpack.allowFilter", "true")
    source.write("big.bin", os.urandom(5000))
    source.write("small.txt", "hi\n")
    source.commit("one")
    clone = tmp_path / "partial"
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:limit=1k", "--no-checkout", f"file://{source.path}", str(clone)],
        check=True,
        capture_output=True,
    )
    big_oid = source.git("rev-parse", "HEAD:big.bin").strip()

    def missing() -> str:
        return subprocess.run(
            ["git", "rev-list", "--objects", "--all", "--missing=print"], cwd=clone, capture_output=True, text=True
        ).stdout

    assert f"?{big_oid}" in missing()
    result = run_guardian("history", "--select", "max-file-size,windows-path", cwd=clone)
    assert "Traceback" not in result.err
    assert big_oid in result.err and "1 object is missing" in result.err
    assert f"?{big_oid}" in missing()  # still missing: nothing was fetched


def test_history_runs_in_a_bare_mirror_clone(tmp_path: Path) -> None:
    source = Repo(tmp_path / "source")
    source.write("big.bin", os.urandom(2 * 1024 * 1024))
    source.commit("big")
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(source.path), str(mirror)], check=True)
    result = run_guardian("history", "--select", "max-file-size", "--format", "json", cwd=mirror)
    assert result.code == 1, result
    assert [f["path"] for f in json.loads(result.out)["findings"]] == ["big.bin"]


def test_history_in_a_bare_repository_reads_the_policy_head_holds(tmp_path: Path) -> None:
    source = Repo(tmp_path / "source")
    source.write("big.bin", os.urandom(2 * 1024 * 1024))
    source.write("pyproject.toml", "[project]\nname = 'x'\n")  # no [tool.guardian]: not a policy
    source.commit("big")
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(source.path), str(mirror)], check=True)
    assert run_guardian("history", "--select", "max-file-size", cwd=mirror).code == 1
    source.write(".guardian.toml", '[rules.max-file-size]\nlimit = "3 MiB"\n')
    source.commit("a looser policy")
    subprocess.run(["git", "fetch", "-q", "--prune"], cwd=mirror, check=True)
    result = run_guardian("history", "--select", "max-file-size", "--format", "json", cwd=mirror)
    assert result.code == 0, result
    assert json.loads(result.out)["policy"].startswith("HEAD:.guardian.toml"), result.out[:300]
