"""``guardian history``: the policy over every blob a repository's history holds.

One streamed pass answers both questions the audit asked ("is any file over
1 MB anywhere in our history?", "does any old file still import the old
package?"), and memory stays flat however long the history is:

1. ``git log --raw --no-renames --root -c -z`` lists, commit by commit, every
   (path, blob) pair a commit adds or changes. Every pair any commit's tree
   holds appears there at least once: a pair is either inherited from a parent
   or shown in that commit's diff (``-c`` shows what a merge holds that none
   of its parents do). So every path a blob was ever stored under, and the
   oldest commit that stored it, come out of this one pass.
2. With a size rule, one ``git cat-file --batch-check`` process gets each
   pair and answers with the blob's size from the object header: no blob
   content is read for the size rule. Path, commit and previous blob travel
   through it in ``%(rest)``, so nothing is kept per pair on our side.
3. Pairs whose path a content rule applies to go straight from the log, each
   unique blob once (``OidSet``), to one ``git cat-file --batch`` process,
   oldest first; each blob is pre-filtered as bytes (binary test, then the
   lines holding the rules' trigger bytes) and released after its rules
   ran. A version whose trigger lines all stood in the version before it is
   not judged again: its findings were reported with the version that
   introduced them; likewise a rule whose own trigger lines all stood there
   is left out of a version the other rules judge. Blobs larger than
   ``max-content-size`` (listed by a ``--batch-all-objects`` pass alongside)
   are skipped and reported. Pipes are grown to 1 MiB where the system
   allows, so git and Python do not wake each other for every blob.
4. For the few blobs with findings: commit dates and authors (one
   ``cat-file`` process) and whether HEAD still holds them (one ``ls-tree``).
5. ``gitignore-required`` is judged on the tree at each ref tip.

Missing objects (partial or shallow clones, a damaged repository) are
reported by id and skipped; the scan goes on and never fetches. Nothing here
rewrites history: ``purge_script`` writes a script for ``git filter-repo``
that a person runs.
"""

from __future__ import annotations

import collections
import contextlib
import os
import subprocess
import threading

from guardian.errors import GitError
from guardian.git import objects, process, queries
from guardian.model import ERROR, WARNING, FileEntry, Finding
from guardian.output import json_text
from guardian.sources.tips import TreeSnapshot, ref_tips
from guardian.units import format_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import IO

    from guardian.accept import Baseline
    from guardian.config import Policy
    from guardian.progress import Progress
    from guardian.rules.base import Rule

SIZE_RULE = "max-file-size"
#: Repository rules judged on the tree at each ref tip.
TIP_RULES = ("gitignore-required",)
#: Repository rules that are about the working state, not history.
NOT_IN_HISTORY = {"dir-budget": "judged on the current tree by `guardian check` and `guardian audit`"}

_CHUNK = 1 << 20
_PIPE_SIZE = 1 << 20
_PATH_CACHE_LIMIT = 200_000
_FIND_OBJECT_LIMIT = 5_000
_MAX_SHOWN_PATHS = 5


# -- results ----------------------------------------------------------------------


class Commit:
    """A commit as a report shows it."""

    __slots__ = ("author", "id", "offset", "timestamp")

    def __init__(self, id: str, timestamp: int = 0, offset: str = "+0000", author: str = "") -> None:
        self.id = id
        self.timestamp = timestamp
        self.offset = offset
        self.author = author

    @property
    def date(self) -> str:
        """ISO 8601 in the committer's own time zone, e.g. 2017-11-03T10:20:00+01:00."""
        import datetime

        sign = -1 if self.offset.startswith("-") else 1
        digits = self.offset.lstrip("+-").rjust(4, "0")
        try:
            delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
            zone = datetime.timezone(sign * delta)
            return datetime.datetime.fromtimestamp(self.timestamp, zone).isoformat()
        except (ValueError, OverflowError, OSError):
            return datetime.datetime.fromtimestamp(0, datetime.UTC).isoformat()

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "date": self.date, "author": self.author}


class HistoryFinding:
    """A finding with the history around it.

    ``finding.path`` is the first path the blob was stored under that the
    rule judges; ``paths`` all of them, oldest first. Findings about a ref tip
    (``gitignore-required``) have no blob and name the ``refs`` they hold at.
    """

    __slots__ = ("at_head", "commit", "exempt_paths", "finding", "oid", "paths", "refs", "size")

    def __init__(
        self,
        finding: Finding,
        *,
        oid: str = "",
        size: int = -1,
        paths: Sequence[str] = (),
        exempt_paths: Sequence[str] = (),
        commit: Commit | None = None,
        at_head: bool | None = None,
        refs: Sequence[str] = (),
    ) -> None:
        self.finding = finding
        self.oid = oid
        self.size = size
        self.paths = list(paths) or [finding.path]
        self.exempt_paths = list(exempt_paths)
        self.commit = commit
        self.at_head = at_head
        self.refs = list(refs)

    @property
    def rule(self) -> str:
        return self.finding.rule

    def per_path(self) -> list[Finding]:
        """The finding once for each path (baselines match any of them)."""
        out = []
        for path in self.paths:
            f = self.finding
            out.append(
                Finding(
                    f.rule,
                    path,
                    f.message,
                    severity=f.severity,
                    line=f.line,
                    column=f.column,
                    line_text=f.line_text,
                    fixable=f.fixable,
                )
            )
        return out


class HistoryResult:
    def __init__(self) -> None:
        self.findings: list[HistoryFinding] = []
        self.label = ""
        self.policy_source = ""
        self.rules: list[str] = []
        #: Rules of the policy that history does not run, with the reason.
        self.not_run: list[tuple[str, str]] = []
        self.limit: int | None = None
        self.max_content_size = 0
        self.commits = 0
        #: (path, blob) pairs looked up: every version of every file.
        self.blob_versions = 0
        #: Unique blobs whose bytes content rules read.
        self.blobs_read = 0
        self.tips = 0
        self.suppressed = 0
        self.baselined = 0
        #: Blobs content rules did not read: (oid, path, size).
        self.skipped: list[tuple[str, str, int]] = []
        #: Ids of missing objects (the first thousand) and how many there were.
        self.missing: list[str] = []
        self.missing_count = 0
        self.warnings: list[str] = []
        self.shallow = False

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.finding.severity == ERROR)

    @property
    def warnings_count(self) -> int:
        return sum(1 for f in self.findings if f.finding.severity == WARNING)

    @property
    def large(self) -> list[HistoryFinding]:
        return [f for f in self.findings if f.rule == SIZE_RULE]


# -- git plumbing -------------------------------------------------------------------


def log_args(
    revs: Sequence[str], *, all_refs: bool, since: str | None, paths: Sequence[str] = (), oldest_first: bool = False
) -> list[str]:
    """``git log`` arguments that list every (path, blob) pair history adds."""
    args = [
        "log",
        "--raw",
        "--no-renames",
        "--root",
        "-c",
        "-z",
        "--no-abbrev",
        "--no-color",
        "--no-ext-diff",
        "--format=%x01%H",
    ]
    if since:
        args.append(f"--since={since}")
    if oldest_first:
        # Oldest first: a file's versions are judged in order, and the first
        # commit to store a blob is the first one seen.
        args.append("--reverse")
    if paths:
        # Without --full-history git follows one parent of a merge that left
        # the path unchanged, and the other side's versions would be missed.
        args.append("--full-history")
    if all_refs:
        args.append("--all")
    args.extend(revs)
    args.append("--")
    args.extend(paths)
    return args


