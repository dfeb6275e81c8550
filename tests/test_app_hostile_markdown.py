"""Nothing a repository holds becomes live Markdown in what the App posts.

Paths, patterns, rule messages quoting them and config values are the
pull request author's to choose. The App runs for real (uvicorn, the fake
GitHub over HTTP); what it posts is rendered as GitHub renders it
(cmark-gfm, ``tests.fake_github.render_markdown``) and searched for
mentions, links, images, HTML and entities that came from the repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.model import Finding, Result
from guardian_app import report
from guardian_app.evaluate import Evaluation
from guardian_app.pulls import PullRequest
from tests.fake_github import AppEnv, Rendered, pull_request_event, render_markdown, wait_for

#: Every hostile name carries this, so any of it outside code is found.
MARK = "HOSTILE"
#: The elements our own templates use (headings, tables, lists, details, the footer).
OWN_TAGS = {"p", "h3", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "ul", "li"}
OWN_TAGS |= {"details", "summary", "sub", "strong", "blockquote", "a"}

MENTION_DIR = f"cc @octocat please review {MARK}"
#: Slashes separate directories, so the URLs have one (browsers read ``https:/x`` as ``https://x``).
LINK_DIR = f"[click here](https:/evil.example/phish) ![](https:/evil.example/px.png) {MARK}"
ENTITY_DIR = f"R&amp;D &lt;b&gt; <img src=x onerror=alert(1)> &copy; {MARK}"
AUTOLINK_DIR = f"see www.evil.example or x@evil.example <https:evil.example> #1 {MARK}"
EMPHASIS_DIR = f"*emph* _under_ **bold** ~~gone~~ :tada: {MARK}"
#: Re-includes ``*.zip`` (the class holds ``z``), with a backtick that
#: closed the rule's code span early and a mention after it.
BACKTICK_NEGATION = f"!*.[z`@octocat {MARK}]ip"
SKIPPED = f"big|file @octocat {MARK} &amp; x.py"
CONFIG_DIR = f"tools @octocat [x](https:evil.example) {MARK}"
BAD_PY = b"import optimization_engine.core\n"


def assert_inert(markdown: str, *, links: tuple[str, ...] = ()) -> Rendered:
    """Rendered as GitHub renders it, ``markdown`` shows repository text only as code."""
    shown = render_markdown(markdown)
    assert shown.tags <= OWN_TAGS, shown.tags - OWN_TAGS
    assert shown.images == []
    assert set(shown.links) <= set(links), shown.links
    assert MARK not in shown.live_text, shown.live_text
    # No mention, team mention or e-mail autolink: our own text never has an @.
    assert "@" not in shown.live_text
    assert "evil.example" not in shown.live_text
    assert all(MARK not in value for value in shown.attributes)
    for comment in shown.comments:
        assert comment.strip() == report.COMMENT_MARKER.removeprefix("<!--").removesuffix("-->").strip()
    return shown


def shows(shown: Rendered, text: str) -> bool:
    """``text`` appears, exactly as it is, inside one code span or block."""
    return any(text in code for code in shown.code)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AppEnv]:
    with AppEnv(str(tmp_path / "app.sqlite3"), max_blob_bytes=64 * 1024) as env:
        yield env


def test_hostile_names_reach_the_reviewer_as_code_only(env: AppEnv) -> None:
    head_files = {
        f"{MENTION_DIR}/.gitignore": b"!*.bak\n",
        "deep/.gitignore": BACKTICK_NEGATION.encode() + b"\n",
        f"{LINK_DIR}/solver.py": BAD_PY,
        f"{ENTITY_DIR}/notes.txt": b"results in C:\\results\\run1\n",  # guardian: ignore[windows-path]
        f"{ENTITY_DIR}/.gitignore": b"!*.whl\n",
        f"{AUTOLINK_DIR}/mod.py": BAD_PY,
        f"{EMPHASIS_DIR}/mod.py": BAD_PY,
        # Over the App's 64 KiB content bound: listed as not read.
        SKIPPED: b"x = 1\n" * 20_000,
        f"{CONFIG_DIR}/tool.bin": b"\0" * 64,
    }
    config = f'[rules.dir-budget.budgets]\n"{CONFIG_DIR}/" = "1 B"\n'.encode()
    repo, _base, head = env.repo_with_pr(head_files, base_files={".guardian.toml": config})
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head, timeout=60)
    wait_for(lambda: repo.bot_comments(1), 30)
    checks = f"{repo.pulls[1]['html_url']}/checks"

    comment = assert_inert(str(repo.bot_comments(1)[0]["body"]), links=(checks,))
    summary = assert_inert(str(run["output"]["summary"]))
    # The title is the App's own words.
    assert re.fullmatch(r"\d+ errors?, \d+ warnings?", str(run["output"]["title"]))

    for shown in (comment, summary):
        # The nested .gitignore's path, in the message that names it, is code, not a ping.
        assert shows(shown, f"{MENTION_DIR}/.gitignore line 1")
        # The backtick inside the pattern did not close the span around it.
        assert shows(shown, BACKTICK_NEGATION)
        for directory in (LINK_DIR, ENTITY_DIR, AUTOLINK_DIR, EMPHASIS_DIR):
            assert shows(shown, directory), directory
        # A config value the rule quotes without backticks.
        assert shows(shown, f"{CONFIG_DIR}/ holds")
    # Entities are shown as typed, neither decoded nor doubled, in paths and in messages.
    for shown in (comment, summary):
        assert shows(shown, f"{ENTITY_DIR}/notes.txt")
        assert shows(shown, f"{ENTITY_DIR}/.gitignore line 1")
        assert not any("&amp;amp;" in code for code in shown.code)
    # The list of files not read is no table: its pipe is not escaped.
    assert shows(summary, SKIPPED)
    assert "\\|" not in "".join(summary.code)

    # Annotations are plain text to GitHub: the exact path, the rule's message as it is.
    notes = {str(n["path"]): n for n in run["annotations"]}
    assert f"{LINK_DIR}/solver.py" in notes
    gitignore = [n for n in run["annotations"] if f"{MENTION_DIR}/.gitignore line 1" in str(n["message"])]
    assert gitignore and all(str(n["title"]).startswith("guardian ") for n in run["annotations"])


def test_thirty_huge_paths_cut_the_table_not_the_policy_line_or_the_config_note(env: AppEnv) -> None:
    # 10,000 characters each, four bytes apiece in UTF-8.
    files = {f"src/{MARK}{'🙂' * 10_000}{i:02d}.py": BAD_PY for i in range(30)}
    files[".guardian.toml"] = b"[rules.forbidden-import]\nenabled = false\n"
    repo, _base, head = env.repo_with_pr(files)
    env.deliver("pull_request", pull_request_event(repo, 1, "opened"))
    run = env.wait_completed(repo, head, timeout=60)
    wait_for(lambda: repo.bot_comments(1), 30)
    body = str(repo.bot_comments(1)[0]["body"])
    summary = str(run["output"]["summary"])
    for text in (body, summary):
        assert len(text) <= report.COMMENT_LIMIT
        assert "Policy from the base branch `main`" in text
        assert "this pull request changes `.guardian.toml`" in text
        assert "cut to fit" not in text
        assert_inert(text, links=(f"{repo.pulls[1]['html_url']}/checks",))
    rows = [line for line in body.splitlines() if line.startswith(f"| `src/{MARK}")]
    assert rows and all("…` |" in row.split("|")[1] + "|" for row in rows)  # each path cut short in its cell
    if len(rows) < 30:
        assert f"…and {30 - len(rows)} more in the check run." in body


def test_rows_that_do_not_fit_are_counted_and_the_note_stays() -> None:
    wide = "🙂" * 1000
    result = Result()
    result.findings = [Finding("forbidden-import", f"src/{wide}{i}.py", wide, line=1) for i in range(30)]
    pr = PullRequest(7, "a" * 40, "b" * 40, "main", "open", "https://github.com/acme/atomizer/pull/7")
    evaluation = Evaluation(pr=pr, result=result, policy_source="x", config_changed=[".guardian.toml"])
    comment = report.comment_body(evaluation)
    summary = report.check_summary(evaluation, annotated=30)
    for text in (comment, summary):
        assert len(text.encode()) < report.COMMENT_LIMIT and "cut to fit" not in text
        assert "this pull request changes `.guardian.toml`" in text and "Policy from the base branch" in text
    shown = [line for line in comment.splitlines() if line.startswith("| `src/")]
    assert 0 < len(shown) < 30
    assert f"…and {30 - len(shown)} more in the check run." in comment
    listed = [line for line in summary.splitlines() if line.startswith("| `src/")]
    assert f"### Top findings ({len(listed)} of 30)" in summary and 0 < len(listed) < 30


# -- the same rules over any text (pure functions, many inputs) -------------------------------------

_ASCII_HOSTILE = st.text(alphabet="`@[]()!<>&#*_|\\~:/.- abcxyz\n\r\t;=\"'", max_size=60)
_ANY = st.text(st.characters(codec="utf-8"), max_size=60)
_PIECES = st.lists(st.one_of(_ASCII_HOSTILE, _ANY), min_size=1, max_size=4).map("".join)


@settings(max_examples=150, deadline=None)
@given(path=_PIECES, message=_PIECES, base_ref=_PIECES, reason=_PIECES, source=_PIECES)
def test_any_text_is_shown_as_code_in_every_report(
    path: str, message: str, base_ref: str, reason: str, source: str
) -> None:
    result = Result()
    result.findings = [Finding("forbidden-import", f"{MARK}{path}", f"{MARK}{message}", line=1)]
    result.rules = ["forbidden-import"]
    result.skipped = [(f"{MARK}{path}", f"{MARK}{reason}")]
    pr = PullRequest(7, "a" * 40, "b" * 40, f"{MARK}{base_ref}", "open", "https://github.com/acme/atomizer/pull/7")
    evaluation = Evaluation(pr=pr, result=result, policy_source=f"{MARK}{source}", config_changed=[".guardian.toml"])
    broken = Evaluation(pr=pr, config_error=f"{MARK}{message}")
    checks = "https://github.com/acme/atomizer/pull/7/checks"
    for markdown in (
        report.check_summary(evaluation, annotated=1),
        report.comment_body(evaluation),
        report.check_summary(broken, annotated=0),
        report.comment_body(broken),
        report.failure_output(f"{MARK}{message}")["summary"],
        report.combined_output([(7, report.check_name(7, f"{MARK}{base_ref}", shared=True), "failure")])["summary"],
    ):
        assert_inert(markdown, links=(checks,))
