"""What reviewers see: check run output and annotations, commit status, PR comment.

Pure functions of an ``Evaluation``; ``guardian_app.checks``, ``guardian_app.comments`` and
``guardian_app.shared_head`` send them. GitHub's limits are kept here: summaries
under 65,535 characters, comment bodies under 65,536, status descriptions
at most 140, annotations 50 per request.

Names. Check runs and commit statuses belong to a commit, not to a pull
request: every pull request whose head is that commit shows them all, and
GitHub (and branch protection) takes the latest run or status per name.
When one open pull request has the head (the common case) its run and status
are named ``guardian``. When several do (one branch opened against ``main``
and a release branch), each is judged with its own base's policy and
reported under its own name, ``guardian (#N into BASE)`` (run and status
context; the run's ``external_id`` carries the PR number, so Re-run on it
re-checks that pull request), and ``guardian`` becomes the combined verdict:
the worst of those pull requests' conclusions, written once every one of
them has one. A branch protection rule requiring ``guardian`` therefore
never passes a pull request that fails its own base's policy: with a shared
head, every pull request of that head must pass for ``guardian`` to pass.
Each pull request keeps its own sticky comment with its own verdict.

Merge groups (``guardian_app.groups``) are reported as a ``guardian`` check
run and status on the group's head, with no comment. For a pull request and
a group alike, repository-wide findings that the change does not make (they
stood on the base already: an over-budget directory it adds nothing to, a
``.gitignore`` gap it does not widen) do not fail it; the summary gives them
one notice line.

Hostile text. Paths, patterns, rule messages (which quote paths and
patterns), config values and error messages come from the repository, so
none of it is written as Markdown: each goes whole into one inline code span
whose fence is longer than any run of backticks in it (or a fenced block,
likewise), where GitHub shows ``@``, ``[``, ``!``, ``<``, ``&``, ``#`` and
URLs as they are and links, mentions and references nothing. In a table
cell the pipe is escaped too (GFM splits cells before it reads code spans);
nowhere else. Annotations are plain text to GitHub and are sent as they are.
Sizes: each variable part (the findings table, the list of files not read)
has its own byte budget, so the policy line and the note about a changed
configuration are always there; rows that do not fit are counted instead.
"""

from __future__ import annotations

import collections
import hashlib
import re

from guardian_app.groups import MergeGroup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.model import Finding
    from guardian_app.evaluate import Evaluation
    from guardian_app.pulls import PullRequest

CHECK_NAME = "guardian"
STATUS_CONTEXT = "guardian"
COMMENT_MARKER = "<!-- guardian:pull-request-report -->"
SUMMARY_LIMIT = 65_535
COMMENT_LIMIT = 65_536
STATUS_LIMIT = 140
ANNOTATIONS_PER_REQUEST = 50
#: Findings listed in the summary and the comment (annotations carry them all).
TOP_FINDINGS = 30
#: UTF-8 bytes the findings table may take in the comment and in the summary,
#: and the list of files not read in the summary: with the fixed text (a few
#: kB, each value in it bounded) they stay under GitHub's limits.
COMMENT_TABLE_BYTES = 50_000
SUMMARY_TABLE_BYTES = 36_000
SUMMARY_SKIPPED_BYTES = 12_000
#: Characters of one path or message shown in a table cell.
CELL_CHARS = 300


def check_name(number: int, base_ref: str, *, shared: bool) -> str:
    """The check run name and status context of a pull request's verdict
    (see the module docstring): ``guardian`` unless other open pull
    requests share its head."""
    if not shared:
        return CHECK_NAME
    return f"{CHECK_NAME} (#{number} into {_one_line(base_ref)[:100] or 'its base'})"


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ").strip()


#: Conclusions from least to most severe (a combined verdict is the most severe).
_SEVERITY = ("success", "neutral", "failure")


def combined_conclusion(conclusions: list[str]) -> str:
    return max(conclusions, key=lambda c: _SEVERITY.index(c) if c in _SEVERITY else len(_SEVERITY))


