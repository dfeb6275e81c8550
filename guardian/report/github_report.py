"""GitHub Actions workflow commands: ``::error file=...,line=...::message``.

Values are escaped as the runner expects (``%``, CR and LF everywhere; ``:``
and ``,`` inside properties), so odd file names cannot break the command.
"""

from __future__ import annotations

from guardian.output import printable
from guardian.report.text_report import introduced, summary

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.model import Finding, HistoryResult, Result


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(printable(text)).replace(":", "%3A").replace(",", "%2C")


def _props(f: Finding) -> str:
    props = [f"file={_prop(f.path)}"] if f.path else []
    if f.line:
        props.append(f"line={f.line}")
        if f.column:
            props.append(f"col={f.column}")
    props.append(f"title={_prop('guardian ' + f.rule)}")
    return ",".join(props)


def render(result: Result, *, color: bool = False) -> str:
    lines = []
    for f in result.findings:
        kind = "error" if f.severity == "error" else "warning"
        lines.append(f"::{kind} {_props(f)}::{_data(printable(f.message + introduced(f)))}")
    for f in result.standing:
        lines.append(f"::notice {_props(f)}::{_data(printable('stood before this change: ' + f.message))}")
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def render_history(result: HistoryResult, *, color: bool = False) -> str:
    from guardian.report.gitlab_report import history_note
    from guardian.report.text_report import history_summary

    lines = []
    for item in result.findings:
        f = item.finding
        kind = "error" if f.severity == "error" else "warning"
        lines.append(f"::{kind} {_props(f)}::{_data(printable(f.message + history_note(item)))}")
    lines.append(history_summary(result))
    return "\n".join(lines) + "\n"
