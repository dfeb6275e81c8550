"""JSON: the schema documented in the README ("JSON report")."""

from __future__ import annotations

from guardian import __version__
from guardian.accept import fingerprint
from guardian.output import json_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.model import Finding, Result

SCHEMA_VERSION = 1


def finding_dict(f: Finding) -> dict[str, object]:
    return {
        "rule": f.rule,
        "severity": f.severity,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "message": f.message,
        "fixable": f.fixable,
        "fingerprint": fingerprint(f),
    }


def as_dict(result: Result) -> dict[str, object]:
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "guardian", "version": __version__},
        "policy": result.policy_source,
        "checked": result.label,
        "rules": result.rules,
        "summary": {
            "files_checked": result.files_checked,
            "errors": result.errors,
            "warnings": result.warnings,
            "suppressed": result.suppressed,
            "baselined": result.baselined,
        },
        "findings": [finding_dict(f) for f in result.findings],
        "stale_baseline": result.stale,
        "skipped": [{"path": path, "reason": reason} for path, reason in result.skipped],
    }


def render(result: Result, *, color: bool = False) -> str:
    return json_text(as_dict(result))
