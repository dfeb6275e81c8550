"""windows-path: hard-coded absolute Windows paths (drive letters, UNC shares)."""

from __future__ import annotations

from guardian.rules.base import Rule, decode_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Iterator

    from guardian.model import FileEntry, Finding

    # (line, column, path as the program sees it, what kind of path: _DRIVE, _NETWORK or _DEVICE)
    Hit = tuple[int, int, str, str]

_PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")
# Text formats whose strings use backslash escapes, so `\t` there is a tab.
_JSON_SUFFIXES = (".json", ".jsonc", ".ipynb")
# A one-character "path" made of one of these is an escape written out (`x:\t`, `a:\\n`).
_ESCAPE_LETTERS = "abfnrtv0"
# What may follow a bare drive root (`C:\`) for it to count as a path.
_ROOT_FOLLOWERS = "\"'`,;)]}>"
_DRIVE, _NETWORK, _DEVICE = "Windows path", "Windows network path", "Windows device path"
_ADVICE = "build paths with pathlib from a configured base directory or an environment variable"
_MAX_SHOWN = 100


class WindowsPath(Rule):
    id = "windows-path"
    summary = "No hard-coded absolute Windows paths (C:\\..., \\\\server\\share, \\\\.\\COM3) in code or text files."
    scope = "file"
    needs_content = True
    text_only = True
    default_exclude = ("*.[bB][aA][tT]", "*.[cC][mM][dD]", "*.[pP][sS]1")
    docs = """\
## What it does
Finds absolute Windows paths written into files: a drive letter with a
separator (`C:\\`, `C:/`, and `C:\\\\` as typed inside an ordinary string
literal), network shares (`\\\\server\\share`, or `\\\\\\\\server\\\\share`
inside an ordinary string literal or JSON), and the device namespace
(`\\\\.\\pipe\\name`, `\\\\.\\COM3`, `\\\\.\\PhysicalDrive0`; `\\\\\\\\.\\\\COM3` in
an ordinary string). A long-path prefix is part of its path:
`\\\\?\\C:\\very\\long\\path` is reported once, whole.

In Python files (`.py`, `.pyi`, `.pyw`) only string literals are read (plain,
raw, bytes and f-strings, triple-quoted included); comments and code are not.
Strings are found by a small lexer, so a file that does not compile (a
Python 2 script, broken indentation) is read the same way, and an unterminated
string runs to the end of its line. Any other text file is read line by line. Each path is reported at the line and
column where it starts.

These are not reported:
- URLs: a drive letter right after `/` or `:` (`file:///C:/data`,
  `https://host/c:/x`, `jdbc:C:...`) and a single letter followed by `://`.
- Patterns: a drive letter or server name that is not literal
  (`[A-Z]:\\\\`, `\\w:`, `\\\\\\\\[^\\\\]+`), a match anchored with `^`, and a bare
  root followed by something other than the end of the string, a space or
  closing punctuation (`C:\\\\(?:...)`). In Python, a string that holds what
  only a regular expression holds (an escaped `(`, `)`, `[`, `]`, `+`, `|` or
  `^`, or a group's `(?`) is not read for paths at all, raw or not, f-string
  or not: `fr"{END}\\\\right\\)"`. An escaped `?`, `$`, `*` or `{` does not make
  a regular expression: `\\\\?\\C:`, `C:\\$Recycle.Bin`, `C:\\Users\\*` and
  `fr"C:\\{user}"` are paths.
- Escape sequences: in an ordinary Python string, a bytes literal or JSON, a
  backslash that starts an escape (`\\n`, `\\t`, `\\x41`...) is not a
  separator, so `"a:\\n"` and `"C:\\temp"` (C, colon, tab, "emp") are not paths;
  `"C:\\temp\\data"` is, because `\\d` is no escape. A drive followed by a
  single escape letter and nothing else (`x:\\t`, `a:\\\\n`) is taken for a
  written-out escape in every file.
- Words and times: the drive must be one letter not preceded by a letter,
  digit, underscore, backslash or `%` (`Key:\\value`, `%s:\\%s`, `10:30` are
  not paths). A UNC server name has at least two characters and must be
  followed by a share name, which starts with a letter, a digit, `_` or `$`
  (`\\\\right\\)` names no share).
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

    def triggers(self, path: str) -> tuple[bytes, ...] | None:
        # Every reported path holds a drive separator or a doubled backslash.
        return (b":\\", b":/", b"\\\\")

    def check_file(self, entry: FileEntry, data: bytes | None) -> Iterable[Finding]:
        # Cheapest possible tests first: nearly every file stops here, before
        # decoding or tokenizing. The hints are a superset of what the full scan
        # reports, so they never hide a finding.
        if not data or (b":\\" not in data and b":/" not in data and b"\\\\" not in data):
            return ()
        candidates = _candidate_lines(data)
        if not candidates:
            return ()
        suffix = entry.path.lower()
        python = suffix.endswith(_PYTHON_SUFFIXES)
        escape = None if python else _patterns().json_escape if suffix.endswith(_JSON_SUFFIXES) else None
        # Each candidate line scanned alone (no path crosses a newline). For
        # Python this is the permissive reading, a superset of what is inside
        # string literals, so a file is lexed only when it can report.
        hits = [
            (number, offset + 1, shown, kind)
            for number, line in candidates
            for offset, shown, kind in _scan(line, escape)
        ]
        if not hits:
            return ()
        text = decode_text(data)
        if python:
            hits = _python_hits(text)
            if not hits:
                return ()
        lines = text.split("\n")
        findings = []
        # One finding per place: an unterminated string may be seen twice.
        unique = {(line, column): (shown, kind) for line, column, shown, kind in hits}
        # One line text per line, shared by its findings: a long line with many
        # paths must not be copied (here, or when findings are pickled) per path.
        texts: dict[int, str] = {}
        for (line, column), (shown, kind) in sorted(unique.items()):
            line_text = texts.get(line)
            if line_text is None:
                line_text = texts[line] = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
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
        # A share name starts with a name character: `\\right\)` in a regex is no share.
        share = rf"(?=[\w$]){seg}"
        self.unc2 = re.compile(rf"{before}\\\\{server}\\{share}(?:{sep}{seg})*")
        self.unc4 = re.compile(rf"{before}\\\\\\\\{server}\\\\{share}(?:{sep}{seg})*")
        # The device namespace, `\\.\pipe\name`, `\\.\COM3`: a device name, then maybe more.
        device = r"[A-Za-z][\w.$-]*"
        self.device2 = re.compile(rf"{before}\\\\\.\\{device}(?:{sep}{seg})*")
        self.device4 = re.compile(rf"{before}\\\\\\\\\.\\\\{device}(?:{sep}{seg})*")
        self.separator = re.compile(r"\\+|/")
        self.backslashes = re.compile(r"\\+")
        self.str_escape = re.compile(
            r"""\\(?:[\n\\'"abfnrtv0-7]|x[0-9A-Fa-f]{2}|N\{|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"""
        )
        self.bytes_escape = re.compile(r"""\\(?:[\n\\'"abfnrtv0-7]|x[0-9A-Fa-f]{2})""")
        self.json_escape = re.compile(r"""\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})""")
        # What only a regular expression holds: an escaped bracket, parenthesis,
        # `+`, `|` or `^`, or a group's `(?`. Not `\?` (`\\?\C:`), `\$` (`C:\$Recycle.Bin`),
        # `\*` (`C:\Users\*\AppData`) or `\{` (`fr"C:\{user}"`): paths hold those.
        self.regex_syntax = re.compile(r"\\[()\[\]+|^]|\(\?[:=!<P#]")
        self.string_prefix = re.compile(r"(?<!\w)[rRbBuUfF]{1,2}$")
        # Python source: the next character that opens a comment or a string.
        self.py_next = re.compile(r"[#'\"]")
        # Inside a one-line string: the next backslash, newline or closing quote.
        self.py_stop = {"'": re.compile(r"[\\\n']"), '"': re.compile(r'[\\\n"]')}


_PATTERNS: list[_Patterns] = []
_HINTS: list[re.Pattern[bytes]] = []


def _hints() -> list[re.Pattern[bytes]]:
    """Byte patterns that any reportable path contains, built to be fast.

    Each starts with a literal (``:`` then a separator, or two backslashes),
    which lets the regex engine skip ahead; lookbehinds then ask for a lone
    drive letter (a URL's ``http:/`` has a word character before the letter).
    """
    if not _HINTS:
        import re

        _HINTS.append(re.compile(rb":[\\/](?<![\w%^/:][A-Za-z]:[\\/])(?<=[A-Za-z]:[\\/])"))
        _HINTS.append(re.compile(rb"\\\\[^\\/\s:*?\"<>|]{2,}\\"))
        _HINTS.append(re.compile(rb"\\\\\.\\"))  # the device namespace, `\\.\`
    return _HINTS


def _patterns() -> _Patterns:
    if not _PATTERNS:
        _PATTERNS.append(_Patterns())
    return _PATTERNS[0]


def _scan(text: str, escape: re.Pattern[str] | None) -> Iterator[tuple[int, str, str]]:
    """Paths in ``text``: (offset, path as shown, what kind of path).

    ``escape`` matches an escape sequence where backslashes escape (ordinary
    Python strings, JSON); None where a backslash is just a backslash.
    """
    pats = _patterns()
    for m in pats.drive.finditer(text):
        shown = _drive_path(text, m, escape, pats)
        if shown:
            start = m.start()
            # A long-path prefix belongs to the path: `\\?\C:\very\long` is one path
            # (written `\\\\?\\C:` where backslashes escape).
            written = "\\\\?\\" if escape is None else "\\\\\\\\?\\\\"
            if text.endswith(written, 0, start):
                start -= len(written)
                shown = _shown("\\\\?\\" + shown)
            yield start, shown, _DRIVE
    if "\\\\" not in text:
        return
    # Where backslashes escape, `\\server` in the source is one backslash in the
    # program: only the doubled form is a UNC path there.
    doubled = escape is not None
    for pattern, kind in (
        (pats.unc2, _NETWORK),
        (pats.unc4, _NETWORK),
        (pats.device2, _DEVICE),
        (pats.device4, _DEVICE),
    ):
        for m in pattern.finditer(text):
            raw = m.group()
            prefix = 4 if raw.startswith("\\\\\\\\") else 2
            if doubled and prefix == 2:
                continue
            rest = pats.backslashes.sub(r"\\", raw[prefix:])
            yield m.start(), _shown("\\\\" + rest), kind


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
    # Cut before the character-by-character pass, so a path of megabytes costs
    # its shown length there, not its own.
    if len(path) > _MAX_SHOWN:
        path = path[: _MAX_SHOWN - 3] + "..."
    if not path.isascii() and any("\ud800" <= c <= "\udfff" for c in path):
        path = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in path)
    return path


