"""``POST /webhook``: verify, decide, record, acknowledge.

The signature is checked over the raw bytes, in constant time, before
anything is parsed; the decision is ``guardian_app.events``'s (a pure function of
the payload); the jobs are in the store before the 202 goes out; the work
happens in ``guardian_app.worker``. Whoever can reach the port can send anything, so
the body must arrive within ``body_timeout`` (else 408 and the connection
is closed) and within ``max_payload_bytes`` (else 413), a client that hangs
up mid-body is one INFO line, and JSON nested past Python's recursion limit
is a 400.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from guardian_app import logs
from guardian_app.events import EVENTS, decide
from guardian_app.github import read_bounded

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import Request
    from fastapi.responses import Response

    from guardian_app.events import Decision
    from guardian_app.metrics import Metrics
    from guardian_app.settings import Settings
    from guardian_app.store import AsyncStore

log = logs.get("webhook")


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex>`` over the raw body, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode("ascii", "replace"))


async def read_body(request: Request, limit: int, timeout: float) -> bytes | None:
    """The raw body, or None as soon as it passes ``limit`` bytes. Raises
    ``TimeoutError`` when it has not all arrived within ``timeout`` seconds
    (a half-sent body would hold its connection and task for ever), and
    ``ClientDisconnect`` when the client hangs up first."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    async with asyncio.timeout(timeout):
        return await read_bounded(request.stream(), limit)


def parse_payload(body: bytes, content_type: str) -> dict[str, object] | None:
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


def answer(status: int, message: str, *, close: bool = False) -> Response:
    headers = {"Connection": "close"} if close else None
    return JSONResponse({"message": message}, status_code=status, headers=headers)


class Webhook:
    """The route (``handle``). The App's lifespan sets ``store`` and
    ``notify``; until then a verified delivery is answered 503."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.secret = settings.webhook_secret.encode()
        self.store: AsyncStore | None = None
        #: Wakes the workers once a job is recorded.
        self.notify: Callable[[], None] = lambda: None
        #: Installations already recorded by this process (spares a write per delivery).
        self.known: set[int] = set()
        #: Installations being recorded now, for the deliveries that arrive meanwhile.
        self._remembering: dict[int, asyncio.Future[None]] = {}

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        delivery = request.headers.get("x-github-delivery", "")
        event = request.headers.get("x-github-event", "")
        token = logs.delivery_id.set(delivery)
        try:
            response, outcome = await self._handle(request, delivery, event)
        finally:
            logs.delivery_id.reset(token)
        # The header is the sender's to choose (the signature is not checked
        # yet for every outcome): only known names become label values.
        self.metrics.deliveries.inc(event if event in EVENTS else "other" if event else "none", outcome)
        self.metrics.ack_seconds.observe(time.perf_counter() - started)
        return response

    async def _handle(self, request: Request, delivery: str, event: str) -> tuple[Response, str]:
        """(answer, outcome label) of one delivery."""
        settings = self.settings
        try:
            body = await read_body(request, settings.max_payload_bytes, settings.body_timeout)
        except TimeoutError:
            log.warning("body not received within %g s; connection closed", settings.body_timeout)
            # Connection: close makes the server drop the connection with the answer.
            return answer(408, "the body did not arrive in time", close=True), "timeout"
        except ClientDisconnect:
            log.info("client disconnected before sending the whole body", extra={"event": event})
            return answer(400, "incomplete body"), "disconnected"
        if body is None:
            log.warning("payload over %d bytes refused", settings.max_payload_bytes, extra={"event": event})
            return answer(413, "payload too large"), "too_large"
        if not verify_signature(self.secret, body, request.headers.get("x-hub-signature-256")):
            log.warning("delivery refused: missing or wrong X-Hub-Signature-256", extra={"event": event})
            return answer(401, "missing or wrong X-Hub-Signature-256"), "bad_signature"
        payload = parse_payload(body, request.headers.get("content-type", ""))
        if payload is None:
            return answer(400, "the body is not a JSON object"), "malformed"
        if event == "ping":
            return JSONResponse({"ok": True, "zen": payload.get("zen", "")}, status_code=200), "ping"
        if not delivery or not event:
            return answer(400, "X-GitHub-Delivery and X-GitHub-Event headers are required"), "malformed"
        decision = decide(event, payload)
        store = self.store
        if store is None:
            return answer(503, "starting"), "starting"
        extra = {"event": event, "action": str(payload.get("action", ""))}
        await self._installation(store, decision, event, extra)
        if event in ("installation", "installation_repositories") and not decision.ignored:
            return JSONResponse({"installation": decision.installation}, status_code=202), "installation"
        if decision.cancel_head:
            cancelled = await store.cancel_waiting(decision.cancel_repo, decision.cancel_head, decision.cancel_reason)
            log.info("%s: %d waiting jobs cancelled", decision.cancel_reason, cancelled, extra=extra)
            return JSONResponse({"cancelled": cancelled}, status_code=202), "cancelled"
        if decision.ignored or not decision.specs:
            log.info("ignored: %s", decision.ignored or "nothing to do", extra=extra)
            return JSONResponse({"ignored": decision.ignored or "nothing to do"}, status_code=202), "ignored"
        return await self._record(store, delivery, event, decision, extra)

    async def _installation(self, store: AsyncStore, decision: Decision, event: str, extra: dict[str, str]) -> None:
        """Remember or forget the delivery's installation (once per process
        for an installation's ordinary deliveries)."""
        installation = decision.installation
        if installation is None:
            return
        if decision.forget_installation:
            self.known.discard(installation)
            dropped = await store.drop_installation(installation)
            log.info("installation %d removed (%d queued jobs dropped)", installation, dropped, extra=extra)
        elif event.startswith("installation"):
            await store.remember_installation(
                installation, decision.account, added=decision.repos_added, removed=decision.repos_removed
            )
            self.known.add(installation)
        elif installation not in self.known:
            await self._remember_once(store, installation, decision.account)

    async def _remember_once(self, store: AsyncStore, installation: int, account: str) -> None:
        """Remember an installation first heard of in an ordinary delivery,
        once however many of its deliveries arrive together: a burst after
        a start would otherwise write (and, with several instances, lock)
        the same row once per delivery while each waits to be acknowledged."""
        pending = self._remembering.get(installation)
        if pending is None:
            pending = asyncio.ensure_future(store.remember_installation(installation, account))
            self._remembering[installation] = pending

            def settled(_future: asyncio.Future[None]) -> None:
                self._remembering.pop(installation, None)
                if not _future.cancelled() and _future.exception() is None:
                    self.known.add(installation)

            pending.add_done_callback(settled)
        await asyncio.shield(pending)

    async def _record(
        self, store: AsyncStore, delivery: str, event: str, decision: Decision, extra: dict[str, str]
    ) -> tuple[Response, str]:
        recorded = await store.record(delivery, event, decision.specs)
        if recorded.duplicate:
            log.info("duplicate delivery ignored", extra=extra)
            return JSONResponse({"duplicate": True}, status_code=200), "duplicate"
        self.notify()
        metrics = self.metrics
        if recorded.queued:
            metrics.jobs.inc("queued", amount=recorded.queued)
        if recorded.coalesced:
            metrics.jobs.inc("coalesced", amount=recorded.coalesced)
        log.info("queued %d, coalesced %d", recorded.queued, recorded.coalesced, extra=extra)
        return JSONResponse({"queued": recorded.queued, "coalesced": recorded.coalesced}, status_code=202), "queued"
