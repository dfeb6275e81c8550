"""Reading a user's files: the input side of ``guardian.output``.

Every read of a file on disk goes through ``read_file``: it follows no
symbolic link put in a file's place (unless asked: a configuration file may
be one), never blocks on a FIFO or a device, and never reads past its bound,
so a FIFO in the tree cannot hang a check and a 3 GiB file costs nothing.
"""

from __future__ import annotations

import os
import stat

_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def read_file(
    path: str, *, max_size: int, size: int = -1, follow: bool = False, limit_name: str = "max-content-size"
) -> tuple[bytes | None, str]:
    """(bytes, "") of the regular file at ``path``, or (None, why not).

    Every read of a user's file goes through here: it follows no symbolic
    link put in a file's place (unless ``follow``: a configuration file may
    be one), never blocks on a FIFO or a device, and never reads past
    ``max_size`` (or past ``size``, when the caller knows the size it
    expects), so a 3 GiB file costs nothing."""
    flags = _OPEN_FLAGS & ~_NOFOLLOW if follow else _OPEN_FLAGS
    try:
        fd = os.open(path, os.O_RDONLY | flags)
    except OSError as exc:
        if not follow and _NOFOLLOW and os.path.islink(path):
            return None, "a symbolic link, which is not followed"
        return None, f"cannot be read ({exc.strerror})"
    except ValueError:  # a NUL in the name
        return None, "cannot be read (invalid file name)"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, f"not a regular file ({_kind_of(st.st_mode)})"
        if size >= 0 and st.st_size != size:
            return None, "changed while it was read"
        if st.st_size > max_size:
            return None, f"{st.st_size} bytes, over {limit_name} ({max_size} bytes)"
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(st.st_size + 1)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        return None, "changed while it was read"
    return data, ""


def _kind_of(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"