_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
#: What may not stand before a drive letter (``\w%^/:`` in the hint regex).
_NOT_BEFORE_DRIVE = _LETTERS | frozenset(b"0123456789_%^/:")
#: What ends a UNC server name (``[^\\/\s:*?"<>|]`` in the hint regex).
_UNC_STOPS = frozenset(b'\\/ \t\n\r\x0b\x0c:*?"<>|')
#: Past this many near misses the hint regexes decide, at C speed.
_QUICK_TRIES = 64


def _may_hint(data: bytes) -> bool:
    """False only when no byte hint (see ``_hints``) can match ``data``.

    The same tests as the hint regexes, by ``bytes.find``: most files hold no
    ``X:\\``, ``X:/`` or ``\\\\``, or only a few URLs, and a hook checking
    them never needs to import ``re``.
    """
    tries = _QUICK_TRIES
    for sep in (b":\\", b":/"):
        i = data.find(sep, 1)
        while i != -1:
            if data[i - 1] in _LETTERS and (i < 2 or data[i - 2] not in _NOT_BEFORE_DRIVE):
                return True
            tries -= 1
            if not tries:
                return True
            i = data.find(sep, i + 1)
    if b"\\\\.\\" in data:
        return True  # the device namespace
    i = data.find(b"\\\\")
    end = len(data)
    while i != -1:
        j = i + 2
        while j < end and j - i < 260 and data[j] not in _UNC_STOPS:
            j += 1
        if j - i >= 4 and j < end and data[j] == 0x5C:
            return True
        tries -= 1
        if not tries or j - i >= 260:
            return True
        i = data.find(b"\\\\", i + 1)
    return False


