"""A fake GitHub REST API on loopback, for the App's tests and benchmark.

It speaks real HTTP (``http.server``, HTTP/1.1 keep-alive) and answers with
the shapes of GitHub's REST API for what the App uses: installation tokens
(checking the App JWT), pull requests and their files (paginated with
``Link``), the pull requests of a commit, git trees (recursive, optionally
truncated) and blobs (raw or base64 JSON), check runs (at most 50 annotations per request), commit
statuses (description at most 140 characters) and issue comments. Git
objects get real git ids (sha1 of ``blob N\\0...``, binary tree objects), so
trees and blobs hang together as on GitHub.

Every request is recorded. Faults are scripted: ``fail(...)`` answers the next
matching requests with a status and headers (502, 429 with ``Retry-After``),
or with ``performed=True`` does the request and then loses its answer (a 502,
or with status 0 a connection closed without an answer); ``hold(...)`` keeps
matching requests waiting until released.

Webhook payload builders (``pull_request_event`` ...) give full payloads
(``pull_request`` with ``head``, ``base``, ``repository``, ``installation``)
and ``sign`` signs them as GitHub does.

``AppEnv`` runs the App in-process under uvicorn with the server options
of ``python -m guardian_app.serve``; ``serve_subprocess`` runs that very command.

``render_markdown`` shows what GitHub makes of a comment or a check run
summary: it renders with cmark-gfm (GitHub's own CommonMark fork, with its
tables, autolinks and raw HTML) and says which elements, links and images
came out, which text is code, and which text GitHub would still scan for
mentions and references.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import difflib
import hashlib
import hmac
import http.server
import itertools
import json
import os
import pathlib
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fastapi import FastAPI

    from guardian_app.settings import Settings
    from guardian_app.store import Store
    from guardian_app.store.sqlite import SqliteStore

#: GitHub's JSON objects, as dynamic as the real thing.
Json = dict[str, Any]

ROOT = pathlib.Path(__file__).resolve().parent.parent
APP_ID = 4242
#: The URL fields of a repository object in GitHub's payloads (name, template suffix).
_REPO_URLS = (
    ("archive", "/{archive_format}{/ref}"),
    ("assignees", "{/user}"),
    ("blobs", "{/sha}"),
    ("branches", "{/branch}"),
    ("collaborators", "{/collaborator}"),
    ("comments", "{/number}"),
    ("commits", "{/sha}"),
    ("compare", "/{base}...{head}"),
    ("contents", "/{+path}"),
    ("contributors", ""),
    ("deployments", ""),
    ("downloads", ""),
    ("events", ""),
    ("forks", ""),
    ("git_commits", "{/sha}"),
    ("git_refs", "{/sha}"),
    ("git_tags", "{/sha}"),
    ("hooks", ""),
    ("issue_comment", "{/number}"),
    ("issue_events", "{/number}"),
    ("issues", "{/number}"),
    ("keys", "{/key_id}"),
    ("labels", "{/name}"),
    ("languages", ""),
    ("merges", ""),
    ("milestones", "{/number}"),
    ("notifications", "{?since,all,participating}"),
    ("pulls", "{/number}"),
    ("releases", "{/id}"),
    ("stargazers", ""),
    ("statuses", "/{sha}"),
    ("subscribers", ""),
    ("subscription", ""),
    ("tags", ""),
    ("teams", ""),
    ("trees", "{/sha}"),
)
BOT_LOGIN = "guardian-policy[bot]"
_CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def user_object(login: str, user_id: int, kind: str = "User") -> Json:
    """A user as GitHub's payloads carry it, URL fields included."""
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"U_{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        **{
            f"{name}_url": f"{api}/{name}{suffix}"
            for name, suffix in (
                ("followers", ""),
                ("following", "{/other_user}"),
                ("gists", "{/gist_id}"),
                ("starred", "{/owner}{/repo}"),
                ("subscriptions", ""),
                ("organizations", ""),
                ("repos", ""),
                ("events", "{/privacy}"),
                ("received_events", ""),
            )
        },
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclasses.dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    #: When the request arrived (``time.time()``).
    time: float = 0.0


@dataclasses.dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: object
    times: int
    #: Do the request, then answer with the fault instead (status 0: hang up without an answer).
    performed: bool = False


@dataclasses.dataclass
class _Hold:
    method: str
    pattern: re.Pattern[str]
    release: threading.Event
    arrived: threading.Event
    #: Matching requests let through before holding starts.
    after: int = 0
    #: Answer a held request with 503 without doing it (the client is gone).
    discard: bool = False


