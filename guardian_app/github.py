"""A small GitHub REST client: App JWT, installation tokens, retries, rate limits.

One ``httpx.AsyncClient`` serves every request of the process. The retry
policy is explicit:

- 5xx answers, timeouts and connection errors: retried with exponential
  backoff and jitter, ``http_retries`` times.
- 403/429 that are rate limits: wait ``Retry-After`` if given, else until
  ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else back off
  (at least a minute at the default backoff, as GitHub asks for secondary
  limits). A wait longer than ``max_retry_wait`` raises ``RateLimited`` so the
  job goes back to the queue instead of holding a worker.
- 401 on an installation token: the token is dropped, fetched again, and the
  request retried once.
- Any other 4xx raises ``GitHubError`` at once (retrying will not help).
- A write that must not be repeated blindly (``idempotent=False``: creating
  a check run) is retried only when GitHub surely did not act on it (it
  refused it, or the connection never opened). A 5xx answer or a connection
  lost after sending raises ``Unanswered`` instead: the write may have been
  done, and the caller looks before writing again (``create_once``).
- Every answer's body is read as a stream and abandoned past a size bound
  (``max_response_bytes``, or the caller's own, e.g. a blob's): ``TooLarge``.
- A path is sent only if each of its segments is plain (``guardian_app.names``): a
  dot segment or an escape from a hostile name would otherwise be resolved
  by the client into another endpoint, with the credential attached.

The client remembers the last rate-limit headers per credential and waits
before a request it knows would be refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import random
import time

import httpx

from guardian_app import logs
from guardian_app.names import is_safe_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
    from typing import Any

    from guardian_app.metrics import Metrics
    from guardian_app.settings import Settings

API_VERSION = "2022-11-28"
USER_AGENT = "guardian-app"
_RETRY_STATUSES = (500, 502, 503, 504)
#: Transport errors raised before a request went out: retrying cannot repeat a write.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
log = logs.get("github")
#: ``create_once`` writes on a job's behalf; its lines keep the logger name
#: they had when the worker sent these requests (operators filter on it).
_job_log = logs.get("worker")


async def read_bounded(chunks: AsyncIterator[bytes], limit: int) -> bytes | None:
    """The bytes of a stream, or None as soon as they pass ``limit``: a body
    is never held past its bound, whatever its headers claimed."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


class GitHubError(Exception):
    """GitHub answered with an error we do not retry (or retried in vain)."""

    def __init__(self, status: int, method: str, path: str, message: str) -> None:
        super().__init__(f"GitHub {method} {path}: {status or 'no answer'}: {message}")
        self.status = status


class RateLimited(GitHubError):
    """The rate limit asks for a longer wait than a worker should sit through."""

    def __init__(self, method: str, path: str, retry_at: float) -> None:
        super().__init__(429, method, path, f"rate limited until {time.strftime('%H:%M:%S', time.gmtime(retry_at))}")
        self.retry_at = retry_at


class Unanswered(GitHubError):
    """A write may or may not have been done: GitHub answered 5xx, or the
    connection was lost after the request went out (``idempotent=False``)."""


class TooLarge(GitHubError):
    """An answer's body passed the size bound; it was not read to the end."""

    def __init__(self, method: str, path: str, limit: int) -> None:
        super().__init__(413, method, path, f"answer larger than {limit:,} bytes; not read")
        self.limit = limit


class _Overflow(Exception):
    """Raised by ``GitHubClient._send`` when a body passes its bound."""


