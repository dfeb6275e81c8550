"""Work spread over forked worker processes, answered in the order asked.

A history scan reads each unique blob once, in log order, and decides in
that order what needs judging (the repeated-version memo); only the rules
themselves, pure functions of a blob's bytes, run in the workers. So the
answers, taken back in the order the tasks were given, make the same report
whatever the number of workers.

The workers are forked when the pool is made, before the scan starts any
thread, and inherit the policy's rules: a task carries only a blob and which
rules to run on it. Each worker has a pipe in and a pipe out; one thread per
worker drains its answers, so neither side can block the other however large
a task or an answer. A worker that dies (killed, out of memory) makes the
next answer an error rather than a wait.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import threading

from guardian.errors import GuardianError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_HEADER = struct.Struct("<Q")


def default_jobs() -> int:
    """Workers to use when not told: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _write_frame(fd: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> bytes | None:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    return _read_exact(fd, _HEADER.unpack(header)[0])


def _serve(work: Callable[[object], object], tasks: int, answers: int) -> None:
    """A worker's life: a task in, its answer out, until the pipe closes."""
    # Ctrl-C reaches the whole process group: the parent decides, and closes our pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        frame = _read_frame(tasks)
        if frame is None:
            return
        try:
            answer: tuple[bool, object] = (True, work(pickle.loads(frame)))
        except BaseException as exc:  # noqa: BLE001 - sent to the parent, raised there
            answer = (False, f"{type(exc).__name__}: {exc}")
        _write_frame(answers, pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))


class _Worker:
    __slots__ = ("alive", "answers", "pending", "pid", "reader", "tasks")

    def __init__(self, pid: int, tasks: int, answers: int) -> None:
        self.pid = pid
        self.alive = True
        self.tasks = tasks
        self.answers = answers
        #: Tickets given to this worker and not answered yet, oldest first.
        self.pending: list[int] = []
        self.reader: threading.Thread | None = None


class Pool:
    """``jobs`` forked processes running ``work`` on pickled tasks."""

    def __init__(self, work: Callable[[object], object], jobs: int) -> None:
        self._workers: list[_Worker] = []
        self._answers: dict[int, tuple[bool, object]] = {}
        self._ready = threading.Condition()
        self._next = 0
        self._closed = False
        for _ in range(jobs):
            task_read, task_write = os.pipe()
            answer_read, answer_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: serve, then leave without the parent's cleanup
                code = 0
                try:
                    os.close(task_write)
                    os.close(answer_read)
                    for other in self._workers:
                        os.close(other.tasks)
                        os.close(other.answers)
                    _serve(work, task_read, answer_write)
                except BaseException:  # noqa: BLE001 - a worker never returns into the parent's code
                    code = 1
                os._exit(code)
            os.close(task_read)
            os.close(answer_write)
            self._workers.append(_Worker(pid, task_write, answer_read))
        for worker in self._workers:
            worker.reader = threading.Thread(target=self._drain, args=(worker,), daemon=True)
            worker.reader.start()

    def _drain(self, worker: _Worker) -> None:
        """Take a worker's answers as they come (its own thread)."""
        while True:
            frame = _read_frame(worker.answers)
            with self._ready:
                if frame is None:
                    worker.alive = False
                    for ticket in worker.pending:
                        self._answers[ticket] = (False, "a worker process ended before answering")
                    worker.pending.clear()
                    self._ready.notify_all()
                    return
                self._answers[worker.pending.pop(0)] = pickle.loads(frame)
                self._ready.notify_all()

    def submit(self, task: object) -> int:
        """Hand ``task`` to the least busy worker; a ticket for its answer."""
        payload = pickle.dumps(task, pickle.HIGHEST_PROTOCOL)
        with self._ready:
            ticket = self._next
            self._next += 1
            alive = [w for w in self._workers if w.alive]
            if not alive:
                self._answers[ticket] = (False, "every worker process has ended")
                return ticket
            worker = min(alive, key=lambda w: len(w.pending))
            worker.pending.append(ticket)
        # A worker gone meanwhile: its reader records every ticket it lost.
        with contextlib.suppress(OSError):
            _write_frame(worker.tasks, payload)
        return ticket

    def done(self, ticket: int) -> bool:
        with self._ready:
            return ticket in self._answers

    def answer(self, ticket: int) -> object:
        """The answer to ``ticket``, waiting for it; a worker's failure is raised here."""
        with self._ready:
            while ticket not in self._answers:
                self._ready.wait()
            ok, value = self._answers.pop(ticket)
        if not ok:
            raise GuardianError(f"a content worker failed: {value}")
        return value

    def close(self) -> None:
        """End the workers: their pipes close, they leave, they are reaped."""
        if self._closed:
            return
        self._closed = True
        for worker in self._workers:
            os.close(worker.tasks)
        for worker in self._workers:
            if worker.reader is not None:
                worker.reader.join()
            os.close(worker.answers)
            os.waitpid(worker.pid, 0)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