def iter_records(stream: IO[bytes], commits: list[int] | None = None) -> Iterator[tuple[bytes, bytes, bytes, bytes]]:
    """(commit, mode, blob id, path) for each file a commit adds or changes, as
    ``git log --raw -z --format=%x01%H`` writes them (``-c`` records too).

    Deletions and submodules are left out. ``commits[0]`` counts commits seen.
    """
    commit = b""
    pending = b""
    # None: the next field is a commit header or a raw record; otherwise the
    # next field is the path of the record just read (mode, oid), or (b"", b"")
    # for a record to drop.
    record: tuple[bytes, bytes] | None = None
    count = 0
    read = getattr(stream, "read1", stream.read)
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            break
        fields = (pending + chunk).split(b"\0")
        pending = fields.pop()
        for field in fields:
            if record is not None:
                mode, oid = record
                record = None
                if mode:
                    yield commit, mode, oid, field
                continue
            if field[:1] == b"\n":
                field = field[1:]
            if not field:
                continue
            first = field[0]
            if first == 0x01:
                commit = field[1:]
                count += 1
                if commits is not None:
                    commits[0] = count
            elif first == 0x3A:  # ":" raw record, "::" combined (merge) record
                n = len(field) - len(field.lstrip(b":"))
                parts = field[n:].split(b" ")
                if len(parts) < 2 * n + 3:
                    record = (b"", b"")
                    continue
                mode = parts[n]
                dropped = mode == b"000000" or mode == b"160000"  # a deletion, a submodule
                record = (b"", b"") if dropped else (mode, parts[2 * n + 1])


def _kind(path: str) -> str:
    """What a content rule may look at besides bytes: the file's type by name."""
    name = path.rpartition("/")[2].lower()
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else name


class _Failure:
    """The first exception a helper thread hit, re-raised by the main thread."""

    def __init__(self) -> None:
        self.exc: BaseException | None = None

    def guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                if self.exc is None:
                    self.exc = exc

        return run


def _stderr_file() -> IO[bytes]:
    import tempfile

    return tempfile.TemporaryFile()


def _last_error_line(fh: IO[bytes]) -> str:
    fh.seek(0)
    lines = fh.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


# -- the scan ---------------------------------------------------------------------------


