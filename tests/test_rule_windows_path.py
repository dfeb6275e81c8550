"""windows-path: hard-coded Windows paths in Python string literals and text files."""

from __future__ import annotations

import collections.abc
import io
import re
import tokenize
import warnings

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from guardian.model import FileEntry, Finding
from guardian.rules import rule_class, windows_path
from guardian.rules.windows_path import RULE, WindowsPath


def check(path: str, source: str | bytes) -> list[Finding]:
    data = source.encode() if isinstance(source, str) else source
    return list(RULE().check_file(FileEntry(path), data))


def where(findings: list[Finding]) -> list[tuple[int, int, str]]:
    """(line, column, path named in the message) for each finding."""
    out = []
    for f in findings:
        named = re.search(r"`([^`]*)`", f.message)
        assert named, f.message
        out.append((f.line, f.column, named.group(1)))
    return out


# -- the rule as the engine and the CLI see it ---------------------------------


def test_rule_metadata() -> None:
    assert rule_class("windows-path") is WindowsPath
    assert WindowsPath.id == "windows-path"
    assert WindowsPath.scope == "file"
    assert WindowsPath.needs_content and WindowsPath.text_only
    # Windows scripts, in any letter case.
    from guardian.ignore import PathMatcher

    exempt = PathMatcher(list(WindowsPath.default_exclude))
    assert all(exempt.matches(p) for p in ("a.bat", "s/INSTALL.BAT", "x.Cmd", "deploy.PS1"))
    assert not any(exempt.matches(p) for p in ("a.py", "bat", "a.batch"))


def test_docs_have_the_sections_in_order() -> None:
    headings = re.findall(r"^## (.+)$", WindowsPath.docs, flags=re.MULTILINE)
    assert headings == ["What it does", "Why is this bad?", "Example", "Use instead", "Options"]


def test_finding_says_what_and_what_instead_and_is_not_fixable() -> None:
    line = 'RESULTS = "C:\\\\Users\\\\me\\\\data"  # results'
    [f] = check("atomizer/config.py", line + "\n")
    assert f.rule == "windows-path"
    assert f.path == "atomizer/config.py"
    assert "C:\\Users\\me\\data" in f.message
    assert "pathlib" in f.message and "environment variable" in f.message
    assert f.line_text == line
    assert f.fixable is False
    assert RULE().fix_file("atomizer/config.py", (line + "\n").encode()) is None


# -- Python: string literals only -----------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('x = "C:\\\\Users\\\\me\\\\data"\n', (1, 6, "C:\\Users\\me\\data")),
        ('x = r"D:\\solver\\bin"\n', (1, 7, "D:\\solver\\bin")),
        ("x = 'E:/runs/out'\n", (1, 6, "E:/runs/out")),
        ('x = b"C:\\\\tmp\\\\cache"\n', (1, 7, "C:\\tmp\\cache")),
        ('x = f"C:\\\\Users\\\\{user}\\\\data"\n', (1, 7, "C:\\Users\\{user}\\data")),
        ('x = rf"D:\\runs\\{n:03d}"\n', (1, 8, "D:\\runs\\{n:03d}")),
        ('x = "C:\\\\"\n', (1, 6, "C:\\")),
        ('x = "C:\\\\Program Files\\\\Siemens\\\\NX"\n', (1, 6, "C:\\Program Files\\Siemens\\NX")),
        # `\d` is no escape, so the backslash is a real separator
        ('x = "C:\\data\\runs"\n', (1, 6, "C:\\data\\runs")),
        # A closing backslash escapes the quote: the string runs on, Python sees no end.
        ('x = "D:\\solver\\"\ny = 1\n', (1, 6, "D:\\solver\\")),
        ('x = r"\\\\fileserver\\models"\n', (1, 7, "\\\\fileserver\\models")),
        ('x = "\\\\\\\\fileserver\\\\models\\\\v1"\n', (1, 6, "\\\\fileserver\\models\\v1")),
        ('x = "\\\\\\\\srv01\\\\C$\\\\temp"\n', (1, 6, "\\\\srv01\\C$\\temp")),
    ],
)
def test_python_string_forms_are_found(source: str, expected: tuple[int, int, str]) -> None:
    assert where(check("a.py", source)) == [expected]


@pytest.mark.parametrize("name", ["tool.py", "stubs.pyi", "gui.pyw", "LEGACY.PY"])
def test_every_python_suffix_reads_literals_only(name: str) -> None:
    source = '# was C:\\old\\place\nx = "C:\\\\new\\\\place"\n'
    assert where(check(name, source)) == [(2, 6, "C:\\new\\place")]


