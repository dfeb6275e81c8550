"""max-file-size: no new blob larger than the limit."""

from __future__ import annotations

from guardian.rules.base import Option, Rule
from guardian.units import format_size, parse_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from guardian.model import FileEntry, Finding


class MaxFileSize(Rule):
    id = "max-file-size"
    summary = "No file larger than the limit enters the repository (the size git stores)."
    scope = "file"
    needs_content = False
    text_only = False
    options = (Option("limit", parse_size, 1024 * 1024, 'Largest blob allowed, e.g. "1 MiB" or "500 KB".', "size"),)
    docs = """\
## What it does
Rejects a file whose blob, the bytes git stores for it (staged or committed),
is larger than `limit`. The working file does not count: a file tracked with
git-lfs is stored as a small pointer blob and passes, while the same file
staged without LFS fails. A pure rename, or a blob that already existed at
the base of the check (HEAD for a commit, the old tip for a push), is not a
new violation.

## Why is this bad?
Every clone downloads every blob ever committed, forever. One 200 MB solver
output stays in the history after it is deleted, and a repository that took
seconds to clone takes minutes. Removing it means rewriting history, which
every collaborator then has to absorb.

## Example
```console
$ git add results/run_042.op2        # 180 MB solver output
$ git commit -m "add results"
results/run_042.op2: max-file-size file is 171.7 MiB (180000000 bytes), over the 1.0 MiB
(1048576 bytes) limit; keep it out of git, or track it with git-lfs
```

## Use instead
Keep generated and large binary files out of git (add them to `.gitignore`),
store them in an artifact store, or track them with git-lfs
(`git lfs track "*.op2"`). Files that must live in the repository can be
exempted with the rule's `exclude` patterns.

## Options
- `limit` (size, default `"1 MiB"`): the largest blob allowed. Units: `B`,
  `KB`/`MB`/`GB` (powers of 1000) and `KiB`/`MiB`/`GiB` (powers of 1024); a
  bare integer is bytes.
- `exclude` (list of gitignore patterns, default `[]`): paths exempt from the
  limit, e.g. `["dashboard/assets/**"]`.
"""

    def check_file(self, entry: FileEntry, data: bytes | None) -> Iterable[Finding]:
        limit = self.settings["limit"]
        assert isinstance(limit, int)
        # Size first: only a file over the limit asks whether its blob is new.
        if entry.size <= limit or entry.is_submodule or not entry.new:
            return ()
        return (
            self.finding(
                entry.path,
                f"file is {format_size(entry.size)} ({entry.size} bytes), "
                f"over the {format_size(limit)} ({limit} bytes) limit; "
                "keep it out of git, or track it with git-lfs",
            ),
        )


RULE = MaxFileSize
