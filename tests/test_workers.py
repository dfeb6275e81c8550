"""The worker pool behind the parallel history scan: answers in the order
asked whatever each task costs, and a worker that dies is an error, not a wait."""

from __future__ import annotations

import os
import signal
import time

import pytest

from guardian.errors import GuardianError
from guardian.workers import Pool, default_jobs


def _slow_square(task: object) -> object:
    assert isinstance(task, int)
    time.sleep(0.02 if task % 3 == 0 else 0)  # some tasks much slower than others
    return task * task, os.getpid()


def test_answers_come_back_in_the_order_asked_from_several_processes() -> None:
    with Pool(_slow_square, 3) as pool:
        tickets = [pool.submit(n) for n in range(60)]
        answers = [pool.answer(ticket) for ticket in tickets]
    assert [square for square, _pid in answers] == [n * n for n in range(60)]
    workers = {pid for _square, pid in answers}
    assert len(workers) > 1 and os.getpid() not in workers


def test_large_tasks_and_answers_pass_both_ways() -> None:
    blob = os.urandom(3 << 20)  # larger than a pipe holds
    with Pool(lambda data: bytes(reversed(data)), 2) as pool:  # type: ignore[arg-type]
        tickets = [pool.submit(blob) for _ in range(4)]
        assert all(pool.answer(ticket) == blob[::-1] for ticket in tickets)


def test_a_failing_task_is_raised_where_its_answer_is_taken() -> None:
    def work(task: object) -> object:
        if task == "bad":
            raise ValueError("no good")
        return task

    with Pool(work, 2) as pool:
        good, bad = pool.submit("good"), pool.submit("bad")
        assert pool.answer(good) == "good"
        with pytest.raises(GuardianError, match="ValueError: no good"):
            pool.answer(bad)


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    def work(task: object) -> object:
        if task == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        return task

    with Pool(work, 1) as pool:
        ticket = pool.submit("die")
        with pytest.raises(GuardianError, match="ended before answering"):
            pool.answer(ticket)
        # Nothing left to answer a later task: still an error, at once.
        with pytest.raises(GuardianError, match="ended"):
            pool.answer(pool.submit("after"))


def test_the_default_is_one_worker_per_cpu_this_process_may_use() -> None:
    assert default_jobs() == len(os.sched_getaffinity(0))