def combined_output(verdicts: list[tuple[int, str, str]]) -> dict[str, str]:
    """The combined ``guardian`` run's output: ``verdicts`` is (PR number, check name, conclusion)."""
    worst = combined_conclusion([c for _n, _name, c in verdicts])
    failing = [n for n, _name, c in verdicts if c == worst]
    title = (
        f"{_plural(len(verdicts), 'pull request')} share this commit: all pass"
        if worst == "success"
        else f"{_plural(len(verdicts), 'pull request')} share this commit: "
        + ", ".join(f"#{n}" for n in failing)
        + (" fails" if worst == "failure" else " warns")
    )
    lines = [
        f"This commit is the head of {_plural(len(verdicts), 'open pull request')}. Each is checked with the "
        "policy of its own base branch and reported in its own check run; this run carries the most severe "
        "of their verdicts, so it passes only when every one of them passes.",
        "",
        "| Pull request | Check run | Conclusion |",
        "|---|---|---|",
    ]
    lines += [f"| #{n} | {_code(name, table=True)} | {_word(c)} |" for n, name, c in sorted(verdicts)]
    return {"title": title[:255], "summary": _clip("\n".join(lines), SUMMARY_LIMIT)}


def combined_status(verdicts: list[tuple[int, str, str]]) -> tuple[str, str]:
    """(state, description) of the combined ``guardian`` commit status."""
    worst = combined_conclusion([c for _n, _name, c in verdicts])
    state = "failure" if worst == "failure" else "success"
    parts = ", ".join(f"#{n} {c}" for n, _name, c in sorted(verdicts))
    return state, _short(f"Pull requests sharing this commit: {parts}")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


_BACKTICKS = re.compile(r"`+")
_LINKABLE = re.compile(r"https://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+")
_WORD = re.compile(r"[A-Za-z0-9-]+")


def _code(text: str, *, table: bool = False, limit: int = CELL_CHARS) -> str:
    """``text`` as one inline code span that GitHub shows as it is.

    The fence is one backtick longer than the longest run in ``text``, so
    nothing inside can close it; a space pads a text that starts or ends
    with a backtick, or starts and ends with a space (CommonMark strips one
    of each). Line breaks become spaces (a table row, a list item, is one
    line). In a table cell ``|`` is escaped: GFM splits a row into cells
    before it reads code spans, and shows ``\\|`` inside one as ``|``.
    Nothing else is escaped: a code span shows ``&amp;`` as those five
    characters.
    """
    text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    stripped = text.startswith(" ") and text.endswith(" ") and text.strip(" ") != ""
    pad = " " if text.startswith("`") or text.endswith("`") or stripped or not text else ""
    if table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def _word(text: str, *, table: bool = True) -> str:
    """A rule id or conclusion (letters, digits, hyphens) as it is; anything else as code."""
    return text if _WORD.fullmatch(text) else _code(text, table=table)


