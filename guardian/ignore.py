"""git's ignore-pattern semantics, byte for byte.

One implementation serves two places: the ``exclude`` patterns of each rule in
the configuration and the ``gitignore-required`` rule, which asks whether a
repository's ``.gitignore`` files would ignore a file. The answers follow
git's own code (``dir.c`` and ``wildmatch.c``), not its documentation, so they
agree with ``git check-ignore --no-index`` on the corner cases too:

- a line is read the way git reads it: a UTF-8 BOM at the start of the file is
  skipped, a CR before the LF is dropped, blank lines and lines starting with
  ``#`` are skipped, trailing spaces go unless backslash-escaped, and a NUL
  byte ends the line;
- a pattern without a slash (a trailing one aside) matches the base name at
  any depth; any other slash anchors it to the directory of its file;
- matching is done on bytes, so ``?`` and brackets see UTF-8 bytes as git
  does, and non-UTF-8 file names or patterns never raise;
- the last matching pattern of a file wins, a deeper ``.gitignore`` beats a
  shallower one, and nothing below an ignored directory can be re-included.

Paths are repository-relative with ``/`` separators; matching is
case-sensitive (``core.ignoreCase`` off, as on Linux).
"""

from __future__ import annotations

from guardian.wildmatch import Glob, parse_bracket, translate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = ["IgnoreTree", "PathMatcher", "Pattern", "PatternList", "example_path", "parse_lines"]

_SLASH = 0x2F
_BACKSLASH = 0x5C
_STAR = 0x2A
_QUESTION = 0x3F
_LBRACKET = 0x5B
_SPACE = 0x20
_HASH = 0x23
_GLOB_SPECIAL = frozenset(b"*?[\\")
_BOM = b"\xef\xbb\xbf"


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _trim_trailing_spaces(line: bytes) -> bytes:
    """Drop trailing spaces unless the first of them is escaped by a backslash."""
    if not line.endswith(b" "):
        return line
    last_space = -1
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == _SPACE:
            if last_space < 0:
                last_space = i
        elif c == _BACKSLASH:
            i += 1
            if i >= n:
                return line
            last_space = -1
        else:
            last_space = -1
        i += 1
    return line[:last_space] if last_space >= 0 else line


