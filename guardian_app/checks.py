"""Check runs and commit statuses: how a job's verdict is written on its head.

A job's check run is created once: its id is saved with the job, so a
restarted job completes the same run, and a create whose answer was lost is
found again by the job id in its ``external_id`` before anything is sent
twice. Annotations go 50 per request, the progress saved after each, so a
resumed job sends only what is missing; the last request completes the run.
Commit statuses carry the same verdict for branch protection rules that
require a status rather than a check.
"""

from __future__ import annotations

import time

from guardian_app import logs, report
from guardian_app.github import GitHubError
from guardian_app.groups import MergeGroup
from guardian_app.names import github_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian_app.evaluate import Evaluation
    from guardian_app.github import GitHubClient
    from guardian_app.pulls import PullRequest
    from guardian_app.settings import Settings
    from guardian_app.store import AsyncStore, Job

log = logs.get("worker")


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class CheckRun:
    """What one attempt at a job knows of its check run (a failure handler needs it)."""

    def __init__(self, check_run_id: int | None, external_id: str) -> None:
        self.id = check_run_id
        #: A create request went out; if its answer was lost, a run may exist unknown to us.
        self.creating = False
        #: The check run's name (and status context), and its ``external_id``.
        self.name = report.CHECK_NAME
        self.external_id = external_id
        #: Where a commit status points: the run's page, else the pull request's checks.
        self.target_url = ""


class Checks:
    def __init__(self, gh: GitHubClient, store: AsyncStore, settings: Settings) -> None:
        self.gh = gh
        self.store = store
        self.settings = settings

    async def open(self, job: Job, pr: PullRequest | MergeGroup, run: CheckRun) -> tuple[int, str]:
        """(id, html_url) of this job's check run, ``in_progress``.

        Creating one is no idempotent request: when GitHub may have done it
        without the answer reaching us (a 5xx, a connection lost), the run
        is looked for by its ``external_id`` (the job id) before creating
        again. A retried job looks first, in case an earlier attempt's
        create was lost that way; a first attempt sends one request.
        """
        if job.attempts > 1:
            found = await self.find(job, run.name, run.external_id)
            if found is not None:
                log.info("reusing check run %d created by an earlier attempt", found[0])
                return found
        body = {
            "name": run.name,
            "head_sha": job.head_sha,
            "status": "in_progress",
            "started_at": now_iso(),
            "external_id": run.external_id,
            "output": {
                "title": "Checking the merge group" if isinstance(pr, MergeGroup) else "Checking the pull request",
                "summary": report.checking_summary(pr),
            },
        }
        run.creating = True
        path = f"/repos/{job.repo}/check-runs"
        data, found = await self.gh.create_once(
            "check run",
            path,
            installation=job.installation,
            body=body,
            find=lambda: self.find(job, run.name, run.external_id),
        )
        if found is not None:
            return found
        run_id = github_id(data.get("id"))
        if run_id is None:
            raise GitHubError(502, "POST", path, "the answer has no valid check run id")
        return run_id, str(data.get("html_url") or "")

    async def find(
        self, job: Job, name: str = report.CHECK_NAME, external_id: str | None = None
    ) -> tuple[int, str] | None:
        """This job's check run still in progress on its head, if an earlier
        request created one: ours (this App), named ``name``, carrying the
        job id (and, when its head is shared, its PR) as ``external_id``. A
        completed run is never taken: it belongs to another job (job ids
        restart with a new database)."""
        external_id = str(job.id) if external_id is None else external_id
        params: dict[str, str | int] = {"check_name": name, "filter": "all"}
        if self.settings.app_id.isdigit():
            params["app_id"] = int(self.settings.app_id)
        async for page in self.gh.paginate(
            f"/repos/{job.repo}/commits/{job.head_sha}/check-runs",
            installation=job.installation,
            params=params,
            key="check_runs",
            max_items=1000,
            purpose="write",
        ):
            for item in page:
                if isinstance(item, dict) and item.get("external_id") == external_id and self._in_progress(item):
                    return int(item["id"]), str(item.get("html_url") or "")
        return None

    def _in_progress(self, item: dict[str, object]) -> bool:
        """A run not completed, with a valid id, and this App's (when the App id is known)."""
        if item.get("status") == "completed" or github_id(item.get("id")) is None:
            return False
        app = item.get("app")
        return not (
            self.settings.app_id.isdigit() and isinstance(app, dict) and str(app.get("id")) != self.settings.app_id
        )

    async def complete(self, job: Job, check_run_id: int, evaluation: Evaluation, *, already_sent: int = 0) -> None:
        """Annotations 50 per request, the last request completing the run.

        GitHub appends annotations on every update, so progress is saved after
        each request and a resumed job (same head, same evaluation) sends only
        what is missing, then completes the run.
        """
        notes = report.annotations_for(evaluation, self.settings.max_annotations)
        title = report.headline(evaluation)
        summary = report.check_summary(evaluation, annotated=len(notes))
        chunks = report.batches(notes) or [[]]
        path = f"/repos/{job.repo}/check-runs/{check_run_id}"
        for index, chunk in enumerate(chunks[:-1]):
            if index < already_sent:
                continue
            await self.gh.request(
                "PATCH",
                path,
                installation=job.installation,
                purpose="write",
                json={"output": {"title": title, "summary": summary, "annotations": chunk}},
            )
            await self.store.set_progress(job.id, index + 1)
        # The completing request is always sent: a resumed job cannot tell
        # whether it went out before the process died, and completing a
        # completed run again only rewrites its output. Its annotations are
        # the ones not sent yet (none, if a repeated evaluation found fewer).
        output: dict[str, object] = {"title": title, "summary": summary}
        if chunks[-1] and already_sent < len(chunks):
            output["annotations"] = chunks[-1]
        await self.finish(job, check_run_id, report.conclusion(evaluation), output)
        await self.store.set_progress(job.id, len(chunks))

    async def close(self, job: Job, conclusion: str, title: str, text: str) -> None:
        """Complete a check run this job created earlier (before a restart,
        or by a create whose answer was lost)."""
        check_run_id = job.check_run_id
        if check_run_id is None and job.attempts > 1:
            found = await self.find(job)
            check_run_id = found[0] if found is not None else None
        await self.finish(job, check_run_id, conclusion, {"title": title, "summary": text})

    async def finish(self, job: Job, check_run_id: int | None, conclusion: str, output: object) -> None:
        if check_run_id is None:
            return
        await self.gh.request(
            "PATCH",
            f"/repos/{job.repo}/check-runs/{check_run_id}",
            installation=job.installation,
            purpose="write",
            json={"status": "completed", "conclusion": conclusion, "completed_at": now_iso(), "output": output},
        )

    async def give_up(self, job: Job, run: CheckRun, error: str) -> None:
        """Complete the job's run as failed, saying why and that Re-run tries again."""
        try:
            check_run_id = run.id
            if check_run_id is None and run.creating:
                # A create whose answer was lost may have left a run in progress.
                found = await self.find(job, run.name, run.external_id)
                check_run_id = found[0] if found is not None else None
            await self.finish(job, check_run_id, "failure", report.failure_output(error))
        except GitHubError as exc:
            log.warning("could not mark the check run as failed: %s", exc)

    async def post_status(
        self, repo: str, inst: int, sha: str, context: str, state: str, description: str, target_url: str
    ) -> None:
        body: dict[str, object] = {"state": state, "description": description, "context": context}
        if target_url.startswith("https://"):
            body["target_url"] = target_url
        await self.gh.request("POST", f"/repos/{repo}/statuses/{sha}", installation=inst, purpose="write", json=body)
