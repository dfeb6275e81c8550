"""The compatibility shim: the old package, generated from the ``banned`` table.

``guardian fix --write-shim DIR`` writes ``DIR/__init__.py``. Importing the
old package, or any module inside it however deep, yields the new module
itself (the same object, so state and ``isinstance`` agree) with one
``DeprecationWarning`` naming the new name; a module that is not migrated
raises an ``ImportError`` that gives the reason. One file serves every name:
a finder first on ``sys.meta_path`` answers for the old package's submodules.
"""

from __future__ import annotations

import os

from guardian.errors import GuardianError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.rules.forbidden_import import _Policy

#: The first line of every shim Guardian writes: an ``__init__.py`` without it is not replaced.
MARKER = "# Compatibility shim written by `guardian fix --write-shim`"

_TEMPLATE = '''\
{marker}: regenerate it rather than editing it.
"""The old package `{package}`, kept importable during the migration.

Importing it, or any module inside it, gives the new module (the same object)
and one DeprecationWarning naming the new name; a module that is not migrated
raises ImportError saying why. Generated from the forbidden-import `banned`
table of the policy ({source}).
"""

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings

#: Old module -> new module; the longest entry that a name is, or lies inside, decides.
_MIGRATED = {migrated}
#: Old module -> why it is not migrated.
_SKIPPED = {skipped}


def _decide(name):
    """(new name, None) or (None, why not) for an old module name."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key in _MIGRATED:
            return _MIGRATED[key] + name[len(key) :], None
        if key in _SKIPPED:
            where = "`" + name + "` is" if key == name else "`" + name + "` is inside `" + key + "`, which is"
            return None, where + " not migrated: " + _SKIPPED[key]
    return None, "`" + name + "` is not mapped by the migration's banned table"


def _as_parent(name):
    """Whether `name` is imported only on the way to a module inside it (that one warns)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in ("_find_and_load", "_find_and_load_unlocked"):
            wanted = frame.f_locals.get("name")
            if isinstance(wanted, str) and wanted.startswith(name + "."):
                return True
        frame = frame.f_back
    return False


def _warn(old, new):
    """One DeprecationWarning, attributed to the code that imported `old`."""
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_globals is globals() or str(frame.f_globals.get("__name__", "")).startswith("importlib")
    ):
        frame = frame.f_back
    message = "`" + old + "` is deprecated: it is now `" + new + "`; import `" + new + "` instead"
    if frame is None:
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return
    warnings.warn_explicit(
        message,
        DeprecationWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=frame.f_globals.get("__name__"),
        registry=frame.f_globals.setdefault("__warningregistry__", {{}}),
    )


class _Alias(importlib.abc.Loader):
    """Loads an old name as the new module itself."""

    def __init__(self, new):
        self.new = new
        self.spec = None

    def create_module(self, spec):
        try:
            module = importlib.import_module(self.new)
        except ImportError as exc:
            raise ModuleNotFoundError(
                "`" + spec.name + "` moved to `" + self.new + "`, which cannot be imported: " + str(exc),
                name=spec.name,
            ) from exc
        self.spec = module.__spec__
        if not _as_parent(spec.name):
            _warn(spec.name, self.new)
        return module

    def exec_module(self, module):
        # The import system gave the new module the old name's spec: give its own back.
        if self.spec is not None:
            module.__spec__ = self.spec


class _Finder(importlib.abc.MetaPathFinder):
    """Answers for every module inside the old package."""

    package = __name__

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self.package + "."):
            return None
        new, why = _decide(fullname)
        if new is None:
            raise ModuleNotFoundError(why, name=fullname)
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


_INSTALLED = [f for f in sys.meta_path if type(f).__name__ == "_Finder" and getattr(f, "package", None) == __name__]
if not _INSTALLED:
    sys.meta_path.insert(0, _Finder())

_NEW, _WHY = _decide(__name__)
if _NEW is not None:
    _module = importlib.import_module(_NEW)
    if not _as_parent(__name__):
        _warn(__name__, _NEW)
    # `import {package}` then gives the new package itself.
    sys.modules[__name__] = _module
elif not _as_parent(__name__):
    raise ImportError(_WHY, name=__name__)
'''


def _literal(table: dict[str, str]) -> str:
    if not table:
        return "{}"
    lines = "".join(f"    {key!r}: {value!r},\n" for key, value in sorted(table.items()))
    return "{\n" + lines + "}"


def shim_source(table: _Policy, package: str, source: str) -> str:
    """The shim's ``__init__.py`` for the old ``package``, from the banned ``table``
    (``source`` names the policy it came from)."""
    from guardian.output import printable

    inside = package + "."
    keys = [key for key in table.entries if key.startswith(inside)]
    if table.match(package) is not None:
        keys.insert(0, package)  # decided by its own entry, or by one above it (`legacy` for `legacy.engine`)
    if not keys:
        raise GuardianError(
            f"no entry of the forbidden-import `banned` table maps `{package}` or a module inside it; the shim "
            f'would have nothing to serve: add one, e.g. {package} = "new_package"'
        )
    migrated: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for key in keys:
        _entry, destination, reason = table.decision(key)
        if destination is not None:
            migrated[key] = destination
        elif reason is not None:
            skipped[key] = reason
    # The policy's name goes into a docstring: no backslash, no closing quotes.
    shown = printable(source).replace("\\", "/").replace('"', "'")
    return _TEMPLATE.format(
        marker=MARKER, package=package, source=shown, migrated=_literal(migrated), skipped=_literal(skipped)
    )


def write_shim(directory: str, table: _Policy, source: str) -> tuple[str, list[str]]:
    """Write the shim into ``directory`` (the old package's directory, created if
    need be). (the file written, other Python files there that it shadows)."""
    import keyword

    from guardian.fixer import write_atomic

    package = os.path.basename(os.path.normpath(os.path.abspath(directory)))
    if not package.isidentifier() or keyword.iskeyword(package):
        raise GuardianError(
            f"--write-shim {directory}: `{package}` is not a Python package name; name the old package's directory"
        )
    if os.path.lexists(directory) and not os.path.isdir(directory):
        raise GuardianError(f"--write-shim {directory}: is not a directory; name the old package's directory")
    init = os.path.join(directory, "__init__.py")
    if os.path.lexists(init):
        from guardian.files import read_file

        head, _why = read_file(init, max_size=16 * 1024 * 1024)
        if head is None or not head.startswith(MARKER.encode()):
            raise GuardianError(
                f"--write-shim {directory}: {init} exists and is not a shim Guardian wrote; move the old package "
                "away first (`git mv`), or name another directory"
            )
    text = shim_source(table, package, source)
    os.makedirs(directory, exist_ok=True)
    write_atomic(init, text.encode("utf-8"))
    shadowed = sorted(
        os.path.relpath(os.path.join(parent, name), directory).replace(os.sep, "/")
        for parent, _dirs, names in os.walk(directory)
        for name in names
        if name.endswith(".py") and os.path.join(parent, name) != init
    )
    return init, shadowed
