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


class Scrubber:
    """Replaces known secret values with ``***`` in rendered log lines."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 6:
            self._secrets.add(secret)
            # A PEM key might be logged line by line; scrub its body lines too.
            for line in secret.splitlines():
                if len(line) >= 16 and "-----" not in line:
                    self._secrets.add(line)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


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