class Repo:
    """A repository: git objects, pull requests, checks, statuses, comments."""

    _ids = itertools.count(1000)

    def __init__(self, full_name: str, installation: int) -> None:
        self.full_name = full_name
        self.owner, self.name = full_name.split("/")
        self.id = next(self._ids)
        self.installation = installation
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, list[Json]] = {}
        self.commits: dict[str, str] = {}  # commit sha -> root tree sha
        self.pulls: dict[int, Json] = {}
        self.check_runs: list[Json] = []
        self.statuses: list[Json] = []
        self.comments: dict[int, list[Json]] = {}
        self._diffs: dict[tuple[str, str], list[Json]] = {}

    # -- git objects ------------------------------------------------------------

    def commit(self, files: Mapping[str, bytes | tuple[str, bytes]], message: str = "commit") -> str:
        """Store a commit whose tree holds ``files`` (path -> bytes or (mode, bytes))."""
        root = self._tree({p: v if isinstance(v, tuple) else ("100644", v) for p, v in files.items()})
        sha = hashlib.sha1(f"commit\0tree {root}\n\n{message}\n{len(self.commits)}".encode()).hexdigest()
        self.commits[sha] = root
        return sha

    def _tree(self, files: dict[str, tuple[str, bytes]]) -> str:
        here: dict[str, tuple[str, str, str]] = {}  # name -> (mode, type, sha)
        subdirs: dict[str, dict[str, tuple[str, bytes]]] = {}
        for path, (mode, data) in files.items():
            head, _, rest = path.partition("/")
            if rest:
                subdirs.setdefault(head, {})[rest] = (mode, data)
            elif mode == "160000":
                here[head] = (mode, "commit", data.decode())
            else:
                sha = blob_sha(data)
                self.blobs[sha] = data
                here[head] = (mode, "blob", sha)
        for name, sub in subdirs.items():
            here[name] = ("040000", "tree", self._tree(sub))
        ordered = sorted(here.items(), key=lambda kv: kv[0] + ("/" if kv[1][1] == "tree" else ""))
        raw = b"".join(
            f"{mode.lstrip('0')} {name}".encode() + b"\0" + bytes.fromhex(sha) for name, (mode, _t, sha) in ordered
        )
        tree_sha = hashlib.sha1(b"tree %d\0" % len(raw) + raw).hexdigest()
        self.trees[tree_sha] = [
            {"path": name, "mode": mode, "type": kind, "sha": sha} for name, (mode, kind, sha) in ordered
        ]
        return tree_sha

    def flatten(self, tree_sha: str, prefix: str = "") -> dict[str, tuple[str, str]]:
        """path -> (mode, blob sha) of every file below a tree."""
        out: dict[str, tuple[str, str]] = {}
        for item in self.trees[tree_sha]:
            path = prefix + str(item["path"])
            if item["type"] == "tree":
                out.update(self.flatten(str(item["sha"]), path + "/"))
            else:
                out[path] = (str(item["mode"]), str(item["sha"]))
        return out

    def tree_listing(self, tree_sha: str, *, recursive: bool, prefix: str = "") -> list[Json]:
        items: list[Json] = []
        for item in self.trees[tree_sha]:
            entry = dict(item)
            entry["path"] = prefix + str(item["path"])
            if item["type"] == "blob":
                entry["size"] = len(self.blobs[str(item["sha"])])
            items.append(entry)
            if recursive and item["type"] == "tree":
                items.extend(self.tree_listing(str(item["sha"]), recursive=True, prefix=f"{entry['path']}/"))
        return items

    # -- pull requests -------------------------------------------------------------

    def changed_files(self, base_sha: str, head_sha: str) -> list[Json]:
        key = (base_sha, head_sha)
        if key not in self._diffs:
            self._diffs[key] = self._changed_files(base_sha, head_sha)
        return self._diffs[key]

    def _changed_files(self, base_sha: str, head_sha: str) -> list[Json]:
        old = self.flatten(self.commits[base_sha])
        new = self.flatten(self.commits[head_sha])
        removed = {p: v for p, v in old.items() if p not in new}
        files: list[Json] = []
        for path in sorted(new):
            mode, sha = new[path]
            if path in old and old[path] == (mode, sha):
                continue
            item: Json = {"sha": sha, "filename": path, "status": "modified"}
            if path not in old:
                moved = next((p for p, v in removed.items() if v[1] == sha), None)
                if moved is not None:
                    del removed[moved]
                    item.update(status="renamed", previous_filename=moved)
                else:
                    item["status"] = "added"
            added, deleted = self._line_changes(old.get(path, ("", ""))[1] if path in old else "", sha)
            if item["status"] == "renamed":
                added = deleted = 0
            item.update(additions=added, deletions=deleted, changes=added + deleted)
            files.append(item)
        for path, (_mode, sha) in sorted(removed.items()):
            _a, deleted = self._line_changes(sha, "")
            files.append(
                {
                    "sha": sha,
                    "filename": path,
                    "status": "removed",
                    "additions": 0,
                    "deletions": deleted,
                    "changes": deleted,
                }
            )
        for item in files:
            name = urllib.parse.quote(str(item["filename"]))
            item["blob_url"] = f"https://github.com/{self.full_name}/blob/{item['sha']}/{name}"
            item["raw_url"] = f"https://github.com/{self.full_name}/raw/{item['sha']}/{name}"
            item["contents_url"] = f"https://api.github.com/repos/{self.full_name}/contents/{name}"
        return sorted(files, key=lambda f: str(f["filename"]))

    def _line_changes(self, old_sha: str, new_sha: str) -> tuple[int, int]:
        old = self.blobs.get(old_sha, b"") if old_sha else b""
        new = self.blobs.get(new_sha, b"") if new_sha else b""
        if b"\0" in old[:8000] or b"\0" in new[:8000]:
            return 0, 0  # GitHub counts no lines for binary files
        added = deleted = 0
        for line in difflib.ndiff(
            old.decode("utf-8", "replace").splitlines(), new.decode("utf-8", "replace").splitlines()
        ):
            if line.startswith("+ "):
                added += 1
            elif line.startswith("- "):
                deleted += 1
        return added, deleted

    def repo_object(self) -> Json:
        api = f"https://api.github.com/repos/{self.full_name}"
        urls = {f"{name}_url": f"{api}/{name}{suffix}" for name, suffix in _REPO_URLS}
        return {
            **urls,
            "id": self.id,
            "node_id": f"R_{self.id}",
            "name": self.name,
            "full_name": self.full_name,
            "private": False,
            "owner": user_object(self.owner, self.id + 1, "Organization"),
            "html_url": f"https://github.com/{self.full_name}",
            "url": f"https://api.github.com/repos/{self.full_name}",
            "description": "Structural optimisation engine",
            "fork": False,
            "created_at": "2021-03-04T10:00:00Z",
            "updated_at": "2024-05-06T11:00:00Z",
            "pushed_at": "2024-05-06T11:00:00Z",
            "git_url": f"git://github.com/{self.full_name}.git",
            "ssh_url": f"git@github.com:{self.full_name}.git",
            "clone_url": f"https://github.com/{self.full_name}.git",
            "svn_url": f"https://github.com/{self.full_name}",
            "homepage": None,
            "size": 20480,
            "stargazers_count": 12,
            "watchers_count": 12,
            "language": "Python",
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 3,
            "archived": False,
            "disabled": False,
            "open_issues_count": 4,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "topics": [],
            "visibility": "public",
            "forks": 3,
            "open_issues": 4,
            "watchers": 12,
            "default_branch": "main",
        }

    def open_pr(
        self,
        number: int,
        base_sha: str,
        head_sha: str,
        *,
        base_ref: str = "main",
        head_ref: str = "feature",
        fork: str | None = None,
    ) -> Json:
        repo = self.repo_object()
        head_repo = dict(repo)
        if fork:
            head_repo.update(id=self.id + 500, full_name=fork, name=fork.split("/")[1], fork=True)
        pr: Json = {
            "url": f"https://api.github.com/repos/{self.full_name}/pulls/{number}",
            "id": 90000 + number,
            "node_id": f"PR_{number}",
            "html_url": f"https://github.com/{self.full_name}/pull/{number}",
            "number": number,
            "state": "open",
            "locked": False,
            "title": f"Change #{number}",
            "user": user_object("octocat", 1),
            "body": "Replaces the remaining optimization_engine imports.",
            "created_at": _iso(time.time()),
            "updated_at": _iso(time.time()),
            "draft": False,
            "merged": False,
            "head": {
                "label": f"{(fork or self.full_name).split('/')[0]}:{head_ref}",
                "ref": head_ref,
                "sha": head_sha,
                "user": {"login": (fork or self.full_name).split("/")[0]},
                "repo": head_repo,
            },
            "base": {
                "label": f"{self.owner}:{base_ref}",
                "ref": base_ref,
                "sha": base_sha,
                "user": {"login": self.owner},
                "repo": repo,
            },
            "author_association": "CONTRIBUTOR",
            "_links": {
                rel: {"href": f"https://api.github.com/repos/{self.full_name}/{path}"}
                for rel, path in (
                    ("self", f"pulls/{number}"),
                    ("issue", f"issues/{number}"),
                    ("comments", f"issues/{number}/comments"),
                    ("review_comments", f"pulls/{number}/comments"),
                    ("commits", f"pulls/{number}/commits"),
                    ("statuses", f"statuses/{head_sha}"),
                )
            },
            "requested_reviewers": [],
            "labels": [],
            "milestone": None,
            "auto_merge": None,
            "mergeable_state": "unknown",
        }
        self.pulls[number] = pr
        self._refresh_counts(pr)
        return pr

    def push(self, number: int, head_sha: str) -> Json:
        pr = self.pulls[number]
        pr["head"]["sha"] = head_sha
        pr["updated_at"] = _iso(time.time())
        self._refresh_counts(pr)
        return pr

    def _refresh_counts(self, pr: Json) -> None:
        files = self.changed_files(pr["base"]["sha"], pr["head"]["sha"])
        pr.update(
            changed_files=len(files),
            additions=sum(int(f["additions"]) for f in files),
            deletions=sum(int(f["deletions"]) for f in files),
            commits=1,
        )

    def latest_check_run(self) -> Json:
        return self.check_runs[-1]

    def bot_comments(self, number: int) -> list[Json]:
        return [c for c in self.comments.get(number, []) if c["user"]["login"] == BOT_LOGIN]


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is no error
            super().handle_error(request, client_address)


