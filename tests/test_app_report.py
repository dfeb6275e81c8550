"""What the App sends stays inside GitHub's limits, whatever the findings say.

Pure functions of an evaluation, so many odd inputs are cheap to try.
"""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.model import Finding, Result
from guardian_app import report
from guardian_app.evaluate import Evaluation
from guardian_app.github import GitHubClient, GitHubError
from guardian_app.metrics import Metrics
from guardian_app.pulls import PullRequest
from guardian_app.settings import Settings
from tests.fake_github import render_markdown

PR = PullRequest(7, "a" * 40, "b" * 40, "main", "open", "https://github.com/acme/atomizer/pull/7")
texts = st.text(st.characters(codec="utf-8"), max_size=400)


def _evaluation(findings: list[Finding], *, changed: int = 3) -> Evaluation:
    result = Result()
    result.findings = findings
    result.rules = ["forbidden-import", "windows-path"]
    result.files_checked = changed
    return Evaluation(pr=PR, result=result, policy_source="shipped policy 'default'", changed_files=changed)


findings_strategy = st.lists(
    st.builds(
        Finding,
        st.sampled_from(["forbidden-import", "windows-path", "max-file-size", "gitignore-required", "dir-budget"]),
        texts,
        texts,
        severity=st.sampled_from(["error", "warning"]),
        line=st.integers(0, 10**6),
        column=st.integers(0, 500),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(findings_strategy)
def test_every_output_respects_githubs_limits(findings: list[Finding]) -> None:
    evaluation = _evaluation(findings)
    summary = report.check_summary(evaluation, annotated=len(findings))
    assert len(summary.encode("utf-8")) < report.SUMMARY_LIMIT
    body = report.comment_body(evaluation)
    assert len(body.encode("utf-8")) < report.COMMENT_LIMIT and body.startswith(report.COMMENT_MARKER)
    state, description = report.status(evaluation)
    assert state in ("success", "failure") and len(description) <= report.STATUS_LIMIT
    notes = report.annotations_for(evaluation, cap=1000)
    assert len(notes) == sum(1 for f in findings if f.path)
    for batch in report.batches(notes):
        assert 1 <= len(batch) <= report.ANNOTATIONS_PER_REQUEST
    for note in notes:
        assert note["start_line"] == note["end_line"]
        assert int(str(note["start_line"])) >= 1
        assert note["annotation_level"] in ("failure", "warning")
        assert len(str(note["title"])) <= 255


def test_a_huge_report_is_cut_to_fit_and_says_so() -> None:
    message = "x" * 3000
    findings = [Finding("forbidden-import", f"src/mod_{i}.py", message, line=i + 1) for i in range(5000)]
    evaluation = _evaluation(findings, changed=3000)
    summary = report.check_summary(evaluation, annotated=500)
    assert len(summary.encode()) < report.SUMMARY_LIMIT
    assert "4500 findings not annotated" in summary
    assert len(report.comment_body(evaluation).encode()) < report.COMMENT_LIMIT
    assert "4970 more in the check run" in report.comment_body(evaluation)
    assert len(report.annotations_for(evaluation, cap=500)) == 500


def test_conclusions_follow_severity() -> None:
    assert report.conclusion(_evaluation([])) == "success"
    warning = Finding("windows-path", "a.py", "m", severity="warning", line=1)
    assert report.conclusion(_evaluation([warning])) == "neutral"
    error = Finding("windows-path", "a.py", "m", line=1)
    assert report.conclusion(_evaluation([warning, error])) == "failure"
    broken = Evaluation(pr=PR, config_error=".guardian.toml: rules.x: unknown rule")
    assert report.conclusion(broken) == "failure" and report.status(broken)[0] == "error"


def test_a_path_cannot_break_the_markdown_table() -> None:
    evil = Finding("windows-path", "a|b`c\n<x>.py", "bad | message <img src=x>\nsecond line", line=3)
    summary = report.check_summary(_evaluation([evil]), annotated=1)
    row = next(line for line in summary.splitlines() if "windows-path |" in line and "bad" in line)
    # Five cell borders, whatever the path and message hold.
    assert row.replace("\\|", "").count("|") == 5
    shown = render_markdown(summary)
    # Path and message each sit whole in a code span, shown as they are (the line break as a space).
    assert "a|b`c <x>.py" in shown.code
    assert "bad | message <img src=x> second line" in shown.code
    assert "img" not in shown.tags and "<x>" not in shown.live_text


def test_the_comment_does_not_change_when_only_the_commit_does() -> None:
    finding = Finding("forbidden-import", "src/a.py", "import of `optimization_engine` is forbidden", line=1)
    first = report.comment_body(_evaluation([finding]))
    moved = Evaluation(
        pr=PullRequest(7, "c" * 40, "b" * 40, "main", "open", PR.html_url),
        result=_evaluation([finding]).result,
        policy_source="shipped policy 'default'",
    )
    assert report.comment_body(moved) == first


def test_the_read_budget_is_four_plus_a_request_per_hundred_files() -> None:
    for changed in (0, 1, 100, 101, 3000):
        assert _evaluation([], changed=changed).read_budget == 4 + math.ceil(changed / 100)


def test_credentials_are_never_sent_outside_the_api_base_url() -> None:
    settings = Settings(webhook_secret="s", app_id="1", private_key="k", api_url="https://ghe.example.com/api/v3")

    async def attempt() -> None:
        client = GitHubClient(settings, Metrics())
        try:
            await client.request("GET", "https://evil.example.com/api/v3/repos/a/b", installation=1)
        finally:
            await client.aclose()

    with pytest.raises(GitHubError, match="refusing to send credentials"):
        asyncio.run(attempt())


def test_a_quoted_windows_path_keeps_its_single_backslashes() -> None:
    finding = Finding(
        "windows-path", "src/solver.py", "hard-coded Windows path `C:\\results\\run1`; use pathlib", line=2
    )
    summary = report.check_summary(_evaluation([finding]), annotated=1)
    assert "`C:\\results\\run1`" in summary
    assert "C:\\\\results" not in summary
