"""The App: ``create_app(settings)`` wires the store, the webhook, the
workers and the routes together; it decides nothing itself.

- ``POST /webhook``: ``guardian_app.webhook`` (verify, decide, record, acknowledge).
- ``GET /healthz``: 200 while the store (its database) answers, 503 when not.
- ``GET /metrics``: Prometheus text (``guardian_app.metrics``), this
  process's counts and the workers' process's added together.

The store is SQLite at ``db_path``, or PostgreSQL when ``database_url`` is
set (several instances share it: ``guardian_app.store.postgres``). The
workers, the reconcile and the redelivery rounds (``guardian_app.background``)
run in a process of their own that this one starts, watches and stops; with
``Settings.worker_process`` off they share this process's event loop.

Run it with ``python -m guardian_app.serve`` (settings from the environment; uvicorn
with the server limits of ``guardian_app.serve``) or build it in code with
``create_app(Settings(...))``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from guardian_app import logs
from guardian_app.background import Crew, WorkerProcess
from guardian_app.metrics import Metrics
from guardian_app.settings import Settings, SettingsError, from_env, validate
from guardian_app.store import AsyncStore, open_store
from guardian_app.webhook import Webhook, answer

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


def create_app(
    settings: Settings | None = None, *, store_factory: Callable[[Settings], Store] | None = None
) -> FastAPI:
    """The App. ``store_factory`` swaps the store (default: ``open_store``);
    with ``worker_process`` it must pickle (a module-level function), since
    the workers' process opens its own."""
    settings = _settings(settings)
    metrics = Metrics()
    webhook = Webhook(settings, metrics)
    make_store = store_factory or open_store
    # The webhook's process claims nothing when the workers have their own.
    intake_store = (
        functools.partial(open_store, heartbeat=False)
        if settings.worker_process and store_factory is None
        else make_store
    )
    workers: WorkerProcess | None = None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal workers
        store = AsyncStore(await _open(intake_store, settings), observe=metrics.store_seconds.observe)
        crew: Crew | None = None
        # For operators and tests: the store itself (its calls block), and the workers when in this process.
        app.state.store, app.state.worker = store.store, None
        try:
            if settings.worker_process:
                workers = WorkerProcess(settings, make_store)
                await workers.start()
                webhook.notify = workers.notify
            else:
                crew = Crew(settings, store, metrics)
                app.state.worker = crew.worker
                await crew.start()
                webhook.notify = crew.notify
            webhook.store = store
            log.info(
                "guardian app started (API %s, %d workers%s, store %s)",
                settings.api_url,
                settings.workers,
                " in their own process" if settings.worker_process else "",
                settings.database_shown if settings.database_url else settings.db_path,
            )
            yield
        finally:
            webhook.store = None
            if workers is not None:
                await workers.stop()
            if crew is not None:
                await crew.stop()
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
        body = {"ok": True, "queue_depth": depth, "database": "reachable", "store": kind}
        if workers is not None:
            # Deliveries are recorded either way; a dead workers' process is being restarted.
            body["workers"] = "running" if workers.running else "restarting"
        return JSONResponse(body)

    @app.get("/metrics")
    async def metrics_route() -> Response:
        store = webhook.store
        depth: float | None = None
        instances: float | None = None
        if store is not None:
            with contextlib.suppress(Exception):  # a failing gauge must not break the scrape
                depth = float(await asyncio.wait_for(store.depth(), HEALTH_TIMEOUT))
                instances = float(await asyncio.wait_for(store.instances_seen(), HEALTH_TIMEOUT))
        others = []
        if workers is not None and (state := await workers.metrics_state()) is not None:
            others.append(state)
        text = metrics.render(queue_depth=depth, instances=instances, others=others)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


async def _open(make_store: Callable[[Settings], Store], settings: Settings) -> Store:
    """The store, opened off the event loop (opening migrates and prunes)."""
    return await asyncio.to_thread(make_store, settings)
