"""git's wildmatch, as ``.gitignore`` patterns use it, in time linear in the text.

A pattern is translated into tokens (one byte out of a set; a run of bytes;
``**/``, zero or more whole directories) that follow git's own
``wildmatch.c``, including where ``**`` is special. Matching never
backtracks catastrophically: a regular expression serves while its worst case
stays within a budget, an automaton beyond it (see ``Glob``). Bytes, not
text: ``?`` and brackets see UTF-8 bytes as git does.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from re import Pattern as _Regex

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


def parse_bracket(pat: bytes, start: int) -> tuple[frozenset[int], bool, int] | None:
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
#: the automaton instead (see ``Glob``).
_REGEX_BUDGET = 1 << 16


def translate(pat: bytes, pathname: bool) -> list[tuple[int, frozenset[int]]] | None:
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
            parsed = parse_bracket(pat, i)
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


class Glob:
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


def _compile(source: bytes) -> _Regex[bytes]:
    # Imported here: plain names and ``*.ext`` patterns, most of any
    # policy, never need a regex, and ``re`` costs a hook several ms.
    import re

    return re.compile(source, re.DOTALL)
