"""Policies: the shipped ones, a project's own, and how one extends another.

A policy is TOML. In ``.guardian.toml`` its keys are at the top level; in
``pyproject.toml`` they live under ``[tool.guardian]``::

    extend = "default"              # a shipped policy, a file, or "none"
    exclude = ["vendor/**"]         # paths no rule looks at
    max-content-size = "5 MiB"      # content rules skip larger files

    [rules.max-file-size]
    enabled = true
    severity = "error"              # or "warning"
    exclude = ["dashboard/assets/**"]
    limit = "2 MiB"                 # the rule's own options

A project configuration extends the shipped ``default`` policy unless it says
otherwise. A file sets what it names: a rule it does not mention keeps its
inherited settings, and each setting it gives (a value, a list, an option
table such as ``banned``) replaces the inherited one.
Every problem is a ``ConfigError`` naming the file, the key and what to do.
"""

from __future__ import annotations

import os

from guardian.errors import ConfigError
from guardian.model import SEVERITIES
from guardian.rules import REGISTRY, rule_class
from guardian.units import parse_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    from guardian.rules.base import Rule

CONFIG_FILES = (".guardian.toml", "pyproject.toml")
TOP_LEVEL_KEYS = ("extend", "exclude", "max-content-size", "baseline", "rules")
COMMON_RULE_KEYS = ("enabled", "severity", "exclude")
DEFAULT_MAX_CONTENT = 10 * 1024 * 1024
_HERE = os.path.dirname(os.path.abspath(__file__))


def shipped_policy_dirs() -> list[str]:
    # In a wheel the policies are packaged under guardian/_policies; in a
    # source checkout (editable install, tests) they sit in ../policies.
    return [os.path.join(_HERE, "_policies"), os.path.join(os.path.dirname(_HERE), "policies")]


def shipped_policies() -> dict[str, str]:
    """Name -> path of every shipped policy."""
    found: dict[str, str] = {}
    for directory in shipped_policy_dirs():
        if os.path.isdir(directory):
            for name in sorted(os.listdir(directory)):
                if name.endswith(".toml"):
                    found.setdefault(name[:-5], os.path.join(directory, name))
    return found


