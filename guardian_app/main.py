"""The App: ``create_app(settings)`` wires the store, the GitHub client, the
workers and the routes together; it decides nothing itself.

- ``POST /webhook``: ``guardian_app.webhook`` (verify, decide, record, acknowledge).
- ``GET /healthz``: 200 while the store answers.
- ``GET /metrics``: Prometheus text (``guardian_app.metrics``).

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


def create_app(
    settings: Settings | None = None, *, store_factory: Callable[[Settings], Store] | None = None
) -> FastAPI:
    """The App. ``store_factory`` swaps the store (default: SQLite at ``db_path``)."""
    settings = _settings(settings)
    metrics = Metrics()
    webhook = Webhook(settings, metrics)
    make_store = store_factory or _sqlite

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = AsyncStore(await _open(make_store, settings))
        gh = GitHubClient(settings, metrics)
        worker = Worker(settings, store, gh, metrics)
        # For operators and tests: the store itself (its calls block) and the worker.
        app.state.store, app.state.worker = store.store, worker
        try:
            # The evaluation processes import and prime the core now, not while
            # the first pull request waits.
            await worker.warm_up()
            gh.app_jwt()
            await worker.start()
            webhook.store, webhook.notify = store, worker.notify
            log.info("guardian app started (API %s, %d workers)", settings.api_url, settings.workers)
            yield
        finally:
            webhook.store = None
            await worker.stop()
            await gh.aclose()
            await store.close()

    app = FastAPI(title="Guardian", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.metrics = metrics
    # A plain Starlette route: the webhook needs no validation or dependency
    # injection, and skipping them is a measurable part of the acknowledgement.
    app.add_route("/webhook", webhook.handle, methods=["POST"])

    @app.get("/healthz")
    async def healthz() -> Response:
        store = webhook.store
        if store is None:
            return answer(503, "starting")
        try:
            depth = await store.depth()
        except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
            return answer(503, f"queue unavailable: {type(exc).__name__}")
        return JSONResponse({"ok": True, "queue_depth": depth})

    @app.get("/metrics")
    async def metrics_route() -> Response:
        store = webhook.store
        depth: float | None = None
        if store is not None:
            with contextlib.suppress(Exception):  # a failing gauge must not break the scrape
                depth = float(await store.depth())
        text = metrics.render(queue_depth=depth)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


async def _open(make_store: Callable[[Settings], Store], settings: Settings) -> Store:
    """The store, opened off the event loop (opening migrates and prunes)."""
    return await asyncio.to_thread(make_store, settings)
