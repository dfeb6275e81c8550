"""The App's settings, read from ``GUARDIAN_*`` environment variables.

Everything the service needs is passed to ``create_app(settings)``; nothing is
read from the environment at import time, so a test builds an App pointed at
its own fake GitHub.
"""

from __future__ import annotations

import dataclasses
import math
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

#: GitHub refuses webhook payloads above 25 MB, so nothing larger is genuine.
MAX_PAYLOAD_BYTES = 25 * 1000 * 1000


class SettingsError(Exception):
    """A setting that is missing or malformed; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Settings:
    webhook_secret: str = dataclasses.field(repr=False)
    app_id: str
    private_key: str = dataclasses.field(repr=False)
    api_url: str = "https://api.github.com"
    db_path: str = "guardian-app.sqlite3"
    #: Jobs handled at the same time by one process (their engine runs
    #: take one of the ``evaluation_processes`` each).
    workers: int = 4
    commit_status: bool = True
    pr_comment: bool = True
    #: Content rules never read a blob larger than this (and the policy's own
    #: ``max-content-size``, whichever is smaller).
    max_blob_bytes: int = 5 * 1024 * 1024
    #: No answer from GitHub is read past this many bytes (a recursive tree
    #: listing stops at about 7 MB; a page of 100 changed files with patches
    #: stays well under it).
    max_response_bytes: int = 64 * 1024 * 1024
    blob_concurrency: int = 8
    #: Annotations sent per check run (50 per request); the summary counts the rest.
    max_annotations: int = 500
    http_timeout: float = 10.0
    http_retries: int = 4
    #: First retry delay in seconds; doubles each attempt, with jitter.
    retry_backoff: float = 1.0
    #: A rate limit asking for a longer wait puts the job back in the queue instead.
    max_retry_wait: float = 60.0
    job_attempts: int = 5
    #: Open pull requests examined on start-up; 0 turns the reconcile off.
    reconcile_limit: int = 100
    #: Subtree requests allowed when GitHub truncates a recursive tree.
    max_tree_requests: int = 200
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    log_level: str = "INFO"
    #: How often (seconds) idle workers look for jobs whose retry time came.
    poll_interval: float = 2.0
    #: Seconds the engine may spend on one evaluation; past that its process
    #: is killed and the check run says so (no retry: Re-run tries again).
    evaluation_timeout: float = 120.0
    #: Worker processes that run evaluations (each one at a time; a job
    #: waits for a free one, and the wait does not count against the deadline).
    evaluation_processes: int = 2
    #: Seconds a client may take to send a webhook body (GitHub gives up on
    #: a delivery after 10): a slower one is answered 408 and disconnected.
    body_timeout: float = 10.0
    #: ``postgresql://user:password@host:port/db``: a PostgreSQL store shared by
    #: every instance (``guardian_app.store.postgres``). Empty: the SQLite file at ``db_path``.
    database_url: str = dataclasses.field(default="", repr=False)
    #: Seconds a running job's lease lasts; its instance renews it every third of that.
    #: A job whose instance died is taken back by another once it ran out.
    lease_seconds: float = 30.0
    #: How often (seconds) one instance looks for failed deliveries to ask again; 0 turns it off.
    redeliver_interval: float = 300.0
    #: Redelivery requests one round may send.
    redeliver_limit: int = 20
    #: How far back (seconds) a round looks at the App's deliveries (GitHub keeps 3 days).
    redeliver_window: float = 6 * 3600.0
    #: The workers (evaluations, GitHub traffic, reconcile, redelivery) run in
    #: a process of their own, so acknowledgements never wait behind them
    #: (``guardian_app.background``). False: one process does everything.
    worker_process: bool = True

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log line."""
        return tuple(s for s in (self.webhook_secret, self.private_key, url_password(self.database_url)) if s)

    @property
    def database_shown(self) -> str:
        """The database URL as logs and errors may show it (no password)."""
        return redact_url(self.database_url)


