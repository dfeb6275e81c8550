"""One evaluation: the base branch's policy over a pull request's head, or a merge group's.

REST requests besides blob fetches (``read`` in the call counter):

1. the pull request (``GET /pulls/{n}``, ``guardian_app.pulls``; a fork's check
   suite first lists open pull requests to find it; when the store has seen
   another pull request with this head, ``GET /commits/{sha}/pulls`` says
   which share it now, see ``guardian_app.shared_head``); a merge group has
   none of these,
2. the base commit's recursive tree: its root holds what
   ``guardian.config.policy_file`` (the one policy lookup every surface
   drives) looks for, ``.guardian.toml``, then ``pyproject.toml``, each a
   blob fetch, the parsed policy cached by blob id; the policy's
   ``baseline`` file is looked up in it (a blob fetch, bounded like every
   blob, parsed once per blob id); and the repository rules compare the
   head with it, so what stood before the change does not block it,
3. the head's recursive tree (sizes of every blob; more requests only when
   GitHub truncates either tree),
4. the changed files: a pull request's, 100 per page, ``ceil(changed /
   100)`` requests; a merge group's, one compare request (GitHub lists at
   most 300 files there; past that the two trees are compared instead).

That is 3 + ceil(changed / 100), within the 4 + ceil(changed / 100) target.
Requests 2 to 4 run concurrently.

The engine then runs in a worker process of ``guardian_app.pool``, under the
``evaluation_timeout`` deadline, over what was fetched here.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math

from guardian.config import CONFIG_FILES, Policy, build_policy, load_policy_bytes, policy_file
from guardian.errors import ConfigError, GuardianError
from guardian_app import groups
from guardian_app.pool import PolicySource, Task
from guardian_app.snapshot import MAX_PR_FILES, BlobFetcher, TreeWalk, changed_entries, tree_changes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.accept import Baseline
    from guardian.model import FileEntry, Result
    from guardian_app.github import CallCounter, GitHubClient
    from guardian_app.groups import MergeGroup
    from guardian_app.pool import EvaluationPool
    from guardian_app.pulls import PullRequest
    from guardian_app.settings import Settings

#: How many ``.gitignore`` files a repository rule may read per evaluation.
MAX_GITIGNORE_FILES = 500


@dataclasses.dataclass
class Evaluation:
    """What the reports need to know about one evaluation."""

    #: What was evaluated: a pull request, or a merge group (``guardian_app.groups``).
    pr: PullRequest | MergeGroup
    result: Result | None = None
    #: The base branch's policy could not be used: why (one line).
    config_error: str = ""
    policy_source: str = ""
    #: Config files this pull request changes (the base's are used regardless).
    config_changed: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    #: The base branch's baseline file that was applied (its path), if any.
    baseline: str = ""
    changed_files: int = 0
    reads: int = 0
    blobs: int = 0

    @property
    def read_budget(self) -> int:
        return 4 + math.ceil(self.changed_files / 100)


#: A parsed policy with what the evaluation process rebuilds it from, or why it cannot be used.
_Cached = tuple[Policy, PolicySource] | ConfigError


class PolicyCache:
    """Parsed policies by the blob id of the file they came from (LRU)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: collections.OrderedDict[str, _Cached] = collections.OrderedDict()

    def get(self, key: str) -> _Cached | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: str, value: _Cached) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class Evaluator:
    def __init__(self, gh: GitHubClient, settings: Settings, pool: EvaluationPool) -> None:
        self.gh = gh
        self.settings = settings
        self.pool = pool
        self.policies = PolicyCache()
        #: pyproject.toml blobs without a [tool.guardian] table (LRU, as the policies).
        self._not_config: collections.OrderedDict[str, None] = collections.OrderedDict()
        #: Parsed baselines (or why one cannot be used) by blob id (LRU).
        self._baselines: collections.OrderedDict[str, Baseline | GuardianError] = collections.OrderedDict()

    async def _policy(self, root_files: dict[str, FileEntry], fetcher: BlobFetcher) -> tuple[Policy, PolicySource]:
        """The base branch's policy, as ``guardian.config.policy_file`` finds
        it in the base's root tree (``.guardian.toml``, else ``[tool.guardian]``
        of ``pyproject.toml``, else the shipped default); with the bytes it
        came from, for the evaluation process.

        Each file the lookup asks for is a blob fetch, awaited between its
        steps, unless its blob id answers already: a parsed policy (or why
        it cannot be used) is cached by blob id, and so is a
        ``pyproject.toml`` the lookup passed over."""
        lookup = policy_file()
        #: The file whose bytes the lookup was sent last (passed over, if it asks on).
        sent = ""
        found: tuple[str, bytes] | None = None
        try:
            name = next(lookup)
            while True:
                entry = root_files.get(name)
                key = f"{name}:{entry.oid}" if entry is not None and entry.is_regular else ""
                cached = self.policies.get(key) if key else None
                if cached is not None:
                    # Parsed before: this blob held a policy, so the lookup would end here.
                    lookup.close()
                    return self._cached(cached)
                data = await self._config_bytes(key, entry, fetcher)
                sent = key if data is not None else ""
                name = lookup.send(data)
                self._passed_over(sent)
        except StopIteration as done:
            found = done.value
        if found is None:
            self._passed_over(sent)
            return self._default()
        name, data = found
        key = f"{name}:{root_files[name].oid}"
        try:
            parsed: _Cached = (load_policy_bytes(data, name), self._source(key, name, data))
        except ConfigError as exc:
            parsed = exc
        self.policies.put(key, parsed)
        return self._cached(parsed)

    async def _config_bytes(self, key: str, entry: FileEntry | None, fetcher: BlobFetcher) -> bytes | None:
        """The bytes of a configuration file for the lookup; None when the
        base has no such regular file, it could not be fetched, or its blob
        is known to hold no policy."""
        if not key or entry is None:
            return None
        if key in self._not_config:
            self._not_config.move_to_end(key)
            return None
        return await fetcher.fetch(entry)

    def _passed_over(self, key: str) -> None:
        """Remember a blob the lookup passed over although it had its bytes
        (a ``pyproject.toml`` without ``[tool.guardian]``): it is not fetched again."""
        if not key:
            return
        self._not_config[key] = None
        while len(self._not_config) > 1024:
            self._not_config.popitem(last=False)

    def _cached(self, cached: _Cached) -> tuple[Policy, PolicySource]:
        if isinstance(cached, ConfigError):
            raise cached
        return self._bounded(cached[0]), cached[1]

    def _default(self) -> tuple[Policy, PolicySource]:
        cached = self.policies.get("default")
        if cached is None or isinstance(cached, ConfigError):
            cached = (build_policy({}, "<no project configuration>"), self._source("default", "", None))
            self.policies.put("default", cached)
        return self._bounded(cached[0]), cached[1]

    def _source(self, key: str, name: str, data: bytes | None) -> PolicySource:
        return PolicySource(key, name, data, max_content_size=self.settings.max_blob_bytes)

    def _bounded(self, policy: Policy) -> Policy:
        # Content rules never read more than the App's own bound.
        policy.max_content_size = min(policy.max_content_size, self.settings.max_blob_bytes)
        return policy

    async def evaluate(
        self, repo: str, installation: int, pr: PullRequest | MergeGroup, calls: CallCounter
    ) -> Evaluation:
        """Fetch what the engine needs, then run it in the pool. ``pr`` is a
        pull request or a merge group (``guardian_app.groups``): a group's
        changed files are what it adds to its base. Raises
        ``guardian_app.pool.EvaluationTimeout`` when the engine ran past its deadline."""
        evaluation = Evaluation(pr=pr)
        fetcher = BlobFetcher(
            self.gh,
            repo,
            installation,
            concurrency=self.settings.blob_concurrency,
            max_bytes=self.settings.max_blob_bytes,
        )
        walk = TreeWalk(self.gh, repo, installation, max_requests=self.settings.max_tree_requests)
        base_walk = TreeWalk(self.gh, repo, installation, max_requests=self.settings.max_tree_requests)
        group = isinstance(pr, groups.MergeGroup)

        async def changed_files() -> tuple[list[object], bool]:
            if isinstance(pr, groups.MergeGroup):
                return await groups.compare_files(self.gh, repo, installation, pr.base_sha, pr.head_sha)
            items: list[object] = []
            async for page in self.gh.paginate(
                f"/repos/{repo}/pulls/{pr.number}/files", installation=installation, max_items=MAX_PR_FILES
            ):
                items.extend(page)
            return items, len(items) >= MAX_PR_FILES

        base_tree, tree, (files, cut) = await asyncio.gather(
            base_walk.entries(pr.base_sha), walk.entries(pr.head_sha), changed_files()
        )
        if cut and group and not (walk.incomplete or base_walk.incomplete):
            # The compare answer stops at 300 files; the two trees say it all.
            files = tree_changes(base_tree, tree)
            evaluation.notes.append(
                f"GitHub lists at most {groups.MAX_COMPARE_FILES} files of a comparison; "
                "the merge group's changed files were found by comparing its trees."
            )
        elif cut:
            limit = groups.MAX_COMPARE_FILES if group else MAX_PR_FILES
            what = "comparison" if group else "pull request"
            evaluation.notes.append(
                f"GitHub lists at most {limit:,} files of a {what}; files beyond those were not checked."
            )
        evaluation.changed_files = len(files)
        evaluation.config_changed = sorted(
            {
                str(item.get("filename"))
                for item in files
                if isinstance(item, dict) and item.get("filename") in CONFIG_FILES
            }
            | {
                str(item.get("previous_filename"))
                for item in files
                if isinstance(item, dict) and item.get("previous_filename") in CONFIG_FILES
            }
        )
        if walk.incomplete or base_walk.incomplete:
            evaluation.notes.append(
                f"A tree is too large to list in {walk.max_requests} requests; repository rules saw only part of it."
            )
        elif walk.truncated or base_walk.truncated:
            evaluation.notes.append("GitHub truncated a tree listing; it was read subtree by subtree.")

        base_by_path = {e.path: e for e in base_tree}
        try:
            policy, source = await self._policy({p: e for p, e in base_by_path.items() if "/" not in p}, fetcher)
            baseline = await self._baseline(policy, base_by_path, fetcher)
        except GuardianError as exc:
            evaluation.config_error = str(exc)
            evaluation.reads, evaluation.blobs = calls["read"], calls["blob"]
            return evaluation
        evaluation.policy_source = policy.source
        if baseline is not None and policy.baseline:
            evaluation.baseline = policy.baseline

        by_path = {e.path: e for e in tree}
        checked = changed_entries(files, by_path)
        wanted = self._content_wanted(policy, checked, tree)
        if any(r.scope == "repo" for r in policy.rules) and any(_is_gitignore(e.path) for e in checked):
            # The change edits a .gitignore: whether it loses a required
            # pattern is asked of the base's .gitignore files too.
            wanted.extend(self._gitignores(base_tree, policy.max_content_size))
        blobs = await fetcher.fetch_all(wanted)
        # The job's counter is complete before the engine runs: a deadline
        # past this point still reports what the fetching cost.
        evaluation.reads, evaluation.blobs = calls["read"], calls["blob"]
        what = "merge group" if isinstance(pr, groups.MergeGroup) else f"pull request #{pr.number}"
        label = f"{what} at {pr.head_sha[:12]}"
        task = Task(source, checked, tree, blobs, label, base_tree=base_tree, baseline=baseline)
        reply = await self.pool.run(task)
        evaluation.result = reply.result
        if reply.unforeseen:
            evaluation.notes.append(
                f"{reply.unforeseen} files a rule asked for were not fetched beforehand and were not read."
            )
        return evaluation

    async def _baseline(
        self, policy: Policy, base_files: dict[str, FileEntry], fetcher: BlobFetcher
    ) -> Baseline | None:
        """The policy's ``baseline`` file as the base branch holds it (the
        pull request's own copy is never read, as its policy is not), or
        None when the policy names none. Read within the App's blob bound
        and parsed off the event loop once per blob id. Raises
        ``GuardianError`` when the file is missing, too large or not a baseline."""
        name = policy.baseline
        if not name:
            return None
        entry = base_files.get(name)
        if entry is None or not entry.is_regular:
            raise GuardianError(
                f"{name}: baseline not found on the base branch (the policy's `baseline` names it); "
                "commit it there, or remove the key"
            )
        key = f"baseline:{entry.oid}"
        cached = self._baselines.get(key)
        if cached is None:
            data = await fetcher.fetch(entry)
            if data is None:
                cached = GuardianError(
                    f"{name}: the baseline could not be read from the base branch "
                    f"(it is over the App's {self.settings.max_blob_bytes:,}-byte bound, or GitHub did not serve it)"
                )
            else:
                cached = await asyncio.to_thread(_parse_baseline, data, name)
            self._baselines[key] = cached
            while len(self._baselines) > 16:
                self._baselines.popitem(last=False)
        else:
            self._baselines.move_to_end(key)
        if isinstance(cached, GuardianError):
            raise cached
        return cached

    @staticmethod
    def _gitignores(tree: list[FileEntry], bound: int) -> list[FileEntry]:
        ignores = [e for e in tree if e.is_regular and _is_gitignore(e.path) and e.size <= bound]
        return ignores[:MAX_GITIGNORE_FILES]

    @staticmethod
    def _content_wanted(policy: Policy, checked: list[FileEntry], tree: list[FileEntry]) -> list[FileEntry]:
        """The blobs the engine will read: changed files a content rule looks
        at, within the size bound, and the ``.gitignore`` files for the
        repository rules."""
        content_rules = [r for r in policy.rules if r.scope == "file" and r.needs_content]
        bound = policy.max_content_size
        wanted = [
            e
            for e in checked
            if e.is_regular
            and e.size <= bound
            and any(r.applies(e.path) and not r.is_excluded(e.path) for r in content_rules)
        ]
        if any(r.scope == "repo" for r in policy.rules):
            wanted.extend(Evaluator._gitignores(tree, bound))
        return wanted


def _is_gitignore(path: str) -> bool:
    return path == ".gitignore" or path.endswith("/.gitignore")


def _parse_baseline(data: bytes, name: str) -> Baseline | GuardianError:
    from guardian.accept import Baseline

    try:
        return Baseline.from_bytes(data, name)
    except GuardianError as exc:
        return exc