def parse_lines(data: bytes) -> list[tuple[int, bytes]]:
    """The pattern lines of a gitignore-syntax file as ``(line number, pattern)``.

    Follows git's reader: the line number counts every line (comments and
    blank lines included) from 1; the pattern is the line after CR, NUL and
    trailing-space handling, and may be empty (it then matches nothing).
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    result: list[tuple[int, bytes]] = []
    if not data:
        return result
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw or raw[0] == _HASH:
            continue
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        nul = raw.find(b"\0")
        if nul >= 0:
            raw = raw[:nul]
        result.append((number, _trim_trailing_spaces(raw)))
    return result


def _simple_length(pat: bytes) -> int:
    for i, c in enumerate(pat):
        if c in _GLOB_SPECIAL:
            return i
    return len(pat)


def _star_suffix(body: bytes) -> tuple[frozenset[int], ...] | None:
    """For ``*`` followed only by plain bytes and brackets listing plain
    bytes (``*.[pP][sS]1``), the set of bytes allowed at each position of
    what follows the star; None for any other pattern."""
    if body[:1] != b"*":
        return None
    sets: list[frozenset[int]] = []
    i, n = 1, len(body)
    while i < n:
        c = body[i : i + 1]
        if c == b"[":
            close = body.find(b"]", i + 1)
            inner = body[i + 1 : close]
            if close == -1 or not inner.isalnum():
                return None
            sets.append(frozenset(inner))
            i = close + 1
        elif c.isalnum() or c in b"._-":
            sets.append(frozenset(c))
            i += 1
        else:
            return None
    return tuple(sets) if sets else None


class Pattern:
    """One pattern line, compiled once.

    ``text`` is the pattern as written (``!`` and trailing ``/`` included,
    trailing spaces trimmed); ``source`` the file it came from (``""`` when it
    was given as a string); ``line`` its 1-based line number there (or its
    1-based position in the list); ``base`` the directory it is relative to.
    """

    __slots__ = (
        "_base",
        "_glob",
        "_literal",
        "_never",
        "_suffix",
        "_suffix_sets",
        "anchored",
        "base",
        "dir_only",
        "line",
        "negative",
        "source",
        "text",
    )

    def __init__(self, raw: bytes, base: str = "", *, source: str = "", line: int = 0) -> None:
        self.text = _decode(raw)
        self.source = source
        self.line = line
        self.base = base
        self._base = _encode(base)
        body = raw
        self.negative = body[:1] == b"!"
        if self.negative:
            body = body[1:]
        self.dir_only = body.endswith(b"/")
        if self.dir_only:
            body = body[:-1]
        #: Has a slash (not counting a trailing one): matched against the path
        #: below ``base`` rather than against the base name.
        self.anchored = b"/" in body
        prefix = min(_simple_length(raw[1:] if self.negative else raw), len(body))
        self._literal: bytes | None = None
        self._suffix: bytes | None = None
        #: What is left after the literal prefix (most paths are decided by
        #: that prefix, or by ``_suffix_sets``, before it is needed).
        self._glob: Glob | None = None
        #: ``*`` then literal bytes and one-of brackets (``*.[bB][aA][tT]``):
        #: the allowed bytes at each of the base name's last positions.
        self._suffix_sets: tuple[frozenset[int], ...] | None = None
        self._never = False
        if self.anchored:
            if body.startswith(b"/"):
                body = body[1:]
                prefix -= 1
            # git compares the literal prefix itself and hands only the rest
            # to wildmatch, which matters for where "**" counts as bounded.
            self._literal = body[:prefix]
            rest = body[prefix:]
            if rest:
                tokens = translate(rest, pathname=True)
                if tokens is None:
                    self._never = True
                else:
                    self._glob = Glob(tokens)
        elif prefix == len(body):
            self._literal = body
        elif body[:1] == b"*" and _simple_length(body[1:]) == len(body) - 1:
            self._suffix = body[1:]
        else:
            tokens = translate(body, pathname=False)
            if tokens is None:
                self._never = True
            else:
                self._glob = Glob(tokens)
                self._suffix_sets = _star_suffix(body)

    def _is_quick(self) -> bool:
        """Matches every path whose base name ends with ``_suffix`` or equals ``_literal``."""
        return not (self.anchored or self.dir_only or self._never or self._glob is not None)

    def matches(self, path: bytes, basename: bytes, is_dir: bool) -> bool:
        """Whether the pattern matches (negation aside). ``path`` is repo-relative bytes."""
        if self._never or (self.dir_only and not is_dir):
            return False
        if not self.anchored:
            if self._suffix is not None:
                return basename.endswith(self._suffix)
            if self._suffix_sets is not None:
                sets = self._suffix_sets
                return len(basename) >= len(sets) and all(
                    byte in allowed for byte, allowed in zip(basename[len(basename) - len(sets) :], sets, strict=True)
                )
            if self._glob is not None:
                return self._glob.fullmatch(basename)
            return basename == self._literal
        base = self._base
        if base:
            if len(path) <= len(base) or path[len(base)] != _SLASH or not path.startswith(base):
                return False
            name = path[len(base) + 1 :]
        else:
            name = path
        literal = self._literal or b""
        if not name.startswith(literal):
            return False
        if self._glob is None:
            return len(name) == len(literal)
        return self._glob.fullmatch(name, len(literal))

    def __repr__(self) -> str:
        where = f"{self.source}:{self.line}" if self.source else f"#{self.line}"
        return f"Pattern({self.text!r}, {where})"


class PatternList:
    """The patterns of one gitignore-syntax file, relative to its directory.

    ``lines`` are the file's lines or plain pattern strings; each is read as
    git reads a line (comments, blank lines and trailing spaces included).
    ``base`` is the repo-relative directory the file lives in (``""`` for the
    root). Use :meth:`from_bytes` for a file's raw content.
    """

    __slots__ = ("_others", "_quick_names", "_quick_suffixes", "base", "patterns", "source")

    def __init__(self, lines: Iterable[str] = (), base: str = "", *, source: str = "") -> None:
        self.base = base.strip("/")
        self.source = source
        self._load(parse_lines(b"\n".join(_encode(line) for line in lines)))

    @classmethod
    def from_bytes(cls, data: bytes, base: str = "", *, source: str = "") -> PatternList:
        self = cls((), base, source=source)
        self._load(parse_lines(data))
        return self

    def _load(self, lines: list[tuple[int, bytes]]) -> None:
        self.patterns = [Pattern(raw, self.base, source=self.source, line=number) for number, raw in lines if raw]
        # Without negations the last match is simply any match, so the usual
        # "*.ext" and "name" patterns can be tested in one C call per path.
        self._others: list[Pattern] | None = None
        self._quick_suffixes: tuple[bytes, ...] = ()
        self._quick_names: frozenset[bytes] = frozenset()
        if not any(p.negative for p in self.patterns):
            quick = [p for p in self.patterns if p._is_quick()]
            self._others = [p for p in self.patterns if not p._is_quick()]
            self._quick_suffixes = tuple(p._suffix for p in quick if p._suffix is not None)
            self._quick_names = frozenset(p._literal for p in quick if p._literal is not None)

    def __len__(self) -> int:
        return len(self.patterns)

    def cost(self) -> int:
        """Patterns ``last_match`` may test one by one for a path."""
        return len(self.patterns if self._others is None else self._others)

    def last_match(self, path: bytes, basename: bytes, is_dir: bool) -> Pattern | None:
        """The last pattern matching the path (negative ones included), or None."""
        candidates = self.patterns
        others = self._others
        if others is not None and not (basename.endswith(self._quick_suffixes) or basename in self._quick_names):
            candidates = others
        for pattern in reversed(candidates):
            if pattern.matches(path, basename, is_dir):
                return pattern
        return None

    def match_pattern(self, path: str, is_dir: bool = False) -> Pattern | None:
        """Like :meth:`match`, but the deciding pattern itself."""
        raw = _encode(path.strip("/"))
        base = _encode(self.base)
        if base and not (raw.startswith(base) and raw[len(base) : len(base) + 1] == b"/"):
            return None
        return self.last_match(raw, raw.rpartition(b"/")[2], is_dir)

    def match(self, path: str, is_dir: bool) -> bool | None:
        """None: no pattern matches; True: ignored; False: re-included by ``!``.

        Only ``path`` itself is judged, not its parent directories (see
        :class:`PathMatcher` and :class:`IgnoreTree` for that). Paths outside
        ``base`` are never matched.
        """
        found = self.match_pattern(path, is_dir)
        return None if found is None else not found.negative


class _DirState:
    __slots__ = ("excluded_by", "lists")

    def __init__(self, excluded_by: Pattern | None, lists: tuple[PatternList, ...]) -> None:
        self.excluded_by = excluded_by
        self.lists = lists


class IgnoreTree:
    """Every ``.gitignore`` of a tree, answering as ``git check-ignore --no-index``.

    ``gitignore_files`` maps repo-relative paths of ``.gitignore`` files
    (``".gitignore"``, ``"sub/.gitignore"``...) to their bytes; other keys are
    ignored. No ``.git/info/exclude`` and no ``core.excludesFile`` take part.
    Directory verdicts are cached, so asking about many paths is cheap.
    """

    __slots__ = ("_dirs", "_lists")

    def __init__(self, gitignore_files: Mapping[str, bytes]) -> None:
        lists: dict[bytes, PatternList] = {}
        for name, data in gitignore_files.items():
            if name == ".gitignore":
                base = ""
            elif name.endswith("/.gitignore"):
                base = name[: -len("/.gitignore")]
            else:
                continue
            plist = PatternList.from_bytes(data, base, source=name)
            if plist.patterns:
                lists[_encode(base)] = plist
        self._init(lists)

    def _init(self, lists: dict[bytes, PatternList]) -> None:
        self._lists = lists
        root = lists.get(b"")
        self._dirs: dict[bytes, _DirState] = {b"": _DirState(None, (root,) if root else ())}

    @classmethod
    def _from_lists(cls, lists: dict[bytes, PatternList]) -> IgnoreTree:
        self = cls.__new__(cls)
        self._init(lists)
        return self

    def _dir_state(self, directory: bytes) -> _DirState:
        state = self._dirs.get(directory)
        if state is not None:
            return state
        # The nearest known ancestor, then down one directory at a time: a
        # loop, not a recursion, since a tree may nest thousands deep.
        pending = [directory]
        parent = directory.rpartition(b"/")[0]
        while parent not in self._dirs:
            pending.append(parent)
            parent = parent.rpartition(b"/")[0]
        above = self._dirs[parent]
        for current in reversed(pending):
            name = current.rpartition(b"/")[2]
            if above.excluded_by is None:
                # A directory is judged by the files above it, never by its own.
                found = _last_match(above.lists, current, name, True)
                if found is not None and not found.negative:
                    above = _DirState(found, above.lists)
                else:
                    own = self._lists.get(current)
                    above = _DirState(None, (*above.lists, own) if own else above.lists)
            self._dirs[current] = above
        return above

    def patterns_above(self, directory: str) -> int:
        """How many patterns a file in ``directory`` may be tested against one
        by one: those of every .gitignore from the root down to it, less the
        plain names and suffixes a list tests at once (a measure of work)."""
        raw = _encode(directory.strip("/"))
        root = self._lists.get(b"")
        count = root.cost() if root is not None else 0
        at = raw.find(b"/")
        while raw:
            found = self._lists.get(raw if at == -1 else raw[:at])
            if found is not None:
                count += found.cost()
            if at == -1:
                break
            at = raw.find(b"/", at + 1)
        return count

    def explain(self, path: str, is_dir: bool = False) -> Pattern | None:
        """The pattern deciding ``path``: what ``git check-ignore -v`` prints.

        A negative pattern means "not ignored, re-included"; None means no
        pattern matches. A trailing ``/`` on ``path`` means a directory.
        """
        raw = path.encode("utf-8", "surrogateescape")
        if raw.endswith(b"/") or raw.startswith(b"/"):
            is_dir = is_dir or raw.endswith(b"/")
            raw = raw.strip(b"/")
            if not raw:
                return None
        parent, _, name = raw.rpartition(b"/")
        state = self._dirs.get(parent) or self._dir_state(parent)
        if state.excluded_by is not None:
            return state.excluded_by
        for plist in reversed(state.lists):
            found = plist.last_match(raw, name, is_dir)
            if found is not None:
                return found
        return None

    def is_ignored(self, path: str, is_dir: bool = False) -> bool:
        found = self.explain(path, is_dir)
        return found is not None and not found.negative


def _last_match(lists: Sequence[PatternList], path: bytes, basename: bytes, is_dir: bool) -> Pattern | None:
    for plist in reversed(lists):
        found = plist.last_match(path, basename, is_dir)
        if found is not None:
            return found
    return None


#: Bytes tried, in order, to stand for ``?`` or a bracket expression.
_READABLE = b"xabcdefghijklmnopqrstuvwyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.~+=,@"


def example_path(pattern: str, filler: str = "x") -> str | None:
    """A short path that ``pattern`` matches when written in the root .gitignore.

    Built by reading the pattern left to right: the first run of stars in a
    segment becomes ``filler`` and later runs nothing; a ``**`` segment
    followed by more becomes nothing (zero directories) and a final one
    becomes ``filler``; ``?`` and brackets become the first byte they accept
    out of ``x``, ``a-z``, ``0-9``, ``A-Z`` and some punctuation; escapes
    become the escaped character; a leading ``!`` and the slashes that anchor
    or mark a directory are dropped. The result is checked against the
    pattern, so None means the pattern matches no path (for example an
    unclosed bracket) or none this construction finds.
    """
    lines = parse_lines(_encode(pattern))
    if len(lines) != 1 or not lines[0][1]:
        return None
    raw = lines[0][1]
    compiled = Pattern(raw)
    body = raw[1:] if compiled.negative else raw
    if compiled.dir_only:
        body = body[:-1]
    if body.startswith(b"/"):
        body = body[1:]
    fill = _encode(filler)
    out = bytearray()
    star_used = False
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == _BACKSLASH:
            if i + 1 >= n:
                return None
            out.append(body[i + 1])
            i += 2
        elif c == _SLASH:
            out.append(c)
            star_used = False
            i += 1
        elif c == _STAR:
            j = i
            while j < n and body[j] == _STAR:
                j += 1
            whole_segment = (i == 0 or body[i - 1] == _SLASH) and (j == n or body[j] == _SLASH)
            if j - i >= 2 and whole_segment and j < n:
                j += 1  # "**/" stands for no directory at all
            elif not star_used:
                out += fill
                star_used = True
            i = j
        elif c == _QUESTION:
            out.append(_READABLE[0])
            i += 1
        elif c == _LBRACKET:
            parsed = parse_bracket(body, i)
            if parsed is None:
                return None
            members, negated, i = parsed
            allowed = set(range(1, 256)) - members if negated else set(members)
            allowed.discard(_SLASH)
            if not allowed:
                return None
            out.append(next((b for b in _READABLE if b in allowed), min(allowed)))
        else:
            out.append(c)
            i += 1
    result = bytes(out).strip(b"/")
    if not result or not compiled.matches(result, result.rpartition(b"/")[2], compiled.dir_only):
        return None
    return _decode(result)


class PathMatcher:
    """Per-rule ``exclude`` patterns: one gitignore-style list at the root.

    ``matches(path)`` says whether a file is excluded, parent directories
    included: ``build/``, ``/tools`` or ``dashboard/assets/**`` exclude every
    file below them, and a ``!`` pattern cannot bring back a file whose
    directory is excluded.
    """

    __slots__ = ("_tree", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._tree: IgnoreTree | None = None
        if self.patterns:
            plist = PatternList(self.patterns)
            if plist.patterns:
                self._tree = IgnoreTree._from_lists({b"": plist})

    def matching_pattern(self, path: str) -> Pattern | None:
        """The pattern that excludes the file ``path`` (itself or a parent), or None."""
        if self._tree is None:
            return None
        found = self._tree.explain(path)
        return None if found is None or found.negative else found

    def matches(self, path: str) -> bool:
        return self._tree is not None and self.matching_pattern(path) is not None

    def __bool__(self) -> bool:
        return self._tree is not None

    def __repr__(self) -> str:
        return f"PathMatcher({list(self.patterns)!r})"
