"""``guardian audit DIR``: what a directory of a checkout holds, and why it is big.

The audit's question was "V1 tools/ is 462MB - what's in there?". The answer
needs three views that no single git command gives:

- the directory on disk: every file, split into tracked, untracked and
  ignored (git's own answer, from two ``ls-files`` calls), git-lfs pointers
  told apart from downloaded LFS content, the largest files, totals by
  extension and by subdirectory;
- what git history holds under it: every blob ever stored there, once, so
  "small now, 400 MB in history" shows;
- the policy's ``dir-budget``, judged by the rule itself on the tracked blobs.

The walk never follows a symbolic link (a link counts as the few bytes of its
target), skips ``.git`` directories, and remembers the directories it entered
by device and inode, so links and bind-mount loops cannot make it run forever.
"""

from __future__ import annotations

import os

from guardian import engine
from guardian.errors import GuardianError
from guardian.files import read_file
from guardian.git import process, queries

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from guardian.model import Finding
    from guardian.progress import Progress

TRACKED, UNTRACKED, IGNORED = "tracked", "untracked", "ignored"
KINDS = (TRACKED, UNTRACKED, IGNORED)
LFS_SPEC = b"version https://git-lfs.github.com/spec/v1"
#: An LFS pointer is a few lines of text; a larger file is real content.
LFS_POINTER_MAX = 1024
#: A .gitattributes file is read up to this size (a larger one is no one's).
_MAX_ATTRIBUTES_BYTES = 16 * 1024 * 1024
_COMPOUND_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")


class Totals:
    __slots__ = ("bytes", "files")

    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    def add(self, size: int) -> None:
        self.files += 1
        self.bytes += size

    def to_dict(self) -> dict[str, int]:
        return {"files": self.files, "bytes": self.bytes}


class DirNode:
    """A directory's totals, its own files included, and its subdirectories."""

    __slots__ = ("children", "name", "path", "totals")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self.totals = Totals()
        self.children: dict[str, DirNode] = {}

    def child(self, name: str) -> DirNode:
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = DirNode(name, f"{self.path}{name}/")
        return node

    def sorted_children(self) -> list[DirNode]:
        return sorted(self.children.values(), key=lambda n: (-n.totals.bytes, n.name))

    def to_dict(self, depth: int) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, **self.totals.to_dict()}
        if depth > 0 and self.children:
            out["children"] = [c.to_dict(depth - 1) for c in self.sorted_children()]
        return out


class Budget:
    """One ``dir-budget`` entry that concerns the audited directory."""

    __slots__ = ("directory", "files", "finding", "limit", "used")

    def __init__(self, directory: str, limit: int, used: int, files: int, finding: Finding | None) -> None:
        self.directory = directory
        self.limit = limit
        self.used = used
        self.files = files
        self.finding = finding

    @property
    def over(self) -> bool:
        return self.finding is not None and self.finding.severity == "error"

    def to_dict(self) -> dict[str, object]:
        return {
            "directory": self.directory,
            "budget": self.limit,
            "used": self.used,
            "files": self.files,
            "over_by": max(self.used - self.limit, 0),
            "severity": self.finding.severity if self.finding is not None else None,
            "message": self.finding.message if self.finding is not None else None,
        }


class AuditReport:
    def __init__(self, root: str, directory: str) -> None:
        self.root = root
        #: The audited directory relative to the repository root, "" for the root.
        self.directory = directory
        self.by_kind = {kind: Totals() for kind in KINDS}
        self.symlinks = Totals()
        self.lfs_content = Totals()
        self.lfs_pointers = Totals()
        #: Bytes the LFS pointers stand for (content not downloaded).
        self.lfs_missing_bytes = 0
        self.top: list[tuple[int, str, str]] = []
        self.by_extension: dict[str, Totals] = {}
        self.tree = DirNode(directory.rstrip("/").rpartition("/")[2] or ".", directory)
        #: (unique blobs, bytes, missing objects) history stored under the directory.
        self.history: tuple[int, int, int] | None = None
        self.budgets: list[Budget] = []
        self.unreadable: list[str] = []
        self.loops = 0
        self.policy_source = ""

    @property
    def label(self) -> str:
        return self.directory or "."

    @property
    def total(self) -> Totals:
        totals = Totals()
        for kind in KINDS:
            totals.files += self.by_kind[kind].files
            totals.bytes += self.by_kind[kind].bytes
        return totals

    @property
    def over_budget(self) -> bool:
        return any(b.over for b in self.budgets)


# -- collecting -----------------------------------------------------------------------


