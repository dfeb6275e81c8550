"""Workers: claim a job, run it, and decide what its failure means.

``settings.workers`` tasks each claim one job at a time from the store and
run it (``guardian_app.job``); between jobs they sleep until a delivery wakes them
or a retry falls due. Failures:

- a rate limit puts the job back until the limit resets;
- 5xx answers, timeouts and unexpected errors retry with backoff, up to
  ``job_attempts``;
- a 4xx that retrying cannot fix (the repository is gone, a permission is
  missing), or the last attempt failing, ends the job: it gives up, and its
  check run and status say why and that Re-run tries again;
- an evaluation that runs past ``evaluation_timeout`` (its process is
  killed, see ``guardian_app.pool``) ends the job at once, never retried: the same
  input would only stop again.

The worker also starts the start-up reconcile (``guardian_app.reconcile``) and the
store's periodic housekeeping, and owns the evaluation processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from guardian_app import logs
from guardian_app.checks import CheckRun
from guardian_app.evaluate import Evaluator
from guardian_app.github import CallCounter, GitHubError, RateLimited, current_calls
from guardian_app.job import JobRunner
from guardian_app.pool import EvaluationPool, EvaluationTimeout
from guardian_app.reconcile import Reconcile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from guardian_app.github import GitHubClient
    from guardian_app.metrics import Metrics
    from guardian_app.settings import Settings
    from guardian_app.store import AsyncStore, Job

log = logs.get("worker")


def _scrubbed(exc: BaseException) -> str:
    """An error as the check run and the store may show it: no secret in it."""
    return logs.SCRUBBER.scrub(str(exc) or type(exc).__name__)


class Worker:
    def __init__(self, settings: Settings, store: AsyncStore, gh: GitHubClient, metrics: Metrics) -> None:
        self.settings = settings
        self.store = store
        self.gh = gh
        self.metrics = metrics
        self.pool = EvaluationPool(settings.evaluation_processes, settings.evaluation_timeout)
        self.runner = JobRunner(settings, store, gh, Evaluator(gh, settings, self.pool))
        self.reconcile = Reconcile(gh, store, settings)
        self.wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle ------------------------------------------------------------

    async def warm_up(self) -> None:
        """Start the evaluation processes (each imports and primes the core),
        so the first evaluation pays for neither."""
        await self.pool.start()

    async def start(self) -> None:
        recovered = await self.store.recover()
        if recovered:
            log.info("requeued %d jobs left unfinished by the previous process", recovered)
        for i in range(self.settings.workers):
            self._tasks.append(asyncio.create_task(self._loop(), name=f"guardian-worker-{i}"))
        if self.settings.reconcile_limit > 0:
            self._tasks.append(asyncio.create_task(self._reconcile_safely(), name="guardian-reconcile"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="guardian-housekeeping"))

    async def stop(self) -> None:
        # Jobs cut off here stay "running" in the store and are resumed by
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
            except Exception as exc:  # noqa: BLE001 - a worker must outlive a store hiccup (a locked database...)
                failures += 1
                delay = min(30.0, self.settings.poll_interval * (1 << min(failures, 5)))
                log.error("worker loop failed (%s: %s); going on in %.1fs", type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)

    async def _step(self) -> None:
        """Claim one job and run it, or sleep until there may be one."""
        self.wakeup.clear()
        job = await self.store.claim()
        if job is None:
            # Sleep until woken (a delivery, a finished job) or a retry
            # falls due. A due job that claim() passed over waits for its
            # pull request's running job, whose end wakes us.
            timeout = self.settings.poll_interval
            due = await self.store.next_due()
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
                await self.store.retry(job.id, time.time() + self.settings.poll_interval, _scrubbed(exc))
            raise
        finally:
            self.wakeup.set()  # jobs held back behind this one may go now

    async def _housekeeping(self, interval: float = 2.0) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.store.housekeeping()
            except Exception as exc:  # noqa: BLE001 - upkeep must not stop; the next round retries
                log.warning("queue housekeeping failed: %s", exc)

    async def _reconcile_safely(self) -> None:
        try:
            queued = await self.reconcile.run()
            if queued:
                log.info("reconcile queued %d pull requests without a completed guardian check", queued)
                self.notify()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the reconcile is best effort
            log.warning("reconcile stopped: %s", exc)

    # -- one job --------------------------------------------------------------

    async def run_job(self, job: Job) -> None:
        """Run ``job`` and record its outcome: done, retried later, or ended."""
        delivery_token = logs.delivery_id.set(job.delivery)
        job_token = logs.job_id.set(job.id)
        calls = CallCounter()
        calls_token = current_calls.set(calls)
        run = CheckRun(job.check_run_id, str(job.id))
        started = time.monotonic()
        extra = {"repo": job.repo, "sha": job.head_sha[:12], "pr": job.pr}
        log.info("job started (%s, attempt %d)", job.reason or "reconcile", job.attempts, extra=extra)
        try:
            outcome = await self.runner.process(job, calls, run)
            await self.store.done(job.id, evaluated=not outcome.startswith("skipped"))
            self.metrics.jobs.inc("done")
            log.info(
                "job %s",
                outcome,
                extra={**extra, "outcome": outcome, "duration_ms": round((time.monotonic() - started) * 1000)},
            )
        except asyncio.CancelledError:
            raise
        except EvaluationTimeout as exc:
            # The check run and status say so already; the same input would stop again.
            log.warning("job stopped: %s", exc, extra=extra)
            await self.store.fail(job.id, _scrubbed(exc))
            self.metrics.jobs.inc("stopped")
        except RateLimited as exc:
            await self.store.retry(job.id, exc.retry_at, _scrubbed(exc))
            self.metrics.jobs.inc("retried")
            log.warning("job waits for the rate limit: %s", exc, extra=extra)
        except Exception as exc:  # noqa: BLE001 - one job's failure must not stop the worker
            await self._failed(job, run, exc, extra)
        finally:
            self.metrics.evaluation_seconds.observe(time.monotonic() - started)
            current_calls.reset(calls_token)
            logs.job_id.reset(job_token)
            logs.delivery_id.reset(delivery_token)

    async def _failed(self, job: Job, run: CheckRun, exc: Exception, extra: Mapping[str, object]) -> None:
        """Retry with backoff, or give up: a 4xx retrying cannot fix, or the last attempt."""
        permanent = isinstance(exc, GitHubError) and 400 <= exc.status < 500
        if permanent or job.attempts >= self.settings.job_attempts:
            log.error("job failed: %s", exc, extra=extra, exc_info=None if isinstance(exc, GitHubError) else exc)
            await self.runner.give_up(job, run, _scrubbed(exc))
            await self.store.fail(job.id, _scrubbed(exc))
            self.metrics.jobs.inc("failed")
        else:
            delay = min(3600.0, self.settings.retry_backoff * 15 * (1 << max(0, job.attempts - 1)))
            log.warning("job will retry in %.1fs: %s", delay, exc, extra=extra)
            await self.store.retry(job.id, time.time() + delay, _scrubbed(exc))
            self.metrics.jobs.inc("retried")
