"""``guardian history`` and ``guardian audit``: arguments and exit codes.

Imported whenever the parser is built, so it imports nothing heavy at module
level: the scans live in ``guardian.scans``.
"""

from __future__ import annotations

import os
import sys

from guardian.cli import EXIT_CLEAN, EXIT_VIOLATIONS
from guardian.errors import GuardianError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from guardian.accept import Baseline
    from guardian.config import Policy


def _size(value: str) -> int:
    from guardian.units import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        import argparse

        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, not {number}")
    return number


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], only: str | None) -> None:
    """Add the history and audit subcommands to the ``guardian`` parser."""
    if only in (None, "history"):
        _register_history(sub)
    if only in (None, "audit"):
        _register_audit(sub)


def _register_history(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from guardian.cli.options import POLICY, add_to
    from guardian.report import HISTORY_FORMATS

    history = sub.add_parser(
        "history",
        help="check every blob in the repository's history (sizes, content, .gitignore at each ref tip)",
        description=(
            "Check every unique blob reachable from the chosen revisions (default: all refs) against the "
            "policy: blobs over the max-file-size limit with every path and the commit that introduced them, "
            "content rules over each blob once, gitignore-required at each ref tip."
        ),
        epilog="Exit status: 0 clean, 1 violations found, 2 usage or configuration error.",
    )
    history.add_argument("revs", nargs="*", metavar="REV", help="revisions or ranges to scan (default: all refs)")
    history.add_argument("--all", dest="all_refs", action="store_true", help="scan every ref (with REVs: as well)")
    history.add_argument("--since", metavar="DATE", help="only commits after DATE (any date git understands)")
    add_to(history, POLICY)
    history.add_argument("--format", choices=HISTORY_FORMATS, default="text", help="report format (default: text)")
    history.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    history.add_argument("--baseline", metavar="FILE", help="hide findings recorded in this baseline")
    history.add_argument(
        "--write-baseline", metavar="FILE", help="record every finding of this scan as a baseline in FILE"
    )
    history.add_argument(
        "--purge-script",
        metavar="FILE",
        help="write a git filter-repo script that removes the oversized blobs (it rewrites history: read it)",
    )
    history.add_argument(
        "--max-content-size",
        type=_size,
        metavar="SIZE",
        help="content rules skip larger blobs (default: the policy's max-content-size, 10 MiB)",
    )
    history.add_argument(
        "--jobs",
        "-j",
        type=_positive,
        metavar="N",
        help="run content rules in N processes (default: one per CPU; the report is the same for any N)",
    )
    history.add_argument("--exit-zero", action="store_true", help="exit 0 even when violations are found")
    history.add_argument("--quiet", "-q", action="store_true", help="no progress display and no notes on stderr")
    history.set_defaults(func=cmd_history)


def _register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser(
        "audit",
        help="what makes a directory big: disk, git and history bytes, largest files, budgets",
        description=(
            "Show what a directory of the checkout holds: bytes on disk split into tracked, untracked and "
            "ignored, git-lfs pointers and content, the largest files, totals by extension and by "
            "subdirectory, and the bytes history holds under it. The policy's dir-budget applies."
        ),
        epilog="Exit status: 0 within budget, 1 a directory over its budget, 2 usage or configuration error.",
    )
    audit.add_argument("directory", nargs="?", default=".", metavar="DIR", help="directory to audit (default: .)")
    audit.add_argument(
        "--config", metavar="FILE", help="policy file (default: nearest .guardian.toml or pyproject.toml)"
    )
    audit.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="report format (default: text)"
    )
    audit.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    audit.add_argument("--top", type=_positive, default=10, metavar="N", help="largest files to list (default: 10)")
    audit.add_argument("--depth", type=_positive, default=3, metavar="N", help="levels of the tree (default: 3)")
    audit.add_argument("--no-history", action="store_true", help="skip the bytes git history holds under the directory")
    audit.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    audit.set_defaults(func=cmd_audit)


def _policy_at_head(root: str, select: Sequence[str] | None, ignore: Sequence[str]) -> Policy:
    """The policy HEAD's tree holds, as the GitHub App reads a base
    branch's; the shipped default without one."""
    from guardian.config import CONFIG_FILES, build_policy, find_policy_file, load_policy_bytes
    from guardian.git import objects, queries

    names = [f"HEAD:{name}" for name in CONFIG_FILES]
    found = dict(objects.CatFile(root).read_many(names)) if queries.resolve("HEAD", root) else {}
    policy = find_policy_file(lambda name: found.get(f"HEAD:{name}"))
    if policy is not None:
        return load_policy_bytes(policy[1], f"HEAD:{policy[0]}", select=select, ignore=ignore)
    return build_policy({}, "<no project configuration>", select=select, ignore=ignore)


