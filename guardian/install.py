"""``guardian install``: the plain git hooks, for repositories without pre-commit."""

from __future__ import annotations

import contextlib
import os
import stat

from guardian.errors import GuardianError
from guardian.git import process, queries

#: The line every hook Guardian writes holds, exactly, as its second line:
#: a hook that merely mentions Guardian is somebody else's.
MARKER = b"# guardian-hook: written by `guardian install`."
HOOKS = ("pre-commit", "pre-push")
_HERE = os.path.dirname(os.path.abspath(__file__))


def hook_source(name: str) -> str:
    # Packaged under guardian/_hooks in a wheel; ../hooks in a checkout.
    for directory in (os.path.join(_HERE, "_hooks"), os.path.join(os.path.dirname(_HERE), "hooks")):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise GuardianError(f"the {name} hook script is missing from this installation; reinstall Guardian")


def _ours(path: str) -> bool:
    """Whether ``path`` is a hook Guardian wrote: a regular file (never a
    link, whatever it points to) whose second line is ``MARKER``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.read(fd, 4096).split(b"\n", 2)
    except OSError:
        return False
    finally:
        os.close(fd)
    return len(head) > 2 and head[0].startswith(b"#!") and head[1].rstrip(b"\r") == MARKER


def install_hooks(cwd: str, which: str = "all", *, force: bool = False) -> list[str]:
    """Copy the hooks into the repository's hooks directory (``core.hooksPath``
    respected). A hook Guardian did not write is kept unless ``force``; then
    it is saved beside as ``NAME.guardian-backup``. A hook is always written
    as a new file, so a symbolic link in its place is moved aside, never
    written through."""
    root = queries.toplevel(cwd)
    raw = process.run(["rev-parse", "--git-path", "hooks"], root).stdout.decode("utf-8", "surrogateescape").strip()
    hooks_dir = os.path.join(root, raw)
    names = HOOKS if which == "all" else (which,)
    foreign = []
    for name in names:
        target = os.path.join(hooks_dir, name)
        if os.path.lexists(target) and not _ours(target) and not force:
            foreign.append(target)
    if foreign:
        raise GuardianError(
            f"{', '.join(foreign)} {'already exists and was' if len(foreign) == 1 else 'already exist and were'} "
            "not written by Guardian; "
            "chain it yourself, or pass --force (the old hook is kept as NAME.guardian-backup)"
        )
    try:
        os.makedirs(hooks_dir, exist_ok=True)
    except OSError as exc:
        raise GuardianError(
            f"{hooks_dir}: cannot hold hooks ({exc.strerror}); it must be a directory, fix it or set core.hooksPath"
        ) from None
    done = []
    for name in names:
        target = os.path.join(hooks_dir, name)
        if os.path.lexists(target) and not _ours(target):
            if os.path.lexists(target + ".guardian-backup"):
                raise GuardianError(f"{target}.guardian-backup already exists; move it away and run install again")
            os.replace(target, target + ".guardian-backup")
            done.append(f"kept the previous {name} hook as {target}.guardian-backup")
        with open(hook_source(name), "rb") as fh:
            script = fh.read()
        _write_new(target, script)
        done.append(f"installed {target}")
    return done


def _write_new(path: str, data: bytes) -> None:
    """``data`` as a new executable file at ``path``: written beside it, then
    renamed over it (a rename replaces a link instead of following it)."""
    tmp = f"{path}.guardian-{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise GuardianError(f"{path}: cannot write the hook ({exc.strerror}); nothing was changed") from None
