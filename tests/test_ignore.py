"""guardian.ignore answers exactly as ``git check-ignore --no-index`` does.

Hand-written cases pin each feature of the gitignore syntax (and are checked
against real git too, so the expectations themselves cannot drift); the
hypothesis tests generate .gitignore files and paths from an alphabet that
hits every feature and compare every answer, including which file and line
decided it, with one ``git check-ignore`` call per example.

The last test also runs ``pathspec.GitIgnoreSpec`` on the same generated
cases and prints where it disagrees with git. That is evidence for the design
note on why the product does not use pathspec; pathspec's answers never fail
the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardian.ignore import IgnoreTree, PathMatcher, PatternList, parse_lines

Verdict = tuple[str, int, bool] | None  # (source file, line, negative) or no match


def _fs(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


class GitOracle:
    """A scratch repository in which ``git check-ignore`` answers for us.

    One repository serves every example: the work tree is wiped and refilled,
    then all paths of the example go to a single ``git check-ignore`` process.
    Global and system configuration, ``core.excludesFile`` and
    ``.git/info/exclude`` are kept out so only the given files count.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        home = os.path.join(root, "home")
        os.makedirs(home)
        self.work = os.path.join(root, "repo")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        self.env.update(
            HOME=home,
            XDG_CONFIG_HOME=home,
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            LC_ALL="C",
        )
        subprocess.run(["git", "init", "-q", "--template=", self.work], check=True, env=self.env)

    def check(self, files: Mapping[str, bytes], paths: Sequence[tuple[str, bool]]) -> list[Verdict]:
        work = _fs(self.work)
        for entry in os.listdir(work):
            if entry != b".git":
                full = os.path.join(work, entry)
                if os.path.isdir(full):
                    shutil.rmtree(full)
                else:
                    os.unlink(full)
        for name, data in files.items():
            target = os.path.join(work, _fs(name))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(data)
        for path, is_dir in paths:
            if is_dir:
                os.makedirs(os.path.join(work, _fs(path)), exist_ok=True)
        # A leading ':' would be read as pathspec magic; "./" keeps the path literal.
        stdin = b"".join((b"./" if path.startswith(":") else b"") + _fs(path) + b"\0" for path, _ in paths)
        done = subprocess.run(
            ["git", "-c", "core.ignoreCase=false", "check-ignore", "--no-index", "-v", "-n", "--stdin", "-z"],
            input=stdin,
            capture_output=True,
            cwd=self.work,
            env=self.env,
        )
        assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
        fields = done.stdout.split(b"\0")
        assert len(fields) == 4 * len(paths) + 1, (fields, paths)
        verdicts: list[Verdict] = []
        for i in range(len(paths)):
            source, line, pattern, _path = fields[4 * i : 4 * i + 4]
            if source:
                verdicts.append((source.decode("utf-8", "surrogateescape"), int(line), pattern.startswith(b"!")))
            else:
                verdicts.append(None)
        return verdicts


