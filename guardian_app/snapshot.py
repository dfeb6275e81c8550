"""A pull request head as a ``guardian`` snapshot, read from the GitHub API.

The engine calls snapshot methods synchronously, and it runs in a worker
process that holds no credentials (``guardian_app.pool``), so everything it will ask
for is fetched asynchronously first: the head tree with blob sizes, the
changed files, the blobs content rules will read, the ``.gitignore`` files.
A blob nobody foresaw is reported as not read, and counted, rather than
fetched from inside the evaluation (whose deadline would then measure
GitHub's latency, and whose process would need a token).
"""

from __future__ import annotations

import asyncio
import base64

from guardian.model import MODE_SUBMODULE, FileEntry, Snapshot
from guardian_app.github import GitHubError, TooLarge
from guardian_app.names import is_object_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from guardian_app.github import GitHubClient

#: GitHub lists at most this many files of a pull request.
MAX_PR_FILES = 3000
#: Statuses of a changed file whose blob may be one that already existed.
_MAYBE_OLD_BLOB = ("renamed", "copied", "changed", "unchanged")


class GitHubSnapshot(Snapshot):
    """Changed files of a pull request (``files``) within its head tree (``tree()``),
    with the blobs fetched for it (``blobs``: blob id -> bytes, None when
    GitHub did not serve one)."""

    def __init__(
        self,
        files: list[FileEntry],
        tree: list[FileEntry],
        *,
        label: str,
        blobs: dict[str, bytes | None],
    ) -> None:
        self.files = files
        self._tree = tree
        self.label = label
        self.blobs = blobs
        #: Entries the engine asked for that were not fetched beforehand.
        self.unforeseen = 0

    def tree(self) -> Sequence[FileEntry]:
        return self._tree

    def with_sizes(self, entries: Sequence[FileEntry]) -> Sequence[FileEntry]:
        return entries  # the tree listing carried every blob's size

    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        for entry in entries:
            if entry.oid in self.blobs:
                yield entry, self.blobs[entry.oid]
            else:
                if not entry.is_submodule:
                    self.unforeseen += 1
                yield entry, None

    def unread_reason(self, entry: FileEntry) -> str:
        if entry.oid in self.blobs:
            return "GitHub did not serve the blob (missing, refused or over the App's size bound)"
        return "not fetched before the evaluation"


class BlobFetcher:
    """Fetches blobs of one repository, at most ``concurrency`` at a time and
    never one larger than ``max_bytes``."""

    def __init__(
        self,
        gh: GitHubClient,
        repo: str,
        installation: int,
        *,
        concurrency: int,
        max_bytes: int,
    ) -> None:
        self.gh = gh
        self.repo = repo
        self.installation = installation
        self.max_bytes = max_bytes
        self._limit = asyncio.Semaphore(concurrency)

    async def fetch(self, entry: FileEntry) -> bytes | None:
        """The blob's bytes; None when it is missing, refused or larger than
        ``max_bytes`` (whatever size the listing gave, the download stops there)."""
        if entry.size > self.max_bytes or entry.is_submodule or not is_object_id(entry.oid):
            return None
        async with self._limit:
            try:
                response = await self.gh.request(
                    "GET",
                    f"/repos/{self.repo}/git/blobs/{entry.oid}",
                    installation=self.installation,
                    accept="application/vnd.github.raw+json",
                    purpose="blob",
                    # Room for base64 (4/3, plus line breaks) from a server that ignores the raw media type.
                    max_bytes=self.max_bytes * 14 // 10 + 4096,
                )
            except GitHubError as exc:
                if isinstance(exc, TooLarge) or exc.status in (404, 403, 409, 422):
                    return None  # missing, refused or too large: the engine reports the file as not read
                raise
        data: bytes = response.content
        if response.headers.get("content-type", "").startswith("application/json"):
            try:
                answer = response.json()
            except ValueError:
                return None
            answer = answer if isinstance(answer, dict) else {}
            content = str(answer.get("content") or "")
            if answer.get("encoding") == "base64":
                try:
                    data = base64.b64decode(content)
                except ValueError:
                    return None
            else:
                data = content.encode("utf-8", "surrogateescape")
        return data if len(data) <= self.max_bytes else None

    async def fetch_all(self, entries: Iterable[FileEntry]) -> dict[str, bytes | None]:
        unique: dict[str, FileEntry] = {}
        for entry in entries:
            unique.setdefault(entry.oid, entry)
        results = await asyncio.gather(*(self.fetch(e) for e in unique.values()))
        return dict(zip(unique, results, strict=True))


