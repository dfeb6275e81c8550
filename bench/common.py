"""What the benchmarks share: finding the tools they run."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The path of a command: this venv's first, then PATH; exit with an
    install hint when it is missing."""
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        sys.exit(f"bench: {name} not found; install the benchmark tools: pip install -e '.[bench]'")
    return path