def _extension(name: str) -> str:
    lower = name.lower()
    for compound in _COMPOUND_SUFFIXES:
        if lower.endswith(compound) and len(lower) > len(compound):
            return compound
    dot = lower.rfind(".")
    return lower[dot:] if dot > 0 else "(none)"


def _ls(root: str, args: Sequence[str], directory: str) -> list[str]:
    spec = [f":(top,literal){directory}"] if directory else []
    out = process.run(["ls-files", "-z", *args, "--", *spec], root).stdout
    return [process.decode_path(p) for p in out.split(b"\0") if p]


def _walk(top: str, report: AuditReport) -> Iterator[tuple[str, str, os.stat_result, bool]]:
    """(relative directory, name, lstat, is symlink) of every file below
    ``top``, never following links and never entering a directory twice."""
    seen: set[tuple[int, int]] = set()
    try:
        st = os.stat(top)
        seen.add((st.st_dev, st.st_ino))
    except OSError as exc:
        raise GuardianError(f"{top}: cannot read the directory ({exc.strerror})") from None
    stack: list[tuple[str, str]] = [(top, "")]
    while stack:
        path, rel = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            report.unreadable.append(rel or ".")
            continue
        for entry in entries:
            try:
                if entry.is_symlink():
                    yield rel, entry.name, entry.stat(follow_symlinks=False), True
                elif entry.is_dir(follow_symlinks=False):
                    if entry.name == ".git":
                        continue
                    st = entry.stat(follow_symlinks=False)
                    key = (st.st_dev, st.st_ino)
                    if key in seen:
                        report.loops += 1
                        continue
                    seen.add(key)
                    stack.append((entry.path, f"{rel}{entry.name}/"))
                elif entry.is_file(follow_symlinks=False):
                    if entry.name == ".git":
                        continue  # a worktree's or submodule's pointer file
                    yield rel, entry.name, entry.stat(follow_symlinks=False), False
            except OSError:
                report.unreadable.append(f"{rel}{entry.name}")


def _lfs_paths(root: str, tracked: Sequence[str]) -> set[str]:
    """Tracked paths whose ``filter`` attribute is ``lfs``; empty (and no git
    call) when no ``.gitattributes`` mentions LFS."""
    attributes = [p for p in _ls(root, [], "") if p.rpartition("/")[2] == ".gitattributes"]
    uses_lfs = False
    for path in attributes:
        data, _why = read_file(os.path.join(root, path), max_size=_MAX_ATTRIBUTES_BYTES)
        if data is not None and b"filter=lfs" in data:
            uses_lfs = True
            break
    if not uses_lfs or not tracked:
        return set()
    data = "\0".join(tracked).encode("utf-8", "surrogateescape") + b"\0"
    out = process.run(["check-attr", "-z", "--stdin", "filter"], root, input=data).stdout.split(b"\0")
    found = set()
    for i in range(0, len(out) - 2, 3):
        if out[i + 2] == b"lfs":
            found.add(process.decode_path(out[i]))
    return found


def _lfs_pointer_size(path: str) -> int | None:
    """The size an LFS pointer file stands for, or None if it is no pointer."""
    head, _why = read_file(path, max_size=LFS_POINTER_MAX)
    if head is None or not head.startswith(LFS_SPEC):
        return None
    for line in head.split(b"\n"):
        if line.startswith(b"size ") and line[5:].strip().isdigit():
            return int(line[5:].strip())
    return 0


