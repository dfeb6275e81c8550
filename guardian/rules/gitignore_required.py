"""gitignore-required: the .gitignore files ignore the required patterns everywhere.

The question is git's own: would a file of that pattern be ignored, given all
the committed ``.gitignore`` files, negations and ignored parent directories
included? It is answered by :class:`guardian.ignore.IgnoreTree` for a probe
file derived from each pattern (see :func:`probe_name`), placed

- at the repository root,
- in a directory that does not exist yet (``guardian-probe-dir/sub/``),
- in every directory that holds a ``.gitignore``,
- in the directory each anchored ``!`` pattern names (``!fixtures/*.zip``
  probes ``fixtures/``), since only such a negation can make one directory
  differ from the rest.

A pattern with a slash other than a trailing one (``/build/``,
``docs/_build/``) is anchored to the root and probed there only; a leading
``**/`` does not anchor.
"""

from __future__ import annotations

from guardian.rules.base import Option, Rule, parse_str_list

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    from guardian.ignore import PathMatcher, Pattern
    from guardian.model import FileEntry, Finding, Snapshot

GITIGNORE = ".gitignore"
#: A directory no repository has: where "new subdirectories" are probed.
FRESH_DIR = "guardian-probe-dir/sub"
PROBE_STEM = "guardian-probe"
FIX_COMMENT = b"# Required by guardian (gitignore-required)"


def probe_name(pattern: str) -> str | None:
    """The file (or, for a trailing ``/``, directory) name probed for ``pattern``.

    ``*.tar.gz`` -> ``guardian-probe.tar.gz``: the first ``*`` of a segment
    becomes ``guardian-probe`` and later ones nothing; a name without ``*``
    (``Thumbs.db``) is probed as itself; ``?`` and brackets become the first
    of ``x``, ``a-z``, ``0-9``, ``A-Z`` they accept (``*.py[cod]`` ->
    ``guardian-probe.pyc``); ``**/`` stands for no directory. For an anchored
    pattern the result is a root-relative path. None when the pattern matches
    nothing that way (an unclosed ``[``, a lone ``/``).
    """
    from guardian.ignore import example_path

    return example_path(pattern, PROBE_STEM)


def _floating(pattern: str) -> bool:
    """True when the pattern matches its name in any directory (no anchoring slash)."""
    body = pattern.rstrip(" ").removesuffix("/").removeprefix("/")
    while True:
        stars = len(body) - len(body.lstrip("*"))
        if stars >= 2 and body[stars : stars + 1] == "/":
            body = body[stars + 1 :]
        else:
            break
    return "/" not in body


def _pattern_problem(pattern: str) -> str | None:
    stripped = pattern.strip()
    if not stripped:
        return "is empty"
    if stripped.startswith("#"):
        return "starts with '#', which makes it a comment in .gitignore (write \\# for a literal '#')"
    if stripped.startswith("!"):
        return "is a negation; list the patterns that must be ignored"
    if probe_name(pattern) is None:
        return "matches no file name (check its brackets and escapes)"
    return None


def parse_patterns(value: object) -> list[str]:
    patterns = parse_str_list(value)
    for pattern in patterns:
        problem = _pattern_problem(pattern)
        if problem:
            raise ValueError(f"pattern {pattern!r} {problem}")
    return patterns


#: Entries a memo holds before it starts afresh.
_MEMO_LIMIT = 100_000
_FIX_TAIL = "; add it to the root .gitignore (`guardian fix` does)"
#: How a pattern missing only at the root ends its message (text reports join them).
_ROOT_TAIL = " is not ignored at the repository root" + _FIX_TAIL
#: Pattern tests one survey may make (a probe tests the patterns above it).
_PROBE_BUDGET = 5_000_000


def _is_gitignore(path: str) -> bool:
    return path == GITIGNORE or path.endswith("/" + GITIGNORE)


def _newline(data: bytes) -> bytes:
    first = data.find(b"\n")
    return b"\r\n" if first > 0 and data[first - 1 : first] == b"\r" else b"\n"


def _append(data: bytes, patterns: Sequence[str]) -> bytes:
    """``data`` (a root .gitignore, maybe empty) with ``patterns`` appended."""
    newline = _newline(data)
    if data and not data.endswith(b"\n"):
        data += newline
    lines = [FIX_COMMENT, *(p.encode("utf-8", "surrogateescape") for p in patterns)]
    return data + newline.join(lines) + newline