def test_triple_quoted_string_reports_the_line_and_column_inside_it() -> None:
    source = 'x = 1\nHELP = """\nRun the solver from\n    D:\\\\solver\\\\bin\\\\nastran.exe\nthen wait.\n"""\n'
    [f] = check("a.py", source)
    assert (f.line, f.column) == (4, 5)
    assert f.line_text == "    D:\\\\solver\\\\bin\\\\nastran.exe"


def test_column_points_at_the_path_start_in_each_literal() -> None:
    source = 'copy("C:/in", r"\\\\nas\\share\\out", "é", "Z:\\\\x")\n'
    assert where(check("a.py", source)) == [
        (1, 7, "C:/in"),
        (1, 17, "\\\\nas\\share\\out"),
        (1, 41, "Z:\\x"),
    ]


def test_column_counts_characters_after_non_ascii_text() -> None:
    source = 'msg = "Ergebnisse für Prüfung: E:/ergebnisse"\n'
    assert where(check("a.py", source)) == [(1, 32, "E:/ergebnisse")]


def test_one_finding_per_occurrence() -> None:
    source = 'PATHS = ["C:\\\\a\\\\b", "C:\\\\a\\\\b"]\nMORE = "D:/x;E:/y"\n'
    assert where(check("a.py", source)) == [
        (1, 11, "C:\\a\\b"),
        (1, 23, "C:\\a\\b"),
        (2, 9, "D:/x"),
        (2, 14, "E:/y"),
    ]


def test_crlf_line_text_has_no_carriage_return() -> None:
    [f] = check("a.py", b'x = 1\r\ny = "C:\\\\x\\\\y"\r\n')
    assert (f.line, f.column, f.line_text) == (2, 6, 'y = "C:\\\\x\\\\y"')


def test_byte_order_mark_does_not_shift_columns() -> None:
    assert where(check("a.py", b'\xef\xbb\xbfx = "C:\\\\x\\\\y"\n')) == [(1, 6, "C:\\x\\y")]


@pytest.mark.parametrize(
    "source",
    [
        "# data used to live in C:\\Users\\me\\data\nx = 1\n",
        "x = 1  # see \\\\fileserver\\models\n",
        "def f(C): return C\n",
        # a slice continued on the next line: code, not a string
        "y = a[C:\\\n    1]\n",
    ],
)
def test_python_comments_and_code_are_not_read(source: str) -> None:
    assert check("a.py", source) == []


# -- other text files: line by line ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("setup.cfg", "[paths]\nsolver = D:\\solver\\bin\n", [(2, 10, "D:\\solver\\bin")]),
        (
            "settings.json",
            '{\n  "results": "C:\\\\Users\\\\me\\\\results",\n  "share": "\\\\\\\\fileserver\\\\models"\n}\n',
            [(2, 15, "C:\\Users\\me\\results"), (3, 13, "\\\\fileserver\\models")],
        ),
        (
            "README.md",
            "Install to `C:\\Program Files\\Atomizer` (models on \\\\fileserver\\models).\n",
            [(1, 13, "C:\\Program Files\\Atomizer"), (1, 51, "\\\\fileserver\\models")],
        ),
        ("notes.txt", "first line\nrun at E:/runs/out, then copy\n", [(2, 8, "E:/runs/out")]),
        ("config.yaml", "output: 'C:/atomizer/out'\n", [(1, 10, "C:/atomizer/out")]),
    ],
)
def test_text_files_are_read_line_by_line(name: str, source: str, expected: list[tuple[int, int, str]]) -> None:
    assert where(check(name, source)) == expected


def test_text_file_line_text_is_the_whole_line() -> None:
    [f] = check("a.ini", "[run]\nworkdir=C:\\work  ; legacy\n")
    assert (f.line, f.column, f.line_text) == (2, 9, "workdir=C:\\work  ; legacy")


def test_comments_count_in_text_files() -> None:
    assert where(check("a.toml", "# solver: D:\\solver\\bin\n")) == [(1, 11, "D:\\solver\\bin")]


# -- what only looks like a path -------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        'x = "https://example.com/a:/b"\n',
        'x = "http://host/C:/data"\n',
        'x = "file:///C:/Users/me/data.csv"\n',
        'x = "file://C:/Users/me/data.csv"\n',
        'x = "s3://bucket/key"\n',
        'x = "s://bucket/key"\n',
        'x = "jdbc:C:/db"\n',
    ],
)
def test_urls_are_not_paths(source: str) -> None:
    assert check("a.py", source) == []
    assert check("a.txt", source) == []


