"""What a rule is: an id, its docs, its options and pure checks.

A rule never calls git, the network or the clock. The engine hands it file
entries with their bytes (file rules) or the snapshot (repository rules), and
it yields ``Finding`` objects. Fixes return new bytes; the caller writes them.
"""

from __future__ import annotations

from guardian.model import ERROR, FileEntry, Finding, Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ast
    from collections.abc import Callable, Iterable, Mapping


class Option:
    """One configurable option of a rule: its name, parser, default and help."""

    __slots__ = ("default", "help", "name", "parse", "type_name")

    def __init__(
        self, name: str, parse: Callable[[object], object], default: object, help: str, type_name: str
    ) -> None:
        self.name = name
        self.parse = parse
        self.default = default
        self.help = help
        self.type_name = type_name


def parse_str_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    return list(value)


def parse_str_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError('expected a table of strings, e.g. { old_name = "new_name" }')
    return dict(value)


def parse_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _never(path: str) -> bool:
    return False


class Rule:
    """Base of every rule. Subclasses set the class attributes and checks."""

    #: Kebab-case id used in config, suppressions and reports.
    id: str = ""
    #: One line for ``guardian rules``.
    summary: str = ""
    #: Markdown: What it does / Why is this bad? / Example / Use instead / Options.
    docs: str = ""
    #: "file": judged per file; "repo": judged once per snapshot.
    scope: str = "file"
    #: File rules that read bytes (the engine batches the reads).
    needs_content: bool = False
    #: Skip binary blobs (a NUL byte in the first 8000 bytes, as git decides).
    text_only: bool = True
    default_exclude: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()

    def __init__(
        self,
        settings: Mapping[str, object] | None = None,
        *,
        severity: str = ERROR,
        exclude: Callable[[str], bool] | None = None,
    ) -> None:
        values = {opt.name: opt.default for opt in self.options}
        if settings:
            values.update(settings)
        self.settings = values
        self.severity = severity
        #: The rule's own ``exclude`` patterns with the policy's global ones.
        #: The engine applies it to file rules; repository rules call it.
        self.is_excluded: Callable[[str], bool] = exclude or _never

    def finding(self, path: str, message: str, **where: object) -> Finding:
        return Finding(self.id, path, message, severity=self.severity, **where)  # type: ignore[arg-type]

    # -- file rules -------------------------------------------------------
    def applies(self, path: str) -> bool:
        """Cheap test on the path alone: does this rule look at such files?"""
        return True

    def check_file(self, entry: FileEntry, data: bytes | None) -> Iterable[Finding]:
        """Findings for one file; ``data`` is None for rules without content."""
        return ()

    def fix_file(self, path: str, data: bytes) -> bytes | None:
        """The file's new bytes with this rule's findings fixed, or None."""
        return None

    def triggers(self, path: str) -> tuple[bytes, ...] | None:
        """Byte strings that every line this rule can report on contains.

        A history scan uses them to skip a file version whose such lines all
        stood in the version before it. None (the default) means findings
        cannot be tied to lines that way, and every version is judged.
        """
        return None

    # -- repository rules -------------------------------------------------
    def check_repo(self, snapshot: Snapshot) -> Iterable[Finding]:
        return ()

    @classmethod
    def combined(cls, messages: list[str]) -> list[str]:
        """This rule's messages about one file as a text report shows them:
        several alike may read better as one line (JSON and SARIF keep one
        finding each). By default, as they are."""
        return messages

    def made_by(self, finding: Finding, change: Snapshot, before: Callable[[], Snapshot | None]) -> bool:
        """Whether ``change`` (a snapshot whose ``files`` are what a commit or
        pull request changes) makes this repository finding, rather than the
        finding standing before it. ``before()`` is the tree before the
        change (None when there is none), read only if asked. By default a
        finding is the change's."""
        return True

    def fix_repo(self, snapshot: Snapshot) -> dict[str, bytes]:
        """Paths (relative to the snapshot root) mapped to their new bytes."""
        return {}


def is_binary(data: bytes) -> bool:
    """git's own test: a NUL byte within the first 8000 bytes."""
    return b"\0" in data[:8000]


def parse_python(data: bytes) -> ast.Module:
    """``ast.parse`` of a file from a repository, raising what it raises,
    without the warnings the parser gives about the file's content (an
    invalid escape sequence is a SyntaxWarning from Python 3.12 on, shown by
    default): on a user's terminal they would be Python's noise about their
    code, not a finding."""
    import ast
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(data)


def decode_text(data: bytes) -> str:
    """Text of a file for scanning. Non-UTF-8 bytes survive as surrogates,
    so positions stay right and nothing raises."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", "surrogateescape")
