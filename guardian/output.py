"""Where text leaves Guardian: standard output, a file named by ``--output``
(or any other file Guardian writes on request), and the escaping a terminal
needs. A leaf: it knows nothing of findings or rules.

A named file is written so that nothing is lost and nothing special is
replaced:

- ``-`` is standard output;
- a FIFO, a character device (``/dev/null``, a terminal) or a socket is
  opened and written as it is, never replaced by a regular file (as root,
  replacing ``/dev/null`` breaks every later program on the machine);
- a regular file (or a new one) is written beside itself and renamed over,
  so a reader never sees half a report; through a symbolic link, the file
  the link names is the one replaced, and the link stays.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys

from guardian.errors import GuardianError


def printable(text: str) -> str:
    """``text`` with every character a terminal could act on (C0 and C1
    controls, format characters such as U+202E, lone surrogates from
    non-UTF-8 bytes) written as a Python escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def json_text(value: object) -> str:
    """Indented JSON, UTF-8 where possible; a file name that is not UTF-8 is
    written with ``\\u`` escapes, so the document stays valid JSON."""
    import json

    text = json.dumps(value, indent=2, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, indent=2, ensure_ascii=True)
    return text + "\n"


def emit(text: str, output: str | None) -> None:
    """A report to ``output`` or to standard output (``None`` or ``-``).

    File names that are not UTF-8 reach us as surrogates; they go out as the
    bytes git holds, whatever the terminal's encoding."""
    write_output(output or "-", text.encode("utf-8", "surrogateescape"))


def write_output(path: str, data: bytes, *, mode: int | None = None) -> None:
    """``data`` to the file ``path`` names, as the module docstring says;
    ``mode`` sets a new or replaced regular file's permissions."""
    if path == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = os.path.realpath(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise GuardianError(f"{path}: cannot write it ({exc.strerror}); nothing was written") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise GuardianError(f"{path}: is a directory; name a file to write")
        _write_special(path, target, data)
        return
    keep = stat.S_IMODE(st.st_mode) if st is not None else 0o644
    replace_file(target, data, keep if mode is None else mode, shown=path)


def _write_special(path: str, target: str, data: bytes) -> None:
    """Write into a FIFO or a device as it stands: no create, no truncate."""
    try:
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise GuardianError(f"{path}: cannot open it for writing ({exc.strerror}); nothing was written") from None
    try:
        _write_all(fd, data)
    except OSError as exc:
        raise GuardianError(f"{path}: writing failed ({exc.strerror})") from None
    finally:
        os.close(fd)


def replace_file(target: str, data: bytes, mode: int, *, shown: str = "") -> None:
    """``target`` replaced atomically by a new file holding ``data`` (written
    beside it, synced, renamed over it), with permissions ``mode``."""
    path = shown or target
    directory = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(directory, f".{os.path.basename(target)}.guardian-{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise GuardianError(f"{path}: cannot write it ({exc.strerror}); nothing was changed") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