def audit_directory(
    directory: str,
    *,
    config: str | None = None,
    top: int = 10,
    with_history: bool = True,
    progress: Progress | None = None,
) -> AuditReport:
    """Everything ``guardian audit`` shows about ``directory``."""
    import heapq

    if not os.path.lexists(directory):
        raise GuardianError(f"{directory}: no such directory")
    if not os.path.isdir(directory):
        raise GuardianError(f"{directory}: not a directory; audit a directory of the checkout")
    real = os.path.realpath(directory)
    root = os.path.realpath(queries.toplevel(real))
    rel = os.path.relpath(real, root).replace(os.sep, "/")
    if rel == "." or rel == "":
        rel = ""
    elif rel.startswith("../"):
        raise GuardianError(f"{directory}: outside the repository at {root}")
    prefix = f"{rel}/" if rel else ""
    report = AuditReport(root, prefix)

    tracked: set[str] = set()
    submodules: list[str] = []
    for record in _ls(root, ["--cached", "--stage"], rel):
        meta, _, path = record.partition("\t")
        tracked.add(path)
        if meta.startswith("160000"):
            submodules.append(path + "/")
    ignored_entries = _ls(root, ["--others", "--ignored", "--exclude-standard", "--directory"], rel)
    ignored_dirs = {p for p in ignored_entries if p.endswith("/")}
    ignored_files = {p for p in ignored_entries if not p.endswith("/")}
    lfs = _lfs_paths(root, sorted(tracked))

    heap: list[tuple[int, str, str]] = []
    nodes: dict[str, DirNode] = {"": report.tree}
    # Per directory: are its untracked files ignored, is it inside a submodule?
    dir_state: dict[str, tuple[bool, bool]] = {}
    for done, (rel_dir, name, st, symlink) in enumerate(_walk(real, report), 1):
        path = prefix + rel_dir + name
        size = st.st_size
        state = dir_state.get(rel_dir)
        if state is None:
            in_dir = prefix + rel_dir
            state = (_under(in_dir, ignored_dirs), any(in_dir.startswith(s) for s in submodules))
            dir_state[rel_dir] = state
        if path in tracked or state[1]:
            kind = TRACKED
        elif state[0] or path in ignored_files:
            kind = IGNORED
        else:
            kind = UNTRACKED
        report.by_kind[kind].add(size)
        if symlink:
            report.symlinks.add(size)
        elif path in lfs:
            pointer = _lfs_pointer_size(os.path.join(real, rel_dir, name)) if size <= LFS_POINTER_MAX else None
            if pointer is None:
                report.lfs_content.add(size)
            else:
                report.lfs_pointers.add(size)
                report.lfs_missing_bytes += pointer
        report.by_extension.setdefault(_extension(name), Totals()).add(size)
        node = nodes.get(rel_dir)
        if node is None:
            node = report.tree
            for part in rel_dir.rstrip("/").split("/"):
                node = node.child(part)
            nodes[rel_dir] = node
        node.totals.add(size)
        item = (size, path, kind)
        if len(heap) < top:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
        if progress is not None and not done & 4095:
            progress.update(done)
    report.top = sorted(heap, reverse=True)
    _roll_up(report.tree)

    report.budgets, report.policy_source = _budgets(root, prefix, config)
    if with_history:
        from guardian.sources.history import history_bytes

        if progress is not None:
            progress.stage("history", "commits")
        report.history = history_bytes(root, rel, progress=progress)
    return report


def _under(directory: str, ignored_dirs: set[str]) -> bool:
    """True when ``directory`` (with a trailing slash) is at or below an ignored one."""
    if not ignored_dirs or not directory:
        return False
    end = directory.find("/")
    while end != -1:
        if directory[: end + 1] in ignored_dirs:
            return True
        end = directory.find("/", end + 1)
    return False


def _roll_up(node: DirNode) -> None:
    """Add each directory's totals into its parents (iteratively: trees can be deep)."""
    order: list[DirNode] = []
    stack = [node]
    while stack:
        current = stack.pop()
        order.append(current)
        stack.extend(current.children.values())
    for current in reversed(order):
        for child in current.children.values():
            current.totals.files += child.totals.files
            current.totals.bytes += child.totals.bytes


def _budgets(root: str, prefix: str, config: str | None) -> tuple[list[Budget], str]:
    """The ``dir-budget`` entries at, below or above the audited directory,
    judged by the rule itself on the tracked blobs."""
    from guardian.config import load_policy
    from guardian.sources.index import IndexSnapshot

    policy = load_policy(config, start=os.getcwd())
    rule = policy.rule("dir-budget")
    if rule is None:
        return [], policy.source
    budgets = rule.settings.get("budgets")
    if not isinstance(budgets, dict) or not budgets:
        return [], policy.source
    relevant = {d: int(limit) for d, limit in budgets.items() if d.startswith(prefix) or prefix.startswith(d)}
    if not relevant:
        return [], policy.source
    snapshot = IndexSnapshot(root, all_files=True)
    try:
        findings = {f.path.rstrip("/") + "/": f for f in engine.judge_repo(snapshot, [rule])}
        entries = [
            e
            for e in snapshot.tree()
            if e.is_regular and not rule.is_excluded(e.path) and any(e.path.startswith(d) for d in relevant)
        ]
        sized = snapshot.with_sizes(entries)
        out = []
        for directory, limit in sorted(relevant.items()):
            files = [e for e in sized if e.path.startswith(directory)]
            used = sum(max(e.size, 0) for e in files)
            out.append(Budget(directory, limit, used, len(files), findings.get(directory)))
    finally:
        snapshot.close()
    return out, policy.source
