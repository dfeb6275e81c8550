"""Objects in batches: sizes from one ``cat-file --batch-check``, bytes from
one ``cat-file --batch`` stream, loose objects read without git, and trees
of many commits through one process."""

from __future__ import annotations

import collections
import contextlib
import os

from guardian.errors import GitError
from guardian.git.process import decode_path, popen, run
from guardian.model import FileEntry

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterable, Iterator, Sequence

_PARTIAL: dict[str, bool] = {}
_MISSING: dict[str, frozenset[str]] = {}


def is_partial(cwd: str) -> bool:
    """Whether the repository is a partial clone (objects may be missing)."""
    if cwd not in _PARTIAL:
        out = run(["config", "--get-regexp", r"^(remote\..*\.promisor|extensions\.partialclone)$"], cwd, check=False)
        _PARTIAL[cwd] = bool(out.stdout.strip())
    return _PARTIAL[cwd]


def missing_objects(cwd: str) -> frozenset[str]:
    """Ids of the objects a partial clone does not have, among those reachable
    from any ref or the index (empty for a complete repository). git stops
    at the first missing object when asked for it, so it is asked for this
    list instead, once per run."""
    if not is_partial(cwd):
        return frozenset()
    if cwd not in _MISSING:
        out = run(["rev-list", "--objects", "--all", "--indexed-objects", "--missing=print"], cwd, check=False)
        _MISSING[cwd] = frozenset(line[1:].decode() for line in out.stdout.splitlines() if line.startswith(b"?"))
    return _MISSING[cwd]


#: Work tree root -> its objects directory, learnt by ``queries.toplevel``
#: (the same git call answers both), for ``loose_object``.
OBJECT_DIRS: dict[str, str] = {}


def loose_object(root: str, oid: str, max_size: int) -> tuple[int, bytes | None] | None:
    """(size, bytes) of a blob stored as a loose object, read directly: what
    ``git add`` just wrote, so a hook's few files need no git process. The
    bytes are None when the blob is over ``max_size``. None when the blob is
    not loose (packed, in an alternate, missing) or ``root`` was not located
    by ``toplevel``: ask git then."""
    objects = OBJECT_DIRS.get(root)
    if objects is None or len(oid) < 3:
        return None
    import zlib

    try:
        with open(os.path.join(objects, oid[:2], oid[2:]), "rb") as fh:
            stream = zlib.decompressobj()
            head = stream.decompress(fh.read(4096), 64)
            kind, _, rest = head.partition(b" ")
            size_text, nul, body = rest.partition(b"\0")
            if kind != b"blob" or not nul or not size_text.isdigit():
                return None
            size = int(size_text)
            if size > max_size:
                return size, None
            parts = [body, stream.decompress(stream.unconsumed_tail)]
            while not stream.eof:
                chunk = fh.read(1 << 16)
                if not chunk:
                    return None
                parts.append(stream.decompress(chunk))
    except (OSError, zlib.error):
        return None
    data = b"".join(parts)
    return (size, data) if len(data) == size else None


def batch_check(oids: Iterable[str], cwd: str) -> dict[str, int]:
    """Sizes of objects from one ``cat-file --batch-check`` process; missing
    objects (partial clones) are left out."""
    absent = missing_objects(cwd)
    wanted = [oid for oid in dict.fromkeys(oids) if oid not in absent]
    if not wanted:
        return {}
    proc = run(
        ["cat-file", "--batch-check=%(objectname) %(objectsize)"],
        cwd,
        input=("\n".join(wanted) + "\n").encode(),
    )
    sizes: dict[str, int] = {}
    for line in proc.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


