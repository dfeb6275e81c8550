"""JSON log lines that carry the delivery id and never a secret.

The delivery id (``X-GitHub-Delivery``) and job id live in context variables:
the webhook route sets them for its request, the worker for the job it runs,
so every line written on their behalf can be traced back to one delivery.
Secrets are scrubbed by value at format time: the webhook secret and private
key from the settings, and every installation token as it is issued.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

delivery_id: contextvars.ContextVar[str] = contextvars.ContextVar("delivery_id", default="")
job_id: contextvars.ContextVar[int] = contextvars.ContextVar("job_id", default=0)

LOGGER_NAME = "guardian.app"
_EXTRA_FIELDS = ("event", "action", "repo", "sha", "pr", "status", "duration_ms", "outcome", "installation")


#: Credentials recognisable by their shape (GitHub tokens, JWTs), scrubbed
#: even when nobody registered them.
_TOKEN_SHAPES = (
    r"\b(?:gh[pousr]_[A-Za-z0-9_]{20,}|github_pat_[A-Za-z0-9_]{20,})"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
)


class Scrubber:
    """Replaces known secret values, and anything shaped like a GitHub token
    or a JWT, with ``***`` in rendered log lines.

    A value is also scrubbed as JSON writes it (quotes, backslashes and
    control characters escaped), since lines are scrubbed after encoding.
    Short-lived values (installation tokens, the App's JWT) are ``discard``-ed
    when replaced, so the set stays as small as the credentials in use.
    """

    def __init__(self) -> None:
        import re

        self._secrets: dict[str, int] = {}
        #: The values, longest first (a secret containing another is replaced whole).
        self._ordered: tuple[str, ...] = ()
        self._shapes = re.compile(_TOKEN_SHAPES)

    @staticmethod
    def _forms(secret: str) -> set[str]:
        forms = {secret, json.dumps(secret, ensure_ascii=False)[1:-1]}
        # A PEM key might be logged line by line; scrub its body lines too.
        for line in secret.splitlines():
            if len(line) >= 16 and "-----" not in line:
                forms.add(line)
        return {form for form in forms if len(form) >= 6}

    def add(self, secret: str) -> None:
        if not secret or len(secret) < 6:
            return
        for form in self._forms(secret):
            self._secrets[form] = self._secrets.get(form, 0) + 1
        self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))

    def discard(self, secret: str) -> None:
        """Forget a value added before (each ``add`` needs its ``discard``)."""
        if not secret or len(secret) < 6:
            return
        for form in self._forms(secret):
            count = self._secrets.get(form, 0)
            if count <= 1:
                self._secrets.pop(form, None)
            else:
                self._secrets[form] = count - 1
        self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))

    def __len__(self) -> int:
        return len(self._secrets)

    def scrub(self, text: str) -> str:
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, "***")
        return self._shapes.sub("***", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__()
        self.scrubber = scrubber

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        delivery = getattr(record, "delivery_id", None) or delivery_id.get()
        if delivery:
            entry["delivery_id"] = delivery
        job = getattr(record, "job_id", None) or job_id.get()
        if job:
            entry["job_id"] = job
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return self.scrubber.scrub(json.dumps(entry, ensure_ascii=False, default=str))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


#: One per process: every App created in it adds its secrets here.
SCRUBBER = Scrubber()


def configure(level: str) -> logging.Logger:
    """JSON lines on stderr for the App's logger, and for uvicorn's own
    loggers so that a deployment's log stream is JSON throughout
    (idempotent)."""
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter(SCRUBBER))
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
    for name in ("uvicorn", "uvicorn.access"):
        server_logger = logging.getLogger(name)
        server_logger.handlers = [handler]
        server_logger.propagate = False
    return logger


def get(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
