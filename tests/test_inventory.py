"""`guardian inventory`, fixes that never write a broken import, and the
compatibility shim: real repositories in temporary directories, the real
command line, the shim imported in a fresh interpreter."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import GOOD_GITIGNORE, Repo, run_guardian

POLICY = """\
[rules.forbidden-import.banned]
optimization_engine = "atomizer"
"optimization_engine.study" = "atomizer.study"
"optimization_engine.future" = "skip: research agents, not migrated"
"optimization_engine.plugins" = "removed; use atomizer.extensions"
"""

#: The old package: nested subpackages mapped explicitly, by the catch-all, skipped, by a message.
OLD = {
    "optimization_engine/__init__.py": "VERSION = 1\n",
    "optimization_engine/cli.py": "def main():\n    pass\n",
    "optimization_engine/core/__init__.py": "",
    "optimization_engine/core/runner.py": "def go():\n    return 42\n\n",
    "optimization_engine/study/__init__.py": "def run():\n    pass\n",
    "optimization_engine/study/runner.py": "a = 1\nb = 2\nc = 3",
    "optimization_engine/study/deep/trial.py": "t = 1\n",
    "optimization_engine/future/__init__.py": "",
    # Python 2: does not parse, still listed and counted.
    "optimization_engine/future/agents.py": "print 'agent'\nprint 'two'\n",
    "optimization_engine/plugins/fem.py": "x = 1\n",
}

#: The new package, partly migrated.
NEW = {
    "atomizer/__init__.py": "",
    "atomizer/core/__init__.py": "",
    "atomizer/core/runner.py": "def go():\n    return 42\n",
    "atomizer/study/__init__.py": "def run():\n    return 'ran'\n",
}


def _make(repo: Repo, files: dict[str, str], policy: str | None = POLICY) -> Repo:
    repo.write(".gitignore", GOOD_GITIGNORE)
    if policy is not None:
        repo.write(".guardian.toml", policy)
    for path, text in files.items():
        repo.write(path, text)
    repo.commit("tree")
    return repo


@pytest.fixture
def old(repo: Repo) -> Repo:
    return _make(repo, OLD)


@pytest.fixture
def new(tmp_path: Path) -> Repo:
    # The new repository keeps its package under src/.
    return _make(Repo(tmp_path / "atomizer-repo"), {f"src/{p}": t for p, t in NEW.items()}, policy=None)


def _json(repo: Repo, *args: str) -> tuple[int, dict[str, object]]:
    result = repo.guardian("inventory", *args, "--format", "json")
    assert result.code in (0, 1), result
    return result.code, json.loads(result.out)


def _rows(report: dict[str, object]) -> dict[str, tuple[object, ...]]:
    modules = report["modules"]
    assert isinstance(modules, list)
    return {
        m["module"]: (m["path"], m["decision"], m["destination"], m["reason"], m["exists"], m["lines"]) for m in modules
    }


# -- the inventory ---------------------------------------------------------------------------


def test_every_module_has_a_row_with_its_decision_and_whether_the_target_has_it(old: Repo, new: Repo) -> None:
    code, report = _json(old, "optimization_engine", "--target", str(new.path))
    skip = "research agents, not migrated"
    removed = "removed; use atomizer.extensions"
    assert _rows(report) == {
        "optimization_engine": ("optimization_engine/__init__.py", "migrate", "atomizer", None, True, 1),
        "optimization_engine.cli": ("optimization_engine/cli.py", "migrate", "atomizer.cli", None, False, 2),
        "optimization_engine.core": ("optimization_engine/core/__init__.py", "migrate", "atomizer.core", None, True, 0),
        "optimization_engine.core.runner": (
            "optimization_engine/core/runner.py",
            "migrate",
            "atomizer.core.runner",
            None,
            True,
            3,
        ),
        "optimization_engine.future": ("optimization_engine/future/__init__.py", "skip", None, skip, None, 0),
        "optimization_engine.future.agents": ("optimization_engine/future/agents.py", "skip", None, skip, None, 2),
        "optimization_engine.plugins.fem": ("optimization_engine/plugins/fem.py", "skip", None, removed, None, 1),
        "optimization_engine.study": (
            "optimization_engine/study/__init__.py",
            "migrate",
            "atomizer.study",
            None,
            True,
            2,
        ),
        "optimization_engine.study.deep.trial": (
            "optimization_engine/study/deep/trial.py",
            "migrate",
            "atomizer.study.deep.trial",
            None,
            False,
            1,
        ),
        "optimization_engine.study.runner": (
            "optimization_engine/study/runner.py",
            "migrate",
            "atomizer.study.runner",
            None,
            False,
            3,
        ),
    }
    totals = report["totals"]
    assert isinstance(totals, dict)

    def t(modules: int, lines: int, decided: int, skipped: int, migrated: int, missing: int) -> dict[str, int]:
        undecided = modules - decided
        return dict(modules=modules, lines=lines, decided=decided, skipped=skipped, undecided=undecided,
                    migrated=migrated, missing=missing)  # fmt: skip

    assert totals["subpackages"] == {
        "optimization_engine": t(2, 3, 2, 0, 1, 1),
        "optimization_engine.core": t(2, 3, 2, 0, 2, 0),
        "optimization_engine.future": t(2, 2, 2, 2, 0, 0),
        "optimization_engine.plugins": t(1, 1, 1, 1, 0, 0),
        "optimization_engine.study": t(3, 6, 3, 0, 1, 2),
    }
    assert totals["overall"] == t(10, 15, 10, 3, 4, 3)
    # Three destinations the target does not have yet.
    assert code == 1


def test_without_a_target_exists_is_null_and_a_decided_package_passes(old: Repo) -> None:
    code, report = _json(old, "optimization_engine")
    assert code == 0
    assert {row[4] for row in _rows(report).values()} == {None}
    assert isinstance(report["totals"], dict)
    overall = report["totals"]["overall"]
    assert overall["migrated"] is None and overall["missing"] is None and overall["decided"] == 10


def test_strict_asks_for_an_entry_below_the_catch_all(old: Repo) -> None:
    code, report = _json(old, "optimization_engine", "--strict")
    rows = _rows(report)
    undecided = {module for module, row in rows.items() if row[1] == "undecided"}
    # The package itself has its own entry; core and cli only the catch-all.
    assert undecided == {"optimization_engine.cli", "optimization_engine.core", "optimization_engine.core.runner"}
    assert rows["optimization_engine.cli"][2] is None
    reason = rows["optimization_engine.cli"][3]
    assert isinstance(reason, str) and "only the catch-all `optimization_engine`" in reason and "atomizer.cli" in reason
    assert rows["optimization_engine.study.deep.trial"][1] == "migrate"
    assert code == 1
    # An entry of their own decides them.
    old.write(
        ".guardian.toml",
        POLICY + '"optimization_engine.core" = "atomizer.core"\n"optimization_engine.cli" = "skip: gone"\n',
    )
    assert old.guardian("inventory", "optimization_engine", "--strict").code == 0


def test_the_same_checkout_as_target_and_exit_zero_when_everything_is_there(repo: Repo) -> None:
    files = {
        "optimization_engine/__init__.py": "",
        "optimization_engine/core/runner.py": "x = 1\n",
        **NEW,
    }
    _make(repo, files)
    result = repo.guardian("inventory", "optimization_engine", "--target", ".")
    assert result.code == 0, result
    # Deleting the destination makes the same inventory fail.
    (repo.path / "atomizer/core/runner.py").unlink()
    again = repo.guardian("inventory", "optimization_engine", "--target", ".")
    assert again.code == 1 and "atomizer.core.runner" in again.out


def test_modules_no_entry_maps_are_undecided_and_fail(repo: Repo) -> None:
    _make(repo, {"optimization_engine/__init__.py": "", "optimization_engine/a.py": ""}, policy='extend = "none"\n')
    code, report = _json(repo, "optimization_engine")
    assert code == 1
    assert {row[1] for row in _rows(report).values()} == {"undecided"}
    assert {row[3] for row in _rows(report).values()} == {"no entry of the banned table maps it"}


def test_text_report_lists_rows_and_totals_and_escapes_terminal_controls(old: Repo, new: Repo) -> None:
    old.write("optimization_engine/evil\x1b[2J.py", "x = 1\n")
    old.commit()
    result = old.guardian("inventory", "optimization_engine", "--target", str(new.path))
    assert result.code == 1
    assert "\x1b" not in result.out and "evil\\x1b[2J.py" in result.out
    lines = result.out.splitlines()
    assert any(
        line.split() == ["optimization_engine/study/runner.py", "optimization_engine.study.runner", "migrate",
                         "atomizer.study.runner", "no"]
        for line in lines
    )  # fmt: skip
    assert any(line.split() == ["optimization_engine.study", "3", "6", "3", "0", "1"] for line in lines)
    assert any(line.split() == ["overall", "11", "16", "11", "3", "4"] for line in lines)
    assert "3 skipped" in result.out and "4 mapped to a module the target does not have yet" in result.out


def test_non_utf8_names_and_unparsable_modules_never_crash(old: Repo) -> None:
    name = b"optimization_engine/caf\xe9.py"
    (old.path / os.fsdecode(name)).write_bytes(b"x = (\n")  # does not parse either
    old.commit()
    for fmt in ("text", "markdown", "csv", "json"):
        result = old.guardian("inventory", "optimization_engine", "--format", fmt)
        assert result.code == 0 and "Traceback" not in result.err, result
    rows = _rows(json.loads(old.guardian("inventory", "optimization_engine", "--format", "json").out))
    assert rows["optimization_engine.caf\udce9"][1:] == ("migrate", "atomizer.caf\udce9", None, None, 1)


def _cells(markdown: str) -> list[list[tuple[str, set[str]]]]:
    """The table rows GitHub renders: each cell's text and the tags inside it."""
    import html.parser

    import cmarkgfm

    rows: list[list[tuple[str, set[str]]]] = []

    class Walker(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.cell: list[str] | None = None
            self.tags: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "tr":
                rows.append([])
            elif tag in ("td", "th"):
                self.cell, self.tags = [], set()
            elif self.cell is not None:
                self.tags.add(tag)

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th") and self.cell is not None:
                rows[-1].append(("".join(self.cell), self.tags))
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    walker = Walker()
    walker.feed(cmarkgfm.github_flavored_markdown_to_html(markdown))
    return rows


def test_markdown_paths_are_inert_code_spans_whatever_they_hold(repo: Repo) -> None:
    hostile = [
        "optimization_engine/a|b.py",
        "optimization_engine/tick`s``.py",
        "optimization_engine/`lead.py",
        "optimization_engine/back\\|slash.py",
        "optimization_engine/<img src=x onerror=alert(1)>.py",
        "optimization_engine/[link](http:x.org) @octocat *em* <!-- c -->.py",
    ]
    _make(repo, {"optimization_engine/__init__.py": "", **dict.fromkeys(hostile, "x = 1\n")})
    result = repo.guardian("inventory", "optimization_engine", "--format", "markdown")
    assert result.code == 0, result
    tables = _cells(result.out)
    firsts = [row[0][0] for row in tables]
    # The module table: between its header and the totals' header.
    modules = tables[firsts.index("old path") + 1 : firsts.index("subpackage")]
    assert len(modules) == 1 + len(hostile)
    shown = {row[0][0] for row in modules}
    for path in hostile:
        # Shown as written (a backslash doubled, as escapes are), in a code span, nothing live.
        assert path.replace("\\", "\\\\") in shown
    for row in modules:
        for text, tags in (row[0], row[1], row[3]):
            assert tags <= {"code"}, (text, tags)
            assert "code" in tags or not text
        assert row[2][0] == "migrate"


def test_csv_is_valid_one_row_per_module_and_safe_for_spreadsheets(repo: Repo) -> None:
    policy = POLICY + '"optimization_engine.evil" = "skip: =HYPERLINK(\\"http://x\\")"\n'
    files = {
        "optimization_engine/__init__.py": "",
        'optimization_engine/comma, "quoted".py': "x = 1\n",
        "optimization_engine/evil/__init__.py": "",
    }
    _make(repo, files, policy=policy)
    result = repo.guardian("inventory", "optimization_engine", "--format", "csv")
    assert result.code == 0, result
    table = list(csv.reader(io.StringIO(result.out, newline="")))
    assert table[0] == ["path", "module", "decision", "destination", "reason", "exists", "lines", "subpackage"]
    assert table[1:] == [
        ['optimization_engine/__init__.py', "optimization_engine", "migrate", "atomizer", "", "", "0",
         "optimization_engine"],
        ['optimization_engine/comma, "quoted".py', 'optimization_engine.comma, "quoted"', "migrate",
         'atomizer.comma, "quoted"', "", "", "1", "optimization_engine"],
        ["optimization_engine/evil/__init__.py", "optimization_engine.evil", "skip", "",
         "'=HYPERLINK(\"http://x\")", "", "0", "optimization_engine.evil"],
    ]  # fmt: skip


def test_output_file_gets_the_report_and_stderr_the_verdict(old: Repo) -> None:
    result = old.guardian("inventory", "optimization_engine", "--format", "markdown", "--output", "inventory.md")
    assert result.code == 0 and result.out == ""
    assert (old.path / "inventory.md").read_text().startswith("### Migration inventory of `optimization_engine/`")
    assert "10 modules" in result.err and "inventory.md" in result.err


@pytest.mark.parametrize(
    ("setup", "args", "complaint"),
    [
        (None, ["missing"], "missing: no such directory"),
        ("file", ["afile.py"], "afile.py: is not a directory"),
        ("plain", ["plain"], "is not a Python package: git tracks no plain/__init__.py"),
        ("untracked", ["loose"], "git tracks no loose/__init__.py"),
        ("dash", ["my-pkg"], "`my-pkg` is not a Python package name"),
        (None, ["optimization_engine", "--target", "nowhere"], "--target nowhere: no such directory"),
        ("off", ["optimization_engine"], "the forbidden-import rule is disabled"),
        ("badskip", ["optimization_engine"], '"skip:" needs the reason after it'),
        (None, ["optimization_engine", "--format", "xml"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(old: Repo, setup: str | None, args: list[str], complaint: str) -> None:
    if setup == "file":
        old.write("afile.py", "")
    elif setup == "plain":
        old.write("plain/x.py", "")
        old.commit()
    elif setup == "untracked":
        old.write("loose/__init__.py", "")
    elif setup == "dash":
        old.write("my-pkg/__init__.py", "")
        old.commit()
    elif setup == "off":
        old.write(".guardian.toml", POLICY + "[rules.forbidden-import]\nenabled = false\n")
    elif setup == "badskip":
        old.write(".guardian.toml", POLICY + '"optimization_engine.x" = "skip:  "\n')
    result = old.guardian("inventory", *args)
    assert result.code == 2, result
    assert complaint in result.err and result.err.count("\n") == 1 and result.out == "", result


def test_outside_a_repository_is_exit_2(tmp_path: Path) -> None:
    package = tmp_path / "loose" / "optimization_engine"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    result = run_guardian("inventory", "optimization_engine", cwd=package.parent)
    assert result.code == 2 and "not inside a git work tree" in result.err, result


def test_ten_thousand_modules_in_seconds_with_a_fixed_number_of_git_processes(repo: Repo, tmp_path: Path) -> None:
    _make(repo, {"optimization_engine/__init__.py": ""})
    for sub in range(100):
        directory = repo.path / "optimization_engine" / f"sub{sub}"
        directory.mkdir()
        (directory / "__init__.py").write_text("")
        for module in range(99):
            (directory / f"m{module}.py").write_text("x = 1\ny = 2\n")
    repo.commit("many")
    trace = tmp_path / "trace"
    started = time.perf_counter()
    result = repo.guardian(
        "inventory", "optimization_engine", "--target", ".", "--format", "json", env={"GIT_TRACE": str(trace)}
    )
    elapsed = time.perf_counter() - started
    assert result.code == 1, result.err  # no atomizer here: every destination is missing
    report = json.loads(result.out)
    assert report["totals"]["overall"]["modules"] == 10_001
    assert report["totals"]["overall"]["lines"] == 100 * 99 * 2
    assert len(report["totals"]["subpackages"]) == 101
    started_git = [line for line in trace.read_text().splitlines() if "trace: built-in: git" in line]
    assert len(started_git) <= 6, started_git
    assert elapsed < 20, elapsed


# -- skips in findings ------------------------------------------------------------------------


def test_skip_entries_read_as_a_decision_in_findings_and_explain(old: Repo) -> None:
    old.write("use.py", "from optimization_engine.future.agents import plan\n")
    old.commit()
    result = old.guardian("check", "use.py", "--select", "forbidden-import")
    assert result.code == 1
    assert (
        "use.py:1:6: forbidden-import import of `optimization_engine.future.agents` is forbidden; "
        "`optimization_engine.future` is not migrated: research agents, not migrated\n"
    ) in result.out
    assert "fixable" not in result.out
    explained = old.guardian("explain", "forbidden-import").out
    assert '"optimization_engine.future" = "skip: research agents, not migrated"' in explained
    assert '"skip: REASON"' in explained


# -- fixes that never break an import ---------------------------------------------------------------

MIXED = """\
import optimization_engine.core.runner as runner
from optimization_engine.study import run
from optimization_engine.study import runner as study_runner
import optimization_engine.cli as cli
import importlib
core = importlib.import_module("optimization_engine.core")
from optimization_engine.study import missing_name
"""


def test_fix_rewrites_only_imports_whose_destination_exists(repo: Repo) -> None:
    _make(repo, {**OLD, **NEW, "app/use.py": MIXED})
    result = repo.guardian("fix", "--select", "forbidden-import")
    assert "fixed app/use.py (forbidden-import)" in result.out, result
    assert (repo.path / "app/use.py").read_text() == (
        "import atomizer.core.runner as runner\n"
        "from atomizer.study import run\n"
        "from optimization_engine.study import runner as study_runner\n"
        "import optimization_engine.cli as cli\n"
        "import importlib\n"
        'core = importlib.import_module("atomizer.core")\n'
        "from optimization_engine.study import missing_name\n"
    )
    # What is left says why.
    assert (
        "app/use.py:3:6: forbidden-import import of `optimization_engine.study` is forbidden; use `atomizer.study` "
        "(`atomizer.study.runner` does not exist yet)"
    ) in result.out
    assert (
        "app/use.py:4:8: forbidden-import import of `optimization_engine.cli` is forbidden; use `atomizer.cli` "
        "(`atomizer.cli` does not exist yet)"
    ) in result.out
    assert "(`atomizer.study.missing_name` does not exist yet)" in result.out
    assert result.code == 1
    # The rewritten imports import for real.
    rewritten = [line for line in (repo.path / "app/use.py").read_text().splitlines() if "atomizer" in line]
    program = "\n".join(["import importlib", *rewritten, "print(runner.go(), run(), core.__name__)"])
    ran = subprocess.run([sys.executable, "-c", program], cwd=repo.path, capture_output=True, text=True)
    assert ran.stdout == "42 ran atomizer.core\n", ran.stderr
    # Once the module exists, fix rewrites it too.
    repo.write("atomizer/study/runner.py", "")
    again = repo.guardian("fix", "--select", "forbidden-import")
    assert "from atomizer.study import runner as study_runner\n" in (repo.path / "app/use.py").read_text(), again


def test_check_reports_the_missing_destination_as_a_distinct_unfixable_message(repo: Repo) -> None:
    _make(repo, {**NEW, "app/use.py": "import optimization_engine.cli as cli\nimport optimization_engine.core as c\n"})
    result = repo.guardian("check", "--all-files", "--select", "forbidden-import", "--format", "json")
    findings = json.loads(result.out)["findings"]
    assert [(f["line"], f["message"], f["fixable"]) for f in findings] == [
        (1, "import of `optimization_engine.cli` is forbidden; use `atomizer.cli` (`atomizer.cli` does not exist yet)",
         False),
        (2, "import of `optimization_engine.core` is forbidden; use `atomizer.core`", True),
    ]  # fmt: skip


def test_a_new_package_outside_the_checkout_is_taken_as_it_is(repo: Repo) -> None:
    _make(repo, {"app/use.py": "import optimization_engine.cli as cli\n"})
    result = repo.guardian("fix", "--select", "forbidden-import")
    assert (repo.path / "app/use.py").read_text() == "import atomizer.cli as cli\n", result


# -- the compatibility shim -----------------------------------------------------------------------------

PROBE = """\
import json, sys, warnings
out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import optimization_engine.core.runner as r
    import atomizer.core.runner
    out["same"] = r is atomizer.core.runner
    out["go"] = r.go()
    out["spec"] = r.__spec__.name
    import optimization_engine
    out["top_is_new"] = optimization_engine is sys.modules["atomizer"]
    from optimization_engine.study import run
    out["run"] = run()
    import optimization_engine.core.runner
out["warnings"] = [(w.category.__name__, str(w.message), w.filename.rsplit("/", 1)[-1], w.lineno) for w in caught]
for name in ("optimization_engine.future.agents", "optimization_engine.plugins.fem"):
    try:
        __import__(name)
    except ImportError as exc:
        out[name] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def test_shim_serves_submodules_warns_once_each_and_refuses_skips(repo: Repo) -> None:
    _make(repo, {**OLD, **NEW})
    repo.git("rm", "-r", "-q", "optimization_engine")
    result = repo.guardian("fix", "--write-shim", "optimization_engine")
    assert "wrote optimization_engine/__init__.py: the old package as a compatibility shim" in result.out, result
    repo.write("probe.py", PROBE)
    probe = subprocess.run([sys.executable, "probe.py"], cwd=repo.path, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    out = json.loads(probe.stdout)
    assert out["same"] and out["go"] == 42 and out["spec"] == "atomizer.core.runner"
    assert out["top_is_new"] and out["run"] == "ran"
    deprecated = "`{0}` is deprecated: it is now `{1}`; import `{1}` instead"
    # One warning per old module imported, naming the new name, pointing at the importing line.
    assert out["warnings"] == [
        ["DeprecationWarning", deprecated.format("optimization_engine.core.runner", "atomizer.core.runner"),
         "probe.py", 5],
        ["DeprecationWarning", deprecated.format("optimization_engine.study", "atomizer.study"), "probe.py", 12],
    ]  # fmt: skip
    # The package that is not migrated is met first, and named.
    assert out["optimization_engine.future.agents"] == [
        "ModuleNotFoundError",
        "`optimization_engine.future` is not migrated: research agents, not migrated",
    ]
    assert out["optimization_engine.plugins.fem"][1].endswith("not migrated: removed; use atomizer.extensions")
    # The shipped policy's exemption covers the shim.
    (repo.path / "probe.py").unlink()
    repo.commit("shim")
    check = repo.guardian("check", "--all-files")
    assert check.code == 0, check


def test_shim_of_a_top_level_skip_still_serves_mapped_submodules(repo: Repo) -> None:
    policy = '[rules.forbidden-import.banned]\nlegacy = "skip: gone"\n"legacy.io" = "atomizer.io"\n'
    _make(repo, {"atomizer/__init__.py": "", "atomizer/io.py": "X = 1\n"}, policy=policy)
    repo.guardian("fix", "--write-shim", "legacy")
    assert (repo.path / "legacy/__init__.py").read_text().startswith("# Compatibility shim written by")
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "import legacy.io; print(legacy.io.X)\n"
        "try:\n    import legacy.other\nexcept ImportError as e:\n    print(e)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=repo.path, capture_output=True, text=True)
    assert run.stdout == "1\n`legacy.other` is inside `legacy`, which is not migrated: gone\n", run.stderr
    direct = subprocess.run([sys.executable, "-c", "import legacy"], cwd=repo.path, capture_output=True, text=True)
    assert direct.returncode == 1 and "ImportError: `legacy` is not migrated: gone" in direct.stderr


def test_shim_never_replaces_a_real_package_but_rewrites_its_own(old: Repo) -> None:
    before = (old.path / "optimization_engine/__init__.py").read_bytes()
    refused = old.guardian("fix", "--write-shim", "optimization_engine")
    assert refused.code == 2 and "is not a shim Guardian wrote" in refused.err, refused
    assert (old.path / "optimization_engine/__init__.py").read_bytes() == before
    assert old.guardian("fix", "--write-shim", "compat/optimization_engine").code in (0, 1)
    first = (old.path / "compat/optimization_engine/__init__.py").read_text()
    old.write(".guardian.toml", POLICY + '"optimization_engine.cli" = "atomizer.commands"\n')
    assert old.guardian("fix", "--write-shim", "compat/optimization_engine").code in (0, 1)
    second = (old.path / "compat/optimization_engine/__init__.py").read_text()
    assert "'optimization_engine.cli': 'atomizer.commands'" in second and second != first
    compile(second, "shim", "exec")
    nothing = old.guardian("fix", "--write-shim", "compat/unrelated")
    assert nothing.code == 2 and "no entry of the forbidden-import `banned` table maps `unrelated`" in nothing.err
