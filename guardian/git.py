"""git plumbing, asked in batches.

Every question goes to git as one process for many files: ``ls-files -s -z``
for the index, ``diff-index``/``rev-list --objects`` for what changed, and one
``cat-file --batch-check`` or ``--batch`` process for every blob's size or
bytes. Never a process per file.
"""

from __future__ import annotations

import os
import subprocess

from guardian.errors import GitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

# Paths as bytes are decoded with surrogateescape so that any file name git
# holds round-trips to the file system unchanged.
FS_ENCODING = "utf-8"


def decode_path(raw: bytes) -> str:
    return raw.decode(FS_ENCODING, "surrogateescape")


def encode_path(path: str) -> bytes:
    return path.encode(FS_ENCODING, "surrogateescape")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Hooks run with GIT_DIR/GIT_INDEX_FILE set by git itself; keep those.
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    return env


def git(
    args: Sequence[str], cwd: str, *, input: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command and return its output as bytes."""
    cmd = ["git", "-c", "core.quotepath=false", *args]
    try:
        proc = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, env=_env())
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and try again") from None
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        first = message[-1] if message else f"exit status {proc.returncode}"
        raise GitError(f"git {' '.join(args[:2])} failed in {cwd}: {first}")
    return proc


def toplevel(cwd: str) -> str:
    """The root of the work tree containing ``cwd``."""
    proc = git(["rev-parse", "--show-toplevel"], cwd, check=False)
    if proc.returncode != 0:
        raise GitError(f"{os.path.abspath(cwd)} is not inside a git work tree; run Guardian in a repository")
    return proc.stdout.decode("utf-8", "surrogateescape").rstrip("\n")


def resolve(rev: str, cwd: str) -> str | None:
    """The commit id for ``rev``, or None if it does not name a commit."""
    proc = git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def ls_files_stage(cwd: str, paths: Sequence[str] = ()) -> list[tuple[str, str, str]]:
    """(mode, oid, path) of index entries, stage 0 only (merge conflicts skip)."""
    args = ["ls-files", "-s", "-z"]
    if paths:
        args += ["--", *(":(literal)" + p for p in paths)]
    out = git(args, cwd).stdout
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, oid, stage = meta.decode().split()
        if stage == "0":
            entries.append((mode, oid, decode_path(raw_path)))
    return entries


def ls_tree(rev: str, cwd: str) -> list[tuple[str, str, int, str]]:
    """(mode, oid, size, path) of every blob and gitlink in a commit's tree."""
    out = git(["ls-tree", "-r", "-l", "-z", "--full-tree", rev], cwd).stdout
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, _kind, oid, size = meta.decode().split()
        # "-" for a gitlink; "BAD" when the blob is missing (a partial clone).
        entries.append((mode, oid, int(size) if size.isdigit() else (0 if size == "-" else -1), decode_path(raw_path)))
    return entries


def batch_check(oids: Iterable[str], cwd: str) -> dict[str, int]:
    """Sizes of objects from one ``cat-file --batch-check`` process; missing
    objects (partial clones) are left out."""
    wanted = list(dict.fromkeys(oids))
    if not wanted:
        return {}
    proc = git(
        ["cat-file", "--batch-check=%(objectname) %(objectsize)"],
        cwd,
        input=("\n".join(wanted) + "\n").encode(),
    )
    sizes: dict[str, int] = {}
    for line in proc.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


class CatFile:
    """One ``git cat-file --batch`` process streaming many blobs.

    ``read_many`` writes the requests from a thread while the caller reads,
    so neither side waits on a full pipe, and each blob's bytes are handed
    over and released one at a time.
    """

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd

    def read_many(self, oids: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        if not oids:
            return
        request = ("\n".join(oids) + "\n").encode()
        try:
            proc = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_env(),
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH; install git and try again") from None
        assert proc.stdin is not None and proc.stdout is not None
        writer = None
        if len(request) <= 32768:
            # Fits in any pipe buffer: no thread needed.
            proc.stdin.write(request)
            proc.stdin.close()
        else:
            import threading

            def feed() -> None:
                assert proc.stdin is not None
                try:
                    proc.stdin.write(request)
                    proc.stdin.close()
                except (BrokenPipeError, OSError):
                    pass

            writer = threading.Thread(target=feed, daemon=True)
            writer.start()
        out = proc.stdout
        try:
            for oid in oids:
                header = out.readline()
                if not header:
                    raise GitError(f"git cat-file stopped early in {self.cwd} (object {oid})")
                parts = header.split()
                if len(parts) < 3 or parts[1] == b"missing":
                    # Partial clone or a removed loose object: no bytes.
                    yield oid, None
                    continue
                size = int(parts[2])
                data = out.read(size)
                out.read(1)  # the newline after the content
                yield oid, data
        finally:
            out.close()
            proc.wait()
            if writer is not None:
                writer.join()