class _Large:
    __slots__ = ("commit", "paths", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        #: path -> None, in the order the log lists them.
        self.paths: dict[str, None] = {}
        self.commit = b""


class _ContentHit:
    """A blob whose content has findings, the path it was judged under, and
    the other (path, commit) pairs history stored it under."""

    __slots__ = ("commit", "findings", "origins", "others", "path", "size", "skipped")

    def __init__(self, path: str, commit: bytes, size: int, findings: list[Finding]) -> None:
        self.path = path
        self.commit = commit
        self.size = size
        self.findings = findings
        self.others: list[tuple[str, bytes]] = []
        #: Indexes of the content rules not run on it: every line they could
        #: report stood in the version before (whose findings hold them).
        self.skipped: tuple[int, ...] = ()
        #: Paths of the earlier versions this one was judged again for (a
        #: rename): its findings continue theirs.
        self.origins: list[str] = []


_MEMO_LIMIT = 100_000
_ZERO = b"0" * 40


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


def _trigger_lines(data: bytes, tokens: tuple[bytes, ...]) -> frozenset[int]:
    """Hashes of the lines holding any of ``tokens`` (C-speed searches)."""
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


class OidSet:
    """A set of object ids in 8 bytes each (open addressing over an array).

    Remembering every blob already read is what keeps "each blob read once"
    true on any history; a Python set of ids costs ten times more per blob.
    Two ids are taken for one when their first 64 bits agree (about one
    chance in 10^8 for a million blobs), which at worst skips a duplicate.
    """

    def __init__(self) -> None:
        from array import array

        self._array = array
        self._slots = array("Q", bytes(8 * 1024))
        self._mask = 1023
        self.count = 0

    @staticmethod
    def key(oid: bytes, salt: int = 0) -> int:
        return (int(oid[:16], 16) ^ (salt * 0x9E3779B97F4A7C15)) & 0xFFFFFFFFFFFFFFFF or 1

    def add(self, key: int) -> bool:
        """Add ``key``; False if it was already there."""
        slots, mask = self._slots, self._mask
        i = key & mask
        while True:
            value = slots[i]
            if value == 0:
                break
            if value == key:
                return False
            i = (i + 1) & mask
        slots[i] = key
        self.count += 1
        if self.count * 2 > mask:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._slots = self._array("Q", bytes(16 * len(old)))
        self._mask = 2 * len(old) - 1
        self.count = 0
        for value in old:
            if value:
                self.add(value)


_MAX_MISSING_IDS = 1000
#: git's binary test reads this many bytes from the start of a blob.
_BINARY_PROBE = 8000


class _Plan:
    """How blobs requested under one (profile, path) are judged: the rules
    for text and for binary content, their trigger bytes together (None:
    judge every version) and rule by rule."""

    __slots__ = ("binary", "binary_tokens", "by_rule", "path", "pid", "tag", "text", "text_tokens")

    def __init__(
        self,
        pid: int,
        path: str,
        text: tuple[int, ...],
        binary: tuple[int, ...],
        by_rule: dict[int, tuple[bytes, ...] | None],
    ) -> None:
        self.pid = pid
        self.path = path
        self.tag = b"%d" % pid
        self.text = text
        self.binary = binary
        self.by_rule = by_rule
        self.text_tokens = self.tokens(text)
        self.binary_tokens = self.tokens(binary)

    def tokens(self, indexes: tuple[int, ...]) -> tuple[bytes, ...] | None:
        """The trigger bytes of these rules, None if one of them has none."""
        tokens: tuple[bytes, ...] = ()
        for index in indexes:
            own = self.by_rule[index]
            if own is None:
                return None
            tokens += own
        return tokens


class _Pass:
    """One streamed pass over history: the size of every (path, blob) pair,
    the bytes of each unique blob content rules look at."""

    def __init__(
        self,
        root: str,
        args: list[str],
        *,
        limit: int | None,
        content_rules: list[Rule],
        max_content: int,
        progress: Progress | None,
        total_commits: list[int],
        oldest_first: bool = False,
    ) -> None:
        self.root = root
        self.args = args
        self.limit = limit
        self.content_rules = content_rules
        self.max_content = max_content
        self.progress = progress
        self.total_commits = total_commits
        self.oldest_first = oldest_first
        self.large: dict[str, _Large] = {}
        self.hits: dict[str, _ContentHit] = {}
        self.skipped: dict[str, tuple[str, int]] = {}
        self.missing: dict[str, None] = {}
        self.rule_errors: list[str] = []
        self.commits = [0]
        self.versions = 0
        self.read = 0
        self.inherited_count = 0
        self.suppressed = 0
        # Profile id -> indexes of the content rules that judge such a path.
        self.profiles: list[tuple[int, ...]] = [()]
        self._profile_ids: dict[tuple[tuple[int, ...], str], int] = {}
        self._path_profile: dict[bytes, int] = {}
        # Shared by the consumer and the content reader.
        self._lock = threading.Lock()
        self._inflight: dict[bytes, list[tuple[bytes, bytes, bytes]]] = {}
        # Versions left unjudged, by blob and by path: the newest per path only.
        self._inherited: dict[bytes, str] = {}
        self._inherited_at: dict[str, bytes] = {}
        self.missing_count = 0
        #: Blob versions not judged whose blob turned up under another path:
        #: (oid, profile, commit, path field, path judged before), judged after the pass.
        self.rejudge: list[tuple[bytes, bytes, bytes, bytes, str]] = []
        self._memo: dict[bytes, tuple[frozenset[int], int, str, bool]] = {}
        self._plans: dict[bytes, _Plan] = {}
        #: Blobs over max-content-size, once listed.
        self.oversized: dict[bytes, int] | None = None
        #: Unique blobs in the order they were met: None for one sent to the
        #: content reader, (blob, profile, path field, size) for one over
        #: max-content-size that was not. The reader reports the latter in turn.
        self._queue: collections.deque[tuple[bytes, bytes, bytes, int] | None] = collections.deque()
        #: Missing blobs the content reader met, and versions of them seen.
        self._missing_oids: set[bytes] = set()
        self.missing_versions = 0
        from guardian.accept import is_suppressed

        self._is_suppressed = is_suppressed

    # -- the feeder thread: log records -> size lookups --------------------------
    def _profile(self, raw_path: bytes, mode: bytes) -> int:
        if mode == b"120000":
            return 0  # a symlink's blob is its target, not content
        pid = self._path_profile.get(raw_path)
        if pid is None:
            path = process.decode_path(raw_path)
            indexes = tuple(i for i, r in enumerate(self.content_rules) if r.applies(path) and not r.is_excluded(path))
            pid = 0
            if indexes:
                key = (indexes, _kind(path))
                pid = self._profile_ids.get(key, 0)
                if not pid:
                    pid = len(self.profiles)
                    self._profile_ids[key] = pid
                    self.profiles.append(indexes)
            if len(self._path_profile) >= _PATH_CACHE_LIMIT:
                self._path_profile.clear()
            self._path_profile[raw_path] = pid
        return pid

    def _feed(self, log_out: IO[bytes], check_in: IO[bytes] | None, content_in: IO[bytes] | None) -> None:
        """Turn log records into requests: ``<blob> <profile> <commit>
        <previous blob> <path>`` to ``cat-file --batch-check`` for every
        version (sizes, when a size rule runs) and straight to ``cat-file
        --batch`` for each unique blob content rules read.

        The hot loop of a scan, so it parses the ``-z`` fields in place
        rather than through ``iter_records``: a one-parent record has a
        fixed layout, only merge records need splitting.
        """
        every = check_in is not None
        profile = self._profile if content_in is not None else None
        absent = objects.missing_objects(self.root)
        queue = self._queue
        counter = self.commits
        read = getattr(log_out, "read1", log_out.read)
        out: list[bytes] = []
        wanted: list[bytes] = []
        seen = OidSet()
        key_of, add = OidSet.key, seen.add
        lock, inflight = self._lock, self._inflight
        commit = b""
        pending = b""
        expect_path = False
        want = False
        oid = old = mode = b""
        count = versions = 0
        try:
            while True:
                chunk = read(_CHUNK)
                if not chunk:
                    break
                fields = (pending + chunk).split(b"\0")
                pending = fields.pop()
                for field in fields:
                    if expect_path:
                        expect_path = False
                        if not want:
                            continue
                        pid = profile(field, mode) if profile is not None else 0
                        if not (pid or every):
                            continue
                        versions += 1
                        if b"\n" in field or field.endswith(b"\r"):
                            # cat-file reads lines: such a path travels hex-encoded.
                            pid_field, field = b"%dh" % pid, field.hex().encode()
                        else:
                            pid_field = b"%d" % pid
                        request = b"%s %s %s %s %s\n" % (oid, pid_field, commit, old, field)
                        if every:
                            out.append(request)
                        if not pid:
                            continue
                        if not add(key_of(oid, pid)):
                            # Sent for judging already (another path, branch or commit).
                            with lock:
                                self._another_path(oid, pid_field, commit, field)
                            continue
                        oversized = self.oversized
                        if oversized is not None and oid in oversized:
                            # Never asked for; the reader reports it in its turn.
                            queue.append((oid, pid_field, field, oversized[oid]))
                            continue
                        with lock:
                            inflight[oid] = []
                        queue.append(None)
                        wanted.append(request)
                        continue
                    if field[:1] == b"\n":
                        field = field[1:]
                    if not field:
                        continue
                    first = field[0]
                    if first == 0x01:
                        commit = field[1:]
                        count += 1
                        counter[0] = count
                        continue
                    if first != 0x3A:
                        continue
                    expect_path = True
                    if field[1] != 0x3A:
                        # ":<old mode> <new mode> <old oid> <new oid> <status>"
                        mode = field[8:14]
                        space = field.find(b" ", 15)
                        old = field[15:space]
                        oid = field[space + 1 : 2 * space - 14]
                    else:
                        # "::<modes> <parent oids...> <new oid> <status>": a merge
                        n_parents = len(field) - len(field.lstrip(b":"))
                        parts = field[n_parents:].split(b" ")
                        if len(parts) < 2 * n_parents + 3:
                            want = False
                            continue
                        mode = parts[n_parents]
                        oid = parts[2 * n_parents + 1]
                        old = b"-"
                    want = mode != b"000000" and mode != b"160000"
                    if want and absent and oid.decode() in absent:
                        # A partial clone lacks it: cat-file would stop here.
                        self._missing(oid)
                        want = False
                # Each chunk's requests go at once: git never waits on
                # requests held in our buffers.
                if out and check_in is not None:
                    check_in.write(b"".join(out))
                    check_in.flush()
                    out.clear()
                if wanted and content_in is not None:
                    content_in.write(b"".join(wanted))
                    content_in.flush()
                    wanted.clear()
            if not every:
                self.versions = versions
        finally:
            for pipe in (check_in, content_in):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()

    def _list_oversized(self) -> None:
        """Blobs over ``max-content-size`` among every object the repository
        holds, from one ``cat-file --batch-all-objects`` (it reads object
        headers only), so that git is not asked for their bytes. Runs
        alongside the log; blobs requested before it is done are read and
        dropped by the reader."""
        bound = self.max_content
        digits = len(str(bound))
        found: dict[bytes, int] = {}
        proc = process.popen(
            [
                "cat-file",
                "--batch-all-objects",
                "--unordered",
                "--batch-check=%(objectsize) %(objectname)",
            ],
            self.root,
        )
        # A helper, not the scan: it runs on whatever CPU the scan leaves.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, proc.pid, 10)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                # A size with fewer digits than the bound is under it.
                if line.find(b" ") < digits:
                    continue
                # Any type: only blobs are looked up.
                parts = line.split()
                if len(parts) == 2 and int(parts[0]) > bound:
                    found[parts[1]] = int(parts[0])
        finally:
            proc.stdout.close()
            proc.wait()
        self.oversized = found

    # -- the size consumer: sizes -> large blobs -------------------------------------
    def _consume(self, check_out: IO[bytes]) -> None:
        """Read ``<size> <blob> <type> <profile> <commit> <previous> <path>``
        answers: blobs over the size limit are kept."""
        limit = self.limit if self.limit is not None else -1
        # A size with fewer digits than the limit is under it: nearly every
        # answer stops at one find().
        short = len(str(limit)) if limit >= 0 else 0
        oldest_first = self.oldest_first
        progress = self.progress
        large = self.large
        versions = 0
        read = getattr(check_out, "read1", check_out.read)
        pending = b""
        while True:
            chunk = read(_CHUNK)
            lines = (pending + chunk).split(b"\n")
            # Without a chunk, git is done: a last line without its newline stands.
            pending = lines.pop() if chunk else b""
            for line in lines:
                if not line:
                    continue
                versions += 1
                if progress is not None and not versions & 1023:
                    progress.extra = f"{versions:,} blob versions"
                    progress.update(self.commits[0], self.total_commits[0] or None)
                if line.find(b" ") < short:
                    continue
                parts = line.split(b" ", 6)
                if len(parts) < 7:
                    if len(parts) == 2 and parts[1].startswith(b"missing"):
                        versions -= 1
                        self._missing(parts[0])
                    continue
                size_text, oid, kind, pid, commit, _old, path_field = parts
                if kind != b"blob":
                    continue
                size = int(size_text)
                if size > limit >= 0:
                    key = oid.decode()
                    item = large.get(key)
                    if item is None:
                        item = large[key] = _Large(size)
                    item.paths.setdefault(_path_of(pid, path_field), None)
                    if not (oldest_first and item.commit):
                        item.commit = commit  # the oldest commit that stored it
            if not chunk:
                break
        self.versions = versions

    def _missing(self, oid: bytes) -> None:
        """Remember a missing object; past a thousand, only count them."""
        if len(self.missing) < _MAX_MISSING_IDS:
            before = len(self.missing)
            self.missing.setdefault(oid.decode(), None)
            if len(self.missing) == before:
                return
        self.missing_count += 1

    def _missing_version(self, oid: bytes) -> None:
        """A version whose blob is missing, found by the content reader."""
        self.missing_versions += 1
        self._missing(oid)

    def _another_path(self, oid: bytes, pid: bytes, commit: bytes, path_field: bytes) -> None:
        """A blob already sent for judging, seen again (another path, branch or
        commit). Called with the lock held."""
        pending = self._inflight.get(oid)
        if pending is not None:
            pending.append((pid, commit, path_field))
            return
        if oid in self._missing_oids:
            self._missing_version(oid)
            return
        hit = self.hits.get(oid.decode())
        if hit is not None:
            hit.others.append((_path_of(pid, path_field), commit))
        else:
            origin = self._inherited.get(oid[:16])
            if origin is not None and origin != _path_of(pid, path_field):
                # An unjudged version under a new path (a rename or a copy):
                # nothing was reported for that path yet.
                self.rejudge.append((oid, pid, commit, path_field, origin))

    # -- the content reader thread: blob bytes -> content rules -------------------
    def _plan(self, pid_field: bytes, path_field: bytes) -> _Plan:
        """How a blob requested with this profile and path is judged."""
        key = pid_field + b" " + path_field
        plan = self._plans.get(key)
        if plan is None:
            pid = int(pid_field.rstrip(b"h"))
            path = _path_of(pid_field, path_field)
            text = self.profiles[pid]
            binary = tuple(i for i in text if not self.content_rules[i].text_only)
            by_rule = {i: self.content_rules[i].triggers(path) for i in text}
            plan = _Plan(pid, path, text, binary, by_rule)
            if len(self._plans) >= _PATH_CACHE_LIMIT:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def _read_content(self, content_out: IO[bytes]) -> None:
        readline, read = content_out.readline, content_out.read
        lock, inflight, hits = self._lock, self._inflight, self.hits
        plan_of, judge = self._plan, self._judge
        max_content = self.max_content
        count_missing = self.limit is None
        progress = self.progress if count_missing else None
        queue = self._queue
        while True:
            header = readline()
            if not header or not queue or queue[0] is not None:
                self._take_turn()
            else:
                queue.popleft()  # the request this answers
            if not header:
                return
            parts = header[:-1].split(b" ", 6)
            if len(parts) < 7:
                if len(parts) >= 2 and parts[1] == b"missing":
                    with lock:
                        others = inflight.pop(parts[0], None) or []
                        if count_missing:
                            # Without a size pass, missing versions are told here.
                            self._missing_oids.add(parts[0])
                            for _ in range(1 + len(others)):
                                self._missing_version(parts[0])
                continue
            oid, _type, size_text, pid, commit, old, path_field = parts
            size = int(size_text)
            plan = plan_of(pid, path_field)
            if size > max_content:
                # Not in the list of blobs over the bound (a replacement
                # object, say): its bytes go unread all the same.
                self._drain(content_out, size + 1)
                self.skipped.setdefault(oid.decode(), (plan.path, size))
                with lock:
                    inflight.pop(oid, None)
                continue
            self.read += 1
            if progress is not None and not self.read & 1023:
                progress.extra = f"{self.read:,} blobs read"
                progress.update(self.commits[0], self.total_commits[0] or None)
            if size > _BINARY_PROBE and not plan.binary:
                # A large blob no rule reads when binary: its head decides
                # whether the rest is needed at all.
                head = read(_BINARY_PROBE)
                if b"\0" in head:
                    self._drain(content_out, size - len(head) + 1)
                    kept: list[Finding] = []
                    inherited = False
                    skipped: tuple[int, ...] = ()
                else:
                    data = head + read(size - len(head))
                    read(1)
                    kept, inherited, skipped = judge(oid, plan, old, data, size)
            else:
                data = read(size)
                read(1)
                kept, inherited, skipped = judge(oid, plan, old, data, size)
            with lock:
                others = inflight.pop(oid, [])
                if kept or skipped:
                    hit = _ContentHit(plan.path, commit, size, kept)
                    hit.others = [(_path_of(p, f), c) for p, c, f in others]
                    hit.skipped = skipped
                    hits[oid.decode()] = hit
                elif inherited and others:
                    path = plan.path
                    self.rejudge.extend((oid, p, c, f, path) for p, c, f in others if _path_of(p, f) != path)

    def _take_turn(self) -> None:
        """Report the blobs over max-content-size met before the next blob
        sent to ``cat-file`` (all that are left, at the end)."""
        queue = self._queue
        while queue:
            item = queue.popleft()
            if item is None:
                return
            oid, pid_field, path_field, size = item
            self.skipped.setdefault(oid.decode(), (_path_of(pid_field, path_field), size))

    @staticmethod
    def _drain(stream: IO[bytes], size: int) -> None:
        """Read and drop ``size`` bytes, a chunk at a time."""
        while size > 0:
            got = len(stream.read(min(size, _CHUNK)))
            if not got:
                return
            size -= got

    def _judge(
        self, oid: bytes, plan: _Plan, old: bytes, data: bytes, size: int
    ) -> tuple[list[Finding], bool, tuple[int, ...]]:
        """Findings of one blob (suppressions applied); whether it was left
        unjudged because the version before it showed every line that could
        hold a finding; the rules left out because the version before it
        showed every line that could hold one of theirs."""
        if data.find(b"\0", 0, _BINARY_PROBE) != -1:
            indexes, tokens = plan.binary, plan.binary_tokens
        else:
            indexes, tokens = plan.text, plan.text_tokens
        if not indexes:
            return [], False, ()
        path = plan.path
        skipped: tuple[int, ...] = ()
        if tokens is not None:
            lines = _trigger_lines(data, tokens)
            if not lines:
                return [], False, ()  # no line any of these rules could report
            # Opening or closing a docstring can turn a line into code: such
            # a version is always judged.
            quotes = data.count(b'"""') * 65599 + data.count(b"'''")
            tag = plan.tag
            # A version is the parent of the next one: once used, its
            # entry goes, so the memo holds about one version per file.
            memo = self._memo
            parent = memo.pop(old[:20] + tag, None)
            if len(memo) >= _MEMO_LIMIT:
                for stale in list(memo)[: _MEMO_LIMIT // 2]:
                    del memo[stale]
            previous = self._inherited_at.pop(path, None)
            if previous is not None:
                self._inherited.pop(previous, None)
            # Whether every finding of the version before stands, in the
            # order hits are read, under this same path: then a rule with
            # nothing new to see here may be left out (its findings are the
            # ones recorded there).
            lineage = parent is not None and parent[2] == path and parent[3]
            if parent is not None and quotes == parent[1]:
                if lines <= parent[0]:
                    memo[oid[:20] + tag] = (lines, quotes, path, lineage)
                    self.inherited_count += 1
                    if len(self._inherited) >= _MEMO_LIMIT:
                        for stale_key in list(self._inherited)[: _MEMO_LIMIT // 2]:
                            self._inherited_at.pop(self._inherited.pop(stale_key), None)
                    self._inherited[oid[:16]] = path
                    self._inherited_at[path] = oid[:16]
                    return [], True, ()
                if lineage:
                    # Rule by rule: one whose lines all stood in the version
                    # before is left out, unless another path of this blob
                    # needs its findings (``complete_partial``). A blob that
                    # mentions inline suppressions is judged whole, so that
                    # every suppression is counted as before.
                    by_rule, before = plan.by_rule, parent[0]
                    fresh = tuple(i for i in indexes if not _trigger_lines(data, by_rule[i] or ()) <= before)
                    if len(fresh) < len(indexes) and b"guardian" not in data.lower():
                        skipped = tuple(i for i in indexes if i not in fresh)
                        indexes = fresh
            memo[oid[:20] + tag] = (lines, quotes, path, True)
        entry = FileEntry(path, size, "100644", oid.decode())
        found: list[Finding] = []
        for index in indexes:
            rule = self.content_rules[index]
            try:
                found.extend(rule.check_file(entry, data))
            except Exception as exc:  # noqa: BLE001 - one odd blob must not stop a history scan
                self.rule_errors.append(f"{rule.id} failed on blob {entry.oid} ({path}): {exc}")
        is_suppressed = self._is_suppressed
        kept = [f for f in found if not is_suppressed(f)]
        self.suppressed += len(found) - len(kept)
        return kept, False, skipped

    def judge_again(self) -> None:
        """Judge the unjudged versions that turned up under a new path: the
        version before them was under another path, so nothing was shown yet
        for this one."""
        wanted: dict[tuple[bytes, bytes], tuple[bytes, bytes, str]] = {}
        for oid, pid, commit, path_field, origin in self.rejudge:
            wanted.setdefault((oid, path_field), (pid, commit, origin))
        if not wanted:
            return
        keys = list(wanted)
        reader = objects.CatFile(self.root)
        for (oid, path_field), (_oid, data) in zip(keys, reader.read_many([k[0].decode() for k in keys]), strict=False):
            if data is None:
                continue
            pid, commit, origin = wanted[(oid, path_field)]
            plan = self._plan(pid, path_field)
            path = plan.path
            kept, _, _ = self._judge(oid, plan, _ZERO, data, len(data))
            if not kept:
                continue
            key = oid.decode()
            hit = self.hits.get(key)
            if hit is None:
                hit = self.hits[key] = _ContentHit(path, commit, len(data), kept)
            else:
                hit.others.append((path, commit))
            hit.origins.append(origin)

    def complete_partial(self) -> None:
        """Run the rules left out of a version on it after all, when history
        also stored it under another path: their findings, the same as the
        version before showed, name that path too."""
        wanted = [
            (key, hit) for key, hit in self.hits.items() if hit.skipped and any(p != hit.path for p, _ in hit.others)
        ]
        if not wanted:
            return
        order = {rule.id: index for index, rule in enumerate(self.content_rules)}
        reader = objects.CatFile(self.root)
        for (key, hit), (_oid, data) in zip(wanted, reader.read_many([key for key, _ in wanted]), strict=False):
            if data is None:
                continue
            entry = FileEntry(hit.path, hit.size, "100644", key)
            found: list[Finding] = []
            for index in hit.skipped:
                rule = self.content_rules[index]
                try:
                    found.extend(rule.check_file(entry, data))
                except Exception as exc:  # noqa: BLE001 - one odd blob must not stop a history scan
                    self.rule_errors.append(f"{rule.id} failed on blob {key} ({hit.path}): {exc}")
            kept = [f for f in found if not self._is_suppressed(f)]
            self.suppressed += len(found) - len(kept)
            if kept:
                hit.findings = sorted(hit.findings + kept, key=lambda f: order.get(f.rule, 0))

    def run(self) -> None:
        log_err = _stderr_file()
        log = process.popen(self.args, self.root, stderr=log_err)
        check: subprocess.Popen[bytes] | None = None
        content: subprocess.Popen[bytes] | None = None
        procs = [log]
        threads: list[threading.Thread] = []
        failure = _Failure()
        ok = False
        try:
            if self.limit is not None:
                fmt = "--batch-check=%(objectsize) %(objectname) %(objecttype) %(rest)"
                check = process.popen(["cat-file", fmt, "--buffer"], self.root, stdin=subprocess.PIPE)
                procs.append(check)
            if self.content_rules:
                content_fmt = "--batch=%(objectname) %(objecttype) %(objectsize) %(rest)"
                content = process.popen(["cat-file", content_fmt, "--buffer"], self.root, stdin=subprocess.PIPE)
                procs.append(content)
            if content is not None:
                lister = threading.Thread(target=failure.guard(self._list_oversized), daemon=True)
                lister.start()
                threads.append(lister)
            log_out = log.stdout
            check_in = check.stdin if check is not None else None
            content_in = content.stdin if content is not None else None
            assert log_out is not None
            feeder = threading.Thread(
                target=failure.guard(lambda: self._feed(log_out, check_in, content_in)), daemon=True
            )
            feeder.start()
            threads.append(feeder)
            # The main thread reads sizes, or blob contents when there are
            # no sizes to read; a second thread reads contents alongside sizes.
            if content is not None:
                content_out = content.stdout
                assert content_out is not None
                if check is None:
                    self._read_content(content_out)
                else:
                    reader = threading.Thread(
                        target=failure.guard(lambda: self._read_content(content_out)), daemon=True
                    )
                    reader.start()
                    threads.append(reader)
            if check is not None:
                assert check.stdout is not None
                self._consume(check.stdout)
            for thread in threads:
                thread.join()
            ok = failure.exc is None
        finally:
            for proc in procs:
                if not ok and proc.poll() is None:
                    proc.kill()
            for proc in procs:
                proc.wait()
        if failure.exc is not None:
            raise failure.exc
        if check is None:
            self.versions -= self.missing_versions
        problem = _last_error_line(log_err) if log.returncode != 0 else ""
        log_err.close()
        if log.returncode != 0:
            raise GitError(
                f"git log failed in {self.root}: {problem or f'exit status {log.returncode}'}; "
                "check the revisions, or run `git fsck` if objects are damaged"
            )
        self.judge_again()
        self.complete_partial()


def _path_of(pid: bytes, field: bytes) -> str:
    """The path a request carried, hex-encoded when its profile id ends in h."""
    return process.decode_path(bytes.fromhex(field.decode()) if pid.endswith(b"h") else field)


def commit_info(root: str, commits: Iterable[str]) -> dict[str, Commit]:
    """Author, date and time zone of commits, from one ``cat-file`` process."""
    wanted = [c for c in dict.fromkeys(commits) if c]
    info: dict[str, Commit] = {}
    reader = objects.CatFile(root)
    for oid, data in reader.read_many(wanted):
        commit = Commit(oid)
        if data is not None:
            header = data.split(b"\n\n", 1)[0]
            for line in header.split(b"\n"):
                if line.startswith(b"author "):
                    person, _, when = line[7:].rpartition(b">")
                    commit.author = (person + b">").decode("utf-8", "replace")
                    stamp = when.split()
                    if len(stamp) == 2 and stamp[0].lstrip(b"-").isdigit():
                        commit.timestamp = int(stamp[0])
                        commit.offset = stamp[1].decode("ascii", "replace")
                    break
        info[oid] = commit
    return info


# -- ref tips ---------------------------------------------------------------------------


def judge_tips(
    root: str, rules: Sequence[Rule], tips: Sequence[tuple[str, str]], progress: Progress | None
) -> list[HistoryFinding]:
    """Repository rules on each distinct tip tree; a finding held at several
    tips is reported once with every ref it holds at."""
    by_tree: dict[str, list[str]] = {}
    for name, tree in tips:
        by_tree.setdefault(tree, []).append(name)
    merged: dict[tuple[str, str, str, int, int], HistoryFinding] = {}
    if progress is not None:
        progress.stage("ref tips", "trees", len(by_tree))
    reader = objects.TreeReader(root)
    try:
        for done, (tree, names) in enumerate(by_tree.items(), 1):
            snapshot = TreeSnapshot(root, tree, names[0], reader)
            for rule in rules:
                for f in rule.check_repo(snapshot):
                    key = (f.rule, f.path, f.message, f.line, f.column)
                    item = merged.get(key)
                    if item is None:
                        merged[key] = HistoryFinding(f, refs=list(names))
                    else:
                        # Distinct trees: their names are new to this finding.
                        item.refs.extend(names)
            if progress is not None:
                progress.update(done)
    finally:
        reader.close()
    return list(merged.values())


# -- the whole scan ------------------------------------------------------------------------


def _count_commits(root: str, revs: Sequence[str], all_refs: bool, since: str | None, out: list[int]) -> None:
    args = ["rev-list", "--count"]
    if since:
        args.append(f"--since={since}")
    if all_refs:
        args.append("--all")
    args.extend(revs)
    proc = process.run(args, root, check=False)
    text = proc.stdout.decode().strip()
    if text.isdigit():
        out[0] = int(text)


def scan_history(
    root: str,
    policy: Policy,
    *,
    revs: Sequence[str] = (),
    all_refs: bool = False,
    since: str | None = None,
    max_content_size: int | None = None,
    baseline: Baseline | None = None,
    progress: Progress | None = None,
) -> HistoryResult:
    """Run the policy over the history of ``revs`` (all refs when none)."""
    if not revs:
        all_refs = True
    result = HistoryResult()
    result.policy_source = policy.source
    result.rules = [r.id for r in policy.rules]
    what = "all refs" if all_refs and not revs else ", ".join(revs) + (" and all refs" if all_refs else "")
    result.label = what + (f" since {since}" if since else "")
    max_content = policy.max_content_size if max_content_size is None else max_content_size
    result.max_content_size = max_content

    size_rule = policy.rule(SIZE_RULE)
    content_rules = [r for r in policy.rules if r.scope == "file" and r.needs_content]
    tip_rules = [r for r in policy.rules if r.scope == "repo" and r.id in TIP_RULES]
    for rule in policy.rules:
        if rule.id in NOT_IN_HISTORY:
            result.not_run.append((rule.id, NOT_IN_HISTORY[rule.id]))
        elif rule.scope == "file" and not rule.needs_content and rule.id != SIZE_RULE:
            result.not_run.append((rule.id, "a file rule without content has no meaning over history"))
        elif rule.scope == "repo" and rule.id not in TIP_RULES:
            result.not_run.append((rule.id, "a repository rule not judged at ref tips"))
    limit: int | None = None
    if size_rule is not None:
        value = size_rule.settings["limit"]
        assert isinstance(value, int)
        limit = value
    result.limit = limit

    # Resolving the tips also checks the revisions, before any long work.
    tips = ref_tips(root, revs, all_refs=all_refs and bool(tip_rules))
    result.shallow = process.run(["rev-parse", "--is-shallow-repository"], root).stdout.strip() == b"true"
    if result.shallow:
        result.warnings.append(
            "this is a shallow clone: commits before the shallow boundary are not scanned, and blobs they hold "
            "are attributed to the boundary commits; run `git fetch --unshallow` for a full scan"
        )

    if size_rule is not None or content_rules:
        total = [0]
        counter: threading.Thread | None = None
        if progress is not None and progress.enabled:
            counter = threading.Thread(target=_count_commits, args=(root, revs, all_refs, since, total), daemon=True)
            counter.start()
            progress.stage("history", "commits")
        scan = _Pass(
            root,
            log_args(revs, all_refs=all_refs, since=since, oldest_first=bool(content_rules)),
            limit=limit,
            content_rules=content_rules,
            max_content=max_content,
            progress=progress if progress is not None and progress.enabled else None,
            total_commits=total,
            oldest_first=bool(content_rules),
        )
        scan.run()
        result.commits = scan.commits[0]
        result.blob_versions = scan.versions
        result.blobs_read = scan.read
        result.suppressed += scan.suppressed
        result.missing = list(scan.missing)
        result.missing_count = scan.missing_count
        result.skipped = [(oid, path, size) for oid, (path, size) in scan.skipped.items()]
        result.warnings.extend(scan.rule_errors)
        if progress is not None:
            progress.stage("resolving", "blobs")
            progress.update(0, force=True)
        result.findings.extend(_size_findings(scan, size_rule))
        result.findings.extend(_content_findings(scan))
        _fill_commits(root, result.findings, scan)

    if tip_rules:
        result.tips = len(tips)
        result.findings.extend(judge_tips(root, tip_rules, tips, progress))
    if progress is not None:
        progress.close()

    if baseline is not None:
        result.findings = _apply_baseline(result, baseline)
    return result


def _size_findings(scan: _Pass, rule: Rule | None) -> list[HistoryFinding]:
    if rule is None:
        return []
    out = []
    for oid, item in scan.large.items():
        paths = list(reversed(item.paths))
        judged = [p for p in paths if rule.applies(p) and not rule.is_excluded(p)]
        if not judged:
            continue
        exempt = [p for p in paths if p not in judged]
        entry = FileEntry(judged[0], item.size, "100644", oid, new=True)
        for f in rule.check_file(entry, None):
            out.append(HistoryFinding(f, oid=oid, size=item.size, paths=judged, exempt_paths=exempt))
    out.sort(key=lambda h: (-h.size, h.oid))
    return out


def _content_findings(scan: _Pass) -> list[HistoryFinding]:
    """One finding per (rule, path, message, line), from the oldest version
    that has it; a finding that moved with its file (a rename) stays one."""
    rules = {r.id: r for r in scan.content_rules}
    index: dict[tuple[str, str, str, str], HistoryFinding] = {}
    out: list[HistoryFinding] = []
    for oid, hit in scan.hits.items():
        where: dict[str, bytes] = {hit.path: hit.commit}
        for path, commit in hit.others:
            where.setdefault(path, commit)
        for f in hit.findings:
            rule = rules.get(f.rule)
            judged = [p for p in where if rule is None or (rule.applies(p) and not rule.is_excluded(p))]
            if hit.path not in judged:
                judged.insert(0, hit.path)
            text = " ".join(f.line_text.split())
            keys = [(f.rule, p, f.message, text) for p in judged]
            earlier = [(f.rule, p, f.message, text) for p in hit.origins]
            item = next((index[k] for k in keys + earlier if k in index), None)
            if item is None:
                primary = Finding(
                    f.rule,
                    judged[0],
                    f.message,
                    severity=f.severity,
                    line=f.line,
                    column=f.column,
                    line_text=f.line_text,
                    fixable=False,  # history is not fixed in place
                )
                item = HistoryFinding(
                    primary,
                    oid=oid,
                    size=hit.size,
                    paths=judged,
                    exempt_paths=[p for p in where if p not in judged],
                    commit=Commit(where[judged[0]].decode()),
                )
                out.append(item)
            else:
                item.paths.extend(p for p in judged if p not in item.paths)
            for key in keys:
                index.setdefault(key, item)
    out.sort(key=lambda h: h.finding.sort_key())
    return out


def _fill_commits(root: str, findings: list[HistoryFinding], scan: _Pass) -> None:
    """Dates and authors of the introducing commits; what HEAD still holds."""
    for item in findings:
        if item.rule == SIZE_RULE and item.oid in scan.large:
            item.commit = Commit(scan.large[item.oid].commit.decode())
    with_blobs = [f for f in findings if f.oid]
    if not with_blobs:
        return
    info = commit_info(root, [f.commit.id for f in with_blobs if f.commit is not None])
    for item in with_blobs:
        if item.commit is not None and item.commit.id in info:
            item.commit = info[item.commit.id]
    if queries.resolve("HEAD", root) is None:
        for item in with_blobs:
            item.at_head = False
        return
    wanted_paths = {p for f in with_blobs if f.rule != SIZE_RULE for p in f.paths}
    head_blobs: set[str] = set()
    head_paths: dict[str, str] = {}
    large = {f.oid for f in with_blobs if f.rule == SIZE_RULE}
    # Ids only: ``ls-tree -l`` would read the header of every blob at HEAD.
    for _mode, oid, path in queries.ls_tree_ids("HEAD", root):
        if oid in large:
            head_blobs.add(oid)
        if path in wanted_paths:
            head_paths[path] = oid
    # A content finding is still at HEAD when HEAD's version of one of its
    # paths still holds the offending line.
    contents: dict[str, bytes | None] = {}
    if head_paths:
        oids = list(dict.fromkeys(head_paths.values()))
        contents = dict(objects.CatFile(root).read_many(oids))
    for item in with_blobs:
        if item.rule == SIZE_RULE:
            item.at_head = item.oid in head_blobs
            continue
        needle = item.finding.line_text.strip().encode("utf-8", "surrogateescape")
        item.at_head = False
        for path in item.paths:
            data = contents.get(head_paths.get(path, ""))
            if data is not None and (not needle or needle in data):
                item.at_head = True
                break


def _apply_baseline(result: HistoryResult, baseline: Baseline) -> list[HistoryFinding]:
    from guardian.accept import fingerprints

    known = {str(e.get("fingerprint")) for e in baseline.entries}
    kept = []
    for item in result.findings:
        if any(key in known for f in item.per_path() for key in fingerprints(f)):
            result.baselined += 1
        else:
            kept.append(item)
    return kept


# -- the bytes history holds under a directory (for `guardian audit`) ----------------------------


def history_bytes(root: str, directory: str, *, progress: Progress | None = None) -> tuple[int, int, int]:
    """(unique blobs, their total size, missing objects) of every blob any
    ref's history ever stored under ``directory`` (relative to the root;
    "" for the whole repository)."""
    pathspec = [f":(top,literal){directory}"] if directory else []
    log = process.popen(log_args((), all_refs=True, since=None, paths=pathspec), root, stderr=_stderr_file())
    check = process.popen(
        ["cat-file", "--batch-check=%(objectname) %(objectsize)", "--buffer"], root, stdin=subprocess.PIPE
    )
    assert log.stdout is not None and check.stdin is not None and check.stdout is not None
    failure = _Failure()
    seen = OidSet()
    commits = [0]

    def feed() -> None:
        assert log.stdout is not None and check.stdin is not None
        out: list[bytes] = []
        try:
            for _commit, _mode, oid, _path in iter_records(log.stdout, commits):
                if not seen.add(OidSet.key(oid)):
                    continue
                out.append(oid + b"\n")
                if len(out) >= 512:
                    check.stdin.write(b"".join(out))
                    out.clear()
            if out:
                check.stdin.write(b"".join(out))
        finally:
            check.stdin.close()

    thread = threading.Thread(target=failure.guard(feed), daemon=True)
    thread.start()
    count = total = missing = 0
    try:
        for line in check.stdout:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                count += 1
                total += int(parts[1])
            else:
                missing += 1
            if progress is not None and not count & 1023:
                progress.update(commits[0])
        thread.join()
    finally:
        for proc in (log, check):
            if failure.exc is not None and proc.poll() is None:
                proc.kill()
            proc.wait()
    if failure.exc is not None:
        raise failure.exc
    if log.returncode != 0:
        raise GitError(f"git log failed in {root} (exit status {log.returncode}); run `git fsck` to check the objects")
    return count, total, missing


# -- purge script ----------------------------------------------------------------------------------


def _comment(text: str) -> str:
    """Text from a repository as it may stand in a shell comment: ASCII with
    escapes, so no newline (or anything a shell or terminal reads as one)
    can end the comment and start a command."""
    return text.encode("unicode_escape").decode("ascii")


def purge_script(result: HistoryResult, root: str) -> str:
    """A shell script that removes the offending blobs with ``git filter-repo``.

    Guardian never rewrites history itself: the script refuses to run
    without ``--i-understand``, and says what the rewrite does to everyone.
    """
    import datetime

    large = result.large
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    total = sum(item.size for item in large)
    lines = [
        "#!/bin/sh",
        f"# Written by `guardian history` on {now} for {_comment(root)}.",
        f"# Removes {len(large)} blobs ({format_size(total)}) over the max-file-size limit from ALL of history,",
        "# with git filter-repo (https://github.com/newren/git-filter-repo).",
        "#",
        "# WARNING: THIS REWRITES HISTORY. Every commit from the one that introduced",
        "# the first of these blobs onwards gets a new id, on every branch and tag.",
        "#  - Run it in a fresh mirror clone, not in your working copy:",
        "#        git clone --mirror <url> repo-purge && cd repo-purge && sh /path/to/this-script --i-understand",
        "#  - Then publish the result: git push --force --mirror origin",
        "#    (filter-repo drops the origin remote as a safety catch; this script puts",
        "#    it back, because you said --i-understand)",
        "#  - Every collaborator must then re-clone (or hard-reset each branch onto the",
        "#    rewritten one); merging an old clone back brings the blobs back.",
        "#  - Open pull requests must be re-created; forks and caches (CI, GitHub's",
        "#    cached views) keep the old objects until they are cleaned up too.",
        "#  - Signed commits and tags lose their signatures.",
        "#  - A blob still present at HEAD disappears from the current tree as well:",
        "#    commit a replacement (git-lfs, an artifact store) first if it is needed.",
        "#",
        "# Blobs (size, first path, where it stands):",
    ]
    for item in large:
        notes = []
        if item.at_head:
            notes.append("STILL AT HEAD")
        if item.exempt_paths:
            notes.append(f"also stored under exempt path '{_comment(item.exempt_paths[0])}', which loses it too")
        note = f" [{'; '.join(notes)}]" if notes else ""
        shown = _comment(item.paths[0])
        lines.append(f"#   {item.oid}  {format_size(item.size):>10}  {shown}{note}")
    lines += [
        "",
        "set -eu",
        'if [ "${1:-}" != "--i-understand" ]; then',
        '    echo "This script rewrites the history of the repository it runs in. Read its header," >&2',
        '    echo "then run it in a fresh mirror clone as: sh $0 --i-understand" >&2',
        "    exit 2",
        "fi",
        "if ! git filter-repo --version >/dev/null 2>&1; then",
        '    echo "git filter-repo is not installed (pip install git-filter-repo)" >&2',
        "    exit 2",
        "fi",
        'ids=$(mktemp "${TMPDIR:-/tmp}/guardian-purge.XXXXXX")',
        "trap 'rm -f \"$ids\"' EXIT",
        "cat > \"$ids\" <<'GUARDIAN_BLOB_IDS'",
        *(item.oid for item in large),
        "GUARDIAN_BLOB_IDS",
        "origin=$(git remote get-url origin 2>/dev/null || true)",
        'git filter-repo --strip-blobs-with-ids "$ids"',
        'if [ -n "$origin" ] && ! git remote get-url origin >/dev/null 2>&1; then',
        '    git remote add origin "$origin"',
        "fi",
        (
            'echo "Done. Check the result, then: git push --force --mirror origin;'
            ' tell every collaborator to re-clone." >&2'
        ),
        "",
    ]
    return "\n".join(lines)


# -- reports ----------------------------------------------------------------------------------------


def render(result: HistoryResult, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return json_text(as_dict(result))
    if fmt == "sarif":
        return json_text(as_sarif(result))
    return render_text(result, color=color)


def _finding_dict(item: HistoryFinding) -> dict[str, object]:
    from guardian.report.json_report import finding_dict

    return {
        **finding_dict(item.finding),
        "fixable": False,
        "paths": item.paths,
        "exempt_paths": item.exempt_paths,
        "blob": item.oid or None,
        "size": item.size if item.oid else None,
        "commit": item.commit.to_dict() if item.commit is not None else None,
        "at_head": item.at_head,
        "refs": item.refs,
    }


def as_dict(result: HistoryResult) -> dict[str, object]:
    from guardian import __version__

    large = result.large
    return {
        "version": 1,
        "kind": "history",
        "tool": {"name": "guardian", "version": __version__},
        "policy": result.policy_source,
        "checked": result.label,
        "rules": result.rules,
        "summary": {
            "commits": result.commits,
            "blob_versions": result.blob_versions,
            "blobs_read": result.blobs_read,
            "ref_tips": result.tips,
            "errors": result.errors,
            "warnings": result.warnings_count,
            "suppressed": result.suppressed,
            "baselined": result.baselined,
            "large_blobs": len(large),
            "large_bytes": sum(item.size for item in large),
            "large_bytes_at_head": sum(item.size for item in large if item.at_head),
            "missing_objects": result.missing_count,
        },
        "limit": result.limit,
        "max_content_size": result.max_content_size,
        "findings": [_finding_dict(item) for item in result.findings],
        "skipped": [
            {"blob": oid, "path": path, "size": size, "reason": "larger than max-content-size"}
            for oid, path, size in result.skipped
        ],
        "missing_objects": result.missing,
        "not_run": [{"rule": rule, "reason": reason} for rule, reason in result.not_run],
        "warnings": result.warnings,
    }


def as_sarif(result: HistoryResult) -> dict[str, object]:
    """SARIF from the shared renderer, each result carrying its history."""
    from guardian.model import Result
    from guardian.report.sarif_report import as_dict as sarif_dict

    plain = Result()
    plain.rules = result.rules
    plain.policy_source = result.policy_source
    plain.label = result.label
    plain.findings = [item.finding for item in result.findings]
    doc = sarif_dict(plain)
    runs = doc["runs"]
    assert isinstance(runs, list)
    for sarif_result, item in zip(runs[0]["results"], result.findings, strict=True):
        props: dict[str, object] = {"paths": item.paths}
        if item.oid:
            props.update(blob=item.oid, size=item.size, atHead=item.at_head)
        if item.commit is not None:
            props["commit"] = item.commit.to_dict()
        if item.refs:
            props["refs"] = item.refs
        sarif_result["properties"] = props
    return doc


def _short_list(items: Sequence[str], limit: int = _MAX_SHOWN_PATHS) -> str:
    from guardian.output import printable

    shown = ", ".join(printable(p) for p in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def render_text(result: HistoryResult, *, color: bool = False) -> str:
    from guardian.output import printable
    from guardian.report.text_report import location, plural

    red, yellow, bold, dim, reset = ("\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m") if color else ("",) * 5
    lines: list[str] = []
    large = result.large
    if large:
        assert result.limit is not None
        lines.append(f"{bold}Blobs over the {format_size(result.limit)} limit, largest first:{reset}")
        lines.append(f"  {'SIZE':>10}  {'BLOB':<12}  {'INTRODUCED':<40}  {'HEAD':<4}  PATHS")
        for item in large:
            commit = item.commit
            when = f"{commit.id[:12]} {commit.date[:10]} {commit.author.split(' <')[0]}" if commit else "?"
            head = "yes" if item.at_head else "no"
            paths = _short_list(item.paths)
            lines.append(f"  {format_size(item.size):>10}  {item.oid[:12]:<12}  {when[:40]:<40}  {head:<4}  {paths}")
            if item.exempt_paths:
                lines.append(f"  {'':>10}  {'':<12}  {dim}also under exempt {_short_list(item.exempt_paths)}{reset}")
        total = sum(item.size for item in large)
        at_head = [item for item in large if item.at_head]
        lines.append(
            f"  {plural(len(large), 'blob')}, {format_size(total)} in total; "
            f"{len(at_head)} still at HEAD ({format_size(sum(i.size for i in at_head))})."
        )
        lines.append("")
    others = [item for item in result.findings if item.rule != SIZE_RULE]
    for item in others:
        f = item.finding
        rule = f"{red if f.severity == ERROR else yellow}{f.rule}{reset}"
        lines.append(f"{bold}{location(f)}{reset}: {rule} {printable(f.message)}")
        if item.oid:
            commit = item.commit
            who = commit.author.split(" <")[0] if commit else ""
            intro = f", introduced in {commit.id[:12]} ({commit.date[:10]}, {who})" if commit else ""
            also = f"; also stored as {_short_list(item.paths[1:])}" if len(item.paths) > 1 else ""
            head = "" if item.at_head else "; no longer at HEAD"
            lines.append(f"    {dim}blob {item.oid[:12]}{intro}{also}{head}{reset}")
        elif item.refs:
            lines.append(f"    {dim}at {_short_list(item.refs, 3)}{reset}")
    if others:
        lines.append("")
    for oid, path, size in result.skipped[:20]:
        lines.append(
            f"skipped: {printable(path)} (blob {oid[:12]}, {format_size(size)}) is larger than max-content-size "
            f"({format_size(result.max_content_size)}); content rules did not read it"
        )
    if len(result.skipped) > 20:
        lines.append(f"skipped: {len(result.skipped) - 20} more blobs over max-content-size (see --format json)")
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def summary(result: HistoryResult) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n:,} {word}{'' if n == 1 else 's'}"

    scope = f"{plural(result.commits, 'commit')} of {result.label}"
    if result.findings:
        head = (
            f"Found {plural(result.errors, 'error')} and {plural(result.warnings_count, 'warning')} "
            f"in the history of {scope}"
        )
    else:
        head = f"No violations in the history of {scope}"
    extras = [f"{plural(result.blob_versions, 'blob version')} sized", f"{plural(result.blobs_read, 'blob')} read"]
    if result.tips:
        extras.append(f"{plural(result.tips, 'ref tip')} judged")
    if result.suppressed:
        extras.append(f"{result.suppressed} suppressed inline")
    if result.baselined:
        extras.append(f"{result.baselined} in the baseline")
    if result.skipped:
        extras.append(f"{plural(len(result.skipped), 'blob')} over max-content-size skipped")
    if result.missing_count:
        extras.append(f"{plural(result.missing_count, 'missing object')}")
    from guardian.output import printable

    return f"{head} ({'; '.join(extras)}). Policy: {printable(result.policy_source)}."
