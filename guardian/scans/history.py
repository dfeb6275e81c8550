"""``guardian history``: the policy over every blob a repository's history holds.

The history source (``guardian.sources.history``) streams each unique blob
once; this scan judges them through the engine, as a check judges a file,
and adds what is history's own:

- which versions need judging at all (``guardian.scans.repeats``): a version
  whose reportable lines all stood in the one before it is not judged again;
- every path a blob was stored under, and the oldest commit that stored it;
- whether HEAD still holds it, and the commit's date and author;
- ``gitignore-required`` on the tree at each ref tip.

Suppressions and the baseline come from ``guardian.accept``, as everywhere.
"""

from __future__ import annotations

import collections
import contextlib
import threading

from guardian import engine
from guardian.accept import split_suppressed
from guardian.git import objects, process, queries
from guardian.model import SIZE_RULE, Commit, FileEntry, Finding, HistoryFinding, HistoryResult
from guardian.plan import Plan
from guardian.scans.repeats import JUDGE, NOTHING, RepeatedVersions
from guardian.sources.history import HistoryPass, count_commits, log_args, path_of
from guardian.sources.tips import TreeSnapshot, ref_tips
from guardian.workers import Pool

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from guardian.accept import Baseline
    from guardian.config import Policy
    from guardian.progress import Progress
    from guardian.rules.base import Rule

#: Repository rules judged on the tree at each ref tip.
TIP_RULES = ("gitignore-required",)
#: Repository rules that are about the working state, not history.
NOT_IN_HISTORY = {"dir-budget": "judged on the current tree by `guardian check` and `guardian audit`"}
_PATH_CACHE_LIMIT = 200_000
_ZERO = b"0" * 40
#: Blobs handed to the workers and not yet taken back, at most: bounds the
#: bytes held on their way, and how far the reading runs ahead.
_WINDOW = 64

#: A blob's content task: (rule indexes, blob id, path, size, bytes, binary).
_Task = tuple[tuple[int, ...], str, str, int, bytes, bool]


def run_rules(rules: Sequence[Rule], task: _Task) -> tuple[list[Finding], list[str]]:
    """The engine's findings of some content rules on one blob, and the
    rules that failed on it (the others' findings stand): what a worker
    does, and the scan itself when it judges alone."""
    indexes, oid, path, size, data, binary = task
    entry = FileEntry(path, size, "100644", oid)
    chosen = [rules[index] for index in indexes]
    errors: list[str] = []
    try:
        found = engine.judge(entry, data, chosen, binary=binary)
    except Exception:  # noqa: BLE001 - find which rule failed; the others' findings stand
        found = []
        for rule in chosen:
            try:
                found.extend(engine.judge(entry, data, [rule], binary=binary))
            except Exception as exc:  # noqa: BLE001 - one odd blob must not stop a history scan
                errors.append(f"{rule.id} failed on blob {oid} ({path}): {exc}")
    return found, errors


def _kind(path: str) -> str:
    """What a content rule may look at besides bytes: the file's type by name."""
    name = path.rpartition("/")[2].lower()
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else name


class _ContentHit:
    """A blob whose content has findings, the path it was judged under, and
    the other (path, commit) pairs history stored it under."""

    __slots__ = ("commit", "findings", "origins", "others", "path", "size", "skipped")

    def __init__(self, path: str, commit: bytes, size: int, findings: list[Finding]) -> None:
        self.path = path
        self.commit = commit
        self.size = size
        self.findings = findings
        self.others: list[tuple[str, bytes]] = []
        #: Indexes of the content rules not run on it: every line they could
        #: report stood in the version before (whose findings hold them).
        self.skipped: tuple[int, ...] = ()
        #: Paths of the earlier versions this one was judged again for (a
        #: rename): its findings continue theirs.
        self.origins: list[str] = []


class _Profile:
    """How blobs requested under one (profile, path) are judged: the rules
    for text and for binary content, their trigger bytes together (None:
    judge every version) and rule by rule."""

    __slots__ = ("binary", "binary_tokens", "by_rule", "path", "tag", "text", "text_tokens")

    def __init__(
        self,
        pid: int,
        path: str,
        text: tuple[int, ...],
        binary: tuple[int, ...],
        by_rule: dict[int, tuple[bytes, ...] | None],
    ) -> None:
        self.path = path
        self.tag = b"%d" % pid
        self.text = text
        self.binary = binary
        self.by_rule = by_rule
        self.text_tokens = self.tokens(text)
        self.binary_tokens = self.tokens(binary)

    def tokens(self, indexes: tuple[int, ...]) -> tuple[bytes, ...] | None:
        """The trigger bytes of these rules, None if one of them has none."""
        tokens: tuple[bytes, ...] = ()
        for index in indexes:
            own = self.by_rule[index]
            if own is None:
                return None
            tokens += own
        return tokens


