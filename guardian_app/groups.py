"""Merge groups: what a merge queue asks Guardian to check.

A repository that requires ``guardian`` and uses GitHub's merge queue gets
a ``merge_group`` delivery (``checks_requested``) for each group the queue
builds: a commit on a ``gh-readonly-queue/BASE/pr-N-SHA`` branch holding the
base branch's tip plus the queued pull requests. The group is judged like a
pull request whose head is ``head_sha`` and whose base is ``base_sha``: its
changed files are what the group adds to its base (the compare API), its
policy and baseline are the base's, and its verdict is a ``guardian`` check
run (and commit status) on ``head_sha``, which lets the queue merge the
group or drops it. A group has no conversation, so no comment.

Jobs for groups are the store's jobs without a pull request whose
``reason`` starts with ``merge_group.``: ``checks_requested`` from the
delivery, ``rerequested`` from Re-run on a group's check run (whose
``external_id`` carries the group's base, see ``external_id``).
"""

from __future__ import annotations

import dataclasses

from guardian_app.names import object_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian_app.github import GitHubClient
    from guardian_app.store import Job

#: Branches the merge queue creates for its groups (GitHub's own prefix).
QUEUE_BRANCH_PREFIX = "gh-readonly-queue/"
#: ``reason`` of a job that checks a merge group.
REASON_PREFIX = "merge_group."
#: GitHub's compare answer lists at most this many files.
MAX_COMPARE_FILES = 300
_EXTERNAL_MARK = ":merge-group:"


@dataclasses.dataclass(frozen=True)
class MergeGroup:
    """A merge group as a job knows it: its head commit, and the base
    commit (and branch) it is to be merged into."""

    head_sha: str
    base_sha: str
    base_ref: str = ""
    #: Where a commit status points (the check run's page, once known).
    html_url: str = ""


def is_merge_group(job: Job) -> bool:
    return job.pr is None and job.reason.startswith(REASON_PREFIX)


def branch_name(ref: str) -> str:
    """``refs/heads/main`` -> ``main`` (a merge_group payload gives full refs)."""
    return ref.removeprefix("refs/heads/")


def is_queue_branch(ref: object) -> bool:
    """A branch the merge queue made for a group (``gh-readonly-queue/...``)."""
    return isinstance(ref, str) and branch_name(ref).startswith(QUEUE_BRANCH_PREFIX)


def external_id(job_id: int, base_sha: str) -> str:
    """The ``external_id`` of a group's check run: the job, and the group's
    base, so Re-run on that run can check the same group again."""
    return f"{job_id}{_EXTERNAL_MARK}{base_sha}"


def base_of_external_id(value: str) -> str:
    """The base commit a group's check run was written for, or ""."""
    _job, sep, base = value.rpartition(_EXTERNAL_MARK)
    return object_id(base) if sep else ""


async def compare_files(
    gh: GitHubClient, repo: str, installation: int, base_sha: str, head_sha: str
) -> tuple[list[object], bool]:
    """(changed files of ``base_sha...head_sha``, whether the list may be
    cut). One request: the files are on the compare answer's first page
    (``per_page`` pages its commits, which are not needed), at most
    ``MAX_COMPARE_FILES`` of them, in the shape of a pull request's files."""
    data = await gh.get_json(
        f"/repos/{repo}/compare/{base_sha}...{head_sha}", installation=installation, params={"per_page": 1}
    )
    files = data.get("files") if isinstance(data, dict) else None
    items = list(files) if isinstance(files, list) else []
    return items, len(items) >= MAX_COMPARE_FILES
