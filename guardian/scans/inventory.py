"""The migration inventory: every module of an old package with its decision.

The decisions are the ``forbidden-import`` rule's ``banned`` table: a
destination module (the longest entry that maps the module), a skip with its
reason, or *undecided*. With a target checkout, each destination is looked up
there. ``ModuleIndex`` answers "does this module exist in that checkout?" for
the inventory and for ``guardian fix`` (which must never write an import of a
module that does not exist).

Linear in the number of files: one ``git ls-files`` for the old package, one
``git cat-file --batch`` for its bytes (lines are counted, nothing is parsed),
one listing of the target.
"""

from __future__ import annotations

import os

from guardian.errors import GuardianError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from guardian.config import Policy
    from guardian.rules.forbidden_import import _Policy

MIGRATE, SKIP, UNDECIDED = "migrate", "skip", "undecided"
RULE_ID = "forbidden-import"
#: Destination modules are read (for the names they define) only up to this size.
MAX_MODULE_READ = 4 * 1024 * 1024


class ModuleIndex:
    """Which Python modules a checkout holds, from the list of its files.

    A module ``a.b`` exists under an import root ``R`` as ``R/a/b.py``,
    ``R/a/b/__init__.py`` or a directory ``R/a/b/`` holding Python files (a
    namespace package). The import roots of a top-level name ``a`` are the
    shallowest directories holding ``a/__init__.py`` or ``a.py`` (the checkout's
    root, ``src/``...). Names a module defines are read from ``base`` on disk,
    only when an import asks for them.
    """

    def __init__(self, paths: Iterable[str], base: str | None = None) -> None:
        self.paths = {path for path in paths if path.endswith(".py")}
        self.base = base
        self._roots: dict[str, list[str]] = {}
        self._dirs: set[str] | None = None
        self._names: dict[str, frozenset[str] | None] = {}

    def roots(self, top: str) -> list[str]:
        """Import roots (``""`` or ``"dir/"``) where the package ``top`` lives."""
        found = self._roots.get(top)
        if found is None:
            package, module = f"{top}/__init__.py", f"{top}.py"
            candidates = [
                path[: -len(tail)]
                for path in self.paths
                for tail in (package, module)
                if path == tail or path.endswith("/" + tail)
            ]
            depth = min((root.count("/") for root in candidates), default=0)
            found = self._roots[top] = sorted(root for root in candidates if root.count("/") == depth)
        return found

    def holds(self, module: str) -> bool:
        """Whether the checkout holds ``module``'s top-level package at all."""
        return bool(self.roots(module.split(".", 1)[0]))

    def _file(self, module: str) -> str | None:
        """The file that defines ``module`` ("" for a namespace package), or None."""
        tail = module.replace(".", "/")
        for root in self.roots(module.split(".", 1)[0]):
            for candidate in (f"{root}{tail}.py", f"{root}{tail}/__init__.py"):
                if candidate in self.paths:
                    return candidate
        if self._dirs is None:
            self._dirs = {path[:cut] for path in self.paths for cut in _slashes(path)}
        if any(f"{root}{tail}" in self._dirs for root in self.roots(module.split(".", 1)[0])):
            return ""
        return None

    def exists(self, module: str) -> bool:
        return self._file(module) is not None

    def missing(self, module: str, names: Sequence[str] = ()) -> str | None:
        """The shortest part of ``module`` that does not exist, or the first
        ``module.NAME`` that is neither a submodule nor a name the module
        defines; None when everything exists, or when the checkout does not
        hold the package (then nothing is known)."""
        if not self.holds(module):
            return None
        parts = module.split(".")
        for end in range(2, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if not self.exists(prefix):
                return prefix
        for name in names:
            full = f"{module}.{name}"
            if self.exists(full):
                continue
            defined = self.defined_names(module)
            if defined is not None and name not in defined:
                return full
        return None

    def defined_names(self, module: str) -> frozenset[str] | None:
        """The names ``module`` binds at its top level; None when any name may
        exist (a ``*`` import, a module ``__getattr__``) or the file cannot be
        read from disk."""
        if module in self._names:
            return self._names[module]
        found: frozenset[str] | None = None
        path = self._file(module)
        if path == "":
            found = frozenset()  # a namespace package defines nothing
        elif path is not None and self.base is not None:
            from guardian.files import read_file

            data, _why = read_file(os.path.join(self.base, path), max_size=MAX_MODULE_READ)
            found = None if data is None else _top_level_names(data)
        self._names[module] = found
        return found


def _slashes(path: str) -> Iterable[int]:
    at = path.find("/")
    while at != -1:
        yield at
        at = path.find("/", at + 1)


def _top_level_names(data: bytes) -> frozenset[str] | None:
    import ast

    from guardian.rules.base import parse_python

    try:
        tree = parse_python(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()  # an import from a module that does not parse would fail
    names: set[str] = set()
    body: list[ast.stmt] = list(tree.body)
    while body:
        node = body.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == "__getattr__":
                return None
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".", 1)[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            body.extend(node.body)
            body.extend(getattr(node, "orelse", []))
            body.extend(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                body.extend(handler.body)
    return frozenset(names)


def banned_table(policy: Policy) -> _Policy:
    """The policy's ``forbidden-import`` ``banned`` table; a usage error when the rule is off."""
    from guardian.rules.forbidden_import import ForbiddenImport

    rule = policy.rule(RULE_ID)
    if not isinstance(rule, ForbiddenImport):
        raise GuardianError(
            f"{policy.source}: the {RULE_ID} rule is disabled, and its `banned` table holds the migration's "
            "decisions; enable it"
        )
    return rule.banned_table()


def attach_destinations(policy: Policy, base: str, paths: Iterable[str]) -> None:
    """Tell the policy's ``forbidden-import`` rule which modules the checkout at
    ``base`` (whose files are ``paths``) holds: it then never rewrites an import
    into a module that is not there, and its findings say what is missing."""
    from guardian.rules.forbidden_import import ForbiddenImport

    rule = policy.rule(RULE_ID)
    if isinstance(rule, ForbiddenImport):
        rule.destinations = ModuleIndex(paths, base)


def checkout_files(directory: str) -> list[str]:
    """Files of the checkout at ``directory``, relative to it: what git tracks
    and what it would track (untracked, not ignored), as present on disk;
    outside a git work tree, every file below it (hidden directories skipped)."""
    from guardian.git import process

    proc = process.run(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], directory, check=False)
    if proc.returncode == 0:
        files = [process.decode_path(raw) for raw in proc.stdout.split(b"\0") if raw]
        return [path for path in dict.fromkeys(files) if os.path.lexists(os.path.join(directory, path))]
    found = []
    for parent, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        rel = os.path.relpath(parent, directory).replace(os.sep, "/")
        found += [name if rel == "." else f"{rel}/{name}" for name in names]
    return found


class Row:
    """One module of the old package."""

    __slots__ = ("decision", "destination", "entry", "exists", "group", "lines", "module", "path", "reason")

    def __init__(self, path: str, module: str, group: str, lines: int) -> None:
        self.path = path
        self.module = module
        #: The subpackage it is counted under (the package itself for top-level modules).
        self.group = group
        self.lines = lines
        self.decision = UNDECIDED
        self.destination: str | None = None
        self.reason: str | None = None
        #: The banned entry that decides it.
        self.entry: str | None = None
        #: With a target: whether the destination exists there (None otherwise, and for skips).
        self.exists: bool | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "module": self.module,
            "decision": self.decision,
            "destination": self.destination,
            "reason": self.reason,
            "exists": self.exists,
            "entry": self.entry,
            "subpackage": self.group,
            "lines": self.lines,
        }


class Totals:
    __slots__ = ("decided", "lines", "migrated", "missing", "modules", "skipped", "undecided")

    def __init__(self, with_target: bool) -> None:
        self.modules = self.lines = self.decided = self.skipped = self.undecided = 0
        self.migrated: int | None = 0 if with_target else None
        self.missing: int | None = 0 if with_target else None

    def add(self, row: Row) -> None:
        self.modules += 1
        self.lines += row.lines
        if row.decision == UNDECIDED:
            self.undecided += 1
        else:
            self.decided += 1
        if row.decision == SKIP:
            self.skipped += 1
        if row.exists is not None and self.migrated is not None and self.missing is not None:
            if row.exists:
                self.migrated += 1
            else:
                self.missing += 1

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


class Inventory:
    def __init__(self, directory: str, package: str, target: str | None, strict: bool, policy_source: str) -> None:
        #: The old package's directory, relative to its repository's root ("" for the root).
        self.directory = directory
        self.package = package
        self.target = target
        self.strict = strict
        self.policy_source = policy_source
        self.rows: list[Row] = []
        self.groups: dict[str, Totals] = {}
        self.total = Totals(target is not None)

    @property
    def failed(self) -> bool:
        """Exit status 1: a module undecided, or mapped to a destination the target lacks."""
        return bool(self.total.undecided or self.total.missing)

    def as_dict(self) -> dict[str, object]:
        return {
            "package": self.package,
            "directory": self.directory,
            "target": self.target,
            "strict": self.strict,
            "policy": self.policy_source,
            "modules": [row.as_dict() for row in self.rows],
            "totals": {
                "subpackages": {name: totals.as_dict() for name, totals in self.groups.items()},
                "overall": self.total.as_dict(),
            },
        }


def _count_lines(data: bytes | None) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def decide(row: Row, table: _Policy, package: str, *, strict: bool) -> None:
    """The row's decision from the banned table (longest entry first)."""
    entry, destination, reason = table.decision(row.module)
    row.entry = entry
    if entry is None:
        row.reason = "no entry of the banned table maps it"
        return
    catch_all = entry == package or package.startswith(entry + ".")
    if strict and catch_all and row.module != entry:
        where = f"to `{destination}`" if destination else "as not migrated"
        row.reason = f"only the catch-all `{entry}` maps it ({where}); --strict asks for an entry of its own"
        return
    if destination is not None:
        row.decision, row.destination = MIGRATE, destination
    else:
        row.decision, row.reason = SKIP, reason


def build_inventory(old_dir: str, policy: Policy, *, target: str | None = None, strict: bool = False) -> Inventory:
    """The inventory of the package at ``old_dir`` (a directory of a git work tree)."""
    import keyword

    from guardian.git import objects, queries

    if not os.path.isdir(old_dir):
        problem = "is not a directory" if os.path.lexists(old_dir) else "no such directory"
        raise GuardianError(f"{old_dir}: {problem}; name the old package's directory, e.g. `optimization_engine`")
    if target is not None and not os.path.isdir(target):
        problem = "is not a directory" if os.path.lexists(target) else "no such directory"
        raise GuardianError(f"--target {target}: {problem}; name the new repository's checkout")
    table = banned_table(policy)
    root = queries.toplevel(old_dir)
    rel = os.path.relpath(os.path.realpath(old_dir), os.path.realpath(root)).replace(os.sep, "/")
    if rel == ".." or rel.startswith("../"):
        raise GuardianError(f"{old_dir}: is outside the repository at {root}")
    rel = "" if rel == "." else rel
    package = os.path.basename(os.path.realpath(old_dir))
    if not package.isidentifier() or keyword.iskeyword(package):
        raise GuardianError(f"{old_dir}: `{package}` is not a Python package name; name the old package's directory")
    prefix = f"{rel}/" if rel else ""
    entries = [
        (oid, path)
        for mode, oid, path in queries.ls_files_stage(root, [rel] if rel else [])
        if mode in ("100644", "100755") and path.endswith(".py") and path.startswith(prefix)
    ]
    if not any(path == f"{prefix}__init__.py" for _oid, path in entries):
        raise GuardianError(
            f"{prefix or './'}: is not a Python package: git tracks no {prefix}__init__.py there; "
            "name the old package's directory (the one holding its __init__.py)"
        )
    index = ModuleIndex(checkout_files(target), target) if target is not None else None
    inventory = Inventory(rel, package, target, strict, policy.source)
    contents = dict(objects.CatFile(root).read_many(list(dict.fromkeys(oid for oid, _path in entries))))
    for oid, path in entries:
        parts = path[len(prefix) : -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        group = f"{package}.{parts[0]}" if len(parts) > 1 or (parts and path.endswith("/__init__.py")) else package
        row = Row(path, ".".join([package, *parts]), group, _count_lines(contents.get(oid)))
        decide(row, table, package, strict=strict)
        if index is not None and row.destination is not None:
            row.exists = index.exists(row.destination)
        inventory.rows.append(row)
    for row in sorted(inventory.rows, key=lambda r: (r.group != package, r.group)):
        totals = inventory.groups.get(row.group)
        if totals is None:
            totals = inventory.groups[row.group] = Totals(target is not None)
        totals.add(row)
        inventory.total.add(row)
    return inventory
