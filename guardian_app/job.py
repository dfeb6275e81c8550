"""One job end to end: from the pull request to what reviewers see.

A job runs as: the pull request (still open, still at this head?) -> a check
run ``in_progress`` (``guardian_app.checks``: created once, its id saved with the
job) -> the evaluation (``guardian_app.evaluate``) -> the check run completed with
annotations -> the commit status -> the sticky comment (``guardian_app.comments``)
-> for a head several open pull requests share, the others queued and the
combined verdict (``guardian_app.shared_head``). A merge group's job
(``guardian_app.groups``) has no pull request: its check run and status go on
the group's head, with the group's base as the base, and no comment.

The check run holds the verdict; status and comment are extra views of it,
so a failure there is logged and repeats neither the evaluation nor the
run. Whether a failure is retried is ``guardian_app.worker``'s to decide; what a job
that gives up, or whose evaluation was stopped at its deadline, leaves on
its head is decided here: a failed check run, and a commit status that
says so (a branch protection rule that requires the ``guardian`` status
must not wait for ever).
"""

from __future__ import annotations

import asyncio

from guardian_app import groups, logs, report
from guardian_app.checks import Checks
from guardian_app.comments import Comments
from guardian_app.github import GitHubError
from guardian_app.pool import EvaluationTimeout
from guardian_app.pulls import find_pull_request, get_pull_request
from guardian_app.shared_head import SharedHead

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian_app.checks import CheckRun
    from guardian_app.evaluate import Evaluation, Evaluator
    from guardian_app.github import CallCounter, GitHubClient
    from guardian_app.pulls import PullRequest
    from guardian_app.settings import Settings
    from guardian_app.store import AsyncStore, Job

log = logs.get("worker")


