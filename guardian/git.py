"""git plumbing, asked in batches.

Every question goes to git as one process for many files: ``ls-files -s -z``
for the index, ``diff-index``/``rev-list --objects`` for what changed, and one
``cat-file --batch-check`` or ``--batch`` process for every blob's size or
bytes. Never a process per file.
"""

from __future__ import annotations

import os

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


def environment() -> dict[str, str]:
    env = dict(os.environ)
    # Hooks run with GIT_DIR/GIT_INDEX_FILE set by git itself; keep those.
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    # Guardian only reads. In a partial clone a missing blob is reported,
    # never fetched one by one: GIT_NO_LAZY_FETCH from git 2.44, and before
    # that a refused protocol makes each lazy fetch fail at once.
    env["GIT_NO_LAZY_FETCH"] = "1"
    env["GIT_ALLOW_PROTOCOL"] = "guardian-no-fetch"
    return env


_PARTIAL: dict[str, bool] = {}
_MISSING: dict[str, frozenset[str]] = {}


def is_partial(cwd: str) -> bool:
    """Whether the repository is a partial clone (objects may be missing)."""
    if cwd not in _PARTIAL:
        out = git(["config", "--get-regexp", r"^(remote\..*\.promisor|extensions\.partialclone)$"], cwd, check=False)
        _PARTIAL[cwd] = bool(out.stdout.strip())
    return _PARTIAL[cwd]


def missing_objects(cwd: str) -> frozenset[str]:
    """Ids of the objects a partial clone does not have, among those reachable
    from any ref or the index (empty for a complete repository). git stops
    at the first missing object when asked for it, so it is asked for this
    list instead, once per run."""
    if not is_partial(cwd):
        return frozenset()
    if cwd not in _MISSING:
        out = git(["rev-list", "--objects", "--all", "--indexed-objects", "--missing=print"], cwd, check=False)
        _MISSING[cwd] = frozenset(line[1:].decode() for line in out.stdout.splitlines() if line.startswith(b"?"))
    return _MISSING[cwd]


class Completed:
    """A finished git command (``args``, as run in its directory): exit
    status and both outputs as bytes."""

    __slots__ = ("args", "returncode", "stderr", "stdout")

    def __init__(self, args: Sequence[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.args = list(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def git(args: Sequence[str], cwd: str, *, input: bytes | None = None, check: bool = True) -> Completed:
    """Run one git command and return its output as bytes."""
    cmd = ["git", "-c", "core.quotepath=false", *args]
    try:
        if hasattr(os, "posix_spawnp"):
            code, out, err = _spawn(cmd, cwd, input)
        else:
            import subprocess

            proc = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, env=environment())
            code, out, err = proc.returncode, proc.stdout, proc.stderr
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and try again") from None
    if check and code != 0:
        message = err.decode("utf-8", "replace").strip().splitlines()
        first = message[-1] if message else f"exit status {code}"
        raise GitError(f"git {' '.join(args[:2])} failed in {cwd}: {first}")
    return Completed(cmd, code, out, err)


def _spawn(cmd: list[str], cwd: str, input: bytes | None) -> tuple[int, bytes, bytes]:
    """``subprocess.run(cmd, cwd=cwd, input=input, capture_output=True)``
    without importing ``subprocess``, which costs a hook more (its imports
    pull in threading, signal and selectors) than running git does.

    ``git -C`` stands in for the working directory, ``poll`` pumps the
    three pipes so that no side waits on a full one, and the child gets
    SIGPIPE's default action back (Python ignores it, and the child would
    inherit that)."""
    import _signal  # type: ignore[import-not-found]  # built in; `signal` would import enum
    import select

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe() if input else (-1, -1)
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
    ]
    if input:
        actions.append((os.POSIX_SPAWN_DUP2, in_r, 0))
    else:
        actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
    try:
        pid = os.posix_spawnp(
            "git",
            [cmd[0], "-C", cwd, *cmd[1:]],
            environment(),
            file_actions=actions,
            setsigdef=(_signal.SIGPIPE,),
        )
    except BaseException:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        raise
    finally:
        for fd in (out_w, err_w, in_r):
            if fd >= 0:
                os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    pending = memoryview(input or b"")
    if in_w >= 0:
        os.set_blocking(in_w, False)
        poller.register(in_w, select.POLLOUT)
    alive = len(chunks) + (in_w >= 0)
    try:
        while alive:
            for fd, _event in poller.poll():
                if fd == in_w:
                    try:
                        pending = pending[os.write(in_w, pending[:65536]) :]
                    except BlockingIOError:
                        continue
                    except OSError:  # git stopped reading (it exited): drop the rest
                        pending = pending[:0]
                    if not pending:
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = -1
                        alive -= 1
                    continue
                data = os.read(fd, 1 << 20)
                if data:
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    alive -= 1
    finally:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        try:
            _pid, status = os.waitpid(pid, 0)
        except ChildProcessError:
            # SIGCHLD ignored by whoever started us: the child was reaped
            # already and its status is lost (subprocess answers 0 too).
            status = 0
    return os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]), b"".join(chunks[err_r])


