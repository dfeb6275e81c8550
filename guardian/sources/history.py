"""Every blob a repository's history holds, streamed once: the history source.

It judges nothing. It reads git, hands each unique blob a content rule looks
at to whoever judges (a ``Judge``), and remembers what only a pass over
history can tell: every path a large blob was stored under and the oldest
commit that stored it. Memory stays flat however long the history is:

1. ``git log --raw --no-renames --root -c -z`` lists, commit by commit, every
   (path, blob) pair a commit adds or changes. Every pair any commit's tree
   holds appears there at least once: a pair is either inherited from a parent
   or shown in that commit's diff (``-c`` shows what a merge holds that none
   of its parents do). So every path a blob was ever stored under, and the
   oldest commit that stored it, come out of this one pass.
2. Sizes come from one listing of every object the repository holds
   (``cat-file --batch-all-objects --batch-check``, object headers only,
   alongside the log): the blobs over the size limit by id, and a hash of
   every blob's id, to tell a missing one. Each pair of the log is then a
   lookup: no git process is asked about each version, and no blob content
   is read for sizes.
3. Pairs whose path the judge has rules for (a *profile*) go straight from
   the log, each unique blob once (``OidSet``), to one ``git cat-file
   --batch`` process, oldest first. (Two processes taking blobs in turn were
   measured: each keeps its own cache of delta bases, so together they
   inflated more and the scan was slower.) A blob seen again under another path or
   commit is told to the judge (``seen_again``) in its place in the log's
   order, after the blob itself: the judge hears every event in the order
   the log gave it, so what it decides does not depend on how far the log
   ran ahead of the reader. Blobs larger than ``max-content-size``
   (from the same listing) are never asked for,
   and a large blob no binary-reading rule wants is dropped when its first
   8000 bytes say it is binary. Pipes are grown to 1 MiB, so git and Python
   do not wake each other for every blob.

Missing objects (partial or shallow clones, a damaged repository) are
reported by id and skipped; the pass goes on and never fetches.
"""

from __future__ import annotations

import collections
import contextlib
import os
import subprocess
import threading

from guardian.errors import GitError
from guardian.git import objects, process, records
from guardian.git.packs import BlobHeads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import IO, Protocol

    from guardian.progress import Progress

    class Judge(Protocol):
        """What the pass hands blobs to (``guardian.scans.history``)."""

        def profile(self, raw_path: bytes, mode: bytes) -> int:
            """The profile of a path (0: no content rule reads it); called by the log's reader."""

        def reads_binary(self, pid: bytes) -> bool:
            """Whether a rule of this profile reads binary blobs."""

        def judge(
            self, oid: bytes, pid: bytes, commit: bytes, old: bytes, path: bytes, data: bytes, size: int
        ) -> object:
            """Judge one unique blob (its first version met); the answer goes to ``settle``."""

        def settle(self, oid: bytes, pid: bytes, commit: bytes, path: bytes, size: int, verdict: object) -> None:
            """Right after ``judge`` (``verdict`` None: the blob was not judged, being binary)."""

        def seen_again(self, oid: bytes, pid: bytes, commit: bytes, path: bytes) -> None:
            """A blob met before (judged, left unjudged, or missing), under another path or commit."""


#: Reads of a streamed output, and the size of git's pipes.
_CHUNK = process.PIPE_SIZE
_MAX_MISSING_IDS = 1000
#: git's binary test reads this many bytes from the start of a blob.
BINARY_PROBE = 8000
#: Kinds of what the log tells the content reader besides blobs to read.
_SEEN, _OVERSIZED = b"seen", b"oversized"


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


def path_of(pid: bytes, field: bytes) -> str:
    """The path a request carried, hex-encoded when its profile id ends in h."""
    return process.decode_path(bytes.fromhex(field.decode()) if pid.endswith(b"h") else field)


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


