"""Questions about a repository that git answers in one process each:
where its root is, what a revision names, what the index or a tree lists,
which objects a partial clone lacks."""

from __future__ import annotations

import os

from guardian.errors import GitError
from guardian.git.objects import OBJECT_DIRS, batch_check, missing_objects
from guardian.git.process import decode_path, run

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


def toplevel(cwd: str) -> str:
    """The root of the work tree containing ``cwd``."""
    proc = run(["rev-parse", "--show-toplevel", "--git-path", "objects"], cwd, check=False)
    if proc.returncode != 0:
        raise GitError(f"{os.path.abspath(cwd)} is not inside a git work tree; run Guardian in a repository")
    # Two lines, but a directory name may hold a newline (or anything
    # ``splitlines`` splits on): the objects path is the last line, and both
    # must be directories, or only the root is asked for again.
    top, _, objects = decode_path(proc.stdout).removesuffix("\n").rpartition("\n")
    objects = os.path.join(os.path.abspath(cwd), objects)
    if top and os.path.isdir(top) and os.path.isdir(objects):
        # Where objects live, for ``loose_object``: the same question answers it.
        OBJECT_DIRS[top] = objects
        return top
    proc = run(["rev-parse", "--show-toplevel"], cwd)
    return decode_path(proc.stdout).removesuffix("\n")


def repository(cwd: str) -> tuple[str, bool]:
    """Where to run git for history questions, and whether it is bare: the
    work tree's root, or the repository itself (a ``--mirror`` clone)."""
    proc = run(["rev-parse", "--is-bare-repository", "--absolute-git-dir"], cwd, check=False)
    bare, _, git_dir = decode_path(proc.stdout).removesuffix("\n").partition("\n")
    if proc.returncode == 0 and bare == "true" and git_dir:
        return git_dir, True
    return toplevel(cwd), False


def resolve(rev: str, cwd: str) -> str | None:
    """The commit id for ``rev``, or None if it does not name a commit."""
    proc = run(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def ls_files_stage(cwd: str, paths: Sequence[str] = ()) -> list[tuple[str, str, str]]:
    """(mode, oid, path) of index entries, stage 0 only (merge conflicts skip)."""
    args = ["ls-files", "-s", "-z"]
    if paths:
        args += ["--", *(":(literal)" + p for p in paths)]
    out = run(args, cwd).stdout
    if not out:
        return []
    # Every record is "MODE OID STAGE\tPATH" with fields of fixed widths (the
    # id's width depends on the hash), so slicing beats splitting each one.
    records = decode_path(out).split("\0")
    tab = records[0].index("\t")
    stage, oid_end = tab - 1, tab - 2
    return [(r[:6], r[7:oid_end], r[tab + 1 :]) for r in records if r and r[stage] == "0"]


def ls_tree_ids(rev: str, cwd: str) -> list[tuple[str, str, str]]:
    """(mode, oid, path) of every blob and gitlink in a commit's tree, sizes
    left out (``ls-tree -l`` must read every blob's header)."""
    rows = []
    for record in run(["ls-tree", "-r", "-z", "--full-tree", rev], cwd).stdout.split(b"\0"):
        if record:
            meta, _, raw_path = record.partition(b"\t")
            mode, _kind, oid = meta.decode().split()
            rows.append((mode, oid, decode_path(raw_path)))
    return rows


def ls_tree(rev: str, cwd: str) -> list[tuple[str, str, int, str]]:
    """(mode, oid, size, path) of every blob and gitlink in a commit's tree;
    size -1 for a blob the repository does not have."""
    if missing_objects(cwd):
        # ``ls-tree -l`` dies on a missing blob: list, then size what is there.
        rows = ls_tree_ids(rev, cwd)
        sizes = batch_check([oid for mode, oid, _path in rows if mode != "160000"], cwd)
        return [(mode, oid, sizes.get(oid, 0 if mode == "160000" else -1), path) for mode, oid, path in rows]
    out = run(["ls-tree", "-r", "-l", "-z", "--full-tree", rev], cwd).stdout
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, _kind, oid, size = meta.decode().split()
        # "-" for a gitlink; "BAD" when the blob is missing (a partial clone).
        entries.append((mode, oid, int(size) if size.isdigit() else (0 if size == "-" else -1), decode_path(raw_path)))
    return entries


def git_paths(cwd: str, *names: str) -> list[str]:
    """Absolute paths of files in the git directory (``git rev-parse
    --git-path``): the index of this work tree, "" for the directory itself."""
    out = run(["rev-parse", *(arg for name in names for arg in ("--git-path", name or "."))], cwd).stdout
    lines = decode_path(out).removesuffix("\n").split("\n")
    return [os.path.normpath(os.path.join(cwd, line)) for line in lines]


def subjects(cwd: str, commits: Iterable[str]) -> dict[str, str]:
    """Commit id -> the first line of its message, for many commits in one call."""
    wanted = list(dict.fromkeys(c for c in commits if c))
    if not wanted:
        return {}
    out = run(
        ["log", "--no-walk=unsorted", "--stdin", "--format=%H%x1f%s"], cwd, input=("\n".join(wanted) + "\n").encode()
    ).stdout
    found = {}
    for line in out.decode("utf-8", "replace").splitlines():
        commit, sep, subject = line.partition("\x1f")
        if sep:
            found[commit] = subject
    return found
