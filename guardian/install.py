"""``guardian install``: the plain git hooks, for repositories without pre-commit."""

from __future__ import annotations

import os
import shutil

from guardian import git
from guardian.errors import GuardianError

MARKER = b"guardian-hook"
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
    """Whether ``path`` is a hook Guardian wrote (a dangling link, a
    directory or an unreadable file is not)."""
    try:
        with open(path, "rb") as fh:
            return MARKER in fh.read(65536)
    except OSError:
        return False


def install_hooks(cwd: str, which: str = "all", *, force: bool = False) -> list[str]:
    """Copy the hooks into the repository's hooks directory (``core.hooksPath``
    respected). A hook Guardian did not write is kept unless ``force``; then
    it is saved beside as ``NAME.guardian-backup``."""
    root = git.toplevel(cwd)
    raw = git.git(["rev-parse", "--git-path", "hooks"], root).stdout.decode("utf-8", "surrogateescape").strip()
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
    os.makedirs(hooks_dir, exist_ok=True)
    done = []
    for name in names:
        target = os.path.join(hooks_dir, name)
        if os.path.lexists(target) and not _ours(target):
            if os.path.lexists(target + ".guardian-backup"):
                raise GuardianError(f"{target}.guardian-backup already exists; move it away and run install again")
            os.replace(target, target + ".guardian-backup")
            done.append(f"kept the previous {name} hook as {target}.guardian-backup")
        shutil.copyfile(hook_source(name), target)
        os.chmod(target, 0o755)
        done.append(f"installed {target}")
    return done
