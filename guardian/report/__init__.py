"""Reports: render a ``Result`` for people or machines. Leaves of the tree:
nothing here decides anything. One module per format, imported on demand."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.engine import Result

FORMATS = ("text", "json", "sarif", "github")


def render(result: Result, fmt: str, *, color: bool = False) -> str:
    module = importlib.import_module(f"guardian.report.{fmt}_report")
    text: str = module.render(result, color=color)
    return text
