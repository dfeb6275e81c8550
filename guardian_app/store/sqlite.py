"""The default store: one SQLite file (``GUARDIAN_DB_PATH``) for one App process.

Jobs and delivery ids (the queue), installations and their repositories
(for the start-up reconcile), and each pull request's sticky comment id and
body hash (which spare a listing of its comments, and an unchanged body
from being sent again) live in one file. Deliveries are recorded on a
connection of their own; every other call shares a second. The semantics
are those of ``guardian_app.store``; this module only says how SQLite keeps them.
"""

from __future__ import annotations

import dataclasses
import functools
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from guardian_app.store import RETENTION_SECONDS, Job, Recorded, job_row

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from guardian_app.store import Delivery, JobSpec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    received REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    installation INTEGER NOT NULL,
    head_sha TEXT NOT NULL,
    pr INTEGER,
    base_sha TEXT,
    base_ref TEXT,
    changed_files INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    delivery TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    check_run_id INTEGER,
    batches_sent INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, not_before, id);
CREATE INDEX IF NOT EXISTS jobs_by_head ON jobs (repo, head_sha);
CREATE TABLE IF NOT EXISTS installations (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS installation_repos (
    installation INTEGER NOT NULL,
    repo TEXT NOT NULL,
    PRIMARY KEY (installation, repo)
);
CREATE TABLE IF NOT EXISTS comments (
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    comment_id INTEGER NOT NULL,
    body_hash TEXT NOT NULL,
    PRIMARY KEY (repo, pr)
);
"""
#: One waiting job per pull request and head (a job without a pull request counts as pull request 0).
#: Created after the migration below: a database made before PRs were part of the key holds
#: ``jobs_one_waiting_per_head`` on (repo, head_sha), which would refuse a second PR's job.
_WAITING_INDEX = """
DROP INDEX IF EXISTS jobs_one_waiting_per_head;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_waiting_per_pr_head
    ON jobs (repo, head_sha, COALESCE(pr, 0)) WHERE state = 'queued';
"""
#: Columns added since the first schema: (name, declaration).
_ADDED_COLUMNS = (
    #: The check run name the job reported under (``guardian``, or a per-PR name when a head is shared).
    ("check_name", "TEXT"),
    #: The job's verdict (the check run conclusion), once reported.
    ("conclusion", "TEXT"),
)

_JOB_COLUMNS = (
    "repo, installation, head_sha, pr, base_sha, base_ref, changed_files, reason, id, attempts, delivery, check_run_id,"
    " batches_sent"
)
#: How often a running process drops what is past retention.
PRUNE_INTERVAL = 3600.0


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    # WAL + NORMAL: a committed transaction survives the process being killed.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
    # No checkpoint inside a commit: it would fsync while deliveries wait.
    # ``SqliteStore.housekeeping`` checkpoints, on a connection of its own.
    db.execute("PRAGMA wal_autocheckpoint=0")
    return db


_LOCK_RETRIES = 8
#: How long (ms) a call waits for another connection's write lock; and a
#: record tried on the event loop, which must never wait long.
_BUSY_MS = 10_000
_QUICK_BUSY_MS = 20
_M = TypeVar("_M", bound=Callable[..., object])


_T = TypeVar("_T")


def _again_while_locked(call: Callable[[], _T]) -> _T:
    """``call()``, run again (with a growing pause) when SQLite answers
    "database is locked" at once. Each call is one statement or one
    transaction, so a failed attempt changed nothing."""
    for attempt in range(_LOCK_RETRIES):
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _LOCK_RETRIES - 1:
                raise
            time.sleep(0.005 * (1 << attempt))
    raise AssertionError("unreachable")


def _guarded(method: _M) -> _M:
    """One call at a time on the store's connection, run again when SQLite
    answers "database is locked" at once.

    A transaction here is several statements on one connection: calls from
    two threads (the App's store thread, an operator's or a test's) must not
    interleave. With several connections on one WAL file (the intake and
    housekeeping connections, another process), a write can meet a lock that
    the busy timeout does not wait for; giving up would leave a job marked
    running until the next process."""

    @functools.wraps(method)
    def guarded(self: SqliteStore, *args: object, **kwargs: object) -> object:
        with self._lock:
            return _again_while_locked(lambda: method(self, *args, **kwargs))

    return guarded  # type: ignore[return-value]


class SqliteStore:
    """``guardian_app.store.Store`` in one SQLite file."""

    def __init__(self, path: str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._lock = threading.RLock()
        self.db = connect(path)
        self.db.executescript(_SCHEMA)
        self._migrate()
        # Deliveries are recorded on a connection of their own, so an
        # acknowledgement never waits for the workers' calls on ``db``; the
        # two meet only at SQLite's write lock, each transaction held briefly.
        self._intake_lock = threading.Lock()
        self.intake = connect(path)
        self._clock = clock
        self._pruned = 0.0
        self.prune()

    def _migrate(self) -> None:
        """Bring a database made by an earlier version up to this schema."""
        with self._transaction():
            have = {row[1] for row in self.db.execute("PRAGMA table_info(jobs)").fetchall()}
            for name, declaration in _ADDED_COLUMNS:
                if name not in have:
                    self.db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {declaration}")
        self.db.executescript(_WAITING_INDEX)

    def _now(self) -> float:
        return float(self._clock())

    # -- the queue ----------------------------------------------------------------

    def record(self, delivery: str, event: str, specs: Sequence[JobSpec]) -> Recorded:
        return self.record_many([(delivery, event, specs)])[0]

    def record_many(self, batch: Sequence[Delivery]) -> list[Recorded]:
        """The deliveries in one transaction, on the intake connection."""
        with self._intake_lock:
            return _again_while_locked(lambda: self._record_many(batch))

    def record_now(self, delivery: str, event: str, specs: Sequence[JobSpec]) -> Recorded | None:
        """``record`` on the caller's thread (the event loop's), when it can be
        done at once: None when another record holds the intake connection, or
        the database stays locked past ``_QUICK_BUSY_MS`` (another connection
        writing); the caller then hands it to the intake thread. A delivery
        recorded here costs no thread hand-off: the acknowledgement."""
        if not self._intake_lock.acquire(blocking=False):
            return None
        try:
            self.intake.execute(f"PRAGMA busy_timeout={_QUICK_BUSY_MS}")
            try:
                return self._record_many([(delivery, event, specs)])[0]
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return None  # nothing was written: the transaction rolled back
                raise
            finally:
                self.intake.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        finally:
            self._intake_lock.release()

    def _record_many(self, batch: Sequence[Delivery]) -> list[Recorded]:
        """The deliveries in one transaction on the intake connection (its lock held)."""
        now = self._now()
        with _Transaction(self.intake):
            return [_record(self.intake, delivery, event, specs, now) for delivery, event, specs in batch]

    @_guarded
    def claim(self) -> Job | None:
        now = self._now()
        with self._transaction():
            row = self.db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs AS j WHERE state = 'queued' AND not_before <= ?"
                " AND NOT EXISTS (SELECT 1 FROM jobs AS r WHERE r.state = 'running' AND r.repo = j.repo"
                "   AND (r.head_sha = j.head_sha OR (r.pr IS NOT NULL AND r.pr = j.pr)))"
                " ORDER BY not_before, id LIMIT 1",
                (now,),
            ).fetchone()
            if row is None:
                return None
            self.db.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated = ? WHERE id = ?", (now, row[8])
            )
        names = [name.strip() for name in _JOB_COLUMNS.split(",")]
        job = Job(**dict(zip(names, row, strict=True)))
        return dataclasses.replace(job, attempts=job.attempts + 1)

    @_guarded
    def set_check_run(self, job_id: int, check_run_id: int) -> None:
        self.db.execute(
            "UPDATE jobs SET check_run_id = ?, batches_sent = 0, updated = ? WHERE id = ?",
            (check_run_id, self._now(), job_id),
        )

    @_guarded
    def set_progress(self, job_id: int, batches_sent: int) -> None:
        self.db.execute(
            "UPDATE jobs SET batches_sent = ?, updated = ? WHERE id = ?", (batches_sent, self._now(), job_id)
        )

    @_guarded
    def set_verdict(self, job_id: int, pr: int, check_name: str, conclusion: str) -> None:
        """The job reported ``conclusion`` for pull request ``pr`` under the
        check run name ``check_name`` (a job that had no PR number takes the
        one it found)."""
        self.db.execute(
            "UPDATE jobs SET pr = COALESCE(pr, ?), check_name = ?, conclusion = ?, updated = ? WHERE id = ?",
            (pr, check_name, conclusion, self._now(), job_id),
        )

    @_guarded
    def done(self, job_id: int, *, evaluated: bool = True) -> None:
        """Finished: ``evaluated`` False when there was nothing to evaluate
        (no open pull request, closed, superseded), so a later request for
        the same head is not taken for a repeat."""
        self.db.execute(
            "UPDATE jobs SET state = ?, error = NULL, updated = ? WHERE id = ?",
            ("done" if evaluated else "skipped", self._now(), job_id),
        )

    @_guarded
    def retry(self, job_id: int, not_before: float, error: str) -> None:
        """Back to the queue, absorbing a job for the same head that waits."""
        with self._transaction():
            self._absorb_waiting(job_id)
            self.db.execute(
                "UPDATE jobs SET state = 'queued', not_before = ?, error = ?, updated = ? WHERE id = ?",
                (not_before, error, self._now(), job_id),
            )

    def _absorb_waiting(self, job_id: int) -> None:
        """A job for the same head may have been queued meanwhile (coalescing
        only joins waiting jobs). This one keeps its check run and progress
        and takes the newer pull request details; the other is dropped. The
        waiting job absorbed is one ``record`` would have joined this one
        to: for the same pull request, or without one (a job without a PR
        takes one waiting without a PR first, else one with)."""
        repo, sha, pr = self.db.execute("SELECT repo, head_sha, pr FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if pr is None:
            waiting = self.db.execute(
                "SELECT id, pr, base_sha, base_ref, changed_files FROM jobs"
                " WHERE repo = ? AND head_sha = ? AND state = 'queued' AND id != ? ORDER BY pr IS NOT NULL, id LIMIT 1",
                (repo, sha, job_id),
            ).fetchone()
        else:
            waiting = self.db.execute(
                "SELECT id, pr, base_sha, base_ref, changed_files FROM jobs WHERE repo = ? AND head_sha = ?"
                " AND state = 'queued' AND id != ? AND (pr = ? OR pr IS NULL) ORDER BY pr IS NULL, id LIMIT 1",
                (repo, sha, job_id, pr),
            ).fetchone()
        if waiting is None:
            return
        other, pr, base_sha, base_ref, changed = waiting
        self.db.execute(
            "UPDATE jobs SET state = 'done', error = ?, updated = ? WHERE id = ?",
            (f"absorbed into job {job_id}", self._now(), other),
        )
        self.db.execute(
            "UPDATE jobs SET pr = COALESCE(?, pr), base_sha = COALESCE(?, base_sha), base_ref = COALESCE(?, base_ref),"
            " changed_files = COALESCE(?, changed_files) WHERE id = ?",
            (pr, base_sha, base_ref, changed, job_id),
        )

    @_guarded
    def fail(self, job_id: int, error: str) -> None:
        self.db.execute(
            "UPDATE jobs SET state = 'failed', error = ?, updated = ? WHERE id = ?", (error, self._now(), job_id)
        )

    @_guarded
    def cancel_waiting(self, repo: str, head_sha: str, error: str) -> int:
        """End the head's waiting jobs without a pull request that never
        started (a destroyed merge group); how many."""
        cur = self.db.execute(
            "UPDATE jobs SET state = 'skipped', error = ?, updated = ? WHERE repo = ? AND head_sha = ?"
            " AND state = 'queued' AND pr IS NULL AND check_run_id IS NULL",
            (error, self._now(), repo, head_sha),
        )
        return cur.rowcount

    @_guarded
    def recover(self) -> int:
        """Every running job goes back to the queue: one process owns this
        file, so at its start-up they are all left by a process that died."""
        with self._transaction():
            rows = self.db.execute("SELECT id FROM jobs WHERE state = 'running'").fetchall()
            for (job_id,) in rows:
                self._absorb_waiting(job_id)
                self.db.execute("UPDATE jobs SET state = 'queued', updated = ? WHERE id = ?", (self._now(), job_id))
        return len(rows)

    @_guarded
    def depth(self) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')").fetchone()
        return int(row[0])

    @_guarded
    def next_due(self) -> float | None:
        row = self.db.execute("SELECT MIN(not_before) FROM jobs WHERE state = 'queued'").fetchone()
        return None if row[0] is None else float(row[0])

    # -- pull requests sharing a head -------------------------------------------------

    @_guarded
    def head_prs(self, repo: str, head_sha: str) -> set[int]:
        """Pull requests any job (waiting, running or kept after it ended) had for this head."""
        rows = self.db.execute(
            "SELECT DISTINCT pr FROM jobs WHERE repo = ? AND head_sha = ? AND pr IS NOT NULL", (repo, head_sha)
        ).fetchall()
        return {int(row[0]) for row in rows}

    @_guarded
    def verdicts(self, repo: str, head_sha: str) -> dict[int, tuple[str, str]]:
        """pull request -> (check run name, conclusion) of the latest verdict on this head."""
        rows = self.db.execute(
            "SELECT pr, check_name, conclusion FROM jobs WHERE repo = ? AND head_sha = ? AND pr IS NOT NULL"
            " AND conclusion IS NOT NULL ORDER BY id",
            (repo, head_sha),
        ).fetchall()
        return {int(pr): (str(name), str(conclusion)) for pr, name, conclusion in rows}

    # -- installations ------------------------------------------------------------------

    @_guarded
    def remember_installation(
        self, installation: int, account: str = "", *, added: Sequence[str] = (), removed: Sequence[str] = ()
    ) -> None:
        """The installation, its account's login (kept when ``account`` is
        empty) and repositories added to or removed from it."""
        with self._transaction():
            self.db.execute(
                "INSERT INTO installations (id, account, updated) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET account = CASE WHEN excluded.account != '' THEN excluded.account"
                " ELSE account END, updated = excluded.updated",
                (installation, account, self._now()),
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO installation_repos (installation, repo) VALUES (?, ?)",
                [(installation, repo) for repo in added],
            )
            self.db.executemany(
                "DELETE FROM installation_repos WHERE installation = ? AND repo = ?",
                [(installation, repo) for repo in removed],
            )

    @_guarded
    def drop_installation(self, installation: int) -> int:
        """The installation was deleted or suspended: forget it and its
        repositories, and fail its waiting jobs (how many is returned)."""
        with self._transaction():
            self.db.execute("DELETE FROM installations WHERE id = ?", (installation,))
            self.db.execute("DELETE FROM installation_repos WHERE installation = ?", (installation,))
            cur = self.db.execute(
                "UPDATE jobs SET state = 'failed', error = 'installation removed', updated = ?"
                " WHERE installation = ? AND state = 'queued'",
                (self._now(), installation),
            )
        return cur.rowcount

    @_guarded
    def installations(self) -> list[int]:
        """Known installations, the most recently heard from first."""
        return [int(row[0]) for row in self.db.execute("SELECT id FROM installations ORDER BY updated DESC")]

    # -- the sticky comment -----------------------------------------------------------------

    @_guarded
    def comment(self, repo: str, pr: int) -> tuple[int, str] | None:
        """(comment id, body hash) of the pull request's sticky comment, if known."""
        row = self.db.execute(
            "SELECT comment_id, body_hash FROM comments WHERE repo = ? AND pr = ?", (repo, pr)
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    @_guarded
    def remember_comment(self, repo: str, pr: int, comment_id: int, body_hash: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO comments (repo, pr, comment_id, body_hash) VALUES (?, ?, ?, ?)",
            (repo, pr, comment_id, body_hash),
        )

    @_guarded
    def forget_comment(self, repo: str, pr: int) -> None:
        self.db.execute("DELETE FROM comments WHERE repo = ? AND pr = ?", (repo, pr))

    # -- delivery ids, instances, one-at-a-time work ------------------------------------------

    @_guarded
    def recorded_deliveries(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT id FROM deliveries WHERE id IN ({marks})", chunk).fetchall()
            found.update(str(row[0]) for row in rows)
        return found

    def try_singleton(self, name: str, min_interval: float) -> bool:
        """Always: one process owns the file."""
        return True

    def release_singleton(self, name: str) -> None:
        pass

    def instances_seen(self) -> int:
        return 1

    # -- upkeep and inspection ---------------------------------------------------------------

    @_guarded
    def job(self, job_id: int) -> dict[str, object] | None:
        """One job as a dict (for tests and operators)."""
        cur = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
        row = cur.fetchone()
        return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))

    @_guarded
    def jobs(self) -> list[dict[str, object]]:
        """Every job kept, oldest first, as dicts (for tests and operators)."""
        cur = self.db.execute("SELECT * FROM jobs ORDER BY id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    @_guarded
    def prune(self) -> None:
        _prune(self.db, self._now())
        self._pruned = self._now()

    def housekeeping(self) -> None:
        """Periodic upkeep, run on a connection of its own (not under the
        store's lock, so deliveries go on meanwhile): move the write-ahead
        log into the database, so the log stays small, and drop finished
        jobs and delivery ids past their retention (at most hourly), so a
        process that runs for months keeps a small file."""
        db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        try:
            now = self._now()
            if now - self._pruned >= PRUNE_INTERVAL:
                _prune(db, now)
                self._pruned = now
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()

    @_guarded
    def close(self) -> None:
        with self._intake_lock:
            self.intake.close()
        self.db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


def _record(db: sqlite3.Connection, delivery: str, event: str, specs: Sequence[JobSpec], now: float) -> Recorded:
    """One delivery, inside the caller's transaction."""
    cur = db.execute("INSERT OR IGNORE INTO deliveries (id, event, received) VALUES (?, ?, ?)", (delivery, event, now))
    if cur.rowcount == 0:
        return Recorded(duplicate=True)
    queued = coalesced = 0
    for spec in specs:
        if _join_waiting(db, spec, now) or (spec.only_if_new and _evaluated(db, spec.repo, spec.head_sha, spec.pr)):
            coalesced += 1
        else:
            db.execute(
                "INSERT INTO jobs (repo, installation, head_sha, pr, base_sha, base_ref, changed_files,"
                " reason, delivery, state, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                job_row(spec, delivery, now),
            )
            queued += 1
    return Recorded(queued=queued, coalesced=coalesced)


def _join_waiting(db: sqlite3.Connection, spec: JobSpec, now: float) -> bool:
    """Fill the request into a job waiting for it, if there is one."""
    if spec.pr is None:
        row = db.execute(
            "SELECT id FROM jobs WHERE repo = ? AND head_sha = ? AND state = 'queued' ORDER BY id LIMIT 1",
            (spec.repo, spec.head_sha),
        ).fetchone()
    else:
        # This pull request's own waiting job first, else one that does not know its PR yet.
        row = db.execute(
            "SELECT id FROM jobs WHERE repo = ? AND head_sha = ? AND state = 'queued'"
            " AND (pr = ? OR pr IS NULL) ORDER BY pr IS NULL, id LIMIT 1",
            (spec.repo, spec.head_sha, spec.pr),
        ).fetchone()
    if row is None:
        return False
    db.execute(
        "UPDATE jobs SET pr = COALESCE(?, pr), base_sha = COALESCE(?, base_sha),"
        " base_ref = COALESCE(?, base_ref), changed_files = COALESCE(?, changed_files),"
        " installation = ?, updated = ? WHERE id = ?",
        (spec.pr, spec.base_sha, spec.base_ref, spec.changed_files, spec.installation, now, row[0]),
    )
    return True


def _evaluated(db: sqlite3.Connection, repo: str, head_sha: str, pr: int | None) -> bool:
    """Was this head evaluated (for this pull request, when known), or is
    it being evaluated for it (for a known pull request, when not)?"""
    if pr is None:
        row = db.execute(
            "SELECT 1 FROM jobs WHERE repo = ? AND head_sha = ?"
            " AND (state = 'done' OR (state = 'running' AND pr IS NOT NULL)) LIMIT 1",
            (repo, head_sha),
        ).fetchone()
    else:
        # A finished job without a PR number comes from a database made before jobs
        # recorded the pull request they found: it evaluated the head for some PR.
        row = db.execute(
            "SELECT 1 FROM jobs WHERE repo = ? AND head_sha = ?"
            " AND (pr = ? OR (pr IS NULL AND state = 'done')) AND state IN ('done', 'running') LIMIT 1",
            (repo, head_sha, pr),
        ).fetchone()
    return row is not None


def _prune(db: sqlite3.Connection, now: float) -> None:
    cutoff = now - RETENTION_SECONDS
    with _Transaction(db):
        db.execute("DELETE FROM deliveries WHERE received < ?", (cutoff,))
        db.execute("DELETE FROM jobs WHERE state IN ('done', 'skipped', 'failed') AND updated < ?", (cutoff,))


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: the write lock is taken up front, so
    two processes sharing the file never both claim a job."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
