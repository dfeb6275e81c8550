"""windows-path: hard-coded absolute Windows paths (drive letters, UNC shares)."""

from __future__ import annotations

from guardian.rules.base import Rule, decode_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Iterator

    from guardian.model import FileEntry, Finding

    # (line, column, path as the program sees it, is a UNC path)
    Hit = tuple[int, int, str, bool]

_PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")
# Text formats whose strings use backslash escapes, so `\t` there is a tab.
_JSON_SUFFIXES = (".json", ".jsonc", ".ipynb")
# A one-character "path" made of one of these is an escape written out (`x:\t`, `a:\\n`).
_ESCAPE_LETTERS = "abfnrtv0"
# What may follow a bare drive root (`C:\`) for it to count as a path.
_ROOT_FOLLOWERS = "\"'`,;)]}>"
_ADVICE = "build paths with pathlib from a configured base directory or an environment variable"
_MAX_SHOWN = 100


class WindowsPath(Rule):
    id = "windows-path"
    summary = "No hard-coded absolute Windows paths (C:\\..., \\\\server\\share) in code or text files."
    scope = "file"
    needs_content = True
    text_only = True
    default_exclude = ("*.bat", "*.cmd", "*.ps1")
    docs = """\
## What it does
Finds absolute Windows paths written into files: a drive letter with a
separator (`C:\\`, `C:/`, and `C:\\\\` as typed inside an ordinary string
literal) and network shares (`\\\\server\\share`, or `\\\\\\\\server\\\\share`
inside an ordinary string literal or JSON).

In Python files (`.py`, `.pyi`, `.pyw`) only string literals are read (plain,
raw, bytes and f-strings, triple-quoted included); comments and code are not.
A Python file that cannot be tokenized (a Python 2 script, broken indentation,
an unterminated string) is read line by line instead, comments included. Any
other text file is read line by line. Each path is reported at the line and
column where it starts.

These are not reported:
- URLs: a drive letter right after `/` or `:` (`file:///C:/data`,
  `https://host/c:/x`, `jdbc:C:...`) and a single letter followed by `://`.
- Patterns: a drive letter or server name that is not literal
  (`[A-Z]:\\\\`, `\\w:`, `\\\\\\\\[^\\\\]+`), a match anchored with `^`, and a bare
  root followed by something other than the end of the string, a space or
  closing punctuation (`C:\\\\(?:...)`).
- Escape sequences: in an ordinary Python string, a bytes literal or JSON, a
  backslash that starts an escape (`\\n`, `\\t`, `\\x41`...) is not a
  separator, so `"a:\\n"` and `"C:\\temp"` (C, colon, tab, "emp") are not paths;
  `"C:\\temp\\data"` is, because `\\d` is no escape. A drive followed by a
  single escape letter and nothing else (`x:\\t`, `a:\\\\n`) is taken for a
  written-out escape in every file.
- Words and times: the drive must be one letter not preceded by a letter,
  digit, underscore, backslash or `%` (`Key:\\value`, `%s:\\%s`, `10:30` are
  not paths). A UNC server name has at least two characters and must be
  followed by a share name.
- Files matching `*.bat`, `*.cmd`, `*.ps1`: Windows scripts may name Windows
  paths.

## Why is this bad?
The project's first version was written on Windows. A path such as
`C:\\Users\\me\\runs` works on one machine only: on Linux or in CI it is a
relative file name with backslashes in it, so the code fails late, or quietly
writes results to a strange directory in the working tree.

## Example
```python
RESULTS = "C:\\\\Users\\\\me\\\\atomizer\\\\results"
SOLVER = r"D:\\solver\\bin\\nastran.exe"
SHARE = r"\\\\fileserver\\models"
```

## Use instead
```python
import os
from pathlib import Path

BASE = Path(os.environ.get("ATOMIZER_HOME", Path.home() / "atomizer"))
RESULTS = BASE / "results"
SOLVER = Path(os.environ["NASTRAN_EXE"])
```

## Options
- `exclude` (list of gitignore patterns, default `[]`): further paths the
  rule skips, on top of the built-in `*.bat`, `*.cmd`, `*.ps1`. For a single
  line, add `guardian: ignore[windows-path]` to it instead.
"""

    def check_file(self, entry: FileEntry, data: bytes | None) -> Iterable[Finding]:
        # Cheapest possible test first: nearly every file stops here, before decoding.
        if not data or (b":\\" not in data and b":/" not in data and b"\\\\" not in data):
            return ()
        text = decode_text(data)
        suffix = entry.path.lower()
        if suffix.endswith(_PYTHON_SUFFIXES):
            hits = _python_hits(text)
        else:
            pats = _patterns()
            hits = _text_hits(text, pats.json_escape if suffix.endswith(_JSON_SUFFIXES) else None)
        if not hits:
            return ()
        lines = text.split("\n")
        findings = []
        # One finding per place: an unterminated string may be seen twice.
        unique = {(line, column): (shown, unc) for line, column, shown, unc in hits}
        for (line, column), (shown, unc) in sorted(unique.items()):
            kind = "Windows network path" if unc else "Windows path"
            line_text = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
            findings.append(
                self.finding(
                    entry.path,
                    f"hard-coded {kind} `{shown}`; {_ADVICE}",
                    line=line,
                    column=column,
                    line_text=line_text,
                    fixable=False,
                )
            )
        return findings