def _split_url(url: str) -> tuple[str, str, str]:
    """(scheme and ``//``, userinfo, the rest) of a URL; userinfo may be empty."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", "", url
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return scheme + sep, "", rest
    return scheme + sep, userinfo, host + slash + path


def url_password(url: str) -> str:
    """The password of a ``scheme://user:password@host/...`` URL (decoded), or ""."""
    import urllib.parse

    _scheme, userinfo, _rest = _split_url(url)
    _user, colon, password = userinfo.partition(":")
    return urllib.parse.unquote(password) if colon else ""


def redact_url(url: str) -> str:
    """The URL with its password shown as ``***`` (and a ``password=`` query value too)."""
    import re

    scheme, userinfo, rest = _split_url(url)
    if userinfo:
        user, colon, _password = userinfo.partition(":")
        shown = f"{scheme}{user}{':***' if colon else ''}@{rest}"
    else:
        shown = url
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", shown)


_INT = int
_FLOAT = float


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _size(text: str) -> int:
    from guardian.units import parse_size

    return parse_size(text)


#: Settings field, environment variable, parser.
def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("use DEBUG, INFO, WARNING or ERROR")
    return level


_OPTIONAL: tuple[tuple[str, str, object], ...] = (
    ("api_url", "GUARDIAN_GITHUB_API_URL", str),
    ("db_path", "GUARDIAN_DB_PATH", str),
    ("workers", "GUARDIAN_WORKERS", _INT),
    ("commit_status", "GUARDIAN_COMMIT_STATUS", _bool),
    ("pr_comment", "GUARDIAN_PR_COMMENT", _bool),
    ("max_blob_bytes", "GUARDIAN_MAX_BLOB_SIZE", _size),
    ("max_response_bytes", "GUARDIAN_MAX_RESPONSE_SIZE", _size),
    ("blob_concurrency", "GUARDIAN_BLOB_CONCURRENCY", _INT),
    ("max_annotations", "GUARDIAN_MAX_ANNOTATIONS", _INT),
    ("http_timeout", "GUARDIAN_HTTP_TIMEOUT", _FLOAT),
    ("http_retries", "GUARDIAN_HTTP_RETRIES", _INT),
    ("retry_backoff", "GUARDIAN_RETRY_BACKOFF", _FLOAT),
    ("max_retry_wait", "GUARDIAN_MAX_RETRY_WAIT", _FLOAT),
    ("job_attempts", "GUARDIAN_JOB_ATTEMPTS", _INT),
    ("reconcile_limit", "GUARDIAN_RECONCILE_LIMIT", _INT),
    ("max_tree_requests", "GUARDIAN_MAX_TREE_REQUESTS", _INT),
    ("log_level", "GUARDIAN_LOG_LEVEL", _log_level),
    ("poll_interval", "GUARDIAN_POLL_INTERVAL", _FLOAT),
    ("evaluation_timeout", "GUARDIAN_EVALUATION_TIMEOUT", _FLOAT),
    ("evaluation_processes", "GUARDIAN_EVALUATION_PROCESSES", _INT),
    ("body_timeout", "GUARDIAN_BODY_TIMEOUT", _FLOAT),
    ("database_url", "GUARDIAN_DATABASE_URL", str),
    ("lease_seconds", "GUARDIAN_LEASE_SECONDS", _FLOAT),
    ("redeliver_interval", "GUARDIAN_REDELIVER_INTERVAL", _FLOAT),
    ("redeliver_limit", "GUARDIAN_REDELIVER_LIMIT", _INT),
    ("redeliver_window", "GUARDIAN_REDELIVER_WINDOW", _FLOAT),
    ("worker_process", "GUARDIAN_WORKER_PROCESS", _bool),
)