@pytest.mark.parametrize(
    "source",
    [
        'x = r"[A-Z]:\\\\"\n',
        'x = "^[a-zA-Z]:\\\\\\\\"\n',
        'x = r"\\\\\\\\[^\\\\]+"\n',
        'x = r"^C:\\\\Windows"\n',
        'x = r"[^C:\\\\/]"\n',
        'x = r"\\w:\\s+"\n',
        'x = r"(?P<drive>[A-Z]):[\\\\/]"\n',
        'x = r"C:\\\\(?:Users|home)"\n',
    ],
)
def test_regex_patterns_are_not_paths(source: str) -> None:
    assert check("a.py", source) == []


@pytest.mark.parametrize(
    "source",
    [
        'x = "a:\\n"\n',
        'x = "x:\\t"\n',
        "x = '\\\\\\\\n'\n",
        'x = "a:\\\\n"\n',
        'x = "C:\\temp"\n',
        'x = "C:\\new\\table"\n',
        'x = b"C:\\x41"\n',
        'x = "Options:\\n a:\\tfoo\\n"\n',
        'x = "\\\\n\\\\t"\n',
        'x = r"x:\\t"\n',
        # the program sees one leading backslash: `\server\share`, not a network path
        'x = "\\\\server\\share"\n',
    ],
)
def test_escape_sequences_are_not_paths(source: str) -> None:
    assert check("a.py", source) == []


def test_escapes_in_json_are_not_paths_but_plain_text_backslashes_are() -> None:
    assert check("a.json", '{"sep": "a:\\n", "t": "C:\\temp"}\n') == []
    assert where(check("a.cfg", "tmp = C:\\temp\n")) == [(1, 7, "C:\\temp")]


@pytest.mark.parametrize(
    "source",
    [
        'x = "10:30"\n',
        'x = "12:00/day"\n',
        'x = "ratio 3:/4"\n',
        'x = "ab:\\\\x"\n',
        'x = "Key:\\\\value"\n',
        'x = "%s:\\\\%s" % (drive, rest)\n',
        'x = "{}:\\\\{}".format(drive, rest)\n',
        'x = "C:"\n',
        'x = "\\\\x\\\\y"\n',
        'x = "\\\\\\\\a\\\\b"\n',
    ],
)
def test_words_times_and_fragments_are_not_paths(source: str) -> None:
    assert check("a.py", source) == []


def test_words_times_and_urls_in_prose_are_not_paths() -> None:
    text = "Meeting at 10:30, Key:\\value, see https://x.org/C:/y and file:///D:/z.\n"
    assert check("notes.md", text) == []


# -- robustness -------------------------------------------------------------------


def test_files_without_a_marker_are_not_lexed(monkeypatch: pytest.MonkeyPatch) -> None:
    from guardian.rules import windows_path

    def fail(*_args: object) -> None:
        raise AssertionError("lexed a file the byte pre-filter should have skipped")

    monkeypatch.setattr(windows_path, "_python_hits", fail)
    monkeypatch.setattr(windows_path, "decode_text", fail)
    assert check("a.py", 'x = "C" + ":" + "x"  # ratio 3:1\n' * 1000) == []
    assert check("a.py", b"") == []
    assert list(RULE().check_file(FileEntry("a.py"), None)) == []


@pytest.mark.parametrize(
    "source",
    [
        b'def f():\n        x = "C:\\\\data\\\\in"\n    y = 1\n',  # inconsistent dedent
        b'x = """C:\\\\data\\\\in\n',  # unterminated triple quote
        b'x = (\n "C:\\\\data\\\\in"\n',  # unclosed bracket
    ],
)
def test_python_that_will_not_tokenize_is_scanned_by_line(source: bytes) -> None:
    paths = [p for _line, _col, p in where(check("a.py", source))]
    assert paths == ["C:\\data\\in"]


def test_broken_python_still_skips_comments() -> None:
    source = b"x = (\n  1,  # was D:\\old\n  'E:\\\\new\\\\x'\n"
    assert where(check("a.py", source)) == [(3, 4, "E:\\new\\x")]


def test_python2_sources_are_still_checked() -> None:
    source = b'print "C:\\\\data\\\\in", `x`\nexec "y"\nz = ur"D:\\raw"\n'
    paths = [p for _line, _col, p in where(check("legacy.py", source))]
    assert paths == ["C:\\data\\in", "D:\\raw"]


def test_non_utf8_python_does_not_crash_and_still_finds_paths() -> None:
    source = b'# -*- coding: latin-1 -*-\nnom = "r\xe9sultats"\nout = "D:\\\\r\xe9sultats\\\\x"\n'
    [f] = check("a.py", source)
    assert (f.line, f.column) == (3, 8)
    assert f.message.isprintable()


