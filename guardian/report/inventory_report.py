"""The migration inventory as text, Markdown, CSV or JSON.

Module paths come from a repository and reasons from its policy: in text they
are escaped for terminals, in Markdown they are code spans (never live
Markdown), in CSV they are quoted by the csv module and kept from being read
as spreadsheet formulas.
"""

from __future__ import annotations

from guardian.output import json_text, printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.scans.inventory import Inventory, Row, Totals

FORMATS = ("text", "markdown", "csv", "json")
_COLUMNS = ("path", "module", "decision", "destination", "reason", "exists", "lines", "subpackage")


def render(inventory: Inventory, fmt: str) -> str:
    if fmt == "json":
        return json_text(inventory.as_dict())
    if fmt == "csv":
        return render_csv(inventory)
    if fmt == "markdown":
        return render_markdown(inventory)
    return render_text(inventory)


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _where(inventory: Inventory) -> str:
    directory = f"{inventory.directory}/" if inventory.directory else "./"
    target = f"; target {inventory.target}" if inventory.target is not None else ""
    strict = "; --strict" if inventory.strict else ""
    return f"{directory} (package {inventory.package}{target}{strict})"


def verdict(inventory: Inventory) -> str:
    total = inventory.total
    parts = [f"{total.modules:,} modules, {total.lines:,} lines: {total.decided:,} decided ({total.skipped:,} skipped)"]
    if total.undecided:
        parts.append(f"{total.undecided:,} undecided")
    if total.migrated is not None:
        parts.append(f"{total.migrated:,} migrated")
    if total.missing:
        parts.append(f"{total.missing:,} mapped to a module the target does not have yet")
    return ", ".join(parts) + "."


# -- text ---------------------------------------------------------------------------------------


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: frozenset[int] = frozenset()) -> list[str]:
    widths = [max([len(header[i]), *(len(row[i]) for row in rows)]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        out = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(cells)]
        return "  ".join(out).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _outcome(row: Row) -> str:
    if row.destination is not None:
        return row.destination
    return row.reason or ""


def _totals_cells(name: str, totals: Totals) -> tuple[str, ...]:
    return (
        name,
        f"{totals.modules:,}",
        f"{totals.lines:,}",
        f"{totals.decided:,}",
        f"{totals.skipped:,}",
        _count(totals.migrated),
    )


def render_text(inventory: Inventory) -> str:
    lines = [f"guardian inventory {printable(_where(inventory))}", ""]
    rows: list[tuple[str, ...]] = [
        (
            printable(row.path),
            printable(row.module),
            row.decision,
            printable(_outcome(row)),
            _yes_no(row.exists),
        )
        for row in inventory.rows
    ]
    lines += _table(("PATH", "MODULE", "DECISION", "DESTINATION / REASON", "EXISTS"), rows)
    lines += ["", "Totals by subpackage"]
    totals = [_totals_cells(printable(name), t) for name, t in inventory.groups.items()]
    totals.append(_totals_cells("overall", inventory.total))
    header = ("SUBPACKAGE", "MODULES", "LINES", "DECIDED", "SKIPPED", "MIGRATED")
    lines += ["  " + line for line in _table(header, totals, frozenset(range(1, 6)))]
    lines += ["", verdict(inventory), f"Policy: {printable(inventory.policy_source)}."]
    return "\n".join(lines) + "\n"


# -- Markdown -----------------------------------------------------------------------------------


def code(text: str, *, cell: bool = True) -> str:
    """``text`` as one Markdown code span, inert whatever it holds.

    Control and format characters become escapes (a backslash is doubled, so
    the escapes stay unambiguous); the fence is one backtick longer than the
    longest run inside; in a table cell a pipe is escaped, which GFM undoes
    inside the span (a backslash run before it then stays even, so the pipe
    cannot escape the cell).
    """
    if not text:
        return ""
    inner = printable(text.replace("\\", "\\\\"))
    longest = run = 0
    for char in inner:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    if inner[0] in "` " or inner[-1] in "` ":
        inner = f" {inner} "
    span = f"{fence}{inner}{fence}"
    return span.replace("|", "\\|") if cell else span


def render_markdown(inventory: Inventory) -> str:
    directory = f"{inventory.directory}/" if inventory.directory else "./"
    lines = [f"### Migration inventory of {code(directory, cell=False)}", ""]
    facts = [f"package {code(inventory.package, cell=False)}"]
    if inventory.target is not None:
        facts.append(f"target {code(inventory.target, cell=False)}")
    if inventory.strict:
        facts.append("`--strict`")
    lines += [", ".join(facts) + f"; policy {code(inventory.policy_source, cell=False)}", ""]
    lines += ["| old path | old module | decision | destination | reason | exists |", "|---|---|---|---|---|---|"]
    for row in inventory.rows:
        decision = f"**{row.decision}**" if row.decision == "undecided" or row.exists is False else row.decision
        exists = _yes_no(row.exists)
        cells: tuple[str, ...] = (
            code(row.path),
            code(row.module),
            decision,
            code(row.destination or ""),
            code(row.reason or ""),
            f"**{exists}**" if row.exists is False else exists,
        )
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "#### Totals", ""]
    lines += ["| subpackage | modules | lines | decided | skipped | migrated |", "|---|---:|---:|---:|---:|---:|"]
    for name, totals in [*inventory.groups.items()]:
        cells = _totals_cells(code(name), totals)
        lines.append("| " + " | ".join(cells) + " |")
    overall = _totals_cells("**overall**", inventory.total)
    lines.append("| " + " | ".join(overall) + " |")
    lines += ["", verdict(inventory), ""]
    return "\n".join(lines)


# -- CSV ----------------------------------------------------------------------------------------

#: A spreadsheet reads a cell starting so as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    text = printable(str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(inventory: Inventory) -> str:
    """One row per module, for a spreadsheet (totals are its sums: ``lines`` and
    ``subpackage`` are columns)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_COLUMNS)
    for row in inventory.rows:
        values = row.as_dict()
        writer.writerow([_csv_cell(values[column]) for column in _COLUMNS])
    return out.getvalue()