class _Judging:
    """What the history source hands its blobs to: the plan's content rules,
    the repeated-version memo, and the blobs with findings.

    What to judge is decided here as blobs come, in the log's order; the
    rules run here too, or in the worker processes of ``pool``. Every event
    of the source (a blob's verdict, a blob met again) is then applied in
    the order it came, once the verdicts before it are back, so the report
    is the same with one process or many.
    """

    def __init__(self, plan: Plan, pool: Pool | None = None) -> None:
        self.plan = plan
        self.rules = plan.content_rules
        self.pool = pool
        #: Events waiting for a verdict before them: ("settle", ...) or ("seen", ...).
        self._events: collections.deque[tuple[object, ...]] = collections.deque()
        self._waiting = 0
        self.repeats = RepeatedVersions()
        self.hits: dict[str, _ContentHit] = {}
        self.rule_errors: list[str] = []
        self.suppressed = 0
        #: Blob versions not judged whose blob turned up under another path:
        #: (oid, profile, commit, path field, path judged before), judged after the pass.
        self.rejudge: list[tuple[bytes, bytes, bytes, bytes, str]] = []
        # Profile id -> indexes of the content rules that judge such a path.
        self._profiles: list[tuple[int, ...]] = [()]
        self._profile_ids: dict[tuple[tuple[int, ...], str], int] = {}
        self._path_profile: dict[bytes, int] = {}
        self._plans: dict[bytes, _Profile] = {}

    # -- called by the source ------------------------------------------------------------
    def profile(self, raw_path: bytes, mode: bytes) -> int:
        if mode == b"120000":
            return 0  # a symlink's blob is its target, not content
        pid = self._path_profile.get(raw_path)
        if pid is None:
            path = process.decode_path(raw_path)
            judging = {id(r) for r in self.plan.content_rules_for(path)}
            indexes = tuple(i for i, r in enumerate(self.rules) if id(r) in judging)
            pid = 0
            if indexes:
                key = (indexes, _kind(path))
                pid = self._profile_ids.get(key, 0)
                if not pid:
                    pid = len(self._profiles)
                    self._profile_ids[key] = pid
                    self._profiles.append(indexes)
            if len(self._path_profile) >= _PATH_CACHE_LIMIT:
                self._path_profile.clear()
            self._path_profile[raw_path] = pid
        return pid

    def reads_binary(self, pid: bytes) -> bool:
        indexes = self._profiles[int(pid.rstrip(b"h"))]
        return any(not self.rules[i].text_only for i in indexes)

    def judge(
        self, oid: bytes, pid: bytes, commit: bytes, old: bytes, path_field: bytes, data: bytes, size: int
    ) -> tuple[str, object, tuple[int, ...]]:
        if self.pool is not None:
            while self._waiting >= _WINDOW:
                self._apply(wait=True)
        return self._decide(oid, self._plan(pid, path_field), old, data, size, self.pool)

    def settle(self, oid: bytes, pid: bytes, commit: bytes, path_field: bytes, size: int, verdict: object) -> None:
        if verdict is None:
            return
        self._events.append(("settle", oid, pid, commit, path_field, size, verdict))
        self._apply(wait=False)

    def seen_again(self, oid: bytes, pid: bytes, commit: bytes, path_field: bytes) -> None:
        if self._events:
            self._events.append(("seen", oid, pid, commit, path_field))
        else:
            self._seen_again(oid, pid, commit, path_field)

    def finish(self) -> None:
        """Take back every verdict still out; apply what waited for them."""
        while self._events:
            self._apply(wait=True)

    # -- events, applied in order -----------------------------------------------------------
    def _apply(self, *, wait: bool) -> None:
        """Apply the events whose verdicts are back, in order (with ``wait``, at least the first)."""
        events, pool = self._events, self.pool
        while events:
            event = events[0]
            if event[0] == "settle":
                verdict = event[6]
                assert isinstance(verdict, tuple)
                if verdict[0] == JUDGE and pool is not None:
                    assert isinstance(verdict[1], int)
                    if not (wait or pool.done(verdict[1])):
                        return
                events.popleft()
                _, oid, pid, commit, path_field, size, _ = event
                assert isinstance(oid, bytes) and isinstance(pid, bytes) and isinstance(commit, bytes)
                assert isinstance(path_field, bytes) and isinstance(size, int)
                self._settle(oid, pid, commit, path_field, size, verdict)
                wait = False
            else:
                events.popleft()
                _, oid, pid, commit, path_field = event
                assert isinstance(oid, bytes) and isinstance(pid, bytes) and isinstance(commit, bytes)
                assert isinstance(path_field, bytes)
                self._seen_again(oid, pid, commit, path_field)

    def _settle(
        self, oid: bytes, pid: bytes, commit: bytes, path_field: bytes, size: int, verdict: tuple[object, ...]
    ) -> None:
        kind, answer, skipped = verdict
        assert isinstance(kind, str) and isinstance(skipped, tuple)
        path = self._plan(pid, path_field).path
        self.repeats.record(oid, path, kind)
        if kind != JUDGE:
            return
        if self.pool is not None and isinstance(answer, int):
            self._waiting -= 1
            answer = self.pool.answer(answer)
        assert isinstance(answer, tuple)
        kept = self._keep(*answer)
        if kept or skipped:
            hit = _ContentHit(path, commit, size, kept)
            hit.skipped = skipped
            self.hits[oid.decode()] = hit

    def _seen_again(self, oid: bytes, pid: bytes, commit: bytes, path_field: bytes) -> None:
        hit = self.hits.get(oid.decode())
        if hit is not None:
            hit.others.append((path_of(pid, path_field), commit))
            return
        origin = self.repeats.unjudged_under(oid)
        if origin is not None and origin != path_of(pid, path_field):
            # An unjudged version under a new path (a rename or a copy):
            # nothing was reported for that path yet.
            self.rejudge.append((oid, pid, commit, path_field, origin))

    # -- judging ------------------------------------------------------------------------
    def _plan(self, pid_field: bytes, path_field: bytes) -> _Profile:
        """How a blob requested with this profile and path is judged."""
        key = pid_field + b" " + path_field
        plan = self._plans.get(key)
        if plan is None:
            pid = int(pid_field.rstrip(b"h"))
            path = path_of(pid_field, path_field)
            text = self._profiles[pid]
            binary = tuple(i for i in text if not self.rules[i].text_only)
            by_rule = {i: self.rules[i].triggers(path) for i in text}
            plan = _Profile(pid, path, text, binary, by_rule)
            if len(self._plans) >= _PATH_CACHE_LIMIT:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def _decide(
        self, oid: bytes, plan: _Profile, old: bytes, data: bytes, size: int, pool: Pool | None
    ) -> tuple[str, object, tuple[int, ...]]:
        """What becomes of one blob: (``NOTHING``, None, ()) when no rule
        needs to see it; (``REPEAT``, None, ()) when the version before it
        showed every line that could hold a finding; (``JUDGE``, the rules'
        answer or the pool's ticket for it, the rules left out because the
        version before showed every line that could hold one of theirs)."""
        binary = data.find(b"\0", 0, 8000) != -1
        indexes, tokens = (plan.binary, plan.binary_tokens) if binary else (plan.text, plan.text_tokens)
        if not indexes:
            return NOTHING, None, ()
        skipped: tuple[int, ...] = ()
        if tokens is not None:
            verdict, indexes, skipped = self.repeats.consider(
                oid, old, plan.tag, plan.path, data, tokens, plan.by_rule, indexes
            )
            if verdict != JUDGE:
                return verdict, None, ()
        task: _Task = (indexes, oid.decode(), plan.path, size, data, binary)
        if pool is None:
            return JUDGE, run_rules(self.rules, task), skipped
        self._waiting += 1
        return JUDGE, pool.submit(task), skipped

    def _judge_now(self, oid: bytes, plan: _Profile, old: bytes, data: bytes, size: int) -> list[Finding]:
        """The findings of one blob, judged here and now (suppressions applied)."""
        kind, answer, _skipped = self._decide(oid, plan, old, data, size, None)
        self.repeats.record(oid, plan.path, kind)
        if kind != JUDGE:
            return []
        assert isinstance(answer, tuple)
        return self._keep(*answer)

    def _keep(self, found: list[Finding], errors: list[str]) -> list[Finding]:
        """Findings without those suppressed inline; a rule that failed on an
        odd blob is noted, and the scan goes on."""
        self.rule_errors.extend(errors)
        if not found:
            return found
        kept, suppressed = split_suppressed(found)
        self.suppressed += suppressed
        return kept

    def judge_again(self, root: str) -> None:
        """Judge the unjudged versions that turned up under a new path: the
        version before them was under another path, so nothing was shown yet
        for this one."""
        wanted: dict[tuple[bytes, bytes], tuple[bytes, bytes, str]] = {}
        for oid, pid, commit, path_field, origin in self.rejudge:
            wanted.setdefault((oid, path_field), (pid, commit, origin))
        if not wanted:
            return
        keys = list(wanted)
        reader = objects.CatFile(root)
        for (oid, path_field), (_oid, data) in zip(keys, reader.read_many([k[0].decode() for k in keys]), strict=False):
            if data is None:
                continue
            pid, commit, origin = wanted[(oid, path_field)]
            plan = self._plan(pid, path_field)
            path = plan.path
            kept = self._judge_now(oid, plan, _ZERO, data, len(data))
            if not kept:
                continue
            key = oid.decode()
            hit = self.hits.get(key)
            if hit is None:
                hit = self.hits[key] = _ContentHit(path, commit, len(data), kept)
            else:
                hit.others.append((path, commit))
            hit.origins.append(origin)

    def complete_partial(self, root: str) -> None:
        """Run the rules left out of a version on it after all, when history
        also stored it under another path: their findings, the same as the
        version before showed, name that path too."""
        wanted = [
            (key, hit) for key, hit in self.hits.items() if hit.skipped and any(p != hit.path for p, _ in hit.others)
        ]
        if not wanted:
            return
        order = {rule.id: index for index, rule in enumerate(self.rules)}
        reader = objects.CatFile(root)
        for (key, hit), (_oid, data) in zip(wanted, reader.read_many([key for key, _ in wanted]), strict=False):
            if data is None:
                continue
            binary = data.find(b"\0", 0, 8000) != -1
            kept = self._keep(*run_rules(self.rules, (hit.skipped, key, hit.path, hit.size, data, binary)))
            if kept:
                hit.findings = sorted(hit.findings + kept, key=lambda f: order.get(f.rule, 0))


