"""Several App instances on one PostgreSQL database (a real server, ``tests/pg.py``).

First the store as two instances see it (two ``PostgresStore`` objects on
one database, threads claiming at once), then two App processes
(``python -m guardian_app.serve`` under uvicorn on loopback) sharing one
database and one fake GitHub: deliveries spread over both, one delivery id
sent to both, an instance killed mid-job, a delivery that reached neither.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from guardian_app.settings import Settings, from_env, redact_url, url_password
from guardian_app.store import JobSpec
from guardian_app.store.postgres import SCHEMA_VERSION, PostgresStore, StoreError
from tests.fake_github import SECRET, AppEnv, deliver, pull_request_event, serve_subprocess, wait_for

REPO = "acme/atomizer"
BAD_PY = b"import optimization_engine.core\n"


@pytest.fixture
def two_stores(pg_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    first, second = PostgresStore(pg_url, lease_seconds=1.0), PostgresStore(pg_url, lease_seconds=1.0)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


# -- the store, shared ------------------------------------------------------------------------


def test_one_delivery_id_sent_to_two_instances_at_once_is_recorded_once(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    stores = two_stores
    spec = JobSpec(REPO, 1, "a" * 40, pr=1)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: stores[i % 2].record("same-id", "pull_request", [spec]), range(16)))
    assert sum(not r.duplicate for r in results) == 1
    assert [j["state"] for j in stores[0].jobs()] == ["queued"]


def test_concurrent_requests_for_one_head_join_one_waiting_job(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    stores = two_stores
    sha = "b" * 40

    def record(i: int) -> None:
        pr = None if i % 3 == 0 else 5
        stores[i % 2].record(f"d{i}", "check_suite", [JobSpec(REPO, 1, sha, pr=pr, base_ref=f"b{i}")])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(record, range(40)))
    waiting = [j for j in stores[0].jobs() if j["state"] == "queued"]
    # As on SQLite in any order: a job for PR 5 fills in one waiting without a PR.
    assert len(waiting) == 1 and waiting[0]["pr"] == 5


def test_claimers_on_two_instances_never_run_one_head_or_one_pr_at_once(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    stores = two_stores
    heads = [c * 40 for c in "0123456789"]
    specs = [JobSpec(REPO, 1, heads[i % 10], pr=i % 7) for i in range(60)]
    for i, spec in enumerate(specs):
        stores[i % 2].record(f"d{i}", "pull_request", [spec])
    expected = len([j for j in stores[0].jobs() if j["state"] == "queued"])
    running: set[tuple[str, object]] = set()
    lock = threading.Lock()
    clashes: list[str] = []
    finished: list[int] = []

    def work(n: int) -> None:
        store = stores[n % 2]
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 1.0:
            job = store.claim()
            if job is None:
                time.sleep(0.005)
                continue
            idle_since = time.monotonic()
            keys = {("head", job.head_sha), ("pr", job.pr)}
            with lock:
                if keys & running:
                    clashes.append(f"job {job.id}: {keys & running}")
                running.update(keys)
            time.sleep(0.01)
            with lock:
                running.difference_update(keys)
                finished.append(job.id)
            store.done(job.id)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(work, range(6)))
    assert clashes == []
    assert sorted(finished) == sorted(set(finished)) and len(finished) == expected
    assert stores[1].depth() == 0


def test_a_job_of_an_instance_that_died_is_finished_by_another(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    dying, living = two_stores
    dying.record("d1", "pull_request", [JobSpec(REPO, 1, "c" * 40, pr=1)])
    job = dying.claim()
    assert job is not None
    dying.set_check_run(job.id, 71)
    # While its lease is renewed, nobody takes it back.
    time.sleep(1.5)
    assert living.reclaim_expired() == [] and living.claim() is None
    dying._stop.set()  # the instance stops (its heartbeat with it)
    time.sleep(1.3)
    living.housekeeping()
    again = living.claim()
    assert again is not None and (again.id, again.check_run_id, again.attempts) == (job.id, 71, 2)
    # The first instance's late report is ignored: the job is the other's now.
    dying.done(job.id)
    assert living.job(job.id)["state"] == "running"  # type: ignore[index]
    living.done(again.id)
    assert living.job(job.id)["state"] == "done"  # type: ignore[index]


def test_one_time_work_runs_on_one_instance_at_a_time(two_stores: tuple[PostgresStore, PostgresStore]) -> None:
    first, second = two_stores
    assert first.try_singleton("reconcile", 300)
    assert not second.try_singleton("reconcile", 0)
    first.release_singleton("reconcile")
    assert not second.try_singleton("reconcile", 300)  # ran a moment ago
    assert second.try_singleton("reconcile", 0)
    second.close()  # an instance that dies holding it lets it go
    assert first.try_singleton("reconcile", 0)
    first.release_singleton("reconcile")
    assert first.instances_seen() == 2  # both heartbeats are recent


def test_migrations_run_once_when_instances_start_together(pg_url: str) -> None:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresStore(pg_url), range(4)))
    try:
        assert {store.migrate() for store in stores} == {SCHEMA_VERSION}
        with stores[0].connection() as conn:
            rows = conn.execute("SELECT version FROM guardian.schema_version ORDER BY version").fetchall()
        assert [r[0] for r in rows] == list(range(1, SCHEMA_VERSION + 1))
    finally:
        for store in stores:
            store.close()


def test_the_database_password_never_shows(pg_url: str) -> None:
    url = "postgresql://guardian:hunter2-%40secret@127.0.0.1:1/guardian"
    assert url_password(url) == "hunter2-@secret"
    assert redact_url(url) == "postgresql://guardian:***@127.0.0.1:1/guardian"
    assert redact_url("postgresql://h/db?password=hunter2&sslmode=require") == (
        "postgresql://h/db?password=***&sslmode=require"
    )
    with pytest.raises(StoreError) as refused:
        PostgresStore(url)
    assert "hunter2" not in str(refused.value) and "secret" not in str(refused.value)
    env = {
        "GUARDIAN_WEBHOOK_SECRET": "x",
        "GUARDIAN_APP_ID": "1",
        "GUARDIAN_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
        "GUARDIAN_DATABASE_URL": url,
    }
    settings = from_env(env)
    assert "hunter2-@secret" in settings.secrets()  # the log scrubber's list
    assert "hunter2" not in repr(settings) and "hunter2" not in settings.database_shown
    with pytest.raises(Exception, match="GUARDIAN_DATABASE_URL") as wrong:
        from_env({**env, "GUARDIAN_DATABASE_URL": "mysql://root:hunter2@db/x"})
    assert "hunter2" not in str(wrong.value)
    assert isinstance(settings, Settings)


# -- two App processes, one database --------------------------------------------------------------


class Cluster:
    """Two ``python -m guardian_app.serve`` processes on one database and one fake GitHub."""

    def __init__(self, env: AppEnv, tmp_path: Path, pg_url: str, **variables: str) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.variables = {
            "GUARDIAN_DATABASE_URL": pg_url,
            "GUARDIAN_LEASE_SECONDS": "1.5",
            "GUARDIAN_WORKERS": "2",
            **variables,
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []
        self._socks: list[object] = []
        self.store = PostgresStore(pg_url)

    def start(self, count: int = 2) -> Cluster:
        for i in range(count):
            directory = self.tmp_path / f"instance-{i}"
            directory.mkdir(exist_ok=True)
            proc, url, sock = serve_subprocess(self.env, directory, **self.variables)
            self.procs.append(proc)
            self.urls.append(url)
            self._socks.append(sock)
        return self

    def deliver(self, i: int, event: str, payload: dict[str, object], delivery: str | None = None) -> httpx.Response:
        return deliver(self.env.client, self.urls[i], SECRET, event, payload, delivery=delivery)

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(10)

    def wait_idle(self, timeout: float = 30.0) -> None:
        wait_for(lambda: self.store.depth() == 0, timeout)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(20)
            if proc.poll() is None:
                proc.kill()
        for sock in self._socks:
            sock.close()  # type: ignore[attr-defined]
        self.store.close()


@contextlib.contextmanager
def cluster(tmp_path: Path, pg_url: str, *, count: int = 2, **variables: str) -> Iterator[Cluster]:
    with AppEnv(str(tmp_path / "unused.sqlite3"), serve=False) as env:
        running = Cluster(env, tmp_path, pg_url, **variables)
        try:
            yield running.start(count)
        finally:
            running.close()


def _final_statuses(repo: object, head: str) -> list[dict[str, object]]:
    return [s for s in repo.statuses if s["sha"] == head and s["state"] != "pending"]  # type: ignore[attr-defined]


def test_two_instances_share_the_work_and_each_pr_gets_one_check_status_and_comment(
    tmp_path: Path, pg_url: str
) -> None:
    with cluster(tmp_path, pg_url) as apps:
        env = apps.env
        heads = {}
        for number in range(1, 9):
            repo, _base, heads[number] = env.repo_with_pr({f"src/mod{number}.py": BAD_PY}, number=number)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            # Each pull request announced to both instances, under two delivery ids.
            futures = [
                pool.submit(apps.deliver, (number + k) % 2, "pull_request", pull_request_event(repo, number))
                for number in heads
                for k in (0, 1)
            ]
            answers = [f.result().status_code for f in futures]
        assert set(answers) == {202}
        for head in heads.values():
            env.wait_completed(repo, head, timeout=60)
        apps.wait_idle()
        wait_for(lambda: all(len(repo.bot_comments(n)) == 1 for n in heads), 30)
        for number, head in heads.items():
            runs = [r for r in repo.check_runs if r["head_sha"] == head]
            assert [r["status"] for r in runs] == ["completed"], number
            assert runs[0]["conclusion"] == "failure"
            assert len(_final_statuses(repo, head)) == 1, number
            assert len(repo.bot_comments(number)) == 1
        jobs = apps.store.jobs()
        assert {j["state"] for j in jobs} <= {"done"}
        assert {str(j["delivery"]) for j in jobs}  # recorded under the deliveries' ids
        # Both instances are seen, and say the database is reachable.
        for url in apps.urls:
            health = httpx.get(f"{url}/healthz", timeout=10).json()
            assert health["database"] == "reachable" and health["store"] == "postgresql"
        metrics = httpx.get(f"{apps.urls[0]}/metrics", timeout=10).text
        assert "guardian_instances 2" in metrics
        assert 'guardian_store_seconds_count{call="record"}' in metrics


def test_one_delivery_id_sent_to_both_instances_is_evaluated_once(tmp_path: Path, pg_url: str) -> None:
    with cluster(tmp_path, pg_url) as apps:
        env = apps.env
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        payload = pull_request_event(repo, 1)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda i: apps.deliver(i, "pull_request", payload, "one-id").json(), (0, 1)))
        assert sorted(("duplicate" in a, a.get("queued", 0)) for a in answers) == [(False, 1), (True, 0)]
        env.wait_completed(repo, head, timeout=60)
        apps.wait_idle()
        assert len(env.fake.calls("POST", r"/check-runs$")) == 1
        assert len(repo.check_runs) == 1 and len(_final_statuses(repo, head)) == 1
        assert [j["delivery"] for j in apps.store.jobs()] == ["one-id"]


def test_an_instance_killed_mid_job_leaves_the_job_to_the_other(tmp_path: Path, pg_url: str) -> None:
    with cluster(tmp_path, pg_url) as apps:
        env = apps.env
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY, "data/cache.sqlite": b"db"})
        # Mid-job: the check run exists, and its completion is in flight (then lost with the process).
        held = env.fake.hold("PATCH", r"/check-runs/\d+$", discard=True)
        assert apps.deliver(0, "pull_request", pull_request_event(repo, 1)).status_code == 202
        assert held.arrived.wait(30)
        running = [j for j in apps.store.jobs() if j["state"] == "running"]
        assert len(running) == 1
        # The job is held by the instance's workers' process, a child of the served one.
        holder_pid = int(str(running[0]["holder"]).split(":")[1])
        victim = next(i for i, proc in enumerate(apps.procs) if _parent_pid(holder_pid) == proc.pid)
        apps.kill(victim)
        # Its workers' process goes with it (its pipe to the served process closed).
        wait_for(lambda: not _alive(holder_pid), 20)
        held.release.set()
        assert repo.check_runs[0]["status"] == "in_progress"
        run = env.wait_completed(repo, head, timeout=60)
        apps.wait_idle()
        wait_for(lambda: len(repo.bot_comments(1)) == 1, 30)
        # The same check run, completed by the other instance; nothing sent twice.
        assert len(repo.check_runs) == 1 and run is repo.check_runs[0]
        assert run["conclusion"] == "failure"
        assert len(_final_statuses(repo, head)) == 1
        (job,) = apps.store.jobs()
        assert job["state"] == "done" and job["attempts"] == 2
        assert _parent_pid(int(str(job["holder"]).split(":")[1])) == apps.procs[1 - victim].pid


def _parent_pid(pid: int) -> int:
    """The parent of a live process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rpartition(")")[2].split()[1])


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_a_delivery_that_reached_no_instance_is_asked_for_again(tmp_path: Path, pg_url: str) -> None:
    with cluster(tmp_path, pg_url, GUARDIAN_REDELIVER_INTERVAL="0.5") as apps:
        env = apps.env
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        payload = pull_request_event(repo, 1)
        # Recorded, though GitHub saw a timeout: not asked again.
        assert apps.deliver(0, "pull_request", payload, "reached-us").status_code == 202
        env.fake.add_hook_delivery("reached-us", status_code=0)
        env.fake.add_hook_delivery("answered", status_code=202)
        for i in range(150):  # answered ones, newer than the lost one: it is on the second page
            env.fake.add_hook_delivery(f"ok-{i}", status_code=200, delivered_at=time.time() - 60)
        # Every instance was down when GitHub sent it.
        lost = env.fake.add_hook_delivery("lost-one", status_code=0, delivered_at=time.time() - 120)
        env.fake.add_hook_delivery("too-old", status_code=502, delivered_at=time.time() - 7 * 3600)
        path = rf"/app/hook/deliveries/{lost['id']}/attempts$"
        wait_for(lambda: env.fake.calls("POST", path), 20)
        # GitHub sends it again (same guid); one instance records and evaluates it.
        env.fake.add_hook_delivery("lost-one", status_code=202, redelivery=True)
        env.fake.repos[REPO].open_pr(2, repo.pulls[1]["base"]["sha"], head)
        assert apps.deliver(1, "pull_request", pull_request_event(repo, 2), "lost-one").status_code == 202
        apps.wait_idle()
        time.sleep(1.5)  # more rounds: nothing else is asked for
        attempts = env.fake.calls("POST", r"/app/hook/deliveries/\d+/attempts$")
        assert {r.path for r in attempts} == {f"/app/hook/deliveries/{lost['id']}/attempts"}
        listings = env.fake.calls("GET", r"/app/hook/deliveries$")
        assert any("cursor" in r.query for r in listings) and all(r.query.get("per_page") == "100" for r in listings)
        assert "lost-one" in {j["delivery"] for j in apps.store.jobs()}


