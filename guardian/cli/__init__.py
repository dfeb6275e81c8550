"""The ``guardian`` command: parse arguments, call the core, set the exit code.

Exit codes: 0 clean, 1 violations, 2 usage or configuration error, 3 an
internal error (a bug: set ``GUARDIAN_DEBUG=1`` for the traceback).

One module per command group: ``check`` (check, baseline, fix), ``setup``
(init, rules, explain, install), ``history`` (history, audit), ``inventory``; ``options``
holds the options every parser is built from. Start-up matters because
hooks run on every commit: ``--version`` answers before anything is
imported, a hook's ``check`` line skips argparse, and each command imports
only what it uses.
"""

from __future__ import annotations

import os
import sys

from guardian import __version__
from guardian.errors import GuardianError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
COMMANDS = (
    "check",
    "fix",
    "baseline",
    "init",
    "rules",
    "explain",
    "install",
    "uninstall",
    "history",
    "audit",
    "inventory",
)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list == ["--version"]:
        sys.stdout.write(f"guardian {__version__}\n")
        return EXIT_CLEAN
    args_list, files = split_files(args_list)
    args = quick_check_args(args_list)
    if args is None:
        parser = build_parser(args_list[0] if args_list and args_list[0] in COMMANDS else None)
        args = parser.parse_args(args_list)
        if not getattr(args, "command", None):
            parser.print_help()
            return EXIT_USAGE
    if files:
        args.paths = [*getattr(args, "paths", []), *files]
    try:
        code: int = args.func(args)
        return code
    except GuardianError as exc:
        sys.stderr.write(f"guardian: error: {shown(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``guardian check | head``); nothing to report.
        sys.stderr.close()
        return EXIT_VIOLATIONS
    except Exception as exc:
        if os.environ.get("GUARDIAN_DEBUG"):
            raise
        sys.stderr.write(
            f"guardian: internal error: {type(exc).__name__}: {shown(str(exc))} "
            "(set GUARDIAN_DEBUG=1 for a traceback and report it)\n"
        )
        return 3


def shown(message: str) -> str:
    """An error as a terminal may show it: a configuration key or a path in
    it may hold escape sequences."""
    from guardian.output import printable

    return printable(message)


def split_files(argv: list[str]) -> tuple[list[str], list[str]]:
    """(options, file names) of a hook's command line.

    pre-commit runs ``entry + args + file names``, and a hook's entry ends in
    ``--files``: what follows is the hook's ``args:`` then the files. An
    argument that names an existing file is a file, whatever it looks like
    (``-x.py``, even ``--output``); an option ``check`` knows is an option,
    with its value (``--baseline .guardian-baseline.json``); the rest are
    left for the parser, which says what is wrong with them.
    """
    if "--files" not in argv:
        return argv, []
    from guardian.cli.options import CHECK

    known = {option.name: option for option in CHECK}
    at = argv.index("--files")
    options, files = argv[:at], []
    rest = iter(argv[at + 1 :])
    for arg in rest:
        option = known.get(arg.partition("=")[0])
        if os.path.lexists(arg):
            files.append(arg)
        elif option is not None:
            options.append(arg)
            if not option.flag and "=" not in arg:
                value = next(rest, None)
                if value is not None:
                    options.append(value)
        else:
            options.append(arg)
    return options, files


if TYPE_CHECKING:
    from argparse import Namespace as Args
else:

    class Args:
        """Parsed arguments, held as ``argparse.Namespace`` holds them."""

        def __init__(self, **values: object) -> None:
            self.__dict__.update(values)


def quick_check_args(argv: list[str]) -> Args | None:
    """``check``'s arguments as argparse would parse them, for the plain
    command lines hooks and CI run; None for anything else (argparse then
    decides). See ``guardian.cli.options``."""
    if not argv or argv[0] != "check":
        return None
    from guardian.cli import check, options

    values = options.quick_parse(argv[1:], options.CHECK)
    if values is None:
        return None
    return Args(command="check", func=check.cmd_check, **values)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand's (a hook
    pays for one subparser, not nine)."""
    import argparse
    import typing

    class Parser(argparse.ArgumentParser):
        """Usage errors as one line, like every other error, and exit 2."""

        def error(self, message: str) -> typing.NoReturn:
            sys.stderr.write(f"{self.prog}: error: {shown(message)} (see `{self.prog} --help`)\n")
            raise SystemExit(EXIT_USAGE)

    parser: argparse.ArgumentParser = Parser(
        prog="guardian",
        description="Keep a git repository inside its policy.",
        epilog="Exit status: 0 clean, 1 violations found, 2 usage or configuration error.",
    )
    parser.add_argument("--version", action="version", version=f"guardian {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if only in (None, "check", "fix", "baseline"):
        from guardian.cli import check

        check.register(sub, only)
    if only in (None, "init", "rules", "explain", "install", "uninstall"):
        from guardian.cli import setup

        setup.register(sub, only)
    if only in (None, "history", "audit"):
        from guardian.cli import history

        history.register(sub, only)
    if only in (None, "inventory"):
        from guardian.cli import inventory

        inventory.register(sub, only)
    return parser
