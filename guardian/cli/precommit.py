"""Repository findings once per ``pre-commit run``, however it splits the files.

pre-commit hands a hook its files on the command line and, past the
system's argument limit (a few thousand paths), runs the hook several times,
each with a share of them, even with ``require_serial``. File findings come
out once (each file is in one share), but a repository rule judges the whole
tree every time: each share would report the same missing ``.gitignore``
pattern or the same directory over budget.

So, under pre-commit (``PRE_COMMIT=1``), the invocations of one run share a
small record in the git directory, keyed by the pre-commit process (their
common parent) and the index they judge: each repository finding is
reported by the first invocation that makes it, and left out by the others.
A new run (a retried commit) is a new process, so it reports afresh. Records
older than a day are removed.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection

    from guardian.model import Finding

_STALE_SECONDS = 24 * 3600


def under_pre_commit() -> bool:
    return os.environ.get("PRE_COMMIT") == "1"


def report_once(findings: list[Finding], repo_rules: Collection[str], root: str, *, kind: str = "") -> list[Finding]:
    """``findings`` without the repository findings an earlier invocation of
    this pre-commit run already reported (and remembered for the later ones)."""
    try:
        import fcntl
    except ImportError:  # Windows: no shared record; every share reports
        return findings
    if not any(f.rule in repo_rules for f in findings):
        return findings
    from guardian.git import queries

    try:
        index_path, git_dir = queries.git_paths(root, "index", "")
        directory = os.path.join(git_dir, "guardian", "pre-commit")
        os.makedirs(directory, exist_ok=True)
        _remove_stale(directory)
        index = os.stat(os.environ.get("GIT_INDEX_FILE") or index_path)
        key = f"{os.getppid()}-{index.st_ino}-{index.st_size}-{index.st_mtime_ns}{kind and '-' + kind}"
        fd = os.open(os.path.join(directory, key), os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError:
        return findings  # a read-only git directory: better twice than never
    with os.fdopen(fd, "r+b") as record:
        fcntl.flock(record, fcntl.LOCK_EX)
        seen = set(record.read().splitlines())
        kept, new = [], []
        for f in findings:
            if f.rule not in repo_rules:
                kept.append(f)
                continue
            line = "\0".join((f.rule, f.path, f.message, str(f.line))).encode("utf-8", "surrogateescape")
            line = line.replace(b"\n", b"\\n")
            if line not in seen:
                kept.append(f)
                new.append(line + b"\n")
        record.seek(0, os.SEEK_END)
        record.write(b"".join(new))
    return kept


def _remove_stale(directory: str) -> None:
    import time

    cutoff = time.time() - _STALE_SECONDS
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        try:
            if os.lstat(path).st_mtime < cutoff:
                os.unlink(path)
        except OSError:
            continue
