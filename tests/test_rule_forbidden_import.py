"""forbidden-import: banned modules in imports, run-time imports and configuration."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.model import FileEntry, Finding
from guardian.rules import rule_class
from guardian.rules.forbidden_import import FALLBACK_NOTE, ForbiddenImport, parse_banned
from tests.conftest import Repo

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {"optimization_engine": "atomizer"}
WITH_SUBMODULE = {
    "optimization_engine": "atomizer",
    "optimization_engine.solvers": "atomizer.solve",
    "legacy": "removed in 2024; see docs/migration.md",
    "atomizer.old": "atomizer.compat",
}


def make_rule(banned: dict[str, str] | None = None) -> ForbiddenImport:
    return ForbiddenImport({"banned": SHIPPED if banned is None else banned})


def check(path: str, source: str | bytes, banned: dict[str, str] | None = None) -> list[Finding]:
    data = source.encode() if isinstance(source, str) else source
    return list(make_rule(banned).check_file(FileEntry(path, len(data)), data))


def fix(path: str, source: str | bytes, banned: dict[str, str] | None = None) -> bytes | None:
    data = source.encode() if isinstance(source, str) else source
    return make_rule(banned).fix_file(path, data)


def where(findings: list[Finding]) -> list[tuple[int, int]]:
    return [(f.line, f.column) for f in findings]


# -- the rule's shape and its option --------------------------------------------------


def test_rule_is_registered_under_its_id() -> None:
    assert rule_class("forbidden-import") is ForbiddenImport
    rule = make_rule()
    assert (rule.id, rule.scope, rule.needs_content, rule.text_only) == ("forbidden-import", "file", True, True)


def test_docs_have_the_five_sections_in_order() -> None:
    headings = re.findall(r"^## (.+)$", ForbiddenImport.docs, re.MULTILINE)
    assert headings == ["What it does", "Why is this bad?", "Example", "Use instead", "Options"]
    assert "`banned`" in ForbiddenImport.docs


def test_default_bans_nothing() -> None:
    rule = ForbiddenImport()
    assert rule.settings["banned"] == {}
    data = b"import optimization_engine\n"
    assert list(rule.check_file(FileEntry("a.py"), data)) == []
    assert rule.fix_file("a.py", data) is None


def test_banned_option_accepts_replacements_and_messages() -> None:
    assert parse_banned(WITH_SUBMODULE) == WITH_SUBMODULE


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        (["optimization_engine"], "expected a table"),
        ("optimization_engine", "expected a table"),
        ({"optimization-engine": "atomizer"}, "'optimization-engine' is not a dotted Python module name"),
        ({"a..b": "c"}, "'a..b' is not a dotted Python module name"),
        ({"": "c"}, "'' is not a dotted Python module name"),
        ({"class.x": "c"}, "'class.x' is not a dotted Python module name"),
        ({"old": ""}, "`old` needs a replacement module or a message"),
        ({"old": 3}, "`old` needs a replacement module or a message"),
        ({"old": "old.new"}, "replacement `old.new` for banned module `old` is itself banned by `old`"),
        ({"a": "b", "b": "c"}, "replacement `b` for banned module `a` is itself banned by `b`"),
    ],
)
def test_banned_option_rejects_bad_tables_with_a_clear_message(value: object, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        parse_banned(value)


def test_rule_built_as_the_config_builds_it() -> None:
    [option] = ForbiddenImport.options
    assert (option.name, option.default) == ("banned", {})
    rule = ForbiddenImport(
        {"banned": option.parse(SHIPPED)}, severity="warning", exclude=lambda path: path.startswith("vendor/")
    )
    [finding] = rule.check_file(FileEntry("app/run.py"), b"from optimization_engine.cli import main\n")
    assert (finding.severity, finding.fixable) == ("warning", True)
    assert rule.is_excluded("vendor/x.py")


def test_shipped_policy_bans_optimization_engine_in_favour_of_atomizer() -> None:
    policy = tomllib.loads((ROOT / "policies" / "default.toml").read_text(encoding="utf-8"))
    settings = policy["rules"]["forbidden-import"]
    rule = ForbiddenImport({"banned": parse_banned(settings["banned"])})
    [finding] = rule.check_file(FileEntry("app/run.py"), b"import optimization_engine.io as oio\n")
    assert finding.message == "import of `optimization_engine.io` is forbidden; use `atomizer.io`"


@pytest.mark.parametrize(
    "path",
    [
        "a.py",
        "pkg/stubs.pyi",
        "gui/app.pyw",
        "Tools/UPPER.PY",
        "dir with space/é.py",
        "config/settings.json",
        "ci.yaml",
        ".github/workflows/ci.yml",
        "pyproject.toml",
        "setup.cfg",
        "tox.ini",
        "pkg.egg-info/entry_points.txt",
        "requirements.txt",
        "requirements-dev.txt",
        "requirements.in",
    ],
)
def test_applies_to_python_and_configuration(path: str) -> None:
    assert make_rule().applies(path)


@pytest.mark.parametrize(
    "path", ["README.md", "notes.txt", "a.pyc", ".guardian.toml", "img.png", "Makefile", "docs/index.rst"]
)
def test_does_not_apply_to_other_files(path: str) -> None:
    assert not make_rule().applies(path)


# -- Python import statements ------------------------------------------------------------


def test_import_statement_is_reported_with_position_and_line_text() -> None:
    [finding] = check("app/run.py", "import os\nimport optimization_engine\n")
    assert finding.rule == "forbidden-import"
    assert finding.path == "app/run.py"
    assert (finding.line, finding.column) == (2, 8)
    assert finding.line_text == "import optimization_engine"
    assert finding.message == "import of `optimization_engine` is forbidden; use `atomizer`"


@pytest.mark.parametrize(
    ("source", "name", "column"),
    [
        ("import optimization_engine.solvers as s", "optimization_engine.solvers", 8),
        ("import os, optimization_engine.io", "optimization_engine.io", 12),
        ("from optimization_engine import run", "optimization_engine", 6),
        ("from optimization_engine.cli import main as m", "optimization_engine.cli", 6),
        ("from optimization_engine.cli import (\n    main,\n)", "optimization_engine.cli", 6),
        ("if True:\n    import optimization_engine", "optimization_engine", 12),
    ],
)
def test_import_forms_name_the_module_and_its_replacement(source: str, name: str, column: int) -> None:
    [finding] = check("m.py", source + "\n")
    assert finding.column == column
    assert (
        finding.message == f"import of `{name}` is forbidden; use `{name.replace('optimization_engine', 'atomizer')}`"
    )


def test_from_import_of_a_banned_submodule_is_reported_at_the_name() -> None:
    [finding] = check("m.py", "from atomizer import core, old as o\n", WITH_SUBMODULE)
    assert finding.column == 28
    assert finding.message == "import of `atomizer.old` is forbidden; use `atomizer.compat`"
    assert not finding.fixable


@pytest.mark.parametrize(
    "source",
    [
        "import optimization_engine_v2\n",
        "import my_optimization_engine\n",
        "import atomizer.optimization_engine\n",
        "from atomizer import optimization_engine\n",
        "from optimization_engine_v2 import run\n",
        "# import optimization_engine\nx = 1\n",
        '"""Ported from optimization_engine.solvers; import optimization_engine no more."""\n',
        "def f():\n    '''Uses optimization_engine under the hood.'''\n",
        '"""optimization_engine.solvers"""\n',  # a docstring, even one that is only the name
        'msg = "optimization_engine was renamed to atomizer"\n',
        'label = f"optimization_engine.{name}"\n',
        "optimization_engine = 3\n",
        "import atomizer\n",
    ],
)
def test_names_that_are_not_imports_of_the_banned_module_are_allowed(source: str) -> None:
    assert check("m.py", source) == []


def test_longest_banned_prefix_wins() -> None:
    findings = check(
        "m.py",
        "import optimization_engine.solvers.fem as fem\nimport optimization_engine.io as io\n",
        WITH_SUBMODULE,
    )
    assert [f.message for f in findings] == [
        "import of `optimization_engine.solvers.fem` is forbidden; use `atomizer.solve.fem`",
        "import of `optimization_engine.io` is forbidden; use `atomizer.io`",
    ]


def test_message_entries_show_the_configured_message() -> None:
    [finding] = check("m.py", "import legacy.db\n", WITH_SUBMODULE)
    assert finding.message == "import of `legacy.db` is forbidden; removed in 2024; see docs/migration.md"
    assert not finding.fixable


def test_columns_count_characters_not_bytes() -> None:
    [finding] = check("m.py", 'x = "héllo"; import optimization_engine\n')
    assert finding.column == 21


# -- relative imports -----------------------------------------------------------------------


def test_relative_import_from_outside_into_a_banned_package() -> None:
    source = "from .old import shim\nfrom . import old\nfrom .core import fine\n"
    findings = check("src/atomizer/new.py", source, WITH_SUBMODULE)
    assert [(f.line, f.column, f.message) for f in findings] == [
        (1, 6, "import of `atomizer.old` (written `.old`) is forbidden; use `atomizer.compat`"),
        (2, 15, "import of `atomizer.old` is forbidden; use `atomizer.compat`"),
    ]


def test_relative_import_inside_a_banned_package_resolves_from_the_path() -> None:
    findings = check("optimization_engine/sub/m.py", "from ..solvers import x\n", WITH_SUBMODULE)
    assert [f.message for f in findings] == [
        "import of `optimization_engine.solvers` (written `..solvers`) is forbidden; use `atomizer.solve`"
    ]


def test_init_file_is_its_own_package() -> None:
    [finding] = check("optimization_engine/__init__.py", "from . import core\n")
    assert finding.message == "import of `optimization_engine` (written `.`) is forbidden; use `atomizer`"


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("pkg/m.py", "from . import optimization_engine\n"),  # pkg.optimization_engine, another package
        ("pkg/m.py", "from .optimization_engine import x\n"),
        ("m.py", "from . import x\n"),
        ("optimization_engine_v2/m.py", "from . import x\n"),
        ("a/m.py", "from .... import x\n"),  # climbs above the tree: not resolvable, not a crash
    ],
)
def test_relative_imports_that_stay_outside_the_banned_package(path: str, source: str) -> None:
    assert check(path, source) == []


# -- imports at run time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "name", "column"),
    [
        ('import importlib\nm = importlib.import_module("optimization_engine.x.y")', "optimization_engine.x.y", 29),
        ('import importlib as il\nm = il.import_module(name="optimization_engine")', "optimization_engine", 27),
        (
            'from importlib import import_module\nm = import_module("optimization_engine.io")',
            "optimization_engine.io",
            19,
        ),
        ('from importlib import import_module as imp\nm = imp("optimization_engine")', "optimization_engine", 9),
        ('m = __import__("optimization_engine")', "optimization_engine", 16),
        ("m = builtins.__import__('optimization_engine.io')", "optimization_engine.io", 25),
    ],
)
def test_run_time_imports_are_reported(source: str, name: str, column: int) -> None:
    findings = check("m.py", source + "\n")
    assert [(f.line, f.column, f.message) for f in findings if f.line == source.count("\n") + 1] == [
        (
            source.count("\n") + 1,
            column,
            f"import of `{name}` is forbidden; use `{name.replace('optimization_engine', 'atomizer')}`",
        )
    ]


def test_relative_import_module_with_a_package_argument() -> None:
    findings = check("m.py", 'import importlib\nm = importlib.import_module(".solvers", "optimization_engine")\n')
    assert [f.message for f in findings] == [
        "import of `optimization_engine.solvers` (written `.solvers`) is forbidden; use `atomizer.solvers`"
    ]


def test_import_module_relative_to_dunder_package_resolves_from_the_path() -> None:
    source = "import importlib\nm = importlib.import_module('.solvers', __package__)\n"
    [finding] = check("optimization_engine/plugins.py", source)
    assert finding.message.startswith("import of `optimization_engine.solvers` (written `.solvers`)")
    assert check("atomizer/plugins.py", source) == []


def test_name_built_at_run_time_from_a_banned_prefix_is_reported() -> None:
    [finding] = check("m.py", 'import importlib\nm = importlib.import_module("optimization_engine.plugins." + name)\n')
    assert finding.message == (
        "import of `optimization_engine.plugins.…` (a name built at run time) is forbidden; use `atomizer.plugins.…`"
    )
    assert not finding.fixable


def test_import_module_of_an_allowed_module_is_not_reported() -> None:
    assert check("m.py", 'import importlib\nimportlib.import_module("optimization_engine_v2")\n') == []


# -- other strings in Python ---------------------------------------------------------------------


def test_strings_that_are_wholly_a_module_reference_are_reported() -> None:
    source = (
        'patcher = mock.patch("optimization_engine.solvers.run")\n'
        'setup(entry_points={"console_scripts": ["oe = optimization_engine.cli:main"]})\n'
        'log = "optimization_engine.solvers failed to converge, retrying"\n'
    )
    findings = check("setup.py", source)
    assert [(f.line, f.column, f.message) for f in findings] == [
        (1, 23, "reference to `optimization_engine.solvers.run` is forbidden; use `atomizer.solvers.run`"),
        (2, 47, "reference to `optimization_engine.cli` is forbidden; use `atomizer.cli`"),
    ]
    assert not any(f.fixable for f in findings)


# -- files that do not parse ------------------------------------------------------------------------

PYTHON2 = b"""\
# A journal written for Python 2
import os, optimization_engine.solvers as solvers
from optimization_engine import run
print "starting", solvers
# import optimization_engine
x = 'optimization_engine.cli'  # "optimization_engine.io"
text = "see optimization_engine for details"
"""


def test_python2_file_falls_back_to_line_matching_and_says_so() -> None:
    findings = check("journals/run.py", PYTHON2)
    assert [(f.line, f.column) for f in findings] == [(2, 12), (3, 6), (6, 6)]
    assert findings[0].message == (
        "import of `optimization_engine.solvers` is forbidden; use `atomizer.solvers`" + FALLBACK_NOTE
    )
    assert findings[2].message.startswith("reference to `optimization_engine.cli`")
    assert all(f.message.endswith("(file does not parse as Python 3; matched by text)") for f in findings)
    assert not any(f.fixable for f in findings)
    assert fix("journals/run.py", PYTHON2) is None


def test_null_bytes_fall_back_to_line_matching() -> None:
    findings = check("m.py", b"import optimization_engine\nx = '\x00'\n")
    assert [(f.line, f.column) for f in findings] == [(1, 8)]
    assert findings[0].message.endswith(FALLBACK_NOTE)


def test_non_utf8_without_coding_cookie_falls_back_without_crashing() -> None:
    data = b"# caf\xe9\nimport optimization_engine\n"
    [finding] = check("m.py", data)
    assert finding.line == 2
    assert finding.message.endswith(FALLBACK_NOTE)


def test_coding_cookie_is_honoured() -> None:
    data = "# -*- coding: latin-1 -*-\nx = 'é'; import optimization_engine\n".encode("latin-1")
    [finding] = check("m.py", data)
    assert (finding.line, finding.column) == (2, 17)
    assert finding.line_text == "x = 'é'; import optimization_engine"
    assert not finding.message.endswith(FALLBACK_NOTE)


# -- configuration files -------------------------------------------------------------------------


def test_pyproject_entry_points_are_reported_and_guardian_config_is_not() -> None:
    source = (
        "[project.scripts]\n"
        'oe = "optimization_engine.cli:main"  # optimization_engine in a comment\n'
        "# optimization_engine.old\n"
        "[tool.guardian.rules.forbidden-import.banned]\n"
        'optimization_engine = "atomizer"\n'
        "[tool.coverage.run]\n"
        'source = ["optimization_engine"]\n'
    )
    findings = check("pyproject.toml", source)
    assert [(f.line, f.column, f.message) for f in findings] == [
        (2, 7, "reference to `optimization_engine.cli` is forbidden; use `atomizer.cli`"),
        (7, 12, "reference to `optimization_engine` is forbidden; use `atomizer`"),
    ]
    assert findings[0].line_text == 'oe = "optimization_engine.cli:main"  # optimization_engine in a comment'
    assert not any(f.fixable for f in findings)
    assert fix("pyproject.toml", source) is None


def test_policy_table_of_this_rule_is_not_reported() -> None:
    source = '[rules.forbidden-import.banned]\noptimization_engine = "atomizer"\n'
    assert check("policies/strict.toml", source) == []


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("config.json", '{"module": "optimization_engine.x.y"}', [(1, 13, "optimization_engine.x.y")]),
        (
            "workflow.yaml",
            "steps:\n  - run: python -m optimization_engine.cli  # optimization_engine\n# optimization_engine\n",
            [(2, 20, "optimization_engine.cli")],
        ),
        ("tasks.yml", "plugins:\n  - optimization_engine\n", [(2, 5, "optimization_engine")]),
        (
            "setup.cfg",
            "[options.entry_points]\nconsole_scripts =\n    oe = optimization_engine.cli:main\n; optimization_engine\n",
            [(3, 10, "optimization_engine.cli")],
        ),
        ("pytest.ini", "[pytest]\naddopts = --cov=optimization_engine\n", [(2, 17, "optimization_engine")]),
        (
            "x.egg-info/entry_points.txt",
            "[console_scripts]\noe = optimization_engine.cli:main\n",
            [(2, 6, "optimization_engine.cli")],
        ),
        ("requirements.txt", "numpy\noptimization_engine==1.2  # pinned\n", [(2, 1, "optimization_engine")]),
    ],
)
def test_config_files_report_dotted_references(path: str, source: str, expected: list[tuple[int, int, str]]) -> None:
    findings = check(path, source)
    assert [(f.line, f.column, f.message.split("`")[1]) for f in findings] == expected


@pytest.mark.parametrize(
    "text",
    [
        "my_optimization_engine",
        "optimization_engine_v2",
        "optimization_engine-v2",
        "optimization-engine",
        "pkg.optimization_engine",
        "src/optimization_engine/",
        "optimization_engine/solvers.py",
        "C:\\\\code\\\\optimization_engine\\\\x",
        "optimization_engine2",
    ],
)
def test_config_files_ignore_other_words(text: str) -> None:
    assert check("settings.json", f'{{"value": "{text}"}}\n') == []


def test_config_reference_uses_the_longest_prefix() -> None:
    [finding] = check("c.yaml", "solver: optimization_engine.solvers.fem\n", WITH_SUBMODULE)
    assert finding.message == "reference to `optimization_engine.solvers.fem` is forbidden; use `atomizer.solve.fem`"


def test_crlf_config_line_text_has_no_carriage_return() -> None:
    [finding] = check("c.yaml", b"a: 1\r\nb: optimization_engine\r\n")
    assert finding.line_text == "b: optimization_engine"


# -- robustness -------------------------------------------------------------------------------------


def test_files_without_a_banned_name_are_never_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> ast.Module:
        raise AssertionError("parsed a file that cannot hold a banned import")

    monkeypatch.setattr(ast, "parse", refuse)
    rule = make_rule()
    data = b"import os\nfrom . import sibling\n" * 1000
    assert list(rule.check_file(FileEntry("pkg/m.py"), data)) == []
    assert rule.fix_file("pkg/m.py", data) is None
    assert list(rule.check_file(FileEntry("c.json"), b'{"a": "atomizer"}')) == []


def test_missing_content_gives_no_findings() -> None:
    assert list(make_rule().check_file(FileEntry("m.py"), None)) == []


@pytest.mark.parametrize("path", ["m.py", "c.json", "c.toml", "c.yaml", "setup.cfg", "requirements.txt"])
@settings(max_examples=60)
@given(noise=st.binary(max_size=300), tail=st.binary(max_size=50))
def test_arbitrary_bytes_never_crash(path: str, noise: bytes, tail: bytes) -> None:
    data = noise + b"import optimization_engine\r" + tail + b'"optimization_engine.x"\xff\xfe\x00'
    rule = make_rule(WITH_SUBMODULE)
    findings = list(rule.check_file(FileEntry(path), data))
    assert all(isinstance(f, Finding) and f.line >= 1 for f in findings)
    rule.fix_file(path, data)


def test_deeply_nested_code_falls_back_instead_of_crashing() -> None:
    data = b"import optimization_engine\nx = " + b"-" * 100_000 + b"1\n"
    findings = check("m.py", data)
    assert [(f.line, f.column) for f in findings] == [(1, 8)]


def test_odd_paths_do_not_crash() -> None:
    for path in ["we ird/new\nline/m.py", "ünï/cödé.py", "/abs/optimization_engine/m.py", "a//b.py"]:
        check(path, "from . import x\nimport optimization_engine\n")


# -- fixing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("import optimization_engine\n", "import atomizer as optimization_engine\n"),
        ("import optimization_engine as oe\n", "import atomizer as oe\n"),
        ("import optimization_engine.io as oio\n", "import atomizer.io as oio\n"),
        ("import os, optimization_engine, sys\n", "import os, atomizer as optimization_engine, sys\n"),
        ("from optimization_engine import run\n", "from atomizer import run\n"),
        ("from optimization_engine.cli import (\n    main,\n)\n", "from atomizer.cli import (\n    main,\n)\n"),
        ("from optimization_engine import *\n", "from atomizer import *\n"),
        ("import optimization_engine . io as x\n", "import atomizer.io as x\n"),
        (
            "import importlib\nm = importlib.import_module('optimization_engine.io')\n",
            "import importlib\nm = importlib.import_module('atomizer.io')\n",
        ),
        (
            'import importlib\nm = importlib.import_module(".io", package="optimization_engine")\n',
            'import importlib\nm = importlib.import_module(".io", package="atomizer")\n',
        ),
        ('m = __import__("optimization_engine.io")\n', 'm = __import__("atomizer.io")\n'),
        (
            "x = 1  # keep me\nimport optimization_engine.io as oio  # trailing comment\n",
            "x = 1  # keep me\nimport atomizer.io as oio  # trailing comment\n",
        ),
    ],
)
def test_fix_rewrites_imports(before: str, after: str) -> None:
    findings = check("m.py", before)
    assert findings and all(f.fixable for f in findings)
    fixed = fix("m.py", before)
    assert fixed is not None
    assert fixed.decode() == after
    assert check("m.py", fixed) == []


def test_fix_rewrites_relative_imports_to_the_replacement() -> None:
    before = "from ..solvers import x\nfrom . import core\n"
    assert [f.fixable for f in check("optimization_engine/sub/m.py", before, WITH_SUBMODULE)] == [True, True]
    fixed = fix("optimization_engine/sub/m.py", before, WITH_SUBMODULE)
    assert fixed == b"from atomizer.solve import x\nfrom atomizer.sub import core\n"


@pytest.mark.parametrize(
    ("source", "banned"),
    [
        # binds `optimization_engine` and reaches `.solvers` by attribute: no rewrite keeps both
        ("import optimization_engine.io\noptimization_engine.io.run()\n", SHIPPED),
        # the plain import would rebind a name the dotted import above binds to the old package
        ("import optimization_engine.io\nimport optimization_engine\n", SHIPPED),
        # `optimization_engine.solvers` moves to `atomizer.solve`, so `atomizer` cannot stand in
        ("import optimization_engine\n", WITH_SUBMODULE),
        ("from optimization_engine import solvers, io\n", WITH_SUBMODULE),
        ("from optimization_engine import *\n", WITH_SUBMODULE),
        ("from atomizer import old\n", WITH_SUBMODULE),
        ("import legacy.db as db\n", WITH_SUBMODULE),
        # __import__ returns the top-level package; `atomizer.solve` would break `m.solvers`
        ('m = __import__("optimization_engine.solvers")\n', WITH_SUBMODULE),
        ('m = __import__("optimization_engine.io", fromlist=names)\n', SHIPPED),
        ('import importlib\nimportlib.import_module("optimization_engine" ".io")\n', SHIPPED),
        ('import importlib\nimportlib.import_module("optimization_engine\\x2eio")\n', SHIPPED),
        ('import importlib\nimportlib.import_module(".io", __package__)\n', SHIPPED),
        ('import importlib\nimportlib.import_module("..io", "optimization_engine.sub")\n', SHIPPED),
    ],
)
def test_unsafe_rewrites_are_left_alone_and_marked_not_fixable(source: str, banned: dict[str, str]) -> None:
    path = "optimization_engine/m.py" if "__package__" in source else "m.py"
    findings = check(path, source, banned)
    assert findings
    assert not any(f.fixable for f in findings)
    assert fix(path, source, banned) is None


def test_fixable_findings_are_exactly_those_the_fix_removes() -> None:
    source = (
        "import optimization_engine.io as oio\n"
        "import optimization_engine.solvers\n"
        "from optimization_engine import solvers, io\n"
        "from optimization_engine.cli import main\n"
        "import legacy\n"
        'm = __import__("optimization_engine.solvers", fromlist=["run"])\n'
        'patch = "optimization_engine.io.read"\n'
    )
    before = check("m.py", source, WITH_SUBMODULE)
    fixed = fix("m.py", source, WITH_SUBMODULE)
    assert fixed is not None
    after = check("m.py", fixed, WITH_SUBMODULE)
    assert [(f.line, f.message) for f in after] == [(f.line, f.message) for f in before if not f.fixable]
    assert {f.line for f in before if f.fixable} == {1, 4, 6}


def test_fix_keeps_crlf_bom_and_every_other_byte() -> None:
    source = (
        b"\xef\xbb\xbf# -*- coding: utf-8 -*-\r\n"
        b'"""Module docs: optimization_engine."""\r\n'
        b"import optimization_engine.io as oio\r\n"
        b"\r\n"
        b"x = 'caf\xc3\xa9'  # optimization_engine\r\n"
        b"y = 2\n"
        b"import optimization_engine\r\n"
        b"z = optimization_engine.io"
    )
    fixed = fix("m.py", source)
    assert fixed is not None
    expected = source.replace(b"import optimization_engine.io as oio", b"import atomizer.io as oio").replace(
        b"import optimization_engine\r\n", b"import atomizer as optimization_engine\r\n"
    )
    assert fixed == expected
    assert fixed.startswith(b"\xef\xbb\xbf")
    compile(fixed, "m.py", "exec")
    assert check("m.py", fixed) == []


def test_fix_keeps_a_declared_encoding() -> None:
    source = "# coding: latin-1\nx = 'é'; import optimization_engine as oe\n".encode("latin-1")
    fixed = fix("m.py", source)
    assert fixed == "# coding: latin-1\nx = 'é'; import atomizer as oe\n".encode("latin-1")


def test_fix_returns_none_when_there_is_nothing_to_fix() -> None:
    assert fix("m.py", "import os\n") is None
    assert fix("m.py", "# optimization_engine\n") is None
    assert fix("c.json", '{"m": "optimization_engine"}') is None
    assert fix("m.py", b"import optimization_engine\x00\n") is None


def test_fix_leaves_suppressed_lines_alone() -> None:
    source = (
        "import optimization_engine.io as a  # guardian: ignore[forbidden-import]\n"
        "import optimization_engine.io as b  # guardian: ignore[windows-path]\n"
    )
    assert [f.fixable for f in check("m.py", source)] == [False, True]
    fixed = fix("m.py", source)
    assert fixed is not None
    assert fixed.decode().splitlines() == [
        "import optimization_engine.io as a  # guardian: ignore[forbidden-import]",
        "import atomizer.io as b  # guardian: ignore[windows-path]",
    ]


def test_fixed_code_keeps_working_names() -> None:
    source = "import optimization_engine\n\ndef go():\n    return optimization_engine.solve()\n"
    fixed = fix("m.py", source)
    assert fixed is not None
    tree = ast.parse(fixed)
    [imp] = [node for node in tree.body if isinstance(node, ast.Import)]
    assert [(a.name, a.asname) for a in imp.names] == [("atomizer", "optimization_engine")]
    assert fixed.decode().endswith("    return optimization_engine.solve()\n")


IMPORT_LINES = [
    "import optimization_engine",
    "import optimization_engine.io as oio",
    "import optimization_engine.solvers",
    "from optimization_engine import run",
    "from optimization_engine.cli import main as cli_main",
    "import os, optimization_engine as oe",
    "import legacy.db as db",
    "import atomizer",
]
OTHER_LINES = [
    "x = 1",
    "# import optimization_engine",
    'doc = "optimization_engine.io"',
    "name = 'optimization_engine'",
    "print('import optimization_engine as oe')",
    "y = optimization_engine_v2 = 3",
    "",
    "def f(): return 'from optimization_engine import run'",
    "class C: pass",
]


@settings(max_examples=150)
@given(
    lines=st.lists(
        st.one_of(
            st.sampled_from(IMPORT_LINES).map(lambda line: (True, line)),
            st.sampled_from(OTHER_LINES).map(lambda line: (False, line)),
            st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30).map(
                lambda text: (False, "# " + text)
            ),
        ),
        max_size=25,
    ),
    endings=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=25, max_size=25),
)
def test_fix_never_changes_lines_without_imports(lines: list[tuple[bool, str]], endings: list[str]) -> None:
    source = "".join(line + ending for (_, line), ending in zip(lines, endings, strict=False)).encode()
    fixed = fix("pkg/m.py", source, {**SHIPPED, "legacy": "gone"})
    if fixed is None:
        return
    old_lines = source.splitlines(keepends=True)
    new_lines = fixed.splitlines(keepends=True)
    assert len(old_lines) == len(new_lines)
    for (is_import, _), old, new in zip(lines, old_lines, new_lines, strict=True):
        if not is_import:
            assert old == new
        assert old.endswith(b"\r\n") == new.endswith(b"\r\n")
    compile(fixed, "m.py", "exec")
    remaining = check("pkg/m.py", fixed, {**SHIPPED, "legacy": "gone"})
    assert not any(f.fixable for f in remaining)


def test_python_s_own_warnings_about_a_file_never_reach_the_terminal(clean_repo: Repo) -> None:
    """An invalid escape sequence makes the parser warn (a SyntaxWarning,
    shown by default, from Python 3.12 on; shown here with
    PYTHONWARNINGS=default): ``check`` and ``fix`` show findings only."""
    repo = clean_repo
    repo.write("src/job.py", 'PATTERN = "\\d+\\:"\nfrom optimization_engine.core import run\n')
    repo.commit("old import")
    shown = {"PYTHONWARNINGS": "default"}
    result = repo.guardian("check", "--all-files", env=shown)
    assert result.code == 1
    assert "src/job.py:2:6: forbidden-import" in result.out
    assert "Warning" not in result.err and "escape" not in result.err, result.err
    fixed = repo.guardian("fix", env=shown)
    assert "Warning" not in fixed.err and "escape" not in fixed.err, fixed.err
    assert (repo.path / "src/job.py").read_text() == 'PATTERN = "\\d+\\:"\nfrom atomizer.core import run\n'