def _candidate_lines(data: bytes) -> list[tuple[int, str]]:
    """(line number, text) of each line where a byte hint matches."""
    if not _may_hint(data):
        return []
    starts: set[int] = set()
    for hint in _hints():
        # One hit is enough to make a line a candidate: the search resumes on
        # the next line, so a line full of hints costs one pass over it, not
        # one search back to its start per hint.
        pos = 0
        while (m := hint.search(data, pos)) is not None:
            newline = data.rfind(b"\n", pos, m.start())
            starts.add(pos if newline == -1 else newline + 1)
            end = data.find(b"\n", m.end())
            if end == -1:
                break
            pos = end + 1
    lines = []
    number, counted_to = 1, 0
    for start in sorted(starts):
        number += data.count(b"\n", counted_to, start)
        counted_to = start
        end = data.find(b"\n", start)
        raw = data[start : len(data) if end == -1 else end]
        lines.append((number, decode_text(raw) if start == 0 else raw.decode("utf-8", "surrogateescape")))
    return lines


def _python_hits(text: str) -> list[Hit]:
    """Hits in a Python file's string literals, never in its comments.

    A small lexer, not ``tokenize``: it only needs to know where strings and
    comments are, and one regular expression finds the next of either in C,
    so a 10,000-line module costs a few hundred matches, not 100,000 tokens.
    It never fails: an unterminated string runs to the end of its line (a
    Windows path ending in a backslash, ``"C:\\runs\\"``, does that).
    """
    pats = _patterns()
    hits: list[Hit] = []
    line_starts: list[int] = []
    pos = 0
    while True:
        m = pats.py_next.search(text, pos)
        if m is None:
            break
        at = m.start()
        if m.group() == "#":
            end = text.find("\n", at)
            if end == -1:
                break
            pos = end
            continue
        quote = text[at : at + 3] if text.startswith(('"""', "'''"), at) else text[at]
        body_at = at + len(quote)
        body_end, pos = _string_end(text, body_at, quote, pats)
        body = text[body_at:body_end]
        if ":" not in body and "\\\\" not in body:
            continue
        # The prefix: up to two prefix letters glued to the quote, not the end
        # of a longer name (`bar"..."`) and not a closing quote before them.
        start = at
        while start > max(0, at - 2) and text[start - 1] in "rRbBuUfF":
            start -= 1
        prefix = "" if start > 0 and _word_char(text[start - 1]) else text[start:at].lower()
        escape = None if "r" in prefix else pats.bytes_escape if "b" in prefix else pats.str_escape
        if pats.regex_syntax.search(body):
            continue  # a regular expression, not a path: `fr"{END}\\right\)"`
        found = list(_scan(body, escape))
        if not found:
            continue
        if not line_starts:
            line_starts = _line_starts(text)
        for offset, shown, kind in found:
            hits.append((*_position(line_starts, body_at + offset), shown, kind))
    return hits


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _string_end(text: str, body_at: int, quote: str, pats: _Patterns) -> tuple[int, int]:
    """(end of the body, where lexing resumes) for a string opened by ``quote``.

    A backslash always keeps the quote after it open (raw strings too, as
    Python reads them). An unterminated one-line string ends at its line's end;
    an unterminated triple-quoted one at the end of the text.
    """
    if len(quote) == 3:
        pos = body_at
        while True:
            close = text.find(quote, pos)
            if close == -1:
                return len(text), len(text)
            back = close
            while back > body_at and text[back - 1] == "\\":
                back -= 1
            if (close - back) % 2 == 0:
                return close, close + 3
            pos = close + 1
    stop = pats.py_stop[quote]
    pos = body_at
    while True:
        m = stop.search(text, pos)
        if m is None:
            return len(text), len(text)
        c = m.group()
        if c == "\\":
            pos = m.end() + 1
        elif c == "\n":
            return m.start(), m.start()
        else:
            return m.start(), m.end()


def _line_starts(text: str) -> list[int]:
    starts = [0]
    index = text.find("\n")
    while index != -1:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    return starts


def _position(line_starts: list[int], offset: int) -> tuple[int, int]:
    """1-based (line, column) of an offset."""
    import bisect

    line = bisect.bisect_right(line_starts, offset)
    return line, offset - line_starts[line - 1] + 1


RULE = WindowsPath
