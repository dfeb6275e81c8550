"""Sources: where a snapshot's files come from.

- ``IndexSnapshot``: the staged index (the hooks' default) or every tracked file.
- ``RangeSnapshot``: the blobs that commits ``A..B`` add (pre-push, CI).
- ``DiskSnapshot``: explicit files on disk, outside git's view.

Each reads git in batches (see ``guardian.git``) and knows nothing of rules.
"""

from __future__ import annotations

import os
import stat

from guardian.errors import GuardianError
from guardian.git import objects, process, queries
from guardian.model import MODE_SYMLINK, FileEntry, Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

ZERO_OID = "0" * 40


class GitSnapshot(Snapshot):
    """Shared plumbing of the snapshots that read blobs from git."""

    def __init__(self, root: str) -> None:
        #: The work tree root git runs in (``root`` may be None elsewhere).
        self.repo: str = root
        self.root = root
        self._tree: list[FileEntry] | None = None
        #: A work tree whose files may hold the very bytes of the blobs
        #: under check (each one verified by its object id before use).
        self.worktree: str | None = None

    def with_sizes(self, entries: Sequence[FileEntry]) -> Sequence[FileEntry]:
        unknown = [e.oid for e in entries if e.size < 0 and e.oid and not e.is_submodule]
        if unknown:
            sizes = objects.batch_check(unknown, self.repo)
            for entry in entries:
                if entry.size < 0:
                    entry.size = sizes.get(entry.oid, 0 if entry.is_submodule else -1)
        return entries

    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        wanted = [e for e in entries if e.oid and not e.is_submodule]
        if self.worktree is not None:
            # A clean file in the work tree holds its blob's bytes: reading
            # and hashing it costs a fraction of git inflating the object.
            from_git = []
            for entry in wanted:
                data = worktree_blob(self.worktree, entry)
                if data is None:
                    from_git.append(entry)
                else:
                    yield entry, data
            wanted = from_git
        reader = objects.CatFile(self.repo)
        for entry, (_oid, data) in zip(wanted, reader.read_many([e.oid for e in wanted]), strict=True):
            yield entry, data


def worktree_blob(root: str, entry: FileEntry, *, max_size: int | None = None) -> bytes | None:
    """The bytes of ``entry``'s blob read from its file under ``root``, or
    None unless that file is a regular file whose bytes hash to the blob's
    id (an edit, a clean/smudge filter or line-ending conversion all make
    the answer None, and the caller asks git instead). A file over
    ``max_size`` is not read."""
    if entry.mode not in ("100644", "100755"):
        return None
    data, _why = read_file(
        os.path.join(root, entry.path), max_size=_NO_LIMIT if max_size is None else max_size, size=entry.size
    )
    if data is None:
        return None
    return data if blob_id(data, len(entry.oid)) == entry.oid else None


_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_NO_LIMIT = 1 << 62


def read_file(
    path: str, *, max_size: int, size: int = -1, follow: bool = False, limit_name: str = "max-content-size"
) -> tuple[bytes | None, str]:
    """(bytes, "") of the regular file at ``path``, or (None, why not).

    Every read of a user's file goes through here: it follows no symbolic
    link put in a file's place (unless ``follow``: a configuration file may
    be one), never blocks on a FIFO or a device, and never reads past
    ``max_size`` (or past ``size``, when the caller knows the size it
    expects), so a 3 GiB file costs nothing."""
    flags = _OPEN_FLAGS & ~_NOFOLLOW if follow else _OPEN_FLAGS
    try:
        fd = os.open(path, os.O_RDONLY | flags)
    except OSError as exc:
        if not follow and _NOFOLLOW and os.path.islink(path):
            return None, "a symbolic link, which is not followed"
        return None, f"cannot be read ({exc.strerror})"
    except ValueError:  # a NUL in the name
        return None, "cannot be read (invalid file name)"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, f"not a regular file ({_kind_of(st.st_mode)})"
        if size >= 0 and st.st_size != size:
            return None, "changed while it was read"
        if st.st_size > max_size:
            return None, f"{st.st_size} bytes, over {limit_name} ({max_size} bytes)"
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(st.st_size + 1)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        return None, "changed while it was read"
    return data, ""