class _Patterns:
    """The compiled expressions, built on first use (``re`` is imported lazily)."""

    def __init__(self) -> None:
        import re

        sep = r"(?:\\{1,4}|/)"
        # A path segment: anything a file name may hold, minus what ends a path in
        # running text (spaces, quotes, list separators); f-string fields count.
        word = r"""(?:[^\s\\/:"<>|'`;,\[\]{}^]|\{[^{}\\/\s]*\})+"""
        # A segment starting with "(" follows a root only in a regex (`C:\\(?:a|b)`).
        seg = rf"(?!\(){word}"
        # Spaces are allowed inside a segment only when another separator follows
        # (`C:\Program Files (x86)\x`), so a path in prose stops at the next word.
        tail = rf"(?:{seg}(?: +{word})*{sep})*(?:{seg})?"
        self.drive = re.compile(
            rf"(?:(?<![\w\\%^/:])|(?<=\?\\)|(?<=\?\\\\))(?P<letter>[A-Za-z]):(?P<sep>{sep})(?P<tail>{tail})"
        )
        server = r"\w[\w.$-]+"
        before = r"(?<![\w\\/:%^])"
        self.unc2 = re.compile(rf"{before}\\\\{server}\\(?![\\/]){seg}(?:{sep}{seg})*")
        self.unc4 = re.compile(rf"{before}\\\\\\\\{server}\\\\(?![\\/]){seg}(?:{sep}{seg})*")
        self.separator = re.compile(r"\\+|/")
        self.backslashes = re.compile(r"\\+")
        self.str_escape = re.compile(
            r"""\\(?:[\n\\'"abfnrtv0-7]|x[0-9A-Fa-f]{2}|N\{|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"""
        )
        self.bytes_escape = re.compile(r"""\\(?:[\n\\'"abfnrtv0-7]|x[0-9A-Fa-f]{2})""")
        self.json_escape = re.compile(r"""\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})""")
        self.string_prefix = re.compile(r"(?<!\w)[rRbBuUfF]{1,2}$")


_PATTERNS: list[_Patterns] = []


def _patterns() -> _Patterns:
    if not _PATTERNS:
        _PATTERNS.append(_Patterns())
    return _PATTERNS[0]


def _scan(text: str, escape: re.Pattern[str] | None) -> Iterator[tuple[int, str, bool]]:
    """Paths in ``text``: (offset, path as shown, is UNC).

    ``escape`` matches an escape sequence where backslashes escape (ordinary
    Python strings, JSON); None where a backslash is just a backslash.
    """
    pats = _patterns()
    for m in pats.drive.finditer(text):
        shown = _drive_path(text, m, escape, pats)
        if shown:
            yield m.start(), shown, False
    if "\\\\" not in text:
        return
    # Where backslashes escape, `\\server` in the source is one backslash in the
    # program: only the doubled form is a UNC path there.
    for unc in (pats.unc4,) if escape is not None else (pats.unc2, pats.unc4):
        for m in unc.finditer(text):
            raw = m.group()
            prefix = 4 if raw.startswith("\\\\\\\\") else 2
            rest = pats.backslashes.sub(r"\\", raw[prefix:])
            yield m.start(), _shown("\\\\" + rest), True


def _drive_path(text: str, m: re.Match[str], escape: re.Pattern[str] | None, pats: _Patterns) -> str:
    """The path a drive-letter match stands for, or "" when it is not one."""
    tail = m.group("tail")
    end = m.end()
    if not tail:
        # A bare root is a path only where the string or word ends: `"C:\\"`,
        # `C:/ drive`; not `x://host` or `C:\\(?:a|b)`.
        if end < len(text) and not (text[end].isspace() or text[end] in _ROOT_FOLLOWERS):
            return ""
    elif len(tail) == 1 and tail in _ESCAPE_LETTERS:
        return ""
    if escape is not None:
        # Some separator must really be one: `\\`, `/`, or a backslash that starts no escape.
        start = m.start("sep")
        for sep in pats.separator.finditer(text, start, end):
            if sep.group() != "\\" or not escape.match(text, sep.start()):
                break
        else:
            return ""
    return _shown(m.group("letter") + ":" + pats.backslashes.sub(r"\\", text[m.start("sep") : end]))


