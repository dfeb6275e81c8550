"""What reviewers see: check run output and annotations, commit status, PR comment.

Pure functions of an ``Evaluation``; ``app.worker`` sends them. GitHub's limits
are kept here: summaries under 65,535 characters, comment bodies under
65,536, status descriptions at most 140, annotations 50 per request.

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
"""

from __future__ import annotations

import collections
import hashlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from app.evaluate import Evaluation
    from guardian.model import Finding

CHECK_NAME = "guardian"
STATUS_CONTEXT = "guardian"
COMMENT_MARKER = "<!-- guardian:pull-request-report -->"
SUMMARY_LIMIT = 65_535
COMMENT_LIMIT = 65_536
STATUS_LIMIT = 140
ANNOTATIONS_PER_REQUEST = 50
#: Findings listed in the summary and the comment (annotations carry them all).
TOP_FINDINGS = 30


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
    lines += [f"| #{n} | {_cell(name)} | {c} |" for n, name, c in sorted(verdicts)]
    return {"title": title[:255], "summary": _clip("\n".join(lines), SUMMARY_LIMIT)}


def combined_status(verdicts: list[tuple[int, str, str]]) -> tuple[str, str]:
    """(state, description) of the combined ``guardian`` commit status."""
    worst = combined_conclusion([c for _n, _name, c in verdicts])
    state = "failure" if worst == "failure" else "success"
    parts = ", ".join(f"#{n} {c}" for n, _name, c in sorted(verdicts))
    return state, _short(f"Pull requests sharing this commit: {parts}")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _cell(text: str, limit: int = 300) -> str:
    """Text safe inside a Markdown table cell (no HTML, no pipes, one line)."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Backslashes stay: messages quote Windows paths inside code spans, where
    # Markdown takes them literally. A pipe must be escaped even there (GFM tables).
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _code(text: str) -> str:
    """An inline code span that survives backticks and newlines in ``text``."""
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    longest = 0
    run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


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


def _policy_line(evaluation: Evaluation) -> str:
    pr = evaluation.pr
    source = evaluation.policy_source or "the shipped default policy"
    return f"Policy from the base branch {_code(pr.base_ref or pr.base_sha[:12])}: {_cell(source)}."


def _config_note(evaluation: Evaluation) -> list[str]:
    if not evaluation.config_changed:
        return []
    names = ", ".join(_code(n) for n in evaluation.config_changed)
    return [
        "",
        f"> **Note:** this pull request changes {names}. Guardian checks a pull request with the policy "
        "of its base branch, so a pull request cannot switch off its own check; the change applies once merged.",
    ]


def _findings_table(findings: list[Finding], limit: int) -> list[str]:
    lines = ["| File | Line | Rule | Message |", "|---|---:|---|---|"]
    for f in findings[:limit]:
        where = _code(f.path) if f.path else "(repository)"
        lines.append(f"| {where} | {f.line or ''} | {f.rule} | {_cell(f.message)} |")
    return lines


def _rule_counts(findings: list[Finding]) -> list[str]:
    counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for f in findings:
        counts[f.rule][0 if f.severity == "error" else 1] += 1
    lines = ["| Rule | Errors | Warnings |", "|---|---:|---:|"]
    lines.extend(f"| {rule} | {e} | {w} |" for rule, (e, w) in sorted(counts.items()))
    return lines


def check_summary(evaluation: Evaluation, *, annotated: int) -> str:
    """The check run's Markdown summary, under 65,535 characters."""
    pr = evaluation.pr
    lines = [f"Guardian checked pull request #{pr.number} at {_code(pr.head_sha[:12])}. {_policy_line(evaluation)}"]
    lines.extend(_config_note(evaluation))
    if evaluation.config_error:
        lines += ["", "```", evaluation.config_error.replace("```", "'''")[:2000], "```", ""]
        lines.append("Fix the configuration on the base branch; until then no pull request can be checked.")
    else:
        result = evaluation.result
        assert result is not None
        lines.append("")
        lines.append(
            f"{_plural(evaluation.changed_files, 'changed file')}, {result.files_checked} checked by a file rule; "
            f"rules: {', '.join(result.rules) or 'none'}."
        )
        if result.findings:
            lines += ["", *_rule_counts(result.findings)]
            top = min(len(result.findings), TOP_FINDINGS)
            lines += ["", f"### Top findings ({top} of {len(result.findings)})", ""]
            lines += _findings_table(result.findings, TOP_FINDINGS)
            unannotated = len(result.findings) - annotated
            if unannotated > 0:
                lines += ["", f"{_plural(unannotated, 'finding')} not annotated (no file, or over the annotation cap)."]
        if result.suppressed:
            lines += ["", f"{_plural(result.suppressed, 'finding')} suppressed inline (`guardian: ignore`)."]
        if result.skipped:
            lines += ["", f"<details><summary>{_plural(len(result.skipped), 'file')} not read</summary>", ""]
            lines += [f"- {_code(path)}: {_cell(reason)}" for path, reason in result.skipped[:50]]
            lines += ["", "</details>"]
    lines += ["", *(f"- {_cell(note)}" for note in evaluation.notes)] if evaluation.notes else []
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
    if _fits(text, limit):
        return text
    tail = "\n\n… (cut to fit GitHub's size limit)"
    data = text.encode("utf-8")[: limit - len(tail.encode()) - 8]
    return data.decode("utf-8", "ignore") + tail


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
    checks = f"{pr.html_url}/checks" if pr.html_url else ""
    link = f" Details in the [guardian check]({checks})." if checks else ""
    lines = [COMMENT_MARKER]
    if evaluation.config_error:
        lines += [
            "### Guardian: configuration error",
            "",
            f"The Guardian configuration on the base branch cannot be used: {_cell(evaluation.config_error, 1000)}",
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
            lines += _findings_table(result.findings, TOP_FINDINGS)
            if len(result.findings) > TOP_FINDINGS:
                lines += ["", f"…and {len(result.findings) - TOP_FINDINGS} more in the check run."]
            lines += [
                "",
                "<sub>A finding that is intended can be silenced with `guardian: ignore[rule-id]` on its line.</sub>",
            ]
    lines += _config_note(evaluation)
    return _clip("\n".join(lines), COMMENT_LIMIT)


def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def failure_output(error: str) -> dict[str, str]:
    """Check run output when the evaluation could not be finished."""
    return {
        "title": "Guardian could not finish",
        "summary": _clip(
            f"Guardian could not evaluate this commit: {_cell(error, 2000)}\n\nUse **Re-run** to try again.",
            SUMMARY_LIMIT,
        ),
    }
