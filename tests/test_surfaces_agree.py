"""Every surface reports the same findings for the same tree.

One repository holds every kind of finding the shipped rules make. The
command line's whole-tree check, a history scan of a history that is just
that tree, and the App evaluating a pull request that adds it must agree on
each finding's rule, path, message and line (where the surface has lines).
A rule, message or filter changed in one surface alone turns this red.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.fake_github import AppEnv, Json, pull_request_event

POLICY = b"""\
[rules.dir-budget.budgets]
"tools/" = "64 KiB"
"""

# Deterministic bytes that git does not take for text and do not compress away.
_NOISE = bytes((i * 7919 + (i >> 8) * 131) % 251 for i in range(40_000))

TREE: dict[str, bytes] = {
    ".guardian.toml": POLICY,
    # Missing *.zip, *.tar.gz and the solver patterns; a nested negation.
    ".gitignore": b"*.bak\n*.backup\n*.sqlite\n*.sqlite3\n*.whl\n",
    "data/.gitignore": b"!*.bak\n",
    "README.md": b"# atomizer\n",
    # A blob over the 1 MiB limit.
    "results/run_042.op2": _NOISE * 30,
    # A tracked database that a required pattern matches.
    "db/cache.sqlite": b"SQLite format 3\x00" + b"\x01" * 100,
    # Static, dynamic and relative imports of the banned package.
    "src/solver.py": (
        b"import optimization_engine.core as core\n"
        b"from optimization_engine.solvers import nastran\n"
        b"import importlib\n"
        b"plugin = importlib.import_module('optimization_engine.plugins')\n"
        b"legacy = __import__('optimization_engine')\n"
    ),
    "src/py2_journal.py": b"print 'optimization_engine'\nimport optimization_engine.journal\n",
    # A dotted reference in configuration.
    "pyproject.toml": b'[project]\nname = "atomizer"\n[project.scripts]\noptimize = "optimization_engine.cli:main"\n',
    "conf/plugins.json": b'{"entry": "optimization_engine.plugins.fem"}\n',
    # Windows paths in code and in text.
    "src/paths.py": b'RESULTS = "C:\\\\Users\\\\me\\\\results"\nSHARE = r"\\\\fileserver\\models"\n',
    "docs/setup.txt": b"Install into D:\\solvers\\nastran and share \\\\srv\\builds\n",
    # A directory over its budget: three 40 KB files.
    "tools/a.bin": _NOISE[:40_000],
    "tools/b.bin": _NOISE[1:40_000] + b"b",
    "tools/c.bin": _NOISE[2:40_000] + b"cc",
}

Key = tuple[str, str, str, int]


def _keys(items: list[Json]) -> set[Key]:
    return {(str(f["rule"]), str(f["path"]), str(f["message"]), int(f.get("line") or 0)) for f in items}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    from tests.conftest import GIT_ENV

    saved = {key: os.environ.get(key) for key in GIT_ENV}
    os.environ.update(GIT_ENV)
    try:
        repo = Repo(tmp_path_factory.mktemp("surfaces") / "repo")
        for path, data in TREE.items():
            repo.write(path, data)
        repo.git("add", "--force", "--", *TREE)  # the database was tracked before *.sqlite was ignored
        repo.commit("the whole tree", all=False)
        yield repo
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check(repo: Repo) -> set[Key]:
    result = repo.guardian("check", "--all-files", "--format", "json")
    assert result.code == 1, result
    return _keys(json.loads(result.out)["findings"])


def _history(repo: Repo) -> tuple[set[Key], list[Json]]:
    result = repo.guardian("history", "--format", "json", "--quiet")
    assert result.code == 1, result
    doc = json.loads(result.out)
    # A finding about a blob stored under several paths is one finding with
    # every path: the other surfaces report it once per path.
    expanded: list[Json] = []
    for f in doc["findings"]:
        expanded.extend({**f, "path": path} for path in f["paths"])
    return _keys(expanded), doc["not_run"]


def test_check_reports_every_kind_of_finding(local: Repo) -> None:
    rules = {rule for rule, _path, _message, _line in _check(local)}
    assert rules == {"max-file-size", "gitignore-required", "forbidden-import", "windows-path", "dir-budget"}


def test_history_of_that_tree_reports_what_check_reports(local: Repo) -> None:
    check = _check(local)
    history, not_run = _history(local)
    # History has no working state: directory budgets are the current tree's.
    assert [item["rule"] for item in not_run] == ["dir-budget"]
    assert history == {key for key in check if key[0] != "dir-budget"}


def test_the_app_reports_what_check_reports(local: Repo, tmp_path: Path) -> None:
    check = _check(local)
    with AppEnv(str(tmp_path / "app.sqlite3"), max_annotations=1000) as env:
        repo, _base, head = env.repo_with_pr(
            {path: data for path, data in TREE.items() if path != ".guardian.toml"},
            # The pull request brings the tree's .gitignore: its gaps are the
            # change's (the App does not fail a pull request for what stood before it).
            base_files={".guardian.toml": POLICY},
        )
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
        run = env.wait_completed(repo, head)
        with env.fake.lock:
            annotations = list(run["annotations"])
    app = {
        (str(a["title"]).removeprefix("guardian "), str(a["path"]), str(a["message"]), int(a["start_line"]))
        for a in annotations
    }
    # An annotation needs a line: a whole-file finding is shown at line 1.
    assert app == {(rule, path, message, line or 1) for rule, path, message, line in check}