def commit_info(root: str, commits: Iterable[str]) -> dict[str, Commit]:
    """Author, date and time zone of commits, from one ``cat-file`` process."""
    wanted = [c for c in dict.fromkeys(commits) if c]
    info: dict[str, Commit] = {}
    reader = objects.CatFile(root)
    for oid, data in reader.read_many(wanted):
        commit = Commit(oid)
        if data is not None:
            header, _, message = data.partition(b"\n\n")
            commit.subject = message.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
            for line in header.split(b"\n"):
                if line.startswith(b"author "):
                    person, _, when = line[7:].rpartition(b">")
                    commit.author = (person + b">").decode("utf-8", "replace")
                    stamp = when.split()
                    if len(stamp) == 2 and stamp[0].lstrip(b"-").isdigit():
                        commit.timestamp = int(stamp[0])
                        commit.offset = stamp[1].decode("ascii", "replace")
                    break
        info[oid] = commit
    return info


def judge_tips(
    root: str, rules: Sequence[Rule], tips: Sequence[tuple[str, str]], progress: Progress | None
) -> list[HistoryFinding]:
    """Repository rules on each distinct tip tree; a finding held at several
    tips is reported once with every ref it holds at."""
    by_tree: dict[str, list[str]] = {}
    for name, tree in tips:
        by_tree.setdefault(tree, []).append(name)
    merged: dict[tuple[str, str, str, int, int], HistoryFinding] = {}
    if progress is not None:
        progress.stage("ref tips", "trees", len(by_tree))
    reader = objects.TreeReader(root)
    try:
        for done, (tree, names) in enumerate(by_tree.items(), 1):
            snapshot = TreeSnapshot(root, tree, names[0], reader)
            for f in engine.judge_repo(snapshot, rules):
                key = (f.rule, f.path, f.message, f.line, f.column)
                item = merged.get(key)
                if item is None:
                    merged[key] = HistoryFinding(f, refs=list(names))
                else:
                    # Distinct trees: their names are new to this finding.
                    item.refs.extend(names)
            if progress is not None:
                progress.update(done)
    finally:
        reader.close()
    return list(merged.values())


