"""The plan: which rules judge a path, and what must be read for them.

One place answers, for every surface: the engine (check, the hooks, the
App), the history scan and ``guardian fix``. Questions are about paths and
entries only, never bytes, so they are asked before any I/O, and each
path's answer is remembered.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardian.config import Policy
    from guardian.model import FileEntry
    from guardian.rules.base import Rule

#: Guardian's own files: they name what the rules look for, by design.
OWN_FILES = frozenset({".guardian.toml", ".guardian-baseline.json"})
#: Paths whose rules are remembered; past this the memo starts again.
_MEMO_LIMIT = 200_000


class Plan:
    """A policy's rules, sorted for the questions every surface asks."""

    def __init__(self, policy: Policy, *, skip: frozenset[str] = OWN_FILES) -> None:
        self.policy = policy
        # The policy's own baseline is one of Guardian's files too.
        self.skip = skip | {policy.baseline} if policy.baseline else skip
        self.max_content_size = policy.max_content_size
        self.file_rules = [r for r in policy.rules if r.scope == "file"]
        self.repo_rules = [r for r in policy.rules if r.scope == "repo"]
        #: File rules that read bytes, in policy order (the history scan
        #: refers to them by index).
        self.content_rules = [r for r in self.file_rules if r.needs_content]
        self._memo: dict[str, tuple[list[Rule], list[Rule]]] = {}

    def rules_for(self, path: str) -> tuple[list[Rule], list[Rule]]:
        """(rules that judge ``path`` without its bytes, rules that read them);
        both empty for Guardian's own files."""
        found = self._memo.get(path)
        if found is None:
            if path in self.skip:
                found = ([], [])
            else:
                rules = [r for r in self.file_rules if r.applies(path) and not r.is_excluded(path)]
                found = ([r for r in rules if not r.needs_content], [r for r in rules if r.needs_content])
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[path] = found
        return found

    def judged_by(self, rule: Rule, path: str) -> bool:
        """Whether ``rule`` (a file rule of this plan) judges ``path``."""
        meta, content = self.rules_for(path)
        return any(r is rule for r in (content if rule.needs_content else meta))

    def judges(self, entry: FileEntry) -> bool:
        """Whether any file rule looks at ``entry`` (submodules: none)."""
        if entry.is_submodule:
            return False
        meta, content = self.rules_for(entry.path)
        return bool(meta or content)

    def content_rules_for(self, path: str) -> list[Rule]:
        return self.rules_for(path)[1]

    def over_bound(self, entry: FileEntry) -> bool:
        """Whether ``entry`` is too large for content rules to read."""
        return entry.size > self.max_content_size

    def reads(self, entry: FileEntry) -> bool:
        """Whether content rules will read ``entry``'s bytes: a regular file
        within ``max-content-size`` that one of them looks at."""
        return entry.is_regular and not self.over_bound(entry) and bool(self.content_rules_for(entry.path))

    def fixers_for(self, path: str) -> list[Rule]:
        """File rules that may rewrite ``path``."""
        from guardian.rules.base import Rule

        meta, content = self.rules_for(path)
        judging = {id(r) for r in (*meta, *content)}
        return [r for r in self.file_rules if id(r) in judging and type(r).fix_file is not Rule.fix_file]


def over_bound_reason(entry: FileEntry, bound: int) -> str:
    """What a report says of a file content rules did not read for its size."""
    return f"{entry.size} bytes, over max-content-size ({bound} bytes)"
