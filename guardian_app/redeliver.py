"""Lost deliveries asked for again: GitHub never redelivers a failed delivery by itself.

A delivery that met no instance (all down, a deploy gap, a network cut)
is lost unless the App asks for it. At start-up and every
``redeliver_interval`` seconds, one instance at a time (the store's
singleton ``redeliver``) runs a round:

1. it lists the App's recent deliveries, ``GET /app/hook/deliveries``
   (with the App's JWT, newest first, ``per_page=100``, following the
   ``Link`` header's cursor), back to ``redeliver_window`` seconds and
   at most ``MAX_PAGES`` pages;
2. it groups them by ``guid`` (the ``X-GitHub-Delivery`` id; a
   redelivery keeps it): a guid is lost when none of its attempts was
   answered with a 2xx (``status`` ``OK``), the store has not recorded it,
   and GitHub has not been asked for it ``MAX_ATTEMPTS`` times already
   (its attempts are listed too);
3. for each lost guid, newest first, up to ``redeliver_limit`` per round,
   it asks ``POST /app/hook/deliveries/{id}/attempts`` (202). It stops
   early when the App's rate limit runs low (``RATE_RESERVE``) or the
   client would have to wait for it.

An event the App ignores is answered 2xx and never recorded: once its
redelivery is answered, the guid has an ``OK`` attempt and is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time

from guardian_app import logs
from guardian_app.github import GitHubError, RateLimited
from guardian_app.names import github_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian_app.github import GitHubClient
    from guardian_app.metrics import Metrics
    from guardian_app.settings import Settings
    from guardian_app.store import AsyncStore

log = logs.get("worker")
SINGLETON = "redeliver"
#: Delivery listings read per round (100 deliveries each).
MAX_PAGES = 10
#: Attempts GitHub lists for a guid (the first and its redeliveries) past which it is not asked again.
MAX_ATTEMPTS = 3
#: No redelivery request while fewer App requests than this are left.
RATE_RESERVE = 50
#: Seconds before this instance asks again for a guid it asked for (GitHub lists the new attempt a moment later).
REASK_AFTER = 600.0


def _epoch(text: object) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def failed(item: dict[str, object]) -> bool:
    """Was this attempt not answered with a 2xx (an error status, a timeout, no answer)?"""
    code = item.get("status_code")
    if not isinstance(code, int) or isinstance(code, bool) or code <= 0 or code >= 300:
        return True
    return item.get("status") != "OK"


class Redeliver:
    def __init__(self, settings: Settings, store: AsyncStore, gh: GitHubClient, metrics: Metrics) -> None:
        self.settings = settings
        self.store = store
        self.gh = gh
        self.metrics = metrics
        #: guid -> when this instance asked for it.
        self._asked: dict[str, float] = {}

    async def loop(self) -> None:
        """A round now and every ``redeliver_interval`` seconds."""
        interval = self.settings.redeliver_interval
        if interval <= 0:
            return
        while True:
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed round must not stop the next
                log.warning("redelivery round stopped: %s", logs.SCRUBBER.scrub(str(exc)))
            await asyncio.sleep(interval)

    async def run(self) -> int:
        """One round, unless another instance runs one or ran one lately; redeliveries requested."""
        if not await self.store.try_singleton(SINGLETON, self.settings.redeliver_interval / 2):
            return 0
        try:
            return await self._round()
        finally:
            await self.store.release_singleton(SINGLETON)

    async def _round(self) -> int:
        now = time.time()
        self._asked = {guid: at for guid, at in self._asked.items() if now - at < REASK_AFTER}
        lost = [(i, guid) for i, guid in await self._lost() if guid not in self._asked]
        requested = 0
        for delivery_id, guid in lost[: self.settings.redeliver_limit]:
            remaining = self.gh.remaining(None)
            if remaining is not None and remaining < RATE_RESERVE:
                log.warning("redelivery round stops: %d App requests left", remaining)
                break
            try:
                await self.gh.request("POST", f"/app/hook/deliveries/{delivery_id}/attempts", purpose="redeliver")
            except RateLimited as exc:
                log.warning("redelivery round stops for the rate limit: %s", exc)
                break
            except GitHubError as exc:
                # 422: too old to redeliver, or GitHub refuses it; the others may still go.
                self.metrics.redeliveries.inc("refused")
                log.warning("redelivery of %s refused: %s", guid, exc)
                continue
            self._asked[guid] = time.time()
            self.metrics.redeliveries.inc("requested")
            requested += 1
            log.info("asked GitHub to send delivery %s again (attempt id %d)", guid, delivery_id)
        if len(lost) > self.settings.redeliver_limit:
            log.warning("%d lost deliveries wait for the next round", len(lost) - self.settings.redeliver_limit)
        return requested

    async def _lost(self) -> list[tuple[int, str]]:
        """(attempt id to redeliver, guid) of every lost delivery in the window, newest first."""
        cutoff = time.time() - self.settings.redeliver_window
        attempts: dict[str, list[tuple[int, bool]]] = {}
        order: list[str] = []
        pages = 0
        listing = self.gh.paginate("/app/hook/deliveries", installation=None, purpose="redeliver")
        async with contextlib.aclosing(listing) as pages_iter:  # type: ignore[type-var]
            async for page in pages_iter:
                pages += 1
                old = False
                for item in page:
                    if not isinstance(item, dict):
                        continue
                    when = _epoch(item.get("delivered_at"))
                    if when is not None and when < cutoff:
                        old = True
                        continue
                    delivery_id = github_id(item.get("id"))
                    guid = item.get("guid")
                    if delivery_id is None or not isinstance(guid, str) or not 0 < len(guid) <= 100:
                        continue
                    if guid not in attempts:
                        attempts[guid] = []
                        order.append(guid)
                    attempts[guid].append((delivery_id, failed(item)))
                if old or pages >= MAX_PAGES:
                    break
        candidates = [
            guid for guid in order if all(bad for _id, bad in attempts[guid]) and len(attempts[guid]) < MAX_ATTEMPTS + 1
        ]
        if not candidates:
            return []
        recorded = await self.store.recorded_deliveries(candidates)
        return [(attempts[guid][0][0], guid) for guid in candidates if guid not in recorded]
