"""The store's contract: what every implementation of ``guardian_app.store.Store`` keeps.

Each test runs against every implementation in ``IMPLEMENTATIONS``: the
SQLite store, and the PostgreSQL store several App instances share, on a
real server (``tests/pg.py``: a fresh database per test). Besides the
interface the App uses, an implementation gives tests and operators
``jobs()``: every job kept, oldest first, as dicts with at least ``id``,
``pr``, ``base_ref``, ``state`` (``queued``, ``running``, ``done``,
``skipped``, ``failed``), ``attempts``, ``check_run_id`` and ``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from guardian_app.store import RETENTION_SECONDS, JobSpec, Recorded, Store
from guardian_app.store.sqlite import SqliteStore

REPO = "acme/atomizer"
SHA = "a" * 40
OTHER_SHA = "c" * 40


class Inspectable(Store, Protocol):
    def jobs(self) -> list[dict[str, object]]: ...


def _sqlite(request: pytest.FixtureRequest, directory: Path, clock: Callable[[], float]) -> Inspectable:
    return SqliteStore(str(directory / "store.sqlite3"), clock=clock)


def _postgres(request: pytest.FixtureRequest, directory: Path, clock: Callable[[], float]) -> Inspectable:
    from guardian_app.store.postgres import PostgresStore

    url: str = request.getfixturevalue("pg_url")
    return PostgresStore(url, clock=clock)


IMPLEMENTATIONS = [pytest.param(_sqlite, id="sqlite"), pytest.param(_postgres, id="postgres")]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=IMPLEMENTATIONS)
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Inspectable]:
    opened: Inspectable = request.param(request, tmp_path, clock)
    try:
        yield opened
    finally:
        opened.close()


def _waiting(store: Inspectable) -> dict[object, object]:
    return {j["pr"]: j["base_ref"] for j in store.jobs() if j["state"] == "queued"}


# -- recording and coalescing ------------------------------------------------------------


def test_the_queue_dedupes_coalesces_and_never_runs_one_pr_twice_at_once(store: Inspectable) -> None:
    queue = store
    spec = JobSpec(REPO, 1, SHA, pr=7, base_sha="b" * 40)
    assert queue.record("d1", "pull_request", [spec]).queued == 1
    assert queue.record("d1", "pull_request", [spec]).duplicate
    assert queue.record("d2", "check_suite", [JobSpec(REPO, 1, SHA)]).coalesced == 1
    first = queue.claim()
    assert first is not None and first.pr == 7 and first.attempts == 1
    # A new head of the same PR waits while the first one runs.
    queue.record("d3", "pull_request", [JobSpec(REPO, 1, OTHER_SHA, pr=7)])
    assert queue.claim() is None
    queue.done(first.id)
    second = queue.claim()
    assert second is not None and second.head_sha == OTHER_SHA
    # A process that dies mid-job: the job is handed out again after recover().
    queue.set_check_run(second.id, 99)
    assert queue.recover() == 1
    again = queue.claim()
    assert again is not None and again.id == second.id and again.check_run_id == 99 and again.attempts == 2


def test_a_delivery_id_is_recorded_once_even_with_other_jobs(store: Inspectable) -> None:
    assert store.record("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1)]).queued == 1
    again = store.record("d1", "pull_request", [JobSpec(REPO, 1, OTHER_SHA, pr=2)])
    assert (again.duplicate, again.queued, again.coalesced) == (True, 0, 0)
    assert [j["pr"] for j in store.jobs()] == [1]


def test_a_repeated_announcement_joins_an_evaluated_head_but_a_skipped_one_queues(store: Inspectable) -> None:
    queue = store
    push = JobSpec(REPO, 1, SHA, only_if_new=True)
    assert queue.record("d1", "check_suite", [push]).queued == 1
    job = queue.claim()
    assert job is not None
    queue.done(job.id, evaluated=False)  # no pull request had that head yet
    opened = JobSpec(REPO, 1, SHA, pr=3, only_if_new=True)
    assert queue.record("d2", "pull_request", [opened]).queued == 1
    job = queue.claim()
    assert job is not None
    queue.done(job.id)
    assert queue.record("d3", "check_suite", [push]).coalesced == 1
    rerun = JobSpec(REPO, 1, SHA, reason="check_run.rerequested")
    assert queue.record("d4", "check_run", [rerun]).queued == 1


def test_only_if_new_joins_a_running_evaluation_of_that_pr_but_not_of_another(store: Inspectable) -> None:
    store.record("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1)])
    assert store.claim() is not None
    assert store.record("d2", "check_suite", [JobSpec(REPO, 1, SHA, pr=1, only_if_new=True)]).coalesced == 1
    assert store.record("d3", "check_suite", [JobSpec(REPO, 1, SHA, pr=2, only_if_new=True)]).queued == 1
    # Without the mark, a request queues afresh behind the running job.
    assert store.record("d4", "pull_request", [JobSpec(REPO, 1, SHA, pr=1, reason="reopened")]).queued == 1


def test_the_queue_keeps_one_job_per_pr_of_a_shared_head(store: Inspectable) -> None:
    queue = store
    # A check suite listing two pull requests: two jobs, each keeping its base.
    recorded = queue.record(
        "d1",
        "check_suite",
        [JobSpec(REPO, 1, SHA, pr=1, base_ref="main"), JobSpec(REPO, 1, SHA, pr=2, base_ref="release")],
    )
    assert (recorded.queued, recorded.coalesced) == (2, 0)
    # A request without a PR joins a waiting job of that head; one for a PR joins that PR's.
    assert queue.record("d2", "check_run", [JobSpec(REPO, 1, SHA)]).coalesced == 1
    assert queue.record("d3", "pull_request", [JobSpec(REPO, 1, SHA, pr=2, base_ref="rel-2")]).coalesced == 1
    waiting = _waiting(queue)
    assert waiting == {1: "main", 2: "rel-2"}

    # One head's jobs run one after another.
    first = queue.claim()
    assert first is not None and first.pr == 1
    assert queue.claim() is None
    # The push announced again for each: PR 1 is being evaluated, PR 2 still waits for its own.
    again = queue.record("d4", "check_suite", [JobSpec(REPO, 1, SHA, pr=n, only_if_new=True) for n in (1, 2)])
    assert (again.queued, again.coalesced) == (0, 2)
    queue.set_verdict(first.id, 1, "guardian (#1 into main)", "failure")
    queue.done(first.id)
    second = queue.claim()
    assert second is not None and second.pr == 2 and second.base_ref == "rel-2"
    assert queue.head_prs(REPO, SHA) == {1, 2}
    assert queue.verdicts(REPO, SHA) == {1: ("guardian (#1 into main)", "failure")}


def test_a_request_for_a_pr_fills_in_a_job_waiting_without_one(store: Inspectable) -> None:
    queue = store
    assert queue.record("d1", "check_suite", [JobSpec(REPO, 1, SHA)]).queued == 1
    assert queue.record("d2", "pull_request", [JobSpec(REPO, 1, SHA, pr=3)]).coalesced == 1
    assert queue.record("d3", "pull_request", [JobSpec(REPO, 1, SHA, pr=4)]).queued == 1
    assert sorted(j["pr"] for j in queue.jobs()) == [3, 4]
    # A retried job absorbs a waiting job of its own pull request only.
    job = queue.claim()
    assert job is not None and job.pr == 3
    queue.record("d4", "pull_request", [JobSpec(REPO, 1, SHA, pr=3, base_ref="main")])
    queue.retry(job.id, 0.0, "502")
    waiting = sorted((j["pr"], j["base_ref"]) for j in queue.jobs() if j["state"] == "queued")
    assert waiting == [(3, "main"), (4, None)]


def test_the_newest_base_wins_and_a_missing_one_keeps_the_known(store: Inspectable) -> None:
    store.record("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1, base_sha="b" * 40, base_ref="main")])
    store.record("d2", "pull_request", [JobSpec(REPO, 1, SHA, pr=1, base_sha="d" * 40, base_ref="develop")])
    store.record("d3", "check_run", [JobSpec(REPO, 1, SHA, pr=1)])
    job = store.claim()
    assert job is not None and (job.base_sha, job.base_ref) == ("d" * 40, "develop")
    assert store.claim() is None


def test_deliveries_recorded_together_are_each_recorded_as_alone_in_order(store: Inspectable) -> None:
    """``record_many``: what the intake does with deliveries that arrive
    together. Each sees the ones before it in the batch."""
    assert store.record("seen", "pull_request", [JobSpec(REPO, 1, OTHER_SHA, pr=9)]).queued == 1
    outcomes = store.record_many(
        [
            ("b1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1, base_sha="b" * 40, base_ref="main")]),
            ("seen", "pull_request", [JobSpec(REPO, 1, SHA, pr=5)]),  # recorded before: a duplicate
            ("b2", "check_suite", [JobSpec(REPO, 1, SHA, pr=1, only_if_new=True)]),  # joins b1's job
            ("b1", "pull_request", [JobSpec(REPO, 1, SHA, pr=6)]),  # an id twice in one batch
            ("b3", "pull_request", [JobSpec(REPO, 1, SHA, pr=1, base_sha="d" * 40, base_ref="develop")]),
            ("b4", "pull_request", [JobSpec(REPO, 1, SHA, pr=2), JobSpec(REPO, 1, OTHER_SHA, pr=9)]),
            ("b5", "pull_request", []),
        ]
    )
    assert outcomes == [
        Recorded(queued=1),
        Recorded(duplicate=True),
        Recorded(coalesced=1),
        Recorded(duplicate=True),
        Recorded(coalesced=1),
        Recorded(queued=1, coalesced=1),
        Recorded(),
    ]
    # The later base won; no job for the duplicates' pull requests.
    assert _waiting(store) == {1: "develop", 2: None, 9: None}
    assert store.recorded_deliveries(["b1", "b2", "b3", "b4", "b5", "never"]) == {"b1", "b2", "b3", "b4", "b5"}
    assert store.record_many([]) == []


def test_two_stores_recording_batches_at_once_keep_one_job_per_pr_and_each_id_once(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock, store: Inspectable
) -> None:
    """Two instances (two stores on one database) recording overlapping
    batches in opposite orders at once: no deadlock, each delivery id
    recorded by exactly one of them, one waiting job per pull request."""
    import concurrent.futures

    other = type(store)(*_reopen_args(request, tmp_path, store), clock=clock)  # type: ignore[call-arg]
    try:
        batches = [
            [(f"d{i}", "pull_request", [JobSpec(REPO, 1, f"{i % 7:040x}", pr=i % 7)]) for i in range(40)],
        ]
        batches.append(list(reversed(batches[0])))
        for _ in range(5):
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                first, second = pool.map(
                    lambda pair: pair[0].record_many(pair[1]), zip((store, other), batches, strict=True)
                )
            # Every id: new for one store, a duplicate for the other.
            for mine, theirs in zip(first, reversed(second), strict=True):
                assert mine.duplicate != theirs.duplicate
            batches = [[(f"x{d}", e, sp) for d, e, sp in batch] for batch in batches]
        assert sorted(j["pr"] for j in store.jobs()) == list(range(7))
    finally:
        other.close()


def _reopen_args(request: pytest.FixtureRequest, directory: Path, store: Inspectable) -> tuple[str]:
    """What opens a second store on ``store``'s database."""
    if isinstance(store, SqliteStore):
        return (store.path,)
    return (request.getfixturevalue("pg_url"),)


