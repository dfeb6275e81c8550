"""The App's HTTP surface: ``create_app(settings)`` and its routes.

- ``POST /webhook``: verify, record, acknowledge. The signature is checked
  over the raw bytes before anything is parsed; the job is in SQLite before
  the 202 goes out; the work happens in ``app.worker``. Whoever can reach
  the port can send anything, so the body must arrive within
  ``body_timeout`` (else 408 and the connection is closed), a client that
  hangs up mid-body is one INFO line, JSON nested past Python's recursion
  limit is a 400, and payload fields are validated (``app.events``).
- ``GET /healthz``: 200 while the queue's database answers.
- ``GET /metrics``: Prometheus text.

Run it with ``python -m app.serve`` (settings from the environment; uvicorn
with the server limits of ``app.serve``) or build it in code with
``create_app(Settings(...))``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import sys
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.requests import ClientDisconnect

from app import logs
from app.events import EVENTS, decide
from app.github import GitHubClient, read_bounded
from app.metrics import Metrics
from app.queue import SqliteQueue
from app.settings import Settings, SettingsError, from_env, validate
from app.state import SqliteState
from app.worker import Worker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from app.queue import Queue

log = logs.get("webhook")


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex>`` over the raw body, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode("ascii", "replace"))


async def _read_body(request: Request, limit: int, timeout: float) -> bytes | None:
    """The raw body, or None as soon as it passes ``limit`` bytes. Raises
    ``TimeoutError`` when it has not all arrived within ``timeout`` seconds
    (a half-sent body would hold its connection and task for ever), and
    ``ClientDisconnect`` when the client hangs up first."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    async with asyncio.timeout(timeout):
        return await read_bounded(request.stream(), limit)