class FakeGitHub:
    """The server. ``start()`` binds a free loopback port; ``url`` is the API base."""

    def __init__(self, public_key: Any, *, app_id: int = APP_ID, token_ttl: float = 3600.0, prefix: str = "") -> None:
        #: Path prefix of the API, as GitHub Enterprise Server's ``/api/v3``.
        self.prefix = prefix
        self.public_key = public_key
        self.app_id = app_id
        self.token_ttl = token_ttl
        self.repos: dict[str, Repo] = {}
        self.installations: dict[int, list[str]] = {}
        self.tokens: dict[str, tuple[int, float]] = {}
        self.jwt_claims: list[Json] = []
        self.requests: list[Recorded] = []
        #: Recursive tree listings with more entries than this are truncated.
        self.truncate_trees_over: int | None = None
        #: More repository objects ``/installation/repositories`` lists (e.g. with hostile names).
        self.extra_listed_repos: dict[int, list[Json]] = {}
        self.rate_remaining = 5000
        #: The App's webhook deliveries as ``GET /app/hook/deliveries`` lists them (``add_hook_delivery``).
        self.hook_deliveries: list[Json] = []
        self._faults: list[_Fault] = []
        self._holds: list[_Hold] = []
        self._ids = itertools.count(1)
        self.lock = threading.RLock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- setup ------------------------------------------------------------------

    def add_repo(self, full_name: str, installation: int = 1) -> Repo:
        repo = Repo(full_name, installation)
        self.repos[full_name] = repo
        self.installations.setdefault(installation, []).append(full_name)
        return repo

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: object = None,
        times: int = 1,
        performed: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``.

        ``performed``: GitHub does the request, but its answer is lost on the
        way: the client sees ``status`` (a 502 from a proxy), or with status 0
        a connection closed before any answer (a reset, a timed-out read)."""
        with self.lock:
            self._faults.append(
                _Fault(
                    method,
                    re.compile(pattern),
                    status,
                    headers or {},
                    body or {"message": "fault"},
                    times,
                    performed,
                )
            )

    def hold(self, method: str, pattern: str, *, after: int = 0, discard: bool = False) -> _Hold:
        """Keep matching requests waiting until ``hold.release.set()``."""
        held = _Hold(method, re.compile(pattern), threading.Event(), threading.Event(), after, discard)
        with self.lock:
            self._holds.append(held)
        return held

    def add_hook_delivery(
        self,
        guid: str,
        *,
        status_code: int = 0,
        event: str = "pull_request",
        action: str | None = "opened",
        redelivery: bool = False,
        installation: int | None = 1,
        delivered_at: float | None = None,
    ) -> Json:
        """One attempt of a delivery, as GitHub lists it: ``status_code`` 0 is
        no answer at all (the App was unreachable), 2xx is ``OK``."""
        status = "OK" if 200 <= status_code < 300 else f"Invalid HTTP Response: {status_code}"
        if not status_code:
            status = "timed out"
        item = {
            "id": 10_000_000 + next(self._ids),
            "guid": guid,
            "delivered_at": _iso(time.time() if delivered_at is None else delivered_at),
            "redelivery": redelivery,
            "duration": 0.27,
            "status": status,
            "status_code": status_code,
            "event": event,
            "action": action,
            "installation_id": installation,
            "repository_id": 1,
            "throttled_at": None,
        }
        with self.lock:
            self.hook_deliveries.append(item)
        return item

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def stats(self) -> Json:
        with self.lock:
            completed = {
                name: sum(1 for r in repo.check_runs if r["status"] == "completed") for name, repo in self.repos.items()
            }
            return {"requests": len(self.requests), "completed_check_runs": completed}

    def calls(self, method: str | None = None, pattern: str = "") -> list[Recorded]:
        rx = re.compile(pattern)
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and rx.search(r.path)]

    # -- serving ------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            for held in self._holds:
                held.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        if self.prefix:
            inside = parsed.path.startswith(self.prefix + "/")
            parsed = parsed._replace(path=parsed.path[len(self.prefix) :] if inside else "/outside-the-api-prefix")
        query = dict(urllib.parse.parse_qsl(parsed.query))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: object = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        record = Recorded(
            handler.command,
            parsed.path,
            query,
            {k.lower(): v for k, v in handler.headers.items()},
            body,
            time=time.time(),
        )
        discarded = False
        with self.lock:
            self.requests.append(record)
            holds = []
            for held in self._holds:
                if held.release.is_set():
                    continue  # released: later requests pass untouched
                if held.method == handler.command and held.pattern.search(parsed.path):
                    if held.after > 0:
                        held.after -= 1
                    else:
                        holds.append(held)
        for held in holds:
            held.arrived.set()
            held.release.wait(30)
            discarded = discarded or held.discard
        answer: tuple[int, dict[str, str], object] = (503, {}, {"message": "discarded"})
        if not discarded:
            answer = self._answer(record)
        status, headers, payload = answer
        record.status = status
        if status == 0:  # the answer is lost: hang up without one
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(2)  # socket.SHUT_RDWR
            return
        if isinstance(payload, bytes):
            data = payload
            headers.setdefault("Content-Type", "application/octet-stream")
        else:
            data = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        with self.lock:
            self.rate_remaining = max(0, self.rate_remaining - 1)
            headers.setdefault("x-ratelimit-limit", "5000")
            headers.setdefault("x-ratelimit-remaining", str(self.rate_remaining))
            headers.setdefault("x-ratelimit-reset", str(int(time.time()) + 3600))
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # -- the API ------------------------------------------------------------------

    def _answer(self, req: Recorded) -> tuple[int, dict[str, str], object]:
        with self.lock:
            fault = next(
                (f for f in self._faults if f.times > 0 and f.method == req.method and f.pattern.search(req.path)),
                None,
            )
            if fault is not None:
                fault.times -= 1
        if fault is not None and not fault.performed:
            return fault.status, dict(fault.headers), fault.body
        answer = self._route(req)
        if fault is not None:
            return fault.status, dict(fault.headers), fault.body
        return answer

    def _route(self, req: Recorded) -> tuple[int, dict[str, str], object]:
        if req.path == "/_fake/stats":  # for a benchmark driving the fake from another process
            return 200, {}, self.stats()
        auth = req.headers.get("authorization", "")
        if req.path.startswith("/app/"):
            return self._app_route(req, auth)
        installation = self._installation_for(auth)
        if installation is None:
            return 401, {}, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        if req.method == "GET" and req.path == "/installation/repositories":
            repos = [self.repos[n].repo_object() for n in self.installations.get(installation, [])]
            repos += self.extra_listed_repos.get(installation, [])
            return 200, {}, {"total_count": len(repos), "repositories": repos}
        match = re.match(r"^/repos/([^/]+/[^/]+)(/.*)$", req.path)
        if not match or match.group(1) not in self.repos:
            return 404, {}, {"message": "Not Found"}
        repo = self.repos[match.group(1)]
        if repo.installation != installation:
            return 404, {}, {"message": "Not Found"}
        with self.lock:
            return self._repo_route(repo, req, match.group(2))

    def _app_route(self, req: Recorded, auth: str) -> tuple[int, dict[str, str], object]:
        if not auth.startswith("Bearer "):
            return 401, {}, {"message": "A JSON web token could not be decoded"}
        try:
            claims = jwt.decode(auth[7:], self.public_key, algorithms=["RS256"])
        except jwt.PyJWTError as exc:
            return 401, {}, {"message": f"'Expiration time' claim ('exp') is invalid: {exc}"}
        with self.lock:
            self.jwt_claims.append(claims)
        if int(claims["exp"]) - int(claims["iat"]) > 600 or str(claims.get("iss")) != str(self.app_id):
            return 401, {}, {"message": "'Issuer' claim ('iss') must be an Integer"}
        if req.method == "GET" and req.path == "/app/installations":
            # The App's installations (JWT auth), paginated with Link as GitHub does.
            with self.lock:
                listed = [installation_listing(i, self.app_id) for i in sorted(self.installations)]
            return self._page(req, listed)
        if req.method == "GET" and req.path == "/app/hook/deliveries":
            return self._hook_deliveries(req)
        if req.method == "POST" and (match := re.fullmatch(r"/app/hook/deliveries/(\d+)/attempts", req.path)):
            with self.lock:
                known = any(d["id"] == int(match.group(1)) for d in self.hook_deliveries)
            return (202, {}, {}) if known else (404, {}, {"message": "Not Found"})
        match = re.match(r"^/app/installations/(\d+)/access_tokens$", req.path)
        if req.method == "POST" and match:
            installation = int(match.group(1))
            if installation not in self.installations:
                return 404, {}, {"message": "Not Found"}
            token = "ghs_" + secrets.token_hex(18)
            expires = time.time() + self.token_ttl
            with self.lock:
                self.tokens[token] = (installation, expires)
            return (
                201,
                {},
                {
                    "token": token,
                    "expires_at": _iso(expires),
                    "permissions": {
                        "checks": "write",
                        "contents": "read",
                        "pull_requests": "write",
                        "statuses": "write",
                        "metadata": "read",
                    },
                    "repository_selection": "selected",
                },
            )
        return 404, {}, {"message": "Not Found"}

    def _hook_deliveries(self, req: Recorded) -> tuple[int, dict[str, str], object]:
        """Newest delivery first, ``per_page`` (at most 100) a page, the next page's ``cursor`` in ``Link``."""
        per_page = max(1, min(int(req.query.get("per_page", 30)), 100))
        with self.lock:
            items = sorted(self.hook_deliveries, key=lambda d: (d["delivered_at"], d["id"]), reverse=True)
        start = 0
        cursor = req.query.get("cursor", "")
        if cursor:
            start = next((i for i, d in enumerate(items) if f"v1_{d['id']}" == cursor), len(items))
        page = items[start : start + per_page]
        headers = {}
        if start + per_page < len(items):
            query = urllib.parse.urlencode({"per_page": per_page, "cursor": f"v1_{items[start + per_page]['id']}"})
            headers["Link"] = f'<{self.url}{req.path}?{query}>; rel="next"'
        return 200, headers, page

    def _installation_for(self, auth: str) -> int | None:
        if not auth.startswith("token "):
            return None
        with self.lock:
            found = self.tokens.get(auth[6:])
        if found is None or found[1] < time.time():
            return None
        return found[0]

    def _page(self, req: Recorded, items: list[Json]) -> tuple[int, dict[str, str], object]:
        per_page = min(int(req.query.get("per_page", 30)), 100)
        page = int(req.query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        links = []
        base = {k: v for k, v in req.query.items() if k != "page"}

        def link(n: int, rel: str) -> str:
            return f'<{self.url}{req.path}?{urllib.parse.urlencode({**base, "page": n})}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return 200, ({"Link": ", ".join(links)} if links else {}), chunk

    def _repo_route(self, repo: Repo, req: Recorded, rest: str) -> tuple[int, dict[str, str], object]:
        m, body = req.method, req.body if isinstance(req.body, dict) else {}
        if m == "GET" and rest == "/pulls":
            state = req.query.get("state", "open")
            pulls = [p for p in repo.pulls.values() if state == "all" or p["state"] == state]
            return self._page(
                req,
                [
                    {k: v for k, v in p.items() if k not in ("changed_files", "additions", "deletions", "commits")}
                    for p in pulls
                ],
            )
        if match := re.fullmatch(r"/pulls/(\d+)", rest):
            pr = repo.pulls.get(int(match.group(1)))
            return (200, {}, pr) if pr else (404, {}, {"message": "Not Found"})
        if match := re.fullmatch(r"/pulls/(\d+)/files", rest):
            pr = repo.pulls.get(int(match.group(1)))
            if pr is None:
                return 404, {}, {"message": "Not Found"}
            files = repo.changed_files(pr["base"]["sha"], pr["head"]["sha"])[:3000]
            return self._page(req, files)
        if match := re.fullmatch(r"/git/trees/([0-9a-f]{40})", rest):
            sha = match.group(1)
            tree_sha = repo.commits.get(sha, sha)
            if tree_sha not in repo.trees:
                return 404, {}, {"message": "Not Found"}
            recursive = req.query.get("recursive") not in (None, "", "0", "false")
            items = repo.tree_listing(tree_sha, recursive=recursive)
            truncated = recursive and self.truncate_trees_over is not None and len(items) > self.truncate_trees_over
            if truncated:
                items = items[: self.truncate_trees_over]
            url = f"{self.url}/repos/{repo.full_name}/git/trees/{tree_sha}"
            return 200, {}, {"sha": tree_sha, "url": url, "tree": items, "truncated": truncated}
        if match := re.fullmatch(r"/git/blobs/([0-9a-f]{40})", rest):
            data = repo.blobs.get(match.group(1))
            if data is None:
                return 404, {}, {"message": "Not Found"}
            if "application/vnd.github.raw" in req.headers.get("accept", ""):
                return 200, {"Content-Type": "application/vnd.github.raw"}, data
            return (
                200,
                {},
                {
                    "sha": match.group(1),
                    "node_id": "B_1",
                    "size": len(data),
                    "url": f"{self.url}/repos/{repo.full_name}/git/blobs/{match.group(1)}",
                    "content": base64.encodebytes(data).decode(),
                    "encoding": "base64",
                },
            )
        if m == "GET" and (match := re.fullmatch(r"/compare/([0-9a-f]{40})\.\.\.([0-9a-f]{40})", rest)):
            return self._compare(repo, req, match.group(1), match.group(2))
        if m == "POST" and rest == "/check-runs":
            return self._create_check_run(repo, body)
        if m == "PATCH" and (match := re.fullmatch(r"/check-runs/(\d+)", rest)):
            return self._update_check_run(repo, int(match.group(1)), body)
        if m == "GET" and (match := re.fullmatch(r"/commits/([0-9a-f]{40})/pulls", rest)):
            # The pull requests a commit belongs to: here, the open ones whose head it is
            # (the fake keeps no commit ancestry), in the shape of the pull request listing.
            if match.group(1) not in repo.commits:
                return 422, {}, {"message": f"No commit found for SHA: {match.group(1)}"}
            return self._page(
                req,
                [
                    {k: v for k, v in p.items() if k not in ("changed_files", "additions", "deletions", "commits")}
                    for p in repo.pulls.values()
                    if p["state"] == "open" and p["head"]["sha"] == match.group(1)
                ],
            )
        if m == "GET" and (match := re.fullmatch(r"/commits/([0-9a-f]{40})/check-runs", rest)):
            runs = [
                r
                for r in repo.check_runs
                if r["head_sha"] == match.group(1)
                and r["name"] == req.query.get("check_name", r["name"])
                and str(r["app"]["id"]) == req.query.get("app_id", str(r["app"]["id"]))
            ]
            if req.query.get("filter", "latest") == "latest":
                latest: dict[str, Json] = {}
                for run in runs:
                    latest[str(run["name"])] = run
                runs = list(latest.values())
            # Paginated (30 a page unless asked), as GitHub does.
            status, headers, page = self._page(req, [self._public_run(r) for r in runs])
            return status, headers, {"total_count": len(runs), "check_runs": page}
        if m == "POST" and (match := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest)):
            if body.get("state") not in ("error", "failure", "pending", "success"):
                return 422, {}, {"message": "Validation Failed", "errors": [{"field": "state", "code": "invalid"}]}
            if len(str(body.get("description", ""))) > 140:
                return (
                    422,
                    {},
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "field": "description",
                                "code": "custom",
                                "message": "description is too long (maximum is 140 characters)",
                            }
                        ],
                    },
                )
            status = {
                "id": next(self._ids),
                "url": f"{self.url}/repos/{repo.full_name}/statuses/{match.group(1)}",
                "state": body["state"],
                "description": body.get("description"),
                "target_url": body.get("target_url"),
                "context": body.get("context", "default"),
                "created_at": _iso(time.time()),
                "sha": match.group(1),
            }
            repo.statuses.append(status)
            return 201, {}, status
        if match := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(match.group(1))
            if number not in repo.pulls:
                return 404, {}, {"message": "Not Found"}
            comments = repo.comments.setdefault(number, [])
            if m == "GET":
                return self._page(req, comments)
            if m == "POST":
                text = str(body.get("body", ""))
                if len(text) > 65536:
                    return (
                        422,
                        {},
                        {
                            "message": "Validation Failed",
                            "errors": [
                                {
                                    "field": "body",
                                    "code": "custom",
                                    "message": "body is too long (maximum is 65536 characters)",
                                }
                            ],
                        },
                    )
                comment = self._comment(repo, number, text)
                comments.append(comment)
                return 201, {}, comment
        if m == "PATCH" and (match := re.fullmatch(r"/issues/comments/(\d+)", rest)):
            for comments in repo.comments.values():
                for comment in comments:
                    if comment["id"] == int(match.group(1)):
                        if comment["user"]["login"] != BOT_LOGIN:
                            return 403, {}, {"message": "Resource not accessible by integration"}
                        comment["body"] = str(body.get("body", ""))
                        comment["updated_at"] = _iso(time.time())
                        comment["edits"] = int(comment.get("edits", 0)) + 1
                        return 200, {}, comment
            return 404, {}, {"message": "Not Found"}
        return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}

    def _compare(self, repo: Repo, req: Recorded, base: str, head: str) -> tuple[int, dict[str, str], object]:
        """``GET /compare/BASE...HEAD`` as GitHub shapes it: the commits paginated
        (``per_page``, ``Link``), the files only on the first page and at most 300."""
        if base not in repo.commits or head not in repo.commits:
            return 404, {}, {"message": "Not Found"}
        commits = [
            {
                "sha": sha,
                "url": f"{self.url}/repos/{repo.full_name}/commits/{sha}",
                "commit": {"message": "commit", "tree": {"sha": repo.commits[sha]}},
                "parents": [{"sha": base}],
            }
            for sha in (head,)
        ]
        status, headers, page = self._page(req, commits)
        first = int(req.query.get("page", 1)) == 1
        answer: Json = {
            "url": f"{self.url}/repos/{repo.full_name}/compare/{base}...{head}",
            "html_url": f"https://github.com/{repo.full_name}/compare/{base}...{head}",
            "base_commit": {"sha": base, "commit": {"tree": {"sha": repo.commits[base]}}},
            "merge_base_commit": {"sha": base, "commit": {"tree": {"sha": repo.commits[base]}}},
            "status": "ahead",
            "ahead_by": len(commits),
            "behind_by": 0,
            "total_commits": len(commits),
            "commits": page,
        }
        if first:
            answer["files"] = repo.changed_files(base, head)[:300]
        return status, headers, answer

    def _comment(self, repo: Repo, number: int, text: str, *, user: str = BOT_LOGIN) -> Json:
        cid = next(self._ids)
        # A bot's comment names the App that wrote it; other Apps have other ids.
        via: Json | None = None
        if user == BOT_LOGIN:
            via = {"id": self.app_id, "slug": "guardian-policy"}
        elif user.endswith("[bot]"):
            via = {"id": self.app_id + 1000, "slug": user.removesuffix("[bot]")}
        return {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.url}/repos/{repo.full_name}/issues/comments/{cid}",
            "html_url": f"https://github.com/{repo.full_name}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{self.url}/repos/{repo.full_name}/issues/{number}",
            "body": text,
            "user": {"login": user, "id": 7, "type": "Bot" if user.endswith("[bot]") else "User"},
            "created_at": _iso(time.time()),
            "updated_at": _iso(time.time()),
            "author_association": "NONE",
            "performed_via_github_app": via,
        }

    def add_user_comment(self, repo: Repo, number: int, text: str, *, user: str = "octocat") -> None:
        """A comment by someone else (a person, or another App's ``...[bot]``)."""
        with self.lock:
            repo.comments.setdefault(number, []).append(self._comment(repo, number, text, user=user))

    def _create_check_run(self, repo: Repo, body: Json) -> tuple[int, dict[str, str], object]:
        if not body.get("name") or not body.get("head_sha"):
            return 422, {}, {"message": 'Invalid request. "name", "head_sha" weren\'t supplied.'}
        run_id = next(self._ids)
        run: Json = {
            "id": run_id,
            "name": body["name"],
            "head_sha": body["head_sha"],
            "external_id": body.get("external_id", ""),
            # A run may be created completed (with a conclusion), as on GitHub.
            "status": "completed" if body.get("conclusion") else body.get("status", "queued"),
            "conclusion": body.get("conclusion"),
            "started_at": body.get("started_at"),
            "completed_at": body.get("completed_at"),
            "url": f"{self.url}/repos/{repo.full_name}/check-runs/{run_id}",
            "html_url": f"https://github.com/{repo.full_name}/runs/{run_id}",
            "details_url": body.get("details_url"),
            "output": {"title": None, "summary": None, "text": None, "annotations_count": 0},
            "annotations": [],
            "updates": 0,
            "app": {"id": self.app_id, "slug": "guardian-policy", "name": "Guardian"},
            "check_suite": {"id": 1},
            "pull_requests": [],
        }
        problem = self._apply_output(run, body)
        if run["status"] == "completed" and run["conclusion"] not in _CONCLUSIONS:
            problem = "Invalid request. conclusion is required when status is completed"
        if problem:
            return 422, {}, {"message": problem}
        repo.check_runs.append(run)
        return 201, {}, self._public_run(run)

    def _update_check_run(self, repo: Repo, run_id: int, body: Json) -> tuple[int, dict[str, str], object]:
        run = next((r for r in repo.check_runs if r["id"] == run_id), None)
        if run is None:
            return 404, {}, {"message": "Not Found"}
        problem = self._apply_output(run, body)
        if problem:
            return 422, {}, {"message": problem}
        for key in ("status", "conclusion", "completed_at"):
            if key in body:
                run[key] = body[key]
        if body.get("conclusion") and "status" not in body:
            run["status"] = "completed"
        if run["status"] == "completed" and run["conclusion"] not in _CONCLUSIONS:
            return 422, {}, {"message": "Invalid request. conclusion is required when status is completed"}
        run["updates"] = int(run["updates"]) + 1
        return 200, {}, self._public_run(run)

    @staticmethod
    def _apply_output(run: Json, body: Json) -> str:
        output = body.get("output")
        if output is None:
            return ""
        if not isinstance(output, dict) or not output.get("title") or not output.get("summary"):
            return 'Invalid request. "title", "summary" weren\'t supplied.'
        if len(str(output["summary"])) > 65535:
            return "Invalid request. Only 65535 characters are allowed; 'summary' is too long."
        notes = output.get("annotations") or []
        if not isinstance(notes, list) or len(notes) > 50:
            return "Invalid request. Only 50 annotations are allowed per request."
        for note in notes:
            required = ("path", "start_line", "end_line", "annotation_level", "message")
            if not isinstance(note, dict) or any(k not in note for k in required):
                return "Invalid request. annotation is missing a required key."
            if note["annotation_level"] not in ("notice", "warning", "failure"):
                return "Invalid request. annotation_level is invalid."
            if ("start_column" in note or "end_column" in note) and note["start_line"] != note["end_line"]:
                return "Invalid request. columns need start_line == end_line."
        run["output"] = {
            "title": output["title"],
            "summary": output["summary"],
            "text": output.get("text"),
            "annotations_count": len(run["annotations"]) + len(notes),
        }
        run["annotations"] = [*run["annotations"], *notes]
        run.setdefault("annotation_batches", [])
        if notes:
            run["annotation_batches"].append(len(notes))
        return ""

    @staticmethod
    def _public_run(run: Json) -> Json:
        return {k: v for k, v in run.items() if k not in ("annotations", "updates", "annotation_batches")}


