"""The App's store: durable jobs, and what the App remembers besides them.

``Store`` is the interface the webhook route, the workers and the reports
use; ``guardian_app.store.sqlite`` is the default implementation (one App process,
one file). A store shared by several App instances (PostgreSQL) implements
the same methods; ``tests/test_store_contract.py`` is the specification
both pass. ``AsyncStore`` is how async code calls a store: every call runs
off the event loop.

Semantics every implementation keeps:

- ``record`` is atomic: the delivery id is remembered and the jobs stored
  together, before the webhook is acknowledged. A delivery id seen before
  records nothing (GitHub redelivers on timeouts and on request).
  ``record_many`` records deliveries that arrived together, in their
  order, each as ``record`` would (one later in the batch sees the jobs of
  those before it; an id twice in a batch is a duplicate the second time);
  a store may commit them together. If it raises, none of them is
  recorded.
- Jobs are keyed by repository, head sha and pull request: one branch opened
  against two base branches is two pull requests with one head, each judged
  with its own base's policy. A request for a pull request joins a job
  waiting for that pull request at that head, or one waiting for that head
  without a pull request (which it fills in); a request without a pull
  request (a fork's check suite, a Re-run) joins any job waiting for that
  head. The newest base information wins. A request marked ``only_if_new``
  also joins a job that evaluated that head for that pull request, or is
  evaluating it; re-runs and base changes are not marked, and queue afresh.
  At most one job waits per repository, head and pull request (a job
  without one counts as pull request 0): a shared store can hold that as a
  unique index over waiting jobs and let ``record`` join on conflict.
- ``claim`` never hands out two jobs for the same pull request, nor for the
  same head, at once: two pushes in a row cannot race on the same comment,
  and the pull requests sharing a head are reported one after another (the
  combined ``guardian`` verdict of such a head is written by one job at a
  time). Several claimers on one store (workers, App instances) must not
  both get a job: SQLite takes its write lock up front; a shared store
  claims in one transaction that sees the running jobs (a row lock per
  head and pull request, or serialisable isolation).
- ``retry`` puts a job back with its check run and annotation progress, and
  absorbs a job for the same head that waits meanwhile (one ``record``
  would have joined it to): the retried job takes its newer pull request
  details and the other ends.
- A job claimed but never finished is handed out again after ``recover()``,
  with its check run and progress, so the same check run is completed and
  no annotation is sent twice. One process owns a SQLite store, so at its
  start-up every running job is an orphan. A store shared by live instances
  must not take back a job another instance runs: it keeps a lease per
  running job (holder, expiry, renewed while the job runs) and ``recover``
  takes back only jobs whose lease ran out.
- ``done``, ``retry``, ``fail`` and the ``set_*`` calls name a job by the id
  ``claim`` gave. ``done(evaluated=False)`` ends a job that had nothing to
  evaluate (no open pull request, closed, superseded): a later
  ``only_if_new`` request for that head is not taken for a repeat.
  ``cancel_waiting`` ends, as ``done(evaluated=False)`` would, the jobs
  of a head that wait without a pull request and never started (no check
  run yet): a merge group GitHub destroyed. It returns how many.
  ``depth`` counts waiting and running jobs; ``next_due`` is the earliest
  time a waiting job may be claimed.
- ``head_prs`` are the pull requests any job kept had for a head;
  ``verdicts`` the latest (check run name, conclusion) per pull request
  that ``set_verdict`` wrote (a job without a PR takes the one it found).
  Both last until the job is pruned with the other finished ones.
- ``drop_installation`` forgets an installation and its repositories and
  fails its waiting jobs (how many is returned; running ones finish).
  ``installations`` lists the most recently heard from first; ``comment``
  is the (comment id, body hash) of a pull request's sticky comment.
- ``housekeeping`` may run while other calls are under way (the App runs it
  apart from them, so upkeep never delays an acknowledgement); it drops
  delivery ids and finished jobs past ``RETENTION_SECONDS``. A shared store
  also takes back there the jobs whose lease ran out.
- ``recorded_deliveries`` says which of some delivery ids were recorded
  (the redelivery round asks GitHub again only for the others).
- ``try_singleton(name, min_interval)`` starts work that one instance at a
  time does (the reconcile, the redelivery round): False while another
  instance does it, or when it ended less than ``min_interval`` seconds
  ago; ``release_singleton`` ends it. One process owns a SQLite store, so
  there it is always True. ``instances_seen`` counts the live instances
  (heartbeats); 1 for SQLite.

Every method is synchronous and may block (disk, network, a lock held by
another process): async code calls a store through ``AsyncStore``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import threading
import time
from typing import Protocol, TypeVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from guardian_app.settings import Settings

#: Finished jobs and delivery ids are kept this long (GitHub redelivers for 3 days).
RETENTION_SECONDS = 7 * 24 * 3600


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """What to evaluate: a head commit of a repository, and its pull request if known."""

    repo: str
    installation: int
    head_sha: str
    pr: int | None = None
    base_sha: str | None = None
    base_ref: str | None = None
    changed_files: int | None = None
    reason: str = ""
    #: Nothing to do if this head was evaluated, or is being evaluated, already
    #: (a push announces itself twice: pull_request.synchronize and check_suite.requested).
    only_if_new: bool = False


@dataclasses.dataclass(frozen=True)
class Job(JobSpec):
    id: int = 0
    attempts: int = 0
    delivery: str = ""
    check_run_id: int | None = None
    #: Annotation requests already sent to that check run (a retry resumes after them).
    batches_sent: int = 0


#: One delivery to record: (delivery id, event name, the jobs it asks for).
Delivery = tuple[str, str, "Sequence[JobSpec]"]


@dataclasses.dataclass(frozen=True)
class Recorded:
    duplicate: bool = False
    queued: int = 0
    coalesced: int = 0


def job_row(spec: JobSpec, delivery: str, now: float) -> tuple[object, ...]:
    """A new waiting job's columns, in the order every store's ``jobs`` table
    takes them: (repo, installation, head_sha, pr, base_sha, base_ref,
    changed_files, reason, delivery, created, updated)."""
    return (
        spec.repo,
        spec.installation,
        spec.head_sha,
        spec.pr,
        spec.base_sha,
        spec.base_ref,
        spec.changed_files,
        spec.reason,
        delivery,
        now,
        now,
    )


class Store(Protocol):
    """What the App needs of a store; the module docstring says what each call keeps."""

    # -- the queue ----------------------------------------------------------
    def record(self, delivery: str, event: str, specs: Sequence[JobSpec]) -> Recorded: ...
    def record_many(self, batch: Sequence[Delivery]) -> list[Recorded]: ...
    def claim(self) -> Job | None: ...
    def set_check_run(self, job_id: int, check_run_id: int) -> None: ...
    def set_progress(self, job_id: int, batches_sent: int) -> None: ...
    def set_verdict(self, job_id: int, pr: int, check_name: str, conclusion: str) -> None: ...
    def done(self, job_id: int, *, evaluated: bool = True) -> None: ...
    def retry(self, job_id: int, not_before: float, error: str) -> None: ...
    def fail(self, job_id: int, error: str) -> None: ...
    def cancel_waiting(self, repo: str, head_sha: str, error: str) -> int: ...
    def recover(self) -> int: ...
    def depth(self) -> int: ...
    def next_due(self) -> float | None: ...
    def housekeeping(self) -> None: ...
    # -- pull requests sharing a head -----------------------------------------
    def head_prs(self, repo: str, head_sha: str) -> set[int]: ...
    def verdicts(self, repo: str, head_sha: str) -> dict[int, tuple[str, str]]: ...
    # -- installations ----------------------------------------------------------
    def remember_installation(
        self, installation: int, account: str = "", *, added: Sequence[str] = (), removed: Sequence[str] = ()
    ) -> None: ...
    def drop_installation(self, installation: int) -> int: ...
    def installations(self) -> list[int]: ...
    # -- the sticky comment -------------------------------------------------------
    def comment(self, repo: str, pr: int) -> tuple[int, str] | None: ...
    def remember_comment(self, repo: str, pr: int, comment_id: int, body_hash: str) -> None: ...
    def forget_comment(self, repo: str, pr: int) -> None: ...
    # -- delivery ids, instances, one-at-a-time work ---------------------------------
    def recorded_deliveries(self, ids: Sequence[str]) -> set[str]: ...
    def try_singleton(self, name: str, min_interval: float) -> bool: ...
    def release_singleton(self, name: str) -> None: ...
    def instances_seen(self) -> int: ...
    def close(self) -> None: ...


def open_store(settings: Settings, *, heartbeat: bool = True) -> Store:
    """The store the settings name: PostgreSQL when ``database_url`` is set,
    else SQLite at ``db_path``. ``heartbeat=False``: a process that claims
    no job (the webhook's, beside its workers' process) and so is no
    instance of its own."""
    if settings.database_url:
        from guardian_app.store.postgres import PostgresStore

        return PostgresStore(settings.database_url, lease_seconds=settings.lease_seconds, heartbeat=heartbeat)
    from guardian_app.store.sqlite import SqliteStore

    return SqliteStore(settings.db_path)


_T = TypeVar("_T")


def _settle(future: asyncio.Future[_T], result: _T | None, exc: BaseException | None) -> None:
    """Hand a store thread's answer to the awaiting coroutine (on the loop)."""
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]