def _shown(path: str) -> str:
    """The path as a message can carry it: trimmed of trailing prose, printable, short."""
    path = path.rstrip(".")
    if path.endswith(")") and path.count("(") < path.count(")"):
        path = path[:-1]
    if any("\ud800" <= c <= "\udfff" for c in path):
        path = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in path)
    return path if len(path) <= _MAX_SHOWN else path[: _MAX_SHOWN - 3] + "..."


def _text_hits(text: str, escape: re.Pattern[str] | None) -> list[Hit]:
    """Hits in a whole text, line by line (no match crosses a newline)."""
    found = list(_scan(text, escape))
    if not found:
        return []
    import bisect

    starts = [0]
    index = text.find("\n")
    while index != -1:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    hits = []
    for offset, shown, unc in found:
        line = bisect.bisect_right(starts, offset)
        hits.append((line, offset - starts[line - 1] + 1, shown, unc))
    return hits


def _python_hits(text: str) -> list[Hit]:
    """Hits in a Python file's string literals; line scanning if it will not tokenize."""
    import io
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return _text_hits(text, _patterns().str_escape)
    pats = _patterns()
    fstring_start = getattr(tokenize, "FSTRING_START", -1)  # Python 3.12+ splits f-strings
    fstring_middle = getattr(tokenize, "FSTRING_MIDDLE", -1)
    fstring_end = getattr(tokenize, "FSTRING_END", -1)
    fstring_raw: list[bool] = []
    hits: list[Hit] = []
    previous: list[tokenize.TokenInfo | None] = [None, *tokens]
    for prev, tok in zip(previous, tokens, strict=False):
        if tok.type == tokenize.STRING:
            string = tok.string
            if ":" not in string and "\\\\" not in string:
                continue
            quote_at = min((i for i in (string.find('"'), string.find("'")) if i != -1), default=-1)
            if quote_at == -1:
                continue
            quote = string[quote_at : quote_at + 3]
            if quote not in ('"""', "'''"):
                quote = string[quote_at]
            prefix = string[:quote_at].lower()
            if prev is not None and prev.type == tokenize.NAME and prev.end == tok.start:
                prefix += prev.string.lower()  # Python 2's ur"..." reaches us as NAME "ur" + STRING
            body_at = quote_at + len(quote)
            body = string[body_at : max(body_at, len(string) - len(quote))]
            escape = None if "r" in prefix else pats.bytes_escape if "b" in prefix else pats.str_escape
            hits.extend(_token_hits(string, body, body_at, tok.start, escape))
        elif tok.type == fstring_start:
            fstring_raw.append("r" in tok.string.lower())
        elif tok.type == fstring_middle:
            raw = fstring_raw[-1] if fstring_raw else False
            hits.extend(_token_hits(tok.string, tok.string, 0, tok.start, None if raw else pats.str_escape))
        elif tok.type == fstring_end:
            if fstring_raw:
                fstring_raw.pop()
        elif tok.type == tokenize.ERRORTOKEN and tok.string in ('"', "'"):
            # An unterminated string, often a Windows path ending in a backslash
            # that escapes the quote ("C:\runs\"): read the rest of the line as its body.
            line = tok.line.split("\n", 1)[0]
            row, col = tok.start
            letters = pats.string_prefix.search(line, 0, col)
            raw = letters is not None and "r" in letters.group().lower()
            body = line[col + 1 :]
            hits.extend(_token_hits(body, body, 0, (row, col + 1), None if raw else pats.str_escape))
    return hits


def _token_hits(
    source: str, body: str, body_at: int, start: tuple[int, int], escape: re.Pattern[str] | None
) -> Iterator[Hit]:
    """Hits in a literal's ``body``, placed in the file from where ``source`` starts."""
    row, col = start
    for offset, shown, unc in _scan(body, escape):
        at = body_at + offset
        newlines = source.count("\n", 0, at)
        if newlines == 0:
            yield row, col + at + 1, shown, unc
        else:
            yield row + newlines, at - source.rfind("\n", 0, at), shown, unc


RULE = WindowsPath
