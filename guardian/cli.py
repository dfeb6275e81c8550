"""The ``guardian`` command: parse arguments, call the core, set the exit code.

Exit codes: 0 clean, 1 violations, 2 usage or configuration error.

Start-up matters because hooks run on every commit: ``--version`` answers
before argparse is imported, and each subcommand imports only what it uses.
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

    from guardian.config import Policy
    from guardian.model import Result, Snapshot

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
DEFAULT_BASELINE = ".guardian-baseline.json"


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
        sys.stderr.write(f"guardian: error: {_shown(str(exc))}\n")
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
            f"guardian: internal error: {type(exc).__name__}: {_shown(str(exc))} "
            "(set GUARDIAN_DEBUG=1 for a traceback and report it)\n"
        )
        return 3


def _shown(message: str) -> str:
    """An error as a terminal may show it: a configuration key or a path in
    it may hold escape sequences."""
    from guardian.output import printable

    return printable(message)


# -- arguments ----------------------------------------------------------------


def split_files(argv: list[str]) -> tuple[list[str], list[str]]:
    """(options, file names) of a hook's command line.

    pre-commit runs ``entry + args + file names``, and a file name may look
    like an option (``-x.py``, even ``--output``). After ``--files`` every
    argument that names an existing file is a file, whatever it looks like;
    the others (a hook's ``args:``) are options, written ``--opt=value``.
    """
    if "--files" not in argv:
        return argv, []
    at = argv.index("--files")
    rest = argv[at + 1 :]
    return argv[:at] + [a for a in rest if not os.path.lexists(a)], [a for a in rest if os.path.lexists(a)]


if TYPE_CHECKING:
    from argparse import Namespace as Args
else:

    class Args:
        """Parsed arguments, held as ``argparse.Namespace`` holds them."""

        def __init__(self, **values: object) -> None:
            self.__dict__.update(values)


#: ``check``'s options that take a value, and their defaults.
_CHECK_VALUES: dict[str, object] = {
    "--rev-range": None,
    "--config": None,
    "--select": None,
    "--ignore": [],
    "--format": "text",
    "--output": None,
    "--baseline": None,
}
#: ``check``'s flags; at most one of the first four (the source).
_CHECK_FLAGS = ("--staged", "--all-files", "--pre-push", "--exit-zero")


def quick_check_args(argv: list[str]) -> Args | None:
    """``check``'s arguments as argparse would parse them, for the plain
    command lines hooks and CI run; None for anything else (help, short or
    abbreviated options, ``--``, errors), which argparse then handles.

    A hook runs on every commit, and argparse with what it imports
    (gettext, shutil, ...) costs more than the rest of a small check.
    """
    if not argv or argv[0] != "check":
        return None
    paths: list[str] = []
    values: dict[str, object] = {"command": "check", "paths": paths, "func": cmd_check}
    values.update({flag[2:].replace("-", "_"): False for flag in _CHECK_FLAGS})
    values.update({name[2:].replace("-", "_"): default for name, default in _CHECK_VALUES.items()})
    sources = 0
    closed = False  # argparse takes one run of paths: options, then paths
    rest = iter(argv[1:])
    for arg in rest:
        if not arg.startswith("-") or arg == "-":
            if closed:
                return None
            paths.append(arg)
            continue
        closed = bool(paths)
        name, eq, value = arg.partition("=")
        if name in _CHECK_FLAGS and not eq:
            sources += name != "--exit-zero"
            values[name[2:].replace("-", "_")] = True
            continue
        if name not in _CHECK_VALUES:
            return None
        if not eq:
            value = next(rest, "-")
            if value.startswith("-"):
                return None
        if name == "--rev-range":
            sources += 1
        if name in ("--select", "--ignore"):
            from guardian.rules import REGISTRY

            ids = [part.strip() for part in value.split(",") if part.strip()]
            if any(rule_id not in REGISTRY for rule_id in ids):
                return None
            values[name[2:]] = ids
        elif name == "--format":
            from guardian.report import FORMATS

            if value not in FORMATS:
                return None
            values["format"] = value
        else:
            values[name[2:].replace("-", "_")] = value
    if sources > 1:
        return None
    return Args(**values)


def _rule_list(value: str) -> list[str]:
    from guardian.rules import REGISTRY

    ids = [part.strip() for part in value.split(",") if part.strip()]
    for rule_id in ids:
        if rule_id not in REGISTRY:
            import argparse

            raise argparse.ArgumentTypeError(f"unknown rule {rule_id!r}; known rules: {', '.join(REGISTRY)}")
    return ids


COMMANDS = ("check", "fix", "baseline", "init", "rules", "explain", "install", "history", "audit")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand's (a hook
    pays for one subparser, not nine)."""
    import argparse
    import typing

    from guardian.report import FORMATS

    class Parser(argparse.ArgumentParser):
        """Usage errors as one line, like every other error, and exit 2."""

        def error(self, message: str) -> typing.NoReturn:
            sys.stderr.write(f"{self.prog}: error: {_shown(message)} (see `{self.prog} --help`)\n")
            raise SystemExit(EXIT_USAGE)

    parser: argparse.ArgumentParser = Parser(
        prog="guardian",
        description="Keep a git repository inside its policy.",
        epilog="Exit status: 0 clean, 1 violations found, 2 usage or configuration error.",
    )
    parser.add_argument("--version", action="version", version=f"guardian {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def policy_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config", metavar="FILE", help="policy file (default: nearest .guardian.toml or pyproject.toml)"
        )
        p.add_argument("--select", type=_rule_list, metavar="RULES", help="only these rules (comma-separated)")
        p.add_argument("--ignore", type=_rule_list, default=[], metavar="RULES", help="skip these rules")

    def source_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: every tracked file)")
        mode = p.add_mutually_exclusive_group()
        mode.add_argument("--staged", action="store_true", help="staged changes, or the staged PATHs (hooks)")
        mode.add_argument("--all-files", action="store_true", help="every tracked file")
        mode.add_argument("--rev-range", metavar="A..B", help="blobs added by the commits in A..B (or B: a new branch)")
        mode.add_argument("--pre-push", action="store_true", help="the range being pushed (pre-commit or git hook)")
        p.add_argument(
            "--files",
            nargs="*",
            metavar="FILE",
            default=argparse.SUPPRESS,
            help="what hooks pass: every later argument naming an existing file is a file, even `-x.py`",
        )
        policy_options(p)

    if only in (None, "check"):
        check = sub.add_parser("check", help="check files against the policy")
        source_options(check)
        check.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
        check.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
        check.add_argument("--baseline", metavar="FILE", help="hide findings recorded in this baseline")
        check.add_argument("--exit-zero", action="store_true", help="exit 0 even when violations are found")
        check.set_defaults(func=cmd_check)

    if only in (None, "fix"):
        fix = sub.add_parser("fix", help="apply the fixes rules know (gitignore patterns, import rewrites)")
        fix.add_argument("paths", nargs="*", metavar="PATH", help="files to fix (default: every tracked file)")
        policy_options(fix)
        fix.set_defaults(func=cmd_fix)

    if only in (None, "baseline"):
        baseline = sub.add_parser("baseline", help="record today's findings so that only new ones fail")
        source_options(baseline)
        baseline.add_argument("--output", metavar="FILE", default=DEFAULT_BASELINE, help=f"default: {DEFAULT_BASELINE}")
        baseline.set_defaults(func=cmd_baseline)

    if only in (None, "init"):
        init = sub.add_parser("init", help="write a starter .guardian.toml")
        init.add_argument("--force", action="store_true", help="overwrite an existing .guardian.toml")
        init.set_defaults(func=cmd_init)

    if only in (None, "rules"):
        rules = sub.add_parser("rules", help="list the rules")
        rules.add_argument("--config", metavar="FILE", help="show which rules this policy enables")
        rules.set_defaults(func=cmd_rules)

    if only in (None, "explain"):
        explain = sub.add_parser("explain", help="print a rule's documentation")
        explain.add_argument("rule", help="rule id, e.g. max-file-size")
        explain.set_defaults(func=cmd_explain)

    if only in (None, "install"):
        install = sub.add_parser("install", help="install the plain git hooks in this repository")
        install.add_argument("--hook", choices=("pre-commit", "pre-push", "all"), default="all")
        install.add_argument("--force", action="store_true", help="replace a hook that Guardian did not write")
        install.set_defaults(func=cmd_install)

    if only in (None, "history", "audit"):
        # History scans and directory audits live in their own module.
        from guardian import cli_history

        cli_history.register(sub, policy_options)
    return parser


