"""Which webhook deliveries mean work, and what work: pure functions of the payload.

Handled events and actions:

- ``pull_request``: opened, synchronize, reopened, ready_for_review; edited
  only when the base branch changed (the policy comes from the base).
- ``check_suite``: requested, rerequested. A suite for a fork's branch
  carries ``pull_requests: []``; the job then has no PR number and the worker
  finds the open pull request whose head is that sha.
- ``check_run``: rerequested (the Re-run button). A per-PR run of a shared
  head (``guardian (#N into BASE)``, see ``guardian_app.report``) carries its pull
  request in its ``external_id``: re-running it re-checks that pull request
  only; re-running the combined ``guardian`` run re-checks them all.
- ``merge_group``: checks_requested queues the group's check (its head
  judged against its base, see ``guardian_app.groups``); destroyed (merged,
  dequeued, or invalidated by an earlier entry leaving the queue) cancels
  that check if it has not started. A queue branch's own ``check_suite``
  (``gh-readonly-queue/...``) is ignored: the ``merge_group`` delivery
  already asked for that head, and one group is evaluated once.
- ``installation`` and ``installation_repositories``: remembered or forgotten.

Everything else is acknowledged and ignored, and so is a delivery whose
repository name, commit ids or numbers are not ones GitHub gives
(``guardian_app.names``): they would go into request paths and the store.
"""

from __future__ import annotations

import dataclasses

from guardian_app import groups
from guardian_app.names import github_id, is_login, is_repo_name, object_id
from guardian_app.store import JobSpec

PULL_REQUEST_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review", "edited")
CHECK_SUITE_ACTIONS = ("requested", "rerequested")
CHECK_RUN_ACTIONS = ("rerequested",)
MERGE_GROUP_ACTIONS = ("checks_requested", "destroyed")
INSTALLATION_ADD = ("created", "new_permissions_accepted", "unsuspend")
INSTALLATION_REMOVE = ("deleted", "suspend")
EVENTS = (
    "pull_request",
    "check_suite",
    "check_run",
    "merge_group",
    "installation",
    "installation_repositories",
    "ping",
)


@dataclasses.dataclass
class Decision:
    """What a delivery asks for. ``ignored`` says why when it asks for nothing."""

    specs: list[JobSpec] = dataclasses.field(default_factory=list)
    ignored: str = ""
    installation: int | None = None
    account: str = ""
    repos_added: list[str] = dataclasses.field(default_factory=list)
    repos_removed: list[str] = dataclasses.field(default_factory=list)
    forget_installation: bool = False
    #: A repository and head whose waiting, not yet started job ends (a destroyed merge group), and why.
    cancel_repo: str = ""
    cancel_head: str = ""
    cancel_reason: str = ""


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


_int = github_id


def _repo_names(items: object) -> list[str]:
    if not isinstance(items, list):
        return []
    return [name for item in items if is_repo_name(name := _str(_dict(item).get("full_name")))]


def decide(event: str, payload: dict[str, object]) -> Decision:
    """The decision for one verified, parsed delivery."""
    action = _str(payload.get("action"))
    installation = _dict(payload.get("installation"))
    installation_id = _int(installation.get("id"))
    repository = _dict(payload.get("repository"))
    repo = _str(repository.get("full_name"))
    login = _str(_dict(installation.get("account")).get("login"))
    decision = Decision(installation=installation_id, account=login if is_login(login) else "")

    if event in ("installation", "installation_repositories"):
        _installation(decision, event, action, payload)
    elif event not in EVENTS or event == "ping":
        decision.ignored = f"event {event!r} is not one Guardian handles"
    elif installation_id is None or not repo:
        decision.ignored = "no installation or repository in the payload"
    elif not is_repo_name(repo):
        decision.ignored = "the repository's full_name is not an owner/name GitHub allows"
    elif event == "pull_request":
        _pull_request(decision, repo, installation_id, action, payload)
    elif event == "merge_group":
        _merge_group(decision, repo, installation_id, action, payload)
    else:
        _suite(decision, event, repo, installation_id, action, payload)
    return decision


def _installation(decision: Decision, event: str, action: str, payload: dict[str, object]) -> None:
    if decision.installation is None:
        decision.ignored = f"{event} payload without a valid installation id"
    elif event == "installation":
        if action in INSTALLATION_ADD:
            decision.repos_added = _repo_names(payload.get("repositories"))
        elif action in INSTALLATION_REMOVE:
            decision.forget_installation = True
        else:
            decision.ignored = f"installation action {action!r} needs nothing"
    else:
        if action not in ("added", "removed"):
            decision.ignored = f"installation_repositories action {action!r} needs nothing"
        decision.repos_added = _repo_names(payload.get("repositories_added"))
        decision.repos_removed = _repo_names(payload.get("repositories_removed"))


def _pull_request(decision: Decision, repo: str, installation: int, action: str, payload: dict[str, object]) -> None:
    pr = _dict(payload.get("pull_request"))
    if action not in PULL_REQUEST_ACTIONS:
        decision.ignored = f"pull_request action {action!r} needs no check"
    elif action == "edited" and "base" not in _dict(payload.get("changes")):
        decision.ignored = "pull_request edited without a base change"
    elif _str(pr.get("state")) not in ("", "open"):
        decision.ignored = "pull request is not open"
    else:
        # Re-evaluate an already checked head only when the base may have
        # moved (reopened, base edited); a push or a draft turning ready
        # needs one evaluation per head.
        fresh_only = action in ("opened", "synchronize", "ready_for_review")
        spec = _pr_spec(repo, installation, pr, f"pull_request.{action}", only_if_new=fresh_only)
        if spec is None:
            decision.ignored = "pull_request payload without head sha or number"
        else:
            decision.specs.append(spec)