@pytest.fixture(scope="module")
def oracle() -> Iterator[GitOracle]:
    root = tempfile.mkdtemp(prefix="guardian-ignore-")
    try:
        yield GitOracle(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _ours(files: Mapping[str, bytes], paths: Sequence[tuple[str, bool]]) -> list[Verdict]:
    tree = IgnoreTree(files)
    verdicts: list[Verdict] = []
    for path, is_dir in paths:
        found = tree.explain(path, is_dir)
        verdicts.append(None if found is None else (found.source, found.line, found.negative))
    return verdicts


def _settle_kinds(files: Mapping[str, bytes], paths: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """A path that is also an ancestor of another path (or of a .gitignore) is a directory."""
    dirs: set[str] = set()
    for name in [p for p, _ in paths] + list(files):
        parts = name.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    settled: dict[str, bool] = {}
    for path, is_dir in paths:
        settled[path] = settled.get(path, False) or is_dir or path in dirs
    return list(settled.items())


# -- hand-written cases, one feature each -----------------------------------------
ROOT = ".gitignore"
CASES: list[tuple[str, dict[str, bytes], str, bool, bool]] = [
    # (feature, .gitignore files, path, is_dir, ignored?)
    ("comment line", {ROOT: b"#foo\n"}, "#foo", False, False),
    ("escaped hash", {ROOT: b"\\#foo\n"}, "#foo", False, True),
    ("blank lines skipped", {ROOT: b"\n\n*.o\n\n"}, "a.o", False, True),
    ("basename at any depth", {ROOT: b"*.bak\n"}, "a/b/c.bak", False, True),
    ("negation re-includes", {ROOT: b"*.log\n!keep.log\n"}, "keep.log", False, False),
    ("negation elsewhere", {ROOT: b"*.log\n!keep.log\n"}, "other.log", False, True),
    ("last match wins", {ROOT: b"!a.log\n*.log\n"}, "a.log", False, True),
    ("escaped bang is literal", {ROOT: b"\\!important\n"}, "!important", False, True),
    ("trailing spaces trimmed", {ROOT: b"foo   \n"}, "foo", False, True),
    ("trailing spaces not part of name", {ROOT: b"foo   \n"}, "foo ", False, False),
    ("escaped trailing space kept", {ROOT: b"foo\\ \n"}, "foo ", False, True),
    ("escaped trailing space needs it", {ROOT: b"foo\\ \n"}, "foo", False, False),
    ("CRLF line ends", {ROOT: b"*.bak\r\nbuild/\r\n"}, "x.bak", False, True),
    ("CRLF dir pattern", {ROOT: b"*.bak\r\nbuild/\r\n"}, "build", True, True),
    ("no final newline", {ROOT: b"*.o\n*.bak"}, "x.bak", False, True),
    ("UTF-8 BOM skipped", {ROOT: b"\xef\xbb\xbf*.bak\n"}, "x.bak", False, True),
    ("leading slash anchors", {ROOT: b"/tools\n"}, "tools", True, True),
    ("leading slash: not deeper", {ROOT: b"/tools\n"}, "a/tools", True, False),
    ("middle slash anchors", {ROOT: b"doc/frotz\n"}, "doc/frotz", False, True),
    ("middle slash: not deeper", {ROOT: b"doc/frotz\n"}, "a/doc/frotz", False, False),
    ("trailing slash: directories", {ROOT: b"build/\n"}, "a/build", True, True),
    ("trailing slash: not files", {ROOT: b"build/\n"}, "build", False, False),
    ("files below an ignored dir", {ROOT: b"build/\n"}, "build/x/y.c", False, True),
    ("leading **/", {ROOT: b"**/foo/bar\n"}, "x/y/foo/bar", False, True),
    ("leading **/ at the top", {ROOT: b"**/foo\n"}, "foo", False, True),
    ("trailing /** below", {ROOT: b"abc/**\n"}, "abc/x/y", False, True),
    ("trailing /** not the dir", {ROOT: b"abc/**\n"}, "abc", True, False),
    ("middle /**/ zero dirs", {ROOT: b"a/**/b\n"}, "a/b", False, True),
    ("middle /**/ many dirs", {ROOT: b"a/**/b\n"}, "a/x/y/b", False, True),
    ("middle /**/ whole segments", {ROOT: b"a/**/b\n"}, "a/xb", False, False),
    ("star stops at slash", {ROOT: b"a/*.c\n"}, "a/b/x.c", False, False),
    ("star within a segment", {ROOT: b"a/*.c\n"}, "a/x.c", False, True),
    ("question mark: one byte", {ROOT: b"?.c\n"}, "a.c", False, True),
    ("question mark: not two", {ROOT: b"?.c\n"}, "ab.c", False, False),
    ("question mark: UTF-8 is bytes", {ROOT: b"?.c\n"}, "\u00e9.c", False, False),
    ("bracket set", {ROOT: b"[abc].txt\n"}, "b.txt", False, True),
    ("bracket set miss", {ROOT: b"[abc].txt\n"}, "d.txt", False, False),
    ("bracket [!...]", {ROOT: b"[!a].txt\n"}, "a.txt", False, False),
    ("bracket [^...]", {ROOT: b"[^a].txt\n"}, "b.txt", False, True),
    ("bracket range", {ROOT: b"x[a-c]\n"}, "xb", False, True),
    ("bracket range miss", {ROOT: b"x[a-c]\n"}, "xd", False, False),
    ("bracket class digit", {ROOT: b"[[:digit:]]x\n"}, "1x", False, True),
    ("bracket class alpha", {ROOT: b"[[:alpha:]]x\n"}, "1x", False, False),
    ("bracket ] first is literal", {ROOT: b"[]]x\n"}, "]x", False, True),
    ("bracket never matches slash", {ROOT: b"a[/]b\n"}, "a/b", False, False),
    ("unclosed bracket never matches", {ROOT: b"a[b\n"}, "a[b", False, False),
    ("unknown class never matches", {ROOT: b"[[:nope:]]\n"}, "a", False, False),
    ("backslash escapes a star", {ROOT: b"\\*\n"}, "*", False, True),
    ("escaped star is not a glob", {ROOT: b"\\*\n"}, "a", False, False),
    ("trailing backslash never matches", {ROOT: b"foo\\\n"}, "foo", False, False),
    ("non-UTF-8 pattern bytes", {ROOT: b"\xff*\n"}, "\udcffname", False, True),
    ("NUL ends a line", {ROOT: b"*.o\0junk\n"}, "a.o", False, True),
    ("a/ab**/c: git's literal-prefix quirk", {ROOT: b"x/ab**/c\n"}, "x/abc", False, True),
    ("excluded parent cannot be re-included", {ROOT: b"build/\n!build/keep.txt\n"}, "build/keep.txt", False, True),
    ("dir/* leaves the dir, so re-include works", {ROOT: b"dir/*\n!dir/keep\n"}, "dir/keep", False, False),
    ("deeper file wins", {ROOT: b"*.bak\n", "sub/.gitignore": b"!*.bak\n"}, "sub/x.bak", False, False),
    ("deeper file only below it", {ROOT: b"*.bak\n", "sub/.gitignore": b"!*.bak\n"}, "x.bak", False, True),
    ("nested anchors to its dir", {"sub/.gitignore": b"/only\n"}, "sub/only", False, True),
    ("nested anchor not at root", {"sub/.gitignore": b"/only\n"}, "only", False, False),
    ("nested anchor not deeper", {"sub/.gitignore": b"/only\n"}, "sub/a/only", False, False),
    ("nested file cannot un-ignore its dir", {ROOT: b"sub/\n", "sub/.gitignore": b"!*\n"}, "sub/x", False, True),
    ("case brackets after a star", {ROOT: b"*.[bB][aA][tT]\n"}, "d/run.BaT", False, True),
    ("case brackets after a star, miss", {ROOT: b"*.[bB][aA][tT]\n"}, "run.bar", False, False),
    ("case brackets: the star may be empty", {ROOT: b"*.[pP][sS]1\n"}, ".Ps1", False, True),
    ("case brackets: too short", {ROOT: b"*.[pP][sS]1\n"}, "s1", False, False),
]


@pytest.mark.parametrize(("feature", "files", "path", "is_dir", "ignored"), CASES, ids=[c[0] for c in CASES])
def test_feature(feature: str, files: dict[str, bytes], path: str, is_dir: bool, ignored: bool) -> None:
    assert IgnoreTree(files).is_ignored(path, is_dir) is ignored


def test_hand_written_expectations_are_what_git_says(oracle: GitOracle) -> None:
    wrong = []
    for feature, files, path, is_dir, ignored in CASES:
        (verdict,) = oracle.check(files, [(path, is_dir)])
        if (verdict is not None and not verdict[2]) is not ignored:
            wrong.append(feature)
    assert wrong == []


def test_explain_names_the_deciding_file_and_line() -> None:
    tree = IgnoreTree({ROOT: b"# junk\n*.bak\n", "sub/.gitignore": b"\n!keep.bak\n"})
    found = tree.explain("sub/keep.bak")
    assert found is not None
    assert (found.source, found.line, found.text, found.negative) == ("sub/.gitignore", 2, "!keep.bak", True)
    assert tree.explain("nothing.txt") is None


def test_parse_lines_numbers_lines_like_git() -> None:
    data = b"\xef\xbb\xbf# c\r\n\r\n*.a  \r\n!b\\  \n\\#c"
    assert parse_lines(data) == [(2, b""), (3, b"*.a"), (4, b"!b\\ "), (5, b"\\#c")]


def test_pattern_list_reports_none_true_false() -> None:
    plist = PatternList(["*.log", "!keep.log", "build/"])
    assert plist.match("src/a.py", False) is None
    assert plist.match("a.log", False) is True
    assert plist.match("keep.log", False) is False
    assert plist.match("build", True) is True
    assert plist.match("build", False) is None


def test_pattern_list_is_relative_to_its_directory() -> None:
    plist = PatternList.from_bytes(b"/x\n*.o\n", "sub", source="sub/.gitignore")
    assert plist.match("sub/x", False) is True
    assert plist.match("sub/deeper/x", False) is None
    assert plist.match("x", False) is None
    assert plist.match("other/a.o", False) is None
    assert plist.match("sub/deeper/a.o", False) is True


def test_path_matcher_without_patterns_matches_nothing() -> None:
    matcher = PathMatcher([])
    assert not matcher
    assert matcher.matches("anything/at/all.py") is False


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["build/"], "build/lib/x.py", True),
        (["build/"], "src/build/x.py", True),
        (["build/"], "build", False),
        (["dashboard/assets/**"], "dashboard/assets/img/logo.png", True),
        (["dashboard/assets/**"], "dashboard/app.js", False),
        (["/tools"], "tools/big.bin", True),
        (["/tools"], "src/tools/x.py", False),
        (["*.bat", "*.ps1"], "scripts/run.ps1", True),
        (["tests/**", "!tests/keep.py"], "tests/keep.py", False),
        (["tests/", "!tests/keep.py"], "tests/keep.py", True),
        (["# a comment", ""], "# a comment", False),
    ],
)
def test_path_matcher_excludes_files_below_matched_directories(patterns: list[str], path: str, excluded: bool) -> None:
    assert PathMatcher(patterns).matches(path) is excluded


