"""The options of ``guardian check`` and friends, written once.

Two parsers read this table: argparse, for every command line, and a quick
parser for the plain ``guardian check ...`` lines hooks and CI run. A hook
runs on every commit, and argparse with what it imports (gettext, shutil,
...) costs more than the rest of a small check (``bench/bench_check.py``).
The quick parser answers only where it is sure to answer as argparse would
(a property test holds it to that) and leaves everything else, help,
abbreviations and errors included, to argparse.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence


class Option:
    """One option: ``--name`` alone (a flag) or with a value."""

    __slots__ = ("choices", "default", "flag", "group", "help", "metavar", "name", "parse")

    def __init__(
        self,
        name: str,
        help: str,
        *,
        flag: bool = False,
        metavar: str | None = None,
        default: object = None,
        choices: Callable[[], Sequence[str]] | None = None,
        parse: Callable[[str], object] | None = None,
        group: str = "",
    ) -> None:
        self.name = name
        self.help = help
        self.flag = flag
        self.metavar = metavar
        self.default = False if flag else default
        #: Where the allowed values come from, asked when parsing: the report
        #: formats are not imported for a command line that names none.
        self.choices = choices
        self.parse = parse
        #: Options of one group exclude each other (the source of a check).
        self.group = group

    @property
    def dest(self) -> str:
        return self.name[2:].replace("-", "_")


def rule_list(value: str) -> list[str]:
    """``--select``/``--ignore``: comma-separated rule ids, each a known one."""
    from guardian.rules import REGISTRY

    ids = [part.strip() for part in value.split(",") if part.strip()]
    for rule_id in ids:
        if rule_id not in REGISTRY:
            raise ValueError(f"unknown rule {rule_id!r}; known rules: {', '.join(REGISTRY)}")
    return ids


def _formats() -> tuple[str, ...]:
    from guardian.report import FORMATS

    return FORMATS


SOURCE = (
    Option("--staged", "staged changes, or the staged PATHs (hooks)", flag=True, group="source"),
    Option("--all-files", "every tracked file", flag=True, group="source"),
    Option("--rev-range", "blobs added by the commits in A..B (or B: a new branch)", metavar="A..B", group="source"),
    Option("--pre-push", "the range being pushed (pre-commit or git hook)", flag=True, group="source"),
)
POLICY = (
    Option("--config", "policy file (default: nearest .guardian.toml or pyproject.toml)", metavar="FILE"),
    Option("--select", "only these rules (comma-separated)", metavar="RULES", parse=rule_list),
    Option("--ignore", "skip these rules", metavar="RULES", parse=rule_list, default=[]),
)
REPORT = (
    Option("--format", "report format (default: text)", default="text", choices=_formats),
    Option("--output", "write the report to FILE instead of standard output", metavar="FILE"),
    Option("--baseline", "hide findings recorded in this baseline", metavar="FILE"),
    Option("--exit-zero", "exit 0 even when violations are found", flag=True),
)
CHECK = (*SOURCE, *POLICY, *REPORT)


def add_to(parser: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    """The options as argparse arguments (a group's as mutually exclusive)."""

    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for option in options:
        target: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup = parser
        if option.group:
            target = groups.get(option.group) or groups.setdefault(option.group, parser.add_mutually_exclusive_group())
        if option.flag:
            target.add_argument(option.name, action="store_true", help=option.help)
            continue
        kwargs: dict[str, object] = {"metavar": option.metavar, "help": option.help, "default": option.default}
        if option.choices is not None:
            kwargs["choices"] = option.choices()
            kwargs.pop("metavar")
        if option.parse is not None:
            kwargs["type"] = _argparse_type(option.parse)
        target.add_argument(option.name, **kwargs)  # type: ignore[arg-type]


def _argparse_type(parse: Callable[[str], object]) -> Callable[[str], object]:
    def convert(value: str) -> object:
        import argparse

        try:
            return parse(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def quick_parse(argv: Sequence[str], options: Sequence[Option]) -> dict[str, object] | None:
    """``options`` and the trailing paths of ``argv`` (after the command) as
    argparse would parse them, or None for anything out of the ordinary."""
    by_name = {option.name: option for option in options}
    paths: list[str] = []
    values: dict[str, object] = {"paths": paths}
    values.update({option.dest: option.default for option in options})
    groups: dict[str, int] = {}
    closed = False  # argparse takes one run of paths: options, then paths
    rest = iter(argv)
    for arg in rest:
        if not arg.startswith("-") or arg == "-":
            if closed:
                return None
            paths.append(arg)
            continue
        closed = bool(paths)
        name, eq, value = arg.partition("=")
        option = by_name.get(name)
        if option is None:
            return None
        if option.group:
            groups[option.group] = groups.get(option.group, 0) + 1
        if option.flag:
            if eq:
                return None
            values[option.dest] = True
            continue
        if not eq:
            value = next(rest, "-")
            if value.startswith("-"):
                return None
        if option.choices is not None and value not in option.choices():
            return None
        if option.parse is not None:
            try:
                values[option.dest] = option.parse(value)
            except ValueError:
                return None
        else:
            values[option.dest] = value
    if any(count > 1 for count in groups.values()):
        return None
    return values
