"""`guardian history` content scan: what the streamed pass must keep true while
it reads as little as it can (rules left out of a version whose lines they
already saw, blobs over max-content-size never asked for, missing blobs
without a size pass). Real repositories, the command run as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Repo

IMPORT = "import optimization_engine.core\n"
ROOT = Path(__file__).resolve().parent.parent
WIN_PATH = 'OUT = "C:\\\\Users\\\\me\\\\out"\n'


def scan(repo: Repo, *args: str) -> dict[str, Any]:
    result = repo.guardian("history", "--format", "json", *args)
    assert result.code in (0, 1), result
    assert "Traceback" not in result.err
    report = json.loads(result.out)
    assert isinstance(report, dict)
    return report


def findings(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule"] == rule]


def test_a_version_copied_to_another_path_carries_every_rule_s_findings_there(clean_repo: Repo) -> None:
    repo = clean_repo
    repo.write("src/a.py", "import os\n" + IMPORT)
    introduced = repo.commit("the bad import")
    # Only windows-path has a new line to judge in this version: the
    # forbidden import stood in the version before.
    repo.write("src/a.py", "import os\n" + IMPORT + WIN_PATH)
    second = repo.commit("a windows path")
    # The same blob, stored under a second path.
    repo.write("src/b.py", "import os\n" + IMPORT + WIN_PATH)
    repo.commit("copy")

    report = scan(repo, "--select", "forbidden-import,windows-path")

    imports = findings(report, "forbidden-import")
    assert len(imports) == 1, imports
    assert imports[0]["paths"] == ["src/a.py", "src/b.py"]
    assert imports[0]["commit"]["id"] == introduced
    paths = findings(report, "windows-path")
    assert len(paths) == 1, paths
    assert paths[0]["paths"] == ["src/a.py", "src/b.py"]
    assert paths[0]["commit"]["id"] == second


def test_each_new_offending_line_is_found_whichever_rule_it_belongs_to(clean_repo: Repo) -> None:
    repo = clean_repo
    lines = "import os\n"
    commits = []
    for i, extra in enumerate([IMPORT, WIN_PATH, f"X = {0}\n", "from optimization_engine import solver\n"]):
        lines += extra
        repo.write("pkg/mod.py", lines)
        commits.append(repo.commit(f"step {i}"))

    report = scan(repo, "--select", "forbidden-import,windows-path")

    imports = sorted(findings(report, "forbidden-import"), key=lambda f: f["line"])
    assert [(f["line"], f["commit"]["id"]) for f in imports] == [(2, commits[0]), (5, commits[3])]
    paths = findings(report, "windows-path")
    assert [(f["line"], f["commit"]["id"]) for f in paths] == [(3, commits[1])]


def test_suppressions_are_counted_in_every_version_judged(clean_repo: Repo) -> None:
    repo = clean_repo
    quiet = "import optimization_engine  # guardian: ignore[forbidden-import]\n"
    repo.write("src/ok.py", quiet)
    repo.commit()
    repo.write("src/ok.py", quiet + WIN_PATH)
    repo.commit()

    report = scan(repo, "--select", "forbidden-import,windows-path")

    assert findings(report, "forbidden-import") == []
    assert len(findings(report, "windows-path")) == 1
    summary = report["summary"]
    assert summary["suppressed"] == 2


def test_blobs_over_max_content_size_are_listed_oldest_first_and_never_read(clean_repo: Repo) -> None:
    repo = clean_repo
    big = "x = 1\n" * 400
    repo.write("first.py", IMPORT + big)
    repo.commit()
    repo.write("small.py", IMPORT)
    repo.commit()
    repo.write("second.py", IMPORT + big + big)
    repo.commit()

    report = scan(repo, "--select", "forbidden-import", "--max-content-size", "1 KiB")

    skipped = report["skipped"]
    assert [s["path"] for s in skipped] == ["first.py", "second.py"]
    assert [s["size"] for s in skipped] == [len(IMPORT + big), len(IMPORT + big + big)]
    assert [f["path"] for f in findings(report, "forbidden-import")] == ["small.py"]
    summary = report["summary"]
    assert summary["blobs_read"] == 1


def test_missing_blob_in_a_content_only_scan_is_reported_once_and_not_counted(clean_repo: Repo) -> None:
    repo = clean_repo
    repo.write("src/gone.py", IMPORT)
    repo.write("src/kept.py", "import optimization_engine.kept\n")
    repo.commit()
    repo.write("src/copy.py", IMPORT)  # the missing blob again, under another path
    repo.commit()
    gone = repo.git("rev-parse", "HEAD:src/gone.py").strip()
    (repo.path / ".git" / "objects" / gone[:2] / gone[2:]).unlink()

    report = scan(repo, "--select", "forbidden-import")

    assert report["missing_objects"] == [gone]
    assert [f["path"] for f in findings(report, "forbidden-import")] == ["src/kept.py"]
    summary = report["summary"]
    assert summary["missing_objects"] == 1
    assert summary["blob_versions"] == 1


def test_the_report_is_the_same_for_any_number_of_workers(tmp_path: Path) -> None:
    """The bench's history shape (merges, a feature branch, renames, binaries,
    large blobs, tags), scanned by one process and by several: byte for byte
    the same report, and a report with something in it."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from bench_history import build_repo
    finally:
        sys.path.remove(str(ROOT / "bench"))
    repo = tmp_path / "history"
    stats = build_repo(repo, 1500, large=20)
    assert stats["merges"] > 200 and stats["renames"] > 10

    outputs = {}
    for jobs in ("1", "2", "4"):
        proc = subprocess.run(
            [sys.executable, "-m", "guardian", "history", "-q", "--format", "json", "--jobs", jobs],
            cwd=repo,
            capture_output=True,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr.decode()
        outputs[jobs] = proc.stdout

    assert outputs["2"] == outputs["1"]
    assert outputs["4"] == outputs["1"]
    report = json.loads(outputs["1"])
    rules = {f["rule"] for f in report["findings"]}
    assert {"forbidden-import", "windows-path", "max-file-size"} <= rules
    assert any(len(f["paths"]) > 1 for f in report["findings"])  # blobs met again, under other paths


def test_large_blobs_are_judged_when_text_and_left_unread_only_when_binary(clean_repo: Repo) -> None:
    """Blobs over 256 KiB may be told binary by their head, read without git:
    a large text file's finding past that head is still found."""
    repo = clean_repo
    filler = "".join(f"VALUE_{i} = {i}\n" for i in range(30_000))  # about 400 KiB of text
    repo.write("src/generated.py", filler + IMPORT)
    repo.write("src/blob.py", b"\0" + bytes(range(256)) * 1200 + IMPORT.encode())  # binary: NUL in its head
    repo.commit("large files")
    repo.git("gc", "-q")  # packed whole: their heads are read from the pack
    for jobs in ("1", "2"):
        report = scan(repo, "--select", "forbidden-import", "--jobs", jobs, "--max-content-size", "10MiB")
        assert [(f["path"], f["line"]) for f in findings(report, "forbidden-import")] == [("src/generated.py", 30_001)]


def test_the_count_of_blobs_read_leaves_out_large_binaries_however_their_head_was_read(clean_repo: Repo) -> None:
    """A large binary blob is told binary by its head, read from the pack when
    it is stored whole and through git when it is a delta (or when the
    object listing has not come yet). Either way only its head is read:
    "blobs read" counts the blobs whose bytes reach the rules, so the report
    is the same however the threads ran."""
    import random

    repo = clean_repo
    noise = random.Random(7).randbytes(400_000)
    repo.write("notes/paths.txt", WIN_PATH)
    # windows-path reads any text file, and no binary one.
    repo.write("notes/model.dat", b"\0" + noise)
    repo.commit("a binary")
    repo.write("notes/model.dat", b"\0" + noise[:-10] + b"0123456789")
    repo.commit("the binary, changed a little")
    repo.git("gc", "-q", "--aggressive")  # one version of the binary becomes a delta of the other
    listed = [line.split()[0] for line in repo.git("rev-list", "--objects", "--all").splitlines()]
    blobs = {o for o in listed if repo.git("cat-file", "-t", o).strip() == "blob"}
    text_blobs = len(blobs) - 2  # every blob but the two versions of the binary
    counts = set()
    for jobs in ("1", "2", "1", "2"):
        report = scan(repo, "--select", "windows-path", "--jobs", jobs)
        assert [f["path"] for f in findings(report, "windows-path")] == ["notes/paths.txt"]
        counts.add(report["summary"]["blobs_read"])
    assert counts == {text_blobs}
