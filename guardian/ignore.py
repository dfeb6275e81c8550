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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from re import Pattern as _Regex

__all__ = ["IgnoreTree", "PathMatcher", "Pattern", "PatternList", "example_path", "parse_lines"]

_SLASH = 0x2F
_BACKSLASH = 0x5C
_STAR = 0x2A
_QUESTION = 0x3F
_LBRACKET = 0x5B
_RBRACKET = 0x5D
_COLON = 0x3A
_DASH = 0x2D
_BANG = 0x21
_CARET = 0x5E
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


# -- character classes, as git's own ASCII-only ctype defines them --------------
def _class_bytes(name: bytes) -> frozenset[int] | None:
    upper = set(range(0x41, 0x5B))
    lower = set(range(0x61, 0x7B))
    digit = set(range(0x30, 0x3A))
    classes: dict[bytes, set[int]] = {
        b"alnum": upper | lower | digit,
        b"alpha": upper | lower,
        b"blank": {0x20, 0x09},
        b"cntrl": set(range(0x20)) | {0x7F},
        b"digit": digit,
        b"graph": set(range(0x21, 0x7F)),
        b"lower": lower,
        b"print": set(range(0x20, 0x7F)),
        b"punct": set(range(0x21, 0x7F)) - upper - lower - digit,
        # git's isspace: no vertical tab, no form feed.
        b"space": {0x09, 0x0A, 0x0D, 0x20},
        b"upper": upper,
        b"xdigit": digit | set(b"abcdefABCDEF"),
    }
    found = classes.get(name)
    return None if found is None else frozenset(found)


def _parse_bracket(pat: bytes, start: int) -> tuple[frozenset[int], bool, int] | None:
    """Parse the bracket expression at ``pat[start] == '['`` as wildmatch does.

    Returns (member bytes, negated, index after the closing bracket), or None
    when git would abort: no closing bracket, a trailing backslash, or an
    unknown ``[:class:]`` name. Such a pattern can never match.
    """
    n = len(pat)

    def at(k: int) -> int:
        return pat[k] if k < n else 0

    p = start + 1
    p_ch = at(p)
    if p_ch == _CARET:
        p_ch = _BANG
    negated = p_ch == _BANG
    if negated:
        p += 1
        p_ch = at(p)
    prev_ch = 0
    close = -1
    members: set[int] = set()
    while True:
        if not p_ch:
            return None
        if p_ch == _BACKSLASH:
            p += 1
            p_ch = at(p)
            if not p_ch:
                return None
            members.add(p_ch)
        elif p_ch == _DASH and prev_ch and at(p + 1) and at(p + 1) != _RBRACKET:
            p += 1
            p_ch = at(p)
            if p_ch == _BACKSLASH:
                p += 1
                p_ch = at(p)
                if not p_ch:
                    return None
            members.update(range(prev_ch, p_ch + 1))
            p_ch = 0
        elif p_ch == _LBRACKET and at(p + 1) == _COLON:
            p += 2
            s = p
            # The first "]" from here: remembered, because a pattern of many
            # "[:" with no ":]" would otherwise scan to the same "]" again
            # from each of them (git's own loop is quadratic there).
            if close < p:
                close = pat.find(b"]", p)
                if close == -1:
                    return None
            p = close
            p_ch = _RBRACKET
            length = p - s - 1
            if length < 0 or pat[p - 1] != _COLON:
                # No ":]": the '[' is an ordinary member and scanning resumes after it.
                p = s - 2
                p_ch = _LBRACKET
                members.add(_LBRACKET)
            else:
                found = _class_bytes(pat[s : s + length])
                if found is None:
                    return None
                members.update(found)
                p_ch = 0
        else:
            members.add(p_ch)
        prev_ch = p_ch
        p += 1
        p_ch = at(p)
        if p_ch == _RBRACKET:
            return frozenset(members), negated, p + 1


#: Token kinds of a translated glob: one byte out of a set; a run of any
#: length of bytes out of a set (``*``, ``**``); zero or more whole
#: directories (``**/`` where it is special).
_ONE, _RUN, _DIRS = 0, 1, 2
_ANY = frozenset(range(256))
_NOT_SLASH = _ANY - {_SLASH}
#: Backtracking steps a regex may take at worst before a match is left to
#: the automaton instead (see ``_Glob``).
_REGEX_BUDGET = 1 << 16


