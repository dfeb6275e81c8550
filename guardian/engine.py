"""The engine: run a policy's rules over a snapshot; the only caller of rules.

Order of work, cheapest first: path filters decide which rules look at a
file; one batched size lookup serves the size rule and the content bound; one
batched read streams the bytes that content rules need, each blob once; then
inline suppressions and the baseline hide what the project has accepted.
"""

from __future__ import annotations

import os

from guardian.accept import split_suppressed
from guardian.model import Result
from guardian.plan import OWN_FILES, Plan, over_bound_reason
from guardian.rules.base import is_binary

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from guardian.accept import Baseline
    from guardian.config import Policy
    from guardian.model import FileEntry, Finding, Snapshot
    from guardian.rules.base import Rule


#: Below this many bytes to read, a second process costs more than it saves.
PARALLEL_BYTES = 16 * 1024 * 1024


def run(
    snapshot: Snapshot,
    policy: Policy,
    *,
    baseline: Baseline | None = None,
    skip: frozenset[str] = OWN_FILES,
    jobs: int = 1,
    base: Callable[[], Snapshot | None] | None = None,
) -> Result:
    """Run ``policy`` over ``snapshot``. Paths in ``skip`` (Guardian's own
    configuration and baseline) are not judged by file rules. ``jobs`` > 1
    lets a large content check use a second process (command line only).

    With ``base`` (the tree before, asked for only when needed), the snapshot
    is a *change* (a commit, a pull request): a repository finding the change
    does not make stood before it, and goes to ``Result.standing`` instead of
    blocking; one it makes blocks even where the baseline accepted it (a
    commit that adds to an accepted over-budget directory makes it worse)."""
    result = Result()
    result.rules = [r.id for r in policy.rules]
    result.severities = {r.id: r.severity for r in policy.rules}
    result.policy_source = policy.source
    result.label = snapshot.label
    plan = Plan(policy, skip=skip)
    findings: list[Finding] = []

    # 1. Which rules look at which file: paths only, no I/O.
    judged = [entry for entry in snapshot.files if plan.judges(entry)]
    result.files_checked = len(judged)

    # 2. Sizes in one batch; rules that need no bytes run now.
    snapshot.with_sizes(judged)
    to_read: dict[int, tuple[FileEntry, list[Rule]]] = {}
    for entry in judged:
        meta_rules, content_rules = plan.rules_for(entry.path)
        findings.extend(judge(entry, None, meta_rules))
        if not content_rules or entry.is_symlink:
            continue
        if plan.over_bound(entry):
            result.skipped.append((entry.path, over_bound_reason(entry, plan.max_content_size)))
            continue
        to_read[id(entry)] = (entry, content_rules)

    # 3. Bytes in one streamed batch, each released after its rules ran.
    snapshot.max_read = plan.max_content_size
    work = list(to_read.values())
    if jobs > 1 and sum(max(e.size, 0) for e, _rules in work) >= PARALLEL_BYTES and hasattr(os, "fork"):
        content_findings, skipped = _check_contents_in_two(snapshot, work)
    else:
        content_findings, skipped = _check_contents(snapshot, work)
    findings.extend(content_findings)
    result.skipped.extend(skipped)

    # 4. Repository rules, once.
    made: list[Finding] = []
    if snapshot.has_tree:
        repo_findings = judge_repo(snapshot, plan.repo_rules)
        if base is None:
            findings.extend(repo_findings)
        else:
            made, result.standing = split_by_change(repo_findings, snapshot, base, plan.repo_rules)

    # 5. What the project accepted: inline suppressions, then the baseline.
    kept, result.suppressed = split_suppressed(findings)
    if baseline is not None:
        checked_paths = {entry.path for entry in judged}
        tree_paths = {entry.path for entry in snapshot.tree()} if snapshot.has_tree else None
        if tree_paths is not None:
            tree_paths |= {os.path.dirname(path) for path in tree_paths}  # directories: dir-budget findings
        kept, result.baselined, result.stale = baseline.filter(kept, checked_paths, tree_paths)
    kept.extend(made)
    kept.sort(key=lambda f: f.sort_key())
    result.findings = kept
    return result


