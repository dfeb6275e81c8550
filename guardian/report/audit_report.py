"""``guardian audit``'s reports: text (a size tree with bars), JSON and
Markdown (for an issue or a pull request)."""

from __future__ import annotations

from guardian import __version__
from guardian.output import json_text, printable
from guardian.report.text_report import plural
from guardian.scans.audit import KINDS
from guardian.units import format_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.scans.audit import AuditReport, DirNode

_BAR_WIDTH = 24
_TREE_CHILDREN = 8


def render(report: AuditReport, fmt: str, *, depth: int = 3, color: bool = False) -> str:
    if fmt == "json":
        return json_text(as_dict(report, depth=depth))
    if fmt == "markdown":
        return render_markdown(report, depth=depth)
    return render_text(report, depth=depth, color=color)


def as_dict(report: AuditReport, *, depth: int = 3) -> dict[str, object]:
    return {
        "version": 1,
        "kind": "audit",
        "tool": {"name": "guardian", "version": __version__},
        "policy": report.policy_source,
        "directory": report.label,
        "disk": {
            "total": report.total.to_dict(),
            **{kind: report.by_kind[kind].to_dict() for kind in KINDS},
            "symlinks": report.symlinks.to_dict(),
        },
        "lfs": {
            "content": report.lfs_content.to_dict(),
            "pointers": report.lfs_pointers.to_dict(),
            "not_downloaded_bytes": report.lfs_missing_bytes,
        },
        "history": None
        if report.history is None
        else {"blobs": report.history[0], "bytes": report.history[1], "missing_objects": report.history[2]},
        "largest": [{"path": path, "bytes": size, "kind": kind} for size, path, kind in report.top],
        "by_extension": [
            {"extension": ext, **totals.to_dict()}
            for ext, totals in sorted(report.by_extension.items(), key=lambda kv: (-kv[1].bytes, kv[0]))
        ],
        "tree": report.tree.to_dict(depth),
        "budgets": [b.to_dict() for b in report.budgets],
        "over_budget": report.over_budget,
        "unreadable": report.unreadable,
        "loops_skipped": report.loops,
    }


def _files(n: int) -> str:
    return f"{n:>8,} file{'s' if n != 1 else ' '}"