# -- docker-compose.yml (no Docker engine here: read as Compose reads it) ----------------------------


def test_the_compose_file_runs_two_instances_on_postgres_with_the_tested_command() -> None:
    import json
    import re

    import yaml

    from tests.fake_github import ROOT

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)
    assert cmd is not None
    dockerfile_cmd = json.loads(cmd.group(1))
    apps = {name: s for name, s in services.items() if s.get("build") == "."}
    assert sorted(apps) == ["app-1", "app-2"]
    for service in apps.values():
        # The command the image runs, and the one the tests run (serve_subprocess: python -m guardian_app.serve).
        assert service["command"] == dockerfile_cmd
        assert service["command"][:3] == ["python", "-m", "guardian_app.serve"]
        env = service["environment"]
        assert env["GUARDIAN_DATABASE_URL"].startswith("postgresql://guardian:${GUARDIAN_DB_PASSWORD")
        assert env["GUARDIAN_DATABASE_URL"].endswith("@postgres:5432/guardian")
        assert env["GUARDIAN_PRIVATE_KEY_PATH"] == "/run/secrets/guardian_key"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "ports" not in service  # reached through the proxy
    database = services["postgres"]
    assert database["image"].startswith("postgres:")
    assert "guardian-db:/var/lib/postgresql/data" in database["volumes"]
    assert "guardian-db" in compose["volumes"]
    assert database["environment"]["POSTGRES_PASSWORD"].startswith("${GUARDIAN_DB_PASSWORD")
    proxy = services["proxy"]["command"]
    assert [proxy[i + 1] for i, arg in enumerate(proxy) if arg == "--to"] == ["app-1:8000", "app-2:8000"]
    assert services["proxy"]["ports"] == ["8000:8000"]
    # Every setting the compose file gives is one the App reads.
    from guardian_app.settings import VARIABLES

    for service in apps.values():
        assert set(service["environment"]) <= set(VARIABLES)
