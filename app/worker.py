"""Workers: take a job, evaluate the head, report where reviewers look.

A job runs as: the pull request (still open, still at this head?) -> a check
run ``in_progress`` (its id saved with the job, so a restarted job completes
the same one; a create whose answer was lost is found again by the job id in
its ``external_id``, never sent twice blindly) -> the evaluation -> the check
run completed with annotations in batches of 50 -> the commit status -> the
sticky comment.

A head shared by several open pull requests (one branch opened against two
base branches): each pull request's job reports under its own check run name
and status context, and the last of them to finish writes the combined
``guardian`` run and status (see ``app.report``). Whether a head is shared is
asked of GitHub only when the queue has seen another pull request with it;
a pull request it finds without a verdict under its per-PR name is queued.

Failures: a rate limit puts the job back until the limit resets; 5xx,
timeouts and unexpected errors retry with backoff up to ``job_attempts``;
a 4xx that retrying cannot fix (the repository is gone, a permission is
missing) ends the job at once. A job that gives up completes its check run
as failed, saying why and that Re-run tries again. An evaluation that runs
past ``evaluation_timeout`` (its process is killed, see ``app.pool``) ends
the job at once too, never retried: the same input would only stop again.

Repository names, commit ids and numbers read from GitHub's answers (the
reconcile's repository listing, pull requests, check run and comment ids)
are checked (``app.names``) before they go into a request path or the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from app import logs, report
from app.evaluate import Evaluator, find_pull_request, get_pull_request, open_pull_requests_at
from app.github import CallCounter, GitHubError, RateLimited, Unanswered, current_calls
from app.names import github_id, is_repo_name, object_id
from app.pool import EvaluationPool, EvaluationTimeout
from app.queue import JobSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
    from typing import Any

    from app.evaluate import Evaluation, PullRequest
    from app.github import GitHubClient
    from app.metrics import Metrics
    from app.queue import Job, Queue
    from app.settings import Settings
    from app.state import SqliteState

log = logs.get("worker")
#: Reconcile stops when fewer requests than this are left on an installation.
RECONCILE_RESERVE = 200


def _scrubbed(exc: BaseException) -> str:
    """An error as the check run and the queue may show it: no secret in it."""
    return logs.SCRUBBER.scrub(str(exc) or type(exc).__name__)


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Budget:
    """What the start-up reconcile may still spend."""

    def __init__(self, *, pulls: int, listings: int) -> None:
        self.pulls = pulls
        self.listings = listings
        self.spent = False


class _Run:
    """What one attempt at a job learned that a failure handler needs."""

    def __init__(self, check_run_id: int | None, external_id: str) -> None:
        self.check_run_id = check_run_id
        #: A create request went out; if its answer was lost, a run may exist unknown to us.
        self.creating = False
        #: The check run's name (and status context), and its ``external_id``.
        self.name = report.CHECK_NAME
        self.external_id = external_id


class Worker:
    def __init__(
        self, settings: Settings, queue: Queue, state: SqliteState, gh: GitHubClient, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.queue = queue
        self.state = state
        self.gh = gh
        self.metrics = metrics
        self.pool = EvaluationPool(settings.evaluation_processes, settings.evaluation_timeout)
        self.evaluator = Evaluator(gh, settings, self.pool)
        self.wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle ------------------------------------------------------------

    async def warm_up(self) -> None:
        """Start the evaluation processes (each imports and primes the core),
        so the first evaluation pays for neither."""
        await self.pool.start()

    def start(self) -> None:
        recovered = self.queue.recover()
        if recovered:
            log.info("requeued %d jobs left unfinished by the previous process", recovered)
        for i in range(self.settings.workers):
            self._tasks.append(asyncio.create_task(self._loop(), name=f"guardian-worker-{i}"))
        if self.settings.reconcile_limit > 0:
            self._tasks.append(asyncio.create_task(self._reconcile_safely(), name="guardian-reconcile"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="guardian-housekeeping"))

    async def stop(self) -> None:
        # Jobs cut off here stay "running" in the queue and are resumed by
        # the next process's recover().
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.pool.close()

    def notify(self) -> None:
        self.wakeup.set()

    async def _loop(self) -> None:
        failures = 0
        while True:
            try:
                await self._step()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a worker must outlive a queue hiccup (a locked database...)
                failures += 1
                delay = min(30.0, self.settings.poll_interval * (1 << min(failures, 5)))
                log.error("worker loop failed (%s: %s); going on in %.1fs", type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)

    async def _step(self) -> None:
        """Claim one job and run it, or sleep until there may be one."""
        self.wakeup.clear()
        job = self.queue.claim()
        if job is None:
            # Sleep until woken (a delivery, a finished job) or a retry
            # falls due. A due job that claim() passed over waits for its
            # pull request's running job, whose end wakes us.
            timeout = self.settings.poll_interval
            due = self.queue.next_due()
            if due is not None and due > time.time():
                timeout = min(timeout, due - time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout)
            return
        try:
            await self.run_job(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # run_job could not record the outcome: hand the job back rather
            # than leave it "running" (and its pull request blocked) until a restart.
            with contextlib.suppress(Exception):
                self.queue.retry(job.id, time.time() + self.settings.poll_interval, _scrubbed(exc))
            raise
        finally:
            self.wakeup.set()  # jobs held back behind this one may go now

    async def _housekeeping(self, interval: float = 2.0) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.queue.housekeeping)
            except Exception as exc:  # noqa: BLE001 - upkeep must not stop; the next round retries
                log.warning("queue housekeeping failed: %s", exc)

    # -- one job --------------------------------------------------------------

    async def run_job(self, job: Job) -> None:
        delivery_token = logs.delivery_id.set(job.delivery)
        job_token = logs.job_id.set(job.id)
        calls = CallCounter()
        calls_token = current_calls.set(calls)
        run = _Run(job.check_run_id, str(job.id))
        started = time.monotonic()
        extra = {"repo": job.repo, "sha": job.head_sha[:12], "pr": job.pr}
        log.info("job started (%s, attempt %d)", job.reason or "reconcile", job.attempts, extra=extra)
        try:
            outcome = await self._process(job, calls, run)
            self.queue.done(job.id, evaluated=not outcome.startswith("skipped"))
            self.metrics.jobs.inc("done")
            log.info(
                "job %s",
                outcome,
                extra={**extra, "outcome": outcome, "duration_ms": round((time.monotonic() - started) * 1000)},
            )
        except asyncio.CancelledError:
            raise
        except EvaluationTimeout as exc:
            # _process has completed the check run; the same input would stop again.
            log.warning("job stopped: %s", exc, extra=extra)
            self.queue.fail(job.id, _scrubbed(exc))
            self.metrics.jobs.inc("stopped")
        except RateLimited as exc:
            self.queue.retry(job.id, exc.retry_at, _scrubbed(exc))
            self.metrics.jobs.inc("retried")
            log.warning("job waits for the rate limit: %s", exc, extra=extra)
        except Exception as exc:  # one job's failure must not stop the worker
            permanent = isinstance(exc, GitHubError) and 400 <= exc.status < 500
            if permanent or job.attempts >= self.settings.job_attempts:
                log.error("job failed: %s", exc, extra=extra, exc_info=not isinstance(exc, GitHubError))
                await self._give_up(job, run, _scrubbed(exc))
                self.queue.fail(job.id, _scrubbed(exc))
                self.metrics.jobs.inc("failed")
            else:
                delay = min(3600.0, self.settings.retry_backoff * 15 * (1 << max(0, job.attempts - 1)))
                log.warning("job will retry in %.1fs: %s", delay, exc, extra=extra)
                self.queue.retry(job.id, time.time() + delay, _scrubbed(exc))
                self.metrics.jobs.inc("retried")
        finally:
            self.metrics.evaluation_seconds.observe(time.monotonic() - started)
            current_calls.reset(calls_token)
            logs.job_id.reset(job_token)
            logs.delivery_id.reset(delivery_token)

    async def _process(self, job: Job, calls: CallCounter, run: _Run) -> str:
        repo, inst = job.repo, job.installation
        if job.pr is not None:
            pr = await get_pull_request(self.gh, repo, inst, job.pr)
        else:
            found = await find_pull_request(self.gh, repo, inst, job.head_sha)
            if found is None:
                await self._close_check_run(
                    job, "skipped", "No open pull request", "No open pull request has this head."
                )
                return "skipped: no open pull request has this head"
            pr = found
        if pr.state != "open":
            await self._close_check_run(job, "skipped", "Pull request closed", "The pull request was closed.")
            return "skipped: pull request closed"
        if pr.head_sha != job.head_sha:
            text = f"The pull request moved on to {pr.head_sha[:12]}; that head is checked instead."
            await self._close_check_run(job, "skipped", "Superseded by a newer push", text)
            return f"skipped: superseded by {pr.head_sha[:12]}"

        others = await self._sharing(job, pr)
        if others:
            run.name = report.check_name(pr.number, pr.base_ref, shared=True)
            run.external_id = f"{job.id}:pr:{pr.number}"
        check_run_id, details_url = job.check_run_id, ""
        if check_run_id is None:
            check_run_id, details_url = await self._open_check_run(job, pr, run)
            self.queue.set_check_run(job.id, check_run_id)
            run.check_run_id = check_run_id

        try:
            evaluation = await self.evaluator.evaluate(repo, inst, pr, calls)
        except EvaluationTimeout as exc:
            await self._complete(job, check_run_id, "failure", report.deadline_output(exc.seconds))
            self.queue.set_verdict(job.id, pr.number, run.name, "failure")
            raise
        sent = job.batches_sent if check_run_id == job.check_run_id else 0
        await self._complete_check_run(job, check_run_id, evaluation, already_sent=sent)
        self.queue.set_verdict(job.id, pr.number, run.name, report.conclusion(evaluation))
        if others:
            self._queue_sharing(job, pr, others)
        # The check run holds the verdict now. Status and comment are extra
        # views of it: a failure there (after the client's own retries) is
        # logged, and must neither repeat the evaluation nor touch the run.
        try:
            if self.settings.commit_status:
                state, description = report.status(evaluation)
                target = details_url or f"{pr.html_url}/checks"
                await self._post_status(repo, inst, job.head_sha, run.name, state, description, target)
            if self.settings.pr_comment:
                await self._update_comment(repo, inst, pr, evaluation)
            if others:
                await self._report_combined(job, pr, others)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the verdict is out; see above
            log.warning(
                "check run completed, but status or comment failed: %s", exc, exc_info=not isinstance(exc, GitHubError)
            )
        log.info(
            "evaluated: %s (%d reads, budget %d; %d blobs; %d writes)",
            report.conclusion(evaluation),
            evaluation.reads,
            evaluation.read_budget,
            evaluation.blobs,
            calls["write"],
            extra={"repo": repo, "sha": job.head_sha[:12], "pr": pr.number},
        )
        return report.conclusion(evaluation)

    async def _open_check_run(self, job: Job, pr: PullRequest, run: _Run) -> tuple[int, str]:
        """(id, html_url) of this job's check run, ``in_progress``.

        Creating one is no idempotent request: when GitHub may have done it
        without the answer reaching us (a 5xx, a connection lost), the run
        is looked for by its ``external_id`` (the job id) before creating
        again. A retried job looks first, in case an earlier attempt's
        create was lost that way; a first attempt sends one request.
        """
        if job.attempts > 1:
            found = await self._find_check_run(job, run.name, run.external_id)
            if found is not None:
                log.info("reusing check run %d created by an earlier attempt", found[0])
                return found
        body = {
            "name": run.name,
            "head_sha": job.head_sha,
            "status": "in_progress",
            "started_at": _now_iso(),
            "external_id": run.external_id,
            "output": {
                "title": "Checking the pull request",
                "summary": f"Guardian is checking the changed files of #{pr.number}.",
            },
        }
        run.creating = True
        data, found = await self._create_once(
            "check run",
            f"/repos/{job.repo}/check-runs",
            job.installation,
            body,
            lambda: self._find_check_run(job, run.name, run.external_id),
        )
        if found is not None:
            return found
        run_id = github_id(data.get("id"))
        if run_id is None:
            raise GitHubError(502, "POST", f"/repos/{job.repo}/check-runs", "the answer has no valid check run id")
        return run_id, str(data.get("html_url") or "")

    async def _create_once(
        self,
        what: str,
        path: str,
        inst: int,
        body: Mapping[str, object],
        find: Callable[[], Awaitable[tuple[int, str] | None]],
    ) -> tuple[dict[str, Any], tuple[int, str] | None]:
        """POST what GitHub has no idempotency key for (a check run, a
        comment): (the created object, None), or ({}, what ``find`` found)
        when an answer was lost (a 5xx, a connection dropped after the
        write) but GitHub had done it. Only when ``find`` finds nothing is
        the request sent again, up to ``http_retries`` times."""
        attempt = 0
        while True:
            try:
                created = await self.gh.request(
                    "POST", path, installation=inst, purpose="write", json=body, idempotent=False
                )
            except Unanswered as exc:
                found = await find()
                if found is not None:
                    log.info("%s %d was created although its answer was lost (%s)", what, found[0], exc)
                    return {}, found
                if attempt >= self.settings.http_retries:
                    raise
                log.warning("creating the %s failed (%s); retrying", what, exc)
                await self.gh.back_off(attempt)
                attempt += 1
                continue
            data: dict[str, Any] = created.json()
            return data, None

    async def _find_check_run(
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
                if not isinstance(item, dict) or item.get("external_id") != external_id:
                    continue
                if item.get("status") == "completed" or github_id(item.get("id")) is None:
                    continue
                app = item.get("app")
                if (
                    self.settings.app_id.isdigit()
                    and isinstance(app, dict)
                    and str(app.get("id")) != self.settings.app_id
                ):
                    continue
                return int(item["id"]), str(item.get("html_url") or "")
        return None

    async def _complete_check_run(
        self, job: Job, check_run_id: int, evaluation: Evaluation, *, already_sent: int = 0
    ) -> None:
        """Annotations 50 per request, the last request completing the run.

        GitHub appends annotations on every update, so progress is saved after
        each request and a resumed job (same head, same evaluation) sends only
        what is missing, then completes the run.
        """
        repo, inst = job.repo, job.installation
        notes = report.annotations_for(evaluation, self.settings.max_annotations)
        title = report.headline(evaluation)
        summary = report.check_summary(evaluation, annotated=len(notes))
        chunks = report.batches(notes) or [[]]
        path = f"/repos/{repo}/check-runs/{check_run_id}"
        for index, chunk in enumerate(chunks[:-1]):
            if index < already_sent:
                continue
            await self.gh.request(
                "PATCH",
                path,
                installation=inst,
                purpose="write",
                json={"output": {"title": title, "summary": summary, "annotations": chunk}},
            )
            self.queue.set_progress(job.id, index + 1)
        # The completing request is always sent: a resumed job cannot tell
        # whether it went out before the process died, and completing a
        # completed run again only rewrites its output. Its annotations are
        # the ones not sent yet (none, if a repeated evaluation found fewer).
        output: dict[str, object] = {"title": title, "summary": summary}
        if chunks[-1] and already_sent < len(chunks):
            output["annotations"] = chunks[-1]
        await self.gh.request(
            "PATCH",
            path,
            installation=inst,
            purpose="write",
            json={
                "status": "completed",
                "conclusion": report.conclusion(evaluation),
                "completed_at": _now_iso(),
                "output": output,
            },
        )
        self.queue.set_progress(job.id, len(chunks))

    async def _close_check_run(self, job: Job, conclusion: str, title: str, text: str) -> None:
        """Complete a check run this job created earlier (before a restart,
        or by a create whose answer was lost)."""
        check_run_id = job.check_run_id
        if check_run_id is None and job.attempts > 1:
            found = await self._find_check_run(job)
            check_run_id = found[0] if found is not None else None
        await self._complete(job, check_run_id, conclusion, {"title": title, "summary": text})

    async def _complete(self, job: Job, check_run_id: int | None, conclusion: str, output: object) -> None:
        if check_run_id is None:
            return
        await self.gh.request(
            "PATCH",
            f"/repos/{job.repo}/check-runs/{check_run_id}",
            installation=job.installation,
            purpose="write",
            json={"status": "completed", "conclusion": conclusion, "completed_at": _now_iso(), "output": output},
        )

    async def _give_up(self, job: Job, run: _Run, error: str) -> None:
        try:
            check_run_id = run.check_run_id
            if check_run_id is None and run.creating:
                # A create whose answer was lost may have left a run in progress.
                found = await self._find_check_run(job, run.name, run.external_id)
                check_run_id = found[0] if found is not None else None
            await self._complete(job, check_run_id, "failure", report.failure_output(error))
        except GitHubError as exc:
            log.warning("could not mark the check run as failed: %s", exc)

    async def _sharing(self, job: Job, pr: PullRequest) -> list[PullRequest]:
        """The other open pull requests whose head is this job's head (empty
        in the common case). GitHub is asked only when the queue has seen
        another pull request with this head (a check suite listing several,
        a second pull request opened from the branch): no request otherwise."""
        if not self.queue.head_prs(job.repo, job.head_sha) - {pr.number}:
            return []
        found = await open_pull_requests_at(self.gh, job.repo, job.installation, job.head_sha)
        return [other for other in found if other.number != pr.number]

    def _queue_sharing(self, job: Job, pr: PullRequest, others: list[PullRequest]) -> None:
        """Queue the pull requests sharing this head that have no verdict
        under their per-PR name yet (one was reported as ``guardian`` before
        the head was shared, or its job is still to come: then this joins
        it). A job that had no pull request (a Re-run of the combined run, a
        fork's check suite) stood for the whole head: it queues them all."""
        verdicts = self.queue.verdicts(job.repo, job.head_sha)
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
        if specs:
            recorded = self.queue.record(f"shared:{job.id}:{job.attempts}", "shared-head", specs)
            log.info(
                "head shared with %s: %d queued, %d joined waiting jobs",
                ", ".join(f"#{o.number}" for o in others),
                recorded.queued,
                recorded.coalesced,
                extra={"repo": job.repo, "sha": job.head_sha[:12], "pr": pr.number},
            )

    async def _report_combined(self, job: Job, pr: PullRequest, others: list[PullRequest]) -> None:
        """The combined ``guardian`` run and status of a shared head: the
        most severe verdict of its open pull requests, written once every one
        of them has a verdict under its per-PR name (until then a job for
        the missing ones is queued, and the last to finish writes it)."""
        verdicts = self.queue.verdicts(job.repo, job.head_sha)
        rows: list[tuple[int, str, str]] = []
        for item in sorted([pr, *others], key=lambda p: p.number):
            name = report.check_name(item.number, item.base_ref, shared=True)
            got = verdicts.get(item.number)
            if got is None or got[0] != name:
                return
            rows.append((item.number, name, got[1]))
        output = report.combined_output(rows)
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
                "started_at": _now_iso(),
                "completed_at": _now_iso(),
                "external_id": f"{job.id}:combined",
                "output": output,
            },
        )
        if self.settings.commit_status:
            state, description = report.combined_status(rows)
            await self._post_status(
                job.repo,
                job.installation,
                job.head_sha,
                report.STATUS_CONTEXT,
                state,
                description,
                f"{pr.html_url}/checks",
            )

    async def _post_status(
        self, repo: str, inst: int, sha: str, context: str, state: str, description: str, target_url: str
    ) -> None:
        body: dict[str, object] = {"state": state, "description": description, "context": context}
        if target_url.startswith("https://"):
            body["target_url"] = target_url
        await self.gh.request("POST", f"/repos/{repo}/statuses/{sha}", installation=inst, purpose="write", json=body)

    async def _update_comment(self, repo: str, inst: int, pr: PullRequest, evaluation: Evaluation) -> None:
        """One comment per pull request, edited in place; never re-sent unchanged."""
        body = report.comment_body(evaluation)
        digest = report.body_hash(body)
        has_news = bool(evaluation.config_error) or bool(evaluation.result and evaluation.result.findings)
        known = self.state.comment(repo, pr.number)
        if known is not None:
            comment_id, old_digest = known
            if old_digest == digest:
                return
            edited = await self.gh.request(
                "PATCH",
                f"/repos/{repo}/issues/comments/{comment_id}",
                installation=inst,
                purpose="write",
                json={"body": body},
                allow=(404,),
            )
            if edited.status_code != 404:
                self.state.remember_comment(repo, pr.number, comment_id, digest)
                return
            self.state.forget_comment(repo, pr.number)  # deleted by someone
        else:
            found = await self._find_comment(repo, inst, pr.number)
            if found is not None:
                comment_id, old_body = found
                if report.body_hash(old_body) != digest:
                    await self.gh.request(
                        "PATCH",
                        f"/repos/{repo}/issues/comments/{comment_id}",
                        installation=inst,
                        purpose="write",
                        json={"body": body},
                    )
                self.state.remember_comment(repo, pr.number, comment_id, digest)
                return
        if not has_news:
            return  # a pull request that was always clean gets no comment
        # A second comment is what the sticky comment exists to avoid: a post
        # whose answer was lost is looked for by its marker first.
        data, found = await self._create_once(
            "comment",
            f"/repos/{repo}/issues/{pr.number}/comments",
            inst,
            {"body": body},
            lambda: self._find_comment(repo, inst, pr.number),
        )
        if found is not None:
            self.state.remember_comment(repo, pr.number, found[0], report.body_hash(found[1]))
        elif (created_id := github_id(data.get("id"))) is not None:
            self.state.remember_comment(repo, pr.number, created_id, digest)

    async def _find_comment(self, repo: str, inst: int, number: int) -> tuple[int, str] | None:
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

    # -- start-up reconcile ---------------------------------------------------

    async def _reconcile_safely(self) -> None:
        try:
            queued = await self.reconcile()
            if queued:
                log.info("reconcile queued %d pull requests without a completed guardian check", queued)
                self.notify()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the reconcile is best effort
            log.warning("reconcile stopped: %s", exc)

    async def reconcile(self) -> int:
        """Queue open pull requests of known installations whose head has no
        completed guardian check run.

        Bounded: at most ``reconcile_limit`` pull requests are examined and
        about twice as many listing requests made; it stops early when an
        installation's rate limit runs low (the client also waits out a
        limit that is spent)."""
        limit = self.settings.reconcile_limit
        budget = _Budget(pulls=limit, listings=2 * limit + 2)
        queued = 0
        marker = f"reconcile:{int(time.time())}"
        for inst in self.state.installations():
            try:
                async for repo, item in self._open_pulls(inst, budget):
                    spec = await self._needs_check(repo, inst, item)
                    if spec is not None:
                        recorded = self.queue.record(f"{marker}:{repo}:{spec.head_sha}", "reconcile", [spec])
                        queued += recorded.queued
            except GitHubError as exc:
                log.warning("reconcile skipped installation %d: %s", inst, exc)
            if budget.spent:
                break
        return queued

    async def _open_pulls(self, inst: int, budget: _Budget) -> AsyncIterator[tuple[str, dict[str, object]]]:
        """(repository, pull request) of an installation, newest updates first, within the budget."""

        def low() -> bool:
            remaining = self.gh.remaining(inst)
            if remaining is not None and remaining < RECONCILE_RESERVE:
                log.warning("reconcile stops: %d requests left for installation %d", remaining, inst)
                budget.spent = True
            return budget.spent

        async for repos in self.gh.paginate("/installation/repositories", installation=inst, key="repositories"):
            for repo_item in repos:
                name = str(repo_item.get("full_name", "")) if isinstance(repo_item, dict) else ""
                if not is_repo_name(name):
                    if name:
                        log.warning("reconcile skipped a repository named %r: not a GitHub name", name[:200])
                    continue
                async for pulls in self.gh.paginate(
                    f"/repos/{name}/pulls",
                    installation=inst,
                    params={"state": "open", "sort": "updated", "direction": "desc"},
                ):
                    for item in pulls:
                        if budget.pulls <= 0 or low():
                            budget.spent = True
                            return
                        budget.pulls -= 1
                        if isinstance(item, dict):
                            yield name, item
                    budget.listings -= 1
                    if budget.listings <= 0 or low():
                        budget.spent = True
                        return
            budget.listings -= 1
            if budget.listings <= 0 or low():
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
