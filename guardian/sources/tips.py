"""The trees at ref tips, read through one ``cat-file`` process for all of
them (tips share most subtrees): what a history scan's repository rules
judge."""

from __future__ import annotations

from guardian.errors import GuardianError
from guardian.git import objects, process, queries
from guardian.sources.blobs import GitSnapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from guardian.model import FileEntry

#: Refs whose trees are not project trees (notes, the stash).
NON_PROJECT_REFS = ("refs/notes/", "refs/stash")


class TreeSnapshot(GitSnapshot):
    """The tree of one commit, listed and read through a shared
    ``TreeReader``. Sizes are asked only when a rule needs them."""

    def __init__(self, root: str, tree: str, label: str, reader: objects.TreeReader) -> None:
        super().__init__(root)
        self.label = label
        self._reader = reader
        self._tree = reader.entries(tree)
        self.files = self._tree

    def tree(self) -> Sequence[FileEntry]:
        assert self._tree is not None
        return self._tree

    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        for entry in entries:
            yield entry, self._reader.read(entry.oid)

    def close(self) -> None:
        self._reader.close()


def commit_tree(root: str, rev: str) -> TreeSnapshot | None:
    """The tree of ``rev`` (the state before a change), or None when the
    repository has no such commit (a first commit has nothing before it)."""
    found = process.run(["rev-parse", "--verify", "--quiet", f"{rev}^{{tree}}"], root, check=False)
    tree = found.stdout.decode().strip()
    if found.returncode != 0 or not tree:
        return None
    return TreeSnapshot(root, tree, rev, objects.TreeReader(root))


def ref_tips(root: str, revs: Sequence[str], *, all_refs: bool) -> list[tuple[str, str]]:
    """(ref name, tree id) of the tips of the chosen revisions, in one
    ``cat-file`` process. A name that is no commit is a usage error."""
    names: list[str] = []
    if all_refs:
        out = process.run(["for-each-ref", "--format=%(refname)"], root).stdout.decode("utf-8", "surrogateescape")
        names = [n for n in out.splitlines() if n and not n.startswith(NON_PROJECT_REFS)]
        if queries.resolve("HEAD", root) is not None:
            names.insert(0, "HEAD")
    checks: list[str] = []
    for rev in revs:
        if rev.startswith("-"):
            raise GuardianError(f"{rev!r} is not a revision; options go before the revisions")
        if rev.startswith("^"):
            checks.append(rev[1:])
            continue
        left, sep, right = rev.partition("...") if "..." in rev else rev.partition("..")
        if sep:
            if left:
                checks.append(left)
            names.append(right or "HEAD")
        else:
            names.append(rev)
    asks = [*(f"{n}^{{commit}}" for n in checks), *(f"{n}^{{tree}}" for n in names)]
    if not asks:
        return []
    proc = process.run(
        ["cat-file", "--batch-check=%(objectname) %(objecttype)"], root, input=("\n".join(asks) + "\n").encode()
    )
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    tips: list[tuple[str, str]] = []
    for i, query in enumerate(asks):
        line = lines[i] if i < len(lines) else ""
        parts = line.split()
        ok = len(parts) == 2 and parts[1] in ("commit", "tree")
        name = query.rpartition("^")[0]
        if not ok:
            if all_refs and name in names and name not in revs:
                continue  # a ref to a blob or a tree: nothing to judge
            raise GuardianError(f"{name!r} is not a commit in {root}; check the revision (or fetch it)")
        if i >= len(checks):
            tips.append((name, parts[0]))
    return tips
