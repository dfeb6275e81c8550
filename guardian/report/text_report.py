"""Text: ``path:line:col: rule-id message``, one finding a line, then a summary.

Whole-file findings (line 0) print as ``path: rule-id message``. Control
and other unprintable characters in paths and messages (a newline in a file
name, an escape sequence or a right-to-left override quoted from a file) are
escaped, so one finding stays one line and a terminal receives no command.
"""

from __future__ import annotations

from guardian.model import ERROR, SIZE_RULE
from guardian.output import printable
from guardian.units import format_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from guardian.model import Finding, HistoryResult, Result

_RED, _YELLOW, _BOLD, _DIM, _RESET = "\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m"


def location(finding: Finding) -> str:
    path = printable(finding.path) or "."
    if finding.line:
        return f"{path}:{finding.line}:{finding.column or 1}"
    return path


def introduced(f: Finding) -> str:
    """`` (from abc123def456 "subject")`` for a finding a commit brought in, else ""."""
    if not f.commit:
        return ""
    subject = f' "{printable(f.commit_subject[:_SUBJECT_CHARS])}"' if f.commit_subject else ""
    return f" (from {f.commit[:12]}{subject})"


_SUBJECT_CHARS = 72


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render(result: Result, *, color: bool = False) -> str:
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    lines = []
    for f, message in _lines(result.findings):
        rule = paint(_RED if f.severity == "error" else _YELLOW, f.rule)
        lines.append(f"{paint(_BOLD, location(f))}: {rule} {printable(message)}{paint(_DIM, introduced(f))}")
    if result.standing:
        shown = ", ".join(f"{f.rule} {printable(f.path) or '.'}" for f in result.standing[:4])
        more = ", ..." if len(result.standing) > 4 else ""
        count = plural(len(result.standing), "repository finding")
        lines.append(
            f"note: {count} stood before this change and do not block it: {shown}{more} "
            "(`guardian check --all-files` shows them)"
        )
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def _lines(findings: list[Finding]) -> list[tuple[Finding, str]]:
    """Each finding with its message, several whole-file findings of one rule
    about one file joined where the rule reads them better as one line."""
    out: list[tuple[Finding, str]] = []
    i = 0
    while i < len(findings):
        f = findings[i]
        j = i + 1
        while (
            j < len(findings)
            and not f.line
            and (findings[j].rule, findings[j].path, findings[j].line)
            == (
                f.rule,
                f.path,
                0,
            )
        ):
            j += 1
        if j - i > 1:
            from guardian.rules import rule_class

            group = findings[i:j]
            worst = next((g for g in group if g.severity == "error"), f)
            out.extend((worst, message) for message in rule_class(f.rule).combined([g.message for g in group]))
        else:
            out.append((f, f.message))
        i = j
    return out


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


# -- history ------------------------------------------------------------------------------

_MAX_SHOWN_PATHS = 5


def _short_list(items: Sequence[str], limit: int = _MAX_SHOWN_PATHS) -> str:
    shown = ", ".join(printable(p) for p in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def render_history(result: HistoryResult, *, color: bool = False) -> str:

    red, yellow, bold, dim, reset = ("\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m") if color else ("",) * 5
    lines: list[str] = []
    large = result.large
    if large:
        assert result.limit is not None
        lines.append(f"{bold}Blobs over the {format_size(result.limit)} limit, largest first:{reset}")
        lines.append(f"  {'SIZE':>10}  {'BLOB':<12}  {'INTRODUCED':<40}  {'HEAD':<4}  PATHS")
        for item in large:
            commit = item.commit
            when = f"{commit.id[:12]} {commit.date[:10]} {commit.author.split(' <')[0]}" if commit else "?"
            head = "yes" if item.at_head else "no"
            paths = _short_list(item.paths)
            lines.append(f"  {format_size(item.size):>10}  {item.oid[:12]:<12}  {when[:40]:<40}  {head:<4}  {paths}")
            if item.exempt_paths:
                lines.append(f"  {'':>10}  {'':<12}  {dim}also under exempt {_short_list(item.exempt_paths)}{reset}")
        total = sum(item.size for item in large)
        at_head = [item for item in large if item.at_head]
        lines.append(
            f"  {plural(len(large), 'blob')}, {format_size(total)} in total; "
            f"{len(at_head)} still at HEAD ({format_size(sum(i.size for i in at_head))})."
        )
        lines.append("")
    others = [item for item in result.findings if item.rule != SIZE_RULE]
    for item in others:
        f = item.finding
        rule = f"{red if f.severity == ERROR else yellow}{f.rule}{reset}"
        lines.append(f"{bold}{location(f)}{reset}: {rule} {printable(f.message)}")
        if item.oid:
            commit = item.commit
            who = commit.author.split(" <")[0] if commit else ""
            subject = f' "{printable(commit.subject[:_SUBJECT_CHARS])}"' if commit and commit.subject else ""
            intro = f", introduced in {commit.id[:12]}{subject} ({commit.date[:10]}, {who})" if commit else ""
            also = f"; also stored as {_short_list(item.paths[1:])}" if len(item.paths) > 1 else ""
            head = "" if item.at_head else "; no longer at HEAD"
            lines.append(f"    {dim}blob {item.oid[:12]}{intro}{also}{head}{reset}")
        elif item.refs:
            lines.append(f"    {dim}at {_short_list(item.refs, 3)}{reset}")
    if others:
        lines.append("")
    for oid, path, size in result.skipped[:20]:
        lines.append(
            f"skipped: {printable(path)} (blob {oid[:12]}, {format_size(size)}) is larger than max-content-size "
            f"({format_size(result.max_content_size)}); content rules did not read it"
        )
    if len(result.skipped) > 20:
        lines.append(f"skipped: {len(result.skipped) - 20} more blobs over max-content-size (see --format json)")
    lines.append(history_summary(result))
    return "\n".join(lines) + "\n"


def history_summary(result: HistoryResult) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n:,} {word}{'' if n == 1 else 's'}"

    scope = f"{plural(result.commits, 'commit')} of {result.label}"
    if result.findings:
        head = (
            f"Found {plural(result.errors, 'error')} and {plural(result.warnings_count, 'warning')} "
            f"in the history of {scope}"
        )
    else:
        head = f"No violations in the history of {scope}"
    extras = [f"{plural(result.blob_versions, 'blob version')} sized", f"{plural(result.blobs_read, 'blob')} read"]
    if result.tips:
        extras.append(f"{plural(result.tips, 'ref tip')} judged")
    if result.suppressed:
        extras.append(f"{result.suppressed} suppressed inline")
    if result.baselined:
        extras.append(f"{result.baselined} in the baseline")
    if result.skipped:
        extras.append(f"{plural(len(result.skipped), 'blob')} over max-content-size skipped")
    if result.missing_count:
        extras.append(f"{plural(result.missing_count, 'missing object')}")
    return f"{head} ({'; '.join(extras)}). Policy: {printable(result.policy_source)}."