class CallCounter:
    """REST requests sent on behalf of one job, by purpose.

    Purposes: ``read`` (what an evaluation needs besides blobs), ``blob``,
    ``write`` (check run, status, comment), ``auth`` (installation tokens).
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, purpose: str) -> None:
        self.counts[purpose] = self.counts.get(purpose, 0) + 1

    def __getitem__(self, purpose: str) -> int:
        return self.counts.get(purpose, 0)


#: The counter of the job running in this context (None outside jobs).
current_calls: contextvars.ContextVar[CallCounter | None] = contextvars.ContextVar("current_calls", default=None)


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])[:200]
    return response.text[:200]


class GitHubClient:
    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        *,
        sleep: Callable[[float], Coroutine[object, object, None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._sleep = sleep
        self._clock = clock
        self.base_url = settings.api_url.rstrip("/")
        self.http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            timeout=httpx.Timeout(settings.http_timeout, connect=min(settings.http_timeout, 5.0)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            headers={"User-Agent": USER_AGENT, "X-GitHub-Api-Version": API_VERSION},
            follow_redirects=False,
        )
        self._key: object = None
        self._jwt: tuple[str, float] = ("", 0.0)
        self._tokens: dict[int, tuple[str, float]] = {}
        self._token_locks: dict[int, asyncio.Lock] = {}
        #: credential -> (remaining, reset epoch) from the last answer.
        self._limits: dict[str, tuple[int, float]] = {}

    async def aclose(self) -> None:
        await self.http.aclose()
        logs.SCRUBBER.discard(self._jwt[0])
        for token, _expires in self._tokens.values():
            logs.SCRUBBER.discard(token)
        self._tokens.clear()
        self._jwt = ("", 0.0)

    # -- credentials --------------------------------------------------------

    def app_jwt(self) -> str:
        """The App's own JWT (RS256): ``iat`` 60 s back for clock drift, ``exp``
        ten minutes after ``iat``. Reused until a minute before it expires."""
        import jwt

        now = int(self._clock())
        token, expires = self._jwt
        if token and now < expires - 60:
            return token
        if self._key is None:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            self._key = load_pem_private_key(self.settings.private_key.encode(), password=None)
        claims = {"iat": now - 60, "exp": now - 60 + 600, "iss": self.settings.app_id}
        token = jwt.encode(claims, self._key, algorithm="RS256")  # type: ignore[arg-type]
        logs.SCRUBBER.discard(self._jwt[0])
        logs.SCRUBBER.add(token)
        self._jwt = (token, float(now - 60 + 600))
        return token

    async def installation_token(self, installation_id: int) -> str:
        """A token for the installation, cached until a minute before ``expires_at``."""
        token, expires = self._tokens.get(installation_id, ("", 0.0))
        if token and self._clock() < expires - 60:
            return token
        lock = self._token_locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            token, expires = self._tokens.get(installation_id, ("", 0.0))
            if token and self._clock() < expires - 60:
                return token
            response = await self.request("POST", f"/app/installations/{installation_id}/access_tokens", purpose="auth")
            data = response.json()
            token = str(data["token"])
            # The scrubber holds the tokens in use, not every token ever issued.
            logs.SCRUBBER.discard(self._tokens.get(installation_id, ("", 0.0))[0])
            logs.SCRUBBER.add(token)
            self._tokens[installation_id] = (
                token,
                _parse_time(str(data.get("expires_at", ""))) or self._clock() + 3000,
            )
            return token

    def forget_token(self, installation_id: int, token: str | None = None) -> None:
        """Drop the cached token (only if it is still ``token``: a request
        refused with an old token must not throw away a fresh one)."""
        cached = self._tokens.get(installation_id)
        if cached is not None and (token is None or cached[0] == token):
            del self._tokens[installation_id]
            logs.SCRUBBER.discard(cached[0])

    # -- requests -----------------------------------------------------------

    async def back_off(self, attempt: int) -> None:
        """Sleep as the client does before its ``attempt``-th retry (0-based)."""
        await self._sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        delay: float = self.settings.retry_backoff * (1 << attempt) * random.uniform(0.5, 1.0)
        return min(delay, self.settings.max_retry_wait)

    def _rate_limit_wait(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying a 403/429, or None if it is no rate limit."""
        retry_after = response.headers.get("retry-after")
        if retry_after:
            if retry_after.strip().isdigit():
                return float(retry_after)
            when = _parse_http_date(retry_after)
            if when is not None:
                return max(0.0, when - self._clock())
        if response.headers.get("x-ratelimit-remaining") == "0" and response.headers.get("x-ratelimit-reset"):
            try:
                return max(0.0, float(response.headers["x-ratelimit-reset"]) - self._clock()) + 1.0
            except ValueError:
                pass
        if response.status_code == 429 or "rate limit" in response.text[:500].lower():
            # GitHub asks for at least a minute when it gives no hint.
            return 60 * self.settings.retry_backoff + self._backoff(attempt)
        return None

    def _remember_limit(self, key: str, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        if remaining is not None and reset is not None:
            with contextlib.suppress(ValueError):
                self._limits[key] = (int(remaining), float(reset))

    def remaining(self, installation_id: int | None) -> int | None:
        """Requests left for a credential as GitHub last reported, if known."""
        key = f"inst:{installation_id}" if installation_id is not None else "app"
        known = self._limits.get(key)
        if known is None or known[1] < self._clock():
            return None
        return known[0]

    async def request(
        self,
        method: str,
        path: str,
        *,
        installation: int | None = None,
        json: object = None,
        params: dict[str, str | int] | None = None,
        accept: str = "application/vnd.github+json",
        purpose: str = "read",
        allow: tuple[int, ...] = (),
        max_bytes: int | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send one request with the retry policy; statuses in ``allow`` are
        returned instead of raised (e.g. 404 for "no such file"). A body
        larger than ``max_bytes`` (default: the ``max_response_bytes``
        setting) raises ``TooLarge`` without being read to its end.
        ``idempotent=False``: no blind retry when the request may have been
        carried out (``Unanswered``)."""
        limit = self.settings.max_response_bytes if max_bytes is None else max_bytes
        if path.startswith(("http://", "https://")):
            if not path.startswith(self.base_url + "/"):
                raise GitHubError(0, method, path, "refusing to send credentials outside the API base URL")
            path = path[len(self.base_url) :]
        if not is_safe_path(path.partition("?")[0]):
            # 400: a name that cannot be sent will not become sendable on a retry.
            raise GitHubError(400, method, path[:200], "refusing to send a request to a path with unsafe segments")
        key = f"inst:{installation}" if installation is not None else "app"
        counter = current_calls.get()
        attempt = 0
        refreshed = False
        while True:
            await self._wait_for_known_limit(key, method, path)
            if installation is not None:
                credential = await self.installation_token(installation)
                auth = "token " + credential
            else:
                credential = self.app_jwt()
                auth = "Bearer " + credential
            if counter is not None:
                counter.add(purpose)
            try:
                response = await self._send(
                    self.http.build_request(
                        method, path, json=json, params=params, headers={"Authorization": auth, "Accept": accept}
                    ),
                    limit,
                )
            except _Overflow:
                self.metrics.github_calls.inc("too_large")
                raise TooLarge(method, path, limit) from None
            except httpx.TransportError as exc:  # timeouts, refused or reset connections
                self.metrics.github_calls.inc("error")
                if not idempotent and not isinstance(exc, _NOT_SENT):
                    raise Unanswered(0, method, path, f"{type(exc).__name__}: {exc}") from None
                if attempt >= self.settings.http_retries:
                    raise GitHubError(0, method, path, f"{type(exc).__name__}: {exc}") from None
                delay = self._backoff(attempt)
                log.warning("GitHub %s %s failed (%s); retrying in %.2fs", method, path, type(exc).__name__, delay)
                await self._sleep(delay)
                attempt += 1
                continue
            status = response.status_code
            self.metrics.github_calls.inc(str(status))
            self._remember_limit(key, response)
            if status == 401 and installation is not None and not refreshed:
                # The token was revoked or expired early: fetch a new one once.
                self.forget_token(installation, credential)
                refreshed = True
                continue
            if status in (403, 429):
                wait = self._rate_limit_wait(response, attempt)
                if wait is not None:
                    if wait > self.settings.max_retry_wait or attempt >= self.settings.http_retries:
                        raise RateLimited(method, path, self._clock() + wait)
                    log.warning("GitHub %s %s rate limited (%s); waiting %.2fs", method, path, status, wait)
                    await self._sleep(wait)
                    attempt += 1
                    continue
            if status in _RETRY_STATUSES:
                if not idempotent:
                    raise Unanswered(status, method, path, _message(response))
                if attempt >= self.settings.http_retries:
                    raise GitHubError(status, method, path, _message(response))
                delay = self._backoff(attempt)
                log.warning("GitHub %s %s answered %s; retrying in %.2fs", method, path, status, delay)
                await self._sleep(delay)
                attempt += 1
                continue
            if status >= 400 and status not in allow:
                raise GitHubError(status, method, path, _message(response))
            return response

    async def create_once(
        self,
        what: str,
        path: str,
        *,
        installation: int,
        body: Mapping[str, object],
        find: Callable[[], Awaitable[tuple[int, str] | None]],
    ) -> tuple[dict[str, Any], tuple[int, str] | None]:
        """POST what GitHub has no idempotency key for (a check run, a
        comment): (the created object, None), or ({}, what ``find`` found)
        when an answer was lost (a 5xx, a connection dropped after the
        write) but GitHub had done it. Only when ``find`` finds nothing is
        the request sent again, up to ``http_retries`` times."""
        attempt = 0
        while True:
            try:
                created = await self.request(
                    "POST", path, installation=installation, purpose="write", json=body, idempotent=False
                )
            except Unanswered as exc:
                found = await find()
                if found is not None:
                    _job_log.info("%s %d was created although its answer was lost (%s)", what, found[0], exc)
                    return {}, found
                if attempt >= self.settings.http_retries:
                    raise
                _job_log.warning("creating the %s failed (%s); retrying", what, exc)
                await self.back_off(attempt)
                attempt += 1
                continue
            data: dict[str, Any] = created.json()
            return data, None

    async def _send(self, request: httpx.Request, limit: int) -> httpx.Response:
        """Send ``request`` and read its body, at most ``limit`` bytes (decoded)."""
        response = await self.http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            encoded = response.headers.get("content-encoding", "identity") not in ("", "identity")
            if declared.isdigit() and int(declared) > limit and not encoded:
                raise _Overflow
            body = await read_bounded(response.aiter_bytes(), limit)
            if body is None:
                raise _Overflow
        finally:
            await response.aclose()
        # The body is decoded already: the copy must not claim an encoding.
        headers = [(k, v) for k, v in response.headers.multi_items() if k not in ("content-encoding", "content-length")]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=body,
            request=request,
            extensions=response.extensions,
        )

    async def _wait_for_known_limit(self, key: str, method: str, path: str) -> None:
        known = self._limits.get(key)
        if known is None or known[0] > 0:
            return
        wait = known[1] - self._clock() + 1.0
        if wait <= 0:
            return
        if wait > self.settings.max_retry_wait:
            raise RateLimited(method, path, known[1] + 1.0)
        await self._sleep(wait)

    async def get_json(
        self,
        path: str,
        *,
        installation: int | None,
        params: dict[str, str | int] | None = None,
        purpose: str = "read",
    ) -> object:
        response = await self.request("GET", path, installation=installation, params=params, purpose=purpose)
        return response.json()

    async def paginate(
        self,
        path: str,
        *,
        installation: int | None,
        params: dict[str, str | int] | None = None,
        key: str | None = None,
        max_items: int | None = None,
        purpose: str = "read",
    ) -> AsyncIterator[list[object]]:
        """Yield each page's items, following ``Link: <...>; rel="next"``.

        ``key`` names the list inside an object answer (``check_runs``...).
        """
        params = {"per_page": 100, **(params or {})}
        url: str | None = path
        seen = 0
        while url is not None:
            response = await self.request("GET", url, installation=installation, params=params, purpose=purpose)
            params = None  # the next link carries the query
            data = response.json()
            items = data.get(key, []) if key and isinstance(data, dict) else data
            if not isinstance(items, list):
                raise GitHubError(response.status_code, "GET", path, "expected a list in the answer")
            if max_items is not None and seen + len(items) >= max_items:
                yield items[: max_items - seen]
                return
            seen += len(items)
            yield items
            url = response.links.get("next", {}).get("url")


def _parse_time(text: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 UTC time like ``2016-07-11T22:14:10Z``."""
    import datetime

    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _parse_http_date(text: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