def cmd_history(args: argparse.Namespace) -> int:
    from guardian import progress
    from guardian.config import load_policy
    from guardian.git import queries
    from guardian.scans import history
    from guardian.workers import default_jobs

    root, bare = queries.repository(os.getcwd())
    if bare and not args.config:
        # No work tree to find a configuration in: the one HEAD holds.
        policy = _policy_at_head(root, args.select, args.ignore)
    else:
        policy = load_policy(args.config, start=os.getcwd(), select=args.select, ignore=args.ignore)
    baseline = _baseline(args, policy, root, bare=bare)
    display = progress.Progress("history", "commits", enabled=progress.wanted(quiet=args.quiet))
    try:
        result = history.scan_history(
            root,
            policy,
            revs=args.revs,
            all_refs=args.all_refs,
            since=args.since,
            max_content_size=args.max_content_size,
            baseline=baseline,
            progress=display,
            jobs=args.jobs or default_jobs(),
        )
    finally:
        display.close()

    from guardian.output import emit
    from guardian.report import render_history, use_color

    color = args.format == "text" and not args.output and use_color(sys.stdout)
    emit(render_history(result, args.format, color=color), args.output)
    notes = _notes(result, quiet=args.quiet)
    if args.output:
        from guardian.report.text_report import history_summary

        notes.append(f"{history_summary(result)} Report written to {args.output}.")
    if args.write_baseline:
        from guardian.accept import Baseline
        from guardian.output import write_output

        recorded = Baseline.from_findings(f for item in result.findings for f in item.per_path())
        write_output(args.write_baseline, recorded.dumps().encode("utf-8"))
        notes.append(
            f"Recorded {len(result.findings)} findings in {args.write_baseline}; "
            f"use it with `guardian history --baseline {args.write_baseline}`."
        )
    if args.purge_script:
        from guardian.output import write_output

        if result.large:
            from guardian.scans.purge import purge_script

            write_output(args.purge_script, purge_script(result, root).encode("utf-8"), mode=0o755)
            notes.append(
                f"Wrote {args.purge_script}: it removes {len(result.large)} blobs with git filter-repo and "
                "REWRITES HISTORY; read its header before running it."
            )
        else:
            notes.append(f"No blob over the size limit: {args.purge_script} not written.")
    from guardian.output import printable

    for note in notes:
        sys.stderr.write(f"guardian: {printable(note)}\n")
    if args.exit_zero or args.write_baseline:
        # Recording a baseline accepts what it records, as `guardian baseline` does.
        return EXIT_CLEAN
    return EXIT_VIOLATIONS if result.errors else EXIT_CLEAN


def _baseline(args: argparse.Namespace, policy: Policy, root: str, *, bare: bool) -> Baseline | None:
    """``--baseline``, else the policy's: from the work tree, or, in a bare
    repository, the file HEAD holds (as the policy itself is read there)."""
    from guardian.accept import Baseline
    from guardian.cli.check import baseline_path

    if bare and not args.baseline and policy.baseline:
        from guardian.git import objects

        data = dict(objects.CatFile(root).read_many([f"HEAD:{policy.baseline}"])).get(f"HEAD:{policy.baseline}")
        if data is None:
            raise GuardianError(f"HEAD:{policy.baseline}: the policy's baseline is not in HEAD; commit it")
        return Baseline.from_bytes(data, f"HEAD:{policy.baseline}")
    path = baseline_path(args, policy, root)
    return Baseline.load(path) if path else None


def _notes(result: object, *, quiet: bool) -> list[str]:
    from guardian.model import HistoryResult

    assert isinstance(result, HistoryResult)
    notes = [f"warning: {w}" for w in result.warnings]
    if result.missing_count:
        shown = ", ".join(result.missing[:10])
        more = f" and {result.missing_count - 10} more" if result.missing_count > 10 else ""
        notes.append(
            f"warning: {result.missing_count} "
            f"{'object is' if result.missing_count == 1 else 'objects are'} missing and were skipped: {shown}{more} "
            "(a partial or shallow clone, or a damaged repository: `git fsck` tells which)"
        )
    if not quiet:
        notes.extend(f"note: {rule} not run over history: {why}" for rule, why in result.not_run)
    return notes


def cmd_audit(args: argparse.Namespace) -> int:
    from guardian import progress
    from guardian.scans import audit as audit_module

    display = progress.Progress("audit", "files", enabled=progress.wanted(quiet=args.quiet))
    try:
        report = audit_module.audit_directory(
            args.directory,
            config=args.config,
            top=args.top,
            with_history=not args.no_history,
            progress=display,
        )
    finally:
        display.close()
    from guardian.output import emit
    from guardian.report import use_color
    from guardian.report.audit_report import render as render_audit

    color = args.format == "text" and not args.output and use_color(sys.stdout)
    emit(render_audit(report, args.format, depth=args.depth, color=color), args.output)
    if args.output:
        sys.stderr.write(f"guardian: audit of {report.label} written to {args.output}.\n")
    return EXIT_VIOLATIONS if report.over_budget else EXIT_CLEAN
