"""Pull requests sharing a head commit: per-PR names, the others queued, the combined verdict.

One branch opened against two base branches is two pull requests with one
head. Each is judged with its own base's policy and reported under its own
check run name and status context (``guardian_app.report.check_name``); the last of
them to finish writes the combined ``guardian`` run and status, the most
severe of their verdicts. Whether a head is shared is asked of GitHub only
when the store has seen another pull request with it, so the common path
makes no extra request.
"""

from __future__ import annotations

from guardian_app import logs, report
from guardian_app.checks import now_iso
from guardian_app.pulls import open_pull_requests_at
from guardian_app.store import JobSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian_app.checks import Checks
    from guardian_app.github import GitHubClient
    from guardian_app.pulls import PullRequest
    from guardian_app.settings import Settings
    from guardian_app.store import AsyncStore, Job

log = logs.get("worker")


class SharedHead:
    def __init__(self, gh: GitHubClient, store: AsyncStore, checks: Checks, settings: Settings) -> None:
        self.gh = gh
        self.store = store
        self.checks = checks
        self.settings = settings

    async def others(self, job: Job, pr: PullRequest) -> list[PullRequest]:
        """The other open pull requests whose head is this job's head (empty
        in the common case). GitHub is asked only when the store has seen
        another pull request with this head (a check suite listing several,
        a second pull request opened from the branch): no request otherwise."""
        if not await self.store.head_prs(job.repo, job.head_sha) - {pr.number}:
            return []
        found = await open_pull_requests_at(self.gh, job.repo, job.installation, job.head_sha)
        return [other for other in found if other.number != pr.number]

    async def queue_missing(self, job: Job, pr: PullRequest, others: list[PullRequest]) -> None:
        """Queue the pull requests sharing this head that have no verdict
        under their per-PR name yet (one was reported as ``guardian`` before
        the head was shared, or its job is still to come: then this joins
        it). A job that had no pull request (a Re-run of the combined run, a
        fork's check suite) stood for the whole head: it queues them all."""
        verdicts = await self.store.verdicts(job.repo, job.head_sha)
        whole_head = job.pr is None and job.reason != "check_suite.requested"
        specs = [
            JobSpec(
                job.repo,
                job.installation,
                job.head_sha,
                pr=other.number,
                base_sha=other.base_sha or None,
                base_ref=other.base_ref or None,
                reason=job.reason if whole_head else f"shared head with #{pr.number}",
            )
            for other in others
            if whole_head
            or verdicts.get(other.number, ("", ""))[0] != report.check_name(other.number, other.base_ref, shared=True)
        ]
        if not specs:
            return
        recorded = await self.store.record(f"shared:{job.id}:{job.attempts}", "shared-head", specs)
        log.info(
            "head shared with %s: %d queued, %d joined waiting jobs",
            ", ".join(f"#{o.number}" for o in others),
            recorded.queued,
            recorded.coalesced,
            extra={"repo": job.repo, "sha": job.head_sha[:12], "pr": pr.number},
        )

    async def report_combined(self, job: Job, pr: PullRequest, others: list[PullRequest]) -> None:
        """The combined ``guardian`` run and status of a shared head: the
        most severe verdict of its open pull requests, written once every one
        of them has a verdict under its per-PR name (until then a job for
        the missing ones is queued, and the last to finish writes it)."""
        verdicts = await self.store.verdicts(job.repo, job.head_sha)
        rows: list[tuple[int, str, str]] = []
        for item in sorted([pr, *others], key=lambda p: p.number):
            name = report.check_name(item.number, item.base_ref, shared=True)
            got = verdicts.get(item.number)
            if got is None or got[0] != name:
                return
            rows.append((item.number, name, got[1]))
        await self.gh.request(
            "POST",
            f"/repos/{job.repo}/check-runs",
            installation=job.installation,
            purpose="write",
            json={
                "name": report.CHECK_NAME,
                "head_sha": job.head_sha,
                "status": "completed",
                "conclusion": report.combined_conclusion([c for _n, _name, c in rows]),
                "started_at": now_iso(),
                "completed_at": now_iso(),
                "external_id": f"{job.id}:combined",
                "output": report.combined_output(rows),
            },
        )
        if self.settings.commit_status:
            state, description = report.combined_status(rows)
            await self.checks.post_status(
                job.repo,
                job.installation,
                job.head_sha,
                report.STATUS_CONTEXT,
                state,
                description,
                f"{pr.html_url}/checks",
            )