def toplevel(cwd: str) -> str:
    """The root of the work tree containing ``cwd``."""
    proc = git(["rev-parse", "--show-toplevel", "--git-path", "objects"], cwd, check=False)
    if proc.returncode != 0:
        raise GitError(f"{os.path.abspath(cwd)} is not inside a git work tree; run Guardian in a repository")
    # Two lines, but a directory name may hold a newline (or anything
    # ``splitlines`` splits on): the objects path is the last line, and both
    # must be directories, or only the root is asked for again.
    top, _, objects = decode_path(proc.stdout).removesuffix("\n").rpartition("\n")
    objects = os.path.join(os.path.abspath(cwd), objects)
    if top and os.path.isdir(top) and os.path.isdir(objects):
        # Where objects live, for ``loose_object``: the same question answers it.
        _OBJECTS[top] = objects
        return top
    proc = git(["rev-parse", "--show-toplevel"], cwd)
    return decode_path(proc.stdout).removesuffix("\n")


_OBJECTS: dict[str, str] = {}


def loose_object(root: str, oid: str, max_size: int) -> tuple[int, bytes | None] | None:
    """(size, bytes) of a blob stored as a loose object, read directly: what
    ``git add`` just wrote, so a hook's few files need no git process. The
    bytes are None when the blob is over ``max_size``. None when the blob is
    not loose (packed, in an alternate, missing) or ``root`` was not located
    by ``toplevel``: ask git then."""
    objects = _OBJECTS.get(root)
    if objects is None or len(oid) < 3:
        return None
    import zlib

    try:
        with open(os.path.join(objects, oid[:2], oid[2:]), "rb") as fh:
            stream = zlib.decompressobj()
            head = stream.decompress(fh.read(4096), 64)
            kind, _, rest = head.partition(b" ")
            size_text, nul, body = rest.partition(b"\0")
            if kind != b"blob" or not nul or not size_text.isdigit():
                return None
            size = int(size_text)
            if size > max_size:
                return size, None
            parts = [body, stream.decompress(stream.unconsumed_tail)]
            while not stream.eof:
                chunk = fh.read(1 << 16)
                if not chunk:
                    return None
                parts.append(stream.decompress(chunk))
    except (OSError, zlib.error):
        return None
    data = b"".join(parts)
    return (size, data) if len(data) == size else None


def repository(cwd: str) -> tuple[str, bool]:
    """Where to run git for history questions, and whether it is bare: the
    work tree's root, or the repository itself (a ``--mirror`` clone)."""
    proc = git(["rev-parse", "--is-bare-repository", "--absolute-git-dir"], cwd, check=False)
    bare, _, git_dir = decode_path(proc.stdout).removesuffix("\n").partition("\n")
    if proc.returncode == 0 and bare == "true" and git_dir:
        return git_dir, True
    return toplevel(cwd), False


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
    if not out:
        return []
    # Every record is "MODE OID STAGE\tPATH" with fields of fixed widths (the
    # id's width depends on the hash), so slicing beats splitting each one.
    records = decode_path(out).split("\0")
    tab = records[0].index("\t")
    stage, oid_end = tab - 1, tab - 2
    return [(r[:6], r[7:oid_end], r[tab + 1 :]) for r in records if r and r[stage] == "0"]


def ls_tree_ids(rev: str, cwd: str) -> list[tuple[str, str, str]]:
    """(mode, oid, path) of every blob and gitlink in a commit's tree, sizes
    left out (``ls-tree -l`` must read every blob's header)."""
    rows = []
    for record in git(["ls-tree", "-r", "-z", "--full-tree", rev], cwd).stdout.split(b"\0"):
        if record:
            meta, _, raw_path = record.partition(b"\t")
            mode, _kind, oid = meta.decode().split()
            rows.append((mode, oid, decode_path(raw_path)))
    return rows


def ls_tree(rev: str, cwd: str) -> list[tuple[str, str, int, str]]:
    """(mode, oid, size, path) of every blob and gitlink in a commit's tree;
    size -1 for a blob the repository does not have."""
    if missing_objects(cwd):
        # ``ls-tree -l`` dies on a missing blob: list, then size what is there.
        rows = ls_tree_ids(rev, cwd)
        sizes = batch_check([oid for mode, oid, _path in rows if mode != "160000"], cwd)
        return [(mode, oid, sizes.get(oid, 0 if mode == "160000" else -1), path) for mode, oid, path in rows]
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
    absent = missing_objects(cwd)
    wanted = [oid for oid in dict.fromkeys(oids) if oid not in absent]
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
        absent = missing_objects(self.cwd)
        if absent:
            present = [oid for oid in oids if oid not in absent]
            contents = dict(self._read(present)) if present else {}
            for oid in oids:
                yield oid, contents.get(oid)
            return
        yield from self._read(oids)

    def _read(self, oids: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        if not oids:
            return
        import subprocess

        request = ("\n".join(oids) + "\n").encode()
        try:
            proc = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=environment(),
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
