"""The start-up reconcile: open pull requests whose webhook was lost get checked.

For each installation the store knows, the open pull requests (newest
updates first) whose head has no completed ``guardian`` check run of this
App are queued. Bounded: at most ``reconcile_limit`` pull requests are
examined and about twice as many listing requests made; it stops early
when an installation's rate limit runs low (the client also waits out a
limit that is spent). Repository names, commit ids and numbers read from
the listings are checked (``guardian_app.names``) before they go into a request
path or the store.
"""

from __future__ import annotations

import time

from guardian_app import logs, report
from guardian_app.github import GitHubError
from guardian_app.names import github_id, is_repo_name, object_id
from guardian_app.store import JobSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from guardian_app.github import GitHubClient
    from guardian_app.settings import Settings
    from guardian_app.store import AsyncStore

log = logs.get("worker")
#: Reconcile stops when fewer requests than this are left on an installation.
RECONCILE_RESERVE = 200


class _Budget:
    """What the reconcile may still spend."""

    def __init__(self, *, pulls: int, listings: int) -> None:
        self.pulls = pulls
        self.listings = listings
        self.spent = False


class Reconcile:
    def __init__(self, gh: GitHubClient, store: AsyncStore, settings: Settings) -> None:
        self.gh = gh
        self.store = store
        self.settings = settings

    async def run(self) -> int:
        """Queue open pull requests of known installations whose head has no
        completed guardian check run; how many were queued."""
        limit = self.settings.reconcile_limit
        budget = _Budget(pulls=limit, listings=2 * limit + 2)
        queued = 0
        marker = f"reconcile:{int(time.time())}"
        for inst in await self.store.installations():
            try:
                async for repo, item in self._open_pulls(inst, budget):
                    spec = await self._needs_check(repo, inst, item)
                    if spec is not None:
                        recorded = await self.store.record(f"{marker}:{repo}:{spec.head_sha}", "reconcile", [spec])
                        queued += recorded.queued
            except GitHubError as exc:
                log.warning("reconcile skipped installation %d: %s", inst, exc)
            if budget.spent:
                break
        return queued

    def _low(self, inst: int, budget: _Budget) -> bool:
        """Spent: no budget left, or the installation's rate limit runs low."""
        remaining = self.gh.remaining(inst)
        if remaining is not None and remaining < RECONCILE_RESERVE:
            log.warning("reconcile stops: %d requests left for installation %d", remaining, inst)
            budget.spent = True
        return budget.spent

    async def _open_pulls(self, inst: int, budget: _Budget) -> AsyncIterator[tuple[str, dict[str, object]]]:
        """(repository, pull request) of an installation, newest updates first, within the budget."""
        async for repos in self.gh.paginate("/installation/repositories", installation=inst, key="repositories"):
            for repo_item in repos:
                name = str(repo_item.get("full_name", "")) if isinstance(repo_item, dict) else ""
                if not is_repo_name(name):
                    if name:
                        log.warning("reconcile skipped a repository named %r: not a GitHub name", name[:200])
                    continue
                async for item in self._repo_pulls(inst, name, budget):
                    yield name, item
                if budget.spent:
                    return
            budget.listings -= 1
            if budget.listings <= 0 or self._low(inst, budget):
                budget.spent = True
                return

    async def _repo_pulls(self, inst: int, repo: str, budget: _Budget) -> AsyncIterator[dict[str, object]]:
        async for pulls in self.gh.paginate(
            f"/repos/{repo}/pulls",
            installation=inst,
            params={"state": "open", "sort": "updated", "direction": "desc"},
        ):
            for item in pulls:
                if budget.pulls <= 0 or self._low(inst, budget):
                    budget.spent = True
                    return
                budget.pulls -= 1
                if isinstance(item, dict):
                    yield item
            budget.listings -= 1
            if budget.listings <= 0 or self._low(inst, budget):
                budget.spent = True
                return

    async def _needs_check(self, repo: str, inst: int, pr: dict[str, object]) -> JobSpec | None:
        head = pr.get("head") if isinstance(pr.get("head"), dict) else {}
        base = pr.get("base") if isinstance(pr.get("base"), dict) else {}
        assert isinstance(head, dict) and isinstance(base, dict)
        sha = object_id(head.get("sha"))
        number = github_id(pr.get("number"))
        if not sha or number is None:
            return None
        data = await self.gh.get_json(
            f"/repos/{repo}/commits/{sha}/check-runs",
            installation=inst,
            params={"check_name": report.CHECK_NAME, "filter": "latest"},
        )
        runs = data.get("check_runs", []) if isinstance(data, dict) else []
        for run in runs if isinstance(runs, list) else []:
            if not isinstance(run, dict) or run.get("status") != "completed":
                continue
            app = run.get("app") if isinstance(run.get("app"), dict) else {}
            if not self.settings.app_id.isdigit() or str((app or {}).get("id")) == self.settings.app_id:
                return None
        return JobSpec(
            repo,
            inst,
            sha,
            pr=number,
            base_sha=object_id(base.get("sha")) or None,
            base_ref=str(base.get("ref") or "") or None,
            reason="reconcile",
        )