class Large:
    """A blob over the size limit: its size, every path it was stored under
    (in the order the log lists them) and the oldest commit that stored it."""

    __slots__ = ("commit", "paths", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.paths: dict[str, None] = {}
        self.commit = b""


class _Objects:
    """What one listing of every object tells: the blobs over the size
    limit and over max-content-size, and which blobs exist at all."""

    __slots__ = ("blobs", "large", "oversized")

    def __init__(self) -> None:
        #: Blob id -> size, for blobs over the size limit.
        self.large: dict[bytes, int] = {}
        #: Blob id -> size, for blobs over max-content-size.
        self.oversized: dict[bytes, int] = {}
        #: The hash of every blob's id (64 bits: two ids are taken for one
        #: about once in 10^19 pairs), a tenth of what a set of the ids costs.
        self.blobs: set[int] = set()

    def has(self, oid: bytes) -> bool:
        """Whether the repository holds this blob."""
        return hash(oid) in self.blobs


#: Blobs larger than this are worth a look at their head before git is asked for them whole.
_PEEK_OVER = 256 * 1024
#: What the object listing says of each object.
_LISTING = "%(objectsize) %(objecttype) %(objectname)"
#: Versions the log may run ahead of the object listing before it waits for it.
_MAX_BACKLOG = 500_000


class HistoryPass:
    """One streamed pass over history: the size of every (path, blob) pair,
    the bytes of each unique blob a profile wants, handed to ``judge``."""

    def __init__(
        self,
        root: str,
        args: list[str],
        *,
        limit: int | None,
        judge: Judge | None,
        max_content: int,
        progress: Progress | None,
        total_commits: list[int],
        oldest_first: bool = False,
    ) -> None:
        self.root = root
        self.args = args
        self.limit = limit
        self.judge = judge
        self.max_content = max_content
        self.progress = progress
        self.total_commits = total_commits
        self.oldest_first = oldest_first
        #: Blobs over ``limit``, by id.
        self.large: dict[str, Large] = {}
        #: Blobs over max-content-size: id -> (path, size).
        self.skipped: dict[str, tuple[str, int]] = {}
        self.missing: dict[str, None] = {}
        self.missing_count = 0
        self.commits = [0]
        #: (path, blob) pairs looked up, and unique blobs whose bytes were read.
        self.versions = 0
        self.read = 0
        #: Blobs over max-content-size, once listed.
        self.oversized: dict[bytes, int] | None = None
        #: Blobs over ``_PEEK_OVER``, once listed: their head is read first,
        #: without git, where no rule of their profile reads binary.
        self.big: dict[bytes, int] | None = None
        self._heads: BlobHeads | None = None
        self._reads_binary: dict[bytes, bool] = {}
        #: Blobs found binary by their head and never read whole.
        self.peeked = 0
        #: What the content reader hears, in the log's order: None for a blob
        #: sent to ``cat-file --batch`` (its answer comes from there),
        #: (``_OVERSIZED``, blob, profile, path field, size) for one over
        #: max-content-size that was not, and (``_SEEN``, blob, profile,
        #: commit, path field) for a blob met again.
        self._queue: collections.deque[tuple[bytes, bytes, bytes, bytes, int | bytes] | None] = collections.deque()
        #: Missing blobs the content reader met, and versions of them seen.
        self._missing_oids: set[bytes] = set()
        self.missing_versions = 0
        #: The object listing, once done (set with ``_listed``).
        self._objects: _Objects | None = None
        self._listed = threading.Event()

    # -- the log's reader: records -> requests ------------------------------------------
    def _feed(self, log_out: IO[bytes], content_in: IO[bytes] | None) -> None:
        """Turn log records into sizes (when a limit is set: each version
        looked up in the object listing) and into requests, ``<blob>
        <profile> <commit> <previous blob> <path>``, straight to ``cat-file
        --batch`` for each unique blob a profile wants."""
        sizes = self.limit is not None
        objects_listed: _Objects | None = None
        backlog: list[tuple[bytes, bytes, bytes]] = []
        progress = self.progress
        profile = self.judge.profile if content_in is not None and self.judge is not None else None
        absent = objects.missing_objects(self.root)
        queue = self._queue
        counter = self.commits
        read = getattr(log_out, "read1", log_out.read)
        reader = records.RawRecords()
        wanted: list[bytes] = []
        seen = OidSet()
        key_of, add = OidSet.key, seen.add
        deleted, gitlink = b"000000", b"160000"
        versions = 0
        try:
            while True:
                chunk = read(_CHUNK)
                if not chunk:
                    break
                for commit, mode, old, oid, _status, field, _source in reader.feed(chunk):
                    if mode in (deleted, gitlink):
                        continue
                    if absent and oid.decode() in absent:
                        # A partial clone lacks it: cat-file would stop here.
                        self._missing(oid)
                        continue
                    if sizes:
                        if objects_listed is None:
                            backlog.append((oid, commit, field))
                        else:
                            versions += self._sized(objects_listed, oid, commit, field)
                    pid = profile(field, mode) if profile is not None else 0
                    if not pid:
                        continue
                    if not sizes:
                        versions += 1
                    if b"\n" in field or field.endswith(b"\r"):
                        # cat-file reads lines: such a path travels hex-encoded.
                        pid_field, field = b"%dh" % pid, field.hex().encode()
                    else:
                        pid_field = b"%d" % pid
                    request = b"%s %s %s %s %s\n" % (oid, pid_field, commit, old, field)
                    if not add(key_of(oid, pid)):
                        # Sent for judging already (another path, branch or commit).
                        queue.append((_SEEN, oid, pid_field, commit, field))
                        continue
                    oversized = self.oversized
                    if oversized is not None and oid in oversized:
                        # Never asked for; the reader reports it in its turn.
                        queue.append((_OVERSIZED, oid, pid_field, field, oversized[oid]))
                        continue
                    big = self.big
                    if big is not None and oid in big and self._binary_unread(oid, pid_field):
                        continue  # binary, and no rule of its profile reads binary: never asked for
                    queue.append(None)
                    wanted.append(request)
                counter[0] = reader.commits
                if sizes and objects_listed is None and (self._listed.is_set() or len(backlog) > _MAX_BACKLOG):
                    objects_listed = self._wait_for_objects()
                    versions += sum(self._sized(objects_listed, *item) for item in backlog)
                    backlog.clear()
                if progress is not None and sizes:
                    progress.extra = f"{versions:,} blob versions"
                    progress.update(counter[0], self.total_commits[0] or None)
                # Each chunk's requests go at once: git never waits on
                # requests held in our buffers.
                if wanted and content_in is not None:
                    content_in.write(b"".join(wanted))
                    content_in.flush()
                    wanted.clear()
        finally:
            if content_in is not None:
                with contextlib.suppress(OSError):
                    content_in.close()
        if sizes and objects_listed is None:
            objects_listed = self._wait_for_objects()
            versions += sum(self._sized(objects_listed, *item) for item in backlog)
        self.versions = versions

    def _binary_unread(self, oid: bytes, pid_field: bytes) -> bool:
        """Whether a large blob is binary, by its head read without git, and
        no rule of its profile reads binary blobs (the feeder's thread)."""
        assert self.judge is not None
        reads_binary = self._reads_binary.get(pid_field)
        if reads_binary is None:
            reads_binary = self._reads_binary[pid_field] = self.judge.reads_binary(pid_field)
        if reads_binary:
            return False
        if self._heads is None:
            where = process.run(["rev-parse", "--git-path", "objects"], self.root).stdout.strip()
            self._heads = BlobHeads(os.path.join(self.root, process.decode_path(where)), len(oid) // 2)
        head = self._heads.head(oid, BINARY_PROBE)
        if head is None or b"\0" not in head:
            return False  # not readable here (a delta), or text: read it through git
        self.peeked += 1
        return True

    def _wait_for_objects(self) -> _Objects:
        self._listed.wait()
        if self._objects is None:  # the listing failed: its thread reports why
            raise GitError(f"git cat-file --batch-all-objects failed in {self.root}")
        return self._objects

    def _sized(self, listed: _Objects, oid: bytes, commit: bytes, field: bytes) -> int:
        """One version of a blob, looked up: kept when over the size limit; 0 when the blob is missing."""
        size = listed.large.get(oid)
        if size is None:
            if listed.has(oid):
                return 1
            self._missing(oid)
            return 0
        key = oid.decode()
        item = self.large.get(key)
        if item is None:
            item = self.large[key] = Large(size)
        item.paths.setdefault(process.decode_path(field), None)
        if not (self.oldest_first and item.commit):
            item.commit = commit  # the oldest commit that stored it
        return 1

    def _another_path(self, oid: bytes, pid: bytes, commit: bytes, path_field: bytes) -> None:
        """A blob already sent for judging, seen again (the content reader, in its turn)."""
        if oid in self._missing_oids:
            self._missing_version(oid)
        elif self.judge is not None:
            self.judge.seen_again(oid, pid, commit, path_field)

    def _list_objects(self) -> None:
        """Every object the repository holds, from one ``cat-file
        --batch-all-objects`` (it reads object headers only), alongside the
        log: the blobs over the size limit, every blob's id (to tell a
        missing one), and the blobs over ``max-content-size``, so that git is
        not asked for their bytes (blobs requested before the listing is done
        are read and dropped by the reader)."""
        limit = self.limit
        bound = self.max_content if self.judge is not None else None
        # A size with fewer digits than a bound is under it.
        peek = _PEEK_OVER if bound is not None else None
        digits = min(len(str(b)) for b in (limit, bound, peek) if b is not None)
        listed = _Objects()
        large, oversized = listed.large, listed.oversized
        big: dict[bytes, int] = {}
        blob = listed.blobs.add
        proc = process.popen(
            [
                "cat-file",
                "--batch-all-objects",
                "--unordered",
                "--batch-check=%(objectsize) %(objecttype) %(objectname)",
            ],
            self.root,
        )
        if limit is None:
            # Only a helper of the content reader: it runs on whatever CPU the scan leaves.
            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, proc.pid, 10)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                space = line.find(b" ")
                if line[space + 1 : space + 6] != b"blob ":
                    continue
                oid = line[space + 6 : -1]
                if limit is not None:
                    blob(hash(oid))
                if space < digits:
                    continue
                size = int(line[:space])
                if limit is not None and size > limit:
                    large[oid] = size
                if bound is not None and size > bound:
                    oversized[oid] = size
                elif bound is not None and size > _PEEK_OVER:
                    big[oid] = size
            proc.stdout.close()
            if proc.wait() != 0:
                raise GitError(
                    f"git cat-file --batch-all-objects failed in {self.root} (exit status {proc.returncode})"
                )
            if bound is not None:
                self.oversized = oversized
                self.big = big
            self._objects = listed
        finally:
            self._listed.set()

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

    # -- the content reader: blob bytes -> the judge ---------------------------------------
    def _read_content(self, content_out: IO[bytes]) -> None:
        readline, read = content_out.readline, content_out.read
        judge = self.judge
        assert judge is not None
        max_content = self.max_content
        count_missing = self.limit is None
        progress = self.progress if count_missing else None
        queue = self._queue
        binary_readers: dict[bytes, bool] = {}
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
                if len(parts) >= 2 and parts[1] == b"missing" and count_missing:
                    # Without a size pass, missing versions are told here
                    # (this one, and each met again, in its turn).
                    self._missing_oids.add(parts[0])
                    self._missing_version(parts[0])
                continue
            oid, _type, size_text, pid, commit, old, path_field = parts
            size = int(size_text)
            if size > max_content:
                # Not in the list of blobs over the bound (a replacement
                # object, say): its bytes go unread all the same.
                self._drain(content_out, size + 1)
                self.skipped.setdefault(oid.decode(), (path_of(pid, path_field), size))
                continue
            reads_binary = binary_readers.get(pid)
            if reads_binary is None:
                reads_binary = binary_readers[pid] = judge.reads_binary(pid)
            verdict: object = None
            if size > BINARY_PROBE and not reads_binary:
                # A large blob no rule reads when binary: its head decides
                # whether the rest is needed at all.
                head = read(BINARY_PROBE)
                if b"\0" in head:
                    # Not counted as read, like one told binary without git
                    # (``_binary_unread``): which of the two a blob meets
                    # depends on whether the object listing came first.
                    self._drain(content_out, size - len(head) + 1)
                else:
                    data = head + read(size - len(head))
                    read(1)
                    self._count_read(progress)
                    verdict = judge.judge(oid, pid, commit, old, path_field, data, size)
            else:
                self._count_read(progress)
                data = read(size)
                read(1)
                verdict = judge.judge(oid, pid, commit, old, path_field, data, size)
            judge.settle(oid, pid, commit, path_field, size, verdict)

    def _count_read(self, progress: Progress | None) -> None:
        """One more blob whose bytes reach the rules."""
        self.read += 1
        if progress is not None and not self.read & 1023:
            progress.extra = f"{self.read:,} blobs read"
            progress.update(self.commits[0], self.total_commits[0] or None)

    def _take_turn(self) -> None:
        """Tell what the log met before the next blob sent to ``cat-file``
        (all that is left, at the end): blobs over max-content-size, and
        blobs met again."""
        queue = self._queue
        while queue:
            item = queue.popleft()
            if item is None:
                return
            kind, oid, pid_field, field, rest = item
            if kind is _SEEN:
                assert isinstance(rest, bytes)
                self._another_path(oid, pid_field, field, rest)
            else:
                assert isinstance(rest, int)
                self.skipped.setdefault(oid.decode(), (path_of(pid_field, field), rest))

    @staticmethod
    def _drain(stream: IO[bytes], size: int) -> None:
        """Read and drop ``size`` bytes, a chunk at a time."""
        while size > 0:
            got = len(stream.read(min(size, _CHUNK)))
            if not got:
                return
            size -= got

    def run(self) -> None:
        log_err = _stderr_file()
        log = process.popen(self.args, self.root, stderr=log_err)
        content: subprocess.Popen[bytes] | None = None
        procs = [log]
        threads: list[threading.Thread] = []
        failure = _Failure()
        ok = False
        try:
            if self.judge is not None:
                content_fmt = "--batch=%(objectname) %(objecttype) %(objectsize) %(rest)"
                content = process.popen(["cat-file", content_fmt, "--buffer"], self.root, stdin=subprocess.PIPE)
                procs.append(content)
            lister = threading.Thread(target=failure.guard(self._list_objects), daemon=True)
            lister.start()
            threads.append(lister)
            log_out = log.stdout
            content_in = content.stdin if content is not None else None
            assert log_out is not None
            feeder = threading.Thread(target=failure.guard(lambda: self._feed(log_out, content_in)), daemon=True)
            feeder.start()
            threads.append(feeder)
            # The main thread reads blob contents, if any are wanted.
            if content is not None:
                assert content.stdout is not None
                self._read_content(content.stdout)
            for thread in threads:
                thread.join()
            ok = failure.exc is None
        finally:
            for proc in procs:
                if not ok and proc.poll() is None:
                    proc.kill()
            for proc in procs:
                proc.wait()
            if self._heads is not None:
                self._heads.close()
        if failure.exc is not None:
            raise failure.exc
        if self.limit is None:
            self.versions -= self.missing_versions
        problem = _last_error_line(log_err) if log.returncode != 0 else ""
        log_err.close()
        if log.returncode != 0:
            raise GitError(
                f"git log failed in {self.root}: {problem or f'exit status {log.returncode}'}; "
                "check the revisions, or run `git fsck` if objects are damaged"
            )


def count_commits(root: str, revs: Sequence[str], all_refs: bool, since: str | None, out: list[int]) -> None:
    """How many commits a scan will read, into ``out[0]`` (for the progress display)."""
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
        reader = records.RawRecords()
        read = getattr(log.stdout, "read1", log.stdout.read)
        out: list[bytes] = []
        try:
            while chunk := read(_CHUNK):
                for record in reader.feed(chunk):
                    if records.is_content(record) and seen.add(OidSet.key(record[3])):
                        out.append(record[3] + b"\n")
                commits[0] = reader.commits
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
