"""Reports: render a ``Result`` for people or machines. Leaves of the tree:
nothing here decides anything. One module per format, imported on demand."""

from __future__ import annotations

import os

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


def render(result: Result, fmt: str, *, color: bool = False) -> str:
    module = __import__(f"guardian.report.{fmt}_report", fromlist=["render"])
    text: str = module.render(result, color=color)
    return text
