"""The work behind the acknowledgements: the workers, the reconcile, the
store's housekeeping and the redelivery rounds (the ``Crew``), run in a
process of their own (``WorkerProcess``) or, with
``Settings.worker_process`` off, on the webhook's own event loop.

Why a process: an acknowledgement must not wait behind evaluations. On one
event loop, a busy worker's GitHub traffic (HTTP parsing, JSON, building
reports) ran between the steps of each acknowledgement; a profile of a busy
instance showed about 70% of the loop's time there and 4% in the webhook.
Threads would still share the GIL. So the webhook's process only verifies,
records and answers, and the crew's process runs at a lower CPU priority
(``NICE``; its evaluation processes inherit it): on a loaded machine the
kernel serves an acknowledgement first, and evaluations take the rest.

Between the two processes:

- a wake pipe: one byte per recorded delivery, written without blocking
  (a full pipe drops the byte: the crew has wake-ups pending anyway);
- a control pipe: the webhook's process asks for the crew's metrics (each
  scrape shows both processes' counts) and says when to stop;
- the crew's process stops as soon as its control pipe closes: it never
  works on once the process an operator sees and stops is gone (killed
  included). Jobs it held are taken back as after any crash: by the next
  start's ``recover()`` (SQLite) or when their lease runs out (PostgreSQL);
- a crew process that dies is started again, after a pause that grows with
  each failure, and the log says how it ended.

The process is spawned, never forked from the threaded server: it starts a
fresh interpreter, opens its own store and GitHub client, and gets the
settings (secrets included) over its pipe, never in its command line or
environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import signal
import threading
import time

from guardian_app import logs
from guardian_app.github import GitHubClient
from guardian_app.metrics import Metrics
from guardian_app.redeliver import Redeliver
from guardian_app.store import AsyncStore
from guardian_app.worker import Worker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from multiprocessing.connection import Connection

    from guardian_app.settings import Settings
    from guardian_app.store import Store

log = logs.get("worker")

#: How much lower the crew's CPU priority is than the webhook's (``os.nice``).
NICE = 10
#: Seconds a new crew process may take to start (its evaluation processes import and warm the core).
START_TIMEOUT = 90.0
#: Seconds a crew process may take to stop before it is killed.
STOP_TIMEOUT = 15.0
#: Seconds the webhook's process waits for the crew's metrics before scraping without them.
METRICS_TIMEOUT = 2.0
#: Longest pause before a crew process that keeps dying is started again.
MAX_RESTART_DELAY = 60.0


class Crew:
    """The workers, the redelivery rounds and the wake-ups from other
    instances, on the event loop of whoever starts it."""

    def __init__(self, settings: Settings, store: AsyncStore, metrics: Metrics) -> None:
        self.settings = settings
        self.store = store
        self.gh = GitHubClient(settings, metrics)
        self.worker = Worker(settings, store, self.gh, metrics)
        self.redeliver = Redeliver(settings, store, self.gh, metrics)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # The evaluation processes import and prime the core now, not while
        # the first pull request waits; a bad private key stops the start.
        await self.worker.warm_up()
        self.gh.app_jwt()
        await self.worker.start()
        _listen(self.store.store, self.worker.notify)
        self._tasks.append(asyncio.create_task(self.redeliver.loop(), name="guardian-redeliver"))

    def notify(self) -> None:
        self.worker.notify()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.worker.stop()
        await self.gh.aclose()


def _listen(store: Store, notify: Callable[[], None]) -> None:
    """Wake the workers when any instance queues or ends a job (a store
    that can tell: PostgreSQL's LISTEN/NOTIFY)."""
    listen = getattr(store, "listen", None)
    if not callable(listen):
        return
    loop = asyncio.get_running_loop()

    def wake() -> None:
        loop.call_soon_threadsafe(notify)

    listen(wake)


# -- the crew's process ---------------------------------------------------------------


def _crew_process(
    settings: Settings, make_store: Callable[[Settings], Store], wake: Connection, control: Connection
) -> None:
    """The crew's process (spawned by ``WorkerProcess``)."""
    # Ctrl-C in a terminal reaches the whole process group; the webhook's
    # process decides when this one stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(NICE)
    for value in settings.secrets():
        logs.SCRUBBER.add(value)
    logs.configure(settings.log_level)
    try:
        asyncio.run(_run_crew(settings, make_store, wake, control))
    except Exception as exc:  # noqa: BLE001 - said to the webhook's process, which logs it
        with contextlib.suppress(OSError):
            control.send(("failed", logs.SCRUBBER.scrub(f"{type(exc).__name__}: {exc}")))
        raise SystemExit(1) from None


async def _run_crew(
    settings: Settings, make_store: Callable[[Settings], Store], wake: Connection, control: Connection
) -> None:
    metrics = Metrics()
    store = AsyncStore(await asyncio.to_thread(make_store, settings), observe=metrics.store_seconds.observe)
    crew = Crew(settings, store, metrics)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    try:
        await crew.start()
        loop.add_reader(wake.fileno(), _woken, wake, crew, loop)
        control.send(("ready",))
        # From here on only the control thread sends on ``control``.
        threading.Thread(
            target=_serve_control, args=(control, metrics, loop, stop), name="guardian-control", daemon=True
        ).start()
        await stop.wait()
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(wake.fileno())
        await crew.stop()
        await store.close()


def _woken(wake: Connection, crew: Crew, loop: asyncio.AbstractEventLoop) -> None:
    try:
        data = os.read(wake.fileno(), 4096)
    except BlockingIOError:
        return
    if not data:  # the webhook's process closed its end: the control pipe says the rest
        loop.remove_reader(wake.fileno())
        return
    crew.notify()


def _serve_control(control: Connection, metrics: Metrics, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Answer the webhook's process until it says stop or goes away."""
    while True:
        try:
            message = control.recv()
        except (EOFError, OSError):
            break
        if isinstance(message, tuple) and message[:1] == ("metrics",):
            with contextlib.suppress(OSError):
                control.send(("metrics", message[1], metrics.state()))
        elif message == ("stop",):
            break
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(stop.set)
    # A stop that does not finish in time (a stuck call) ends the process anyway.
    time.sleep(STOP_TIMEOUT)
    os._exit(1)


# -- the webhook's side -----------------------------------------------------------------


class CrewFailed(Exception):
    """The crew's process could not start; the message says why."""


class WorkerProcess:
    """The crew in a process of its own, started, watched and stopped from
    the webhook's event loop."""

    def __init__(self, settings: Settings, make_store: Callable[[Settings], Store]) -> None:
        self.settings = settings
        self.make_store = make_store
        self.process: multiprocessing.process.BaseProcess | None = None
        self._control: Connection | None = None
        self._wake: Connection | None = None
        self._asks = itertools.count(1)
        self._ask_lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.is_alive()

    async def start(self) -> None:
        """Start the crew's process; raise ``CrewFailed`` if it does not come up."""
        await self._spawn()
        self._watch = asyncio.create_task(self._watch_over(), name="guardian-crew-watch")

    async def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        wake_out, wake_in = context.Pipe(duplex=False)
        control, their_control = context.Pipe()
        process = context.Process(
            target=_crew_process,
            args=(self.settings, self.make_store, wake_out, their_control),
            name="guardian-workers",
        )
        await asyncio.to_thread(process.start)
        wake_out.close()
        their_control.close()
        os.set_blocking(wake_in.fileno(), False)
        try:
            answer = await asyncio.to_thread(_first_answer, control, process)
            if answer != ("ready",):
                reason = answer[1] if isinstance(answer, tuple) and len(answer) > 1 else "no answer"
                raise CrewFailed(f"the workers' process did not start: {reason}")
        except BaseException:
            _end(process)
            wake_in.close()
            control.close()
            raise
        self._close_pipes()
        self.process, self._control, self._wake = process, control, wake_in

    def notify(self) -> None:
        """Wake the crew: a delivery was recorded. Never blocks."""
        wake = self._wake
        if wake is not None:
            with contextlib.suppress(OSError):  # full (wake-ups pending), or the process is being replaced
                os.write(wake.fileno(), b"\0")

    async def metrics_state(self) -> Mapping[str, object] | None:
        """The crew's counts, or None when its process does not answer in time."""
        control = self._control
        if control is None or not self.running:
            return None
        async with self._ask_lock:
            return await asyncio.to_thread(self._ask_metrics, control, next(self._asks))

    @staticmethod
    def _ask_metrics(control: Connection, ask: int) -> Mapping[str, object] | None:
        try:
            control.send(("metrics", ask))
            deadline = time.monotonic() + METRICS_TIMEOUT
            while control.poll(max(0.0, deadline - time.monotonic())):
                answer = control.recv()
                # A late answer to an earlier question is dropped.
                if isinstance(answer, tuple) and answer[:2] == ("metrics", ask):
                    state: Mapping[str, object] = answer[2]
                    return state
        except (EOFError, OSError):
            pass
        return None

    async def _watch_over(self) -> None:
        """Start the crew again whenever its process dies, pausing longer
        after each failure (the count starts afresh after a good run)."""
        failures = 0
        while True:
            started = time.monotonic()
            assert self.process is not None
            await _exited(self.process)
            if time.monotonic() - started > MAX_RESTART_DELAY:
                failures = 0
            how = f"exit code {self.process.exitcode}"
            while True:
                failures += 1
                delay = min(MAX_RESTART_DELAY, 2.0 ** (failures - 1))
                log.error("the workers' process ended (%s); starting another in %.0f s", how, delay)
                await asyncio.sleep(delay)
                try:
                    await self._spawn()
                    break
                except CrewFailed as exc:
                    how = str(exc)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        process, control = self.process, self._control
        if control is not None:
            with contextlib.suppress(OSError):
                control.send(("stop",))
        if process is not None:
            await asyncio.to_thread(process.join, STOP_TIMEOUT)
            _end(process)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self._control, self._wake):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._control = self._wake = None


def _first_answer(control: Connection, process: multiprocessing.process.BaseProcess) -> object:
    """The crew process's first message (ready, or why it failed), or
    ("failed", why) when it dies or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if control.poll(0.1):
            try:
                return control.recv()
            except EOFError:
                break
        if not process.is_alive():
            break
    if process.is_alive():
        return ("failed", f"no answer within {START_TIMEOUT:g} s")
    return ("failed", f"it exited with code {process.exitcode}")


async def _exited(process: multiprocessing.process.BaseProcess) -> None:
    """Until ``process`` has exited (its sentinel becomes readable)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def exited() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(process.sentinel, exited)
    try:
        await done
    finally:
        loop.remove_reader(process.sentinel)
    await asyncio.to_thread(process.join, 1.0)


def _end(process: multiprocessing.process.BaseProcess) -> None:
    """Make sure ``process`` is gone (killed if it still runs)."""
    if process.is_alive():
        process.kill()
    process.join(5)