def test_path_matcher_names_the_pattern() -> None:
    found = PathMatcher(["*.py", "vendor/"]).matching_pattern("vendor/lib/a.txt")
    assert found is not None and found.text == "vendor/"


def test_odd_input_never_raises() -> None:
    tree = IgnoreTree({ROOT: bytes(range(256)) * 4 + b"\n[\n\\\n[[:\n**\n/\n!\n", "a/.gitignore": b"\0\0\n\xfe\xff"})
    for path in ["", "a", "a/\udcff", "a/b/c d", "line\nbreak", "\u00e9/\u00e9"]:
        tree.is_ignored(path)
        tree.is_ignored(path, True)
    assert PathMatcher(["[", "\\", "a[[:x"]).matches("[") is False


# -- generated cases, compared with git ------------------------------------------
PATTERN_TOKENS = [
    "a", "b", "ab", "x", ".", "A", "1", "~", "-", ":",
    "*", "**", "?", "/", "/", "!", "\\", "#", " ", "\\ ", "\t",
    "[", "]", "^", "[a-c]", "[!a]", "[^b]", "[]a]", "[a-]", "[\\]]", "[z-a]",
    "[[:alpha:]]", "[[:digit:]]", "[[:space:]]", "[[:punct:]]", "[[:upper:]]", "[[:lower:]]",
    "[[:alnum:]]", "[[:xdigit:]]", "[[:cntrl:]]", "[[:graph:]]", "[[:print:]]", "[[:blank:]]",
    "[[:foo:]]", "[[:", ":]", "[:]",
    "\\!", "\\#", "\\*", "\\[", "\\/", "\\a",
    "\u00e9", "\udcff", "\r", "\0", "[aA]", "[xX]", "*.[aA][xX]",
]  # fmt: skip
SEGMENT_TOKENS = [
    "a", "b", "ab", "x", "A", "1", "-", ".", "*", "?", "[", "]", "!", "#", " ",
    "\\", "\u00e9", "\udcff", "\t", "\x0b", ":", "~", "^",
]  # fmt: skip
GITIGNORE_DIRS = ["", "", "a", "b", "a/b", "ab", "a/ab"]