# -- what GitHub shows ---------------------------------------------------------------------


@dataclasses.dataclass
class Rendered:
    html: str
    #: Every element in the output, raw HTML included.
    tags: set[str]
    links: list[str]
    images: list[str]
    #: The text of each code span and block, as the reader sees it (entities decoded).
    code: list[str]
    #: Text outside code and links: where GitHub turns ``@name`` into a
    #: mention, ``#1`` into a reference and a bare URL into a link.
    live_text: str
    #: HTML comments.
    comments: list[str]
    #: Text that sits in an HTML attribute (alt, title, href...).
    attributes: list[str]


def render_markdown(markdown: str) -> Rendered:
    """``markdown`` rendered as GitHub renders it (raw HTML kept, to see all of it)."""
    import html.parser

    import cmarkgfm
    from cmarkgfm.cmark import Options

    output = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    found = Rendered(output, set(), [], [], [], "", [], [])
    live: list[str] = []
    code: list[list[str]] = []
    inert = ("code", "pre", "a")
    stack: list[str] = []

    class Walker(html.parser.HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.tags.add(tag)
            found.attributes.extend(value or "" for _name, value in attrs)
            if tag == "a":
                found.links.append(dict(attrs).get("href") or "")
            if tag == "img":
                found.images.append(dict(attrs).get("src") or "")
            if tag in ("img", "br", "hr", "input"):
                return  # void elements have no end tag
            stack.append(tag)
            if tag == "code":
                code.append([])

        def handle_endtag(self, tag: str) -> None:
            if tag in stack:
                while stack.pop() != tag:
                    pass
            if tag == "code" and code:
                found.code.append("".join(code.pop()))

        def handle_data(self, data: str) -> None:
            if "code" in stack and code:
                code[-1].append(data)
            elif not any(t in inert for t in stack):
                live.append(data)

        def handle_comment(self, data: str) -> None:
            found.comments.append(data)

    walker = Walker(convert_charrefs=True)
    walker.feed(output)
    walker.close()
    found.live_text = "".join(live)
    return found


# -- webhook payloads ----------------------------------------------------------------


def installation_object(installation: int) -> Json:
    return {"id": installation, "node_id": f"MDIz{installation}"}


def sender() -> Json:
    return user_object("octocat", 1)


def pull_request_event(repo: Repo, number: int, action: str = "opened", **extra: object) -> Json:
    return {
        "action": action,
        "number": number,
        "pull_request": json.loads(json.dumps(repo.pulls[number])),
        "repository": repo.repo_object(),
        "installation": installation_object(repo.installation),
        "sender": sender(),
        **extra,
    }


def check_suite_event(repo: Repo, head_sha: str, pulls: list[int], action: str = "requested") -> Json:
    mini = []
    for number in pulls:
        pr = repo.pulls[number]
        mini.append(
            {
                "url": pr["url"],
                "id": pr["id"],
                "number": number,
                "head": {
                    "ref": pr["head"]["ref"],
                    "sha": pr["head"]["sha"],
                    "repo": {"id": repo.id, "url": "", "name": repo.name},
                },
                "base": {
                    "ref": pr["base"]["ref"],
                    "sha": pr["base"]["sha"],
                    "repo": {"id": repo.id, "url": "", "name": repo.name},
                },
            }
        )
    return {
        "action": action,
        "check_suite": {
            "id": 5,
            "node_id": "CS_5",
            "head_branch": None if not pulls else "feature",
            "head_sha": head_sha,
            "status": "queued",
            "conclusion": None,
            "pull_requests": mini,
            "app": {"id": APP_ID, "slug": "guardian-policy"},
            "before": None,
            "after": head_sha,
        },
        "repository": repo.repo_object(),
        "installation": installation_object(repo.installation),
        "sender": sender(),
    }


def check_run_event(repo: Repo, run: Json, action: str = "rerequested") -> Json:
    return {
        "action": action,
        "check_run": {
            **FakeGitHub._public_run(run),
            "check_suite": {"id": 1, "head_sha": run["head_sha"], "pull_requests": []},
            "pull_requests": [],
        },
        "repository": repo.repo_object(),
        "installation": installation_object(repo.installation),
        "sender": sender(),
    }


def installation_listing(installation: int, app_id: int = APP_ID) -> Json:
    """An installation as ``GET /app/installations`` lists it."""
    return {
        **installation_object(installation),
        "account": {"login": "acme", "id": 3, "type": "Organization"},
        "app_id": app_id,
        "app_slug": "guardian-policy",
        "target_id": 3,
        "target_type": "Organization",
        "repository_selection": "selected",
        "permissions": {"checks": "write", "contents": "read", "merge_queues": "read"},
        "events": ["pull_request", "check_suite", "check_run", "merge_group"],
        "created_at": "2024-01-02T03:04:05Z",
        "updated_at": "2024-01-02T03:04:05Z",
        "suspended_at": None,
        "suspended_by": None,
    }


def merge_group_event(
    repo: Repo,
    head_sha: str,
    base_sha: str,
    *,
    number: int = 1,
    base_ref: str = "main",
    action: str = "checks_requested",
    reason: str | None = None,
) -> Json:
    """A ``merge_group`` delivery as GitHub sends it: ``checks_requested`` when
    the queue builds a group for pull request ``number`` (its head commit on a
    ``gh-readonly-queue/...`` branch), ``destroyed`` with a ``reason``
    (merged, invalidated, dequeued) when the group goes away."""
    payload: Json = {
        "action": action,
        "merge_group": {
            "head_sha": head_sha,
            "head_ref": f"refs/heads/gh-readonly-queue/{base_ref}/pr-{number}-{base_sha}",
            "base_sha": base_sha,
            "base_ref": f"refs/heads/{base_ref}",
            "head_commit": {
                "id": head_sha,
                "tree_id": repo.commits.get(head_sha, ""),
                "message": f"Merge pull request #{number} from {repo.owner}/feature\n\nChange #{number}",
                "timestamp": _iso(time.time()),
                "author": {"name": "Octo Cat", "email": "octocat@github.com"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
        },
        "repository": repo.repo_object(),
        "organization": {"login": repo.owner, "id": repo.id + 1},
        "installation": installation_object(repo.installation),
        "sender": sender(),
    }
    if reason is not None:
        payload["reason"] = reason
    return payload


def installation_event(installation: int, repos: list[Repo], action: str = "created") -> Json:
    return {
        "action": action,
        "installation": {
            **installation_object(installation),
            "account": {"login": "acme", "id": 3, "type": "Organization"},
            "app_id": APP_ID,
            "repository_selection": "selected",
            "permissions": {"checks": "write", "contents": "read"},
            "events": ["pull_request", "check_suite", "check_run"],
        },
        "repositories": [
            {"id": r.id, "node_id": f"R_{r.id}", "name": r.name, "full_name": r.full_name, "private": False}
            for r in repos
        ],
        "sender": sender(),
    }


# -- harness: keys, the App on loopback, signed deliveries ----------------------------


def make_key() -> tuple[str, object]:
    """A fresh RSA key: (PEM private key, public key object)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


class AppServer:
    """The App served by a real uvicorn server on a free loopback port, in a
    thread, with the server options ``python -m guardian_app.serve`` uses."""

    def __init__(self, app: FastAPI) -> None:
        import socket

        import uvicorn

        from guardian_app.serve import server_options

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.host, self.port = self.sock.getsockname()[:2]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, **{**server_options(), "log_level": "warning"})
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> AppServer:
        self.thread.start()
        # Start-up waits for the evaluation processes to be warm.
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the App did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def serve_subprocess(
    env: AppEnv, tmp_path: pathlib.Path, *, stderr: int | None = None, **variables: str
) -> tuple[subprocess.Popen[bytes], str, socket.socket]:
    """The App as production runs it, ``python -m guardian_app.serve``, in its own
    process on a loopback socket, with ``env``'s settings as ``GUARDIAN_*``
    variables (and ``variables`` on top): (process, URL, socket), once
    ``/healthz`` answers."""
    key_file = tmp_path / "app.pem"
    key_file.write_text(env.settings.private_key)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GUARDIAN_")}
    environment.update(
        GUARDIAN_WEBHOOK_SECRET=SECRET,
        GUARDIAN_APP_ID=env.settings.app_id,
        GUARDIAN_PRIVATE_KEY_PATH=str(key_file),
        GUARDIAN_GITHUB_API_URL=env.fake.url,
        GUARDIAN_DB_PATH=env.settings.db_path,
        GUARDIAN_RETRY_BACKOFF="0.01",
        GUARDIAN_POLL_INTERVAL="0.05",
        GUARDIAN_RECONCILE_LIMIT="0",
        GUARDIAN_REDELIVER_INTERVAL="0",
        GUARDIAN_LOG_LEVEL="WARNING",
    )
    environment.update(variables)
    proc = subprocess.Popen(
        [sys.executable, "-m", "guardian_app.serve", "--fd", str(sock.fileno())],
        cwd=ROOT,
        env=environment,
        pass_fds=[sock.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if stderr is None else stderr,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait(10)
            sock.close()
            raise AssertionError("the App subprocess did not start")
        time.sleep(0.05)
    return proc, url, sock


def deliver(
    client: httpx.Client,
    url: str,
    secret: str,
    event: str,
    payload: Mapping[str, object] | bytes,
    *,
    delivery: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """POST a delivery to ``url``/webhook as GitHub does (headers, HMAC-SHA256 signature)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc123",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or secrets.token_hex(16),
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(APP_ID),
        "X-Hub-Signature-256": signature if signature is not None else sign(secret, body),
    }
    if signature == "":
        del headers["X-Hub-Signature-256"]
    return client.post(f"{url}/webhook", content=body, headers=headers)


def wait_for(predicate: Callable[[], object], timeout: float = 15.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(KeyError, IndexError, TypeError):
            if predicate():
                return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


REQUIRED_IGNORES = (
    "*.bak\n*.backup\n*.sqlite\n*.sqlite3\n*.whl\n*.tar.gz\n*.zip\n*.sim\n*.prt\n*.fem\n*.bdf\n*.op2\n*.f06\n*.frd\n"
)
SECRET = "test-webhook-secret-3f9a"
_KEY: tuple[str, object] | None = None


def shared_key() -> tuple[str, object]:
    """One RSA key per test process (generating one takes a moment)."""
    global _KEY
    if _KEY is None:
        _KEY = make_key()
    return _KEY


class AppEnv:
    """A fake GitHub and the App pointed at it, both on loopback.

    ``settings`` overrides ``guardian_app.settings.Settings`` fields. ``serve=False``
    leaves the App to be started by the test (e.g. as a subprocess).
    """

    def __init__(
        self,
        db_path: str,
        *,
        serve: bool = True,
        api_prefix: str = "",
        store_factory: Callable[[Settings], Store] | None = None,
        **settings: object,
    ) -> None:
        from guardian_app.settings import Settings

        pem, public = shared_key()
        self.fake = FakeGitHub(public, prefix=api_prefix).start()
        values: Json = {
            "webhook_secret": SECRET,
            "app_id": str(APP_ID),
            "private_key": pem,
            "api_url": self.fake.url,
            "db_path": db_path,
            "workers": 2,
            "retry_backoff": 0.01,
            "poll_interval": 0.05,
            "reconcile_limit": 0,
            "redeliver_interval": 0.0,
            "log_level": "WARNING",
            # In-thread Apps keep their workers on their own loop (tests read
            # ``app.state.worker``); serve_subprocess runs the two-process App.
            "worker_process": False,
        }
        values.update(settings)
        self.settings = Settings(**values)
        self.store_factory = store_factory
        self.client = httpx.Client(timeout=10)
        self.server: AppServer | None = None
        self.app: FastAPI | None = None
        if serve:
            self.start_app()

    def start_app(self) -> None:
        from guardian_app.main import create_app

        self.app = create_app(self.settings, store_factory=self.store_factory)
        self.server = AppServer(self.app).__enter__()

    def stop_app(self) -> None:
        if self.server is not None:
            self.server.__exit__()
            self.server = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def close(self) -> None:
        self.stop_app()
        self.client.close()
        self.fake.stop()

    def __enter__(self) -> AppEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def deliver(
        self,
        event: str,
        payload: Mapping[str, object] | bytes,
        *,
        delivery: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        return deliver(self.client, self.url, SECRET, event, payload, delivery=delivery, signature=signature)

    def repo_with_pr(
        self,
        head_files: dict[str, bytes],
        *,
        base_files: dict[str, bytes] | None = None,
        number: int = 1,
        name: str = "acme/atomizer",
    ) -> tuple[Repo, str, str]:
        """A repository whose base holds a tidy tree and a pull request adding ``head_files``."""
        repo = self.fake.repos.get(name) or self.fake.add_repo(name)
        base = {".gitignore": REQUIRED_IGNORES.encode(), "README.md": b"# atomizer\n", "src/atomizer/__init__.py": b""}
        base.update(base_files or {})
        base_sha = repo.commit(base, "base")
        head_sha = repo.commit({**base, **head_files}, "head")
        repo.open_pr(number, base_sha, head_sha)
        return repo, base_sha, head_sha

    def completed_runs(self, repo: Repo, head_sha: str) -> list[Json]:
        with self.fake.lock:
            return [r for r in repo.check_runs if r["head_sha"] == head_sha and r["status"] == "completed"]

    def wait_completed(self, repo: Repo, head_sha: str, timeout: float = 15.0) -> Json:
        wait_for(lambda: self.completed_runs(repo, head_sha), timeout)
        return self.completed_runs(repo, head_sha)[-1]

    @property
    def store(self) -> SqliteStore:
        """The running App's store (its calls block: fine from a test's thread)."""
        assert self.app is not None
        store: SqliteStore = self.app.state.store
        return store

    @property
    def queue(self) -> SqliteStore:
        """The store, by the name the tests that read its jobs use."""
        return self.store

    def wait_idle(self, timeout: float = 15.0) -> None:
        """Until the App's store holds no waiting or running job."""
        store = self.store
        wait_for(lambda: store.depth() == 0, timeout)