#: Every variable the App reads, for the README and error messages.
VARIABLES = (
    "GUARDIAN_WEBHOOK_SECRET",
    "GUARDIAN_APP_ID",
    "GUARDIAN_PRIVATE_KEY",
    "GUARDIAN_PRIVATE_KEY_PATH",
    *(var for _name, var, _parse in _OPTIONAL),
)


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; a ``SettingsError`` names what is missing."""
    env = os.environ if environ is None else environ
    secret = env.get("GUARDIAN_WEBHOOK_SECRET", "")
    if not secret:
        raise SettingsError(
            "GUARDIAN_WEBHOOK_SECRET is not set: set it to the webhook secret of the GitHub App "
            "(Settings > Webhook secret); the App refuses webhooks it cannot verify"
        )
    app_id = env.get("GUARDIAN_APP_ID", "").strip()
    if not app_id:
        raise SettingsError("GUARDIAN_APP_ID is not set: set it to the App ID (or Client ID) shown on the App's page")
    key = env.get("GUARDIAN_PRIVATE_KEY", "")
    key_path = env.get("GUARDIAN_PRIVATE_KEY_PATH", "")
    if not key and key_path:
        try:
            with open(key_path, encoding="ascii") as fh:
                key = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"GUARDIAN_PRIVATE_KEY_PATH: cannot read {key_path!r} ({exc})") from None
    if not key:
        raise SettingsError(
            "GUARDIAN_PRIVATE_KEY or GUARDIAN_PRIVATE_KEY_PATH is not set: give the App's private key "
            "(the .pem file generated on the App's page) or the path to it"
        )
    # A key pasted into a one-line variable often arrives with literal "\n".
    if "\\n" in key and "\n" not in key.strip():
        key = key.replace("\\n", "\n")
    if "PRIVATE KEY" not in key:
        source = (
            "GUARDIAN_PRIVATE_KEY" if env.get("GUARDIAN_PRIVATE_KEY") else f"GUARDIAN_PRIVATE_KEY_PATH ({key_path})"
        )
        raise SettingsError(f"{source}: not a PEM private key (expected '-----BEGIN ... PRIVATE KEY-----')")
    values: dict[str, object] = {}
    for name, var, parse in _OPTIONAL:
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        try:
            values[name] = parse(raw)  # type: ignore[operator]
        except ValueError as exc:
            raise SettingsError(f"{var}: {raw!r} is not valid ({exc})") from None
    settings = Settings(webhook_secret=secret, app_id=app_id, private_key=key, **values)  # type: ignore[arg-type]
    return validate(settings)


def validate(settings: Settings) -> Settings:
    if not settings.webhook_secret:
        raise SettingsError("GUARDIAN_WEBHOOK_SECRET is not set: the App refuses webhooks it cannot verify")
    for name, minimum in (
        ("workers", 1),
        ("blob_concurrency", 1),
        ("http_retries", 0),
        ("job_attempts", 1),
        ("max_response_bytes", 1024),
        ("evaluation_processes", 1),
        ("redeliver_limit", 0),
    ):
        if getattr(settings, name) < minimum:
            var = next(v for field, v, _parse in _OPTIONAL if field == name)
            raise SettingsError(f"{var}: must be at least {minimum}")
    for name in ("evaluation_timeout", "body_timeout", "lease_seconds", "redeliver_window"):
        value = getattr(settings, name)
        if not (value > 0 and math.isfinite(value)):  # NaN fails too
            var = next(v for field, v, _parse in _OPTIONAL if field == name)
            raise SettingsError(f"{var}: must be a number of seconds above 0")
    if not (settings.redeliver_interval >= 0 and math.isfinite(settings.redeliver_interval)):
        raise SettingsError("GUARDIAN_REDELIVER_INTERVAL: must be a number of seconds, 0 to turn it off")
    if settings.database_url and not settings.database_url.startswith(("postgresql://", "postgres://")):
        # Never the value itself: it may hold a password.
        raise SettingsError(
            "GUARDIAN_DATABASE_URL: expected a postgresql://user:password@host:port/database URL"
            f" (got one starting {settings.database_url.partition(':')[0][:20]!r})"
        )
    if not settings.api_url.startswith(("http://", "https://")):
        raise SettingsError(f"GUARDIAN_GITHUB_API_URL: {settings.api_url!r} is not an http(s) URL")
    return dataclasses.replace(settings, api_url=settings.api_url.rstrip("/"))
