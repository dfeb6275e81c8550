"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

Each rule carries its help text (the same docs ``guardian explain`` prints)
and a ``helpUri``; each result a location relative to the repository root
(``%SRCROOT%``) with a region (a finding about a whole file or directory is
placed at its first line: code scanning shows and fingerprints nothing
without one) and a partial fingerprint that survives line moves. The run's
``automationDetails.id`` tells ``check`` from ``history``, so their uploads
are two categories and never overwrite each other.
"""

from __future__ import annotations

from urllib.parse import quote

from guardian import HOMEPAGE, __version__
from guardian.accept import fingerprint
from guardian.output import json_text
from guardian.rules import rule_class

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.model import HistoryResult, Result

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _level(severity: str) -> str:
    return "error" if severity == "error" else "warning"


def _rule_descriptor(rule_id: str, severity: str) -> dict[str, object]:
    cls = rule_class(rule_id)
    return {
        "id": rule_id,
        "name": "".join(part.title() for part in rule_id.split("-")),
        "shortDescription": {"text": cls.summary},
        "fullDescription": {"text": cls.summary},
        "help": {"text": cls.docs, "markdown": cls.docs},
        "helpUri": f"{HOMEPAGE}#rules",
        "defaultConfiguration": {"level": _level(severity)},
    }


def as_dict(result: Result, *, category: str = "guardian/check") -> dict[str, object]:
    rule_ids = list(dict.fromkeys([*result.rules, *(f.rule for f in result.findings)]))
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results = []
    for f in result.findings:
        physical: dict[str, object] = {
            "artifactLocation": {
                "uri": quote(f.path or ".gitignore", errors="surrogateescape"),
                "uriBaseId": "%SRCROOT%",
            }
        }
        region: dict[str, int] = {"startLine": f.line or 1}
        if f.line and f.column:
            region["startColumn"] = f.column
        physical["region"] = region
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _level(f.severity),
                "message": {"text": f.message},
                "locations": [{"physicalLocation": physical}],
                "partialFingerprints": {"guardianFingerprint/v1": fingerprint(f)},
                **({"properties": {"commit": {"id": f.commit, "subject": f.commit_subject}}} if f.commit else {}),
            }
        )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "guardian",
                        "informationUri": HOMEPAGE,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [
                            _rule_descriptor(rule_id, result.severities.get(rule_id, "error")) for rule_id in rule_ids
                        ],
                    }
                },
                "automationDetails": {"id": f"{category}/"},
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root."}}},
                "results": results,
            }
        ],
    }


def render(result: Result, *, color: bool = False) -> str:
    return json_text(as_dict(result))


def render_history(result: HistoryResult, *, color: bool = False) -> str:
    return json_text(history_sarif(result))


def history_sarif(result: HistoryResult) -> dict[str, object]:
    """SARIF from the shared renderer, each result carrying its history."""
    from guardian.model import Result

    plain = Result()
    plain.rules = result.rules
    plain.policy_source = result.policy_source
    plain.label = result.label
    plain.findings = [item.finding for item in result.findings]
    doc = as_dict(plain, category="guardian/history")
    runs = doc["runs"]
    assert isinstance(runs, list)
    for sarif_result, item in zip(runs[0]["results"], result.findings, strict=True):
        props: dict[str, object] = {"paths": item.paths}
        if item.oid:
            props.update(blob=item.oid, size=item.size, atHead=item.at_head)
        if item.commit is not None:
            props["commit"] = item.commit.to_dict()
        if item.refs:
            props["refs"] = item.refs
        sarif_result["properties"] = props
    return doc
