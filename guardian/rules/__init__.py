"""The rule registry. Adding a rule: write one module here, add one line below.

Rules are imported on first use, so a hook that runs one rule pays for one.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.rules.base import Rule

#: Rule id -> module (under guardian.rules) defining the class ``RULE``.
REGISTRY: dict[str, str] = {
    "max-file-size": "max_file_size",
    "gitignore-required": "gitignore_required",
    "forbidden-import": "forbidden_import",
    "windows-path": "windows_path",
    "dir-budget": "dir_budget",
}

RULE_IDS = tuple(REGISTRY)


def rule_class(rule_id: str) -> type[Rule]:
    module = __import__(f"guardian.rules.{REGISTRY[rule_id]}", fromlist=["RULE"])
    cls: type[Rule] = module.RULE
    return cls