def test_claim_never_hands_out_two_jobs_for_one_head_or_one_pr(store: Inspectable) -> None:
    store.record("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1), JobSpec(REPO, 1, SHA, pr=2)])
    store.record("d2", "pull_request", [JobSpec(REPO, 1, OTHER_SHA, pr=1)])
    store.record("d3", "pull_request", [JobSpec("acme/other", 1, SHA, pr=1)])
    first = store.claim()
    assert first is not None and (first.repo, first.head_sha, first.pr) == (REPO, SHA, 1)
    # Same head (PR 2) and same PR (a newer head) wait; another repository does not.
    other = store.claim()
    assert other is not None and other.repo == "acme/other"
    assert store.claim() is None
    store.done(first.id)
    # Then both may go: they share neither head nor pull request.
    nxt, newer = store.claim(), store.claim()
    assert nxt is not None and (nxt.head_sha, nxt.pr) == (SHA, 2)
    assert newer is not None and (newer.head_sha, newer.pr) == (OTHER_SHA, 1)
    assert store.claim() is None


# -- retries, failures and recovery ----------------------------------------------------------


def test_a_retry_keeps_the_check_run_and_progress_and_waits_until_due(store: Inspectable, clock: Clock) -> None:
    store.record("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1)])
    job = store.claim()
    assert job is not None
    store.set_check_run(job.id, 77)
    store.set_progress(job.id, 2)
    store.retry(job.id, clock.now + 30, "GitHub answered 502")
    assert store.next_due() == clock.now + 30
    assert store.claim() is None
    clock.now += 31
    again = store.claim()
    assert again is not None
    assert (again.id, again.attempts, again.check_run_id, again.batches_sent) == (job.id, 2, 77, 2)
    # A new check run starts its progress afresh.
    store.set_check_run(again.id, 78)
    store.retry(again.id, 0.0, "502")
    latest = store.claim()
    assert latest is not None and (latest.check_run_id, latest.batches_sent) == (78, 0)


def test_a_retried_job_without_a_pr_absorbs_one_waiting_for_its_head(store: Inspectable) -> None:
    store.record("d1", "check_suite", [JobSpec(REPO, 1, SHA)])
    job = store.claim()
    assert job is not None
    store.record("d2", "check_run", [JobSpec(REPO, 1, SHA, base_ref="main")])
    store.retry(job.id, 0.0, "502")
    assert [(j["id"], j["base_ref"]) for j in store.jobs() if j["state"] == "queued"] == [(job.id, "main")]
    assert store.depth() == 1


def test_recover_hands_back_running_jobs_absorbing_one_waiting_for_them(store: Inspectable) -> None:
    store.record("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1)])
    job = store.claim()
    assert job is not None
    store.set_check_run(job.id, 5)
    store.set_progress(job.id, 1)
    store.record("d2", "pull_request", [JobSpec(REPO, 1, SHA, pr=1, base_ref="release")])
    assert store.recover() == 1
    again = store.claim()
    assert again is not None
    assert (again.id, again.check_run_id, again.batches_sent, again.base_ref) == (job.id, 5, 1, "release")
    assert store.claim() is None
    assert store.recover() == 1  # claimed again, not finished: still an orphan for a new process


def test_done_fail_and_depth(store: Inspectable) -> None:
    assert (store.depth(), store.next_due()) == (0, None)
    store.record("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1), JobSpec(REPO, 1, OTHER_SHA, pr=2)])
    assert store.depth() == 2
    first = store.claim()
    assert first is not None and store.depth() == 2  # running jobs count
    store.fail(first.id, "permission missing")
    second = store.claim()
    assert second is not None
    store.done(second.id)
    assert (store.depth(), store.next_due()) == (0, None)
    states = {j["id"]: (j["state"], j["error"]) for j in store.jobs()}
    assert states == {first.id: ("failed", "permission missing"), second.id: ("done", None)}


# -- pull requests sharing a head ---------------------------------------------------------------


def test_a_verdict_names_the_pr_a_job_found_and_the_latest_wins(store: Inspectable) -> None:
    store.record("d1", "check_suite", [JobSpec(REPO, 1, SHA)])
    job = store.claim()
    assert job is not None
    assert store.head_prs(REPO, SHA) == set()
    store.set_verdict(job.id, 4, "guardian", "success")
    store.done(job.id)
    assert store.head_prs(REPO, SHA) == {4}
    store.record("d2", "check_run", [JobSpec(REPO, 1, SHA, pr=4)])
    rerun = store.claim()
    assert rerun is not None
    store.set_verdict(rerun.id, 4, "guardian (#4 into main)", "failure")
    assert store.verdicts(REPO, SHA) == {4: ("guardian (#4 into main)", "failure")}
    assert store.verdicts(REPO, OTHER_SHA) == {} and store.verdicts("acme/other", SHA) == {}


# -- installations and comments -----------------------------------------------------------------


def test_installations_are_remembered_and_dropped_with_their_waiting_jobs(store: Inspectable, clock: Clock) -> None:
    store.remember_installation(1, "acme", added=["acme/atomizer", "acme/widgets"])
    clock.now += 1
    store.remember_installation(2, "", added=["octo/x"])
    store.remember_installation(2, "", removed=["octo/x"])
    assert store.installations() == [2, 1]  # the most recently heard from first
    store.record("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1), JobSpec("octo/x", 2, SHA, pr=1)])
    running = store.claim()
    assert running is not None and running.installation == 1
    store.record("d2", "pull_request", [JobSpec(REPO, 1, OTHER_SHA, pr=2)])
    assert store.drop_installation(1) == 1  # the waiting one; the running one finishes as it will
    assert store.installations() == [2]
    assert store.depth() == 2
    remaining = store.claim()
    assert remaining is not None and remaining.installation == 2
    assert store.drop_installation(99) == 0


def test_the_sticky_comment_is_remembered_replaced_and_forgotten(store: Inspectable) -> None:
    assert store.comment(REPO, 1) is None
    store.remember_comment(REPO, 1, 501, "hash-1")
    store.remember_comment(REPO, 1, 501, "hash-2")
    store.remember_comment(REPO, 2, 502, "hash-3")
    assert store.comment(REPO, 1) == (501, "hash-2")
    assert store.comment("acme/other", 1) is None
    store.forget_comment(REPO, 1)
    assert store.comment(REPO, 1) is None
    assert store.comment(REPO, 2) == (502, "hash-3")


# -- housekeeping -------------------------------------------------------------------------------------


def test_housekeeping_drops_old_delivery_ids_in_a_long_running_process(store: Inspectable, clock: Clock) -> None:
    queue = store
    spec = JobSpec(REPO, 1, SHA, pr=1)
    assert queue.record("d-old", "pull_request", [spec]).queued == 1
    job = queue.claim()
    assert job is not None
    queue.set_verdict(job.id, 1, "guardian", "failure")
    queue.done(job.id)
    clock.now += RETENTION_SECONDS + 3600
    queue.housekeeping()  # what the running App does every few seconds
    assert queue.jobs() == []
    assert queue.verdicts(REPO, SHA) == {} and queue.head_prs(REPO, SHA) == set()
    assert not queue.record("d-old", "pull_request", [spec]).duplicate


def test_housekeeping_keeps_what_is_recent_or_unfinished(store: Inspectable, clock: Clock) -> None:
    store.record("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1), JobSpec(REPO, 1, OTHER_SHA, pr=2)])
    job = store.claim()
    assert job is not None
    clock.now += RETENTION_SECONDS + 3600
    store.housekeeping()
    # Old, but waiting or running: kept. The delivery id has gone, so a redelivery would record anew.
    assert sorted(j["state"] for j in store.jobs()) == ["queued", "running"]
    store.done(job.id)
    clock.now += 3601  # the next pruning round: the job finished an hour ago
    store.housekeeping()
    assert len(store.jobs()) == 2


# -- delivery ids and one-at-a-time work ------------------------------------------------------------


def test_recorded_deliveries_names_the_ids_seen(store: Inspectable) -> None:
    store.record("seen-1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1)])
    store.record("seen-2", "check_suite", [])
    assert store.recorded_deliveries(["seen-1", "seen-2", "never"]) == {"seen-1", "seen-2"}
    assert store.recorded_deliveries([]) == set()


def test_a_singleton_can_be_started_and_released(store: Inspectable) -> None:
    assert store.try_singleton("reconcile", 0.0)
    store.release_singleton("reconcile")
    assert store.try_singleton("reconcile", 0.0)
    store.release_singleton("reconcile")
    store.release_singleton("never-started")  # harmless
    assert store.instances_seen() >= 1


def test_cancel_waiting_ends_only_waiting_jobs_without_a_pr_or_check_run(store: Inspectable) -> None:
    store.record("d1", "merge_group", [JobSpec(REPO, 1, SHA)])
    store.record("d2", "pull_request", [JobSpec(REPO, 1, OTHER_SHA, pr=3)])
    assert store.cancel_waiting(REPO, OTHER_SHA, "destroyed") == 0
    assert store.cancel_waiting(REPO, SHA, "merge group destroyed") == 1
    assert {j["state"] for j in store.jobs() if j["head_sha"] == SHA} == {"skipped"}
    assert store.depth() == 1


def test_sqlite_records_on_the_callers_thread_only_when_it_can_at_once(tmp_path: Path) -> None:
    """The acknowledgement's fast path: ``record_now`` writes at once, or
    answers None (and writes nothing) while another connection holds the
    write lock, so the event loop never waits on it; ``record`` then waits."""
    import sqlite3
    import time

    path = str(tmp_path / "store.sqlite3")
    store = SqliteStore(path)
    assert store.record_now("d1", "pull_request", [JobSpec(REPO, 1, SHA, pr=1)]) == Recorded(queued=1)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    started = time.monotonic()
    assert store.record_now("d2", "pull_request", [JobSpec(REPO, 1, OTHER_SHA, pr=2)]) is None
    assert time.monotonic() - started < 1.0
    other.execute("COMMIT")
    assert store.record("d2", "pull_request", [JobSpec(REPO, 1, OTHER_SHA, pr=2)]) == Recorded(queued=1)
    assert store.record_now("d2", "pull_request", []) == Recorded(duplicate=True)
    other.close()
    store.close()


def test_the_intake_records_a_batch_and_a_refused_delivery_fails_only_itself(tmp_path: Path) -> None:
    """``AsyncStore``'s intake: deliveries that wait together go in one
    ``record_many``; when the store refuses the batch, each is tried alone."""
    import asyncio
    import sqlite3

    from guardian_app.store import AsyncStore

    path = str(tmp_path / "store.sqlite3")
    store = SqliteStore(path)
    turns: list[str] = []
    intake = AsyncStore(store, observe=lambda _seconds, call: turns.append(call))
    other = sqlite3.connect(path, isolation_level=None)

    async def scenario() -> list[object]:
        other.execute("BEGIN IMMEDIATE")  # another process writing: none can be recorded on the loop
        calls = [
            intake.record("good", "pull_request", [JobSpec(REPO, 1, SHA, pr=1)]),
            intake.record("bad", "pull_request", [JobSpec(None, 1, OTHER_SHA, pr=2)]),  # type: ignore[arg-type]
            intake.record("also-good", "pull_request", [JobSpec(REPO, 1, OTHER_SHA, pr=3)]),
        ]
        tasks = [asyncio.ensure_future(call) for call in calls]
        await asyncio.sleep(0.3)
        assert not any(task.done() for task in tasks)  # waiting for the write lock, not refused
        other.execute("COMMIT")
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    try:
        good, bad, also_good = asyncio.run(scenario())
        # Fewer turns than deliveries: "bad" (in the middle) shared a turn with a good one.
        assert turns.count("record") < 3
        assert good == Recorded(queued=1) and also_good == Recorded(queued=1)
        assert isinstance(bad, sqlite3.IntegrityError)
        assert sorted(j["pr"] for j in store.jobs()) == [1, 3]
        assert store.recorded_deliveries(["good", "bad", "also-good"]) == {"good", "also-good"}
    finally:
        other.close()
        store.close()
