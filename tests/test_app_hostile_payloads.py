"""Signed payloads with fields GitHub never sends, and API answers likewise.

A signature proves the delivery came from whoever holds the secret, not
that its fields are sane: numbers past SQLite's 64 bits, JSON nested past
the parser's recursion, a repository named ``../../x`` that the HTTP client
would resolve into another endpoint, with the installation token attached.
Each is refused (400) or ignored (202), never a 500, and nothing it names
reaches GitHub.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardian_app.names import is_repo_name
from tests.fake_github import (
    AppEnv,
    Json,
    check_run_event,
    check_suite_event,
    installation_event,
    pull_request_event,
    wait_for,
)

BAD_PY = b"import optimization_engine.core\n"
#: The only paths the App has any business asking the fake GitHub for here.
PLAIN_PATH = re.compile(
    r"^/(repos/acme/atomizer/[A-Za-z0-9/_.-]+|installation/repositories|app/installations(?:/1/access_tokens)?)$"
)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3"), job_attempts=1) as env:
        yield env


def _opened(env: AppEnv) -> Json:
    repo, _base, _head = env.repo_with_pr({"src/solver.py": BAD_PY})
    return pull_request_event(repo, 1, "opened")


def _ignored(env: AppEnv, event: str, payload: Json) -> None:
    response = env.deliver(event, payload)
    assert response.status_code == 202, response.text
    assert "ignored" in response.json()
    # Jobs are recorded before the answer goes out: none was.
    assert env.queue.jobs() == []


def test_an_installation_id_github_would_not_send_is_ignored(env: AppEnv) -> None:
    opened = _opened(env)
    for value in (2**70, 2**63, -1, 0, True, 1.5, "1"):
        payload = copy.deepcopy(opened)
        payload["installation"]["id"] = value
        _ignored(env, "pull_request", payload)
    assert env.store.installations() == []


def test_a_pull_request_number_out_of_range_is_ignored(env: AppEnv) -> None:
    opened = _opened(env)
    for value in (2**70, 2**63, -7, 0):
        payload = copy.deepcopy(opened)
        payload["pull_request"]["number"] = value
        payload["number"] = value
        _ignored(env, "pull_request", payload)


def test_out_of_range_numbers_elsewhere_never_reach_the_database(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    suite = check_suite_event(repo, head, [1])
    suite["check_suite"]["pull_requests"][0]["number"] = 2**70
    response = env.deliver("check_suite", suite)
    # The suite's pull request is looked up by its head instead, as for a fork.
    assert response.status_code == 202
    assert [job["pr"] for job in env.queue.jobs()] == [None]
    for action in ("created", "deleted"):
        event = installation_event(2**70, [repo], action)
        response = env.deliver("installation", event)
        assert response.status_code == 202 and "ignored" in response.json()
    added = installation_event(1, [repo], "created")
    added["installation"]["account"]["login"] = "x" * 10_000
    assert env.deliver("installation", added).status_code == 202
    assert env.store.installations() == [1]


@pytest.mark.parametrize("shape", ["arrays", "objects"])
def test_json_nested_past_the_parsers_recursion_is_a_400(env: AppEnv, shape: str) -> None:
    depth = 100_000
    body = "[" * depth + "]" * depth if shape == "arrays" else '{"a":' * depth + "1" + "}" * depth
    response = env.deliver("pull_request", body.encode())
    assert response.status_code == 400
    assert env.client.get(f"{env.url}/healthz").status_code == 200


HOSTILE_NAMES = [
    "../../x",
    "acme/..",
    "acme/.",
    "../acme",
    "acme/atomizer/../../app/installations/1",
    "acme/atomizer%2F..%2F..",
    "acme/atomizer?per_page=1",
    "acme/atomizer#x",
    "acme/atom izer",
    "acme\\atomizer",
    "-acme/atomizer",
    "acme-/atomizer",
    "ac--me/atomizer",
    "a" * 40 + "/atomizer",
    "acme/" + "x" * 101,
    "acmé/atomizer",
    "acme/",
    "/atomizer",
    "acme",
]


def test_a_repository_name_github_would_not_allow_never_reaches_a_url(env: AppEnv) -> None:
    opened = _opened(env)
    for name in HOSTILE_NAMES:
        payload = copy.deepcopy(opened)
        payload["repository"]["full_name"] = name
        _ignored(env, "pull_request", payload)
    assert env.fake.requests == []


def test_names_github_allows_pass() -> None:
    for name in ("acme/atomizer", "a-b/c.d_e-f", "A1/.github", "o/" + "x" * 100, "a" * 39 + "/r", "octo_emu/repo"):
        assert is_repo_name(name), name
    for name in HOSTILE_NAMES:
        assert not is_repo_name(name), name


def test_a_head_sha_that_is_no_object_id_is_ignored(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    for sha in ("../../../app/installations/1/access_tokens", "A" * 39, "g" * 40, "a" * 41, ""):
        payload = pull_request_event(repo, 1, "opened")
        payload["pull_request"]["head"]["sha"] = sha
        _ignored(env, "pull_request", payload)
        suite = check_suite_event(repo, head, [1])
        suite["check_suite"]["head_sha"] = sha
        _ignored(env, "check_suite", suite)
        run: Json = {"id": 5, "name": "guardian", "head_sha": sha, "external_id": "3:pr:1", "status": "completed"}
        rerun = check_run_event(repo, {**run, "conclusion": "failure", "output": {}, "app": {"id": 1}})
        _ignored(env, "check_run", rerun)
    assert env.fake.requests == []


def test_the_reconcile_skips_a_listed_repository_with_a_hostile_name(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), reconcile_limit=10) as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
        env.deliver("installation", installation_event(1, [repo]))
        hostile = copy.deepcopy(repo.repo_object())
        hostile.update(full_name="../../app/installations/1", name="..")
        env.fake.extra_listed_repos[1] = [hostile]
        env.stop_app()
        env.start_app()
        # The real repository is reconciled; the hostile one is passed over.
        assert env.wait_completed(repo, head, timeout=60)["conclusion"] == "failure"
        env.wait_idle()
        paths = [r.path for r in env.fake.requests]
        assert [p for p in paths if not PLAIN_PATH.match(p)] == []


def test_a_pull_request_whose_api_answer_names_a_hostile_commit_is_not_followed(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": BAD_PY})
    payload = pull_request_event(repo, 1, "opened")
    with env.fake.lock:
        repo.pulls[1]["base"]["sha"] = "../../../../app/installations/1/access_tokens"
    assert env.deliver("pull_request", payload).status_code == 202
    wait_for(lambda: env.queue.jobs()[0]["state"] == "failed", 30)
    assert "no valid number, head and base commit ids" in str(env.queue.jobs()[0]["error"])
    assert [r.path for r in env.fake.requests if not PLAIN_PATH.match(r.path)] == []
    assert env.fake.calls("GET", r"/git/trees/") == [] and env.completed_runs(repo, head) == []


def test_the_client_refuses_paths_with_dot_segments_or_escapes(env: AppEnv) -> None:
    from guardian_app.github import GitHubClient, GitHubError
    from guardian_app.metrics import Metrics

    async def attempt(path: str) -> None:
        client = GitHubClient(env.settings, Metrics())
        try:
            await client.request("GET", path, installation=1)
        finally:
            await client.aclose()

    for path in ("/repos/acme/atomizer/../../app/installations", "/repos/acme/%2e%2e/x", "/repos/acme/a b", "repos/x"):
        with pytest.raises(GitHubError, match="unsafe segments"):
            asyncio.run(attempt(path))
    assert env.fake.requests == []