GLOB_SEGMENTS = [
    "a", "b", "ab", "x", "*", "?", "a*", "*b", "*.x", "[ab]", "[!a]", "[a-b]*", "**", "***", "a**", "**b",
    "\\a", "\u00e9", "?b", "a?", "[[:alpha:]]", "[[:space:]]*", "\\*", "\\!a", "#a", " a",
    "*.[xX]", "*[aA][bB]", "*b.[aA]",
]  # fmt: skip
random_line = st.lists(st.sampled_from(PATTERN_TOKENS), min_size=0, max_size=5).map("".join)
shaped_line = st.tuples(
    st.sampled_from(["", "", "!"]),
    st.sampled_from(["", "", "/", "**/"]),
    st.lists(st.sampled_from(GLOB_SEGMENTS), min_size=1, max_size=3).map("/".join),
    st.sampled_from(["", "", "/", "/**", "  ", "\\ "]),
).map("".join)
pattern_line = st.one_of(random_line, shaped_line, shaped_line).map(_fs)


@st.composite
def gitignore_file(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(pattern_line, min_size=1, max_size=6))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = newline.join(lines)
    if draw(st.booleans()):
        data += newline
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data


segment = st.one_of(
    st.sampled_from(["a", "b", "ab", "x", "ax", "a.x", "bb", "\u00e9", "a b"]),
    st.lists(st.sampled_from(SEGMENT_TOKENS), min_size=1, max_size=3).map("".join),
).filter(lambda s: s not in (".", "..", ".git", ".gitignore"))
path_entry = st.tuples(st.lists(segment, min_size=1, max_size=4).map("/".join), st.booleans())


