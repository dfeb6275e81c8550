"""The GitHub Action's check step (``action.yml`` runs it after installing
Guardian): decide what to check from the event, run ``guardian check`` with
annotations, and write SARIF when asked.

Run by the runner as ``python action/run.py`` with the event in
``GITHUB_EVENT_PATH`` and the action's inputs in ``INPUT_*`` variables (never
interpolated into a shell line). What is checked:

- ``pull_request``: the commits the pull request adds to its base
  (``BASE..HEAD``, on the checked-out merge commit or head);
- ``merge_group``: what the group adds to its base (``base_sha..head_sha``);
- ``push``: the pushed commits (``before..sha``; a new branch: every blob no
  remote branch holds yet);
- anything else, or the ``all-files`` input: every tracked file.

The exit status is ``guardian check``'s: 1 fails the job on errors.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

ZERO = "0" * 40


def _event() -> dict[str, object]:
    path = os.environ.get("GITHUB_EVENT_PATH", "")
    if not path or not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else {}


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _sha(value: object) -> str:
    text = value if isinstance(value, str) else ""
    return text if len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text) else ""


def source_args(event_name: str, event: dict[str, object], all_files: bool) -> list[str]:
    """The ``guardian check`` options saying what to check."""
    if all_files:
        return ["--all-files"]
    if event_name in ("pull_request", "pull_request_target"):
        base = _sha(_dict(_dict(event.get("pull_request")).get("base")).get("sha"))
        if base:
            return ["--rev-range", f"{base}..HEAD"]
    elif event_name == "merge_group":
        group = _dict(event.get("merge_group"))
        base, head = _sha(group.get("base_sha")), _sha(group.get("head_sha"))
        if base and head:
            return ["--rev-range", f"{base}..{head}"]
    elif event_name == "push":
        before, after = _sha(event.get("before")), _sha(event.get("after")) or "HEAD"
        if before and before != ZERO:
            return ["--rev-range", f"{before}..{after}"]
        return ["--rev-range", after]  # a new branch
    return ["--all-files"]


def _have(commit: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True).returncode == 0


def _fetch_missing(args: list[str]) -> None:
    """A shallow checkout may lack the base: fetch it (the only network use)."""
    if args[:1] != ["--rev-range"]:
        return
    for commit in args[1].split(".."):
        if _sha(commit) and not _have(commit):
            print(f"Fetching {commit[:12]}, which the checkout does not hold", file=sys.stderr)
            subprocess.run(["git", "fetch", "--no-tags", "--quiet", "--depth=1", "origin", commit], check=False)
            if not _have(commit):
                print(
                    f"::error title=guardian::commit {commit} is not in the checkout; "
                    "use actions/checkout with fetch-depth: 0",
                    file=sys.stderr,
                )
                raise SystemExit(2)


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def main() -> int:
    event_name = os.environ.get("GITHUB_EVENT_NAME", "")
    source = source_args(event_name, _event(), _truthy(os.environ.get("INPUT_ALL_FILES", "")))
    _fetch_missing(source)
    extra = shlex.split(os.environ.get("INPUT_ARGS", ""))
    guardian = [sys.executable, "-m", "guardian", "check", *source, *extra]
    print(f"guardian check {' '.join(shlex.quote(a) for a in [*source, *extra])}", file=sys.stderr)
    code = subprocess.run([*guardian, "--format", "github"]).returncode
    sarif = os.environ.get("INPUT_SARIF", "").strip()
    if sarif and code in (0, 1):
        subprocess.run([*guardian, "--format", "sarif", "--output", sarif, "--exit-zero"], check=True)
        outputs = os.environ.get("GITHUB_OUTPUT")
        if outputs:
            with open(outputs, "a", encoding="utf-8") as fh:
                fh.write(f"sarif-file={sarif}\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