class AsyncStore:
    """A ``Store`` for async code: each call runs off the event loop.

    Deliveries have a thread of their own, the intake: an acknowledgement
    never waits behind the workers' calls. The deliveries waiting when the
    intake gets to them are recorded in one turn, one ``record_many``: fifty
    deliveries at once cost one hand-off and, on PostgreSQL, one round trip
    and one commit, not fifty. A store with ``record_now`` (SQLite) records
    on the loop itself when it can do so at once.

    Every other call runs on the store's own thread. One thread, not the
    loop's default pool: SQLite's transactions span several statements on
    one connection, so calls must not interleave; the calls run in the
    order they were made; and the default pool is where the evaluations'
    pickling runs. ``housekeeping`` runs on a thread of its own (it has its
    own connection), so a checkpoint never holds up a delivery. A store
    whose calls may run at once (a ``threads`` attribute above 1:
    PostgreSQL, a connection per call) gets that many threads; each caller
    still awaits its own calls one after another.

    ``observe(seconds, call)``, if given, is told how long each call took
    (the store latency metric; a turn of the intake counts as one
    ``record``).
    """

    #: Deliveries recorded in one turn of the intake, at most.
    BATCH = 128

    def __init__(self, store: Store, *, observe: Callable[[float, str], None] | None = None) -> None:
        self.store = store
        self.observe = observe
        threads = getattr(store, "threads", 1)
        self._threads = threads if isinstance(threads, int) and threads > 0 else 1
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=self._threads, thread_name_prefix="guardian-store"
        )
        self._intake = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="guardian-intake")
        # Deliveries waiting for the intake, taken in one turn (see ``record``).
        self._records: list[tuple[Delivery, asyncio.Future[Recorded]]] = []
        self._records_lock = threading.Lock()
        self._draining = False

    async def _run(self, call: Callable[[], _T]) -> _T:
        if self.observe is None:
            return await asyncio.get_running_loop().run_in_executor(self._thread, call)
        observe = self.observe
        name = getattr(getattr(call, "func", call), "__name__", "call")

        def timed() -> _T:
            started = time.perf_counter()
            try:
                return call()
            finally:
                observe(time.perf_counter() - started, name)

        return await asyncio.get_running_loop().run_in_executor(self._thread, timed)

    async def record(self, delivery: str, event: str, specs: Sequence[JobSpec]) -> Recorded:
        """Record a delivery: at once on the loop where the store can
        (``record_now``), else with the others waiting, on the intake."""
        quick = getattr(self.store, "record_now", None)
        if quick is not None:
            started = time.perf_counter()
            now: Recorded | None = quick(delivery, event, specs)
            if now is not None:
                if self.observe is not None:
                    self.observe(time.perf_counter() - started, "record")
                return now
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Recorded] = loop.create_future()
        with self._records_lock:
            self._records.append(((delivery, event, specs), future))
            start = not self._draining
            self._draining = True
        if start:
            loop.run_in_executor(self._intake, self._drain_records, loop)
        return await future

    def _drain_records(self, loop: asyncio.AbstractEventLoop) -> None:
        """The intake thread: the waiting deliveries, in the order they came."""
        while True:
            with self._records_lock:
                batch, self._records = self._records[: self.BATCH], self._records[self.BATCH :]
                if not batch:
                    self._draining = False
                    return
            started = time.perf_counter()
            outcomes = self._record_batch([delivery for delivery, _future in batch])
            if self.observe is not None:
                self.observe(time.perf_counter() - started, "record")
            for (_delivery, future), outcome in zip(batch, outcomes, strict=True):
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                    loop.call_soon_threadsafe(_settle, future, *outcome)

    def _record_batch(self, batch: list[Delivery]) -> list[tuple[Recorded | None, BaseException | None]]:
        """Each delivery's outcome. When the batch fails as a whole, each is
        tried alone, so one delivery the store refuses fails only itself.
        Nothing escapes: the intake thread must live on, or every later
        acknowledgement would wait for it."""
        try:
            return [(recorded, None) for recorded in self.store.record_many(batch)]
        except BaseException as exc:  # noqa: BLE001 - handed to the callers
            if len(batch) == 1:
                return [(None, exc)]
        outcomes: list[tuple[Recorded | None, BaseException | None]] = []
        for delivery in batch:
            try:
                outcomes.append((self.store.record(*delivery), None))
            except BaseException as exc:  # noqa: BLE001 - handed to its caller
                outcomes.append((None, exc))
        return outcomes

    async def claim(self) -> Job | None:
        return await self._run(self.store.claim)

    async def set_check_run(self, job_id: int, check_run_id: int) -> None:
        await self._run(functools.partial(self.store.set_check_run, job_id, check_run_id))

    async def set_progress(self, job_id: int, batches_sent: int) -> None:
        await self._run(functools.partial(self.store.set_progress, job_id, batches_sent))

    async def set_verdict(self, job_id: int, pr: int, check_name: str, conclusion: str) -> None:
        await self._run(functools.partial(self.store.set_verdict, job_id, pr, check_name, conclusion))

    async def done(self, job_id: int, *, evaluated: bool = True) -> None:
        await self._run(functools.partial(self.store.done, job_id, evaluated=evaluated))

    async def retry(self, job_id: int, not_before: float, error: str) -> None:
        await self._run(functools.partial(self.store.retry, job_id, not_before, error))

    async def fail(self, job_id: int, error: str) -> None:
        await self._run(functools.partial(self.store.fail, job_id, error))

    async def cancel_waiting(self, repo: str, head_sha: str, error: str) -> int:
        return await self._run(functools.partial(self.store.cancel_waiting, repo, head_sha, error))

    async def recover(self) -> int:
        return await self._run(self.store.recover)

    async def depth(self) -> int:
        return await self._run(self.store.depth)

    async def next_due(self) -> float | None:
        return await self._run(self.store.next_due)

    async def housekeeping(self) -> None:
        await asyncio.to_thread(self.store.housekeeping)

    async def head_prs(self, repo: str, head_sha: str) -> set[int]:
        return await self._run(functools.partial(self.store.head_prs, repo, head_sha))

    async def verdicts(self, repo: str, head_sha: str) -> dict[int, tuple[str, str]]:
        return await self._run(functools.partial(self.store.verdicts, repo, head_sha))

    async def remember_installation(
        self, installation: int, account: str = "", *, added: Sequence[str] = (), removed: Sequence[str] = ()
    ) -> None:
        call = functools.partial(self.store.remember_installation, installation, account, added=added, removed=removed)
        await self._run(call)

    async def drop_installation(self, installation: int) -> int:
        return await self._run(functools.partial(self.store.drop_installation, installation))

    async def installations(self) -> list[int]:
        return await self._run(self.store.installations)

    async def comment(self, repo: str, pr: int) -> tuple[int, str] | None:
        return await self._run(functools.partial(self.store.comment, repo, pr))

    async def remember_comment(self, repo: str, pr: int, comment_id: int, body_hash: str) -> None:
        await self._run(functools.partial(self.store.remember_comment, repo, pr, comment_id, body_hash))

    async def forget_comment(self, repo: str, pr: int) -> None:
        await self._run(functools.partial(self.store.forget_comment, repo, pr))

    async def recorded_deliveries(self, ids: Sequence[str]) -> set[str]:
        return await self._run(functools.partial(self.store.recorded_deliveries, list(ids)))

    async def try_singleton(self, name: str, min_interval: float) -> bool:
        # Not on the store's threads: the work it starts spans many calls.
        return await asyncio.to_thread(self.store.try_singleton, name, min_interval)

    async def release_singleton(self, name: str) -> None:
        await asyncio.to_thread(self.store.release_singleton, name)

    async def instances_seen(self) -> int:
        return await self._run(self.store.instances_seen)

    async def close(self) -> None:
        """Close the store after every call made before (they share its thread)."""
        try:
            await asyncio.get_running_loop().run_in_executor(self._intake, lambda: None)
            await self._run(self.store.close)
        finally:
            self._intake.shutdown(wait=False)
            self._thread.shutdown(wait=False)
