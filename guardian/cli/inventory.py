"""``guardian inventory``: every module of an old package, mapped or skipped.

Imported whenever the parser is built, so it imports nothing heavy at module
level: the scan lives in ``guardian.scans.inventory``.
"""

from __future__ import annotations

import os
import sys

from guardian.cli import EXIT_CLEAN, EXIT_VIOLATIONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], only: str | None) -> None:
    if only not in (None, "inventory"):
        return
    inventory = sub.add_parser(
        "inventory",
        help="every module of an old package with its migration decision (from forbidden-import's banned table)",
        description=(
            "List every Python module git tracks under OLD_PACKAGE_DIR with its decision from the policy's "
            "forbidden-import `banned` table: the destination module, a skip with its reason, or undecided; "
            "with --target, whether the destination exists there; then totals per subpackage."
        ),
        epilog=(
            "Exit status: 0 every module decided (and, with --target, every destination there), 1 a module "
            "undecided or a destination missing from the target, 2 usage or configuration error."
        ),
    )
    inventory.add_argument("directory", metavar="OLD_PACKAGE_DIR", help="the old package's directory")
    inventory.add_argument(
        "--target",
        metavar="DIR",
        help="the new repository's checkout (or this one): say whether each destination exists",
    )
    inventory.add_argument(
        "--format", choices=("text", "markdown", "csv", "json"), default="text", help="report format (default: text)"
    )
    inventory.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    inventory.add_argument(
        "--strict",
        action="store_true",
        help="a module only the package's catch-all entry maps is undecided: ask for explicit decisions",
    )
    inventory.add_argument(
        "--config", metavar="FILE", help="policy file (default: nearest .guardian.toml or pyproject.toml)"
    )
    inventory.set_defaults(func=cmd_inventory)


def cmd_inventory(args: argparse.Namespace) -> int:
    from guardian.config import load_policy
    from guardian.output import emit, printable
    from guardian.report.inventory_report import render
    from guardian.scans.inventory import build_inventory

    policy = load_policy(args.config, start=os.getcwd())
    inventory = build_inventory(args.directory, policy, target=args.target, strict=args.strict)
    emit(render(inventory, args.format), args.output)
    if args.output:
        from guardian.report.inventory_report import verdict

        sys.stderr.write(f"guardian: {printable(verdict(inventory))} Inventory written to {printable(args.output)}.\n")
    return EXIT_VIOLATIONS if inventory.failed else EXIT_CLEAN
