"""dir-budget: the blobs under a directory stay within their budget."""

from __future__ import annotations

from guardian.rules.base import Option, Rule
from guardian.units import format_size, parse_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from guardian.model import Finding, Snapshot


def parse_budgets(value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError('expected a table of directory = size, e.g. { "tools/" = "10 MiB" }')
    budgets: dict[str, int] = {}
    for directory, size in value.items():
        if not isinstance(directory, str) or not directory.strip("/"):
            raise ValueError(f"{directory!r} is not a directory path")
        try:
            budgets[directory.strip("/") + "/"] = parse_size(size)
        except ValueError as exc:
            raise ValueError(f"{directory}: {exc}") from None
    return budgets


class DirBudget(Rule):
    id = "dir-budget"
    summary = "The total size of the files under a directory stays within its budget."
    scope = "repo"
    options = (
        Option("budgets", parse_budgets, {}, 'Directory -> largest total size, e.g. { "tools/" = "10 MiB" }.', "table"),
    )
    docs = """\
## What it does
Adds up the sizes of the blobs git stores under each configured directory
(every file below it, at any depth) and reports a directory whose total is
over its budget, with the amount over.

## Why is this bad?
A directory that nobody owns grows one "small" binary at a time. The audit
behind the shipped policy found a `tools/` directory of 462 MB that no one
could explain; a budget makes the growth visible on the commit that causes it.
`guardian audit tools/` then shows what is in it.

## Example
```toml
[tool.guardian.rules.dir-budget.budgets]
"tools/" = "10 MiB"
```
```console
$ guardian check --all-files
tools: dir-budget tools/ holds 14.2 MiB in 312 files, 4.2 MiB over its 10.0 MiB budget;
run `guardian audit tools/` to see what is in it
```

## Use instead
Move large artefacts out of the directory (an artifact store, a package
registry, git-lfs), or raise the budget deliberately in the policy, where the
change is reviewed.

## Options
- `budgets` (table of directory = size, default `{}`): each key is a
  directory relative to the repository root (`"tools/"`), each value a size
  such as `"10 MiB"`.
- `exclude` (list of gitignore patterns, default `[]`): files not counted.
"""

    def _totals(self, snapshot: Snapshot) -> dict[str, tuple[int, int]]:
        """Budgeted directory -> (bytes, files) of the blobs under it."""
        budgets = self.settings["budgets"]
        assert isinstance(budgets, dict)
        prefixes = tuple(budgets)
        under = [
            e for e in snapshot.tree() if e.path.startswith(prefixes) and e.is_regular and not self.is_excluded(e.path)
        ]
        sized = snapshot.with_sizes(under)
        totals = {}
        for directory in budgets:
            files = [e for e in sized if e.path.startswith(directory)]
            totals[directory] = (sum(max(e.size, 0) for e in files), len(files))
        return totals

    def made_by(self, finding: Finding, change: Snapshot, before: Callable[[], Snapshot | None]) -> bool:
        """A change makes a directory's overage when it puts more bytes there:
        one that leaves the directory alone, or shrinks it, does not."""
        directory = finding.path.rstrip("/") + "/"
        if not any(e.path.startswith(directory) for e in change.files):
            return False
        base = before()
        if base is None:
            return True
        now = self._totals(change).get(directory, (0, 0))[0]
        return now > self._totals(base).get(directory, (0, 0))[0]

    def check_repo(self, snapshot: Snapshot) -> Iterable[Finding]:
        budgets = self.settings["budgets"]
        assert isinstance(budgets, dict)
        if not budgets:
            return []
        findings = []
        for directory, (total, count) in self._totals(snapshot).items():
            budget = budgets[directory]
            if total > budget:
                findings.append(
                    self.finding(
                        directory.rstrip("/"),
                        f"{directory} holds {format_size(total)} in {count} file{'' if count == 1 else 's'}, "
                        f"{format_size(total - budget)} over its {format_size(budget)} budget; "
                        f"run `guardian audit {directory}` to see what is in it",
                    )
                )
        return findings


RULE = DirBudget
