"""Reports: render a check's ``Result`` or a history scan's ``HistoryResult``
for people or machines. Leaves of the tree: nothing here decides anything.
One module per format (``render`` and ``render_history`` in each), imported
on demand; a new format is one new module here."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.model import HistoryResult, Result

FORMATS = ("text", "json", "sarif", "github", "junit", "gitlab")


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


#: The formats of ``guardian history``.
HISTORY_FORMATS = ("text", "json", "sarif", "github", "junit", "gitlab")


def render_history(result: HistoryResult, fmt: str, *, color: bool = False) -> str:
    module = __import__(f"guardian.report.{fmt}_report", fromlist=["render_history"])
    text: str = module.render_history(result, color=color)
    return text
