"""A one-line progress display on standard error for long scans.

It draws only when standard error is a terminal (and the caller did not ask
for quiet), redraws at most ten times a second, and erases itself when done,
so reports on standard output and logs of non-interactive runs never see it.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

_INTERVAL = 0.1
_BAR = 20


def wanted(*, quiet: bool, stream: TextIO | None = None) -> bool:
    """True when a progress display makes sense: a terminal, not quiet."""
    stream = sys.stderr if stream is None else stream
    if quiet or stream is None or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """``update(done, total)`` as often as convenient; ``close()`` at the end.

    ``total`` may be None while unknown: the count and rate are shown
    without a bar. A disabled Progress costs one attribute test per call.
    """

    def __init__(self, label: str, unit: str, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.label = label
        self.unit = unit
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.total: int | None = None
        self._start = time.monotonic()
        self._last = 0.0
        self._width = 0
        self.extra = ""

    def stage(self, label: str, unit: str, total: int | None = None) -> None:
        """Start a new stage of the same display (a new label and count)."""
        self.label, self.unit, self.total = label, unit, total
        self._start = time.monotonic()
        self._last = 0.0
        self.extra = ""

    def update(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < _INTERVAL:
            return
        self._last = now
        if total is not None:
            self.total = total
        elapsed = max(now - self._start, 1e-6)
        rate = done / elapsed
        if self.total:
            share = min(done / self.total, 1.0)
            filled = int(share * _BAR)
            bar = "#" * filled + "-" * (_BAR - filled)
            text = f"{self.label} [{bar}] {done:,}/{self.total:,} {self.unit} {rate:,.0f}/s"
        else:
            text = f"{self.label} {done:,} {self.unit} {rate:,.0f}/s"
        if self.extra:
            text += f" {self.extra}"
        self._draw(text)

    def _draw(self, text: str) -> None:
        pad = max(self._width - len(text), 0)
        try:
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False
        self._width = len(text)

    def close(self) -> None:
        """Erase the line, leaving the terminal as it was."""
        if self.enabled and self._width:
            self._draw("")
            try:
                self.stream.write("\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self._width = 0
