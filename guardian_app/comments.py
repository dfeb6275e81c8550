"""The sticky comment: one comment per pull request, edited in place.

The comment's id and body hash are kept in the store, which spares a
listing of the pull request's comments and never sends an unchanged body
again. A comment the store does not know (a new database, a lost answer)
is found by its hidden marker, written by this App; another bot quoting
the marker is left alone. A pull request that was always clean gets none.
"""

from __future__ import annotations

from guardian_app import report
from guardian_app.names import github_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian_app.evaluate import Evaluation
    from guardian_app.github import GitHubClient
    from guardian_app.pulls import PullRequest
    from guardian_app.settings import Settings
    from guardian_app.store import AsyncStore


class Comments:
    def __init__(self, gh: GitHubClient, store: AsyncStore, settings: Settings) -> None:
        self.gh = gh
        self.store = store
        self.settings = settings

    async def update(self, repo: str, inst: int, pr: PullRequest, evaluation: Evaluation) -> None:
        """One comment per pull request, edited in place; never re-sent unchanged."""
        body = report.comment_body(evaluation)
        digest = report.body_hash(body)
        known = await self.store.comment(repo, pr.number)
        if known is not None:
            if await self._edit_known(repo, inst, pr.number, known, body, digest):
                return
        elif await self._edit_found(repo, inst, pr.number, body, digest):
            return
        has_news = bool(evaluation.config_error) or bool(evaluation.result and evaluation.result.findings)
        if has_news:
            await self._post(repo, inst, pr.number, body, digest)

    async def _edit_known(
        self, repo: str, inst: int, number: int, known: tuple[int, str], body: str, digest: str
    ) -> bool:
        """Edit the comment the store knows; False when someone deleted it."""
        comment_id, old_digest = known
        if old_digest == digest:
            return True
        edited = await self.gh.request(
            "PATCH",
            f"/repos/{repo}/issues/comments/{comment_id}",
            installation=inst,
            purpose="write",
            json={"body": body},
            allow=(404,),
        )
        if edited.status_code != 404:
            await self.store.remember_comment(repo, number, comment_id, digest)
            return True
        await self.store.forget_comment(repo, number)
        return False

    async def _edit_found(self, repo: str, inst: int, number: int, body: str, digest: str) -> bool:
        """Edit our comment found by its marker; False when there is none."""
        found = await self.find(repo, inst, number)
        if found is None:
            return False
        comment_id, old_body = found
        if report.body_hash(old_body) != digest:
            await self.gh.request(
                "PATCH",
                f"/repos/{repo}/issues/comments/{comment_id}",
                installation=inst,
                purpose="write",
                json={"body": body},
            )
        await self.store.remember_comment(repo, number, comment_id, digest)
        return True

    async def _post(self, repo: str, inst: int, number: int, body: str, digest: str) -> None:
        # A second comment is what the sticky comment exists to avoid: a post
        # whose answer was lost is looked for by its marker first.
        data, found = await self.gh.create_once(
            "comment",
            f"/repos/{repo}/issues/{number}/comments",
            installation=inst,
            body={"body": body},
            find=lambda: self.find(repo, inst, number),
        )
        if found is not None:
            await self.store.remember_comment(repo, number, found[0], report.body_hash(found[1]))
        elif (created_id := github_id(data.get("id"))) is not None:
            await self.store.remember_comment(repo, number, created_id, digest)

    async def find(self, repo: str, inst: int, number: int) -> tuple[int, str] | None:
        """Our earlier comment, found by its hidden marker (written by a bot)."""
        async for page in self.gh.paginate(
            f"/repos/{repo}/issues/{number}/comments", installation=inst, max_items=3000, purpose="write"
        ):
            for item in page:
                if not isinstance(item, dict):
                    continue
                body = item.get("body")
                comment_id = github_id(item.get("id"))
                if comment_id is None or not isinstance(body, str):
                    continue
                if report.COMMENT_MARKER in body and self._is_ours(item):
                    return comment_id, body
        return None

    def _is_ours(self, comment: dict[str, object]) -> bool:
        """Written by this App: another bot may quote the marker, and its
        comment is not ours to edit (GitHub would refuse, every push)."""
        user = comment.get("user")
        if not isinstance(user, dict) or user.get("type") != "Bot":
            return False
        via = comment.get("performed_via_github_app")
        if isinstance(via, dict) and self.settings.app_id.isdigit():
            return str(via.get("id")) == self.settings.app_id
        return True
