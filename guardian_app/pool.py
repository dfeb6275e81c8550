"""Evaluations run in worker processes, under a deadline that really stops them.

A pull request can hold input that makes the engine slow (huge files with a
finding on every line, a pathological pattern). Run in a thread, such an
evaluation cannot be stopped: Python threads cannot be killed, a C-level
loop keeps the GIL so ``/healthz`` stops answering, shutdown waits for the
thread, and after a restart the job runs again. So the engine runs in a small
pool of long-lived processes instead:

- each process takes one evaluation at a time over its own socket pair
  (an 8-byte length, then a pickle: the snapshot in, the engine's ``Result``
  out);
- the parent gives each evaluation ``timeout`` seconds; past that it sends
  SIGKILL, reports ``EvaluationTimeout`` and starts a fresh process in the
  background. Each process also arms an alarm a little later than the
  parent's deadline, so one whose parent died does not run on for ever;
- processes come from a ``forkserver`` (never a fork of the threaded
  server) that has imported the core already, and each one primes the
  rules (``warm_up``) before it says it is ready, so neither the first
  evaluation nor a replacement pays for imports.

What a process gets is everything the engine will read: the changed and tree
entries, the blobs fetched beforehand and the policy as the bytes of its
file (rebuilt and cached in the process, so nothing about the parent's
objects has to pickle). A process holds no credentials and makes no network
request: a blob nobody fetched beforehand is reported as not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import pickle
import signal
import socket
import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    import multiprocessing.context

    from guardian.accept import Baseline
    from guardian.config import Policy
    from guardian.model import FileEntry, Result

#: What the process imports before it is forked: the core, so forking a
#: replacement costs milliseconds.
PRELOAD = ["guardian_app.pool", "guardian.engine", "guardian.config", "guardian.rules", "guardian_app.snapshot"]
#: How long a new process may take to import and warm up.
START_TIMEOUT = 60.0
_HEADER = struct.Struct("!Q")
_READY = b"ready"
#: Parsed policies a process keeps (by the blob id of their file).
_POLICY_CACHE = 32


class EvaluationTimeout(Exception):
    """The evaluation ran past its deadline; its process was killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the evaluation ran longer than {seconds:g} s and was stopped")
        self.seconds = seconds


class EvaluationCrashed(Exception):
    """The evaluation's process died, or answered with an error."""


@dataclasses.dataclass(frozen=True)
class PolicySource:
    """A policy as the process rebuilds it: ``data`` of the file ``name``
    (None: the shipped default), cached under ``key``."""

    key: str
    name: str
    data: bytes | None
    #: The App's own bound on the bytes a content rule reads.
    max_content_size: int


@dataclasses.dataclass
class Task:
    policy: PolicySource
    files: list[FileEntry]
    tree: list[FileEntry]
    #: Blob id -> bytes (None: GitHub did not serve it).
    blobs: dict[str, bytes | None]
    label: str
    #: The base's tree (its ``.gitignore`` blobs in ``blobs`` when a rule
    #: needs them): the change is judged against it, and repository findings
    #: that stood there already do not block it (``Result.standing``).
    base_tree: list[FileEntry] | None = None
    #: The base branch's baseline, parsed.
    baseline: Baseline | None = None
    #: Seconds after which the process ends itself (the parent's deadline plus a margin).
    backstop: float = 0.0


@dataclasses.dataclass
class Reply:
    result: Result | None = None
    #: Entries the engine asked for that were not in ``blobs``.
    unforeseen: int = 0
    error: str = ""


# -- the worker process ---------------------------------------------------------------


def _recv(sock: socket.socket) -> bytes:
    header = _recv_exactly(sock, _HEADER.size)
    return _recv_exactly(sock, _HEADER.unpack(header)[0])


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:])
        if count == 0:
            raise EOFError
        got += count
    return bytes(buffer)


def _send(sock: socket.socket, data: bytes) -> None:
    sock.sendall(_HEADER.pack(len(data)))
    sock.sendall(data)


def _policy(source: PolicySource, cache: dict[str, Policy]) -> Policy:
    from guardian.config import build_policy, load_policy_bytes

    policy = cache.pop(source.key, None)
    if policy is None:
        if source.data is None:
            policy = build_policy({}, "<no project configuration>")
        else:
            policy = load_policy_bytes(source.data, source.name)
    cache[source.key] = policy  # most recently used last
    while len(cache) > _POLICY_CACHE:
        del cache[next(iter(cache))]
    policy.max_content_size = min(policy.max_content_size, source.max_content_size)
    return policy


