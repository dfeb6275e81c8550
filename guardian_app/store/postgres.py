"""A store shared by several App instances: PostgreSQL (``GUARDIAN_DATABASE_URL``).

The semantics are those of ``guardian_app.store``, kept across processes
and machines; this module says how PostgreSQL holds them.

- Tables live in the schema ``guardian``; ``migrate`` brings it to
  ``SCHEMA_VERSION`` at start-up under an advisory lock, so instances
  started together migrate once, one after another.
- ``record_many``: the deliveries that arrived together (the App's intake
  hands over every delivery waiting when it gets to them) are one round
  trip and one commit, the server function ``guardian.record_deliveries``;
  ``record`` is a batch of one. Each head a delivery names is locked for
  the transaction (an advisory lock, every head of the batch taken in one
  fixed order), so two deliveries for one head join or queue one after
  another exactly as they would on SQLite; delivery ids are then inserted
  in sorted order with ``ON CONFLICT DO NOTHING`` (a second instance given
  the same id waits for the first's transaction, then sees a duplicate).
  Whatever creates a waiting job (record, retry, recover, a lease taken
  back) takes the head's lock; the partial unique index over waiting jobs
  holds it.
- ``claim``: a waiting job is picked with ``FOR UPDATE SKIP LOCKED`` (two
  claimers never wait for one another) and taken only with an advisory
  lock on its head and on its pull request held, after checking with those
  locks that no job for either runs: two instances never run one pull
  request or one head at once.
- Leases: a claimed job carries its holder (this instance) and an expiry
  on the database's clock. A thread of the store renews the leases of the
  jobs it holds every third of ``lease_seconds`` and writes the instance's
  heartbeat. ``housekeeping`` (every instance, every few seconds) takes
  back jobs whose lease ran out: their instance died. A holder that lost
  its lease is ignored when it reports (the job is another's now).
- ``recover`` at start-up takes back this store's own jobs and the expired ones.
- LISTEN/NOTIFY: a delivery recorded or a job ended on one instance wakes
  the idle workers of every instance (``listen``).
- ``try_singleton``: a session advisory lock on a connection of its own,
  held while one instance runs the reconcile or the redelivery round; it
  goes with the connection if the instance dies.

Every call takes a connection from a small pool (``threads`` calls may run
at once) and is one transaction; a connection the server dropped is
replaced and the call run again once. Errors never carry the database URL's
password (``guardian_app.settings.redact_url``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
import psycopg.errors
from psycopg.types.json import Jsonb

from guardian_app import logs
from guardian_app.settings import redact_url, url_password
from guardian_app.store import RETENTION_SECONDS, Job, Recorded

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from guardian_app.store import Delivery, JobSpec

log = logs.get("store")

#: Advisory lock namespaces (the first key of the two-key form).
_NS_MIGRATE = 7301
_NS_RECORD = 7302  # also written out in migration 2 (record_deliveries)
_NS_HEAD = 7303
_NS_PR = 7304
_NS_SINGLETON = 7305
#: The channel idle workers listen on.
CHANNEL = "guardian_jobs"
#: How often a running process drops what is past retention.
PRUNE_INTERVAL = 3600.0
#: Instances not heard from for this long are dropped from the table.
INSTANCE_RETENTION = 24 * 3600.0
_DB_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::double precision"

#: Versioned migrations: version -> statements. Never edit one that shipped; add the next.
MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE guardian.deliveries (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    received DOUBLE PRECISION NOT NULL
);
CREATE INDEX deliveries_by_received ON guardian.deliveries (received);
CREATE TABLE guardian.jobs (
    id BIGSERIAL PRIMARY KEY,
    repo TEXT NOT NULL,
    installation BIGINT NOT NULL,
    head_sha TEXT NOT NULL,
    pr BIGINT,
    base_sha TEXT,
    base_ref TEXT,
    changed_files INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    delivery TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'done', 'skipped', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before DOUBLE PRECISION NOT NULL DEFAULT 0,
    check_run_id BIGINT,
    batches_sent INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    check_name TEXT,
    conclusion TEXT,
    holder TEXT,
    lease_until DOUBLE PRECISION,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
CREATE INDEX jobs_waiting ON guardian.jobs (not_before, id) WHERE state = 'queued';
CREATE INDEX jobs_running ON guardian.jobs (repo, head_sha) WHERE state = 'running';
CREATE INDEX jobs_by_head ON guardian.jobs (repo, head_sha);
CREATE INDEX jobs_finished ON guardian.jobs (updated) WHERE state IN ('done', 'skipped', 'failed');
CREATE UNIQUE INDEX jobs_one_waiting_per_pr_head
    ON guardian.jobs (repo, head_sha, COALESCE(pr, 0)) WHERE state = 'queued';
CREATE TABLE guardian.installations (
    id BIGINT PRIMARY KEY,
    account TEXT NOT NULL DEFAULT '',
    updated DOUBLE PRECISION NOT NULL
);
CREATE TABLE guardian.installation_repos (
    installation BIGINT NOT NULL,
    repo TEXT NOT NULL,
    PRIMARY KEY (installation, repo)
);
CREATE TABLE guardian.comments (
    repo TEXT NOT NULL,
    pr BIGINT NOT NULL,
    comment_id BIGINT NOT NULL,
    body_hash TEXT NOT NULL,
    PRIMARY KEY (repo, pr)
);
CREATE TABLE guardian.instances (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started DOUBLE PRECISION NOT NULL,
    seen DOUBLE PRECISION NOT NULL
);
CREATE TABLE guardian.singletons (
    name TEXT PRIMARY KEY,
    last_run DOUBLE PRECISION NOT NULL,
    holder TEXT NOT NULL
);
""",
    # Deliveries recorded in one round trip and one commit, however many
    # arrive together (``PostgresStore.record_many``), with the rules of
    # ``SqliteStore.record``. Locks are taken in one order by every caller:
    # first each head the batch names (by key), then the delivery ids
    # (sorted), so two instances recording batches cannot deadlock. The
    # answer holds, per delivery in order, null (a duplicate) or
    # [queued, coalesced].
    2: """
CREATE FUNCTION guardian.record_deliveries(p_batch JSONB, p_now DOUBLE PRECISION, p_channel TEXT)
RETURNS JSONB LANGUAGE plpgsql AS $fn$
DECLARE
    item JSONB;
    spec JSONB;
    key INTEGER;
    waiting BIGINT;
    fresh TEXT[];
    taken TEXT[] := '{}';
    queued INTEGER;
    coalesced INTEGER;
    any_queued BOOLEAN := FALSE;
    answer JSONB := '[]'::JSONB;
BEGIN
    FOR key IN SELECT DISTINCT (s ->> 'lock')::INTEGER AS k
               FROM jsonb_array_elements(p_batch) AS d, jsonb_array_elements(d -> 'specs') AS s ORDER BY k LOOP
        PERFORM pg_advisory_xact_lock(7302, key);
    END LOOP;
    -- A second instance given the same id waits here for the first's
    -- transaction, then finds it recorded: a duplicate.
    WITH inserted AS (
        INSERT INTO guardian.deliveries (id, event, received)
            SELECT d ->> 'delivery', d ->> 'event', p_now FROM jsonb_array_elements(p_batch) AS d
            ORDER BY d ->> 'delivery'
            ON CONFLICT (id) DO NOTHING RETURNING id
    ) SELECT COALESCE(array_agg(id), '{}') INTO fresh FROM inserted;
    FOR item IN SELECT value FROM jsonb_array_elements(p_batch) LOOP
        IF NOT (item ->> 'delivery') = ANY(fresh) OR (item ->> 'delivery') = ANY(taken) THEN
            answer := answer || 'null'::JSONB;
            CONTINUE;
        END IF;
        taken := taken || (item ->> 'delivery');
        queued := 0;
        coalesced := 0;
        FOR spec IN SELECT value FROM jsonb_array_elements(item -> 'specs') LOOP
            -- Fill the request into a job waiting for it: this pull request's
            -- own waiting job first, else one that does not know its pull request yet.
            SELECT id INTO waiting FROM guardian.jobs
                WHERE repo = spec ->> 'repo' AND head_sha = spec ->> 'head_sha' AND state = 'queued'
                  AND (spec -> 'pr' = 'null'::JSONB OR pr = (spec ->> 'pr')::BIGINT OR pr IS NULL)
                ORDER BY CASE WHEN spec -> 'pr' = 'null'::JSONB THEN FALSE ELSE pr IS NULL END, id
                LIMIT 1 FOR UPDATE;
            IF waiting IS NOT NULL THEN
                UPDATE guardian.jobs SET pr = COALESCE((spec ->> 'pr')::BIGINT, pr),
                    base_sha = COALESCE(spec ->> 'base_sha', base_sha),
                    base_ref = COALESCE(spec ->> 'base_ref', base_ref),
                    changed_files = COALESCE((spec ->> 'changed_files')::INTEGER, changed_files),
                    installation = (spec ->> 'installation')::BIGINT, updated = p_now
                    WHERE id = waiting;
                coalesced := coalesced + 1;
            ELSIF (spec ->> 'only_if_new')::BOOLEAN AND EXISTS (
                -- Evaluated (for this pull request, when known), or being evaluated for one.
                SELECT 1 FROM guardian.jobs
                    WHERE repo = spec ->> 'repo' AND head_sha = spec ->> 'head_sha' AND CASE
                        WHEN spec -> 'pr' = 'null'::JSONB THEN state = 'done' OR (state = 'running' AND pr IS NOT NULL)
                        ELSE (pr = (spec ->> 'pr')::BIGINT OR (pr IS NULL AND state = 'done'))
                             AND state IN ('done', 'running')
                    END
            ) THEN
                coalesced := coalesced + 1;
            ELSE
                INSERT INTO guardian.jobs (repo, installation, head_sha, pr, base_sha, base_ref, changed_files,
                                           reason, delivery, state, created, updated)
                    VALUES (spec ->> 'repo', (spec ->> 'installation')::BIGINT, spec ->> 'head_sha',
                            (spec ->> 'pr')::BIGINT, spec ->> 'base_sha', spec ->> 'base_ref',
                            (spec ->> 'changed_files')::INTEGER, spec ->> 'reason', item ->> 'delivery',
                            'queued', p_now, p_now);
                queued := queued + 1;
            END IF;
        END LOOP;
        any_queued := any_queued OR queued > 0;
        answer := answer || jsonb_build_array(jsonb_build_array(queued, coalesced));
    END LOOP;
    IF any_queued THEN
        PERFORM pg_notify(p_channel, '');
    END IF;
    RETURN answer;
END
$fn$;
""",
}
SCHEMA_VERSION = max(MIGRATIONS)

