"""The App: ``create_app(settings)`` wires the store, the GitHub client, the
workers and the routes together; it decides nothing itself.

- ``POST /webhook``: ``guardian_app.webhook`` (verify, decide, record, acknowledge).
- ``GET /healthz``: 200 while the store (its database) answers, 503 when not.
- ``GET /metrics``: Prometheus text (``guardian_app.metrics``).

The store is SQLite at ``db_path``, or PostgreSQL when ``database_url`` is
set (several instances share it: ``guardian_app.store.postgres``). Besides
the worker, the lifespan runs the redelivery rounds (``guardian_app.redeliver``)
and, with PostgreSQL, wakes the workers when another instance queues a job.

Run it with ``python -m guardian_app.serve`` (settings from the environment; uvicorn
with the server limits of ``guardian_app.serve``) or build it in code with
``create_app(Settings(...))``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from guardian_app import logs
from guardian_app.github import GitHubClient
from guardian_app.metrics import Metrics
from guardian_app.redeliver import Redeliver
from guardian_app.settings import Settings, SettingsError, from_env, validate
from guardian_app.store import AsyncStore
from guardian_app.store.sqlite import SqliteStore
from guardian_app.webhook import Webhook, answer
from guardian_app.worker import Worker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from guardian_app.store import Store

log = logs.get("webhook")
#: Seconds ``/healthz`` and the scrape wait for the store before calling it unreachable.
HEALTH_TIMEOUT = 5.0


def _settings(settings: Settings | None) -> Settings:
    """The settings given, else from ``GUARDIAN_*`` variables (a missing one
    stops the process with a line naming it)."""
    if settings is None:
        try:
            settings = from_env()
        except SettingsError as exc:
            # Run by uvicorn: one clear line and a non-zero exit, no traceback.
            print(f"guardian app: refusing to start: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    settings = validate(settings)
    for value in settings.secrets():
        logs.SCRUBBER.add(value)
    logs.configure(settings.log_level)
    return settings


def _sqlite(settings: Settings) -> Store:
    return SqliteStore(settings.db_path)


def default_store(settings: Settings) -> Store:
    """PostgreSQL when ``database_url`` is set, else SQLite at ``db_path``."""
    if settings.database_url:
        from guardian_app.store.postgres import PostgresStore

        return PostgresStore(settings.database_url, lease_seconds=settings.lease_seconds)
    return _sqlite(settings)


def create_app(
    settings: Settings | None = None, *, store_factory: Callable[[Settings], Store] | None = None
) -> FastAPI:
    """The App. ``store_factory`` swaps the store (default: SQLite at ``db_path``)."""
    settings = _settings(settings)
    metrics = Metrics()
    webhook = Webhook(settings, metrics)
    make_store = store_factory or default_store

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = AsyncStore(await _open(make_store, settings), observe=metrics.store_seconds.observe)
        gh = GitHubClient(settings, metrics)
        worker = Worker(settings, store, gh, metrics)
        redeliver = Redeliver(settings, store, gh, metrics)
        background: list[asyncio.Task[None]] = []
        # For operators and tests: the store itself (its calls block) and the worker.
        app.state.store, app.state.worker = store.store, worker
        try:
            # The evaluation processes import and prime the core now, not while
            # the first pull request waits.
            await worker.warm_up()
            gh.app_jwt()
            await worker.start()
            webhook.store, webhook.notify = store, worker.notify
            _listen(store.store, worker.notify)
            background.append(asyncio.create_task(redeliver.loop(), name="guardian-redeliver"))
            log.info(
                "guardian app started (API %s, %d workers, store %s)",
                settings.api_url,
                settings.workers,
                settings.database_shown if settings.database_url else settings.db_path,
            )
            yield
        finally:
            webhook.store = None
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await worker.stop()
            await gh.aclose()
            await store.close()

    app = FastAPI(title="Guardian", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.metrics = metrics
    # A plain Starlette route: the webhook needs no validation or dependency
    # injection, and skipping them is a measurable part of the acknowledgement.
    app.add_route("/webhook", webhook.handle, methods=["POST"])

    kind = "postgresql" if settings.database_url else "sqlite"

    @app.get("/healthz")
    async def healthz() -> Response:
        store = webhook.store
        if store is None:
            return answer(503, "starting")
        try:
            depth = await asyncio.wait_for(store.depth(), HEALTH_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
            return JSONResponse(
                {
                    "ok": False,
                    "message": f"queue unavailable: {type(exc).__name__}",
                    "database": "unreachable",
                    "store": kind,
                },
                status_code=503,
            )
        return JSONResponse({"ok": True, "queue_depth": depth, "database": "reachable", "store": kind})

    @app.get("/metrics")
    async def metrics_route() -> Response:
        store = webhook.store
        depth: float | None = None
        instances: float | None = None
        if store is not None:
            with contextlib.suppress(Exception):  # a failing gauge must not break the scrape
                depth = float(await asyncio.wait_for(store.depth(), HEALTH_TIMEOUT))
                instances = float(await asyncio.wait_for(store.instances_seen(), HEALTH_TIMEOUT))
        text = metrics.render(queue_depth=depth, instances=instances)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def _listen(store: Store, notify: Callable[[], None]) -> None:
    """Wake this instance's workers when any instance queues or ends a job
    (a store that can tell: PostgreSQL's LISTEN/NOTIFY)."""
    listen = getattr(store, "listen", None)
    if not callable(listen):
        return
    loop = asyncio.get_running_loop()

    def wake() -> None:
        loop.call_soon_threadsafe(notify)

    listen(wake)


async def _open(make_store: Callable[[Settings], Store], settings: Settings) -> Store:
    """The store, opened off the event loop (opening migrates and prunes)."""
    return await asyncio.to_thread(make_store, settings)
