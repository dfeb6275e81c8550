"""Reports other CI systems read: JUnit XML (Jenkins, GitLab, Azure), GitLab
Code Quality JSON, and SARIF as GitHub code scanning places it (checked by
Microsoft's SARIF multitool with its GitHub rules where it is installed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from junitparser import Failure, JUnitXml

from tests.conftest import ROOT, Repo

ESC = "\x1b"


@pytest.fixture
def dirty(repo: Repo) -> Repo:
    repo.write(".gitignore", "*.bak\n")
    repo.write(".guardian.toml", '[rules.windows-path]\nseverity = "warning"\n')
    repo.write("src/a.py", "import optimization_engine.solvers\nimport optimization_engine.solvers\n")
    repo.write("notes.txt", f"see C:\\tools\\{ESC}[2Jx\n")
    repo.write("big.bin", b"\0" * (2 * 1024 * 1024))
    repo.commit("dirty")
    return repo


def _check(repo: Repo, fmt: str, *args: str) -> str:
    result = repo.guardian("check", "--all-files", "--format", fmt, *args)
    assert result.code in (0, 1), result
    return result.out


def _history(repo: Repo, fmt: str) -> str:
    result = repo.guardian("history", "--quiet", "--format", fmt)
    assert result.code in (0, 1), result
    return result.out


# -- JUnit ---------------------------------------------------------------------------------
def _junit(text: str, tmp_path: Path) -> JUnitXml:
    path = tmp_path / "report.xml"
    path.write_text(text)
    return JUnitXml.fromfile(str(path))


def test_junit_has_a_failing_case_per_error_and_a_passing_one_per_warning(dirty: Repo, tmp_path: Path) -> None:
    xml = _junit(_check(dirty, "junit"), tmp_path)
    cases = {case.name: case for suite in xml for case in suite}
    imports = [name for name in cases if name.startswith("src/a.py:")]
    assert sorted(imports)[:2] == [
        "src/a.py:1:8: import of `optimization_engine.solvers` is forbidden; use `atomizer.solvers`",
        "src/a.py:2:8: import of `optimization_engine.solvers` is forbidden; use `atomizer.solvers`",
    ]
    failure = cases[imports[0]].result[0]
    assert isinstance(failure, Failure) and failure.type == "forbidden-import"
    assert "src/a.py:1:8: forbidden-import import of" in (failure.text or "")
    assert cases[imports[0]].classname == "guardian.forbidden-import"
    warning = next(case for name, case in cases.items() if name.startswith("notes.txt:"))
    assert warning.is_passed and "warning:" in (warning.system_out or "")
    # The escape sequence from the file is text in the report (XML cannot hold it raw).
    assert "\\x1b" in warning.name and ESC not in warning.name
    totals = {suite.name: (suite.tests, suite.failures) for suite in xml}
    assert totals["guardian forbidden-import"] == (2, 2)
    assert totals["guardian windows-path"] == (1, 0)
    assert "guardian max-file-size" in totals and "guardian gitignore-required" in totals


def test_junit_of_a_clean_tree_is_one_passing_case(clean_repo: Repo, tmp_path: Path) -> None:
    xml = _junit(_check(clean_repo, "junit"), tmp_path)
    cases = [case for suite in xml for case in suite]
    assert len(cases) == 1 and cases[0].is_passed
    assert "No violations" in (cases[0].system_out or "")


def test_junit_of_history_names_the_introducing_commit(dirty: Repo, tmp_path: Path) -> None:
    xml = _junit(_history(dirty, "junit"), tmp_path)
    head = dirty.git("rev-parse", "HEAD").strip()
    texts = [case.result[0].text for suite in xml for case in suite if case.result]
    assert any(f"introduced in {head[:12]}" in (text or "") for text in texts), texts


# -- GitLab Code Quality --------------------------------------------------------------------
CODE_QUALITY = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


def test_gitlab_code_quality_has_the_fields_gitlab_reads(dirty: Repo) -> None:
    issues = json.loads(_check(dirty, "gitlab"))
    jsonschema.validate(issues, CODE_QUALITY)
    # Two identical lines are two issues: GitLab merges issues sharing a fingerprint.
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)
    by_rule = {issue["check_name"]: issue for issue in issues}
    assert by_rule["forbidden-import"]["severity"] == "major"
    assert by_rule["windows-path"]["severity"] == "minor"
    assert by_rule["max-file-size"]["location"] == {"path": "big.bin", "lines": {"begin": 1}}
    assert by_rule["forbidden-import"]["location"]["lines"]["begin"] in (1, 2)


def test_gitlab_code_quality_of_history(dirty: Repo) -> None:
    issues = json.loads(_history(dirty, "gitlab"))
    jsonschema.validate(issues, CODE_QUALITY)
    assert any("introduced in" in issue["description"] for issue in issues)


def test_a_clean_tree_is_an_empty_code_quality_report(clean_repo: Repo) -> None:
    assert json.loads(_check(clean_repo, "gitlab")) == []


# -- SARIF for code scanning ------------------------------------------------------------
def _sarif(text: str) -> dict[str, object]:
    doc = json.loads(text)
    assert isinstance(doc, dict)
    return doc


def test_every_sarif_result_has_a_region_and_the_run_its_category(dirty: Repo) -> None:
    for doc, category in (
        (_sarif(_check(dirty, "sarif")), "guardian/check/"),
        (_sarif(_history(dirty, "sarif")), "guardian/history/"),
    ):
        (run,) = doc["runs"]  # type: ignore[index]
        assert run["automationDetails"] == {"id": category}
        driver = run["tool"]["driver"]
        assert driver["informationUri"].startswith("https://")
        assert all(rule["helpUri"].startswith("https://") for rule in driver["rules"])
        assert run["results"]
        for result in run["results"]:
            region = result["locations"][0]["physicalLocation"]["region"]
            assert region["startLine"] >= 1, result
        whole = [r for r in run["results"] if r["ruleId"] == "max-file-size"]
        assert whole and whole[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}


def _multitool() -> str | None:
    """Microsoft's SARIF multitool, as `.ci/run` installs it from npm (or on PATH)."""
    for candidate in (
        os.environ.get("GUARDIAN_SARIF_MULTITOOL", ""),
        str(ROOT / ".ci" / "npm" / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"),
        shutil.which("sarif-multitool") or "",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def test_the_sarif_multitool_with_github_rules_finds_nothing_to_report(dirty: Repo, tmp_path: Path) -> None:
    tool = _multitool()
    if tool is None:
        # CI installs the multitool (.ci/run): there its verdict is required. A
        # machine without npm has the checks of the test above.
        assert not os.environ.get("CI"), "CI must install @microsoft/sarif-multitool (see .ci/run)"
        return
    for name, text in (("check.sarif", _check(dirty, "sarif")), ("history.sarif", _history(dirty, "sarif"))):
        log = tmp_path / name
        log.write_text(text)
        verdict = tmp_path / f"{name}.validation.json"
        proc = subprocess.run(
            [tool, "validate", "--rule-kind", "Gh;Sarif", "--output", str(verdict), str(log)],
            capture_output=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
        found = json.loads(verdict.read_text())["runs"][0]["results"]
        assert found == [], [(r["ruleId"], r["message"]) for r in found]