class _Gap:
    """A required pattern that some probe shows is not ignored."""

    __slots__ = ("decided_by", "fixable", "others", "pattern", "present", "where")

    def __init__(
        self, pattern: str, where: str, others: int, decided_by: Pattern | None, fixable: bool, present: bool
    ) -> None:
        self.pattern = pattern
        self.where = where
        self.others = others
        self.decided_by = decided_by
        self.fixable = fixable
        self.present = present


class _Root:
    """What is known of the root .gitignore: its bytes, whether a fix may
    rewrite it, and how many directories the survey could not afford to probe."""

    __slots__ = ("data", "unprobed", "why_not", "writable")

    def __init__(self, data: bytes, writable: bool, why_not: str = "") -> None:
        self.data = data
        self.writable = writable
        self.why_not = why_not
        self.unprobed = 0


def _show(text: str) -> str:
    """Text from a file or a path, safe for a one-line message (no control
    characters, no lone surrogates from non-UTF-8 bytes)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in text)


def _where(directory: str) -> str:
    if not directory:
        return "at the repository root"
    if directory == FRESH_DIR:
        return f"in new subdirectories (probed as `{FRESH_DIR}/`)"
    return f"in `{_show(directory)}/`"


class GitignoreRequired(Rule):
    id = "gitignore-required"
    summary = "The .gitignore files ignore the required patterns in every directory, and no such file is tracked."
    scope = "repo"
    options = (
        Option(
            "patterns",
            parse_patterns,
            [],
            'gitignore patterns every directory of the repository must ignore, e.g. ["*.sqlite", "*.zip"]',
            "list of str",
        ),
    )
    docs = """\
## What it does
Asks git's own question for each required pattern: would the repository's
committed `.gitignore` files (every level, negations and ignored parent
directories included) ignore a file of that pattern? It probes a file named
after the pattern (`*.tar.gz` -> `guardian-probe.tar.gz`, `Thumbs.db` as
itself) at the root, in a new subdirectory, in every directory holding a
`.gitignore` and in directories that a `!` pattern names, and reports each
pattern that is not ignored somewhere, saying where and which line
re-includes it. It also reports every tracked file that a required pattern
matches, since `.gitignore` does nothing for files already in the index.
`guardian fix` appends the missing patterns to the root `.gitignore`.

## Why is this bad?
What `.gitignore` does not ignore ends up committed sooner or later: a local
SQLite database, a `.bak` copy, a 300 MB solver result, a wheel. Once in the
history it is in every clone for good, and may carry data that was never
meant to leave the machine. A negation in a nested `.gitignore` (`!*.zip`)
quietly undoes the root file for a whole subtree.

## Example
```gitignore
# .gitignore
*.bak
*.zip
# data/.gitignore
!*.zip
```
with `db/cache.sqlite` committed:
```console
.gitignore: gitignore-required `*.sqlite` is not ignored at the repository root;
    add it to the root .gitignore (`guardian fix` does)
.gitignore: gitignore-required `*.zip` is not ignored in `data/`: `!*.zip`
    (data/.gitignore line 2) re-includes it; remove or narrow that negation, which
    no root .gitignore entry can override
db/cache.sqlite: gitignore-required tracked file matches required ignore
    pattern `*.sqlite`; remove it from the index with `git rm --cached -- db/cache.sqlite`
    (the working copy stays) and commit
```

## Use instead
```gitignore
# .gitignore
*.bak
*.zip
*.sqlite
```
with the negation gone from `data/.gitignore` and the database taken out of
the index (`git rm --cached db/cache.sqlite`, then commit): `.gitignore` does
nothing for a file that is already tracked.

## Options
- `patterns` (list of str, default `[]`): gitignore patterns every directory
  must ignore. A pattern with a slash other than a trailing one (`/build/`,
  `docs/_build/`) is checked at the root only. The shipped policy requires
  `*.bak *.backup *.sqlite *.sqlite3 *.whl *.tar.gz *.zip` and the solver
  files `*.sim *.prt *.fem *.bdf *.op2 *.f06 *.frd`.
- `exclude` (list of gitignore patterns, default `[]`): tracked files not
  reported, and directories not probed.