def _translate(pat: bytes, pathname: bool) -> list[tuple[int, frozenset[int]]] | None:
    """The tokens of ``wildmatch(pat, text, WM_PATHNAME if pathname)``.

    None when the pattern can never match (git aborts on it). With
    ``pathname``, ``*``, ``?`` and brackets stop at ``/``; a run of two or more
    stars is "anything, slashes included" only when it starts the pattern or
    follows a ``/`` and ends it or precedes a ``/`` (git checks the raw bytes,
    and "starts the pattern" means the text wildmatch is handed, which for an
    anchored pattern is what follows its literal prefix).
    """
    out: list[tuple[int, frozenset[int]]] = []
    i, n = 0, len(pat)
    one = _NOT_SLASH if pathname else _ANY
    while i < n:
        c = pat[i]
        if c == _BACKSLASH:
            if i + 1 >= n:
                return None
            out.append((_ONE, frozenset((pat[i + 1],))))
            i += 2
        elif c == _QUESTION:
            out.append((_ONE, one))
            i += 1
        elif c == _LBRACKET:
            parsed = _parse_bracket(pat, i)
            if parsed is None:
                return None
            members, negated, i = parsed
            chosen = _ANY - members - {0} if negated else members
            out.append((_ONE, chosen & _NOT_SLASH if pathname else chosen))
        elif c == _STAR:
            j = i
            while j < n and pat[j] == _STAR:
                j += 1
            if not pathname:
                token = (_RUN, _ANY)
            elif (
                j - i >= 2
                and (i == 0 or pat[i - 1] == _SLASH)
                and (j == n or pat[j] == _SLASH or pat[j : j + 2] == b"\\/")
            ):
                if j < n and pat[j] == _SLASH:
                    token = (_DIRS, _ANY)
                    j += 1
                else:
                    token = (_RUN, _ANY)
            else:
                token = (_RUN, _NOT_SLASH)
            # "**/**/" is "**/": the same language, and no chain of epsilons.
            if not (token[0] == _DIRS and out and out[-1][0] == _DIRS):
                out.append(token)
            i = j
        else:
            out.append((_ONE, frozenset((c,))))
            i += 1
    return out


def _byte_regex(members: frozenset[int]) -> bytes:
    """A regex (bytes) matching exactly one byte out of ``members``
    (``re.escape`` and character classes, without importing ``re``)."""
    if members == _ANY:
        return b"."
    if members == _NOT_SLASH:
        return b"[^/]"
    if len(members) == 1:
        (byte,) = members
        plain = 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A
        return bytes((byte,)) if plain else b"\\x%02x" % byte
    wanted = sorted(members)
    if not wanted:
        return b"(?!)"
    parts: list[bytes] = []
    i = 0
    while i < len(wanted):
        j = i
        while j + 1 < len(wanted) and wanted[j + 1] == wanted[j] + 1:
            j += 1
        lo, hi = wanted[i], wanted[j]
        parts.append(b"\\x%02x" % lo if lo == hi else b"\\x%02x-\\x%02x" % (lo, hi))
        i = j + 1
    return b"[" + b"".join(parts) + b"]"