def _fenced(text: str, limit: int = 2000) -> list[str]:
    """``text`` as a fenced code block: lines of the block, fences included.
    The fence is longer than any run of backticks in ``text``, so no line of
    it closes the block early."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *text.split("\n"), fence]


def _within(rows: list[str], budget: int) -> list[str]:
    """The first ``rows`` whose UTF-8 size (each with its line break) fits ``budget``."""
    kept: list[str] = []
    used = 0
    for row in rows:
        used += len(row.encode("utf-8")) + 1
        if used > budget:
            break
        kept.append(row)
    return kept


def _fits(text: str, limit: int) -> bool:
    # Counted in UTF-8 bytes: at or under the limit in any unit GitHub may count.
    return len(text.encode("utf-8")) < limit


def conclusion(evaluation: Evaluation) -> str:
    if evaluation.config_error:
        return "failure"
    result = evaluation.result
    if result is None:
        return "failure"
    if result.errors:
        return "failure"
    if result.warnings:
        return "neutral"
    return "success"


def headline(evaluation: Evaluation) -> str:
    if evaluation.config_error:
        return "The base branch's Guardian configuration cannot be used"
    result = evaluation.result
    assert result is not None
    if not result.findings:
        return "No policy violations"
    return f"{_plural(result.errors, 'error')}, {_plural(result.warnings, 'warning')}"


def checking_summary(target: PullRequest | MergeGroup) -> str:
    """The summary of a check run while its evaluation runs."""
    if isinstance(target, MergeGroup):
        return "Guardian is checking what this merge group adds to its base branch."
    return f"Guardian is checking the changed files of #{target.number}."


def _checked_line(evaluation: Evaluation) -> str:
    target = evaluation.pr
    head = _code(target.head_sha[:12])
    if isinstance(target, MergeGroup):
        return f"Guardian checked the merge group at {head}: what it adds to its base {_code(target.base_sha[:12])}."
    return f"Guardian checked pull request #{target.number} at {head}."


#: Rule-and-path pairs the standing notice names; the rest are counted.
STANDING_SHOWN = 5


def standing_line(evaluation: Evaluation) -> str:
    """One notice line for the repository findings the change does not make
    (empty when there are none). Rule ids and paths come from the policy and
    the repository: each path is a code span."""
    result = evaluation.result
    if result is None or not result.standing:
        return ""
    counts: collections.Counter[tuple[str, str]] = collections.Counter((f.rule, f.path) for f in result.standing)
    parts = []
    for (rule, path), count in sorted(counts.items())[:STANDING_SHOWN]:
        where = _code(path, limit=200) if path else "the repository"
        parts.append(f"{_word(rule, table=False)} on {where}" + (f" ({count})" if count > 1 else ""))
    more = len(counts) - STANDING_SHOWN
    listed = ", ".join(parts) + (f" and {more} more" if more > 0 else "")
    what = "merge group" if isinstance(evaluation.pr, MergeGroup) else "pull request"
    return (
        f"> **Notice:** {_plural(len(result.standing), 'repository-wide finding')} stood on the base branch "
        f"already and {'does' if len(result.standing) == 1 else 'do'} not fail this {what}, "
        f"which does not make {'it' if len(result.standing) == 1 else 'them'} worse: {listed}."
    )


def _policy_line(evaluation: Evaluation) -> str:
    pr = evaluation.pr
    where = _code(pr.base_ref or pr.base_sha[:12], limit=200)
    if not evaluation.policy_source:
        return f"Policy from the base branch {where}: the shipped default policy."
    return f"Policy from the base branch {where}: {_code(evaluation.policy_source)}."


def _config_note(evaluation: Evaluation) -> list[str]:
    if not evaluation.config_changed:
        return []
    names = ", ".join(_code(n, limit=200) for n in evaluation.config_changed[:5])
    if isinstance(evaluation.pr, MergeGroup):
        return [
            "",
            f"> **Note:** this merge group changes {names}. Guardian checks a merge group with the policy "
            "of its base branch; the change applies once merged.",
        ]
    return [
        "",
        f"> **Note:** this pull request changes {names}. Guardian checks a pull request with the policy "
        "of its base branch, so a pull request cannot switch off its own check; the change applies once merged.",
    ]


def _findings_table(findings: list[Finding], limit: int, budget: int) -> tuple[list[str], int]:
    """The table of the first ``limit`` findings, as many rows as fit in
    ``budget`` bytes: (lines, rows shown)."""
    rows = []
    for f in findings[:limit]:
        where = _code(f.path, table=True) if f.path else "(repository)"
        rows.append(f"| {where} | {f.line or ''} | {_word(f.rule)} | {_code(f.message, table=True)} |")
    shown = _within(rows, budget)
    return ["| File | Line | Rule | Message |", "|---|---:|---|---|", *shown], len(shown)


def _rule_counts(findings: list[Finding]) -> list[str]:
    counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for f in findings:
        counts[f.rule][0 if f.severity == "error" else 1] += 1
    lines = ["| Rule | Errors | Warnings |", "|---|---:|---:|"]
    lines.extend(f"| {_word(rule)} | {e} | {w} |" for rule, (e, w) in sorted(counts.items()))
    return lines


def check_summary(evaluation: Evaluation, *, annotated: int) -> str:
    """The check run's Markdown summary, under 65,535 characters."""
    lines = [f"{_checked_line(evaluation)} {_policy_line(evaluation)}"]
    lines.extend(_config_note(evaluation))
    if evaluation.config_error:
        lines += ["", *_fenced(evaluation.config_error), ""]
        lines.append("Fix the configuration on the base branch; until then no pull request can be checked.")
    else:
        result = evaluation.result
        assert result is not None
        lines.append("")
        rules = ", ".join(_word(rule, table=False) for rule in result.rules) or "none"
        lines.append(
            f"{_plural(evaluation.changed_files, 'changed file')}, {result.files_checked} checked by a file rule; "
            f"rules: {rules}."
        )
        if result.findings:
            lines += ["", *_rule_counts(result.findings)]
            table, shown = _findings_table(result.findings, TOP_FINDINGS, SUMMARY_TABLE_BYTES)
            lines += ["", f"### Top findings ({shown} of {len(result.findings)})", "", *table]
            unannotated = len(result.findings) - annotated
            if unannotated > 0:
                lines += ["", f"{_plural(unannotated, 'finding')} not annotated (no file, or over the annotation cap)."]
        if notice := standing_line(evaluation):
            lines += ["", notice]
        if result.suppressed:
            lines += ["", f"{_plural(result.suppressed, 'finding')} suppressed inline (`guardian: ignore`)."]
        if evaluation.baseline:
            lines += [
                "",
                f"Baseline from the base branch, {_code(evaluation.baseline, limit=200)}: "
                f"{_plural(result.baselined, 'finding')} accepted there not reported.",
            ]
        if result.skipped:
            rows = [f"- {_code(path)}: {_code(reason)}" for path, reason in result.skipped[:50]]
            listed = _within(rows, SUMMARY_SKIPPED_BYTES)
            lines += ["", f"<details><summary>{_plural(len(result.skipped), 'file')} not read</summary>", ""]
            lines += listed
            if len(listed) < len(result.skipped):
                lines += ["", f"…and {len(result.skipped) - len(listed)} more."]
            lines += ["", "</details>"]
    lines += ["", *(f"- {note}" for note in evaluation.notes)] if evaluation.notes else []
    lines += [
        "",
        "<details><summary>For operators</summary>",
        "",
        f"GitHub REST requests for this evaluation: {evaluation.reads} besides blobs "
        f"(target at most {evaluation.read_budget} = 4 + ceil({evaluation.changed_files} / 100)), "
        f"{evaluation.blobs} blob fetches.",
        "",
        "</details>",
    ]
    return _clip("\n".join(lines), SUMMARY_LIMIT)