def _parse_payload(body: bytes, content_type: str) -> dict[str, object] | None:
    """The JSON payload (GitHub may also send it form-encoded as ``payload=``)."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            from urllib.parse import parse_qs

            body = parse_qs(body.decode("utf-8"), strict_parsing=True)["payload"][0].encode("utf-8")
        data = json.loads(body)
    except (ValueError, KeyError, UnicodeDecodeError, RecursionError):
        # RecursionError: arrays or objects nested deeper than the parser recurses.
        return None
    return data if isinstance(data, dict) else None


class _Runtime:
    """What the lifespan opens and the routes use."""

    queue: Queue | None = None
    state: SqliteState | None = None
    worker: Worker | None = None


def create_app(
    settings: Settings | None = None, *, queue_factory: Callable[[Settings], Queue] | None = None
) -> FastAPI:
    """The App. Without ``settings`` they come from ``GUARDIAN_*`` variables
    (a missing one stops the process with a line naming it).
    ``queue_factory`` swaps the job queue (default: SQLite at ``db_path``)."""
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
    metrics = Metrics()
    secret = settings.webhook_secret.encode()
    runtime = _Runtime()
    #: Installations already recorded by this process (spares a write per delivery).
    known: set[int] = set()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        queue = queue_factory(settings) if queue_factory is not None else SqliteQueue(settings.db_path)
        state = SqliteState(settings.db_path)
        gh = GitHubClient(settings, metrics)
        worker = Worker(settings, queue, state, gh, metrics)
        metrics.set_queue_depth(lambda: float(queue.depth()))
        runtime.queue, runtime.state, runtime.worker = queue, state, worker
        app.state.queue, app.state.state, app.state.worker = queue, state, worker
        # The evaluation processes import and prime the core now, not while
        # the first pull request waits.
        await worker.warm_up()
        gh.app_jwt()
        worker.start()
        log.info("guardian app started (API %s, %d workers)", settings.api_url, settings.workers)
        try:
            yield
        finally:
            await worker.stop()
            await gh.aclose()
            queue.close()
            state.close()
            runtime.queue = runtime.state = runtime.worker = None

    app = FastAPI(title="Guardian", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.metrics = metrics

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        delivery = request.headers.get("x-github-delivery", "")
        event = request.headers.get("x-github-event", "")
        token = logs.delivery_id.set(delivery)
        try:
            response, outcome = await _handle(request, delivery, event)
        finally:
            logs.delivery_id.reset(token)
        # The header is the sender's to choose (the signature is not checked
        # yet for every outcome): only known names become label values.
        metrics.deliveries.inc(event if event in EVENTS else "other" if event else "none", outcome)
        metrics.ack_seconds.observe(time.perf_counter() - started)
        return response

    # A plain Starlette route: the webhook needs no validation or dependency
    # injection, and skipping them is a measurable part of the acknowledgement.
    app.add_route("/webhook", webhook, methods=["POST"])

    async def _handle(request: Request, delivery: str, event: str) -> tuple[Response, str]:
        try:
            body = await _read_body(request, settings.max_payload_bytes, settings.body_timeout)
        except TimeoutError:
            log.warning("body not received within %g s; connection closed", settings.body_timeout)
            # Connection: close makes the server drop the connection with the answer.
            return _answer(408, "the body did not arrive in time", close=True), "timeout"
        except ClientDisconnect:
            log.info("client disconnected before sending the whole body", extra={"event": event})
            return _answer(400, "incomplete body"), "disconnected"
        if body is None:
            log.warning("payload over %d bytes refused", settings.max_payload_bytes, extra={"event": event})
            return _answer(413, "payload too large"), "too_large"
        if not verify_signature(secret, body, request.headers.get("x-hub-signature-256")):
            log.warning("delivery refused: missing or wrong X-Hub-Signature-256", extra={"event": event})
            return _answer(401, "missing or wrong X-Hub-Signature-256"), "bad_signature"
        payload = _parse_payload(body, request.headers.get("content-type", ""))
        if payload is None:
            return _answer(400, "the body is not a JSON object"), "malformed"
        if event == "ping":
            return JSONResponse({"ok": True, "zen": payload.get("zen", "")}, status_code=200), "ping"
        if not delivery or not event:
            return _answer(400, "X-GitHub-Delivery and X-GitHub-Event headers are required"), "malformed"
        decision = decide(event, payload)
        queue, state, worker = runtime.queue, runtime.state, runtime.worker
        if queue is None or state is None or worker is None:
            return _answer(503, "starting"), "starting"
        action = str(payload.get("action", ""))
        extra = {"event": event, "action": action}

        if decision.installation is not None:
            if decision.forget_installation:
                state.forget_installation(decision.installation)
                known.discard(decision.installation)
                dropped = queue.drop_installation(decision.installation)
                log.info(
                    "installation %d removed (%d queued jobs dropped)", decision.installation, dropped, extra=extra
                )
            elif decision.installation not in known or event.startswith("installation"):
                state.remember_installation(decision.installation, decision.account, decision.repos_added)
                if decision.repos_removed:
                    state.remove_repos(decision.installation, decision.repos_removed)
                known.add(decision.installation)
        if event in ("installation", "installation_repositories") and not decision.ignored:
            return JSONResponse({"installation": decision.installation}, status_code=202), "installation"
        if decision.ignored or not decision.specs:
            log.info("ignored: %s", decision.ignored or "nothing to do", extra=extra)
            return JSONResponse({"ignored": decision.ignored or "nothing to do"}, status_code=202), "ignored"

        recorded = queue.record(delivery, event, decision.specs)
        if recorded.duplicate:
            log.info("duplicate delivery ignored", extra=extra)
            return JSONResponse({"duplicate": True}, status_code=200), "duplicate"
        worker.notify()
        if recorded.queued:
            metrics.jobs.inc("queued", amount=recorded.queued)
        if recorded.coalesced:
            metrics.jobs.inc("coalesced", amount=recorded.coalesced)
        log.info("queued %d, coalesced %d", recorded.queued, recorded.coalesced, extra=extra)
        return JSONResponse({"queued": recorded.queued, "coalesced": recorded.coalesced}, status_code=202), "queued"

    @app.get("/healthz")
    async def healthz() -> Response:
        queue = runtime.queue
        if queue is None:
            return _answer(503, "starting")
        try:
            depth = queue.depth()
        except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
            return _answer(503, f"queue unavailable: {type(exc).__name__}")
        return JSONResponse({"ok": True, "queue_depth": depth})

    @app.get("/metrics")
    async def metrics_route() -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def _answer(status: int, message: str, *, close: bool = False) -> Response:
    headers = {"Connection": "close"} if close else None
    return JSONResponse({"message": message}, status_code=status, headers=headers)