def _kind_of(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def blob_id(data: bytes, hex_length: int = 40) -> str:
    """git's object id of a blob holding ``data`` (SHA-1, or SHA-256 for a
    repository whose ids are 64 hex digits)."""
    import hashlib  # OpenSSL's SHA-1: several times the interpreter's own

    digest = hashlib.sha256() if hex_length == 64 else hashlib.sha1()
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


#: Up to this many files, sizes come from verified work-tree files...
_FEW_FILES = 64
#: ... files up to this size are read for it, and kept in memory for the
#: content rules up to this many bytes in all.
_KEEP_BYTES = 1024 * 1024
_KEEP_TOTAL = 16 * 1024 * 1024


class StagedEntry(FileEntry):
    """A staged file whose ``new`` (its blob is not at HEAD) is worked out
    the first time a rule asks, by one diff for the whole snapshot."""

    __slots__ = ("_snapshot",)

    def __init__(self, snapshot: IndexSnapshot, path: str, mode: str, oid: str) -> None:
        self._snapshot = snapshot
        super().__init__(path, -1, mode, oid)

    @property
    def new(self) -> bool:
        return self.oid in self._snapshot.new_oids()

    @new.setter
    def new(self, value: bool) -> None:
        """Set by ``FileEntry.__init__``; the staged diff decides instead."""


class IndexSnapshot(GitSnapshot):
    """Blobs in the index.

    ``all_files``: every tracked file, each judged as new. Otherwise the
    staged changes (or ``paths``, as pre-commit passes them): a blob already
    at HEAD, a pure rename included, is not new.
    """

    def __init__(self, root: str, paths: Sequence[str] | None = None, *, all_files: bool = False) -> None:
        super().__init__(root)
        self.worktree = root
        self._changes: dict[str, str] | None = None
        self._new_oids: frozenset[str] | None = None
        self._prefetched: dict[int, bytes] = {}
        if all_files:
            self.label = "all tracked files"
            self.files = self._entries(queries.ls_files_stage(root))
            self._tree = list(self.files)
            return
        self.label = "staged changes"
        # One listing of the index serves both the files under check and the
        # tree that repository rules read.
        index = queries.ls_files_stage(root)
        if paths is None:
            changed = self.staged_changes()
            self.files = [StagedEntry(self, path, mode, oid) for mode, oid, path in index if path in changed]
        else:
            # The files pre-commit names: whether each blob is new against
            # HEAD is only asked for a file over the size limit, so a hook
            # that commits small files never runs a diff.
            wanted = set(paths)
            prefixes = tuple(p.rstrip("/") + "/" for p in paths)
            self.files = [
                StagedEntry(self, path, mode, oid)
                for mode, oid, path in index
                if path in wanted or path.startswith(prefixes)
            ]
        by_path = {e.path: e for e in self.files}
        self._tree = [by_path.get(path) or FileEntry(path, -1, mode, oid, new=False) for mode, oid, path in index]

    def new_oids(self) -> frozenset[str]:
        """Ids of the staged blobs that HEAD does not hold (asked once)."""
        if self._new_oids is None:
            self._new_oids = frozenset(oid for oid in self.staged_changes().values() if oid)
        return self._new_oids

    def with_sizes(self, entries: Sequence[FileEntry]) -> Sequence[FileEntry]:
        unknown = [e for e in entries if e.size < 0 and e.oid and e.is_regular]
        if len(unknown) <= _FEW_FILES:
            # A hook's few files: the loose objects ``git add`` wrote give
            # sizes (and, for small blobs, bytes, kept for the content rules)
            # with no git process; so do small verified work-tree files. The
            # rest, packed or large, is left to ``cat-file --batch-check``.
            kept = 0
            for entry in unknown:
                data: bytes | None = None
                loose = objects.loose_object(self.repo, entry.oid, _KEEP_BYTES)
                if loose is not None:
                    entry.size, data = loose
                elif self.worktree is not None:
                    data = worktree_blob(self.worktree, entry, max_size=_KEEP_BYTES)
                    if data is not None:
                        entry.size = len(data)
                if data is not None and kept + len(data) <= _KEEP_TOTAL:
                    kept += len(data)
                    self._prefetched[id(entry)] = data
        return super().with_sizes(entries)

    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        rest = []
        for entry in entries:
            data = self._prefetched.pop(id(entry), None)
            if data is None:
                rest.append(entry)
            else:
                yield entry, data
        yield from super().read_many(rest)

    def staged_changes(self) -> dict[str, str]:
        """path -> new blob id ('' when the blob is old: a pure rename, or an
        added file whose blob HEAD already holds under another path)."""
        if self._changes is None:
            self._changes = self._diff_head()
        return self._changes

    def _diff_head(self) -> dict[str, str]:
        head = queries.resolve("HEAD", self.repo)
        if head is None:
            return {path: oid for _mode, oid, path in queries.ls_files_stage(self.repo)}
        out = process.run(["diff-index", "--cached", "-z", "-M", "--raw", "--no-abbrev", head], self.repo).stdout
        changed: dict[str, str] = {}
        added = False
        fields = out.split(b"\0")
        i = 0
        while i < len(fields) - 1:
            meta = fields[i].decode()
            if not meta.startswith(":"):
                i += 1
                continue
            _old_mode, _new_mode, old_oid, new_oid, status = meta[1:].split(" ")
            if status[0] in "RC":
                path = process.decode_path(fields[i + 2])
                i += 3
            else:
                path = process.decode_path(fields[i + 1])
                i += 2
            if status[0] == "D":
                continue
            pure_rename = status[0] == "R" and old_oid == new_oid
            changed[path] = "" if pure_rename else new_oid
            added = added or status[0] == "A"
        if added:
            # A copy of a file HEAD holds is not a new blob. Only additions
            # can be such copies often enough to pay for listing HEAD's tree.
            at_head = {oid for _mode, oid, _path in queries.ls_tree_ids(head, self.repo)}
            changed = {path: "" if oid in at_head else oid for path, oid in changed.items()}
        return changed

    @staticmethod
    def _entries(rows: list[tuple[str, str, str]]) -> list[FileEntry]:
        return [FileEntry(path, -1, mode, oid, new=True) for mode, oid, path in rows]

    def tree(self) -> Sequence[FileEntry]:
        assert self._tree is not None
        return self._tree


class RangeSnapshot(GitSnapshot):
    """The blobs that the commits in ``base..head`` add to history.

    A blob reachable from ``base`` (a rename, a revert to old content) is not
    new. With no usable base (a new branch), every blob not already on a
    remote-tracking ref is new. The tree is ``head``'s.
    """

    def __init__(self, root: str, base: str | None, head: str) -> None:
        super().__init__(root)
        head_id = queries.resolve(head, root)
        if head_id is None:
            raise GuardianError(f"--rev-range: {head!r} is not a commit in {root}; check the range")
        if base and base.strip("0"):
            base_id = queries.resolve(base, root)
            if base_id is None:
                raise GuardianError(f"--rev-range: {base!r} is not a commit in {root}; fetch it or fix the range")
            not_in = ["--not", base_id]
            self.label = f"{base_id[:12]}..{head_id[:12]}"
        else:
            not_in = ["--not", "--remotes"]
            self.label = f"{head_id[:12]} (new branch)"
        self.head = head_id
        # Which blobs are new: reachable from head, not from the base.
        listed = process.run(["rev-list", "--objects", "--filter=object:type=blob", head_id, *not_in], root).stdout
        new = {line[:64].split(b" ")[0].decode() for line in listed.split(b"\n") if line[:1].isalnum()}
        # Every path each new blob was stored under, from the commits' own
        # diffs (NUL-separated: any file name), merges against each parent.
        raw = process.run(
            ["log", "--raw", "-z", "--no-renames", "--no-abbrev", "-m", "--format=", head_id, *not_in], root
        ).stdout
        files: dict[tuple[str, str], FileEntry] = {}
        fields = raw.split(b"\0")
        i = 0
        while i < len(fields) - 1:
            meta = fields[i].lstrip(b"\n")
            if not meta.startswith(b":"):
                i += 1
                continue
            raw_path, i = fields[i + 1], i + 2  # a path may start with ":" too
            _old_mode, mode, _old_oid, oid, status = meta[1:].decode().split(" ")
            if status != "D" and oid in new and mode != "160000":
                path = process.decode_path(raw_path)
                files.setdefault((path, oid), FileEntry(path, -1, mode, oid, new=True))
        self.files = list(self.with_sizes(list(files.values())))

    def _head_tree(self) -> list[tuple[str, str, int, str]]:
        if self._tree is None:
            rows = queries.ls_tree(self.head, self.repo)
            self._tree = [FileEntry(path, size, mode, oid, new=False) for mode, oid, size, path in rows]
            return rows
        return [(e.mode, e.oid, e.size, e.path) for e in self._tree]

    def tree(self) -> Sequence[FileEntry]:
        self._head_tree()
        assert self._tree is not None
        return self._tree


class DiskSnapshot(Snapshot):
    """Files on disk named on the command line (directories walked).

    Only file rules apply: repository rules need git's view of the tree.
    """

    has_tree = False

    def __init__(self, paths: Sequence[str], *, base: str = ".") -> None:
        self.root = os.path.abspath(base)
        self.label = ", ".join(paths)
        self.unread: dict[str, str] = {}
        files: list[FileEntry] = []
        for arg in paths:
            if not os.path.lexists(arg):
                raise GuardianError(f"{arg}: no such file or directory")
            for path in self._walk(arg):
                st = os.lstat(path)
                symlink = os.path.islink(path)
                size = len(os.readlink(path).encode("utf-8", "surrogateescape")) if symlink else st.st_size
                files.append(FileEntry(self._rel(path), size, MODE_SYMLINK if symlink else "100644", path))
        self.files = files

    def _rel(self, path: str) -> str:
        rel = os.path.relpath(os.path.abspath(path), self.root)
        return path if rel.startswith("..") else rel.replace(os.sep, "/")

    @staticmethod
    def _walk(arg: str) -> Iterator[str]:
        if not os.path.isdir(arg) or os.path.islink(arg):
            yield arg
            return
        for dirpath, dirnames, filenames in os.walk(arg):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            for name in sorted(filenames):
                yield os.path.join(dirpath, name)

    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        return read_from_disk(entries, self.unread, max_size=self.max_read)

    def unread_reason(self, entry: FileEntry) -> str:
        return self.unread.get(entry.path, super().unread_reason(entry))


def read_from_disk(
    entries: Iterable[FileEntry], unread: dict[str, str], *, max_size: int
) -> Iterator[tuple[FileEntry, bytes | None]]:
    """Bytes of disk-backed entries, whose ``oid`` holds the path on disk.
    A symlink yields its target, as git stores it; it is never followed.
    Why an entry yielded None goes into ``unread``, by path."""
    for entry in entries:
        if entry.is_symlink:
            try:
                yield entry, os.readlink(entry.oid).encode("utf-8", "surrogateescape")
            except OSError as exc:
                unread[entry.path] = f"cannot be read ({exc.strerror})"
                yield entry, None
            continue
        data, why = read_file(entry.oid, max_size=max_size)
        if data is None:
            unread[entry.path] = why
        yield entry, data


class WorktreeSnapshot(Snapshot):
    """The working tree as git sees it: tracked and untracked-not-ignored
    files, with their bytes and sizes read from disk. ``guardian fix`` works
    on it, so unstaged edits are kept and judged."""

    def __init__(self, root: str, paths: Sequence[str] | None = None, *, remember: bool = False) -> None:
        self.root = root
        self.label = "working tree"
        self.unread: dict[str, str] = {}
        #: With ``remember``: the bytes each read gave, by path, so that a fix
        #: computed from them is written only over those very bytes.
        self.seen: dict[str, bytes] | None = {} if remember else None
        args = ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--stage"]
        out = process.run(args, root).stdout
        tree: dict[str, FileEntry] = {}
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, tab, raw_path = record.partition(b"\t")
            if tab:
                mode = meta.split()[0].decode()
                path = process.decode_path(raw_path)
            else:  # untracked files are listed without stage information
                mode, path = "100644", process.decode_path(record)
            full = os.path.join(root, path)
            if mode != "160000" and not os.path.lexists(full):
                continue  # deleted in the working tree
            if os.path.islink(full):
                mode = MODE_SYMLINK
            tree.setdefault(path, FileEntry(path, -1, mode, full, new=True))
        self._tree = list(tree.values())
        if paths is None:
            self.files = self._tree
        else:
            wanted = {os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/") for p in paths}
            below = tuple(w + "/" for w in wanted)
            self.files = [e for e in self._tree if e.path in wanted or e.path.startswith(below)]

    def tree(self) -> Sequence[FileEntry]:
        return self._tree

    def with_sizes(self, entries: Sequence[FileEntry]) -> Sequence[FileEntry]:
        for entry in entries:
            if entry.size < 0 and not entry.is_submodule:
                try:
                    st = os.lstat(entry.oid)
                    entry.size = st.st_size
                except OSError:
                    entry.size = 0
        return entries

    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        for entry, data in read_from_disk(entries, self.unread, max_size=self.max_read):
            if self.seen is not None and data is not None and entry.is_regular:
                self.seen[entry.path] = data
            yield entry, data

    def unread_reason(self, entry: FileEntry) -> str:
        return self.unread.get(entry.path, super().unread_reason(entry))
