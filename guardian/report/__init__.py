"""Reports: render a ``Result`` for people or machines. Leaves of the tree:
nothing here decides anything. One module per format, imported on demand."""

from __future__ import annotations

import importlib
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.engine import Result

FORMATS = ("text", "json", "sarif", "github")


def use_color(stream: object) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def emit(text: str, output: str | None) -> None:
    """A report to ``output`` (written atomically) or to standard output."""
    if output:
        from guardian.fixer import write_atomic

        write_atomic(output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def render(result: Result, fmt: str, *, color: bool = False) -> str:
    module = importlib.import_module(f"guardian.report.{fmt}_report")
    text: str = module.render(result, color=color)
    return text
