"""``guardian check``, ``guardian baseline`` and ``guardian fix``: the
snapshots a command line names, the engine over them, the report."""

from __future__ import annotations

import os
import sys

from guardian.cli import EXIT_CLEAN, EXIT_VIOLATIONS
from guardian.errors import GuardianError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from guardian.config import Policy
    from guardian.model import Result, Snapshot

DEFAULT_BASELINE = ".guardian-baseline.json"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], only: str | None) -> None:
    from guardian.cli import options

    def source_options(p: argparse.ArgumentParser) -> None:
        import argparse

        p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: every tracked file)")
        options.add_to(p, options.SOURCE)
        p.add_argument(
            "--files",
            nargs="*",
            metavar="FILE",
            default=argparse.SUPPRESS,
            help="what hooks pass: every later argument naming an existing file is a file, even `-x.py`",
        )
        options.add_to(p, options.POLICY)

    if only in (None, "check"):
        check = sub.add_parser("check", help="check files against the policy")
        source_options(check)
        options.add_to(check, options.REPORT)
        check.set_defaults(func=cmd_check)

    if only in (None, "fix"):
        fix = sub.add_parser("fix", help="apply the fixes rules know (gitignore patterns, import rewrites)")
        fix.add_argument("paths", nargs="*", metavar="PATH", help="files to fix (default: every tracked file)")
        options.add_to(fix, options.POLICY)
        fix.add_argument(
            "--write-shim",
            metavar="DIR",
            help="also write DIR/__init__.py: the old package DIR as a shim that imports the new modules",
        )
        fix.set_defaults(func=cmd_fix)

    if only in (None, "baseline"):
        baseline = sub.add_parser("baseline", help="record today's findings so that only new ones fail")
        source_options(baseline)
        baseline.add_argument(
            "--output", metavar="FILE", help=f"default: the policy's baseline key, else {DEFAULT_BASELINE}"
        )
        baseline.set_defaults(func=cmd_baseline)


def _policy(args: argparse.Namespace, start: str) -> Policy:
    from guardian.config import load_policy

    return load_policy(getattr(args, "config", None), start=start, select=args.select, ignore=args.ignore)


def baseline_path(args: argparse.Namespace, policy: Policy, root: str) -> str | None:
    """The baseline to apply: ``--baseline``, else the policy's ``baseline``
    key (relative to the repository root), else none."""
    given: str | None = getattr(args, "baseline", None)
    if given:
        return given
    if policy.baseline:
        from guardian.config import shown

        return shown(os.path.join(root, policy.baseline))
    return None


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
    from guardian.sources.disk import DiskSnapshot, WorktreeSnapshot
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
        if not args.paths:
            return [IndexSnapshot(root)]
        _require_paths(args.paths)
        return [IndexSnapshot(root, [_relative(p, root) for p in args.paths])]
    if args.rev_range:
        base, sep, head = args.rev_range.partition("..")
        if sep and head.startswith("."):
            raise GuardianError(f"--rev-range {args.rev_range!r}: use A..B (two dots), not A...B")
        if not sep:
            base, head = "", args.rev_range
        return [RangeSnapshot(root, base or None, head or "HEAD")]
    if args.pre_push:
        return [RangeSnapshot(root, base, head) for base, head in _pre_push_range(root)]
    if args.all_files:
        return [IndexSnapshot(root, all_files=True)]
    # The files as they are on disk, as `guardian fix` sees them.
    return [WorktreeSnapshot(root)]


def _relative(path: str, root: str) -> str:
    return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")


def _require_paths(paths: Sequence[str]) -> None:
    """A path named on the command line that does not exist is a usage error
    (pre-commit only ever names files that do)."""
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise GuardianError(f"{shown}: no such file or directory; name files that exist")


