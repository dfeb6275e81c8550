"""The one way Guardian starts git.

- ``run``: one command, both outputs captured, for questions with short
  answers. On POSIX it starts git with ``posix_spawn`` and pumps the pipes
  with ``poll``: importing ``subprocess`` costs a hook more (its imports pull
  in threading, signal and selectors) than running git does.
- ``popen``: a long-lived process whose pipes the caller streams
  (``cat-file --batch``, ``log --raw``), with pipes grown to 1 MiB where the
  system allows, so git and Python do not wake each other for every blob.

Every process gets the same environment: C locale, no terminal prompt, and
no lazy fetch in a partial clone (a missing object is reported, never
fetched one by one).
"""

from __future__ import annotations

import os

from guardian.errors import GitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Sequence
    from typing import IO

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


class Completed:
    """A finished git command (``args``, as run in its directory): exit
    status and both outputs as bytes."""

    __slots__ = ("args", "returncode", "stderr", "stdout")

    def __init__(self, args: Sequence[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.args = list(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run(args: Sequence[str], cwd: str, *, input: bytes | None = None, check: bool = True) -> Completed:
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


#: Size of the pipes of a streamed process, and of the reads from them.
PIPE_SIZE = 1 << 20


def popen(
    args: Sequence[str], cwd: str, *, stdin: int | None = None, stderr: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """git with ``args`` in ``cwd``, its standard output a pipe to stream
    (standard error discarded unless ``stderr`` is given)."""
    import subprocess

    cmd = ["git", "-c", "core.quotepath=false", "-c", "log.showSignature=false", *args]
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            env=environment(),
            bufsize=PIPE_SIZE,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and try again") from None
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            _grow_pipe(pipe.fileno())
    return proc


def _grow_pipe(fd: int) -> None:
    """A pipe of ``PIPE_SIZE`` bytes where the system allows it (Linux):
    with the default 64 KiB, git and Python wake each other for every few
    blobs, and the switches cost more than the bytes."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass  # another system, or over the user's pipe allowance: the default size works
