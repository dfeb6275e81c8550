"""gitignore-required: git's own answer for every required pattern, and the fix."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.ignore import IgnoreTree, PathMatcher
from guardian.model import FileEntry, Finding, MemorySnapshot
from guardian.rules.gitignore_required import RULE, GitignoreRequired, parse_patterns, probe_name

SHIPPED = [
    *["*.bak", "*.backup", "*.sqlite", "*.sqlite3", "*.whl", "*.tar.gz", "*.zip"],
    *["*.sim", "*.prt", "*.fem", "*.bdf", "*.op2", "*.f06", "*.frd"],
]


def rule(patterns: list[str], exclude: list[str] | None = None) -> GitignoreRequired:
    return RULE({"patterns": patterns}, exclude=PathMatcher(exclude or []).matches)


def check(files: dict[str, bytes], patterns: list[str], **kwargs: object) -> list[Finding]:
    return list(rule(patterns).check_repo(MemorySnapshot(files, **kwargs)))  # type: ignore[arg-type]


def gaps(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.path == ".gitignore"]


def test_shipped_patterns_all_present_is_clean() -> None:
    files = {".gitignore": "\n".join(SHIPPED).encode() + b"\n", "src/app.py": b"print()\n"}
    assert check(files, SHIPPED) == []


def test_missing_pattern_is_one_fixable_finding_on_gitignore() -> None:
    (finding,) = check({".gitignore": b"*.bak\n"}, ["*.bak", "*.sqlite"])
    assert (finding.rule, finding.path, finding.line, finding.fixable) == ("gitignore-required", ".gitignore", 0, True)
    assert "`*.sqlite`" in finding.message and "repository root" in finding.message


def test_no_gitignore_at_all_reports_every_pattern() -> None:
    findings = check({"README.md": b"hi\n"}, ["*.bak", "*.zip"])
    assert [f.message.split("`")[1] for f in findings] == ["*.bak", "*.zip"]
    assert all(f.fixable for f in findings)


def test_negation_in_nested_gitignore_names_file_and_line_and_is_not_fixable() -> None:
    files = {".gitignore": b"*.zip\n", "data/.gitignore": b"# keep archives\n!*.zip\n"}
    (finding,) = check(files, ["*.zip"])
    assert "`data/`" in finding.message
    assert "`!*.zip` (data/.gitignore line 2)" in finding.message
    assert finding.fixable is False
    assert rule(["*.zip"]).fix_repo(MemorySnapshot(files)) == {}


def test_negation_later_in_root_gitignore_is_reported() -> None:
    (finding,) = check({".gitignore": b"*.zip\n!*.zip\n"}, ["*.zip"])
    assert "(.gitignore line 2)" in finding.message and finding.fixable is False


def test_anchored_negation_probes_the_directory_it_names() -> None:
    # No fixtures/ directory exists yet: the negation would still let files in.
    (finding,) = check({".gitignore": b"*.sqlite\n!fixtures/*.sqlite\n"}, ["*.sqlite"])
    assert "`fixtures/`" in finding.message and "line 2" in finding.message


def test_pattern_only_in_a_nested_gitignore_is_missing_at_the_root() -> None:
    (finding,) = check({"sub/.gitignore": b"*.bak\n"}, ["*.bak"])
    assert "repository root" in finding.message and finding.fixable


def test_root_anchored_pattern_misses_new_subdirectories() -> None:
    (finding,) = check({".gitignore": b"/*.bak\n"}, ["*.bak"])
    assert "new subdirectories" in finding.message and finding.fixable


def test_negation_inside_an_ignored_directory_does_not_count() -> None:
    # git never reads vendor/.gitignore: vendor/ itself is ignored.
    files = {".gitignore": b"*.bak\nvendor/\n", "vendor/.gitignore": b"!*.bak\n"}
    assert check(files, ["*.bak"]) == []


def test_directory_pattern_required() -> None:
    assert check({".gitignore": b"__pycache__\n"}, ["__pycache__/"]) == []
    assert check({".gitignore": b"__pycache__/\n"}, ["__pycache__/"]) == []
    (finding,) = check({".gitignore": b"*.pyc\n"}, ["__pycache__/"])
    assert "`__pycache__/`" in finding.message


def test_pattern_with_a_slash_is_checked_at_the_root_only() -> None:
    assert check({".gitignore": b"docs/_build/\n"}, ["docs/_build/"]) == []
    (finding,) = check({".gitignore": b"_build/\n!docs/_build/\n"}, ["docs/_build/"])
    assert "repository root" in finding.message


def test_tracked_files_matching_a_required_pattern() -> None:
    files = {
        ".gitignore": b"*.sqlite\nbuild/\n",
        "db/cache.sqlite": b"SQLite format 3\0",
        "build/out/x.o": b"\0",
        "src/ok.py": b"",
        "lib.sqlite": b"",  # a submodule named like a database
    }
    findings = check(files, ["*.sqlite", "build/"], modes={"lib.sqlite": "160000"})
    tracked = {f.path: f for f in findings}
    assert sorted(tracked) == ["build/out/x.o", "db/cache.sqlite"]
    message = tracked["db/cache.sqlite"].message
    assert "required ignore pattern `*.sqlite`" in message and "git rm --cached -- db/cache.sqlite" in message
    assert "`build/`" in tracked["build/out/x.o"].message
    assert not any(f.fixable for f in findings)


def test_tracked_path_with_spaces_is_quoted_for_the_shell() -> None:
    (finding,) = check({".gitignore": b"*.zip\n", "my data/a b.zip": b""}, ["*.zip"])
    assert "git rm --cached -- 'my data/a b.zip'" in finding.message


def test_exclude_skips_tracked_files_and_probes_below_it() -> None:
    files = {".gitignore": b"*.zip\n", "legacy/.gitignore": b"!*.zip\n", "legacy/old.zip": b""}
    assert list(rule(["*.zip"], exclude=["legacy/"]).check_repo(MemorySnapshot(files))) == []
    assert len(list(rule(["*.zip"]).check_repo(MemorySnapshot(files)))) == 2


def test_fix_appends_under_one_comment_keeping_crlf_and_adding_the_missing_newline() -> None:
    files = {".gitignore": b"build/\r\n*.bak"}
    fixed = rule(["*.bak", "*.sqlite", "*.zip"]).fix_repo(MemorySnapshot(files))
    assert fixed == {
        ".gitignore": b"build/\r\n*.bak\r\n# Required by guardian (gitignore-required)\r\n*.sqlite\r\n*.zip\r\n"
    }


def test_fix_creates_the_root_gitignore() -> None:
    fixed = rule(["*.bak", "*.zip"]).fix_repo(MemorySnapshot({"a.py": b""}))
    assert fixed == {".gitignore": b"# Required by guardian (gitignore-required)\n*.bak\n*.zip\n"}


def test_fix_keeps_a_bom_and_lf() -> None:
    fixed = rule(["*.bak", "*.zip"]).fix_repo(MemorySnapshot({".gitignore": b"\xef\xbb\xbf*.bak\n"}))
    assert fixed[".gitignore"] == b"\xef\xbb\xbf*.bak\n# Required by guardian (gitignore-required)\n*.zip\n"


def test_fix_is_empty_when_nothing_is_missing_and_never_duplicates() -> None:
    files = {".gitignore": b"*.bak  \n*.zip\n"}  # trailing spaces do not make it a different pattern
    assert rule(["*.bak", "*.zip", "*.bak"]).fix_repo(MemorySnapshot(files)) == {}


def test_fix_then_check_is_clean() -> None:
    files = {".gitignore": b"*.bak\n", "sub/.gitignore": b"*.zip\n"}
    fixed = rule(SHIPPED).fix_repo(MemorySnapshot(files))
    assert check({**files, **fixed}, SHIPPED) == []
    assert rule(SHIPPED).fix_repo(MemorySnapshot({**files, **fixed})) == {}


def test_symlinked_root_gitignore_is_not_read_nor_rewritten() -> None:
    files = {".gitignore": b"elsewhere/.gitignore"}
    snapshot = MemorySnapshot(files, modes={".gitignore": "120000"})
    (finding,) = rule(["*.bak"]).check_repo(snapshot)
    assert "symbolic link" in finding.message and not finding.fixable
    assert rule(["*.bak"]).fix_repo(snapshot) == {}


class UnreadableGitignore(MemorySnapshot):
    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        for entry in entries:
            yield entry, None


def test_unreadable_root_gitignore_is_never_overwritten() -> None:
    snapshot = UnreadableGitignore({".gitignore": b"*.bak\n"})
    (finding,) = rule(["*.bak"]).check_repo(snapshot)
    assert "could not be read" in finding.message and not finding.fixable
    assert rule(["*.bak"]).fix_repo(snapshot) == {}


def test_reads_all_gitignore_files_in_one_batch() -> None:
    calls: list[list[str]] = []

    class Counting(MemorySnapshot):
        def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
            wanted = list(entries)
            calls.append([e.path for e in wanted])
            return super().read_many(wanted)

    files = {".gitignore": b"*.bak\n", "a/.gitignore": b"x\n", "a/b/.gitignore": b"y\n", "a/code.py": b""}
    list(rule(["*.bak"]).check_repo(Counting(files)))
    assert calls == [[".gitignore", "a/.gitignore", "a/b/.gitignore"]]


def test_binary_and_non_utf8_gitignore_files_do_not_crash() -> None:
    files = {".gitignore": bytes(range(256)) * 3, "x/.gitignore": b"\xff\xfe[\n\\\n!\n", "\udcff.zip": b""}
    findings = check(files, SHIPPED)
    assert any(f.path == "\udcff.zip" for f in findings)
    assert rule(SHIPPED).fix_repo(MemorySnapshot(files))[".gitignore"].startswith(bytes(range(256)) * 3)


@pytest.mark.parametrize(
    ("pattern", "probe"),
    [
        ("*.tar.gz", "guardian-probe.tar.gz"),
        ("*.bak", "guardian-probe.bak"),
        ("Thumbs.db", "Thumbs.db"),
        ("*.py[cod]", "guardian-probe.pyc"),
        ("*.[!o]", "guardian-probe.x"),
        ("data?.csv", "datax.csv"),
        ("**/node_modules/", "node_modules"),
        ("/build/", "build"),
        ("docs/_build/", "docs/_build"),
        ("a[", None),
    ],
)
def test_probe_name(pattern: str, probe: str | None) -> None:
    assert probe_name(pattern) == probe


@pytest.mark.parametrize("bad", ["", "  ", "!*.bak", "#notes", "a[", ["*.bak", 3]])
def test_option_rejects_patterns_that_cannot_be_required(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_patterns(bad if isinstance(bad, list) else [bad])


def test_option_accepts_a_single_string() -> None:
    assert parse_patterns("*.bak") == ["*.bak"]


def test_docs_have_the_required_sections_in_order() -> None:
    headings = [line for line in GitignoreRequired.docs.splitlines() if line.startswith("## ")]
    assert headings == ["## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Options"]


# A fix must do what a finding promises: exactly the fixable patterns get
# appended, and afterwards git ignores each of them wherever it was missing.
LINES = ["*.bak", "*.zip", "!*.zip", "/*.bak", "sub/", "!sub/", "!keep/*.bak", "*", "!*", "# c", "", "*.bak/"]


@settings(max_examples=150, deadline=None)
@given(
    root=st.one_of(st.none(), st.lists(st.sampled_from(LINES), max_size=5)),
    nested=st.lists(st.sampled_from(LINES), max_size=3),
    crlf=st.booleans(),
)
def test_fix_appends_exactly_the_fixable_patterns(root: list[str] | None, nested: list[str], crlf: bool) -> None:
    newline = "\r\n" if crlf else "\n"
    files = {"sub/.gitignore": newline.join(nested).encode(), "src/a.py": b""}
    if root is not None:
        files[".gitignore"] = newline.join(root).encode()
    required = ["*.bak", "*.zip"]
    findings = check(files, required)
    fixable = [f.message.split("`")[1] for f in findings if f.fixable]
    fixed = rule(required).fix_repo(MemorySnapshot(files))
    if not fixable:
        assert fixed == {}
        return
    new = fixed[".gitignore"]
    old = files.get(".gitignore", b"")
    assert new.startswith(old)
    assert new.endswith(b"\r\n" if crlf and b"\n" in old else b"\n")
    added = [line for line in new[len(old) :].decode().splitlines() if line and not line.startswith("#")]
    assert added == fixable
    tree = IgnoreTree({**files, **fixed})
    assert all(tree.is_ignored(f"guardian-probe-dir/sub/guardian-probe.{p[2:]}") for p in fixable)
    assert all(tree.is_ignored(f"guardian-probe.{p[2:]}") for p in fixable)


def test_messages_stay_on_one_line_and_encodable() -> None:
    files = {
        ".gitignore": b"*.zip\n",
        "odd\ndir/.gitignore": b"!\xff*.zip\n!*.zip\n",
        "new\nline.zip": b"",
        "bad\udcffname.zip": b"",
    }
    findings = check(files, ["*.zip"])
    assert len(findings) == 3
    for finding in findings:
        assert "\n" not in finding.message
        finding.message.encode("utf-8")  # no lone surrogates
    gap = next(f for f in findings if f.path == ".gitignore")
    assert "`odd\\x0adir/`" in gap.message


def _seconds(action: object) -> float:
    import time

    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def test_thousands_of_negations_are_surveyed_in_bounded_time_and_the_rest_is_reported() -> None:
    # Each anchored negation names a directory to probe, and each probe
    # tests every pattern above it: quadratic without a budget.
    def files(n: int) -> dict[str, bytes]:
        negations = "".join(f"!d{i}/*.zip\n" for i in range(n))
        return {".gitignore": ("\n".join(SHIPPED) + "\n" + negations).encode()}

    found = check(files(10_000), SHIPPED)
    (unprobed,) = [f for f in found if "were not probed" in f.message]
    assert unprobed.severity == "error" and unprobed.path == ".gitignore"
    # What it could afford, it still checked: the first negation re-includes *.zip.
    assert any("`*.zip` is not ignored in `d0/`" in f.message for f in found)
    one = _seconds(lambda: check(files(1_000), SHIPPED))
    ten = _seconds(lambda: check(files(10_000), SHIPPED))
    assert ten < max(one, 0.01) * 40, (one, ten)  # about 10x; a quadratic survey took 100x


def test_a_monorepo_with_thousands_of_gitignore_files_is_probed_everywhere() -> None:
    files = {".gitignore": ("\n".join(SHIPPED) + "\nnode_modules/\n").encode()}
    for i in range(2_000):
        files[f"pkg{i % 20}/lib{i}/.gitignore"] = b"*.tmp\n/dist/\n__pycache__/\n!keep.tmp\n"
    files["pkg3/lib1999/.gitignore"] = b"!*.zip\n"
    found = check(files, SHIPPED)
    assert not [f for f in found if "were not probed" in f.message]
    assert any("`*.zip` is not ignored in `pkg3/lib1999/`" in f.message for f in found)
