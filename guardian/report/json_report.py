"""JSON: the schema documented in the README ("JSON report")."""

from __future__ import annotations

from guardian import __version__
from guardian.accept import fingerprint
from guardian.output import json_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.model import Finding, HistoryFinding, HistoryResult, Result

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
        **({"commit": {"id": f.commit, "subject": f.commit_subject}} if f.commit else {}),
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
        "standing": [finding_dict(f) for f in result.standing],
        "stale_baseline": result.stale,
        "skipped": [{"path": path, "reason": reason} for path, reason in result.skipped],
    }


def render(result: Result, *, color: bool = False) -> str:
    return json_text(as_dict(result))


def render_history(result: HistoryResult, *, color: bool = False) -> str:
    return json_text(history_dict(result))


# -- history ------------------------------------------------------------------------------


def history_finding_dict(item: HistoryFinding) -> dict[str, object]:
    return {
        **finding_dict(item.finding),
        "fixable": False,
        "paths": item.paths,
        "exempt_paths": item.exempt_paths,
        "blob": item.oid or None,
        "size": item.size if item.oid else None,
        "commit": item.commit.to_dict() if item.commit is not None else None,
        "at_head": item.at_head,
        "refs": item.refs,
    }


def history_dict(result: HistoryResult) -> dict[str, object]:
    large = result.large
    return {
        "version": 1,
        "kind": "history",
        "tool": {"name": "guardian", "version": __version__},
        "policy": result.policy_source,
        "checked": result.label,
        "rules": result.rules,
        "summary": {
            "commits": result.commits,
            "blob_versions": result.blob_versions,
            "blobs_read": result.blobs_read,
            "ref_tips": result.tips,
            "errors": result.errors,
            "warnings": result.warnings_count,
            "suppressed": result.suppressed,
            "baselined": result.baselined,
            "large_blobs": len(large),
            "large_bytes": sum(item.size for item in large),
            "large_bytes_at_head": sum(item.size for item in large if item.at_head),
            "missing_objects": result.missing_count,
        },
        "limit": result.limit,
        "max_content_size": result.max_content_size,
        "findings": [history_finding_dict(item) for item in result.findings],
        "skipped": [
            {"blob": oid, "path": path, "size": size, "reason": "larger than max-content-size"}
            for oid, path, size in result.skipped
        ],
        "missing_objects": result.missing,
        "not_run": [{"rule": rule, "reason": reason} for rule, reason in result.not_run],
        "warnings": result.warnings,
    }