def scan_history(
    root: str,
    policy: Policy,
    *,
    revs: Sequence[str] = (),
    all_refs: bool = False,
    since: str | None = None,
    max_content_size: int | None = None,
    baseline: Baseline | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
) -> HistoryResult:
    """Run the policy over the history of ``revs`` (all refs when none);
    content rules in ``jobs`` processes (the report is the same for any number)."""
    if not revs:
        all_refs = True
    result = HistoryResult()
    result.policy_source = policy.source
    result.rules = [r.id for r in policy.rules]
    what = "all refs" if all_refs and not revs else ", ".join(revs) + (" and all refs" if all_refs else "")
    result.label = what + (f" since {since}" if since else "")
    max_content = policy.max_content_size if max_content_size is None else max_content_size
    result.max_content_size = max_content
    # Every blob is judged, Guardian's own files included, as history stored them.
    plan = Plan(policy)

    size_rule = policy.rule(SIZE_RULE)
    tip_rules = [r for r in plan.repo_rules if r.id in TIP_RULES]
    result.not_run = _not_run(policy)
    limit: int | None = None
    if size_rule is not None:
        value = size_rule.settings["limit"]
        assert isinstance(value, int)
        limit = value
    result.limit = limit

    # Resolving the tips also checks the revisions, before any long work.
    tips = ref_tips(root, revs, all_refs=all_refs and bool(tip_rules))
    result.shallow = process.run(["rev-parse", "--is-shallow-repository"], root).stdout.strip() == b"true"
    if result.shallow:
        result.warnings.append(
            "this is a shallow clone: commits before the shallow boundary are not scanned, and blobs they hold "
            "are attributed to the boundary commits; run `git fetch --unshallow` for a full scan"
        )

    if size_rule is not None or plan.content_rules:
        _scan_blobs(root, plan, result, revs=revs, all_refs=all_refs, since=since, progress=progress, jobs=jobs)

    if tip_rules:
        result.tips = len(tips)
        result.findings.extend(judge_tips(root, tip_rules, tips, progress))
    if progress is not None:
        progress.close()

    if baseline is not None:
        kept = [item for item in result.findings if not baseline.accepts_any(item.per_path())]
        result.baselined += len(result.findings) - len(kept)
        result.findings = kept
    return result


