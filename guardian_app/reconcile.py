"""The start-up reconcile: open pull requests whose webhook was lost get checked.

The installations are those the store knows (most recently heard from
first) and those GitHub lists for the App (``GET /app/installations`` with
the App's JWT, 100 a page), so a lost or new database, or a lost
``installation`` delivery, still finds every installation; those GitHub
lists are remembered. Suspended ones are skipped. For each installation,
the open pull requests (newest updates first) whose head has no completed
``guardian`` check run of this App are queued. Bounded: at most ``reconcile_limit`` pull requests are
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
from guardian_app.names import github_id, is_login, is_repo_name, object_id
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
#: A shared store's reconcile runs again on another instance's start-up only after this many seconds.
RECONCILE_EVERY = 300.0
#: Installations listed from ``GET /app/installations`` at most (100 a page).
MAX_LISTED_INSTALLATIONS = 10_000


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
        """``_run`` on one instance at a time (the store's singleton
        ``reconcile``): instances sharing a store that start together, or
        within ``RECONCILE_EVERY`` seconds, reconcile once."""
        if not await self.store.try_singleton("reconcile", RECONCILE_EVERY):
            log.info("reconcile skipped: another instance runs it or ran it lately")
            return 0
        try:
            return await self._run()
        finally:
            await self.store.release_singleton("reconcile")

    async def _run(self) -> int:
        """Queue open pull requests of known installations whose head has no
        completed guardian check run; how many were queued."""
        limit = self.settings.reconcile_limit
        budget = _Budget(pulls=limit, listings=2 * limit + 2)
        queued = 0
        marker = f"reconcile:{int(time.time())}"
        for inst in await self._installations():
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

    async def _installations(self) -> list[int]:
        """The store's installations, then those only GitHub knows of (the
        store lost them): each of the latter is remembered. A listing that
        fails leaves the store's."""
        known = await self.store.installations()
        listed: list[int] = []
        try:
            async for page in self.gh.paginate(
                "/app/installations", installation=None, max_items=MAX_LISTED_INSTALLATIONS
            ):
                for item in page:
                    if not isinstance(item, dict) or item.get("suspended_at"):
                        continue
                    inst = github_id(item.get("id"))
                    if inst is None or inst in known or inst in listed:
                        continue
                    account = item.get("account")
                    login = str(account.get("login", "")) if isinstance(account, dict) else ""
                    await self.store.remember_installation(inst, login if is_login(login) else "")
                    listed.append(inst)
        except GitHubError as exc:
            log.warning("reconcile could not list the App's installations: %s", exc)
        if listed:
            log.info("reconcile found %d installations the store did not know", len(listed))
        return [*known, *listed]

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