_JOB_COLUMNS = (
    "repo, installation, head_sha, pr, base_sha, base_ref, changed_files, reason, id, attempts, delivery, check_run_id,"
    " batches_sent"
)
_JOB_NAMES = tuple(name.strip() for name in _JOB_COLUMNS.split(","))


class StoreError(Exception):
    """The database refused or could not be reached; the message holds no password."""


def lock_key(*parts: object) -> int:
    """A signed 32-bit key for ``pg_advisory_*lock(namespace, key)``."""
    digest = hashlib.blake2b("\0".join(map(str, parts)).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


_P = ParamSpec("_P")
_R = TypeVar("_R")
_ATTEMPTS = 3


def _with_connection(
    method: Callable[Concatenate[PostgresStore, psycopg.Connection[Any], _P], _R],
) -> Callable[Concatenate[PostgresStore, _P], _R]:
    """Run ``method(self, conn, ...)`` on a pooled connection: again on a
    fresh connection when the server dropped it, again on a deadlock or a
    serialisation failure (each call is one transaction, so a failed one
    changed nothing). Errors leave without the URL's password."""

    @functools.wraps(method)
    def wrapped(self: PostgresStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        for attempt in range(_ATTEMPTS):
            try:
                conn = self._pool.get()
            except psycopg.Error as exc:
                raise StoreError(self._scrub(f"cannot reach the database: {exc}")) from None
            broken = False
            try:
                return method(self, conn, *args, **kwargs)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == _ATTEMPTS - 1:
                    raise
                time.sleep(0.002 * (1 << attempt))
            except psycopg.OperationalError as exc:
                broken = conn.broken or conn.closed
                if not broken or attempt == _ATTEMPTS - 1:
                    raise StoreError(self._scrub(f"{type(exc).__name__}: {exc}")) from None
            finally:
                self._pool.put(conn, broken=broken)
        raise AssertionError("unreachable")

    return wrapped


class _Pool:
    """Up to ``size`` autocommit connections, made when first needed."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._all: set[psycopg.Connection[Any]] = set()
        self._lock = threading.Lock()
        self.closed = False

    def connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10, application_name="guardian-app")
        # A stuck statement must not hold a worker (or an acknowledgement) for ever.
        conn.execute("SET statement_timeout = '60s'")
        return conn

    def get(self) -> psycopg.Connection[Any]:
        if self.closed:
            raise psycopg.OperationalError("the store is closed")
        self._slots.acquire()
        try:
            while True:
                try:
                    conn = self._idle.get_nowait()
                except queue.Empty:
                    conn = self.connect()
                    with self._lock:
                        self._all.add(conn)
                    return conn
                if not (conn.closed or conn.broken):
                    return conn
                self._forget(conn)
        except BaseException:
            self._slots.release()
            raise

    def put(self, conn: psycopg.Connection[Any], *, broken: bool = False) -> None:
        if broken or self.closed or conn.closed or conn.broken:
            self._forget(conn)
        else:
            self._idle.put(conn)
        self._slots.release()

    def _forget(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            self._all.discard(conn)
        with contextlib.suppress(psycopg.Error):
            conn.close()

    def close(self) -> None:
        self.closed = True
        with self._lock:
            conns = list(self._all)
            self._all.clear()
        for conn in conns:
            with contextlib.suppress(psycopg.Error):
                conn.close()


class PostgresStore:
    """``guardian_app.store.Store`` in a PostgreSQL database several instances share."""

    #: Calls ``AsyncStore`` may run at once (each on its own connection).
    threads = 4

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = 30.0,
        pool_size: int | None = None,
        heartbeat: bool = True,
    ) -> None:
        """``heartbeat=False``: a store that claims no job and is no instance
        of its own (the webhook process beside its workers' process, which
        holds the leases and writes the heartbeat)."""
        self.url = url
        self.shown = redact_url(url)
        self._password = url_password(url)
        self._clock = clock
        self.lease_seconds = float(lease_seconds)
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pool = _Pool(url, pool_size or self.threads + 2)
        #: Jobs this instance claimed and has not finished: their leases are renewed.
        self._held: set[int] = set()
        self._held_lock = threading.Lock()
        self._pruned = 0.0
        self._stop = threading.Event()
        self._singletons: dict[str, psycopg.Connection[Any]] = {}
        self._threads: list[threading.Thread] = []
        self.migrate()
        if heartbeat:
            self._heartbeat_once()
        self.prune()
        self._warm_up()
        if heartbeat:
            self._start_thread(self._heartbeat_loop, "guardian-store-heartbeat")

    #: Connections opened at start-up, each with the record function loaded.
    _WARM = 2

    def _warm_up(self) -> None:
        """Open a few connections and load the record function on each, so the
        first deliveries wait for neither a connection (its authentication)
        nor the function's compilation."""
        conns = [self._pool.get() for _ in range(self._WARM)]
        try:
            for conn in conns:
                conn.execute("SELECT guardian.record_deliveries('[]'::JSONB, 0, %s)", (CHANNEL,))
        finally:
            for conn in conns:
                self._pool.put(conn)

    def _scrub(self, text: str) -> str:
        text = text.replace(self.url, self.shown)
        return text.replace(self._password, "***") if self._password else text

    def _now(self) -> float:
        return float(self._clock())

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- schema -------------------------------------------------------------------------

    @_with_connection
    def migrate(self, conn: psycopg.Connection[Any]) -> int:
        """Apply the migrations this database lacks, one instance at a time; the version now."""
        conn.execute("SELECT pg_advisory_lock(%s, 0)", (_NS_MIGRATE,))
        try:
            conn.execute("CREATE SCHEMA IF NOT EXISTS guardian")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS guardian.schema_version"
                " (version INTEGER PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)"
            )
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM guardian.schema_version").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the database's schema is version {current}, newer than this App's {SCHEMA_VERSION}:"
                    " run the newer App (a rolling deploy goes forward, not back)"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                with conn.transaction():
                    conn.execute(MIGRATIONS[version])
                    conn.execute(
                        f"INSERT INTO guardian.schema_version (version, applied) VALUES (%s, {_DB_NOW})", (version,)
                    )
                log.info("database schema migrated to version %d", version)
            return SCHEMA_VERSION
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, 0)", (_NS_MIGRATE,))

    # -- the queue ----------------------------------------------------------------------

    def _lock_heads(self, conn: psycopg.Connection[Any], heads: Sequence[tuple[str, str]]) -> None:
        """The transaction's locks on these heads, in one order for every caller (no deadlock)."""
        for key in sorted({lock_key(repo, sha) for repo, sha in heads}):
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_NS_RECORD, key))

    def _notify(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"NOTIFY {CHANNEL}")

    def record(self, delivery: str, event: str, specs: Sequence[JobSpec]) -> Recorded:
        return self.record_many([(delivery, event, specs)])[0]

    @_with_connection
    def record_many(self, conn: psycopg.Connection[Any], batch: Sequence[Delivery]) -> list[Recorded]:
        """Deliveries that arrived together, in one round trip and one commit
        (``guardian.record_deliveries``, migration 2): each recorded as
        ``record`` would, in order, so a later one's base wins."""
        items = [
            {
                "delivery": delivery,
                "event": event,
                "specs": [{**dataclasses.asdict(spec), "lock": lock_key(spec.repo, spec.head_sha)} for spec in specs],
            }
            for delivery, event, specs in batch
        ]
        row = conn.execute(
            "SELECT guardian.record_deliveries(%s, %s, %s)", (Jsonb(items), self._now(), CHANNEL)
        ).fetchone()
        answers = row[0] if row else None
        if not isinstance(answers, list) or len(answers) != len(batch):
            raise StoreError(f"guardian.record_deliveries answered {answers!r} for {len(batch)} deliveries")
        return [
            Recorded(duplicate=True) if counts is None else Recorded(queued=int(counts[0]), coalesced=int(counts[1]))
            for counts in answers
        ]

    #: Waiting jobs looked at per claim before giving up for now (each one blocked by a concurrent claimer).
    _CANDIDATES = 16

    @_with_connection
    def claim(self, conn: psycopg.Connection[Any]) -> Job | None:
        now = self._now()
        passed: list[int] = []
        with conn.transaction():
            for _ in range(self._CANDIDATES):
                row = conn.execute(
                    "SELECT id, repo, head_sha, pr FROM guardian.jobs AS j WHERE state = 'queued' AND not_before <= %s"
                    " AND NOT (id = ANY(%s))"
                    " AND NOT EXISTS (SELECT 1 FROM guardian.jobs AS r WHERE r.state = 'running' AND r.repo = j.repo"
                    "   AND (r.head_sha = j.head_sha OR (r.pr IS NOT NULL AND r.pr = j.pr)))"
                    " ORDER BY not_before, id LIMIT 1 FOR UPDATE OF j SKIP LOCKED",
                    (now, passed),
                ).fetchone()
                if row is None:
                    return None
                job_id, repo, sha, pr = row
                if not self._try_lock(conn, _NS_HEAD, lock_key(repo, sha)) or (
                    pr is not None and not self._try_lock(conn, _NS_PR, lock_key(repo, pr))
                ):
                    passed.append(job_id)  # another claimer is taking a job of this head or pull request
                    continue
                # With both locks held, a job of this head or pull request that
                # another claimer started meanwhile is committed, and seen here.
                busy = conn.execute(
                    "SELECT 1 FROM guardian.jobs WHERE state = 'running' AND repo = %s"
                    " AND (head_sha = %s OR (pr IS NOT NULL AND pr = %s)) LIMIT 1",
                    (repo, sha, pr),
                ).fetchone()
                if busy is not None:
                    passed.append(job_id)
                    continue
                claimed = conn.execute(
                    f"UPDATE guardian.jobs SET state = 'running', attempts = attempts + 1, updated = %s,"
                    f" holder = %s, lease_until = {_DB_NOW} + %s WHERE id = %s RETURNING {_JOB_COLUMNS}",
                    (now, self.instance, self.lease_seconds, job_id),
                ).fetchone()
                assert claimed is not None
                with self._held_lock:
                    self._held.add(int(job_id))
                return Job(**dict(zip(_JOB_NAMES, claimed, strict=True)))
        return None

    @staticmethod
    def _try_lock(conn: psycopg.Connection[Any], namespace: int, key: int) -> bool:
        row = conn.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (namespace, key)).fetchone()
        return bool(row and row[0])

    def _release(self, *job_ids: int) -> None:
        with self._held_lock:
            self._held.difference_update(job_ids)

    def _mine(self, cur: psycopg.Cursor[Any], job_id: int, what: str) -> None:
        if cur.rowcount == 0:
            log.warning("job %d: %s ignored: this instance no longer holds it (its lease ran out)", job_id, what)

    @_with_connection
    def set_check_run(self, conn: psycopg.Connection[Any], job_id: int, check_run_id: int) -> None:
        cur = conn.execute(
            "UPDATE guardian.jobs SET check_run_id = %s, batches_sent = 0, updated = %s"
            " WHERE id = %s AND state = 'running' AND holder = %s",
            (check_run_id, self._now(), job_id, self.instance),
        )
        self._mine(cur, job_id, "check run")

    @_with_connection
    def set_progress(self, conn: psycopg.Connection[Any], job_id: int, batches_sent: int) -> None:
        cur = conn.execute(
            "UPDATE guardian.jobs SET batches_sent = %s, updated = %s WHERE id = %s AND state = 'running'"
            " AND holder = %s",
            (batches_sent, self._now(), job_id, self.instance),
        )
        self._mine(cur, job_id, "progress")

    @_with_connection
    def set_verdict(
        self, conn: psycopg.Connection[Any], job_id: int, pr: int, check_name: str, conclusion: str
    ) -> None:
        cur = conn.execute(
            "UPDATE guardian.jobs SET pr = COALESCE(pr, %s), check_name = %s, conclusion = %s, updated = %s"
            " WHERE id = %s AND state = 'running' AND holder = %s",
            (pr, check_name, conclusion, self._now(), job_id, self.instance),
        )
        self._mine(cur, job_id, "verdict")

    def _finish(self, conn: psycopg.Connection[Any], job_id: int, state: str, error: str | None) -> None:
        # ``holder`` stays: which instance ran a finished job (for operators).
        with conn.transaction():
            cur = conn.execute(
                "UPDATE guardian.jobs SET state = %s, error = %s, updated = %s, lease_until = NULL"
                " WHERE id = %s AND state = 'running' AND holder = %s",
                (state, error, self._now(), job_id, self.instance),
            )
            self._mine(cur, job_id, state)
            self._notify(conn)  # jobs held back behind this one may go, on any instance
        self._release(job_id)

    @_with_connection
    def done(self, conn: psycopg.Connection[Any], job_id: int, *, evaluated: bool = True) -> None:
        self._finish(conn, job_id, "done" if evaluated else "skipped", None)

    @_with_connection
    def fail(self, conn: psycopg.Connection[Any], job_id: int, error: str) -> None:
        self._finish(conn, job_id, "failed", error)

    @_with_connection
    def retry(self, conn: psycopg.Connection[Any], job_id: int, not_before: float, error: str) -> None:
        row = conn.execute("SELECT repo, head_sha FROM guardian.jobs WHERE id = %s", (job_id,)).fetchone()
        if row is None:
            return
        with conn.transaction():
            self._lock_heads(conn, [(row[0], row[1])])
            mine = conn.execute(
                "SELECT 1 FROM guardian.jobs WHERE id = %s AND state = 'running' AND holder = %s FOR UPDATE",
                (job_id, self.instance),
            ).fetchone()
            if mine is None:
                log.warning("job %d: retry ignored: this instance no longer holds it (its lease ran out)", job_id)
            else:
                self._requeue(conn, job_id, not_before=not_before, error=error)
                self._notify(conn)
        self._release(job_id)

    def _requeue(
        self, conn: psycopg.Connection[Any], job_id: int, *, not_before: float | None, error: str | None
    ) -> None:
        """Back to waiting (its head locked by the caller), absorbing a job waiting for it."""
        self._absorb_waiting(conn, job_id)
        conn.execute(
            "UPDATE guardian.jobs SET state = 'queued', not_before = COALESCE(%s, not_before),"
            " error = COALESCE(%s, error), updated = %s, holder = NULL, lease_until = NULL WHERE id = %s",
            (not_before, error, self._now(), job_id),
        )

    def _absorb_waiting(self, conn: psycopg.Connection[Any], job_id: int) -> None:
        """As ``SqliteStore._absorb_waiting``: the waiting job ``record`` would
        have joined this one to ends; this one takes its pull request details."""
        row = conn.execute("SELECT repo, head_sha, pr FROM guardian.jobs WHERE id = %s", (job_id,)).fetchone()
        assert row is not None
        repo, sha, pr = row
        if pr is None:
            waiting = conn.execute(
                "SELECT id, pr, base_sha, base_ref, changed_files FROM guardian.jobs WHERE repo = %s AND head_sha = %s"
                " AND state = 'queued' AND id != %s ORDER BY pr IS NOT NULL, id LIMIT 1 FOR UPDATE",
                (repo, sha, job_id),
            ).fetchone()
        else:
            waiting = conn.execute(
                "SELECT id, pr, base_sha, base_ref, changed_files FROM guardian.jobs WHERE repo = %s AND head_sha = %s"
                " AND state = 'queued' AND id != %s AND (pr = %s OR pr IS NULL) ORDER BY pr IS NULL, id LIMIT 1"
                " FOR UPDATE",
                (repo, sha, job_id, pr),
            ).fetchone()
        if waiting is None:
            return
        other, pr, base_sha, base_ref, changed = waiting
        conn.execute(
            "UPDATE guardian.jobs SET state = 'done', error = %s, updated = %s WHERE id = %s",
            (f"absorbed into job {job_id}", self._now(), other),
        )
        conn.execute(
            "UPDATE guardian.jobs SET pr = COALESCE(%s, pr), base_sha = COALESCE(%s, base_sha),"
            " base_ref = COALESCE(%s, base_ref), changed_files = COALESCE(%s, changed_files) WHERE id = %s",
            (pr, base_sha, base_ref, changed, job_id),
        )

    @_with_connection
    def cancel_waiting(self, conn: psycopg.Connection[Any], repo: str, head_sha: str, error: str) -> int:
        cur = conn.execute(
            "UPDATE guardian.jobs SET state = 'skipped', error = %s, updated = %s WHERE repo = %s AND head_sha = %s"
            " AND state = 'queued' AND pr IS NULL AND check_run_id IS NULL",
            (error, self._now(), repo, head_sha),
        )
        return cur.rowcount

    def _take_back(self, conn: psycopg.Connection[Any], *, own: bool) -> list[int]:
        """Running jobs whose lease ran out (and, with ``own``, this store's) go back to the queue."""
        with conn.transaction():
            rows = conn.execute(
                "SELECT id, repo, head_sha FROM guardian.jobs WHERE state = 'running'"
                f" AND (lease_until IS NULL OR lease_until < {_DB_NOW} OR (%s AND holder = %s))"
                " ORDER BY id FOR UPDATE SKIP LOCKED",
                (own, self.instance),
            ).fetchall()
            if not rows:
                return []
            self._lock_heads(conn, [(repo, sha) for _id, repo, sha in rows])
            for job_id, _repo, _sha in rows:
                self._requeue(conn, job_id, not_before=None, error=None)
            self._notify(conn)
        ids = [int(r[0]) for r in rows]
        self._release(*ids)
        return ids

    @_with_connection
    def recover(self, conn: psycopg.Connection[Any]) -> int:
        """Jobs this store claimed and never finished, and jobs whose instance
        stopped renewing their lease, go back to the queue; how many."""
        return len(self._take_back(conn, own=True))

    @_with_connection
    def reclaim_expired(self, conn: psycopg.Connection[Any]) -> list[int]:
        """Jobs of instances that stopped renewing their lease go back to the queue; their ids."""
        ids = self._take_back(conn, own=False)
        if ids:
            log.warning("took back %d jobs whose instance stopped renewing their lease: %s", len(ids), ids)
        return ids

    @_with_connection
    def depth(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT COUNT(*) FROM guardian.jobs WHERE state IN ('queued', 'running')").fetchone()
        return int(row[0]) if row else 0

    @_with_connection
    def next_due(self, conn: psycopg.Connection[Any]) -> float | None:
        row = conn.execute("SELECT MIN(not_before) FROM guardian.jobs WHERE state = 'queued'").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    # -- pull requests sharing a head ---------------------------------------------------

    @_with_connection
    def head_prs(self, conn: psycopg.Connection[Any], repo: str, head_sha: str) -> set[int]:
        rows = conn.execute(
            "SELECT DISTINCT pr FROM guardian.jobs WHERE repo = %s AND head_sha = %s AND pr IS NOT NULL",
            (repo, head_sha),
        ).fetchall()
        return {int(row[0]) for row in rows}

    @_with_connection
    def verdicts(self, conn: psycopg.Connection[Any], repo: str, head_sha: str) -> dict[int, tuple[str, str]]:
        rows = conn.execute(
            "SELECT pr, check_name, conclusion FROM guardian.jobs WHERE repo = %s AND head_sha = %s"
            " AND pr IS NOT NULL AND conclusion IS NOT NULL ORDER BY id",
            (repo, head_sha),
        ).fetchall()
        return {int(pr): (str(name), str(conclusion)) for pr, name, conclusion in rows}

    # -- delivery ids -------------------------------------------------------------------

    @_with_connection
    def recorded_deliveries(self, conn: psycopg.Connection[Any], ids: Sequence[str]) -> set[str]:
        rows = conn.execute("SELECT id FROM guardian.deliveries WHERE id = ANY(%s)", (list(ids),)).fetchall()
        return {str(row[0]) for row in rows}

    # -- installations ------------------------------------------------------------------

    @_with_connection
    def remember_installation(
        self,
        conn: psycopg.Connection[Any],
        installation: int,
        account: str = "",
        *,
        added: Sequence[str] = (),
        removed: Sequence[str] = (),
    ) -> None:
        with conn.transaction():
            conn.execute(
                "INSERT INTO guardian.installations (id, account, updated) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET account = CASE WHEN excluded.account <> '' THEN excluded.account"
                " ELSE guardian.installations.account END, updated = excluded.updated",
                (installation, account, self._now()),
            )
            for repo in added:
                conn.execute(
                    "INSERT INTO guardian.installation_repos (installation, repo) VALUES (%s, %s)"
                    " ON CONFLICT DO NOTHING",
                    (installation, repo),
                )
            for repo in removed:
                conn.execute(
                    "DELETE FROM guardian.installation_repos WHERE installation = %s AND repo = %s",
                    (installation, repo),
                )

    @_with_connection
    def drop_installation(self, conn: psycopg.Connection[Any], installation: int) -> int:
        with conn.transaction():
            conn.execute("DELETE FROM guardian.installations WHERE id = %s", (installation,))
            conn.execute("DELETE FROM guardian.installation_repos WHERE installation = %s", (installation,))
            cur = conn.execute(
                "UPDATE guardian.jobs SET state = 'failed', error = 'installation removed', updated = %s"
                " WHERE installation = %s AND state = 'queued'",
                (self._now(), installation),
            )
        return cur.rowcount

    @_with_connection
    def installations(self, conn: psycopg.Connection[Any]) -> list[int]:
        rows = conn.execute("SELECT id FROM guardian.installations ORDER BY updated DESC, id").fetchall()
        return [int(row[0]) for row in rows]

    # -- the sticky comment -------------------------------------------------------------

    @_with_connection
    def comment(self, conn: psycopg.Connection[Any], repo: str, pr: int) -> tuple[int, str] | None:
        row = conn.execute(
            "SELECT comment_id, body_hash FROM guardian.comments WHERE repo = %s AND pr = %s", (repo, pr)
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    @_with_connection
    def remember_comment(
        self, conn: psycopg.Connection[Any], repo: str, pr: int, comment_id: int, body_hash: str
    ) -> None:
        conn.execute(
            "INSERT INTO guardian.comments (repo, pr, comment_id, body_hash) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (repo, pr) DO UPDATE SET comment_id = excluded.comment_id, body_hash = excluded.body_hash",
            (repo, pr, comment_id, body_hash),
        )

    @_with_connection
    def forget_comment(self, conn: psycopg.Connection[Any], repo: str, pr: int) -> None:
        conn.execute("DELETE FROM guardian.comments WHERE repo = %s AND pr = %s", (repo, pr))

    # -- instances, leases and one-at-a-time work ---------------------------------------

    def _heartbeat_once(self) -> None:
        """Write this instance's heartbeat and renew the leases of the jobs it holds."""
        with self._held_lock:
            held = sorted(self._held)
        conn = self._pool.get()
        broken = False
        try:
            conn.execute(
                "INSERT INTO guardian.instances (id, host, pid, started, seen)"
                f" VALUES (%s, %s, %s, {_DB_NOW}, {_DB_NOW})"
                " ON CONFLICT (id) DO UPDATE SET seen = excluded.seen",
                (self.instance, socket.gethostname(), os.getpid()),
            )
            if held:
                rows = conn.execute(
                    f"UPDATE guardian.jobs SET lease_until = {_DB_NOW} + %s"
                    " WHERE id = ANY(%s) AND state = 'running' AND holder = %s RETURNING id",
                    (self.lease_seconds, held, self.instance),
                ).fetchall()
                lost = set(held) - {int(r[0]) for r in rows}
                # Finished meanwhile, or taken back by another instance: no lease to renew.
                with self._held_lock:
                    lost &= self._held
                    self._held -= lost
        except psycopg.OperationalError:
            broken = conn.broken or conn.closed
            raise
        finally:
            self._pool.put(conn, broken=broken)

    def _heartbeat_loop(self) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                self._heartbeat_once()
            except psycopg.Error as exc:
                log.warning("heartbeat failed (leases not renewed): %s", self._scrub(str(exc)))

    @_with_connection
    def instances_seen(self, conn: psycopg.Connection[Any]) -> int:
        """Instances whose heartbeat came within the last three renewal periods."""
        row = conn.execute(
            f"SELECT COUNT(*) FROM guardian.instances WHERE seen >= {_DB_NOW} - %s", (self.lease_seconds,)
        ).fetchone()
        return int(row[0]) if row else 0

    def try_singleton(self, name: str, min_interval: float) -> bool:
        """Start the one-at-a-time work ``name`` here: False while another
        instance runs it, or when one finished it less than ``min_interval``
        seconds ago. ``release_singleton`` ends it."""
        if name in self._singletons:
            return False
        try:
            conn = self._pool.connect()
        except psycopg.Error as exc:
            raise StoreError(self._scrub(f"cannot reach the database: {exc}")) from None
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (_NS_SINGLETON, lock_key(name))).fetchone()
            if not (row and row[0]):
                conn.close()
                return False
            last = conn.execute(
                f"SELECT {_DB_NOW} - last_run FROM guardian.singletons WHERE name = %s", (name,)
            ).fetchone()
            if last is not None and float(last[0]) < min_interval:
                conn.close()  # the lock goes with the connection
                return False
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(self._scrub(str(exc))) from None
        self._singletons[name] = conn
        return True

    def release_singleton(self, name: str) -> None:
        conn = self._singletons.pop(name, None)
        if conn is None:
            return
        try:
            conn.execute(
                f"INSERT INTO guardian.singletons (name, last_run, holder) VALUES (%s, {_DB_NOW}, %s)"
                " ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run, holder = excluded.holder",
                (name, self.instance),
            )
        except psycopg.Error as exc:
            log.warning("could not note the end of %s: %s", name, self._scrub(str(exc)))
        finally:
            conn.close()

    def listen(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from a thread of the store) whenever any
        instance records a job or ends one."""
        self._start_thread(functools.partial(self._listen_loop, callback), "guardian-store-listen")

    def _listen_loop(self, callback: Callable[[], None]) -> None:
        while not self._stop.is_set():
            try:
                with self._pool.connect() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _note in conn.notifies(timeout=0.5, stop_after=1):
                            callback()
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                log.warning("listening for new jobs failed (%s); again in 1 s", self._scrub(str(exc)))
                self._stop.wait(1.0)
            except RuntimeError:  # the callback's event loop has closed
                return

    # -- upkeep and inspection ----------------------------------------------------------

    @_with_connection
    def job(self, conn: psycopg.Connection[Any], job_id: int) -> dict[str, object] | None:
        cur = conn.execute("SELECT * FROM guardian.jobs WHERE id = %s", (job_id,))
        row = cur.fetchone()
        assert cur.description is not None
        return None if row is None else dict(zip([d.name for d in cur.description], row, strict=True))

    @_with_connection
    def jobs(self, conn: psycopg.Connection[Any]) -> list[dict[str, object]]:
        cur = conn.execute("SELECT * FROM guardian.jobs ORDER BY id")
        assert cur.description is not None
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    @_with_connection
    def prune(self, conn: psycopg.Connection[Any]) -> None:
        now = self._now()
        cutoff = now - RETENTION_SECONDS
        with conn.transaction():
            conn.execute("DELETE FROM guardian.deliveries WHERE received < %s", (cutoff,))
            conn.execute(
                "DELETE FROM guardian.jobs WHERE state IN ('done', 'skipped', 'failed') AND updated < %s", (cutoff,)
            )
            conn.execute(f"DELETE FROM guardian.instances WHERE seen < {_DB_NOW} - %s", (INSTANCE_RETENTION,))
        self._pruned = now

    def housekeeping(self) -> None:
        """Take back jobs whose lease ran out (their instance died), and drop
        what is past retention (at most hourly)."""
        self.reclaim_expired()
        if self._now() - self._pruned >= PRUNE_INTERVAL:
            self.prune()

    def close(self) -> None:
        self._stop.set()
        for name in list(self._singletons):
            with contextlib.suppress(psycopg.Error):
                self._singletons.pop(name).close()
        for thread in self._threads:
            thread.join(5)
        self._pool.close()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of the store's pool (for tests and operators)."""
        conn = self._pool.get()
        try:
            yield conn
        finally:
            self._pool.put(conn)
