"""GitLab Code Quality: a JSON array of issues, as a merge request widget
and the pipeline's Code Quality report read it (``artifacts: reports:
codequality``).

Each issue has ``description``, ``check_name`` (the rule), ``fingerprint``
(unique per issue: GitLab merges issues that share one), ``severity``
(``major`` for errors, ``minor`` for warnings) and ``location.path`` with
``location.lines.begin`` (1 for a finding about a whole file).
"""

from __future__ import annotations

import hashlib

from guardian.accept import fingerprint
from guardian.output import json_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from guardian.model import Finding, HistoryFinding, HistoryResult, Result

_SEVERITY = {"error": "major", "warning": "minor"}


def _issues(findings: Iterable[tuple[Finding, str]]) -> list[dict[str, object]]:
    issues: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for f, note in findings:
        if f.commit and not note:
            note = f" (from {f.commit[:12]}" + (f' "{f.commit_subject[:72]}")' if f.commit_subject else ")")
        # The baseline fingerprint ignores line numbers, so two identical lines
        # share it; GitLab needs one per issue: the occurrence makes it unique.
        base = fingerprint(f)
        count = seen[base] = seen.get(base, 0) + 1
        unique = hashlib.sha256(f"{base}:{count}".encode()).hexdigest()
        issues.append(
            {
                "type": "issue",
                "description": f.message + note,
                "check_name": f.rule,
                "fingerprint": unique,
                "severity": _SEVERITY.get(f.severity, "minor"),
                "location": {"path": f.path or ".gitignore", "lines": {"begin": f.line or 1}},
            }
        )
    return issues


def render(result: Result, *, color: bool = False) -> str:
    return json_text(_issues((f, "") for f in result.findings))


def render_history(result: HistoryResult, *, color: bool = False) -> str:
    return json_text(_issues((item.finding, history_note(item)) for item in result.findings))


def history_note(item: HistoryFinding) -> str:
    """Where in history a finding stands, as a few words after its message."""
    if item.commit is None:
        return f" (at {', '.join(item.refs)})" if item.refs else ""
    head = "; no longer at HEAD" if item.at_head is False else ""
    subject = f' "{item.commit.subject[:72]}"' if item.commit.subject else ""
    return f" (introduced in {item.commit.id[:12]}{subject}{head})"