"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Pure memos, for a history scan that judges thousands of ref tips
        # with this one instance: what a tracked path matches, and the
        # survey of each distinct set of .gitignore files.
        self._tracked_memo: dict[str, Finding | None] = {}
        self._survey_memo: dict[tuple[object, ...], tuple[list[_Gap], _Root]] = {}

    def _patterns(self) -> list[str]:
        raw = self.settings.get("patterns") or []
        seen: set[str] = set()
        wanted = []
        for pattern in raw if isinstance(raw, list) else []:
            if isinstance(pattern, str) and pattern not in seen and _pattern_problem(pattern) is None:
                seen.add(pattern)
                wanted.append(pattern)
        return wanted

    # -- survey ---------------------------------------------------------------
    def _survey(self, snapshot: Snapshot, patterns: Sequence[str]) -> tuple[list[_Gap], _Root]:
        entries = [e for e in snapshot.tree() if _is_gitignore(e.path)]
        contents: dict[str, bytes] = {}
        readable = [e for e in entries if e.is_regular]
        if readable:
            for entry, data in snapshot.read_many(readable):
                if data is not None:
                    contents[entry.path] = data
        key = (tuple(patterns), *((e.path, e.mode, contents.get(e.path)) for e in entries))
        known = self._survey_memo.get(key)
        if known is None:
            known = self._survey_files(entries, contents, patterns)
            if len(self._survey_memo) >= _MEMO_LIMIT:
                self._survey_memo.clear()
            self._survey_memo[key] = known
        return known

    def _survey_files(
        self, entries: Sequence[FileEntry], contents: dict[str, bytes], patterns: Sequence[str]
    ) -> tuple[list[_Gap], _Root]:
        from guardian.ignore import IgnoreTree, parse_lines

        root_entry = next((e for e in entries if e.path == GITIGNORE), None)
        if root_entry is None:
            root = _Root(b"", True)
        elif not root_entry.is_regular:
            # git does not read a symlinked .gitignore, and a fix must not write through it.
            root = _Root(b"", False, "the root .gitignore is a symbolic link, which git does not read")
        elif GITIGNORE not in contents:
            root = _Root(b"", False, "the root .gitignore could not be read")
        else:
            root = _Root(contents[GITIGNORE], True)
        tree = IgnoreTree(contents)
        present = {raw for _n, raw in parse_lines(root.data)}
        dirs = self._probe_dirs(contents)
        # Every probe consults the patterns of the .gitignore files above it,
        # and negations name more directories to probe: thousands of them
        # could make the survey quadratic in the files' size. Past the
        # budget the remaining directories are not probed, and a finding
        # says so (the check fails closed rather than pass unchecked).
        # Per directory: its own state, the probe in it, the probe once fixed.
        budget = _PROBE_BUDGET // (3 * max(1, len(patterns)))
        affordable = 0
        for directory in dirs:
            budget -= tree.patterns_above(directory) + 1
            if budget < 0 and affordable >= 2:
                break
            affordable += 1
        root.unprobed = len(dirs) - affordable
        dirs = dirs[:affordable]

        gaps: list[_Gap] = []
        for pattern in patterns:
            name = probe_name(pattern)
            if name is None:
                continue
            is_dir = pattern.rstrip(" ").endswith("/")
            probes = [(d, f"{d}/{name}" if d else name) for d in dirs] if _floating(pattern) else [("", name)]
            probes = [(d, p) for d, p in probes if not self.is_excluded(p)]
            failing = [(d, p) for d, p in probes if not tree.is_ignored(p, is_dir)]
            if not failing:
                continue
            directory, path = failing[0]
            decided_by = tree.explain(path, is_dir)
            is_present = any(raw in present for _n, raw in parse_lines(pattern.encode("utf-8", "surrogateescape")))
            fixable = False
            if root.writable and not is_present:
                fixed = IgnoreTree({**contents, GITIGNORE: _append(root.data, [pattern])})
                fixable = all(fixed.is_ignored(p, is_dir) for _d, p in failing)
            gaps.append(_Gap(pattern, _where(directory), len(failing) - 1, decided_by, fixable, is_present))
        return gaps, root

    def _probe_dirs(self, contents: dict[str, bytes]) -> list[str]:
        from guardian.ignore import PatternList, example_path

        dirs = ["", FRESH_DIR]
        holders = sorted(path[: -len(GITIGNORE)].rstrip("/") for path in contents)
        named: set[str] = set()
        for path in contents:
            base = path[: -len(GITIGNORE)].rstrip("/")
            for pattern in PatternList.from_bytes(contents[path], base).patterns:
                if not pattern.negative:
                    continue
                body = pattern.text[1:]
                # The directory an anchored negation names, and a re-included directory itself.
                candidates = [body.rstrip("/").rpartition("/")[0]] if pattern.anchored else []
                if pattern.dir_only:
                    candidates.append(body)
                for candidate in candidates:
                    where = example_path(candidate, PROBE_STEM) if candidate.strip("/") else None
                    if where is not None:
                        named.add(f"{base}/{where}" if base else where)
        # Root, new subdirectories, holders, named: in that order, each once.
        return list(dict.fromkeys([*dirs, *holders, *sorted(named)]))

    # -- rule API -------------------------------------------------------------
    def check_repo(self, snapshot: Snapshot) -> Iterable[Finding]:
        patterns = self._patterns()
        if not patterns:
            return []
        gaps, root = self._survey(snapshot, patterns)
        findings = [self._gap_finding(gap, root) for gap in gaps]
        if root.unprobed:
            findings.append(
                self.finding(
                    GITIGNORE,
                    f"{root.unprobed} directories that .gitignore files name or hold were not probed: the files hold "
                    f"more patterns and negations than one check may test ({_PROBE_BUDGET:,} pattern tests); "
                    "merge or remove negations so that every directory can be checked",
                )
            )
        findings.extend(self._tracked(snapshot, patterns))
        return findings

    @classmethod
    def combined(cls, messages: list[str]) -> list[str]:
        """Every pattern missing at the root, in one line."""
        missing = [m for m in messages if m.endswith(_ROOT_TAIL) and m.startswith("`")]
        if len(missing) < 2:
            return messages
        patterns = [m[: -len(_ROOT_TAIL)] for m in missing]
        line = f"{len(patterns)} required patterns are not ignored at the repository root: {', '.join(patterns)}; "
        line += "add them to the root .gitignore (`guardian fix` does)"
        rest = [m for m in messages if m not in missing]
        return [line, *rest]

    def made_by(self, finding: Finding, change: Snapshot, before: Callable[[], Snapshot | None]) -> bool:
        """A tracked file that matches a required pattern is the change's when
        the change holds it; a pattern not ignored is the change's only when
        the change edits a .gitignore and the gap was not there before."""
        if finding.path != GITIGNORE or finding.line:
            return True
        if not any(_is_gitignore(e.path) for e in change.files):
            return False
        base = before()
        if base is None:
            return True
        gaps, root = self._survey(base, self._patterns())
        return finding.message not in {self._gap_finding(gap, root).message for gap in gaps}

    def _gap_finding(self, gap: _Gap, root: _Root) -> Finding:
        head = f"`{_show(gap.pattern)}` is not ignored {gap.where}"
        if gap.others and gap.where != _where(""):
            head += f" (and {gap.others} more place{'s' if gap.others > 1 else ''} probed)"
        negation = gap.decided_by if gap.decided_by is not None and gap.decided_by.negative else None
        if negation is not None:
            source = negation.source or GITIGNORE
            head += f": `{_show(negation.text)}` ({_show(source)} line {negation.line}) re-includes it"
        if gap.fixable:
            tail = _FIX_TAIL
        elif negation is not None:
            tail = "; remove or narrow that negation"
            if negation.source != GITIGNORE:
                tail += ", which no root .gitignore entry can override"
        elif not root.writable:
            tail = f"; {root.why_not}, so add `{_show(gap.pattern)}` to a .gitignore git reads"
        elif gap.present:
            tail = "; the root .gitignore already lists it, so a deeper .gitignore or a later line overrides it"
        else:
            tail = f"; add `{_show(gap.pattern)}` to the .gitignore of that directory"
        return self.finding(GITIGNORE, head + tail, line=0, fixable=gap.fixable)

    def _tracked(self, snapshot: Snapshot, patterns: Sequence[str]) -> list[Finding]:
        from guardian.ignore import PathMatcher

        matcher: PathMatcher | None = None
        memo = self._tracked_memo
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        findings: list[Finding] = []
        # The files under check, not the whole tree: a hook judges what is
        # being committed, and a whole-tree check has every file under check.
        for entry in snapshot.files:
            if entry.is_submodule:
                continue
            path = entry.path
            if path in memo:
                known = memo[path]
                if known is not None:
                    findings.append(known)
                continue
            if matcher is None:
                matcher = PathMatcher(patterns)
            found = matcher.matching_pattern(path)
            if found is None or self.is_excluded(path):
                memo[path] = None
                continue
            import shlex

            command = "git rm --cached"
            if path.isprintable():
                command += f" -- {shlex.quote(path)}"
            memo[path] = finding = self.finding(
                path,
                f"tracked file matches required ignore pattern `{_show(found.text)}`; remove it from the index "
                f"with `{command}` (the working copy stays) and commit",
            )
            findings.append(finding)
        return findings

    def fix_repo(self, snapshot: Snapshot) -> dict[str, bytes]:
        patterns = self._patterns()
        if not patterns:
            return {}
        gaps, root = self._survey(snapshot, patterns)
        missing = [gap.pattern for gap in gaps if gap.fixable]
        if not missing or not root.writable:
            return {}
        return {GITIGNORE: _append(root.data, missing)}


RULE = GitignoreRequired
