"""The purge script: a shell script that removes oversized blobs from all of
history with ``git filter-repo``.

Guardian never rewrites history itself: the script refuses to run without
``--i-understand``, and its header says what the rewrite does to everyone.
Every name from the repository in it is escaped, so none can end a comment
and start a command.
"""

from __future__ import annotations

from guardian.units import format_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.model import HistoryResult


def _comment(text: str) -> str:
    """Text from a repository as it may stand in a shell comment: ASCII with
    escapes, so no newline (or anything a shell or terminal reads as one)
    can end the comment and start a command."""
    return text.encode("unicode_escape").decode("ascii")


def purge_script(result: HistoryResult, root: str) -> str:
    """A shell script that removes the offending blobs with ``git filter-repo``.

    Guardian never rewrites history itself: the script refuses to run
    without ``--i-understand``, and says what the rewrite does to everyone.
    """
    import datetime

    large = result.large
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    total = sum(item.size for item in large)
    lines = [
        "#!/bin/sh",
        f"# Written by `guardian history` on {now} for {_comment(root)}.",
        f"# Removes {len(large)} blobs ({format_size(total)}) over the max-file-size limit from ALL of history,",
        "# with git filter-repo (https://github.com/newren/git-filter-repo).",
        "#",
        "# WARNING: THIS REWRITES HISTORY. Every commit from the one that introduced",
        "# the first of these blobs onwards gets a new id, on every branch and tag.",
        "#  - Run it in a fresh mirror clone, not in your working copy:",
        "#        git clone --mirror <url> repo-purge && cd repo-purge && sh /path/to/this-script --i-understand",
        "#  - Then publish the result: git push --force --mirror origin",
        "#    (filter-repo drops the origin remote as a safety catch; this script puts",
        "#    it back, because you said --i-understand)",
        "#  - Every collaborator must then re-clone (or hard-reset each branch onto the",
        "#    rewritten one); merging an old clone back brings the blobs back.",
        "#  - Open pull requests must be re-created; forks and caches (CI, GitHub's",
        "#    cached views) keep the old objects until they are cleaned up too.",
        "#  - Signed commits and tags lose their signatures.",
        "#  - A blob still present at HEAD disappears from the current tree as well:",
        "#    commit a replacement (git-lfs, an artifact store) first if it is needed.",
        "#",
        "# Blobs (size, first path, where it stands):",
    ]
    for item in large:
        notes = []
        if item.at_head:
            notes.append("STILL AT HEAD")
        if item.exempt_paths:
            notes.append(f"also stored under exempt path '{_comment(item.exempt_paths[0])}', which loses it too")
        note = f" [{'; '.join(notes)}]" if notes else ""
        shown = _comment(item.paths[0])
        lines.append(f"#   {item.oid}  {format_size(item.size):>10}  {shown}{note}")
    lines += [
        "",
        "set -eu",
        'if [ "${1:-}" != "--i-understand" ]; then',
        '    echo "This script rewrites the history of the repository it runs in. Read its header," >&2',
        '    echo "then run it in a fresh mirror clone as: sh $0 --i-understand" >&2',
        "    exit 2",
        "fi",
        "if ! git filter-repo --version >/dev/null 2>&1; then",
        '    echo "git filter-repo is not installed (pip install git-filter-repo)" >&2',
        "    exit 2",
        "fi",
        'ids=$(mktemp "${TMPDIR:-/tmp}/guardian-purge.XXXXXX")',
        "trap 'rm -f \"$ids\"' EXIT",
        "cat > \"$ids\" <<'GUARDIAN_BLOB_IDS'",
        *(item.oid for item in large),
        "GUARDIAN_BLOB_IDS",
        "origin=$(git remote get-url origin 2>/dev/null || true)",
        'git filter-repo --strip-blobs-with-ids "$ids"',
        'if [ -n "$origin" ] && ! git remote get-url origin >/dev/null 2>&1; then',
        '    git remote add origin "$origin"',
        "fi",
        (
            'echo "Done. Check the result, then: git push --force --mirror origin;'
            ' tell every collaborator to re-clone." >&2'
        ),
        "",
    ]
    return "\n".join(lines)
