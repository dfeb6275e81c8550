"""Reports: render a ``Result`` for people or machines. Leaves of the tree:
nothing here decides anything. One module per format, imported on demand."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.model import Result

FORMATS = ("text", "json", "sarif", "github")


def use_color(stream: object) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def emit(text: str, output: str | None) -> None:
    """A report to ``output`` (written atomically) or to standard output.

    File names that are not UTF-8 reach us as surrogates; they go out as the
    bytes git holds, whatever the terminal's encoding."""
    data = text.encode("utf-8", "surrogateescape")
    if output:
        from guardian.fixer import write_atomic

        write_atomic(output, data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


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


def render(result: Result, fmt: str, *, color: bool = False) -> str:
    module = __import__(f"guardian.report.{fmt}_report", fromlist=["render"])
    text: str = module.render(result, color=color)
    return text
