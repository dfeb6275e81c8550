"""`guardian history` and `guardian audit` (placeholder until they land)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    policy_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add the history and audit subcommands to the ``guardian`` parser."""
