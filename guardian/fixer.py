"""Applying fixes: the only place Guardian writes a user's files.

Writes are atomic (a temporary file in the same directory, fsync, rename) and
keep the file's permissions. Symlinks are never written through. Rules return
the new bytes, so line endings and encoding are theirs to keep. A fix is
written only over the very bytes it was computed from: a file edited since
it was read, or a read-only one, is left as it is.
"""

from __future__ import annotations

import os
import stat

from guardian.errors import GuardianError


def write_atomic(path: str, data: bytes) -> None:
    """``path`` rewritten atomically, keeping its permissions; never through
    a symbolic link."""
    from guardian.output import replace_file

    if os.path.islink(path):
        raise GuardianError(f"{path}: is a symlink; Guardian does not write through symlinks, fix it by hand")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o644
    replace_file(path, data, mode)


def replace_if_unchanged(path: str, expected: bytes | None, data: bytes) -> str:
    """Write ``data`` to ``path`` unless it no longer holds ``expected``
    (None: the file did not exist) or is read-only. "" when written,
    otherwise why it was left alone."""
    from guardian.files import read_file

    if expected is None:
        if os.path.lexists(path):
            return "it was created since Guardian looked; run `guardian fix` again"
    else:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return "it was removed since Guardian read it"
        if stat.S_ISREG(mode) and not mode & 0o222:
            return "it is read-only; make it writable and run `guardian fix` again, or edit it by hand"
        current, _why = read_file(path, max_size=len(expected), size=len(expected))
        if current != expected:
            return "it changed since Guardian read it; run `guardian fix` again"
    write_atomic(path, data)
    return ""
