"""The index: staged changes (the hooks' default), the files pre-commit
names, or every tracked file (``--all-files``)."""

from __future__ import annotations

from guardian.git import objects, process, queries, records
from guardian.model import FileEntry
from guardian.sources.blobs import GitSnapshot, worktree_blob

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence


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
        for _commit, _mode, old_oid, new_oid, status, raw_path, _source in records.parse_records(out):
            kind = status[:1]
            if kind == b"D":
                continue
            pure_rename = kind == b"R" and old_oid == new_oid
            changed[process.decode_path(raw_path)] = "" if pure_rename else new_oid.decode()
            added = added or kind == b"A"
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