@given(data=st.binary(max_size=400), name=st.sampled_from(["a.py", "a.json", "a.txt", "a.md"]))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_bytes_never_raise(data: bytes, name: str) -> None:
    for f in check(name, data):
        assert f.line >= 1 and f.column >= 1


_PIECES = ["C:", "\\", "\\\\", "/", ":", '"', "'", '"""', "r", "b", "f", "{", "}", "\n", " ", "#", "x", "\t", "\xff"]


@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=60),
    name=st.sampled_from(["a.py", "a.json", "a.txt"]),
)
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_path_like_noise_never_raises(pieces: list[str], name: str) -> None:
    data = "".join(pieces).encode("utf-8", "surrogateescape")
    for f in check(name, data):
        assert f.line >= 1 and f.column >= 1
        assert "\n" not in f.line_text


_FRAGMENTS = ["C:", "d:", "\\", "\\\\", "/", "srv", "share", "x", " ", '"', "'", "r'", "é", "\n", "?", "%", ":", "_"]
# Whole paths too, so that candidates are frequent, not a lucky draw.
_FRAGMENTS += ["\\\\srv\\share", "\\\\\\\\srv\\\\share", "C:\\x", "C:/x", "http://h/", "\\\\?\\C:\\x"]
_NOISE = st.lists(st.sampled_from(_FRAGMENTS), max_size=14).map("".join)


@settings(max_examples=600, deadline=None)
@given(_NOISE, st.sampled_from(["m.py", "c.cfg", "d.json"]))
def test_prefilters_never_hide_a_finding(text: str, path: str) -> None:
    """The byte hints and candidate lines only skip work: the rule reports
    exactly what a full, unfiltered reading of the file reports."""
    data = text.encode("utf-8")
    got = [(f.line, f.column) for f in WindowsPath().check_file(FileEntry(path), data)]
    full = windows_path.decode_text(data)
    if path.endswith(".py"):
        truth = windows_path._python_hits(full)
    else:
        truth = _text_hits(full, windows_path._patterns().json_escape if path.endswith(".json") else None)
    assert got == sorted({(line, column) for line, column, _shown, _unc in truth})


# -- the lexer agrees with Python's own tokenizer ---------------------------------
# The rule finds strings with a small lexer (fast); on code that tokenizes, it must
# report exactly what a tokenize-based reading of the string literals reports.

_PY_FRAGMENTS = ["x = ", "'", '"', "'''", 'r"', "b'", "f'", "# ", "C:\\\\", "C:\\", "D:/", "\\\\\\\\srv\\\\share"]
_PY_FRAGMENTS += ["\\\\srv\\share", "data", " ", "\n", "\\", "{x}", "http://h/", ":", "\\n", "(", ")", ","]


@settings(max_examples=500, deadline=None)
# A closing quote is no string prefix: the letter before it belongs to the string.
@example("\"r\"'\\\\srv\\share'")
# What only a regular expression holds (an escaped parenthesis) makes a string no path.
@example("'C:\\\\)'")
@given(st.lists(st.sampled_from(_PY_FRAGMENTS), max_size=16).map("".join))
def test_lexer_agrees_with_tokenize_on_code_that_tokenizes(source: str) -> None:
    try:
        list(tokenize.generate_tokens(io.StringIO(source).readline))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<gen>", "exec")
    except (tokenize.TokenError, SyntaxError, ValueError):
        return
    from guardian.rules.windows_path import _python_hits

    expected = sorted(set(_tokenize_oracle(source)))
    assert sorted(set(_python_hits(source))) == expected


Hit = tuple[int, int, str, str]
Iterator = collections.abc.Iterator


def _tokenize_oracle(text: str) -> list[Hit]:
    """Hits in a Python file's string literals; line scanning if it will not tokenize."""
    import io
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return _text_hits(text, windows_path._patterns().str_escape)
    pats = windows_path._patterns()
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
            if pats.regex_syntax.search(body):
                continue  # a regular expression, not a path
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
            if pats.regex_syntax.search(body):
                continue  # a regular expression, not a path
            hits.extend(_token_hits(body, body, 0, (row, col + 1), None if raw else pats.str_escape))
    return hits


def _token_hits(
    source: str, body: str, body_at: int, start: tuple[int, int], escape: re.Pattern[str] | None
) -> Iterator[Hit]:
    """Hits in a literal's ``body``, placed in the file from where ``source`` starts."""
    row, col = start
    for offset, shown, unc in windows_path._scan(body, escape):
        at = body_at + offset
        newlines = source.count("\n", 0, at)
        if newlines == 0:
            yield row, col + at + 1, shown, unc
        else:
            yield row + newlines, at - source.rfind("\n", 0, at), shown, unc