def judge(entry: FileEntry, data: bytes | None, rules: Sequence[Rule], *, binary: bool | None = None) -> list[Finding]:
    """The findings of ``rules`` on one file: the only place a file rule is
    called. ``data`` is None for rules that need no bytes; rules that read
    only text skip binary data (``binary``, when the caller knows it)."""
    findings: list[Finding] = []
    if data is not None and binary is None:
        binary = is_binary(data)
    for rule in rules:
        if binary and rule.text_only:
            continue
        findings.extend(rule.check_file(entry, data))
    if entry.commit:
        for finding in findings:
            finding.commit = entry.commit
    return findings


def fix(path: str, data: bytes, rules: Sequence[Rule]) -> tuple[bytes, list[str]]:
    """``data`` with the fixes of ``rules`` applied in turn, and which rules
    changed it: the only place a file rule's fix is called."""
    fixed_by = []
    for rule in rules:
        new = rule.fix_file(path, data)
        if new is not None and new != data:
            data = new
            fixed_by.append(rule.id)
    return data, fixed_by


def fix_repo(snapshot: Snapshot, rules: Sequence[Rule]) -> dict[str, tuple[bytes, list[str]]]:
    """Path -> (new bytes, the rules that wrote them) of the repository
    rules' fixes (a later rule's bytes for a path replace an earlier's)."""
    edits: dict[str, tuple[bytes, list[str]]] = {}
    for rule in rules:
        for path, data in rule.fix_repo(snapshot).items():
            edits[path] = (data, [*edits.get(path, (b"", []))[1], rule.id])
    return edits


def split_by_change(
    findings: list[Finding], change: Snapshot, base: Callable[[], Snapshot | None], rules: Sequence[Rule]
) -> tuple[list[Finding], list[Finding]]:
    """(repository findings ``change`` makes, those that stood before it),
    each rule deciding for its own (``Rule.made_by``); the tree before is
    read once, and only if a rule asks for it."""
    by_id = {rule.id: rule for rule in rules}
    loaded: list[Snapshot | None] = []

    def before() -> Snapshot | None:
        if not loaded:
            loaded.append(base())
        return loaded[0]

    made: list[Finding] = []
    standing: list[Finding] = []
    for finding in findings:
        rule = by_id.get(finding.rule)
        (made if rule is None or rule.made_by(finding, change, before) else standing).append(finding)
    return made, standing


def judge_repo(snapshot: Snapshot, rules: Sequence[Rule]) -> list[Finding]:
    """The findings of repository rules on a snapshot's tree: the only place
    a repository rule is called."""
    findings: list[Finding] = []
    for rule in rules:
        findings.extend(rule.check_repo(snapshot))
    return findings


def _check_contents(
    snapshot: Snapshot, work: list[tuple[FileEntry, list[Rule]]]
) -> tuple[list[Finding], list[tuple[str, str]]]:
    findings: list[Finding] = []
    skipped: list[tuple[str, str]] = []
    rules_of = {id(entry): rules for entry, rules in work}
    for entry, data in snapshot.read_many([entry for entry, _rules in work]):
        if data is None:
            skipped.append((entry.path, snapshot.unread_reason(entry)))
            continue
        findings.extend(judge(entry, data, rules_of[id(entry)]))
    return findings, skipped


def _check_contents_in_two(
    snapshot: Snapshot, work: list[tuple[FileEntry, list[Rule]]]
) -> tuple[list[Finding], list[tuple[str, str]]]:
    """The same as ``_check_contents``, on two processes.

    Rules are pure and the snapshot reads through its own git process per
    call, so a forked child takes every other file (by size, for balance) and
    sends its findings back through a pipe. Only the command line asks for
    this: a forked child of a threaded server would be unsafe.
    """
    import pickle

    ordered = sorted(work, key=lambda item: item[0].size, reverse=True)
    mine, theirs = ordered[0::2], ordered[1::2]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: check its half, send the answer, leave without cleanup
        os.close(read_fd)
        try:
            answer = pickle.dumps(_check_contents(snapshot, theirs))
        except BaseException as exc:  # noqa: BLE001 - reported by the parent as its own
            answer = pickle.dumps(exc)
        with os.fdopen(write_fd, "wb") as out:
            out.write(answer)
        os._exit(0)
    os.close(write_fd)
    try:
        findings, skipped = _check_contents(snapshot, mine)
    finally:
        with os.fdopen(read_fd, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
    theirs_result = pickle.loads(answer)
    if isinstance(theirs_result, BaseException):
        raise theirs_result
    return findings + theirs_result[0], skipped + theirs_result[1]