def _merge_group(decision: Decision, repo: str, installation: int, action: str, payload: dict[str, object]) -> None:
    group = _dict(payload.get("merge_group"))
    head_sha = object_id(group.get("head_sha"))
    base_sha = object_id(group.get("base_sha"))
    if action not in MERGE_GROUP_ACTIONS:
        decision.ignored = f"merge_group action {action!r} needs no check"
    elif not head_sha or not base_sha:
        decision.ignored = "merge_group payload without a valid head_sha and base_sha"
    elif action == "destroyed":
        decision.cancel_repo, decision.cancel_head = repo, head_sha
        reason = _str(payload.get("reason"))
        decision.cancel_reason = f"merge group destroyed ({reason})" if reason.isalpha() else "merge group destroyed"
    else:
        decision.specs.append(
            JobSpec(
                repo,
                installation,
                head_sha,
                base_sha=base_sha,
                base_ref=groups.branch_name(_str(group.get("base_ref")))[:255] or None,
                reason=f"merge_group.{action}",
                # A group is checked once; another delivery for it (a new id) joins.
                only_if_new=True,
            )
        )


def _suite(
    decision: Decision, event: str, repo: str, installation: int, action: str, payload: dict[str, object]
) -> None:
    """``check_suite`` requested, and ``check_run`` rerequested (the Re-run button)."""
    if event == "check_suite":
        if action not in CHECK_SUITE_ACTIONS:
            decision.ignored = f"check_suite action {action!r} needs no check"
            return
        suite = _dict(payload.get("check_suite"))
        if groups.is_queue_branch(suite.get("head_branch")):
            decision.ignored = "a merge queue branch's check suite: its merge_group delivery asks for the check"
            return
    else:
        if action not in CHECK_RUN_ACTIONS:
            decision.ignored = f"check_run action {action!r} needs no check"
            return
        run = _dict(payload.get("check_run"))
        own_pr = _pr_of_external_id(_str(run.get("external_id")))
        run_sha = object_id(run.get("head_sha"))
        group_base = groups.base_of_external_id(_str(run.get("external_id")))
        if group_base and run_sha:
            # Re-run on a merge group's check run: the same group again.
            spec = JobSpec(repo, installation, run_sha, base_sha=group_base, reason="merge_group.rerequested")
            decision.specs.append(spec)
            return
        if groups.is_queue_branch(_dict(run.get("check_suite")).get("head_branch")):
            decision.ignored = "a check run on a merge queue branch that is not a group's guardian run"
            return
        if own_pr is not None and run_sha:
            decision.specs.append(JobSpec(repo, installation, run_sha, pr=own_pr, reason=f"{event}.{action}"))
            return
        suite = dict(_dict(run.get("check_suite")))
        for key in ("head_sha", "pull_requests"):
            if run.get(key):
                suite[key] = run[key]
    head_sha = object_id(suite.get("head_sha"))
    if not head_sha:
        decision.ignored = f"{event} payload without a valid head_sha"
        return
    reason = f"{event}.{action}"
    # GitHub requests a suite on every push; a person re-requests one.
    fresh_only = reason == "check_suite.requested"
    repo_id = _dict(payload.get("repository")).get("id")
    prs = suite.get("pull_requests")
    for item in prs if isinstance(prs, list) else []:
        mini = _dict(item)
        base = _dict(mini.get("base"))
        # A suite can list pull requests into other repositories (this one
        # being their fork); only this repository's own are ours to check.
        if _dict(base.get("repo")).get("id") not in (None, repo_id):
            continue
        number = _int(mini.get("number"))
        if number is not None:
            decision.specs.append(
                JobSpec(
                    repo,
                    installation,
                    head_sha,
                    pr=number,
                    base_sha=object_id(base.get("sha")) or None,
                    base_ref=_str(base.get("ref")) or None,
                    reason=reason,
                    only_if_new=fresh_only,
                )
            )
    if not decision.specs:
        # A fork's branch: the worker maps the sha to its pull request.
        decision.specs.append(JobSpec(repo, installation, head_sha, reason=reason, only_if_new=fresh_only))


def _pr_of_external_id(external_id: str) -> int | None:
    """The pull request a per-PR check run was written for (``"{job}:pr:{N}"``)."""
    _job, sep, number = external_id.rpartition(":pr:")
    if not (sep and number.isascii() and number.isdigit() and len(number) < 10):
        return None
    return _int(int(number))


def _pr_spec(
    repo: str, installation: int, pr: dict[str, object], reason: str, *, only_if_new: bool = False
) -> JobSpec | None:
    head = _dict(pr.get("head"))
    base = _dict(pr.get("base"))
    number = _int(pr.get("number"))
    head_sha = object_id(head.get("sha"))
    if number is None or not head_sha:
        return None
    return JobSpec(
        repo,
        installation,
        head_sha,
        pr=number,
        base_sha=object_id(base.get("sha")) or None,
        base_ref=_str(base.get("ref")) or None,
        changed_files=_int(pr.get("changed_files")),
        reason=reason,
        only_if_new=only_if_new,
    )
