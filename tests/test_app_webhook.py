"""The webhook route: what GitHub (or anyone else) gets back, over real HTTP.

Verification happens on the raw bytes before anything is parsed, and a
delivery that fails it never reaches the queue, the worker or GitHub.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardian_app.settings import SettingsError, from_env
from guardian_app.webhook import verify_signature
from tests.fake_github import ROOT, SECRET, AppEnv, Json, installation_event, pull_request_event, sign


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3")) as env:
        yield env


def _pr(env: AppEnv) -> Json:
    repo, _base, _head = env.repo_with_pr({"src/solver.py": b"import optimization_engine\n"})
    return pull_request_event(repo, 1, "opened")


def _jobs(env: AppEnv) -> list[Json]:
    return env.queue.jobs()


def test_a_missing_signature_is_refused_with_401(env: AppEnv) -> None:
    response = env.deliver("pull_request", _pr(env), signature="")
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["message"]


def test_a_bad_signature_never_reaches_the_evaluator(env: AppEnv) -> None:
    payload = _pr(env)
    body = json.dumps(payload).encode()
    forged = [
        sign("not-the-secret", body),
        "sha256=" + "0" * 64,
        "sha1=" + "0" * 40,
        sign(SECRET, body)[:-1] + "x",
        sign(SECRET, body + b" "),  # signature of other bytes
    ]
    for signature in forged:
        response = env.deliver("pull_request", body, signature=signature)
        assert response.status_code == 401, signature
    # Jobs are recorded before the answer goes out: none was, and GitHub was never asked.
    assert _jobs(env) == []
    assert env.fake.requests == []
    metrics = env.client.get(f"{env.url}/metrics").text
    assert 'guardian_webhook_deliveries_total{event="pull_request",outcome="bad_signature"} 5' in metrics


def test_the_signature_is_checked_before_the_body_is_parsed(env: AppEnv) -> None:
    # Garbage with a wrong signature is a 401 (not a 400): nothing was parsed.
    response = env.deliver("pull_request", b"{not json", signature="sha256=" + "1" * 64)
    assert response.status_code == 401


def test_malformed_json_with_a_good_signature_is_400(env: AppEnv) -> None:
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = env.deliver("pull_request", body)
        assert response.status_code == 400, body
    assert _jobs(env) == []


def test_a_body_over_25_mb_is_413(env: AppEnv) -> None:
    big = b'{"x": "' + b"a" * (25 * 1000 * 1000) + b'"}'
    response = env.deliver("pull_request", big)
    assert response.status_code == 413


def test_a_chunked_body_over_the_limit_is_413(tmp_path: Path) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), max_payload_bytes=1000) as env:

        def chunks() -> Iterator[bytes]:
            for _ in range(20):
                yield b"x" * 100

        headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d1", "X-Hub-Signature-256": "sha256=00"}
        response = env.client.post(f"{env.url}/webhook", content=chunks(), headers=headers)
        assert response.status_code == 413


def test_ping_is_answered_200(env: AppEnv) -> None:
    response = env.deliver("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert response.status_code == 200


def test_unknown_events_and_actions_are_acknowledged_and_ignored(env: AppEnv) -> None:
    payload = _pr(env)
    cases = [
        ("push", {"ref": "refs/heads/main", "installation": {"id": 1}, "repository": payload["repository"]}),
        ("pull_request", {**payload, "action": "closed"}),
        ("pull_request", {**payload, "action": "labeled"}),
        ("pull_request", {**payload, "action": "edited", "changes": {"title": {"from": "old"}}}),
        (
            "check_run",
            {"action": "completed", "check_run": {}, **{k: payload[k] for k in ("repository", "installation")}},
        ),
    ]
    for event, body in cases:
        response = env.deliver(event, body)
        assert response.status_code == 202, (event, body.get("action"))
        assert "ignored" in response.json()
    assert _jobs(env) == []


def test_handled_actions_queue_a_job(env: AppEnv) -> None:
    payload = _pr(env)
    for i, action in enumerate(("opened", "synchronize", "reopened", "ready_for_review")):
        response = env.deliver("pull_request", {**payload, "action": action}, delivery=f"d-{i}")
        assert response.status_code == 202
    base_change = {**payload, "action": "edited", "changes": {"base": {"ref": {"from": "develop"}}}}
    assert env.deliver("pull_request", base_change).status_code == 202
    reasons = {str(j["reason"]) for j in _jobs(env)}
    assert "pull_request.opened" in reasons


def test_installations_are_recorded_and_forgotten(env: AppEnv) -> None:
    repo = env.fake.add_repo("acme/widgets", installation=9)
    state = env.store
    assert env.deliver("installation", installation_event(9, [repo])).status_code == 202
    assert state.installations() == [9]
    removed = {
        "action": "removed",
        "installation": {"id": 9},
        "repositories_removed": [{"full_name": "acme/widgets"}],
        "repositories_added": [],
    }
    assert env.deliver("installation_repositories", removed).status_code == 202
    assert env.deliver("installation", installation_event(9, [repo], "deleted")).status_code == 202
    assert state.installations() == []


def test_healthz_and_metrics(env: AppEnv) -> None:
    health = env.client.get(f"{env.url}/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True
    env.deliver("ping", {"zen": "z"})
    text = env.client.get(f"{env.url}/metrics").text
    for name in (
        "guardian_webhook_deliveries_total",
        "guardian_jobs_total",
        "guardian_queue_depth",
        "guardian_github_requests_total",
        "guardian_evaluation_seconds",
    ):
        assert f"# TYPE {name} " in text
    assert 'guardian_webhook_deliveries_total{event="ping",outcome="ping"} 1' in text


def test_metrics_count_jobs_and_github_calls_by_status(env: AppEnv) -> None:
    repo, _base, head = env.repo_with_pr({"src/solver.py": b"import optimization_engine\n"})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    env.wait_completed(repo, head)
    env.wait_idle()
    text = env.client.get(f"{env.url}/metrics").text
    assert 'guardian_jobs_total{outcome="done"} 1' in text
    assert 'guardian_github_requests_total{status="201"}' in text
    assert "guardian_evaluation_seconds_count 1" in text
    assert "guardian_queue_depth 0" in text


def test_signature_check_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"zen":"x"}'
    assert verify_signature(b"s3cret", body, sign("s3cret", body))
    assert not verify_signature(b"s3cret", body, None)
    assert not verify_signature(b"s3cret", body, sign("s3cret", body).upper())
    assert not verify_signature(b"s3cret", body, "sha256=\u00e9")


def test_settings_refuse_to_start_without_a_webhook_secret_and_say_which_variable() -> None:
    with pytest.raises(SettingsError, match="GUARDIAN_WEBHOOK_SECRET"):
        from_env({"GUARDIAN_APP_ID": "1", "GUARDIAN_PRIVATE_KEY": "x"})
    with pytest.raises(SettingsError, match="GUARDIAN_PRIVATE_KEY"):
        from_env({"GUARDIAN_WEBHOOK_SECRET": "s", "GUARDIAN_APP_ID": "1"})
    with pytest.raises(SettingsError, match="GUARDIAN_WORKERS"):
        from_env(
            {
                "GUARDIAN_WEBHOOK_SECRET": "s",
                "GUARDIAN_APP_ID": "1",
                "GUARDIAN_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----",
                "GUARDIAN_WORKERS": "many",
            }
        )


@pytest.mark.parametrize(
    "command",
    [["guardian_app.serve", "--port", "0"], ["uvicorn", "--factory", "guardian_app.main:create_app", "--port", "0"]],
    ids=["guardian_app.serve", "uvicorn-factory"],
)
def test_the_server_refuses_to_start_without_a_webhook_secret(tmp_path: Path, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARDIAN_")}
    env.update(GUARDIAN_APP_ID="1", GUARDIAN_PRIVATE_KEY="x", GUARDIAN_DB_PATH=str(tmp_path / "db"))
    proc = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "GUARDIAN_WEBHOOK_SECRET is not set" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_logs_are_json_with_the_delivery_id_and_never_a_secret(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with AppEnv(str(tmp_path / "app.sqlite3"), log_level="INFO") as env:
        repo, _base, head = env.repo_with_pr({"src/solver.py": b"import optimization_engine\n"})
        env.deliver("pull_request", pull_request_event(repo, 1, "opened"), delivery="delivery-abc-123")
        env.wait_completed(repo, head)
        env.wait_idle()
        env.deliver("pull_request", b"{}", signature="sha256=" + "2" * 64, delivery="forged-1")
        tokens = list(env.fake.tokens)
        key = env.settings.private_key
    err = capfd.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines, err
    ours = [entry for entry in lines if entry.get("delivery_id") == "delivery-abc-123"]
    assert any("queued" in entry["message"] for entry in ours)
    assert any(entry.get("job_id") for entry in ours)  # the worker's lines carry it too
    assert any(entry.get("delivery_id") == "forged-1" and entry["level"] == "warning" for entry in lines)
    assert tokens
    for secret in (SECRET, *tokens, *key.splitlines()[1:-1]):
        assert secret not in err


def test_the_webhook_acknowledges_before_the_work_is_done(env: AppEnv) -> None:
    held = env.fake.hold("GET", r"/pulls/1$")
    response = env.deliver("pull_request", _pr(env))
    assert response.status_code == 202
    assert held.arrived.wait(5)  # the worker is busy with it, after the answer went out
    held.release.set()
    env.wait_idle()


def test_unsigned_deliveries_cannot_add_metric_labels(env: AppEnv) -> None:
    # Anyone can send any X-GitHub-Event header; the metrics must not keep each one.
    for i in range(20):
        response = env.deliver(f"made-up-event-{i}", b"{}", signature="sha256=" + "3" * 64)
        assert response.status_code == 401
    text = env.client.get(f"{env.url}/metrics").text
    assert "made-up-event" not in text
    assert 'guardian_webhook_deliveries_total{event="other",outcome="bad_signature"} 20' in text


def test_the_scrubber_catches_escaped_secrets_and_token_shapes_and_forgets_old_tokens() -> None:
    import logging

    from guardian_app.logs import JsonFormatter, Scrubber

    scrubber = Scrubber()
    secret = 'we"bhook\\sec\tret'
    scrubber.add(secret)
    record = logging.LogRecord("guardian.app", logging.WARNING, __file__, 1, "secret is %s", (secret,), None)
    line = JsonFormatter(scrubber).format(record)
    assert json.loads(line)["message"] == "secret is ***"
    # A GitHub token or a JWT nobody registered is still recognised.
    token = "ghs_" + "A1b2" * 9
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MjQyIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    assert (
        scrubber.scrub(f"Authorization: token {token} / Bearer {jwt_like}") == "Authorization: token *** / Bearer ***"
    )
    # Tokens come and go: the scrubber holds those in use, not every one ever issued.
    size = len(scrubber)
    for i in range(100):
        value = f"installation-token-{i:04d}"
        scrubber.add(value)
        assert "***" in scrubber.scrub(f"x {value} y")
        scrubber.discard(value)
    assert len(scrubber) == size
    assert scrubber.scrub(secret) == "***"


def test_a_burst_of_first_deliveries_remembers_their_installation_once(env: AppEnv) -> None:
    """Deliveries that arrive together for an installation not yet known
    write it once, not once each (with several instances each write would
    also wait for the others' lock on the same row)."""
    import concurrent.futures
    import time

    repo, _base, _head = env.repo_with_pr({"src/ok.py": b"import atomizer\n"})
    payloads = [pull_request_event(repo, 1, "opened") for _ in range(10)]
    store = env.store
    # The store's thread waits on its lock: every delivery is in flight at once.
    with store._lock, concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = [pool.submit(env.deliver, "pull_request", payload) for payload in payloads]
        time.sleep(0.5)
        assert not any(answer.done() for answer in answers)
        store._lock.release()
        try:
            statuses = [answer.result(timeout=30).status_code for answer in answers]
        finally:
            store._lock.acquire()
    assert statuses == [202] * 10
    assert store.installations() == [repo.installation]
    metrics = env.client.get(f"{env.url}/metrics").text
    assert 'guardian_store_seconds_count{call="remember_installation"} 1\n' in metrics