def _evaluate(task: Task, cache: dict[str, Policy]) -> Reply:
    from guardian import engine
    from guardian_app.snapshot import GitHubSnapshot

    snapshot = GitHubSnapshot(task.files, task.tree, label=task.label, blobs=task.blobs)
    before: GitHubSnapshot | None = None
    if task.base_tree is not None:
        before = GitHubSnapshot([], task.base_tree, label="base", blobs=task.blobs)
    result = engine.run(
        snapshot,
        _policy(task.policy, cache),
        baseline=task.baseline,
        base=None if before is None else lambda: before,
    )
    return Reply(result=result, unforeseen=snapshot.unforeseen + (before.unforeseen if before else 0))


def serve(sock: socket.socket) -> None:
    """The worker process: warm up, say so, then one evaluation per message
    until the parent closes the socket."""
    # Ctrl-C reaches the whole process group; the parent decides when its
    # workers stop. An alarm with its default action ends the process even
    # while a C loop holds the GIL.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    warm_up()
    policies: dict[str, Policy] = {}
    _send(sock, _READY)
    while True:
        try:
            task = pickle.loads(_recv(sock))
        except (EOFError, OSError):
            return
        if task.backstop > 0:
            signal.setitimer(signal.ITIMER_REAL, task.backstop)
        try:
            reply = _evaluate(task, policies)
        except Exception as exc:  # noqa: BLE001 - the parent reports it; this process serves the next one
            reply = Reply(error=f"{type(exc).__name__}: {exc}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        del task
        try:
            _send(sock, pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return


#: Files that make every shipped rule load what it loads lazily (parsers,
#: pattern tables). They hold, on purpose, what the rules look for.
_WARM_UP_FILES = {
    ".gitignore": b"*.bak\n!keep.bak\n",
    "pkg/mod.py": b'import optimization_engine.core\nPATH = "C:\\\\data"\n',  # guardian: ignore[windows-path]
    "pkg/broken.py": b"print 'optimization_engine'\n",
    "conf/app.toml": b'entry = "optimization_engine.cli:main"\n',
    "conf/app.json": b'{"module": "optimization_engine.core"}\n',
    "conf/app.yaml": b"module: optimization_engine.core\n",
    "conf/setup.cfg": b"[options.entry_points]\nx = optimization_engine.cli:main\n",
    "tools/run.bat": b"copy C:\\data D:\\data\r\n",  # guardian: ignore[windows-path]
    "notes.txt": b"see \\\\server\\share\n",  # guardian: ignore[windows-path]
}


def warm_up() -> None:
    """Import and prime the policy core once (each worker process does, before it is ready)."""
    from guardian import engine
    from guardian.config import build_policy
    from guardian.model import MemorySnapshot

    policy = build_policy({}, "<no project configuration>")
    engine.run(MemorySnapshot(dict(_WARM_UP_FILES)), policy)


# -- the parent's side ----------------------------------------------------------------------


def _start_process() -> tuple[multiprocessing.process.BaseProcess, socket.socket]:
    parent, child = socket.socketpair()
    try:
        process = _context().Process(target=serve, args=(child,), name="guardian-evaluation", daemon=True)
        process.start()
    except BaseException:
        parent.close()
        raise
    finally:
        child.close()  # the process has its own copy now
    return process, parent


def _context() -> multiprocessing.context.ForkServerContext:
    import multiprocessing

    context: multiprocessing.context.ForkServerContext = multiprocessing.get_context("forkserver")
    # Takes effect when the fork server starts (once per process that uses it).
    context.set_forkserver_preload(PRELOAD)
    return context


class _Worker:
    """One process and the parent's end of its socket pair."""

    def __init__(
        self, process: multiprocessing.process.BaseProcess, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.process = process
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(_HEADER.pack(len(data)))
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self) -> bytes:
        header = await self.reader.readexactly(_HEADER.size)
        return await self.reader.readexactly(_HEADER.unpack(header)[0])

    def alive(self) -> bool:
        return self.process.is_alive() and not self.writer.is_closing()

    def kill(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self.process.kill()
        self.writer.close()

    async def reap(self, timeout: float = 5.0) -> None:
        await asyncio.to_thread(self.process.join, timeout)
        if self.process.exitcode is not None:
            self.process.close()


class EvaluationPool:
    """``size`` worker processes; ``run`` gives each evaluation ``timeout`` seconds.

    A process is started when it is first needed (``start`` starts them all
    up front) and replaced, in the background, when it is killed or dies.
    """

    def __init__(self, size: int, timeout: float) -> None:
        self.size = size
        self.timeout = timeout
        self._slots: list[_Worker | None] = [None] * size
        self._free: asyncio.Queue[int] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._closing = False
        #: Processes started so far (replacements included).
        self.started = 0

    def _queue(self) -> asyncio.Queue[int]:
        if self._free is None:
            self._free = asyncio.Queue()
            for index in range(self.size):
                self._free.put_nowait(index)
        return self._free

    async def start(self) -> None:
        """Start every process and wait until each is warm."""
        free = self._queue()
        taken = [await free.get() for _ in range(self.size)]
        try:
            await asyncio.gather(*(self._fill(index) for index in taken))
        finally:
            for index in taken:
                free.put_nowait(index)

    async def _fill(self, index: int) -> _Worker:
        worker = self._slots[index]
        if worker is not None and worker.alive():
            return worker
        if worker is not None:
            worker.kill()  # died while idle (its exit is collected when the next process starts)
        self._slots[index] = None
        worker = await self._spawn()
        self._slots[index] = worker
        return worker

    async def _spawn(self) -> _Worker:
        # Started in a thread (the fork server may need starting, and it is
        # asked over a socket); if this task is cancelled meanwhile, the
        # thread still finishes, and the unused socket's closing ends the process.
        process, parent = await asyncio.to_thread(_start_process)
        self.started += 1
        # Room for a large blob or result without pausing the transport at every 64 KiB.
        reader, writer = await asyncio.open_unix_connection(sock=parent, limit=16 * 1024 * 1024)
        worker = _Worker(process, reader, writer)
        hello = b""
        try:
            async with asyncio.timeout(START_TIMEOUT):
                hello = await worker.receive()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if hello != _READY:
                worker.kill()
                await asyncio.shield(worker.reap())
        if hello != _READY:
            raise EvaluationCrashed(f"an evaluation process did not start within {START_TIMEOUT:g} s")
        return worker

    async def run(self, task: Task) -> Reply:
        """The engine's reply for ``task``. Raises ``EvaluationTimeout`` past
        the deadline, ``EvaluationCrashed`` if the process died or failed.
        Waiting for a free process does not count against the deadline."""
        if self._closing:
            raise EvaluationCrashed("the evaluation pool is closed")
        free = self._queue()
        index = await free.get()
        replace = False
        try:
            worker = await self._fill(index)
            task.backstop = self.timeout + max(5.0, self.timeout / 2)
            # Pickling (blobs in, findings out) is off the event loop, which keeps answering meanwhile.
            payload = await asyncio.to_thread(pickle.dumps, task, pickle.HIGHEST_PROTOCOL)
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                async with asyncio.timeout(self.timeout):
                    await worker.send(payload)
                    del payload
                    answer = await worker.receive()
            except TimeoutError:
                replace = True
                raise EvaluationTimeout(self.timeout) from None
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                replace = True
                if loop.time() - started >= self.timeout:
                    raise EvaluationTimeout(self.timeout) from None  # it ended itself at its backstop
                raise EvaluationCrashed(f"the evaluation process died ({type(exc).__name__})") from None
            except BaseException:
                replace = True  # cancelled mid-evaluation: nobody will read its answer
                raise
            reply: Reply = await asyncio.to_thread(pickle.loads, answer)
        finally:
            if replace:
                self._retire(index)
            else:
                free.put_nowait(index)
        if reply.error:
            raise EvaluationCrashed(f"the evaluation failed: {reply.error}")
        return reply

    def _retire(self, index: int) -> None:
        """Kill the slot's process; a fresh one takes the slot, which is
        free again once it is ready (or, if it fails to start, empty)."""
        worker, self._slots[index] = self._slots[index], None
        if worker is not None:
            worker.kill()

        async def replace() -> None:
            try:
                if worker is not None:
                    await worker.reap()
                if not self._closing:
                    with contextlib.suppress(Exception):
                        await self._fill(index)
            finally:
                self._queue().put_nowait(index)

        task = asyncio.create_task(replace(), name="guardian-evaluation-replace")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def pids(self) -> list[int]:
        """Process ids of the live worker processes (for operators and tests)."""
        return [w.process.pid for w in self._slots if w is not None and w.process.pid is not None and w.alive()]

    async def close(self) -> None:
        """Stop every process: idle ones are asked to end (their socket
        closes), busy or stuck ones are killed."""
        self._closing = True
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        workers = [w for w in self._slots if w is not None]
        self._slots = [None] * self.size
        for worker in workers:
            worker.writer.close()
        for worker in workers:
            await asyncio.to_thread(worker.process.join, 2.0)
            worker.kill()
            await worker.reap()
