"""Text: ``path:line:col: rule-id message``, one finding a line, then a summary.

Whole-file findings (line 0) print as ``path: rule-id message``. Control
and other unprintable characters in paths and messages (a newline in a file
name, an escape sequence or a right-to-left override quoted from a file) are
escaped, so one finding stays one line and a terminal receives no command.
"""

from __future__ import annotations

from guardian.output import printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.model import Finding, Result

_RED, _YELLOW, _BOLD, _DIM, _RESET = "\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m"


def location(finding: Finding) -> str:
    path = printable(finding.path) or "."
    if finding.line:
        return f"{path}:{finding.line}:{finding.column or 1}"
    return path


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render(result: Result, *, color: bool = False) -> str:
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    lines = []
    for f in result.findings:
        rule = paint(_RED if f.severity == "error" else _YELLOW, f.rule)
        lines.append(f"{paint(_BOLD, location(f))}: {rule} {printable(f.message)}")
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def summary(result: Result) -> str:
    files = plural(result.files_checked, "file")
    if result.findings:
        counts = [plural(n, word) for n, word in ((result.errors, "error"), (result.warnings, "warning")) if n]
        head = f"Found {' and '.join(counts)} in {files} checked"
    else:
        head = f"No violations in {files} checked"
    extras = []
    if result.suppressed:
        extras.append(f"{result.suppressed} suppressed inline")
    if result.baselined:
        extras.append(f"{result.baselined} in the baseline")
    if result.stale:
        n = len(result.stale)
        extras.append(f"{n} stale baseline {'entry' if n == 1 else 'entries'}")
    if result.skipped:
        names = ", ".join(printable(path) for path, _reason in result.skipped[:3])
        more = ", ..." if len(result.skipped) > 3 else ""
        extras.append(f"{plural(len(result.skipped), 'file')} skipped by content rules: {names}{more}")
    fixable = sum(1 for f in result.findings if f.fixable)
    if fixable:
        extras.append(f"{fixable} fixable with `guardian fix`")
    tail = f" ({'; '.join(extras)})" if extras else ""
    return f"{head}{tail}. Policy: {printable(result.policy_source)}."
