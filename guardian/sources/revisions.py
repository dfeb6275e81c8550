"""The blobs that the commits ``A..B`` add to history (pre-push, CI)."""

from __future__ import annotations

from guardian.errors import GuardianError
from guardian.git import process, queries, records
from guardian.model import FileEntry
from guardian.sources.blobs import GitSnapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


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
            ["log", "--raw", "-z", "--no-renames", "--no-abbrev", "-m", "--format=%x01%H", head_id, *not_in], root
        ).stdout
        files: dict[tuple[str, str], FileEntry] = {}
        for record in records.parse_records(raw):
            oid = record[3].decode()
            if records.is_content(record) and oid in new:
                path = process.decode_path(record[5])
                entry = files.setdefault((path, oid), FileEntry(path, -1, record[1].decode(), oid, new=True))
                # The log runs newest first: the last commit seen brought the blob in.
                entry.commit = record[0].decode()
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