def _text_hits(text: str, escape: re.Pattern[str] | None) -> list[Hit]:
    """Hits in a whole text, line by line (no match crosses a newline)."""
    found = list(windows_path._scan(text, escape))
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


@given(
    st.lists(
        st.sampled_from(
            ["C", "c", "x", "1", "_", "%", "/", ":", "\\", " ", "\n", "*", "a:", ":/", ":\\", "\\\\", "srv", "é"]
        ),
        max_size=30,
    )
)
def test_the_quick_hint_test_never_says_no_where_a_hint_regex_matches(pieces: list[str]) -> None:
    from guardian.rules.windows_path import _hints, _may_hint

    data = "".join(pieces).encode("utf-8")
    if any(hint.search(data) for hint in _hints()):
        assert _may_hint(data)
    elif not data.count(b":") and not data.count(b"\\\\"):
        assert not _may_hint(data)


def test_the_quick_hint_test_answers_no_for_urls_and_escapes_alone() -> None:
    from guardian.rules.windows_path import _may_hint

    assert not _may_hint(b'see https://example.com/a and "a\\\\n" and C:foo')
    assert _may_hint(b'p = "C:/data"')
    assert _may_hint(b"x = r'\\\\server\\share'")
    assert _may_hint(b"\\\\ab\\c")  # the shortest server name a hint accepts
    assert not _may_hint(b"\\\\a\\c")


# -- the device namespace, long paths, and regular expressions in f-strings -------------


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("PIPE = r'\\\\.\\pipe\\my-pipe'\n", "\\\\.\\pipe\\my-pipe"),
        ("PORT = '\\\\\\\\.\\\\COM3'\n", "\\\\.\\COM3"),
        ("DISK = r'\\\\.\\PhysicalDrive0'\n", "\\\\.\\PhysicalDrive0"),
    ],
)
def test_device_namespace_paths_are_reported(source: str, shown: str) -> None:
    [finding] = check("dev.py", source)
    assert where([finding]) == [(1, source.index("\\") + 1, shown)]
    assert "Windows device path" in finding.message


def test_a_device_path_in_a_text_file_is_reported() -> None:
    assert where(check("notes.txt", "the pipe is \\\\.\\pipe\\guardian\n")) == [(1, 13, "\\\\.\\pipe\\guardian")]


@pytest.mark.parametrize(
    "source",
    [
        "LONG = r'\\\\?\\C:\\very\\long\\path'\n",  # raw: as the program sees it
        "LONG = '\\\\\\\\?\\\\C:\\\\very\\\\long\\\\path'\n",  # an ordinary string: backslashes doubled
    ],
)
def test_a_long_path_prefix_is_reported_with_its_path_as_one(source: str) -> None:
    assert where(check("long.py", source)) == [(1, source.index("\\") + 1, "\\\\?\\C:\\very\\long\\path")]


@pytest.mark.parametrize(
    "source",
    [
        'PATTERN = fr"{END}\\\\right\\)"\n',  # the case that was reported as `\\right\`
        'PATTERN = f"{END}\\\\\\\\right\\\\)"\n',  # the same, not raw
        'PATTERN = r"\\\\\\\\server\\\\(?:a|b)"\n',
        'PATTERN = r"^\\\\\\\\[\\w.]+\\\\share\\+"\n',
        'PATTERN = r"C:\\\\data\\\\(\\d+)\\.csv"\n',
    ],
)
def test_a_string_that_is_a_regular_expression_is_not_a_path(source: str) -> None:
    assert check("rx.py", source) == []


def test_a_share_name_is_never_punctuation() -> None:
    # Line by line in a text file: `\\right\)` names no share.
    assert check("notes.txt", "match \\\\right\\) here\n") == []
    assert where(check("notes.txt", "see \\\\files\\models\n")) == [(1, 5, "\\\\files\\models")]


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ('USER = fr"C:\\{user}\\data"\n', "C:\\{user}\\data"),  # a field after a backslash: no regex
        ('BIN = r"C:\\$Recycle.Bin"\n', "C:\\$Recycle.Bin"),
        ('GLOB = r"C:\\Users\\*\\AppData"\n', "C:\\Users\\*\\AppData"),
    ],
)
def test_paths_that_hold_regex_like_characters_are_still_paths(source: str, shown: str) -> None:
    assert [s for _, _, s in where(check("p.py", source))] == [shown]