class CatFile:
    """One ``git cat-file --batch`` process streaming many blobs.

    ``read_many`` writes the requests from a thread while the caller reads,
    so neither side waits on a full pipe, and each blob's bytes are handed
    over and released one at a time.
    """

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd

    def read_many(self, oids: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        if not oids:
            return
        absent = missing_objects(self.cwd)
        if absent:
            present = [oid for oid in oids if oid not in absent]
            contents = dict(self._read(present)) if present else {}
            for oid in oids:
                yield oid, contents.get(oid)
            return
        yield from self._read(oids)

    def _read(self, oids: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        if not oids:
            return
        import subprocess

        request = ("\n".join(oids) + "\n").encode()
        proc = popen(["cat-file", "--batch"], self.cwd, stdin=subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        writer = None
        if len(request) <= 32768:
            # Fits in any pipe buffer: no thread needed.
            proc.stdin.write(request)
            proc.stdin.close()
        else:
            import threading

            def feed() -> None:
                assert proc.stdin is not None
                try:
                    proc.stdin.write(request)
                    proc.stdin.close()
                except (BrokenPipeError, OSError):
                    pass

            writer = threading.Thread(target=feed, daemon=True)
            writer.start()
        out = proc.stdout
        try:
            for oid in oids:
                header = out.readline()
                if not header:
                    raise GitError(f"git cat-file stopped early in {self.cwd} (object {oid})")
                parts = header.split()
                if len(parts) < 3 or parts[1] == b"missing":
                    # Partial clone or a removed loose object: no bytes.
                    yield oid, None
                    continue
                size = int(parts[2])
                data = out.read(size)
                out.read(1)  # the newline after the content
                yield oid, data
        finally:
            out.close()
            proc.wait()
            if writer is not None:
                writer.join()


class TreeReader:
    """The trees of many commits through one ``cat-file --batch`` process.

    Each tree object is read and parsed once: ref tips share most of their
    subtrees, so a thousand tips cost about one tree plus what changed
    between them, where ``ls-tree -r`` per tip would list every file of
    every tip. Small blobs read for the rules are kept too (.gitignore
    files are the same at most tips).
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self._proc: subprocess.Popen[bytes] | None = None
        #: (directory prefix, tree id) -> every entry below, in ``ls-tree -r``
        #: order; the least recently used go first once it is full.
        self._below: collections.OrderedDict[tuple[str, str], list[FileEntry]] = collections.OrderedDict()
        self._held = 0
        self._blobs: dict[str, bytes | None] = {}

    def _object(self, oid: str) -> tuple[bytes, bytes] | None:
        """(type, bytes) of one object, or None when the repository lacks it."""
        if self._proc is None:
            import subprocess

            self._proc = popen(["cat-file", "--batch"], self.root, stdin=subprocess.PIPE)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(oid.encode() + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().split()
        if len(header) != 3:
            if not header:
                raise GitError(f"git cat-file stopped early in {self.root} (object {oid})")
            return None  # "<oid> missing": a partial clone
        data = self._proc.stdout.read(int(header[2]) + 1)[:-1]
        return header[1], data

    def entries(self, tree: str, prefix: str = "") -> list[FileEntry]:
        """Every blob and gitlink below ``tree``, paths starting ``prefix``."""
        key = (prefix, tree)
        known = self._below.get(key)
        if known is not None:
            self._below.move_to_end(key)
            return known
        found = self._object(tree)
        if found is None or found[0] != b"tree":
            raise GitError(f"tree {tree} ({prefix or 'a ref tip'}) is missing in {self.root}; run `git fsck`")
        out: list[FileEntry] = []
        data, pos, width = found[1], 0, len(tree) // 2
        while pos < len(data):
            space = data.index(b" ", pos)
            nul = data.index(b"\0", space)
            mode = data[pos:space].decode()
            name = decode_path(data[space + 1 : nul])
            oid = data[nul + 1 : nul + 1 + width].hex()
            pos = nul + 1 + width
            if mode == "40000":
                out.extend(self.entries(oid, f"{prefix}{name}/"))
            else:
                out.append(FileEntry(prefix + name, -1, mode.zfill(6), oid, new=True))
        if prefix:  # a tip's own list is new each time; subtrees are shared
            self._below[key] = out
            self._held += len(out)
            while self._held > _TREE_MEMO_ENTRIES and len(self._below) > 1:
                self._held -= len(self._below.popitem(last=False)[1])
        return out

    def read(self, oid: str) -> bytes | None:
        if oid in self._blobs:
            return self._blobs[oid]
        found = self._object(oid)
        data = found[1] if found is not None and found[0] == b"blob" else None
        if data is None or len(data) <= _KEPT_BLOB_BYTES:
            self._blobs[oid] = data
        return data

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None and self._proc.stdout is not None
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
            self._proc.stdout.close()
            self._proc.wait()
            self._proc = None


#: Subtree entries ``TreeReader`` keeps (about 3 MB): memory stays flat
#: however many refs and however long the history.
_TREE_MEMO_ENTRIES = 20_000
_KEPT_BLOB_BYTES = 1 << 20


#: Subtree entries ``TreeReader`` keeps (about 3 MB): memory stays flat
#: however many refs and however long the history.
_TREE_MEMO_ENTRIES = 20_000
_KEPT_BLOB_BYTES = 1 << 20
