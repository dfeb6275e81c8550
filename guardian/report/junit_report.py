"""JUnit XML, as Jenkins, GitLab and Azure Pipelines read test reports.

One ``<testsuite>`` per rule that found something, one ``<testcase>`` per
finding: an error is a ``<failure>`` (rule, place and message), a warning a
passing case whose ``<system-out>`` says what it warns of. A run with no
findings is one passing case, so a report is never empty. Every text is
escaped for XML, control characters included (XML 1.0 cannot hold them).
"""

from __future__ import annotations

from guardian.output import printable
from guardian.report.gitlab_report import history_note
from guardian.report.text_report import location

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from guardian.model import Finding, HistoryResult, Result


#: A test case's name: the place and the start of the message.
_NAME_CHARS = 100


def _xml(findings: Iterable[tuple[Finding, str]], summary: str) -> str:
    import xml.etree.ElementTree as ET

    by_rule: dict[str, list[tuple[Finding, str]]] = {}
    for f, note in findings:
        by_rule.setdefault(f.rule, []).append((f, note))
    root = ET.Element("testsuites", name="guardian")
    total = failures = 0
    for rule, items in by_rule.items():
        failed = sum(1 for f, _note in items if f.severity == "error")
        suite = ET.SubElement(
            root, "testsuite", name=f"guardian {rule}", tests=str(len(items)), failures=str(failed), errors="0"
        )
        for f, note in items:
            where = printable(location(f))
            # Unique and readable: several findings can share one place.
            name = f"{where}: {printable(f.message[:_NAME_CHARS])}"
            case = ET.SubElement(suite, "testcase", classname=f"guardian.{rule}", name=name, file=printable(f.path))
            if f.line:
                case.set("line", str(f.line))
            text = f"{where}: {rule} {printable(f.message + note)}"
            if f.severity == "error":
                ET.SubElement(case, "failure", type=rule, message=printable(f.message)).text = text
            else:
                ET.SubElement(case, "system-out").text = f"warning: {text}"
        total += len(items)
        failures += failed
    if not by_rule:
        suite = ET.SubElement(root, "testsuite", name="guardian", tests="1", failures="0", errors="0")
        case = ET.SubElement(suite, "testcase", classname="guardian", name="policy")
        ET.SubElement(case, "system-out").text = printable(summary)
        total = 1
    root.set("tests", str(total))
    root.set("failures", str(failures))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render(result: Result, *, color: bool = False) -> str:
    from guardian.report.text_report import introduced, summary

    return _xml(((f, introduced(f)) for f in result.findings), summary(result))


def render_history(result: HistoryResult, *, color: bool = False) -> str:
    from guardian.report.text_report import history_summary

    return _xml(((item.finding, history_note(item)) for item in result.findings), history_summary(result))