def _not_run(policy: Policy) -> list[tuple[str, str]]:
    """The policy's rules history does not run, and why."""
    not_run = []
    for rule in policy.rules:
        if rule.id in NOT_IN_HISTORY:
            not_run.append((rule.id, NOT_IN_HISTORY[rule.id]))
        elif rule.scope == "file" and not rule.needs_content and rule.id != SIZE_RULE:
            not_run.append((rule.id, "a file rule without content has no meaning over history"))
        elif rule.scope == "repo" and rule.id not in TIP_RULES:
            not_run.append((rule.id, "a repository rule not judged at ref tips"))
    return not_run


def _scan_blobs(
    root: str,
    plan: Plan,
    result: HistoryResult,
    *,
    revs: Sequence[str],
    all_refs: bool,
    since: str | None,
    progress: Progress | None,
    jobs: int,
) -> None:
    """The streamed pass over every blob, judged, into ``result``."""
    # The workers are forked first, before any thread of the scan starts.
    rules = plan.content_rules
    pool = Pool(lambda task: run_rules(rules, task), jobs) if rules and jobs > 1 else None  # type: ignore[arg-type]
    with pool if pool is not None else contextlib.nullcontext():
        total = [0]
        if progress is not None and progress.enabled:
            counter = threading.Thread(target=count_commits, args=(root, revs, all_refs, since, total), daemon=True)
            counter.start()
            progress.stage("history", "commits")
        judging = _Judging(plan, pool) if plan.content_rules else None
        size_rule = plan.policy.rule(SIZE_RULE)
        scan = HistoryPass(
            root,
            log_args(revs, all_refs=all_refs, since=since, oldest_first=judging is not None),
            limit=result.limit,
            judge=judging,
            max_content=result.max_content_size,
            progress=progress if progress is not None and progress.enabled else None,
            total_commits=total,
            oldest_first=judging is not None,
        )
        scan.run()
        if judging is not None:
            judging.finish()  # every verdict is back: the workers may go
    if judging is not None:
        judging.judge_again(root)
        judging.complete_partial(root)
        result.suppressed += judging.suppressed
        result.warnings.extend(judging.rule_errors)
    result.commits = scan.commits[0]
    result.blob_versions = scan.versions
    result.blobs_read = scan.read
    result.missing = list(scan.missing)
    result.missing_count = scan.missing_count
    result.skipped = [(oid, path, size) for oid, (path, size) in scan.skipped.items()]
    if progress is not None:
        progress.stage("resolving", "blobs")
        progress.update(0, force=True)
    result.findings.extend(_size_findings(scan, plan, size_rule))
    if judging is not None:
        result.findings.extend(_content_findings(judging))
    _fill_commits(root, result.findings, scan)


