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
otherwise. Tables merge key by key; a list or a value replaces the inherited one.
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
    from collections.abc import Callable, Iterable

    from guardian.rules.base import Rule

CONFIG_FILES = (".guardian.toml", "pyproject.toml")
TOP_LEVEL_KEYS = ("extend", "exclude", "max-content-size", "rules")
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

    def __init__(self, rules: list[Rule], *, exclude: list[str], max_content_size: int, sources: list[str]) -> None:
        self.rules = rules
        self.exclude = exclude
        self.max_content_size = max_content_size
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


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read the file ({exc.strerror}); check the path") from None


def guardian_table(data: dict[str, object], source: str) -> dict[str, object] | None:
    """The policy table of a parsed file: the whole file, or [tool.guardian] of a pyproject."""
    if os.path.basename(source) != "pyproject.toml":
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


def find_config(start: str) -> str | None:
    """The nearest ``.guardian.toml`` or ``pyproject.toml`` with ``[tool.guardian]``.

    Looks in ``start`` and its parents, stopping at the repository root (a
    directory holding ``.git``) so a policy never leaks in from outside.
    """
    directory = os.path.abspath(start)
    while True:
        for name in CONFIG_FILES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                if name == "pyproject.toml":
                    if b"tool.guardian" not in _read(candidate):
                        continue
                    if guardian_table(_parse_toml(_read(candidate), candidate), candidate) is None:
                        continue
                return candidate
        parent = os.path.dirname(directory)
        if os.path.exists(os.path.join(directory, ".git")) or parent == directory:
            return None
        directory = parent


# -- merging and validation -----------------------------------------------


def _merge(base: dict[str, object], over: dict[str, object]) -> dict[str, object]:
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        if key != "banned" and isinstance(old, dict) and isinstance(value, dict):
            # Option tables that are mappings of names (like banned modules)
            # replace; structural tables (rules, a rule's settings) merge.
            merged[key] = _merge(old, value)
        else:
            merged[key] = value
    return merged


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


def _flatten(
    table: dict[str, object],
    source: str,
    resolver: Callable[[str, str], tuple[dict[str, object], str]],
    seen: tuple[str, ...] = (),
    *,
    default_extend: str = "default",
) -> tuple[dict[str, object], list[str]]:
    """The table merged over everything it extends, and the chain of sources."""
    extend = table.get("extend", default_extend)
    if not isinstance(extend, str):
        raise ConfigError(source, "extend", 'must be a string: a shipped policy name, a .toml path, or "none"')
    own = {k: v for k, v in table.items() if k != "extend"}
    if extend == "none":
        return own, [source]
    if extend in seen:
        raise ConfigError(source, "extend", f"{extend!r} extends itself (cycle: {' -> '.join((*seen, extend))})")
    base_table, base_source = resolver(extend, source)
    # A shipped or extended file starts from nothing unless it says otherwise.
    base, chain = _flatten(base_table, base_source, resolver, (*seen, extend), default_extend="none")
    return _merge(base, own), [source, *chain]


def _check_keys(table: dict[str, object], allowed: Iterable[str], source: str, prefix: str) -> None:
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise ConfigError(source, f"{prefix}{key}", f"unknown key; expected one of: {', '.join(allowed)}")


def _str_list(value: object, source: str, key: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(source, key, 'must be a list of gitignore-style patterns, e.g. ["vendor/**"]')
    return list(value)


def build_policy(
    table: dict[str, object],
    source: str,
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    resolver: Callable[[str, str], tuple[dict[str, object], str]] = resolve_extend,
    default_extend: str = "default",
) -> Policy:
    """Turn a policy table (already read from ``source``) into a ``Policy``."""
    from guardian.ignore import PathMatcher

    merged, chain = _flatten(table, source, resolver, default_extend=default_extend)
    _check_keys(merged, TOP_LEVEL_KEYS, source, "")
    global_exclude = _str_list(merged.get("exclude", []), source, "exclude")
    try:
        max_content = parse_size(merged.get("max-content-size", DEFAULT_MAX_CONTENT))
    except ValueError as exc:
        raise ConfigError(source, "max-content-size", str(exc)) from None
    rules_table = merged.get("rules", {})
    if not isinstance(rules_table, dict):
        raise ConfigError(source, "rules", "must be a table of rule-id = { ... }")
    for rule_id in rules_table:
        if rule_id not in REGISTRY:
            raise ConfigError(source, f"rules.{rule_id}", f"unknown rule; known rules: {', '.join(REGISTRY)}")
    wanted = set(REGISTRY if select is None else select) - set(ignore)

    rules: list[Rule] = []
    for rule_id in REGISTRY:
        settings = rules_table.get(rule_id, {})
        key = f"rules.{rule_id}"
        if not isinstance(settings, dict):
            raise ConfigError(source, key, "must be a table, e.g. [rules.max-file-size]")
        cls = rule_class(rule_id)
        options = {opt.name: opt for opt in cls.options}
        _check_keys(settings, (*COMMON_RULE_KEYS, *options), source, key + ".")
        enabled = settings.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(source, f"{key}.enabled", "must be true or false")
        severity = settings.get("severity", "error")
        if severity not in SEVERITIES:
            raise ConfigError(source, f"{key}.severity", f"must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        patterns = [*cls.default_exclude, *_str_list(settings.get("exclude", []), source, f"{key}.exclude")]
        values: dict[str, object] = {}
        for name, opt in options.items():
            if name in settings:
                try:
                    values[name] = opt.parse(settings[name])
                except ValueError as exc:
                    raise ConfigError(source, f"{key}.{name}", str(exc)) from None
        if not enabled or rule_id not in wanted:
            continue
        matcher = PathMatcher([*global_exclude, *patterns])
        rules.append(cls(values, severity=str(severity), exclude=matcher.matches))
    sources = [s for s in chain if not s.startswith("<")]
    return Policy(rules, exclude=global_exclude, max_content_size=max_content, sources=sources)


def load_policy(
    config: str | None = None,
    *,
    start: str = ".",
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
) -> Policy:
    """The policy for a checkout: ``config`` if given, else the nearest
    project configuration, else the shipped default."""
    path = config or find_config(start)
    if path is None:
        return build_policy({}, "<no project configuration>", select=select, ignore=ignore)
    table = guardian_table(_parse_toml(_read(path), path), path)
    if table is None:
        if config:
            raise ConfigError(path, "tool.guardian", "no [tool.guardian] table; add one or pass a .guardian.toml")
        table = {}
    return build_policy(table, path, select=select, ignore=ignore)


def load_policy_bytes(data: bytes, source: str, **kwargs: object) -> Policy:
    """A policy from bytes read elsewhere (the GitHub App reads the base
    branch's file). Only shipped policies may be extended from there."""

    def shipped_only(name: str, from_source: str) -> tuple[dict[str, object], str]:
        if name not in shipped_policies():
            raise ConfigError(from_source, "extend", f"only shipped policies can be extended here, not {name!r}")
        return resolve_extend(name, from_source)

    table = guardian_table(_parse_toml(data, source), source) or {}
    return build_policy(table, source, resolver=shipped_only, **kwargs)  # type: ignore[arg-type]
