"""forbidden-import: code and configuration must not name a banned module.

A rename done by find-and-replace leaves behind the imports it could not see:
``importlib.import_module("old")``, ``__import__``, relative imports that climb
into the old package, entry points and other dotted names in configuration.
This rule reads Python through its AST (comments and docstrings are not
imports), falls back to line matching for files that are not Python 3, and
matches dotted names by line in configuration files.

The module is on the hook's start-up path: ``ast``, ``re`` and ``tokenize`` are
imported only after a bytes pre-filter found a banned name in the file.
"""

from __future__ import annotations

from guardian.rules.base import Option, Rule, decode_text, parse_python

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ast
    import re
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Protocol

    from guardian.model import FileEntry, Finding

    class Destinations(Protocol):
        """What the checkout being fixed holds of the modules imports would be rewritten to."""

        def missing(self, module: str, names: Sequence[str] = ()) -> str | None:
            """The first of ``module`` and ``module.NAME`` (for each imported name) that
            does not exist; None when all do, or when the checkout does not hold
            ``module``'s top-level package (nothing is known then)."""


PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")
#: Guardian's own configuration names the banned modules on purpose.
OWN_CONFIG = ".guardian.toml"

FALLBACK_NOTE = " (file does not parse as Python 3; matched by text)"
#: Longer strings are prose or data, never a module reference.
MAX_REFERENCE_STRING = 512

# File kinds, decided from the path.
_PYTHON = "python"
_JSON = "json"
_TOML = "toml"
_YAML = "yaml"
_INI = "ini"
_REQUIREMENTS = "requirements"


def _is_dotted_name(value: str) -> bool:
    import keyword

    return all(part.isidentifier() and not keyword.iskeyword(part) for part in value.split("."))


#: A ``banned`` value that starts so is a skip decision: the module is deliberately not migrated.
SKIP_PREFIX = "skip:"


def skip_reason(value: str) -> str | None:
    """The reason of a ``"skip: REASON"`` value; None for a replacement module or a message."""
    if not value.startswith(SKIP_PREFIX):
        return None
    return value[len(SKIP_PREFIX) :].strip()


def parse_banned(value: object) -> dict[str, str]:
    """The ``banned`` option: banned module -> replacement module or message."""
    if not isinstance(value, dict):
        raise ValueError(
            'expected a table of banned module -> replacement module or message, e.g. { old_name = "new_name" }'
        )
    banned: dict[str, str] = {}
    for key, target in value.items():
        if not isinstance(key, str) or not _is_dotted_name(key):
            raise ValueError(f"banned module {key!r} is not a dotted Python module name such as `package.module`")
        if not isinstance(target, str) or not target.strip():
            raise ValueError(f"banned module `{key}` needs a replacement module or a message (a non-empty string)")
        if skip_reason(target) == "":
            raise ValueError(
                f'banned module `{key}`: "{SKIP_PREFIX}" needs the reason after it, '
                'e.g. "skip: research agents, not migrated"'
            )
        banned[key] = target
    policy = _Policy(banned)
    for key, target in banned.items():
        if _is_dotted_name(target):
            culprit = policy.match(target)
            if culprit is not None:
                raise ValueError(
                    f"the replacement `{target}` for banned module `{key}` is itself banned by `{culprit}`; "
                    "map it to a module that is allowed"
                )
    return banned


class _Policy:
    """The parsed ``banned`` table and the questions asked of it."""

    __slots__ = ("_config_re", "depth", "entries", "replacements", "skipped", "top_bytes", "tops")

    def __init__(self, banned: Mapping[str, str]) -> None:
        self.entries = dict(banned)
        #: Entries whose value is a module (the others carry a message).
        self.replacements = {key: value for key, value in banned.items() if _is_dotted_name(value)}
        #: Entries deliberately not migrated (``"skip: REASON"``) -> their reason.
        self.skipped = {key: reason for key, value in banned.items() if (reason := skip_reason(value))}
        self.tops = frozenset(key.split(".", 1)[0] for key in banned)
        self.top_bytes = tuple(top.encode("utf-8") for top in self.tops)
        #: Components in the longest entry: no entry is a longer prefix of a name.
        self.depth = max((key.count(".") + 1 for key in banned), default=0)
        self._config_re: re.Pattern[str] | None = None

    def match(self, name: str) -> str | None:
        """The longest banned entry ``name`` is, or lies inside; None if allowed."""
        # Only the first `depth` components are joined and looked up: a name of
        # thousands of components (`old.a.a.a...`) costs one split, not one join per prefix.
        parts = name.split(".", self.depth)
        if parts[0] not in self.tops:
            return None
        for end in range(min(len(parts), self.depth), 0, -1):
            key = ".".join(parts[:end])
            if key in self.entries:
                return key
        return None

    def has_inside(self, name: str) -> bool:
        """Whether some entry lies strictly inside ``name`` (``name.x`` banned, ``name`` maybe not).

        Only then can ``from name import x`` ban ``x`` without banning ``name``:
        asked once per statement, it spares joining a long module name to every imported name.
        """
        inside = name + "."
        return any(key.startswith(inside) for key in self.entries)

    def replacement(self, name: str) -> str | None:
        """``name`` with its longest banned prefix swapped, or None (allowed, or message only)."""
        key = self.match(name)
        if key is None or key not in self.replacements:
            return None
        return self.replacements[key] + name[len(key) :]

    def advice(self, name: str) -> str:
        key = self.match(name)
        assert key is not None
        if key in self.replacements:
            return f"use `{self.replacements[key]}{name[len(key) :]}`"
        if key in self.skipped:
            return f"`{key}` is not migrated: {self.skipped[key]}"
        return self.entries[key]

    def decision(self, name: str) -> tuple[str | None, str | None, str | None]:
        """(the entry deciding ``name``, its destination module, the reason it is not migrated).

        A destination for a replacement entry; a reason for a skip (or, from a
        message entry, the message); (None, None, None) when no entry maps ``name``.
        """
        key = self.match(name)
        if key is None:
            return None, None, None
        if key in self.replacements:
            return key, self.replacements[key] + name[len(key) :], None
        return key, None, self.skipped.get(key, self.entries[key])

    def keeps_layout(self, name: str) -> bool:
        """Whether every banned module under ``name`` maps to the same place under its replacement.

        Then ``name``'s replacement can stand in for it where code reaches its
        submodules as attributes (``old.sub.run()``).
        """
        new = self.replacement(name)
        if new is None:
            return False
        inside = name + "."
        return all(
            self.replacement(key) == new + key[len(name) :] and key in self.replacements
            for key in self.entries
            if key.startswith(inside)
        )

    def config_re(self) -> re.Pattern[str]:
        """A dotted name starting with a banned top-level name, as a whole word.

        Not part of a longer name (``my_old``, ``old_v2``, ``pkg.old``), a
        hyphenated name or a path (``src/old/``).
        """
        if self._config_re is None:
            import re

            names = "|".join(re.escape(top) for top in sorted(self.tops, key=len, reverse=True))
            self._config_re = re.compile(rf"(?<![\w.\-/\\])(?:{names})(?:\.\w+)*+(?![\w\-/\\])")
        return self._config_re


