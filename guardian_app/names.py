"""What a webhook payload or an API answer may put into a request path or the database.

Repository names, commit and blob ids and numbers from outside end up in
URLs (``/repos/{owner}/{name}/git/trees/{sha}``) and SQLite columns. A name
like ``../../app/installations`` would be normalised by the HTTP client
into another endpoint, sent with the installation's token; a number past 63
bits makes SQLite raise. So each is checked against GitHub's own rules
before use, and what fails is refused, never passed on.
"""

from __future__ import annotations

import re

#: Owners: alphanumerics and single hyphens, not at either end, at most 39
#: characters. Underscores also pass: enterprise managed users' logins end
#: in ``_shortcode`` and can own repositories; an underscore is as inert in
#: a path as a letter.
_OWNER = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_]|-(?=[A-Za-z0-9_])){0,38}")
#: Repository names: letters, digits, ``.``, ``_`` and ``-``, at most 100.
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
#: A git object id: SHA-1 (40 hex digits) or SHA-256 (64).
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
#: GitHub's ids and numbers are positive and fit SQLite's signed 64 bits.
MAX_ID = (1 << 63) - 1


def is_repo_name(full_name: str) -> bool:
    """``owner/name`` as GitHub allows it (and never ``.`` or ``..``)."""
    owner, sep, name = full_name.partition("/")
    return (
        bool(sep)
        and _OWNER.fullmatch(owner) is not None
        and _REPO.fullmatch(name) is not None
        and name not in (".", "..")
    )


def is_login(login: str) -> bool:
    return _OWNER.fullmatch(login) is not None


def is_object_id(value: str) -> bool:
    return _OBJECT_ID.fullmatch(value) is not None


def object_id(value: object) -> str:
    """A commit or blob id (lower case), or "" when ``value`` is none."""
    text = value.lower() if isinstance(value, str) else ""
    return text if is_object_id(text) else ""


def github_id(value: object) -> int | None:
    """A positive integer that fits 63 bits (an id, a pull request number), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None


#: A path segment safe to send as it is: unreserved characters only, and
#: never a dot segment (``.``, ``..``), which a client resolves away.
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


def is_safe_path(path: str) -> bool:
    """An absolute API path (no query) whose every segment is plain."""
    if not path.startswith("/"):
        return False
    segments = path[1:].split("/")
    return all(_SEGMENT.fullmatch(s) is not None and s not in (".", "..") for s in segments)