def bar(share: float, width: int = _BAR_WIDTH, *, unicode: bool = True) -> str:
    """A proportional bar: ``share`` of ``width`` cells, eighths with unicode."""
    share = min(max(share, 0.0), 1.0)
    if not unicode:
        return "#" * round(share * width)
    eighths = round(share * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


def _unicode_ok() -> bool:
    import sys

    encoding = getattr(sys.stdout, "encoding", None) or ""
    return encoding.lower().replace("-", "") in ("utf8", "utf16", "utf32")


def _tree_lines(report: AuditReport, depth: int, unicode: bool) -> list[str]:

    total = report.tree.totals.bytes or 1
    rows: list[tuple[str, DirNode | None, str]] = [(report.label.rstrip("/") + "/", report.tree, "")]
    branch, last, pipe, blank = ("├── ", "└── ", "│   ", "    ") if unicode else ("|-- ", "`-- ", "|   ", "    ")

    def visit(node: DirNode, indent: str, level: int) -> None:
        if level >= depth:
            return
        children = node.sorted_children()
        shown = children[:_TREE_CHILDREN]
        hidden = children[_TREE_CHILDREN:]
        own = node.totals.bytes - sum(c.totals.bytes for c in children)
        for i, child in enumerate(shown):
            is_last = i == len(shown) - 1 and not hidden and not own
            rows.append((indent + (last if is_last else branch) + printable(child.name) + "/", child, ""))
            visit(child, indent + (blank if is_last else pipe), level + 1)
        if hidden:
            size = sum(c.totals.bytes for c in hidden)
            files = sum(c.totals.files for c in hidden)
            label = f"{len(hidden)} more directories"
            rows.append((indent + (last if not own else branch) + f"({label})", None, f"{size}|{files}"))
        if own and children:
            files = node.totals.files - sum(c.totals.files for c in children)
            rows.append((indent + last + "(files here)", None, f"{own}|{files}"))

    visit(report.tree, "", 0)
    width = max(len(name) for name, _node, _extra in rows)
    lines = []
    for name, node, extra in rows:
        if node is not None:
            size, files = node.totals.bytes, node.totals.files
        else:
            size_text, files_text = extra.split("|")
            size, files = int(size_text), int(files_text)
        lines.append(
            f"  {name:<{width}}  {format_size(size):>10}  {_files(files)}  {bar(size / total, unicode=unicode)}"
        )
    return lines


def render_text(report: AuditReport, *, depth: int = 3, color: bool = False) -> str:

    bold, red, green, reset = ("\033[1m", "\033[31m", "\033[32m", "\033[0m") if color else ("",) * 4
    unicode = _unicode_ok()
    total = report.total
    lines = [f"{bold}guardian audit {printable(report.label)}{reset}  (repository {printable(report.root)})", ""]
    lines.append(f"On disk: {format_size(total.bytes)} in {total.files:,} file{'' if total.files == 1 else 's'}")
    scale = total.bytes or 1
    for kind in KINDS:
        t = report.by_kind[kind]
        lines.append(
            f"  {kind:<10} {format_size(t.bytes):>10}  {_files(t.files)}  {bar(t.bytes / scale, unicode=unicode)}"
        )
    if report.symlinks.files:
        lines.append(f"  ({plural(report.symlinks.files, 'symbolic link')} counted by their own size, not followed)")
    if report.lfs_content.files or report.lfs_pointers.files:
        lines.append(
            f"  git-lfs: {report.lfs_content.files:,} files with content ({format_size(report.lfs_content.bytes)}), "
            f"{report.lfs_pointers.files:,} pointers only ({format_size(report.lfs_missing_bytes)} not downloaded)"
        )
    if report.history is not None:
        blobs, size, missing = report.history
        note = f"; {plural(missing, 'missing object')}" if missing else ""
        lines.append(
            f"History: {format_size(size)} in {plural(blobs, 'unique blob')} ever stored under "
            f"{printable(report.label)} on any ref (sizes before compression){note}"
        )
    lines.append("")
    if report.top:
        lines.append(f"{bold}Largest files{reset}")
        for size, path, kind in report.top:
            lines.append(f"  {format_size(size):>10}  {kind:<9}  {printable(path)}")
        lines.append("")
    if report.by_extension:
        lines.append(f"{bold}By extension{reset}")
        ranked = sorted(report.by_extension.items(), key=lambda kv: (-kv[1].bytes, kv[0]))
        for ext, t in ranked[:15]:
            lines.append(
                f"  {printable(ext):<10} {format_size(t.bytes):>10}  {_files(t.files)}  "
                f"{bar(t.bytes / scale, unicode=unicode)}"
            )
        if len(ranked) > 15:
            rest = ranked[15:]
            lines.append(
                f"  {'(others)':<10} {format_size(sum(t.bytes for _e, t in rest)):>10}  "
                f"{_files(sum(t.files for _e, t in rest))}"
            )
        lines.append("")
    lines.append(f"{bold}By directory{reset}")
    lines.extend(_tree_lines(report, depth, unicode))
    lines.append("")
    for budget in report.budgets:
        if budget.over:
            lines.append(
                f"{red}Over budget:{reset} {budget.directory} holds {format_size(budget.used)} in git, "
                f"{format_size(budget.used - budget.limit)} over its {format_size(budget.limit)} budget"
            )
        else:
            lines.append(
                f"{green}Within budget:{reset} {budget.directory} holds {format_size(budget.used)} in git "
                f"of its {format_size(budget.limit)} budget"
            )
    if report.unreadable:
        lines.append(f"Unreadable (skipped): {', '.join(printable(p) for p in report.unreadable[:5])}")
    if report.loops:
        lines.append(f"Directories reached twice (bind mounts) and skipped: {report.loops}")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md(text: str) -> str:

    return printable(text).replace("|", "\\|").replace("`", "'")


def render_markdown(report: AuditReport, *, depth: int = 3) -> str:
    total = report.total
    lines = [f"### `guardian audit {_md(report.label)}`", ""]
    lines += ["| | size | files |", "|---|---:|---:|"]
    lines.append(f"| **on disk** | **{format_size(total.bytes)}** | **{total.files:,}** |")
    for kind in KINDS:
        t = report.by_kind[kind]
        lines.append(f"| {kind} | {format_size(t.bytes)} | {t.files:,} |")
    if report.lfs_content.files or report.lfs_pointers.files:
        lines.append(f"| git-lfs content | {format_size(report.lfs_content.bytes)} | {report.lfs_content.files:,} |")
        lines.append(
            f"| git-lfs pointers ({format_size(report.lfs_missing_bytes)} not downloaded) | "
            f"{format_size(report.lfs_pointers.bytes)} | {report.lfs_pointers.files:,} |"
        )
    if report.history is not None:
        lines.append(
            f"| **history** (every blob ever stored here) | {format_size(report.history[1])} | "
            f"{report.history[0]:,} blobs |"
        )
    lines.append("")
    if report.budgets:
        for budget in report.budgets:
            state = f"**over budget** by {format_size(budget.used - budget.limit)}" if budget.over else "within budget"
            lines.append(
                f"- `{_md(budget.directory)}`: {format_size(budget.used)} of {format_size(budget.limit)} - {state}"
            )
        lines.append("")
    if report.top:
        lines += ["#### Largest files", "", "| size | path | state |", "|---:|---|---|"]
        lines += [f"| {format_size(size)} | `{_md(path)}` | {kind} |" for size, path, kind in report.top]
        lines.append("")
    if report.by_extension:
        lines += ["#### By extension", "", "| extension | size | files |", "|---|---:|---:|"]
        ranked = sorted(report.by_extension.items(), key=lambda kv: (-kv[1].bytes, kv[0]))[:15]
        lines += [f"| `{_md(ext)}` | {format_size(t.bytes)} | {t.files:,} |" for ext, t in ranked]
        lines.append("")
    lines += ["#### By directory", "", "```text", *_tree_lines(report, depth, True), "```", ""]
    return "\n".join(lines)