def _dirs_bias(paths: list[tuple[str, bool]], dirs: list[str]) -> list[tuple[str, bool]]:
    # Give nested .gitignore files something to judge: paths below them.
    extra = [(f"{d}/{p}", is_dir) for d in dirs if d for p, is_dir in paths[:3]]
    return paths + extra


@st.composite
def tree_example(draw: st.DrawFn) -> tuple[dict[str, bytes], list[tuple[str, bool]]]:
    dirs = draw(st.lists(st.sampled_from(GITIGNORE_DIRS), min_size=1, max_size=3, unique=True))
    files = {(f"{d}/.gitignore" if d else ".gitignore"): draw(gitignore_file()) for d in dirs}
    paths = _dirs_bias(draw(st.lists(path_entry, min_size=1, max_size=12)), dirs)
    return files, _settle_kinds(files, paths)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(example=tree_example())
def test_nested_gitignore_files_match_git(oracle: GitOracle, example: tuple[dict[str, bytes], list]) -> None:
    files, paths = example
    assert _ours(files, paths) == oracle.check(files, paths)


def _pathspec_verdicts(lines: bytes, paths: Sequence[tuple[str, bool]]) -> list[bool] | str:
    """pathspec's answers, or the error it raised (never propagated)."""
    try:
        from pathspec import GitIgnoreSpec

        text = lines.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
        # Lines as git splits them (LF, then one CR dropped), so only matching is compared.
        split = [line.removesuffix("\r") for line in text.split("\n")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = GitIgnoreSpec.from_lines(split)
            return [bool(spec.match_file(path + "/" if is_dir else path)) for path, is_dir in paths]
    except Exception as error:  # noqa: BLE001 - pathspec's failures are data here
        return f"{type(error).__name__}: {error}"


def test_root_gitignore_matches_git_and_pathspec_is_recorded(
    oracle: GitOracle, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = 0
    # Keyed by case, since hypothesis replays examples while it explores.
    disagreements: dict[tuple[bytes, str, bool], tuple[bool, bool]] = {}
    errors: dict[bytes, str] = {}

    @settings(max_examples=300, deadline=None)
    @given(data=gitignore_file(), raw_paths=st.lists(path_entry, min_size=1, max_size=16))
    def run(data: bytes, raw_paths: list[tuple[str, bool]]) -> None:
        nonlocal examples
        files = {ROOT: data}
        paths = _settle_kinds(files, raw_paths)
        git = oracle.check(files, paths)
        assert _ours(files, paths) == git
        examples += 1
        theirs = _pathspec_verdicts(data, paths)
        if isinstance(theirs, str):
            errors[data] = theirs
            return
        for (path, is_dir), verdict, other in zip(paths, git, theirs, strict=True):
            ignored = verdict is not None and not verdict[2]
            if other != ignored:
                disagreements[(data, path, is_dir)] = (ignored, other)

    run()
    report = [
        f"pathspec.GitIgnoreSpec vs git check-ignore: {len(disagreements)} disagreeing cases"
        f" and {len(errors)} .gitignore files pathspec refused, over {examples} generated examples"
        " (smallest first)"
    ]
    for (data, path, is_dir), (ignored, other) in sorted(disagreements.items(), key=lambda i: len(i[0][0]))[:10]:
        report.append(f"  .gitignore={data!r} path={path!r} dir={is_dir}: git ignored={ignored}, pathspec={other}")
    for data, error in sorted(errors.items(), key=lambda i: len(i[0]))[:4]:
        report.append(f"  .gitignore={data!r}: pathspec raised {error}")
    # The hand-written cases are git-verified above; they make readable evidence.
    for feature, files, path, is_dir, ignored in CASES:
        if list(files) == [ROOT]:
            theirs = _pathspec_verdicts(files[ROOT], [(path, is_dir)])
            if theirs != [ignored]:
                report.append(f"  feature {feature!r}: {files[ROOT]!r} path={path!r}: git={ignored}, pathspec={theirs}")
    with capsys.disabled():
        print("\n" + "\n".join(report))


# -- hostile patterns: work stays linear in the text ---------------------------------
def _glob_of(raw: bytes) -> object | None:
    from guardian.ignore import Pattern

    compiled = Pattern(raw)
    return compiled._glob


glob_text = st.lists(st.sampled_from(["a", "b", "x", "/", ".", "ab", "\u00e9", "*", "[", "\\", " "]), max_size=14).map(
    lambda parts: _fs("".join(parts))
)


@settings(max_examples=600, deadline=None)
@given(line=pattern_line, texts=st.lists(glob_text, min_size=1, max_size=6))
def test_the_automaton_answers_as_the_regex_does(line: bytes, texts: list[bytes]) -> None:
    # The two ways a glob is matched must never disagree: the regex serves
    # short texts, the automaton long ones (or hostile patterns).
    for raw in (line, b"/" + line, line.lstrip(b"/") + b"/x"):
        glob = _glob_of(raw)
        if glob is None:
            continue
        for text in texts:
            regex_answer = glob._compile_regex().fullmatch(text) is not None  # type: ignore[attr-defined]
            assert glob._run(text, 0) == regex_answer, (raw, text)  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(example=tree_example())
def test_nested_gitignore_files_match_git_through_the_automaton(
    oracle: GitOracle, example: tuple[dict[str, bytes], list]
) -> None:
    import guardian.wildmatch

    files, paths = example
    with pytest.MonkeyPatch.context() as mp:
        # No text is short enough for the regex: every glob runs the automaton.
        mp.setattr(guardian.wildmatch, "_regex_limit", lambda runs, fixed: -1)
        ours = _ours(files, paths)
    assert ours == oracle.check(files, paths)


def _seconds(action: object, repeat: int = 3) -> float:
    import time

    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


HOSTILE_GITIGNORES = {
    # Backtracking regexes: n**11 steps for a name of n "a"s. git answers
    # this one in milliseconds: its wildmatch gives up early on basenames.
    "stars": (b"*a*a*a*a*a*a*a*a*a*a*b\n", 200),
    # git itself runs for minutes on these two with names of 200 "a"s (its
    # wildmatch backtracks over "/"), so it is asked about shorter ones.
    "anchored stars": (b"/**/a*a*a*a*a*a*a*a*a*b/**\n", 12),
    "dirs": (b"**/" * 50 + b"a*a*a*a*a*b\n", 12),
    # "[:" without ":]": each one used to scan to the same far "]".
    "brackets": (b"[" + b"[:a" * 20000 + b"]\n", 200),
}


@pytest.mark.parametrize("name", list(HOSTILE_GITIGNORES))
def test_a_hostile_gitignore_is_answered_like_git_and_in_linear_time(oracle: GitOracle, name: str) -> None:
    data, length = HOSTILE_GITIGNORES[name]
    files = {ROOT: data}
    name_ = "a" * length
    paths = [(f"{name_}/x", False), (f"{name_}/{name_}b", False), (f"{name_}", True), (f"x/{name_}", True)]
    assert _ours(files, paths) == oracle.check(files, paths)
    # Ten times the text, about ten times the work (a generous bound: a
    # backtracking matcher goes from seconds to forever here).
    short, long = "a" * 200, "a" * 2000
    one = _seconds(lambda: IgnoreTree(files).is_ignored(f"{short}/{short}b", True))
    ten = _seconds(lambda: IgnoreTree(files).is_ignored(f"{long}/{long}b", True))
    assert ten < max(one, 0.002) * 60, (one, ten)


def test_a_directory_nested_thousands_deep_is_judged(oracle: GitOracle) -> None:
    deep = "/".join(["d"] * 3000)
    files = {ROOT: b"d/d/d/x/\n*.zip\n!keep.zip\n"}
    tree = IgnoreTree(files)
    assert tree.is_ignored(f"{deep}/a.zip") is True
    assert tree.is_ignored(f"{deep}/keep.zip") is False
    assert tree.is_ignored("d/d/d/x/deep/file") is True


def test_the_app_sized_gitignore_of_the_report_is_fast_in_a_real_check(tmp_path: Path) -> None:
    # The reported case end to end: a root .gitignore made to backtrack, and
    # a directory of 200 "a"s holding its own .gitignore.
    from tests.conftest import Repo

    repo = Repo(tmp_path / "r")
    repo.write(".gitignore", "*a*a*a*a*a*a*a*a*a*a*b\n")
    repo.write("a" * 200 + "/.gitignore", "x\n")
    repo.commit("hostile")
    proc = subprocess.run(
        [sys.executable, "-m", "guardian", "check", "--all-files", "--select", "gitignore-required"],
        cwd=repo.path,
        capture_output=True,
        timeout=120,  # a hang detector: it used to run for minutes
    )
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert "required patterns are not ignored at the repository root" in out and "`*.zip`" in out