class Policy:
    """A resolved policy: enabled rule objects and the global settings."""

    def __init__(
        self,
        rules: list[Rule],
        *,
        exclude: list[str],
        max_content_size: int,
        sources: list[str],
        baseline: str | None = None,
    ) -> None:
        self.rules = rules
        self.exclude = exclude
        self.max_content_size = max_content_size
        #: The baseline every surface applies, relative to the repository root.
        self.baseline = baseline
        #: Where the policy came from, most specific first (for reports).
        self.sources = sources

    @property
    def source(self) -> str:
        return " extending ".join(self.sources) if self.sources else "built-in defaults"

    def rule(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None


# -- reading files ---------------------------------------------------------


def _cache_path(data: bytes) -> str:
    import zlib

    base = os.environ.get("GUARDIAN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "guardian"
    )
    return os.path.join(base, f"toml-{zlib.crc32(data):08x}-{len(data)}.marshal")


def _parse_toml(data: bytes, source: str) -> dict[str, object]:
    """Parse TOML, through a small cache.

    Hooks run on every commit and ``tomllib`` costs more to import than the
    rest of a hook's work on a small commit, so a parsed file is kept as
    ``marshal`` data, keyed by its bytes (and checked against them on load).
    """
    import marshal

    cache = _cache_path(data)
    try:
        with open(cache, "rb") as fh:
            cached_data, cached = marshal.loads(fh.read())
        if cached_data == data and isinstance(cached, dict):
            return cached
    except (OSError, ValueError, EOFError, TypeError):
        pass
    import tomllib

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, "", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(source, "", "arrays or tables nested too deeply to read; flatten them") from None
    _store(cache, (data, parsed))
    return parsed


def _store(cache: str, value: tuple[bytes, dict[str, object]]) -> None:
    import marshal

    try:
        blob = marshal.dumps(value)
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        tmp = f"{cache}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, cache)
    except (OSError, ValueError):
        # Dates do not marshal, and a read-only home is fine: no cache then.
        pass


#: No policy file is read past this size.
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def _read(path: str) -> bytes:
    from guardian.files import read_file

    data, why = read_file(path, max_size=MAX_CONFIG_BYTES, follow=True, limit_name="the policy file limit")
    if data is None:
        raise ConfigError(path, "", f"cannot use the file: {why}; check the path")
    return data


def guardian_table(data: dict[str, object], source: str) -> dict[str, object] | None:
    """The policy table of a parsed file: the whole file, or [tool.guardian] of a pyproject."""
    # ``source`` is a path, or ``REV:path`` for a file read from git.
    if os.path.basename(source).rpartition(":")[2] != "pyproject.toml":
        return data
    tool = data.get("tool")
    if not isinstance(tool, dict):
        return None
    table = tool.get("guardian")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(source, "tool.guardian", "must be a table; write [tool.guardian]")
    return table


def may_name_guardian(data: bytes) -> bool:
    """False only when ``data`` cannot hold a ``guardian`` key in any TOML
    spelling. ``[tool.guardian]``, ``[tool . "guardian"]``, ``[tool]`` then
    ``guardian = {...}`` and ``tool.guardian.x = 1`` all write the key's
    letters as they are; only a basic string's ``\\u``/``\\U`` escapes can
    hide them. Parsing every pyproject.toml would cost a hook the import of
    ``tomllib``; this test costs two byte searches."""
    return b"guardian" in data or b"\\u" in data or b"\\U" in data


def holds_policy(data: bytes, source: str) -> bool:
    """Whether a configuration file's bytes hold a policy: any
    ``.guardian.toml``, a ``pyproject.toml`` only with [tool.guardian] (in any
    spelling TOML allows). A file that does not parse counts, so that loading
    it reports why."""
    if os.path.basename(source).rpartition(":")[2] != "pyproject.toml":
        return True
    if not may_name_guardian(data):
        return False
    try:
        return guardian_table(_parse_toml(data, source), source) is not None
    except ConfigError:
        return True


def policy_file() -> Generator[str, bytes | None, tuple[str, bytes] | None]:
    """Which file of one directory holds its policy, one question at a time.

    Yields a file name (``.guardian.toml``, then ``pyproject.toml``) and is
    sent that file's bytes, or None when the directory has no such regular
    file; returns (name, bytes) of the file holding the policy, or None.
    Every place that looks for a policy drives this one lookup with its own
    reader: a directory on disk, a commit's tree, the base branch through
    GitHub's API (which awaits each answer).
    """
    for name in CONFIG_FILES:
        data = yield name
        if data is not None and holds_policy(data, name):
            return name, data
    return None


def find_policy_file(read: Callable[[str], bytes | None]) -> tuple[str, bytes] | None:
    """``policy_file`` driven by ``read`` (a file name -> its bytes or None)."""
    lookup = policy_file()
    try:
        name = next(lookup)
        while True:
            name = lookup.send(read(name))
    except StopIteration as done:
        found: tuple[str, bytes] | None = done.value
        return found


def _find_config(start: str) -> tuple[str, bytes] | None:
    """(path, bytes) of the nearest directory's policy file.

    Looks in ``start`` and its parents, stopping at the repository root (a
    directory holding ``.git``, or a bare repository) so a policy never leaks
    in from outside.
    """
    directory = os.path.abspath(start)
    while True:

        def read(name: str, directory: str = directory) -> bytes | None:
            candidate = os.path.join(directory, name)
            return _read(candidate) if os.path.isfile(candidate) else None

        found = find_policy_file(read)
        if found is not None:
            return os.path.join(directory, found[0]), found[1]
        parent = os.path.dirname(directory)
        bare = os.path.isfile(os.path.join(directory, "HEAD")) and os.path.isdir(os.path.join(directory, "objects"))
        if bare or os.path.exists(os.path.join(directory, ".git")) or parent == directory:
            return None
        directory = parent


def find_config(start: str) -> str | None:
    """The nearest ``.guardian.toml`` or ``pyproject.toml`` with ``[tool.guardian]``."""
    found = _find_config(start)
    return found[0] if found is not None else None


# -- merging and validation -----------------------------------------------


def resolve_extend(name: str, from_source: str) -> tuple[dict[str, object], str]:
    """Load an ``extend`` target: a shipped policy name or a path relative to
    the file that names it."""
    shipped = shipped_policies()
    if name in shipped:
        path = shipped[name]
        return _parse_toml(_read(path), path), f"shipped policy '{name}'"
    if name.endswith(".toml") or "/" in name or os.sep in name:
        base = os.path.dirname(from_source) if os.path.isfile(from_source) else os.getcwd()
        path = os.path.normpath(os.path.join(base, name))
        if not os.path.isfile(path):
            raise ConfigError(from_source, "extend", f"file {name!r} not found (looked at {path})")
        table = guardian_table(_parse_toml(_read(path), path), path)
        if table is None:
            raise ConfigError(path, "tool.guardian", "no [tool.guardian] table in this pyproject.toml")
        return table, path
    known = ", ".join(sorted(shipped)) or "none"
    raise ConfigError(
        from_source, "extend", f'unknown policy {name!r}; use a shipped policy ({known}), a .toml path, or "none"'
    )


#: Files an ``extend`` chain may hold; a longer one is surely a mistake.
MAX_EXTEND_DEPTH = 32


def _layers(
    table: dict[str, object],
    source: str,
    resolver: Callable[[str, str], tuple[dict[str, object], str]],
    *,
    default_extend: str = "default",
) -> list[tuple[_Settings, str]]:
    """This file's validated settings, then those of everything it extends."""
    layers: list[tuple[_Settings, str]] = []
    names: list[str] = []
    while True:
        extend = table.get("extend", default_extend)
        if not isinstance(extend, str):
            raise ConfigError(source, "extend", 'must be a string: a shipped policy name, a .toml path, or "none"')
        layers.append((_validate({k: v for k, v in table.items() if k != "extend"}, source), source))
        if extend == "none":
            return layers
        names.append(extend)
        if len(layers) >= MAX_EXTEND_DEPTH:
            raise ConfigError(source, "extend", f"the extend chain is longer than {MAX_EXTEND_DEPTH} files; shorten it")
        table, base_source = resolver(extend, source)
        if base_source in {src for _settings, src in layers}:
            raise ConfigError(source, "extend", f"{extend!r} extends itself (cycle: {' -> '.join(names)})")
        # A shipped or extended file starts from nothing unless it says otherwise.
        source, default_extend = base_source, "none"


def _str_list(value: object, source: str, key: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(source, key, 'must be a list of gitignore-style patterns, e.g. ["vendor/**"]')
    return list(value)


class _Settings:
    """One file's validated settings: globals and, per rule, what it says."""

    def __init__(self) -> None:
        self.exclude: list[str] | None = None
        self.max_content: int | None = None
        self.baseline: str | None = None
        #: rule id -> (enabled, severity, exclude patterns, parsed options); None where unset.
        self.rules: dict[str, tuple[bool | None, str | None, list[str] | None, dict[str, object]]] = {}


def _validate(table: dict[str, object], source: str) -> _Settings:
    """Check one policy table and parse its values. Errors name ``source``
    and the key as written there (``tool.guardian.`` in a pyproject.toml)."""
    prefix = "tool.guardian." if os.path.basename(source) == "pyproject.toml" else ""

    def error(key: str, problem: str) -> ConfigError:
        return ConfigError(source, prefix + key, problem)

    for key in table:
        if key not in TOP_LEVEL_KEYS:
            raise error(key, f"unknown key; expected one of: {', '.join(TOP_LEVEL_KEYS)}")
    out = _Settings()
    if "exclude" in table:
        out.exclude = _str_list(table["exclude"], source, prefix + "exclude")
    if "max-content-size" in table:
        try:
            out.max_content = parse_size(table["max-content-size"])
        except ValueError as exc:
            raise error("max-content-size", str(exc)) from None
    if "baseline" in table:
        value = table["baseline"]
        text = value if isinstance(value, str) else ""
        parts = text.replace("\\", "/").split("/")
        if not text or text.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts or not parts[-1]:
            raise error("baseline", 'must be a path relative to the repository root, e.g. ".guardian-baseline.json"')
        out.baseline = "/".join(p for p in parts if p not in ("", "."))
    rules_table = table.get("rules", {})
    if not isinstance(rules_table, dict):
        raise error("rules", "must be a table of rule-id = { ... }")
    for rule_id, settings in rules_table.items():
        key = f"rules.{rule_id}"
        if rule_id not in REGISTRY:
            raise error(key, f"unknown rule; known rules: {', '.join(REGISTRY)}")
        if not isinstance(settings, dict):
            raise error(key, "must be a table, e.g. [rules.max-file-size]")
        options = {opt.name: opt for opt in rule_class(rule_id).options}
        allowed = (*COMMON_RULE_KEYS, *options)
        for name in settings:
            if name not in allowed:
                raise error(f"{key}.{name}", f"unknown key; expected one of: {', '.join(allowed)}")
        enabled = settings.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise error(f"{key}.enabled", "must be true or false")
        severity = settings.get("severity")
        if severity is not None and severity not in SEVERITIES:
            raise error(f"{key}.severity", f"must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        exclude = None
        if "exclude" in settings:
            exclude = _str_list(settings["exclude"], source, f"{prefix}{key}.exclude")
        values: dict[str, object] = {}
        for name, opt in options.items():
            if name in settings:
                try:
                    values[name] = opt.parse(settings[name])
                except ValueError as exc:
                    raise error(f"{key}.{name}", str(exc)) from None
        out.rules[rule_id] = (enabled, severity if isinstance(severity, str) else None, exclude, values)
    return out


def build_policy(
    table: dict[str, object],
    source: str,
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    resolver: Callable[[str, str], tuple[dict[str, object], str]] = resolve_extend,
    default_extend: str = "default",
) -> Policy:
    """Turn a policy table (already read from ``source``) into a ``Policy``.

    Each file in the ``extend`` chain is validated on its own, so an error
    names the file it is in; then the files apply from the base up: a value
    replaces the inherited one, and option tables (like ``banned``) replace
    whole.
    """
    from guardian.ignore import PathMatcher

    layers = _layers(table, source, resolver, default_extend=default_extend)
    exclude: list[str] = []
    max_content = DEFAULT_MAX_CONTENT
    baseline: str | None = None
    enabled = dict.fromkeys(REGISTRY, True)
    severity = dict.fromkeys(REGISTRY, "error")
    rule_exclude: dict[str, list[str]] = {rule_id: [] for rule_id in REGISTRY}
    values: dict[str, dict[str, object]] = {rule_id: {} for rule_id in REGISTRY}
    for layer in reversed([settings for settings, _source in layers]):
        exclude = layer.exclude if layer.exclude is not None else exclude
        max_content = layer.max_content if layer.max_content is not None else max_content
        baseline = layer.baseline if layer.baseline is not None else baseline
        for rule_id, (on, level, patterns, options) in layer.rules.items():
            enabled[rule_id] = on if on is not None else enabled[rule_id]
            severity[rule_id] = level or severity[rule_id]
            rule_exclude[rule_id] = patterns if patterns is not None else rule_exclude[rule_id]
            values[rule_id].update(options)
    wanted = set(REGISTRY if select is None else select) - set(ignore)
    rules: list[Rule] = []
    for rule_id in REGISTRY:
        if not enabled[rule_id] or rule_id not in wanted:
            continue
        cls = rule_class(rule_id)
        matcher = PathMatcher([*exclude, *cls.default_exclude, *rule_exclude[rule_id]])
        rules.append(cls(values[rule_id], severity=severity[rule_id], exclude=matcher.matches))
    sources = [src for _settings, src in layers if not src.startswith("<")]
    return Policy(rules, exclude=exclude, max_content_size=max_content, sources=sources, baseline=baseline)


def load_policy(
    config: str | None = None,
    *,
    start: str = ".",
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
) -> Policy:
    """The policy for a checkout: ``config`` if given, else the nearest
    project configuration, else the shipped default."""
    found = (config, _read(config)) if config else _find_config(start)
    if found is None:
        return build_policy({}, "<no project configuration>", select=select, ignore=ignore)
    path, data = shown(found[0]), found[1]
    table = guardian_table(_parse_toml(data, path), path)
    if table is None:
        if config:
            raise ConfigError(path, "tool.guardian", "no [tool.guardian] table; add one or pass a .guardian.toml")
        table = {}
    return build_policy(table, path, select=select, ignore=ignore)


def shown(path: str) -> str:
    """A path as a user would type it: relative when it is below the current
    directory, absolute otherwise (the same answer wherever the tool runs)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel == ".." or rel.startswith(".." + os.sep) else rel


def load_policy_bytes(data: bytes, source: str, **kwargs: object) -> Policy:
    """A policy from bytes read elsewhere (the GitHub App reads the base
    branch's file). Only shipped policies may be extended from there."""

    def shipped_only(name: str, from_source: str) -> tuple[dict[str, object], str]:
        if name not in shipped_policies():
            raise ConfigError(from_source, "extend", f"only shipped policies can be extended here, not {name!r}")
        return resolve_extend(name, from_source)

    table = guardian_table(_parse_toml(data, source), source) or {}
    return build_policy(table, source, resolver=shipped_only, **kwargs)  # type: ignore[arg-type]
