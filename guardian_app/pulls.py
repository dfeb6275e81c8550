"""Which pull request a job is about, as GitHub's API answers it.

Numbers and commit ids of an answer go into request paths, so a pull
request whose answer lacks valid ones is refused (``guardian_app.names``).
"""

from __future__ import annotations

import dataclasses

from guardian_app.github import GitHubError
from guardian_app.names import github_id, object_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian_app.github import GitHubClient

#: Open pull requests looked through for a fork's head (most recently updated first).
MAX_OPEN_PULLS = 1000


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