def _kind(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith(PYTHON_SUFFIXES):
        return _PYTHON
    if name == OWN_CONFIG:
        return None
    if name.endswith(".json"):
        return _JSON
    if name.endswith(".toml"):
        return _TOML
    if name.endswith((".yaml", ".yml")):
        return _YAML
    if name.endswith((".ini", ".cfg")) or name == "entry_points.txt":
        return _INI
    if name.startswith("requirements") and name.endswith((".txt", ".in")):
        return _REQUIREMENTS
    return None


def _package_of(path: str) -> list[str]:
    """The package a Python file's relative imports start from: its directories."""
    return path.split("/")[:-1]


def _split_lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them: only CR, LF and CRLF end a line."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


class _Hit:
    """One finding before it becomes a ``Finding``: where, what, and its edit if fixable."""

    __slots__ = ("column", "edit", "line", "message")

    def __init__(self, line: int, column: int, message: str, edit: tuple[int, int, int, str] | None = None) -> None:
        self.line = line  # 1-based
        self.column = column  # 1-based, in characters
        self.message = message
        #: (line index, start, end, new text): replace characters start..end of that line.
        self.edit = edit


def _import_message(policy: _Policy, name: str, written: str = "") -> str:
    spelled = f" (written `{written}`)" if written and written != name else ""
    return f"import of `{name}`{spelled} is forbidden; {policy.advice(name)}"


def _reference_message(policy: _Policy, name: str) -> str:
    return f"reference to `{name}` is forbidden; {policy.advice(name)}"


# -- Python source positions ---------------------------------------------------


def _ident_end(line: str, pos: int) -> int:
    """End of the identifier starting at ``pos`` (``pos`` itself if there is none)."""
    end = pos
    while end < len(line) and ("a" + line[end]).isidentifier():
        end += 1
    if end > pos and line[pos].isdigit():
        return pos
    return end


def _skip_blanks(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t\f":
        pos += 1
    return pos


def _dotted_end(line: str, pos: int) -> int | None:
    """End of the dotted name (``a . b`` allowed) that starts at ``pos``, or None."""
    end = _ident_end(line, pos)
    if end == pos:
        return None
    while True:
        dot = _skip_blanks(line, end)
        if dot >= len(line) or line[dot] != ".":
            return end
        start = _skip_blanks(line, dot + 1)
        after = _ident_end(line, start)
        if after == start:
            return None
        end = after


def _squeeze(text: str) -> str:
    return "".join(text.split())


#: UTF-8 continuation bytes (0b10xxxxxx) -> 1, every other byte -> 0.
_CONTINUATION = bytes(int(0x80 <= byte < 0xC0) for byte in range(256))
_BLOCK = 4096


class _Columns:
    """Character columns of one line from UTF-8 byte columns, each in bounded time.

    A character starts at every byte that is not a continuation byte, so a byte
    column less the continuation bytes before it is the character column; the
    counts are kept per block of bytes, so no question rescans the line.
    """

    __slots__ = ("blocks", "marks")

    def __init__(self, line: str) -> None:
        self.marks = b""
        self.blocks: list[int] = []
        if line.isascii():
            return
        self.marks = line.encode("utf-8", "surrogatepass").translate(_CONTINUATION)
        total = 0
        for start in range(0, len(self.marks) + 1, _BLOCK):
            self.blocks.append(total)
            total += self.marks.count(1, start, start + _BLOCK)

    def char(self, byte_col: int) -> int:
        if not self.marks:
            return byte_col
        byte_col = max(0, min(byte_col, len(self.marks)))
        block = byte_col // _BLOCK
        return byte_col - self.blocks[block] - self.marks.count(1, block * _BLOCK, byte_col)


# CPython 3.11's parser does quadratic work in two places a file can reach: it
# joins a dotted name one component at a time (`import a.a.a...`), and it finds
# each f-string field by scanning the literal from its start. 40,000 components
# or 30,000 fields take seconds; these bounds, far past real code, keep the
# parser's work per byte within a small factor of the usual.
_MAX_COMPONENTS = 256
_MAX_FIELDS = 1000
#: Identifier bytes (any byte of a UTF-8 sequence too) and blanks: what lies between a dotted name's dots.
_NAME_OR_BLANK = bytes(range(0x80, 0x100)) + b"0123456789_ \t\f" + bytes(range(0x41, 0x5B)) + bytes(range(0x61, 0x7B))
_PARSE_SCREEN: list[tuple[re.Pattern[bytes], re.Pattern[bytes], dict[bytes, re.Pattern[bytes]]]] = []


def _parse_screen() -> tuple[re.Pattern[bytes], re.Pattern[bytes], dict[bytes, re.Pattern[bytes]]]:
    if not _PARSE_SCREEN:
        import re

        # A whole dotted name: starting only where no name goes on, and possessive,
        # so that no byte is read by more than one attempt.
        chain = re.compile(rb"(?<![\w\x80-\xff])[\w\x80-\xff]++(?:[ \t\f]*+\.[ \t\f]*+[\w\x80-\xff]++)++")
        opens = re.compile(rb"[#'\"]")
        # A string body up to its closing quote; a backslash escapes any character.
        bodies = {quote: re.compile(rb"(?:[^%s\\\n]++|\\.)*+" % quote, re.DOTALL) for quote in (b"'", b'"')}
        for quote in (b"'", b'"'):
            bodies[quote * 3] = re.compile(rb"(?:[^%s\\]++|\\.|%s(?!%s%s))*+" % (quote, quote, quote, quote), re.DOTALL)
        _PARSE_SCREEN.append((chain, opens, bodies))
    return _PARSE_SCREEN[0]


def _parses_in_linear_time(data: bytes) -> bool:
    """Whether ``ast.parse(data)`` stays clear of the parser's quadratic cases."""
    return not _has_long_dotted_name(data) and not _has_crowded_fstring(data)


def _has_long_dotted_name(data: bytes) -> bool:
    if data.count(b".") < _MAX_COMPONENTS:
        return False
    joined = data.replace(b"\\\r\n", b"").replace(b"\\\n", b"").replace(b"\\\r", b"")
    # Names and blanks deleted, a long dotted name is a long run of dots: a
    # substring search, at memory speed, that nearly every file fails.
    if b"." * _MAX_COMPONENTS not in joined.translate(None, _NAME_OR_BLANK):
        return False
    chain = _parse_screen()[0]
    return any(found.group().count(b".") >= _MAX_COMPONENTS for found in chain.finditer(joined))


def _has_crowded_fstring(data: bytes) -> bool:
    if data.count(b"{") <= _MAX_FIELDS or not any(q in data for q in (b"f'", b'f"', b"F'", b'F"')):
        return False
    _chain, opens, bodies = _parse_screen()
    # The string literals, comments skipped, and the braces in those that are f-strings.
    pos = 0
    while (found := opens.search(data, pos)) is not None:
        at = found.start()
        if data[at] == 0x23:  # "#"
            pos = data.find(b"\n", at)
            if pos == -1:
                return False
            continue
        quote = data[at : at + 3] if data.startswith((b"'''", b'"""'), at) else data[at : at + 1]
        body_at = at + len(quote)
        body = bodies[quote].match(data, body_at)
        assert body is not None  # the expressions match the empty string
        end = body.end()
        # Past the closing quote; an unterminated string stops at its line's end.
        pos = end + len(quote) if data.startswith(quote, end) else end
        if b"f" in data[max(0, at - 2) : at].lower() and data.count(b"{", body_at, end) > _MAX_FIELDS:
            return True
    return False


class _Source:
    """A parsed Python file: its text lines and the tree."""

    def __init__(self, data: bytes, path: str) -> None:
        import io
        import tokenize

        self.encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        self.tree = parse_python(data)
        self.lines = _split_lines(data.decode(self.encoding))
        self.path = path
        self._columns: dict[int, _Columns] = {}

    def line(self, lineno: int) -> str:
        return self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""

    def char_col(self, lineno: int, byte_col: int) -> int:
        """The parser counts columns in UTF-8 bytes; findings and edits count characters."""
        # One index per line, not one encoding of the line per node: a long line
        # holding many imports would otherwise cost its length once per import.
        columns = self._columns.get(lineno)
        if columns is None:
            columns = self._columns[lineno] = _Columns(self.line(lineno))
        return columns.char(byte_col)

    def encodable(self, text: str) -> bool:
        try:
            text.encode(self.encoding)
        except UnicodeError:
            return False
        return True

    def literal_inner(self, node: ast.expr, value: str) -> tuple[int, int, int] | None:
        """(line index, start, end) of a plain one-line string literal's characters, or None.

        None when the literal has escapes, a prefix other than r/u, or is an
        implicit concatenation: then its text is not simply ``value``.
        """
        if node.end_lineno != node.lineno or node.end_col_offset is None:
            return None
        lineno = node.lineno
        start = self.char_col(lineno, node.col_offset)
        end = self.char_col(lineno, node.end_col_offset)
        source = self.line(lineno)[start:end]
        prefix = len(source) - len(source.lstrip("rRuU"))
        if prefix > 1:
            return None
        body = source[prefix:]
        for quote in ('"""', "'''", '"', "'"):
            if body.startswith(quote) and body.endswith(quote) and len(body) >= 2 * len(quote):
                inner = body[len(quote) : len(body) - len(quote)]
                if inner != value or "\\" in inner:
                    return None
                return lineno - 1, start + prefix + len(quote), end - len(quote)
        return None


# -- Python analysis -----------------------------------------------------------


def _resolve_relative(
    policy: _Policy, package: list[str], level: int, module: str | None
) -> tuple[list[str], int] | None:
    """Target components of a relative import and where its top-level name is.

    The file's path gives its package (``a/b/c.py`` is in ``a.b``) but not
    where the import root is (``src/``?). The root is taken to be just above
    the first directory named like a banned top-level package, so only a
    target inside such a directory can be banned. None: not resolvable to one.
    """
    up = level - 1
    if up > len(package):
        return None
    base = package[: len(package) - up]
    target = base + (module.split(".") if module else [])
    for index, part in enumerate(base):
        if part in policy.tops:
            if all(p.isidentifier() for p in target[index:]):
                return target, index
            return None
    return None


def _constant_str(node: ast.expr | None) -> str | None:
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _static_prefix(node: ast.expr) -> str | None:
    """The constant start of a name built at run time (``"old." + x``, ``f"old.{x}"``)."""
    import ast

    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        node = node.left
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0]
    return _constant_str(node)


def _called_name(func: ast.expr) -> tuple[str, ...]:
    """``f`` -> ("f",), ``mod.f`` -> ("mod", "f"); anything else -> ("",)."""
    import ast

    if isinstance(func, ast.Name):
        return (func.id,)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return (func.value.id, func.attr)
    return ("",)


def _call_arg(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """The argument at ``position`` or named ``keyword``; None if absent or unpacked."""
    import ast

    if any(isinstance(arg, ast.Starred) for arg in call.args[: position + 1]):
        return None
    if len(call.args) > position:
        return call.args[position]
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return None


# Possessive throughout: each run is followed by something it cannot hold, so
# giving characters back never helps, and would cost a string's length squared.
_ENTRY_POINT_RE_SOURCE = (
    r"\s*+(?:[\w.\-]++\s*+=\s*+)?([^\W\d]\w*+(?:\.[^\W\d]\w*+)*+)(?::[^\W\d][\w.]*+)?\s*+(?:\[[^\]]*+\])?\s*+"
)


def _string_reference(value: str) -> tuple[int, str] | None:
    """A string that is wholly a module reference: ``pkg.mod``, ``pkg.mod:func``,
    or an entry point ``name = pkg.mod:func [extra]``. (offset, dotted name)."""
    import re

    if len(value) > MAX_REFERENCE_STRING:
        return None
    found = re.fullmatch(_ENTRY_POINT_RE_SOURCE, value)
    if found is None:
        return None
    return found.start(1), found.group(1)


#: Per node class, the fields that may hold nodes (``ctx`` only ever holds Load, Store or Del).
_NODE_FIELDS: dict[type, tuple[str, ...]] = {}


def _walk(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` in ``ast.walk``'s order (breadth first), but
    for the expression contexts, at about twice its speed: the walk is most
    of this rule's time on a large module."""
    import ast

    node_type, fields_of = ast.AST, _NODE_FIELDS
    nodes = [tree]
    append = nodes.append
    for node in nodes:  # grows as it goes: each node's children join the end
        cls = node.__class__
        fields = fields_of.get(cls)
        if fields is None:
            fields = fields_of[cls] = tuple(name for name in cls._fields if name != "ctx")
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, node_type):
                        append(item)
            elif isinstance(value, node_type):
                append(value)
    return nodes


class _PythonAnalysis:
    """Finds the banned imports of one parsed file, with the edit that fixes each where one is safe."""

    def __init__(self, policy: _Policy, source: _Source, destinations: Destinations | None = None) -> None:
        self.policy = policy
        self.source = source
        self.package = _package_of(source.path)
        self.hits: list[_Hit] = []
        self.destinations = destinations

    def run(self) -> list[_Hit]:
        import ast

        nodes = _walk(self.source.tree)
        importers = {"importlib"}
        import_module_names: set[tuple[str, ...]] = set()
        # Names bound by `import old.sub` (unfixable): `import old` must then stay, or the
        # two would bind one name to different packages.
        dotted_bound: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "importlib" and alias.asname:
                        importers.add(alias.asname)
                    if alias.asname is None and "." in alias.name and self.policy.match(alias.name):
                        dotted_bound.add(alias.name.split(".", 1)[0])
            elif isinstance(node, ast.ImportFrom) and node.module == "importlib" and node.level == 0:
                for alias in node.names:
                    if alias.name == "import_module":
                        import_module_names.add((alias.asname or alias.name,))

        skip: set[int] = set()
        wanted = (ast.Import, ast.ImportFrom, ast.Expr, ast.JoinedStr, ast.Call, ast.Constant)
        for node in nodes:
            if type(node) not in wanted:
                continue  # most of a tree: names, operators, contexts
            if isinstance(node, ast.Import):
                self._import(node, dotted_bound)
            elif isinstance(node, ast.ImportFrom):
                self._import_from(node)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                skip.add(id(node.value))  # docstrings and other bare strings are prose
            elif isinstance(node, ast.JoinedStr):
                skip.update(id(value) for value in node.values)
            elif isinstance(node, ast.Call):
                called = _called_name(node.func)
                if called in import_module_names or (called[0] in importers and called[1:] == ("import_module",)):
                    skip.update(self._import_module_call(node))
                elif called in (("__import__",), ("builtins", "__import__")):
                    skip.update(self._dunder_import_call(node))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                self._string(node, node.value)
        return self.hits

    # -- helpers --------------------------------------------------------------
    def _add(self, lineno: int, column: int, message: str, edit: tuple[int, int, int, str] | None = None) -> None:
        if edit is not None and not self.source.encodable(edit[3]):
            edit = None
        self.hits.append(_Hit(lineno, column + 1, message, edit))

    def _unbuilt(
        self, message: str, edit: tuple[int, int, int, str] | None, new: str | None, names: Sequence[str] = ()
    ) -> tuple[str, tuple[int, int, int, str] | None]:
        """The message and edit of an import of ``new`` (and ``names`` from it): when the
        checkout holds the new package but not that module or name, no edit, and the
        message says what is missing, so that a fix never writes a broken import."""
        if new is None or self.destinations is None:
            return message, edit
        missing = self.destinations.missing(new, names)
        if missing is None:
            return message, edit
        return f"{message} (`{missing}` does not exist yet)", None

    def _name_span(self, lineno: int, start: int, name: str) -> int | None:
        """End of ``name`` as written from ``start`` on that line, or None if it is not plainly there."""
        line = self.source.line(lineno)
        end = _dotted_end(line, start)
        if end is None or _squeeze(line[start:end]) != name:
            return None
        return end

    # -- import statements ------------------------------------------------------
    def _import(self, node: ast.Import, dotted_bound: set[str]) -> None:
        policy = self.policy
        for alias in node.names:
            name = alias.name
            if policy.match(name) is None:
                continue
            start = self.source.char_col(alias.lineno, alias.col_offset)
            new = policy.replacement(name)
            edit = None
            end = self._name_span(alias.lineno, start, name)
            if new is not None and end is not None:
                if alias.asname is not None:
                    # `import old.sub as s` binds s to the module itself: any replacement works.
                    edit = (alias.lineno - 1, start, end, new)
                elif "." not in name and name not in dotted_bound and policy.keeps_layout(name):
                    # `import old` binds the name `old`: keep it bound, to the new module.
                    edit = (alias.lineno - 1, start, end, f"{new} as {name}")
                # `import old.sub` binds `old` and reaches `old.sub` by attribute: no
                # rewrite keeps both, so it is left to a person.
            message, edit = self._unbuilt(_import_message(policy, name), edit, new)
            self._add(alias.lineno, start, message, edit)

    def _from_spec(self, node: ast.ImportFrom) -> tuple[int, int | None]:
        """Start and end (None if not plainly written) of the module part of ``from X import``."""
        line = self.source.line(node.lineno)
        stmt = self.source.char_col(node.lineno, node.col_offset)
        if not line.startswith("from", stmt):
            return stmt, None
        pos = start = _skip_blanks(line, stmt + 4)
        dots = 0
        while pos < len(line) and line[pos] == ".":
            dots += 1
            pos = _skip_blanks(line, pos + 1)
        if dots != node.level:
            return start, None
        if node.module is None:
            end = pos
            while end > start and line[end - 1] in " \t\f":
                end -= 1
            return start, end if end > start else None
        name_end = _dotted_end(line, pos)
        if name_end is None or _squeeze(line[pos:name_end]) != node.module:
            return start, None
        return start, name_end

    def _import_from(self, node: ast.ImportFrom) -> None:
        policy = self.policy
        names = [alias.name for alias in node.names]
        if node.level == 0:
            if node.module is None:
                return
            base_parts = node.module.split(".")
            anchor = 0
        else:
            resolved = _resolve_relative(policy, self.package, node.level, node.module)
            if resolved is None:
                return
            base_parts, anchor = resolved
        base = ".".join(base_parts[anchor:])
        if not base:
            return
        written = "." * node.level + (node.module or "")
        base_key = policy.match(base)
        if base_key is not None:
            start, end = self._from_spec(node)
            new = policy.replacement(base)
            edit = None
            if new is not None and end is not None:
                consistent = all(
                    policy.keeps_layout(base)
                    if name == "*"
                    else policy.replacement(f"{base}.{name}") == f"{new}.{name}"
                    for name in names
                )
                if consistent:
                    edit = (node.lineno - 1, start, end, new)
            imported = [name for name in names if name != "*"] if edit is not None else []
            message, edit = self._unbuilt(_import_message(policy, base, written), edit, new, imported)
            self._add(node.lineno, start, message, edit)
        if not policy.has_inside(base):
            return  # no imported name can be banned when its module is not
        for alias in node.names:
            if alias.name == "*":
                continue
            full = f"{base}.{alias.name}"
            key = policy.match(full)
            if key is None or key == base_key:
                continue
            # `from pkg import old` names the banned module only through the alias: the
            # binding's name would change too, so this is left to a person.
            column = self.source.char_col(alias.lineno, alias.col_offset)
            self._add(alias.lineno, column, _import_message(policy, full))

    # -- run-time imports -----------------------------------------------------------
    def _dynamic(self, arg: ast.expr) -> None:
        """A module name built at run time whose constant start already names a banned module."""
        prefix = _static_prefix(arg)
        if prefix is None or "." not in prefix:
            return
        known = prefix[: prefix.rfind(".")]
        if not known or not _is_dotted_name(known) or self.policy.match(known) is None:
            return
        column = self.source.char_col(arg.lineno, arg.col_offset)
        name = f"{known}.…"
        advice = self.policy.advice(known)
        if advice.startswith("use `"):
            advice = advice[:-1] + ".…`"
        self._add(arg.lineno, column, f"import of `{name}` (a name built at run time) is forbidden; {advice}")

    def _import_module_call(self, call: ast.Call) -> list[int]:
        """``importlib.import_module(name, package)``; returns the ids of the nodes it judged."""
        import ast

        arg = _call_arg(call, 0, "name")
        if arg is None:
            return []
        value = _constant_str(arg)
        if value is None:
            self._dynamic(arg)
            return []
        level = len(value) - len(value.lstrip("."))
        rest = value[level:]
        if rest and not _is_dotted_name(rest):
            return []
        policy = self.policy
        column = self.source.char_col(arg.lineno, arg.col_offset)
        if level == 0:
            if policy.match(value) is None:
                return []
            new = policy.replacement(value)
            span = self.source.literal_inner(arg, value)
            # import_module returns the module itself, so any replacement keeps the code working.
            edit = (span[0], span[1], span[2], new) if new is not None and span is not None else None
            message, edit = self._unbuilt(_import_message(policy, value), edit, new)
            self._add(arg.lineno, column, message, edit)
            return [id(arg)]
        package_arg = _call_arg(call, 1, "package")
        package_value = _constant_str(package_arg)
        if package_arg is None:
            return []
        if package_value is not None:
            if not _is_dotted_name(package_value):
                return []
            parts = package_value.split(".")
            if level - 1 >= len(parts):
                return []
            target = parts[: len(parts) - (level - 1)] + (rest.split(".") if rest else [])
            full = ".".join(target)
        elif isinstance(package_arg, ast.Name) and package_arg.id in ("__package__", "__name__"):
            package = self.package
            if package_arg.id == "__name__" and self.source.path.rsplit("/", 1)[-1] not in (
                "__init__.py",
                "__init__.pyi",
            ):
                stem = self.source.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                package = [*package, stem]
            resolved = _resolve_relative(policy, package, level, rest or None)
            if resolved is None:
                return []
            full = ".".join(resolved[0][resolved[1] :])
        else:
            return []
        if policy.match(full) is None:
            return []
        edit = None
        if level == 1 and package_value is not None and package_arg is not None:
            new_package = policy.replacement(package_value)
            span = self.source.literal_inner(package_arg, package_value)
            wanted = f"{new_package}.{rest}" if rest else new_package
            if new_package is not None and span is not None and policy.replacement(full) == wanted:
                edit = (span[0], span[1], span[2], new_package)
        message, edit = self._unbuilt(_import_message(policy, full, value), edit, policy.replacement(full))
        self._add(arg.lineno, column, message, edit)
        return [id(arg)] + ([id(package_arg)] if package_value is not None else [])

    def _dunder_import_call(self, call: ast.Call) -> list[int]:
        """``__import__(name, globals, locals, fromlist, level)``; absolute names only."""
        import ast

        arg = _call_arg(call, 0, "name")
        if arg is None:
            return []
        level = _call_arg(call, 4, "level")
        if level is not None and not (isinstance(level, ast.Constant) and level.value == 0):
            return []
        value = _constant_str(arg)
        if value is None:
            self._dynamic(arg)
            return []
        policy = self.policy
        if not _is_dotted_name(value) or policy.match(value) is None:
            return []
        new = policy.replacement(value)
        span = self.source.literal_inner(arg, value)
        fromlist = _call_arg(call, 3, "fromlist")
        if fromlist is None or (isinstance(fromlist, (ast.List, ast.Tuple)) and not fromlist.elts):
            # Without a fromlist __import__ returns the top-level package and the code walks
            # down by attribute: only a swap of the top-level name keeps that walk valid.
            safe = new is not None and new.split(".")[1:] == value.split(".")[1:]
        else:
            # With one it returns the named module itself; a fromlist computed at run time is unknown.
            safe = isinstance(fromlist, (ast.List, ast.Tuple))
        edit = (span[0], span[1], span[2], new) if safe and new is not None and span is not None else None
        column = self.source.char_col(arg.lineno, arg.col_offset)
        message, edit = self._unbuilt(_import_message(policy, value), edit, new)
        self._add(arg.lineno, column, message, edit)
        return [id(arg)]

    # -- other strings ------------------------------------------------------------------
    def _string(self, node: ast.Constant, value: str) -> None:
        """A string that is wholly a module reference (``mock.patch("old.x")``, an entry point)."""
        if not any(top in value for top in self.policy.tops):
            return
        found = _string_reference(value)
        if found is None or self.policy.match(found[1]) is None:
            return
        offset, name = found
        span = self.source.literal_inner(node, value)
        column = span[1] + offset if span is not None else self.source.char_col(node.lineno, node.col_offset)
        self._add(node.lineno, column, _reference_message(self.policy, name))


# -- text matching: unparsable Python and configuration files --------------------------

_COMMENT_PREFIXES = {_INI: ("#", ";"), _YAML: ("#",), _TOML: ("#",), _REQUIREMENTS: ("#",)}
# TOML up to its comment: plain runs, basic strings (a backslash escapes the
# next character) and literal strings. Stops at a `#` or at a string left open.
_TOML_CODE = r"""(?:[^"'#]++|"(?:[^"\\]++|\\.)*+"|'[^']*+')*+"""


def _strip_comment(kind: str, line: str, toml_code: re.Pattern[str]) -> str:
    """The line without its comment (blanked, so columns stay right)."""
    prefixes = _COMMENT_PREFIXES.get(kind)
    if prefixes is None:
        return line
    if line.lstrip().startswith(prefixes):
        return ""
    if kind == _TOML:
        found = toml_code.match(line)
        assert found is not None  # the expression matches the empty string
        end = found.end()
        return line[:end] if end < len(line) and line[end] == "#" else line
    if kind in (_YAML, _REQUIREMENTS):
        cut = line.find(" #")
        cut_tab = line.find("\t#")
        cuts = [c for c in (cut, cut_tab) if c >= 0]
        return line[: min(cuts)] if cuts else line
    return line


def _toml_header(line: str) -> str | None:
    """The dotted key of a ``[table]`` or ``[[array]]`` header line, without quotes."""
    stripped = line.strip()
    inner = stripped.removeprefix("[[").removesuffix("]]") if stripped.startswith("[[") else stripped[1:-1]
    if not (stripped.startswith("[") and stripped.endswith("]")) or not inner or any(c in inner for c in "[],="):
        return None
    return _squeeze(inner).replace('"', "").replace("'", "")


def _guardian_table(header: str) -> bool:
    parts = header.split(".")
    return header == "tool.guardian" or header.startswith("tool.guardian.") or "forbidden-import" in parts


def _config_hits(policy: _Policy, kind: str, lines: list[str]) -> Iterable[_Hit]:
    import re

    pattern = policy.config_re()
    toml_code = re.compile(_TOML_CODE)
    skipping = False
    for number, line in enumerate(lines, 1):
        code = _strip_comment(kind, line, toml_code)
        if kind == _TOML:
            header = _toml_header(code)
            if header is not None:
                skipping = _guardian_table(header)
            if skipping or "forbidden-import" in line:
                continue  # Guardian's own configuration of this rule
        for found in pattern.finditer(code):
            name = found.group(0)
            if policy.match(name) is not None:
                yield _Hit(number, found.start() + 1, _reference_message(policy, name))


# The fallback's expressions read whatever a broken file holds, so none may give
# back what a run matched: every run is possessive (`*+`, `++`) where what follows
# cannot start inside the run, and no attempt begins inside a run an earlier one read.
_FALLBACK_IMPORT = r"(?:^|[;:])[ \t]*+import[ \t]++([^;#]*+)"
# `from` dots, spaces, module, `import`. The second branch is `from . import x`
# (the module is empty, and `import` stands where a module would): spaces must
# separate it from the dots, or from `from` by two, as backtracking once found.
_FALLBACK_FROM = (
    r"(?:^|[;:])[ \t]*+from[ \t]++(\.++)?[ \t]*+"
    r"(?:([\w.]*+)[ \t]++import|(?(1)(?<=[ \t])|(?<=[ \t]{2}))import)"
    r"[ \t]++\(?([^;#]*+)"
)
# An alias starts nowhere inside a run of blanks or of name characters that an
# attempt already read: a name that is no alias is consumed whole (group 1 None).
_FALLBACK_ALIAS = r"(?<![ \t])[ \t]*+(?:([^\W\d][\w.]*+)(?:[ \t]++as[ \t]++\w++)?[ \t]*+(?:,|\)|$)|[^\W\d][\w.]*+)"
_FALLBACK_STRING = r"""[rRuU]?(?:"([^"\\\n]*+)"|'([^'\\\n]*+)')"""
# Python code up to its comment: plain runs and one-line strings (a backslash
# escapes the next character). Stops at a `#` or at a string left open.
_CODE_PART = r"""(?:[^"'#]++|"(?:[^"\\]++|\\.)*+"|'(?:[^'\\]++|\\.)*+')*+"""


def _code_part(line: str, code_re: re.Pattern[str]) -> str:
    """The line up to a ``#`` that is not inside a one-line string."""
    found = code_re.match(line)
    assert found is not None  # the expression matches the empty string
    end = found.end()
    return line[:end] if end < len(line) and line[end] == "#" else line


def _fallback_hits(policy: _Policy, path: str, lines: list[str]) -> Iterable[_Hit]:
    """Import statements and module-name strings of a file ``ast`` cannot read, line by line."""
    import re

    import_re = re.compile(_FALLBACK_IMPORT)
    from_re = re.compile(_FALLBACK_FROM)
    alias_re = re.compile(_FALLBACK_ALIAS)
    string_re = re.compile(_FALLBACK_STRING)
    code_re = re.compile(_CODE_PART)
    package = _package_of(path)
    for number, line in enumerate(lines, 1):
        code = _code_part(line, code_re)
        if not code.strip():
            continue
        names: list[tuple[int, str]] = []
        for found in from_re.finditer(code):
            dots, module, rest = found.group(1), found.group(2) or "", found.group(3)
            if dots:
                resolved = _resolve_relative(policy, package, len(dots), module or None)
                if resolved is None:
                    continue
                base = ".".join(resolved[0][resolved[1] :])
            else:
                base = module
            if not base:
                continue
            if policy.match(base):
                names.append((found.start(1) if dots else found.start(2), base))
                continue
            if not policy.has_inside(base):
                continue
            for alias in alias_re.finditer(rest):
                if alias.group(1) is not None:
                    names.append((found.start(3) + alias.start(1), f"{base}.{alias.group(1)}"))
        for found in import_re.finditer(code):
            for alias in alias_re.finditer(found.group(1)):
                if alias.group(1) is not None:
                    names.append((found.start(1) + alias.start(1), alias.group(1)))
        for column, name in names:
            if _is_dotted_name(name) and policy.match(name):
                yield _Hit(number, column + 1, _import_message(policy, name) + FALLBACK_NOTE)
        for found in string_re.finditer(code):
            group = 1 if found.group(1) is not None else 2
            reference = _string_reference(found.group(group))
            if reference is not None and policy.match(reference[1]):
                column = found.start(group) + reference[0]
                yield _Hit(number, column + 1, _reference_message(policy, reference[1]) + FALLBACK_NOTE)


# -- the rule ------------------------------------------------------------------------------


class ForbiddenImport(Rule):
    id = "forbidden-import"
    summary = "No imports of, or references to, banned modules in Python code and configuration."
    docs = """\
## What it does

Reports every place a banned module is imported or named:

- Python import statements: `import old`, `import old.sub as s`, `from old import x`,
  `from old.sub import x`, `from pkg import old` when `pkg.old` is banned, and relative
  imports (`from ..sub import x`) that resolve into a banned package. A relative import is
  resolved from the file's path, taking the import root to be just above the first
  directory named like a banned top-level package (`src/old/a/m.py` is `old.a.m`).
- Run-time imports: `importlib.import_module("old.sub")`, `import_module(".sub", "old")`
  (also when `import_module` was imported from `importlib`), `__import__("old")`, and a
  name built at run time whose constant start is banned (`import_module("old." + name)`).
- Python strings that are wholly a module reference: `mock.patch("old.sub.run")`, entry
  points such as `"tool = old.cli:main"`.
- Dotted names in configuration files (`.json`, `.yaml`, `.yml`, `.toml`, `.ini`, `.cfg`,
  `entry_points.txt`, `requirements*.txt`/`.in`): `old`, `old.cli:main`, `"old.x.y"`, but
  not `my_old`, `old_v2`, `pkg.old`, hyphenated names or paths such as `src/old/`.
  Comments are skipped, and so is Guardian's own configuration (`.guardian.toml`, the
  `[tool.guardian]` and `forbidden-import` tables).

Mentions in Python comments and docstrings are not imports and are not reported. A
Python file that does not parse as Python 3 (a Python 2 script, stray NUL bytes) is
matched line by line instead, and its findings say so.

Files of a banned package that is still in the tree are reported for their own
imports, relative or absolute; exclude them by path (the shipped policy exempts the
deprecation shim).

## Why is this bad?

After a package is renamed, a search-and-replace of `old.` catches the plain imports
but not the names that only turn up at run time: `import_module("old")`, relative
imports, plugin entry points and dotted paths in configuration. Those keep loading the
old code, or fail on the first machine where it is not installed.

## Example

```python
import optimization_engine.solvers as solvers
from optimization_engine.cli import main

plugin = importlib.import_module("optimization_engine.plugins")
```

```toml
[project.scripts]
optimize = "optimization_engine.cli:main"
```

## Use instead

```python
import atomizer.solvers as solvers
from atomizer.cli import main

plugin = importlib.import_module("atomizer.plugins")
```

```toml
[project.scripts]
optimize = "atomizer.cli:main"
```

`guardian fix` rewrites, in Python files, the imports it can rewrite without changing
what the code's names refer to, and touches nothing else in the file:

- `import old.sub as s` and `from old.sub import x` (absolute or relative) get the
  replacement module, unless a longer banned entry maps one of the imported names
  elsewhere;
- a plain `import old` becomes `import new as old`, so later uses of `old.` keep
  working; you can rename them at leisure;
- `importlib.import_module("old.sub")` gets the new name, and `__import__("old.sub")`
  too when only the top-level name changes (it returns the top-level package);
- `import_module(".sub", "old")` gets the new package.

When the checkout being fixed holds the new package (its top-level `__init__.py`), an
import is rewritten only if its destination module, and each name imported from it (a
submodule, or a name the module defines), exists there; otherwise the line stays, and the
finding says what is missing: ``... use `atomizer.study` (`atomizer.study` does not exist
yet)``. `guardian check` of the working tree or of `--all-files` says so too, so CI shows
what the migration still lacks. A new package that is not in the checkout (another
repository, an installed dependency) is taken as it is.

It leaves to you, and reports as not fixable: `import old.sub` without `as` (it binds
`old` and reaches `old.sub` by attribute, which no single rewrite keeps), `from pkg
import old` (the bound name would change), banned modules with a message instead of
a replacement, names built at run time, strings that are not imports, configuration
files, files that do not parse, and lines marked `guardian: ignore[forbidden-import]`.

## Options

- `banned` (table of strings, default `{}`): banned module (a dotted name) -> either
  the module to use instead (a value that is itself a dotted name, e.g.
  `optimization_engine = "atomizer"`) or a message to show (any other string, e.g.
  `legacy = "removed in 2024; see docs/migration.md"`). A name is banned when it equals
  an entry or starts with it followed by `.`: `old_v2` is allowed. The longest matching
  entry wins: with `old = "new"` and `"old.solvers" = "new.solve"`, `old.solvers.fem`
  becomes `new.solve.fem`. A replacement may not itself be banned. The shipped policy
  bans `optimization_engine` in favour of `atomizer`.

  A value `"skip: REASON"` records that a module is deliberately not migrated:

  ```toml
  [rules.forbidden-import.banned]
  optimization_engine = "atomizer"
  "optimization_engine.study" = "atomizer.study"
  "optimization_engine.future" = "skip: research agents, not migrated"
  ```

  Imports of it are reported as ``... `optimization_engine.future` is not migrated:
  research agents, not migrated`` and never rewritten; `guardian inventory` lists its
  modules as skipped with that reason, and the shim `guardian fix --write-shim` writes
  raises an `ImportError` giving it. A message entry is a skip too, its message the
  reason. An entry's decision covers every module inside it unless a longer entry decides
  otherwise; `guardian inventory --strict` counts a module that only the package's
  catch-all maps (`optimization_engine = "atomizer"` for `optimization_engine.utils.io`)
  as undecided, asking for an entry for the module or for a subpackage holding it.
"""
    scope = "file"
    needs_content = True
    text_only = True
    options = (
        Option(
            "banned",
            parse_banned,
            {},
            "Banned module -> replacement module (a dotted name) or message to show.",
            "table of strings",
        ),
    )

    _compiled: _Policy | None = None
    #: Set by a command that knows the checkout (``fix``, ``check`` of a whole tree): imports
    #: of a destination it lacks are not rewritten, and their findings say so.
    destinations: Destinations | None = None

    @property
    def _policy(self) -> _Policy:
        # Built on first use rather than in __init__, so the base constructor's
        # signature stays the engine's business. The config layer has parsed
        # ``banned`` already; parsing again is cheap and covers direct use.
        if self._compiled is None:
            self._compiled = _Policy(parse_banned(self.settings["banned"]))
        return self._compiled

    def banned_table(self) -> _Policy:
        """The parsed ``banned`` table: what ``guardian inventory`` and the shim are built from."""
        return self._policy

    def applies(self, path: str) -> bool:
        return _kind(path) is not None

    def triggers(self, path: str) -> tuple[bytes, ...] | None:
        # Inside a directory named like a banned package, a relative import
        # names nothing banned on its line: judge every version there.
        if any(part in self._policy.tops for part in _package_of(path)):
            return None
        return tuple(self._policy.top_bytes)

    def _worth_reading(self, path: str, kind: str, data: bytes) -> bool:
        """The cheap pre-filter: a banned top-level name in the bytes (or, for relative
        imports, in the file's directories)."""
        if any(top in data for top in self._policy.top_bytes):
            return True
        return kind == _PYTHON and b"import" in data and any(part in self._policy.tops for part in _package_of(path))

    def _hits(self, path: str, data: bytes) -> tuple[_Source | None, list[_Hit]]:
        kind = _kind(path)
        if kind is None or not self._policy.tops or not self._worth_reading(path, kind, data):
            return None, []
        if kind == _PYTHON and _parses_in_linear_time(data):
            try:
                source = _Source(data, path)
                hits = _PythonAnalysis(self._policy, source, self.destinations).run()
                self._keep_suppressed_lines(path, source, hits)
                return source, sorted(hits, key=lambda hit: (hit.line, hit.column))
            except (SyntaxError, ValueError, UnicodeError, LookupError, RecursionError, MemoryError, OverflowError):
                pass
        lines = _split_lines(decode_text(data))
        if kind == _PYTHON:
            return None, list(_fallback_hits(self._policy, path, lines))
        return None, list(_config_hits(self._policy, kind, lines))

    def _keep_suppressed_lines(self, path: str, source: _Source, hits: list[_Hit]) -> None:
        """No edit on a line that says ``guardian: ignore[forbidden-import]``: the
        fix command does not filter suppressions, and the user asked to keep it."""
        # Asked once per line, not per import: a long line may hold thousands.
        # Any spelling the engine accepts counts (`Guardian:ignore[...]` too).
        edited = {hit.line for hit in hits if hit.edit is not None}
        marked = {line for line in edited if "guardian" in source.line(line).lower()}
        if not marked:
            return
        from guardian.accept import is_suppressed
        from guardian.model import Finding

        kept = {line for line in marked if is_suppressed(Finding(self.id, path, "", line_text=source.line(line)))}
        for hit in hits:
            if hit.line in kept:
                hit.edit = None

    def check_file(self, entry: FileEntry, data: bytes | None) -> Iterable[Finding]:
        if data is None:
            return []
        source, hits = self._hits(entry.path, data)
        if source is not None:
            lines = source.lines
        elif hits:
            lines = _split_lines(decode_text(data))
        else:
            return []
        return [
            self.finding(
                entry.path,
                hit.message,
                line=hit.line,
                column=hit.column,
                line_text=lines[hit.line - 1] if hit.line <= len(lines) else "",
                fixable=hit.edit is not None,
            )
            for hit in hits
        ]

    def fix_file(self, path: str, data: bytes) -> bytes | None:
        source, hits = self._hits(path, data)
        edits = [hit.edit for hit in hits if hit.edit is not None]
        if source is None or not edits:
            return None
        by_line: dict[int, list[tuple[int, int, str]]] = {}
        for index, start, end, text in edits:
            by_line.setdefault(index, []).append((start, end, text))
        raw = data.splitlines(keepends=True)
        bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
        encoding = "utf-8" if source.encoding == "utf-8-sig" else source.encoding
        for index, changes in by_line.items():
            if index >= len(raw):
                return None
            line = raw[index]
            body = line.rstrip(b"\r\n")
            ending = line[len(body) :]
            lead = bom if index == 0 else b""
            text = body[len(lead) :].decode(encoding)
            if text != source.lines[index]:
                return None
            # Built from pieces: splicing each edit into the whole line would copy
            # a long line once per import on it.
            pieces: list[str] = []
            done = 0
            for start, end, new in sorted(changes):
                if start < done:
                    return None  # overlapping edits: not one rewrite
                pieces += (text[done:start], new)
                done = end
            pieces.append(text[done:])
            raw[index] = lead + "".join(pieces).encode(encoding) + ending
        fixed = b"".join(raw)
        if fixed == data:
            return None
        try:
            parse_python(fixed)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return fixed


RULE = ForbiddenImport
