"""One evaluation: the base branch's policy over the pull request's head.

REST requests besides blob fetches (``read`` in the call counter):

1. the pull request (``GET /pulls/{n}``; a fork's check suite first lists
   open pull requests to find it; when the queue has seen another pull
   request with this head, ``GET /commits/{sha}/pulls`` says which share it
   now, see ``app.report``),
2. the base commit's root tree (is there a ``.guardian.toml`` or a
   ``pyproject.toml``?); the file itself is a blob fetch, and the parsed
   policy is cached by blob id,
3. the head's recursive tree (sizes of every blob; more requests only when
   GitHub truncates it),
4. the changed files, 100 per page: ``ceil(changed / 100)`` requests.

That is 3 + ceil(changed / 100), within the 4 + ceil(changed / 100) target.
Requests 2 to 4 run concurrently.

The engine then runs in a worker process of ``app.pool``, under the
``evaluation_timeout`` deadline, over what was fetched here.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math

from app.github import GitHubError
from app.names import github_id, object_id
from app.pool import PolicySource, Task
from app.snapshot import MAX_PR_FILES, BlobFetcher, TreeWalk, changed_entries, tree_entries
from guardian.config import CONFIG_FILES, Policy, build_policy, holds_policy, load_policy_bytes
from guardian.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from app.github import CallCounter, GitHubClient
    from app.pool import EvaluationPool
    from app.settings import Settings
    from guardian.model import FileEntry, Result

#: How many ``.gitignore`` files a repository rule may read per evaluation.
MAX_GITIGNORE_FILES = 500


@dataclasses.dataclass(frozen=True)
class PullRequest:
    number: int
    head_sha: str
    base_sha: str
    base_ref: str
    state: str
    html_url: str

    @classmethod
    def from_api(cls, data: dict[str, object]) -> PullRequest | None:
        """The pull request of an API answer; None when its number or
        commit ids are not ones GitHub gives (they go into request paths)."""
        head = data.get("head") if isinstance(data.get("head"), dict) else {}
        base = data.get("base") if isinstance(data.get("base"), dict) else {}
        assert isinstance(head, dict) and isinstance(base, dict)
        number = github_id(data.get("number"))
        head_sha, base_sha = object_id(head.get("sha")), object_id(base.get("sha"))
        if number is None or not head_sha or not base_sha:
            return None
        return cls(
            number=number,
            head_sha=head_sha,
            base_sha=base_sha,
            base_ref=str(base.get("ref", "")),
            state=str(data.get("state", "open")),
            html_url=str(data.get("html_url", "")),
        )


@dataclasses.dataclass
class Evaluation:
    """What the reports need to know about one evaluation."""

    pr: PullRequest
    result: Result | None = None
    #: The base branch's policy could not be used: why (one line).
    config_error: str = ""
    policy_source: str = ""
    #: Config files this pull request changes (the base's are used regardless).
    config_changed: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
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


#: Open pull requests looked through for a fork's head (most recently updated first).
MAX_OPEN_PULLS = 1000


async def find_pull_request(gh: GitHubClient, repo: str, installation: int, head_sha: str) -> PullRequest | None:
    """The open pull request whose head is ``head_sha`` (a fork's check suite
    names none). A push updates its pull request, so the newest updates come
    first and the search stops after ``MAX_OPEN_PULLS``."""
    async for page in gh.paginate(
        f"/repos/{repo}/pulls",
        installation=installation,
        params={"state": "open", "sort": "updated", "direction": "desc"},
        max_items=MAX_OPEN_PULLS,
    ):
        for item in page:
            if isinstance(item, dict) and isinstance(item.get("head"), dict) and item["head"].get("sha") == head_sha:
                found = PullRequest.from_api(item)
                if found is not None:
                    return found
    return None


async def open_pull_requests_at(gh: GitHubClient, repo: str, installation: int, head_sha: str) -> list[PullRequest]:
    """The open pull requests into ``repo`` whose head is ``head_sha`` (one
    request: ``GET /commits/{sha}/pulls`` lists the pull requests a commit
    belongs to; those whose head it is are kept). Asked only when a head may
    be shared, so the common path makes no such request."""
    data = await gh.get_json(
        f"/repos/{repo}/commits/{head_sha}/pulls", installation=installation, params={"per_page": 100}
    )
    found: list[PullRequest] = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or item.get("state") != "open" or not isinstance(item.get("number"), int):
            continue
        head, base = item.get("head"), item.get("base")
        if not isinstance(head, dict) or head.get("sha") != head_sha or not isinstance(base, dict):
            continue
        base_repo = base.get("repo")
        if isinstance(base_repo, dict) and str(base_repo.get("full_name", repo)).lower() != repo.lower():
            continue
        pr = PullRequest.from_api(item)
        if pr is not None:
            found.append(pr)
    return sorted(found, key=lambda pr: pr.number)


async def get_pull_request(gh: GitHubClient, repo: str, installation: int, number: int) -> PullRequest:
    path = f"/repos/{repo}/pulls/{number}"
    data = await gh.get_json(path, installation=installation)
    pr = PullRequest.from_api(data) if isinstance(data, dict) else None
    if pr is None:
        raise GitHubError(502, "GET", path, "the answer has no valid number, head and base commit ids")
    return pr


class Evaluator:
    def __init__(self, gh: GitHubClient, settings: Settings, pool: EvaluationPool) -> None:
        self.gh = gh
        self.settings = settings
        self.pool = pool
        self.policies = PolicyCache()
        #: pyproject.toml blobs without a [tool.guardian] table (LRU, as the policies).
        self._not_config: collections.OrderedDict[str, None] = collections.OrderedDict()

    async def _policy(
        self, repo: str, installation: int, base_root: object, fetcher: BlobFetcher
    ) -> tuple[Policy, PolicySource]:
        """The base branch's policy: ``.guardian.toml``, else ``[tool.guardian]``
        of ``pyproject.toml``, else the shipped default; with the bytes it
        came from, for the evaluation process."""
        items = base_root.get("tree") if isinstance(base_root, dict) else None
        root_files = {e.path: e for e in tree_entries(items if isinstance(items, list) else [])[0]}
        for name in CONFIG_FILES:
            entry = root_files.get(name)
            if entry is None or not entry.is_regular:
                continue
            key = f"{name}:{entry.oid}"
            if key in self._not_config:
                self._not_config.move_to_end(key)
                continue
            cached = self.policies.get(key)
            if cached is None:
                data = await fetcher.fetch(entry)
                if data is None:
                    continue
                # holds_policy knows every TOML spelling of [tool.guardian]
                # (a search for the bytes "tool.guardian" misses quoted keys).
                if name == "pyproject.toml" and not holds_policy(data, name):
                    self._not_config[key] = None
                    while len(self._not_config) > 1024:
                        self._not_config.popitem(last=False)
                    continue
                try:
                    cached = (load_policy_bytes(data, name), self._source(key, name, data))
                except ConfigError as exc:
                    cached = exc
                self.policies.put(key, cached)
            if isinstance(cached, ConfigError):
                raise cached
            return self._bounded(cached[0]), cached[1]
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

    async def evaluate(self, repo: str, installation: int, pr: PullRequest, calls: CallCounter) -> Evaluation:
        """Fetch what the engine needs, then run it in the pool. Raises
        ``app.pool.EvaluationTimeout`` when the engine ran past its deadline."""
        evaluation = Evaluation(pr=pr)
        fetcher = BlobFetcher(
            self.gh,
            repo,
            installation,
            concurrency=self.settings.blob_concurrency,
            max_bytes=self.settings.max_blob_bytes,
        )
        walk = TreeWalk(self.gh, repo, installation, max_requests=self.settings.max_tree_requests)

        async def changed_files() -> list[object]:
            items: list[object] = []
            async for page in self.gh.paginate(
                f"/repos/{repo}/pulls/{pr.number}/files", installation=installation, max_items=MAX_PR_FILES
            ):
                items.extend(page)
            return items

        base_root, tree, files = await asyncio.gather(
            self.gh.get_json(f"/repos/{repo}/git/trees/{pr.base_sha}", installation=installation),
            walk.entries(pr.head_sha),
            changed_files(),
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
        if len(files) >= MAX_PR_FILES:
            evaluation.notes.append(
                f"GitHub lists at most {MAX_PR_FILES:,} files of a pull request; files beyond those were not checked."
            )
        if walk.incomplete:
            evaluation.notes.append(
                f"The head tree is too large to list in {walk.max_requests} requests; "
                "repository rules saw only part of it."
            )
        elif walk.truncated:
            evaluation.notes.append("GitHub truncated the head tree listing; it was read subtree by subtree.")

        try:
            policy, source = await self._policy(repo, installation, base_root, fetcher)
        except ConfigError as exc:
            evaluation.config_error = str(exc)
            evaluation.reads, evaluation.blobs = calls["read"], calls["blob"]
            return evaluation
        evaluation.policy_source = policy.source

        by_path = {e.path: e for e in tree}
        checked = changed_entries(files, by_path)
        wanted = self._content_wanted(policy, checked, tree)
        blobs = await fetcher.fetch_all(wanted)
        # The job's counter is complete before the engine runs: a deadline
        # past this point still reports what the fetching cost.
        evaluation.reads, evaluation.blobs = calls["read"], calls["blob"]
        label = f"pull request #{pr.number} at {pr.head_sha[:12]}"
        reply = await self.pool.run(Task(source, checked, tree, blobs, label))
        evaluation.result = reply.result
        if reply.unforeseen:
            evaluation.notes.append(
                f"{reply.unforeseen} files a rule asked for were not fetched beforehand and were not read."
            )
        return evaluation

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
            ignores = [
                e
                for e in tree
                if e.is_regular and (e.path == ".gitignore" or e.path.endswith("/.gitignore")) and e.size <= bound
            ]
            wanted.extend(ignores[:MAX_GITIGNORE_FILES])
        return wanted