def tree_entries(items: list[object], prefix: str = "") -> tuple[list[FileEntry], list[tuple[str, str]]]:
    """Files (blobs and submodules) and subtrees (path, sha) of a tree listing."""
    files: list[FileEntry] = []
    subtrees: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        path = prefix + str(item.get("path", ""))
        kind = item.get("type")
        sha = str(item.get("sha", ""))
        if kind == "blob":
            size = item.get("size")
            files.append(
                FileEntry(path, size if isinstance(size, int) else -1, str(item.get("mode", "100644")), sha, new=False)
            )
        elif kind == "commit":
            files.append(FileEntry(path, 0, MODE_SUBMODULE, sha, new=False))
        elif kind == "tree":
            subtrees.append((path, sha))
    return files, subtrees


class TreeWalk:
    """The recursive tree of a commit, walking subtrees when GitHub truncates it.

    GitHub truncates ``?recursive=1`` listings above 100,000 entries or 7 MB.
    Then each level is listed without recursion and each subtree asked for
    recursively in turn (each of those may be truncated again), at most
    ``max_requests`` requests in all; past that the tree is marked incomplete.
    """

    def __init__(self, gh: GitHubClient, repo: str, installation: int, *, max_requests: int) -> None:
        self.gh = gh
        self.repo = repo
        self.installation = installation
        self.max_requests = max_requests
        self.requests = 0
        self.truncated = False
        self.incomplete = False
        self._limit = asyncio.Semaphore(8)

    async def _get(self, sha: str, *, recursive: bool) -> dict[str, object] | None:
        if not is_object_id(sha):
            return {}  # not a tree GitHub would name: nothing to list
        if self.requests >= self.max_requests:
            self.incomplete = True
            return None
        self.requests += 1
        params: dict[str, str | int] = {"recursive": 1} if recursive else {}
        async with self._limit:
            data = await self.gh.get_json(
                f"/repos/{self.repo}/git/trees/{sha}", installation=self.installation, params=params
            )
        return data if isinstance(data, dict) else {}

    async def entries(self, sha: str) -> list[FileEntry]:
        return await self._recursive(sha, "")

    async def _recursive(self, sha: str, prefix: str) -> list[FileEntry]:
        data = await self._get(sha, recursive=True)
        if data is None:
            return []
        items = data.get("tree")
        if not data.get("truncated"):
            return tree_entries(items if isinstance(items, list) else [], prefix)[0]
        self.truncated = True
        level = await self._get(sha, recursive=False)
        if level is None:
            # Out of requests: keep what the truncated listing gave.
            return tree_entries(items if isinstance(items, list) else [], prefix)[0]
        level_items = level.get("tree")
        files, subtrees = tree_entries(level_items if isinstance(level_items, list) else [], prefix)
        nested = await asyncio.gather(*(self._recursive(sub_sha, path + "/") for path, sub_sha in subtrees))
        for part in nested:
            files.extend(part)
        return files


def changed_entries(items: list[object], tree: dict[str, FileEntry]) -> list[FileEntry]:
    """The files under check: every changed file that exists at the head.

    A renamed or copied file with no changed lines keeps its blob: it is not a
    new blob for the size rule (GitHub gives no old blob id to compare).
    """
    files: list[FileEntry] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        status = str(item.get("status", ""))
        path = str(item.get("filename", ""))
        if status == "removed" or not path:
            continue
        new = not (status in _MAYBE_OLD_BLOB and not item.get("changes"))
        known = tree.get(path)
        if known is not None:
            known.new = new
            files.append(known)
        else:
            files.append(FileEntry(path, -1, "100644", str(item.get("sha") or ""), new=new))
    return files


def tree_changes(base: Sequence[FileEntry], head: Sequence[FileEntry]) -> list[object]:
    """What ``head`` changes against ``base``, in the shape of a pull
    request's files (for a merge group whose compare answer was cut). A file
    whose blob the base already holds, under any path, is reported with no
    changed lines: not a new blob for the size rule."""
    old = {e.path: e for e in base}
    known = {e.oid for e in base}
    items: list[object] = []
    for entry in head:
        before = old.pop(entry.path, None)
        if before is not None and (before.oid, before.mode) == (entry.oid, entry.mode):
            continue
        if before is not None and before.oid == entry.oid:
            status, changes = "changed", 0  # the mode only
        elif before is not None:
            status, changes = "modified", 1
        elif entry.oid in known:
            status, changes = "copied", 0
        else:
            status, changes = "added", 1
        items.append({"filename": entry.path, "sha": entry.oid, "status": status, "changes": changes})
    items.extend({"filename": e.path, "sha": e.oid, "status": "removed", "changes": 1} for e in old.values())
    return items
