"""The repeated-version memo: which versions of a file need judging again.

A file edited a thousand times is a thousand blobs, most of them holding the
same few lines a content rule can report. A version whose *trigger lines*
(the lines holding a rule's trigger bytes, ``Rule.triggers``) all stood in
the version before it, under the same path, is not judged: its findings
were reported with the version that introduced them. Likewise, a rule
whose own trigger lines all stood there is left out of a version the other
rules judge. Opening or closing a docstring can turn a line into code, so a
version whose count of triple quotes changed is always judged; a version
that mentions inline suppressions is judged whole, so every suppression is
counted.

Memory stays flat: a version is the parent of the next one, and its entry
goes once used, so the memo holds about one version per file.

``consider`` decides; ``record`` remembers a decision's outcome for
``unjudged_under``. A scan that judges in several processes calls ``record``
when it takes each answer back, in the log's order, so the two questions see
the same state however far the reading ran ahead.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

_MEMO_LIMIT = 100_000

#: What ``RepeatedVersions.consider`` may answer.
NOTHING, REPEAT, JUDGE = "nothing", "repeat", "judge"

# Bytes common in source text, most common first: a short token is searched
# for only when its rarest bytes are all in the blob (single-byte searches are
# memchr, several times faster than a two-byte search).
_COMMON_BYTES = b" \netaoinsrlcdhupmfgybw_().,=:'\"vkxjqz0123456789ETAOINSRLCDHUPMFGYBWVKXJQZ#-[]{}/*+<>\t"
_GUARDS: dict[bytes, tuple[bytes, ...]] = {}


def _guards(token: bytes) -> tuple[bytes, ...]:
    """The distinct bytes of a short token, rarest first (none for a long
    one, which a plain search skips through quickly anyway)."""
    guards = _GUARDS.get(token)
    if guards is None:
        guards = ()
        if len(token) <= 4:
            rank = sorted(set(token), key=lambda b: -(_COMMON_BYTES.find(b) % 1000))
            guards = tuple(bytes((b,)) for b in rank)
        _GUARDS[token] = guards
    return guards


def trigger_lines(data: bytes, tokens: tuple[bytes, ...]) -> frozenset[int]:
    """Hashes of the lines holding any of ``tokens`` (C-speed searches; each
    line is cut out once per token, so a long line costs its length)."""
    found: set[int] = set()
    find, rfind = data.find, data.rfind
    for token in tokens:
        guards = _GUARDS.get(token)
        if guards is None:
            guards = _guards(token)
        pos = 0
        if guards:
            # No occurrence starts before the first of its rarest byte.
            pos = find(guards[0])
            if pos == -1:
                continue
            pos = max(pos - len(token) + 1, 0)
            if any(guard not in data for guard in guards[1:]):
                continue
        pos = find(token, pos)
        while pos != -1:
            start = rfind(b"\n", 0, pos) + 1
            end = find(b"\n", pos)
            if end == -1:
                end = len(data)
            found.add(hash(data[start:end].rstrip(b"\r")))
            pos = find(token, end)
    return frozenset(found)


class RepeatedVersions:
    """Decides, version by version, what a history scan judges."""

    def __init__(self) -> None:
        #: (blob id prefix + profile tag) -> (trigger lines, quotes, path, whole lineage judged).
        self._memo: dict[bytes, tuple[frozenset[int], int, str, bool]] = {}
        # Versions left unjudged, by blob and by path: the newest per path only.
        self._unjudged: dict[bytes, str] = {}
        self._unjudged_at: dict[str, bytes] = {}
        #: Versions left unjudged so far.
        self.repeats = 0

    def consider(
        self,
        oid: bytes,
        old: bytes,
        tag: bytes,
        path: str,
        data: bytes,
        tokens: tuple[bytes, ...],
        by_rule: Mapping[int, tuple[bytes, ...] | None],
        indexes: tuple[int, ...],
    ) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
        """(``NOTHING``: no line any rule could report; ``REPEAT``: every such
        line stood in the version ``old`` before it; ``JUDGE``), the rules of
        ``indexes`` to run, and those left out because their own lines stood
        there. ``tokens`` are all of ``indexes``' trigger bytes; ``tag`` tells
        apart the profiles a blob is judged under."""
        lines = trigger_lines(data, tokens)
        if not lines:
            return NOTHING, (), ()
        quotes = data.count(b'"""') * 65599 + data.count(b"'''")
        memo = self._memo
        parent = memo.pop(old[:20] + tag, None)
        if len(memo) >= _MEMO_LIMIT:
            for stale in list(memo)[: _MEMO_LIMIT // 2]:
                del memo[stale]
        # Whether every finding of the version before stands, in the order
        # hits are read, under this same path: then a rule with nothing new to
        # see here may be left out (its findings are the ones recorded there).
        lineage = parent is not None and parent[2] == path and parent[3]
        skipped: tuple[int, ...] = ()
        if parent is not None and quotes == parent[1]:
            if lines <= parent[0]:
                memo[oid[:20] + tag] = (lines, quotes, path, lineage)
                return REPEAT, (), ()
            if lineage:
                # A rule left out here is run after all when another path of
                # this blob needs its findings (the scan's ``complete_partial``).
                before = parent[0]
                fresh = tuple(i for i in indexes if not trigger_lines(data, by_rule[i] or ()) <= before)
                if len(fresh) < len(indexes) and b"guardian" not in data.lower():
                    skipped = tuple(i for i in indexes if i not in fresh)
                    indexes = fresh
        memo[oid[:20] + tag] = (lines, quotes, path, True)
        return JUDGE, indexes, skipped

    def record(self, oid: bytes, path: str, verdict: str) -> None:
        """What ``consider`` answered for this version, in the log's order: a
        version with reportable lines replaces its path's unjudged one, and a
        repeat is the path's unjudged one from now on."""
        if verdict == NOTHING:
            return
        previous = self._unjudged_at.pop(path, None)
        if previous is not None:
            self._unjudged.pop(previous, None)
        if verdict == REPEAT:
            self._remember_unjudged(oid, path)

    def _remember_unjudged(self, oid: bytes, path: str) -> None:
        self.repeats += 1
        if len(self._unjudged) >= _MEMO_LIMIT:
            for stale in list(self._unjudged)[: _MEMO_LIMIT // 2]:
                self._unjudged_at.pop(self._unjudged.pop(stale), None)
        self._unjudged[oid[:16]] = path
        self._unjudged_at[path] = oid[:16]

    def unjudged_under(self, oid: bytes) -> str | None:
        """The path under which this blob's newest version was left unjudged
        (None if it was not): seen under another path, it must be judged there."""
        return self._unjudged.get(oid[:16])