# -- shared steps -------------------------------------------------------------


def _policy(args: argparse.Namespace, start: str) -> Policy:
    from guardian.config import load_policy

    return load_policy(getattr(args, "config", None), start=start, select=args.select, ignore=args.ignore)


def _pre_push_range(root: str) -> list[tuple[str | None, str]]:
    """(base, head) pairs being pushed: pre-commit's environment, or the
    lines git writes to a pre-push hook's standard input."""
    from guardian.git import queries

    to_ref = os.environ.get("PRE_COMMIT_TO_REF")
    if to_ref:
        return [(os.environ.get("PRE_COMMIT_FROM_REF") or None, to_ref)]
    if os.environ.get("PRE_COMMIT") == "1":
        # pre-commit gives no refs when the push carries a root commit (the
        # first push of a history): check every blob not on a remote yet.
        return [(None, os.environ.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD")]
    ranges: list[tuple[str | None, str]] = []
    if sys.stdin is None or sys.stdin.isatty():
        raise GuardianError("--pre-push: no PRE_COMMIT_TO_REF and no refs on standard input; run it from a hook")
    for line in sys.stdin.read().splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        _local_ref, local_sha, _remote_ref, remote_sha = parts
        if not local_sha.strip("0"):
            continue  # a branch deletion pushes nothing
        # A remote tip this clone has never fetched (someone pushed since)
        # cannot be a base: judge what no remote-tracking ref has yet.
        known = remote_sha.strip("0") and queries.resolve(remote_sha, root) is not None
        ranges.append((remote_sha if known else None, local_sha))
    return ranges


def _snapshots(args: argparse.Namespace) -> list[Snapshot]:
    """The snapshots a check covers."""
    from guardian.git import queries
    from guardian.sources.disk import DiskSnapshot
    from guardian.sources.index import IndexSnapshot
    from guardian.sources.revisions import RangeSnapshot

    if args.paths and (args.all_files or args.rev_range or args.pre_push):
        raise GuardianError("PATHs go with --staged or alone, not with --all-files, --rev-range or --pre-push")
    if args.paths and not args.staged:
        # Paths are reported (and matched by exclude patterns) relative to the
        # repository's root when they are in one, as every other mode does.
        try:
            base = queries.toplevel(os.getcwd())
        except GuardianError:
            base = os.getcwd()
        return [DiskSnapshot(args.paths, base=base)]
    root = queries.toplevel(os.getcwd())
    if args.staged:
        paths = None
        if args.paths:
            paths = [os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/") for p in args.paths]
        return [IndexSnapshot(root, paths)]
    if args.rev_range:
        base, sep, head = args.rev_range.partition("..")
        if sep and head.startswith("."):
            raise GuardianError(f"--rev-range {args.rev_range!r}: use A..B (two dots), not A...B")
        if not sep:
            base, head = "", args.rev_range
        return [RangeSnapshot(root, base or None, head or "HEAD")]
    if args.pre_push:
        return [RangeSnapshot(root, base, head) for base, head in _pre_push_range(root)]
    return [IndexSnapshot(root, all_files=True)]


def _run(args: argparse.Namespace, *, use_baseline: bool = True) -> Result:
    from guardian import engine
    from guardian.plan import OWN_FILES

    snapshots = _snapshots(args)
    # The nearest configuration from the current directory, whatever the source.
    policy = _policy(args, os.getcwd())
    baseline = None
    if use_baseline and getattr(args, "baseline", None):
        from guardian.accept import Baseline

        baseline = Baseline.load(args.baseline)
    skip = set(OWN_FILES)
    if getattr(args, "baseline", None):
        root = snapshots[0].root if snapshots and snapshots[0].root else os.getcwd()
        skip.add(os.path.relpath(os.path.abspath(args.baseline), root).replace(os.sep, "/"))
    merged: Result | None = None
    for snapshot in snapshots:
        try:
            result = engine.run(
                snapshot, policy, baseline=baseline, skip=frozenset(skip), jobs=min(2, os.cpu_count() or 1)
            )
        finally:
            snapshot.close()
        if merged is None:
            merged = result
        else:
            # Several pushed refs share commits: a finding is reported once.
            seen = set(merged.findings)
            merged.findings.extend(f for f in result.findings if f not in seen)
            merged.findings.sort(key=lambda f: f.sort_key())
            merged.files_checked += result.files_checked
            merged.suppressed += result.suppressed
            merged.baselined += result.baselined
            merged.skipped.extend(result.skipped)
            merged.label += f", {result.label}"
    if merged is None:
        from guardian.model import Result

        merged = Result()
        merged.policy_source = policy.source
        merged.label = "nothing to push"
    return merged


# -- commands -----------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from guardian.output import emit
    from guardian.report import render, use_color

    result = _run(args)
    color = args.format == "text" and not args.output and use_color(sys.stdout)
    emit(render(result, args.format, color=color), args.output)
    if args.output:
        from guardian.report.text_report import summary

        sys.stderr.write(summary(result) + f" Report written to {args.output}.\n")
    if result.stale:
        sys.stderr.write(
            f"guardian: {len(result.stale)} baseline "
            f"{'entry no longer matches' if len(result.stale) == 1 else 'entries no longer match'}; "
            f"refresh the baseline with `guardian baseline --output {args.baseline}`\n"
        )
    if args.exit_zero:
        return EXIT_CLEAN
    return EXIT_VIOLATIONS if result.errors else EXIT_CLEAN


def cmd_baseline(args: argparse.Namespace) -> int:
    from guardian.accept import Baseline

    result = _run(args, use_baseline=False)
    baseline = Baseline.from_findings(result.findings)
    from guardian.output import write_output

    write_output(args.output, baseline.dumps().encode("utf-8"))
    sys.stdout.write(
        f"Wrote {len(result.findings)} findings ({len(baseline.entries)} entries) to {args.output}; "
        f"use it with `guardian check --baseline {args.output}`.\n"
    )
    return EXIT_CLEAN


def cmd_fix(args: argparse.Namespace) -> int:
    from guardian import engine
    from guardian.fixer import replace_if_unchanged
    from guardian.git import queries
    from guardian.output import printable
    from guardian.plan import Plan
    from guardian.report import render, use_color
    from guardian.sources.disk import WorktreeSnapshot

    root = queries.toplevel(os.getcwd())
    policy = _policy(args, os.getcwd())
    snapshot = WorktreeSnapshot(root, args.paths or None, remember=True)
    snapshot.max_read = policy.max_content_size
    #: path -> (the bytes the fix was computed from, None for a new file; new bytes; rules)
    edits: dict[str, tuple[bytes | None, bytes, list[str]]] = {}
    plan = Plan(policy)
    candidates = [e for e in snapshot.files if e.is_regular and plan.fixers_for(e.path)]
    for entry, original in snapshot.read_many(candidates):
        if original is not None:
            data, fixed_by = engine.fix(entry.path, original, plan.fixers_for(entry.path))
            if fixed_by:
                edits[entry.path] = (original, data, fixed_by)
    for path, (data, rule_ids) in engine.fix_repo(snapshot, plan.repo_rules).items():
        assert snapshot.seen is not None
        before = edits.get(path)
        original = before[0] if before else snapshot.seen.get(path)
        edits[path] = (original, data, [*(before[2] if before else []), *rule_ids])
    written = 0
    for path, (original, data, rule_ids) in sorted(edits.items()):
        why_not = replace_if_unchanged(os.path.join(root, path), original, data)
        if why_not:
            sys.stdout.write(f"not fixed {printable(path)} ({', '.join(rule_ids)}): {why_not}\n")
            continue
        written += 1
        sys.stdout.write(f"fixed {printable(path)} ({', '.join(rule_ids)})\n")
    if written:
        sys.stdout.write("The fixes are in the working tree: review them and `git add` them before committing.\n")
    result = engine.run(WorktreeSnapshot(root, args.paths or None), policy)
    remaining = render(result, "text", color=use_color(sys.stdout))
    sys.stdout.write(remaining)
    return EXIT_VIOLATIONS if result.errors else EXIT_CLEAN


STARTER_CONFIG = """\
# Guardian policy for this repository. Reference: `guardian rules`,
# `guardian explain RULE`, and the README's "Configuration" section.

# Start from the shipped policy (the optimization_engine -> atomizer audit).
extend = "default"

# Paths no rule looks at (gitignore syntax).
exclude = []

[rules.max-file-size]
limit = "1 MiB"
exclude = ["dashboard/assets/**"]

# [rules.forbidden-import.banned]
# optimization_engine = "atomizer"

# [rules.dir-budget.budgets]
# "tools/" = "50 MiB"

# [rules.windows-path]
# severity = "warning"
"""


def cmd_init(args: argparse.Namespace) -> int:
    from guardian.fixer import write_atomic

    path = ".guardian.toml"
    if os.path.exists(path) and not args.force:
        raise GuardianError(f"{path} already exists; edit it, or pass --force to replace it")
    write_atomic(path, STARTER_CONFIG.encode())
    sys.stdout.write(f"Wrote {path}. Check the repository with `guardian check`.\n")
    return EXIT_CLEAN


def cmd_rules(args: argparse.Namespace) -> int:
    from guardian.config import load_policy
    from guardian.rules import REGISTRY, rule_class

    policy = load_policy(args.config, start=os.getcwd())
    enabled = {r.id: r for r in policy.rules}
    width = max(len(rule_id) for rule_id in REGISTRY)
    for rule_id in REGISTRY:
        rule = enabled.get(rule_id)
        state = rule.severity if rule else "off"
        sys.stdout.write(f"{rule_id:<{width}}  {state:<7}  {rule_class(rule_id).summary}\n")
    sys.stdout.write(f"\nPolicy: {policy.source}. Details: guardian explain RULE\n")
    return EXIT_CLEAN


def cmd_explain(args: argparse.Namespace) -> int:
    from guardian.rules import REGISTRY, rule_class

    if args.rule not in REGISTRY:
        raise GuardianError(f"unknown rule {args.rule!r}; `guardian rules` lists them: {', '.join(REGISTRY)}")
    cls = rule_class(args.rule)
    sys.stdout.write(f"# {cls.id}\n\n{cls.summary}\n\n{cls.docs.rstrip()}\n")
    return EXIT_CLEAN


def cmd_install(args: argparse.Namespace) -> int:
    from guardian.install import install_hooks

    for line in install_hooks(os.getcwd(), args.hook, force=args.force):
        sys.stdout.write(line + "\n")
    return EXIT_CLEAN
