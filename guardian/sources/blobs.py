"""Snapshots whose blobs come from git: the plumbing they share, and the
work-tree shortcut (a clean file holds its blob's bytes; hashing it costs a
fraction of git inflating the object)."""

from __future__ import annotations

import os

from guardian.files import read_file
from guardian.git import objects
from guardian.model import FileEntry, Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

ZERO_OID = "0" * 40
_NO_LIMIT = 1 << 62


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


def blob_id(data: bytes, hex_length: int = 40) -> str:
    """git's object id of a blob holding ``data`` (SHA-1, or SHA-256 for a
    repository whose ids are 64 hex digits)."""
    import hashlib  # OpenSSL's SHA-1: several times the interpreter's own

    digest = hashlib.sha256() if hex_length == 64 else hashlib.sha1()
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()