class JobRunner:
    def __init__(self, settings: Settings, store: AsyncStore, gh: GitHubClient, evaluator: Evaluator) -> None:
        self.settings = settings
        self.store = store
        self.gh = gh
        self.evaluator = evaluator
        self.checks = Checks(gh, store, settings)
        self.comments = Comments(gh, store, settings)
        self.shared = SharedHead(gh, store, self.checks, settings)

    async def process(self, job: Job, calls: CallCounter, run: CheckRun) -> str:
        """Run the job; its outcome in a few words (``skipped: ...`` when
        there was nothing to evaluate). Raises what the worker decides on:
        ``EvaluationTimeout`` once the run and status say so, GitHub errors."""
        if groups.is_merge_group(job):
            return await self._merge_group(job, calls, run)
        pr = await self._pull_request(job)
        if isinstance(pr, str):
            return pr
        others = await self.shared.others(job, pr)
        if others:
            run.name = report.check_name(pr.number, pr.base_ref, shared=True)
            run.external_id = f"{job.id}:pr:{pr.number}"
        run.target_url = f"{pr.html_url}/checks"
        if run.id is None:
            run.id, details_url = await self.checks.open(job, pr, run)
            await self.store.set_check_run(job.id, run.id)
            run.target_url = details_url or run.target_url
        try:
            evaluation = await self.evaluator.evaluate(job.repo, job.installation, pr, calls)
        except EvaluationTimeout as exc:
            await self._stopped(job, pr, run, exc)
            raise
        sent = job.batches_sent if run.id == job.check_run_id else 0
        await self.checks.complete(job, run.id, evaluation, already_sent=sent)
        await self.store.set_verdict(job.id, pr.number, run.name, report.conclusion(evaluation))
        if others:
            await self.shared.queue_missing(job, pr, others)
        await self._other_views(job, pr, run, evaluation, others)
        log.info(
            "evaluated: %s (%d reads, budget %d; %d blobs; %d writes)",
            report.conclusion(evaluation),
            evaluation.reads,
            evaluation.read_budget,
            evaluation.blobs,
            calls["write"],
            extra={"repo": job.repo, "sha": job.head_sha[:12], "pr": pr.number},
        )
        return report.conclusion(evaluation)

    async def _merge_group(self, job: Job, calls: CallCounter, run: CheckRun) -> str:
        """A merge group: its head judged against its base, the verdict on its
        head as the ``guardian`` check run and status (what a ruleset that
        requires ``guardian`` waits for), no comment."""
        if job.base_sha is None:
            return "skipped: a merge group without a base commit"
        group = groups.MergeGroup(job.head_sha, job.base_sha, job.base_ref or "")
        run.external_id = groups.external_id(job.id, job.base_sha)
        if run.id is None:
            run.id, details_url = await self.checks.open(job, group, run)
            await self.store.set_check_run(job.id, run.id)
            run.target_url = details_url
        try:
            evaluation = await self.evaluator.evaluate(job.repo, job.installation, group, calls)
        except EvaluationTimeout as exc:
            await self._stopped(job, None, run, exc)
            raise
        sent = job.batches_sent if run.id == job.check_run_id else 0
        await self.checks.complete(job, run.id, evaluation, already_sent=sent)
        if self.settings.commit_status:
            state, description = report.status(evaluation)
            try:
                await self.checks.post_status(
                    job.repo, job.installation, job.head_sha, run.name, state, description, run.target_url
                )
            except GitHubError as exc:  # the verdict is out in the check run
                log.warning("check run completed, but the status failed: %s", exc)
        log.info(
            "merge group evaluated: %s (%d reads; %d blobs)",
            report.conclusion(evaluation),
            evaluation.reads,
            evaluation.blobs,
            extra={"repo": job.repo, "sha": job.head_sha[:12]},
        )
        return report.conclusion(evaluation)

    async def _pull_request(self, job: Job) -> PullRequest | str:
        """The job's open pull request at this head, or why there is nothing
        to evaluate (its check run, if an earlier attempt made one, says so)."""
        if job.pr is not None:
            pr = await get_pull_request(self.gh, job.repo, job.installation, job.pr)
        else:
            found = await find_pull_request(self.gh, job.repo, job.installation, job.head_sha)
            if found is None:
                await self.checks.close(job, "skipped", "No open pull request", "No open pull request has this head.")
                return "skipped: no open pull request has this head"
            pr = found
        if pr.state != "open":
            await self.checks.close(job, "skipped", "Pull request closed", "The pull request was closed.")
            return "skipped: pull request closed"
        if pr.head_sha != job.head_sha:
            text = f"The pull request moved on to {pr.head_sha[:12]}; that head is checked instead."
            await self.checks.close(job, "skipped", "Superseded by a newer push", text)
            return f"skipped: superseded by {pr.head_sha[:12]}"
        return pr

    async def _other_views(
        self, job: Job, pr: PullRequest, run: CheckRun, evaluation: Evaluation, others: list[PullRequest]
    ) -> None:
        """Status, comment and combined verdict; a failure is logged (the verdict is out)."""
        try:
            if self.settings.commit_status:
                state, description = report.status(evaluation)
                await self.checks.post_status(
                    job.repo, job.installation, job.head_sha, run.name, state, description, run.target_url
                )
            if self.settings.pr_comment:
                await self.comments.update(job.repo, job.installation, pr, evaluation)
            if others:
                await self.shared.report_combined(job, pr, others)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the verdict is out; see the module docstring
            log.warning(
                "check run completed, but status or comment failed: %s", exc, exc_info=not isinstance(exc, GitHubError)
            )

    async def _stopped(self, job: Job, pr: PullRequest | None, run: CheckRun, exc: EvaluationTimeout) -> None:
        """The evaluation ran past its deadline: run and status say so (the same input would stop again)."""
        await self.checks.finish(job, run.id, "failure", report.deadline_output(exc.seconds))
        if pr is not None:
            await self.store.set_verdict(job.id, pr.number, run.name, "failure")
        await self._failed_status(job, run, *report.deadline_status(exc.seconds))

    async def give_up(self, job: Job, run: CheckRun, error: str) -> None:
        """The job will not be tried again: its check run is completed as
        failed, saying why and that Re-run tries again, and its status says so."""
        await self.checks.give_up(job, run, error)
        await self._failed_status(job, run, *report.give_up_status())

    async def _failed_status(self, job: Job, run: CheckRun, state: str, description: str) -> None:
        if not self.settings.commit_status:
            return
        try:
            await self.checks.post_status(
                job.repo, job.installation, job.head_sha, run.name, state, description, run.target_url
            )
        except GitHubError as exc:
            log.warning("could not post the %s status: %s", state, exc)
