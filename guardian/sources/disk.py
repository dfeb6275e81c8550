"""Files on disk: paths named on the command line, and the working tree as
git sees it (``guardian fix`` works on it, so unstaged edits are judged)."""

from __future__ import annotations

import os

from guardian.errors import GuardianError
from guardian.files import read_file
from guardian.git import objects, process
from guardian.model import MODE_SYMLINK, FileEntry, Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence


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
    files, their bytes read from disk, so unstaged edits are judged: what a
    plain ``guardian check`` and ``guardian fix`` work on. A tracked file's
    size is its staged blob's, as the hooks judge it (a git-lfs pointer is
    small whatever its working copy holds); an untracked file's, its own.
    With ``paths``, only those files (or directories) are under check, and,
    as for loose files, repository rules do not run."""

    def __init__(self, root: str, paths: Sequence[str] | None = None, *, remember: bool = False) -> None:
        self.root = root
        self.repo = root
        self.label = "working tree"
        self.unread: dict[str, str] = {}
        #: Tracked path -> its staged blob id (sizes come from git for these).
        self._blobs: dict[str, str] = {}
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
                fields = meta.split()
                mode = fields[0].decode()
                path = process.decode_path(raw_path)
                self._blobs[path] = fields[1].decode()
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
            self.has_tree = False
            wanted = {os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/") for p in paths}
            below = tuple(w + "/" for w in wanted)
            self.files = [e for e in self._tree if e.path in wanted or e.path.startswith(below)]

    def tree(self) -> Sequence[FileEntry]:
        return self._tree

    def with_sizes(self, entries: Sequence[FileEntry]) -> Sequence[FileEntry]:
        wanted = [e for e in entries if e.size < 0 and not e.is_submodule]
        staged = objects.batch_check((self._blobs[e.path] for e in wanted if e.path in self._blobs), self.repo)
        for entry in wanted:
            size = staged.get(self._blobs.get(entry.path, ""))
            if size is None:
                try:
                    size = os.lstat(entry.oid).st_size
                except OSError:
                    size = 0
            entry.size = size
        return entries

    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        for entry, data in read_from_disk(entries, self.unread, max_size=self.max_read):
            if self.seen is not None and data is not None and entry.is_regular:
                self.seen[entry.path] = data
            yield entry, data

    def unread_reason(self, entry: FileEntry) -> str:
        return self.unread.get(entry.path, super().unread_reason(entry))