def _clip(text: str, limit: int) -> str:
    """``text`` if it fits, else its first whole lines and a note. The
    budgets keep every report within its limit; this is the last guard, and
    it never cuts inside a line, where it could leave a code span open and
    the rest of that line live."""
    if _fits(text, limit):
        return text
    tail = "\n\n… (cut to fit GitHub's size limit)"
    room = limit - len(tail.encode("utf-8")) - 8
    kept = _within(text.split("\n"), room)
    return "\n".join(kept) + tail


def annotations_for(evaluation: Evaluation, cap: int) -> list[dict[str, object]]:
    """One annotation per finding that names a file, at most ``cap``."""
    result = evaluation.result
    if result is None:
        return []
    out: list[dict[str, object]] = []
    for f in result.findings:
        if len(out) >= cap:
            break
        if not f.path:
            continue
        line = max(f.line, 1)
        item: dict[str, object] = {
            "path": f.path,
            "start_line": line,
            "end_line": line,
            "annotation_level": "failure" if f.severity == "error" else "warning",
            "message": f.message[:4000],
            "title": f"guardian {f.rule}"[:255],
        }
        if f.line and f.column:
            item["start_column"] = f.column
            item["end_column"] = f.column
        out.append(item)
    return out


def batches(items: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    return [items[i : i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(items), ANNOTATIONS_PER_REQUEST)]


def status(evaluation: Evaluation) -> tuple[str, str]:
    """(state, description) of the commit status."""
    if evaluation.config_error:
        return "error", _short("The base branch's Guardian configuration is invalid; see the check run")
    result = evaluation.result
    assert result is not None
    if not result.findings:
        return "success", "No policy violations"
    rules = ", ".join(sorted({f.rule for f in result.findings}))
    state = "failure" if result.errors else "success"
    return state, _short(f"{headline(evaluation)}: {rules}")


def _short(text: str) -> str:
    return text if len(text) <= STATUS_LIMIT else text[: STATUS_LIMIT - 1] + "…"


def comment_body(evaluation: Evaluation) -> str:
    """The sticky comment. Nothing in it depends on the commit, so an
    unchanged result gives an unchanged body and no edit."""
    pr = evaluation.pr
    checks = f"{pr.html_url}/checks"
    # The address comes from GitHub's answer; only a plain https URL becomes a link.
    link = f" Details in the [guardian check]({checks})." if _LINKABLE.fullmatch(checks) else ""
    lines = [COMMENT_MARKER]
    if evaluation.config_error:
        lines += [
            "### Guardian: configuration error",
            "",
            "The Guardian configuration on the base branch cannot be used: "
            + _code(evaluation.config_error, limit=1000),
        ]
    else:
        result = evaluation.result
        assert result is not None
        if not result.findings:
            lines += [
                "### Guardian: no policy violations",
                "",
                f"This pull request now passes the repository policy; the earlier findings are fixed.{link}",
            ]
        else:
            lines += [f"### Guardian: {headline(evaluation)}", "", f"{_policy_line(evaluation)}{link}", ""]
            table, shown = _findings_table(result.findings, TOP_FINDINGS, COMMENT_TABLE_BYTES)
            lines += table
            if len(result.findings) > shown:
                lines += ["", f"…and {len(result.findings) - shown} more in the check run."]
            lines += [
                "",
                "<sub>A finding that is intended can be silenced with `guardian: ignore[rule-id]` on its line.</sub>",
            ]
        if notice := standing_line(evaluation):
            lines += ["", notice]
    lines += _config_note(evaluation)
    return _clip("\n".join(lines), COMMENT_LIMIT)


def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def failure_output(error: str) -> dict[str, str]:
    """Check run output when the evaluation could not be finished."""
    return {
        "title": "Guardian could not finish",
        "summary": _clip(
            f"Guardian could not evaluate this commit: {_code(error, limit=2000)}\n\nUse **Re-run** to try again.",
            SUMMARY_LIMIT,
        ),
    }


def deadline_output(seconds: float) -> dict[str, str]:
    """Check run output when the evaluation ran past its deadline and was stopped."""
    return {
        "title": f"Guardian stopped the evaluation after {seconds:g} s",
        "summary": (
            f"Checking this commit took longer than the {seconds:g} s the App allows one evaluation "
            "(`GUARDIAN_EVALUATION_TIMEOUT`), so Guardian stopped it; nothing was checked. Very large "
            "changed files with a finding on almost every line can take that long. The evaluation is not "
            "retried on its own; use **Re-run** to try again, for instance once the operator has raised "
            "the limit."
        ),
    }


def give_up_status() -> tuple[str, str]:
    """(state, description) of the commit status when a job gave up: an
    ``error``, Guardian's own failure rather than a verdict on the code."""
    return "error", "Guardian could not finish checking this commit; Re-run the guardian check to try again"


def deadline_status(seconds: float) -> tuple[str, str]:
    """(state, description) of the commit status when the evaluation was
    stopped at its deadline: a ``failure``, as the check run (this input
    stops again on a retry)."""
    return "failure", _short(f"Guardian stopped the evaluation after {seconds:g} s; see the check run")