def _run(args: argparse.Namespace, *, use_baseline: bool = True) -> Result:
    from guardian import engine
    from guardian.plan import OWN_FILES

    snapshots = _snapshots(args)
    # The nearest configuration from the current directory, whatever the source.
    policy = _policy(args, os.getcwd())
    root = snapshots[0].root if snapshots and snapshots[0].root else os.getcwd()
    path = baseline_path(args, policy, root)
    baseline = None
    if use_baseline and path:
        from guardian.accept import Baseline

        baseline = Baseline.load(path)
    skip = set(OWN_FILES)
    if path:
        skip.add(_relative(path, root))
    # A commit is a change: repository findings that stood before it are
    # notes, not errors (what stood before is HEAD's tree).
    before: list[Snapshot] = []

    def head_tree() -> Snapshot | None:
        from guardian.sources.tips import commit_tree

        found = commit_tree(root, "HEAD")
        if found is not None:
            before.append(found)
        return found

    if not (args.paths or args.staged or args.rev_range or args.pre_push) and snapshots[0].root:
        # A whole checkout: imports of a destination it lacks are reported as such.
        from guardian.scans.inventory import attach_destinations

        attach_destinations(policy, snapshots[0].root, (entry.path for entry in snapshots[0].tree()))
    merged: Result | None = None
    for snapshot in snapshots:
        try:
            result = engine.run(
                snapshot,
                policy,
                baseline=baseline,
                skip=frozenset(skip),
                jobs=min(2, os.cpu_count() or 1),
                base=head_tree if args.staged else None,
            )
        finally:
            snapshot.close()
            for done in before:
                done.close()
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
            merged.standing.extend(f for f in result.standing if f not in merged.standing)
            merged.label += f", {result.label}"
    if merged is None:
        from guardian.model import Result

        merged = Result()
        merged.policy_source = policy.source
        merged.label = "nothing to push"
    if any(f.commit for f in merged.findings):
        # Which commit brought each finding in: a refused push names it.
        from guardian.git import queries

        named = queries.subjects(root, (f.commit for f in merged.findings))
        for finding in merged.findings:
            finding.commit_subject = named.get(finding.commit, "")
    from guardian.cli import precommit

    if args.staged and args.paths and precommit.under_pre_commit() and snapshots[0].root:
        # pre-commit may have split its files between several of us.
        repo_rules = {r.id for r in policy.rules if r.scope == "repo"}
        merged.findings = precommit.report_once(merged.findings, repo_rules, snapshots[0].root)
        merged.standing = precommit.report_once(merged.standing, repo_rules, snapshots[0].root, kind="standing")
    return merged


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
            f"refresh it with `guardian baseline{_output_option(args.baseline)}`\n"
        )
    if args.exit_zero:
        return EXIT_CLEAN
    return EXIT_VIOLATIONS if result.errors else EXIT_CLEAN


def _output_option(path: str | None) -> str:
    return f" --output {path}" if path and path != DEFAULT_BASELINE else ""


def cmd_baseline(args: argparse.Namespace) -> int:
    from guardian.accept import Baseline
    from guardian.git import queries
    from guardian.output import write_output

    result = _run(args, use_baseline=False)
    baseline = Baseline.from_findings(result.findings)
    policy = _policy(args, os.getcwd())
    configured = baseline_path(args, policy, queries.toplevel(os.getcwd())) if not args.output else None
    output = args.output or configured or DEFAULT_BASELINE
    write_output(output, baseline.dumps().encode("utf-8"))
    if configured:
        use = "the policy's `baseline` key applies it everywhere"
    else:
        use = f'name it in the policy (baseline = "{output}") to apply it everywhere, or pass --baseline {output}'
    sys.stdout.write(f"Wrote {len(result.findings)} findings ({len(baseline.entries)} entries) to {output}; {use}.\n")
    return EXIT_CLEAN


def _write_shim(directory: str, policy: Policy) -> None:
    from guardian.output import printable
    from guardian.scans.inventory import banned_table
    from guardian.scans.shim import write_shim

    written, shadowed = write_shim(directory, banned_table(policy), policy.source)
    sys.stdout.write(f"wrote {printable(written)}: the old package as a compatibility shim\n")
    if shadowed:
        sys.stdout.write(
            f"note: {len(shadowed)} other Python files under {printable(directory)} are never imported through the "
            f"shim (first: {printable(shadowed[0])}); remove them once their modules are migrated\n"
        )


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
    if args.paths:
        _require_paths(args.paths)
    snapshot = WorktreeSnapshot(root, args.paths or None, remember=True)
    snapshot.max_read = policy.max_content_size
    from guardian.scans.inventory import attach_destinations

    # Never an import of a module the checkout lacks, whichever files are named.
    attach_destinations(policy, root, (entry.path for entry in snapshot.tree()))
    if args.write_shim:
        _write_shim(args.write_shim, policy)
    #: path -> (the bytes the fix was computed from, None for a new file; new bytes; rules)
    edits: dict[str, tuple[bytes | None, bytes, list[str]]] = {}
    plan = Plan(policy)
    candidates = [e for e in snapshot.files if e.is_regular and plan.fixers_for(e.path)]
    for entry, original in snapshot.read_many(candidates):
        if original is not None:
            data, fixed_by = engine.fix(entry.path, original, plan.fixers_for(entry.path))
            if fixed_by:
                edits[entry.path] = (original, data, fixed_by)
    # Named files only: like `guardian check PATH`, no repository-wide fixes.
    repo_rules = plan.repo_rules if snapshot.has_tree else []
    for path, (data, rule_ids) in engine.fix_repo(snapshot, repo_rules).items():
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