class _Glob:
    """A translated glob that answers ``fullmatch`` in time linear in the text.

    Python's regular expressions backtrack: a glob with k stars can take
    about n**k steps on a text of n bytes that almost matches
    (``*a*a*a*a*a*a*b`` over a name of 200 ``a``s never finishes). The regex
    is used while its worst case stays within ``_REGEX_BUDGET`` steps, which
    covers every pattern with at most one star and ordinary paths for the
    rest; beyond that a bit-parallel automaton (one integer holds the set of
    pattern positions reached) reads each byte once, in O(pattern/64) word
    operations per byte.
    """

    __slots__ = (
        "_adv",
        "_dirs",
        "_final",
        "_loop_any",
        "_loop_not_slash",
        "_min",
        "_ones",
        "_regex",
        "_regex_limit",
        "_runs",
        "_source",
        "_tokens",
    )

    def __init__(self, tokens: list[tuple[int, frozenset[int]]]) -> None:
        self._tokens = tokens
        #: Bytes every match holds at least.
        self._min = sum(1 for kind, _members in tokens if kind == _ONE)
        runs = len(tokens) - self._min
        self._regex_limit = _regex_limit(runs, self._min)
        self._regex: _Regex[bytes] | None = None
        parts = []
        for kind, members in tokens:
            if kind == _ONE:
                parts.append(_byte_regex(members))
            elif kind == _DIRS:
                parts.append(b"(?:.*/)?")
            else:
                parts.append(b".*" if members == _ANY else b"[^/]*")
        self._source = b"".join(parts)
        self._adv: dict[int, int] | None = None

    def fullmatch(self, text: bytes, start: int = 0) -> bool:
        length = len(text) - start
        if length < self._min:
            return False
        if length <= self._regex_limit:
            return self._compile_regex().fullmatch(text, start) is not None
        return self._run(text, start)

    def _compile_regex(self) -> _Regex[bytes]:
        if self._regex is None:
            self._regex = _compile(self._source)
        return self._regex

    def _build(self) -> None:
        """The automaton: state k is "the first k pattern positions matched".

        A byte position steps k to k+1 on its bytes; a run loops on k and
        also lets k through to k+1 unread; ``**/`` is an entry state, a run of
        anything and a ``/``, and its entry may skip all three (k to k+3).
        """
        ones: list[tuple[int, frozenset[int]]] = []
        runs: list[int] = []
        dirs: list[int] = []
        loop_any: list[int] = []
        loop_not_slash: list[int] = []
        state = 0
        for kind, members in self._tokens:
            if kind == _DIRS:
                # An entry state first: only there, before any byte of the
                # run, may the whole "anything then /" be skipped.
                dirs.append(state)
                runs.append(state)
                state += 1
            if kind == _ONE:
                ones.append((state, members))
            else:
                runs.append(state)
                (loop_any if members == _ANY else loop_not_slash).append(state)
                if kind == _DIRS:
                    state += 1
                    ones.append((state, frozenset((_SLASH,))))
            state += 1
        self._final = state
        self._ones = ones
        self._runs = _bits(runs, state + 1)
        self._dirs = _bits(dirs, state + 1)
        any_bits = _bits(loop_any, state + 1)
        self._loop_any = any_bits
        self._loop_not_slash = any_bits | _bits(loop_not_slash, state + 1)
        self._adv = {}

    def _advance(self, byte: int) -> int:
        """The states a byte moves on by one position (built once per byte value)."""
        assert self._adv is not None
        mask = _bits([state for state, members in self._ones if byte in members], self._final + 1)
        self._adv[byte] = mask
        return mask

    def _run(self, text: bytes, start: int) -> bool:
        if self._adv is None:
            self._build()
        assert self._adv is not None
        adv, advance = self._adv, self._advance
        runs, dirs = self._runs, self._dirs
        loop_any, loop_not_slash = self._loop_any, self._loop_not_slash
        states = _closure(1, runs, dirs)
        for byte in memoryview(text)[start:]:
            step = adv.get(byte)
            if step is None:
                step = advance(byte)
            states = ((states & step) << 1) | (states & (loop_not_slash if byte != _SLASH else loop_any))
            if not states:
                return False
            states = _closure(states, runs, dirs)
        return bool(states >> self._final & 1)


def _closure(states: int, runs: int, dirs: int) -> int:
    """``states`` with every state an unread run or ``**/`` lets through.
    Runs never follow each other (star runs are one token, ``**/**/`` is
    folded), so this settles in a few rounds."""
    while True:
        more = states | ((states & runs) << 1) | ((states & dirs) << 3)
        if more == states:
            return states
        states = more


def _bits(positions: Iterable[int], width: int) -> int:
    """An integer with the given bits set, built in one pass (setting bits
    one by one on a growing integer would cost width/64 words each)."""
    buffer = bytearray((width + 8) // 8)
    for position in positions:
        buffer[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(buffer, "little")


def _regex_limit(runs: int, fixed: int) -> int:
    """The longest text a regex with ``runs`` unbounded parts and ``fixed``
    single-byte parts may be handed: its backtracking tries at most
    C(n + runs, runs) splits, each at most ``fixed + 1`` steps."""
    if runs <= 1:
        return 1 << 62  # linear in the text already
    budget = _REGEX_BUDGET // (fixed + 1)
    n, splits = 0, 1  # C(runs, runs)
    while True:
        # C(n + 1 + runs, runs) = C(n + runs, runs) * (n + 1 + runs) / (n + 1)
        following = splits * (n + 1 + runs) // (n + 1)
        if following > budget:
            return n
        n, splits = n + 1, following


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


def _compile(source: bytes) -> _Regex[bytes]:
    # Imported here: plain names and ``*.ext`` patterns, most of any
    # policy, never need a regex, and ``re`` costs a hook several ms.
    import re

    return re.compile(source, re.DOTALL)


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
        self._glob: _Glob | None = None
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
                tokens = _translate(rest, pathname=True)
                if tokens is None:
                    self._never = True
                else:
                    self._glob = _Glob(tokens)
        elif prefix == len(body):
            self._literal = body
        elif body[:1] == b"*" and _simple_length(body[1:]) == len(body) - 1:
            self._suffix = body[1:]
        else:
            tokens = _translate(body, pathname=False)
            if tokens is None:
                self._never = True
            else:
                self._glob = _Glob(tokens)
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
            parsed = _parse_bracket(body, i)
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