def _size_findings(scan: HistoryPass, plan: Plan, rule: Rule | None) -> list[HistoryFinding]:
    if rule is None:
        return []
    out = []
    for oid, item in scan.large.items():
        paths = list(reversed(item.paths))
        judged = [p for p in paths if plan.judged_by(rule, p)]
        if not judged:
            continue
        exempt = [p for p in paths if p not in judged]
        entry = FileEntry(judged[0], item.size, "100644", oid, new=True)
        for f in engine.judge(entry, None, [rule]):
            out.append(HistoryFinding(f, oid=oid, size=item.size, paths=judged, exempt_paths=exempt))
    out.sort(key=lambda h: (-h.size, h.oid))
    return out


def _content_findings(judging: _Judging) -> list[HistoryFinding]:
    """One finding per (rule, path, message, line), from the oldest version
    that has it; a finding that moved with its file (a rename) stays one."""
    rules = {r.id: r for r in judging.rules}
    index: dict[tuple[str, str, str, str], HistoryFinding] = {}
    out: list[HistoryFinding] = []
    for oid, hit in judging.hits.items():
        where: dict[str, bytes] = {hit.path: hit.commit}
        for path, commit in hit.others:
            where.setdefault(path, commit)
        for f in hit.findings:
            rule = rules.get(f.rule)
            judged = [p for p in where if rule is None or judging.plan.judged_by(rule, p)]
            if hit.path not in judged:
                judged.insert(0, hit.path)
            text = " ".join(f.line_text.split())
            keys = [(f.rule, p, f.message, text) for p in judged]
            earlier = [(f.rule, p, f.message, text) for p in hit.origins]
            item = next((index[k] for k in keys + earlier if k in index), None)
            if item is None:
                primary = Finding(
                    f.rule,
                    judged[0],
                    f.message,
                    severity=f.severity,
                    line=f.line,
                    column=f.column,
                    line_text=f.line_text,
                    fixable=False,  # history is not fixed in place
                )
                item = HistoryFinding(
                    primary,
                    oid=oid,
                    size=hit.size,
                    paths=judged,
                    exempt_paths=[p for p in where if p not in judged],
                    commit=Commit(where[judged[0]].decode()),
                )
                out.append(item)
            else:
                item.paths.extend(p for p in judged if p not in item.paths)
            for key in keys:
                index.setdefault(key, item)
    out.sort(key=lambda h: h.finding.sort_key())
    return out


def _fill_commits(root: str, findings: list[HistoryFinding], scan: HistoryPass) -> None:
    """Dates and authors of the introducing commits; what HEAD still holds."""
    for item in findings:
        if item.rule == SIZE_RULE and item.oid in scan.large:
            item.commit = Commit(scan.large[item.oid].commit.decode())
    with_blobs = [f for f in findings if f.oid]
    if not with_blobs:
        return
    info = commit_info(root, [f.commit.id for f in with_blobs if f.commit is not None])
    for item in with_blobs:
        if item.commit is not None and item.commit.id in info:
            item.commit = info[item.commit.id]
    if queries.resolve("HEAD", root) is None:
        for item in with_blobs:
            item.at_head = False
        return
    wanted_paths = {p for f in with_blobs if f.rule != SIZE_RULE for p in f.paths}
    head_blobs: set[str] = set()
    head_paths: dict[str, str] = {}
    large = {f.oid for f in with_blobs if f.rule == SIZE_RULE}
    # Ids only: ``ls-tree -l`` would read the header of every blob at HEAD.
    for _mode, oid, path in queries.ls_tree_ids("HEAD", root):
        if oid in large:
            head_blobs.add(oid)
        if path in wanted_paths:
            head_paths[path] = oid
    # A content finding is still at HEAD when HEAD's version of one of its
    # paths still holds the offending line.
    contents: dict[str, bytes | None] = {}
    if head_paths:
        oids = list(dict.fromkeys(head_paths.values()))
        contents = dict(objects.CatFile(root).read_many(oids))
    for item in with_blobs:
        if item.rule == SIZE_RULE:
            item.at_head = item.oid in head_blobs
            continue
        needle = item.finding.line_text.strip().encode("utf-8", "surrogateescape")
        item.at_head = False
        for path in item.paths:
            data = contents.get(head_paths.get(path, ""))
            if data is not None and (not needle or needle in data):
                item.at_head = True
                break
