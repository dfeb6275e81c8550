"""What a project accepted: inline suppressions and the baseline.

Every surface asks here, after the engine judged and before a report shows
anything, so a finding hidden in one place is hidden in all of them.

**Inline**: ``guardian: ignore`` (or ``guardian: ignore[rule-a, rule-b]``)
on the offending line.

**Baseline**: an entry is a content fingerprint: the rule, the path and the
offending line with its whitespace normalised (or, for findings about a whole
file or directory, the message with its numbers left out, so that an accepted
oversized file or directory stays accepted when its size changes). Line
numbers and commit ids are left out on purpose, so an entry survives edits
elsewhere in the file and a rebase. When the same line occurs several times,
the entry counts them; a further copy is a new finding.
"""

from __future__ import annotations

import os

from guardian.errors import GuardianError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Sequence

    from guardian.model import Finding

BASELINE_VERSION = 1
#: No baseline is read past this size.
MAX_BASELINE_BYTES = 256 * 1024 * 1024


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _without_numbers(text: str) -> str:
    """``text`` with each quantity (``462``, ``1.5 MiB``, ``976 B``,
    ``1,048,576 bytes``) as ``#``: a size and its unit change together, and
    so does the plural of what is counted."""
    import re

    counted = re.sub(r"\d[\d.,]*(?:\s*(?:[KMGT]i?B|B|bytes?)\b)?", "#", text)
    return re.sub(r"# (\w+?)s\b", r"# \1", counted)  # "1 file", "3 files"


def _digest(finding: Finding, basis: str) -> str:
    import hashlib

    digest = hashlib.sha256("\0".join((finding.rule, finding.path, basis)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:24]


def fingerprint(finding: Finding) -> str:
    if finding.line:
        return _digest(finding, _normalise(finding.line_text))
    return _digest(finding, _without_numbers(_normalise(finding.message)))


def _earlier_fingerprint(finding: Finding) -> str | None:
    """The fingerprint baselines written before numbers were left out gave a
    whole-file finding; such entries still match."""
    return None if finding.line else _digest(finding, _normalise(finding.message))


def fingerprints(finding: Finding) -> tuple[str, ...]:
    """Every fingerprint a baseline entry for ``finding`` may hold."""
    earlier = _earlier_fingerprint(finding)
    return (fingerprint(finding),) if earlier is None else (fingerprint(finding), earlier)


class Baseline:
    def __init__(self, entries: list[dict[str, object]], source: str = "") -> None:
        self.entries = entries
        self.source = source

    @classmethod
    def from_findings(cls, findings: Iterable[Finding]) -> Baseline:
        counts: dict[str, dict[str, object]] = {}
        for finding in findings:
            key = fingerprint(finding)
            entry = counts.get(key)
            if entry is None:
                text = _normalise(finding.line_text) if finding.line else _normalise(finding.message)
                counts[key] = {
                    "rule": finding.rule,
                    "path": finding.path,
                    "fingerprint": key,
                    "text": text,
                    "count": 1,
                }
            else:
                entry["count"] = int(entry["count"]) + 1  # type: ignore[call-overload]
        entries = sorted(counts.values(), key=lambda e: (str(e["path"]), str(e["rule"]), str(e["text"])))
        return cls(entries)

    @classmethod
    def load(cls, path: str) -> Baseline:
        from guardian.files import read_file

        if not os.path.lexists(path):
            raise GuardianError(f"{path}: baseline not found; create it with `guardian baseline --output {path}`")
        raw, why = read_file(path, max_size=MAX_BASELINE_BYTES, follow=True, limit_name="the baseline limit")
        if raw is None:
            raise GuardianError(f"{path}: cannot read the baseline: {why}")
        return cls.from_bytes(raw, path)

    @classmethod
    def from_bytes(cls, raw: bytes, path: str) -> Baseline:
        """A baseline from a file's bytes (read from disk, a commit or the App's base branch)."""
        if len(raw) > MAX_BASELINE_BYTES:
            raise GuardianError(f"{path}: the baseline is over {MAX_BASELINE_BYTES} bytes; regenerate a smaller one")
        try:
            import json

            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise GuardianError(
                f"{path}: not a Guardian baseline ({exc}); regenerate it with `guardian baseline`"
            ) from None
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, list) or data.get("version") != BASELINE_VERSION:
            raise GuardianError(
                f"{path}: not a version {BASELINE_VERSION} Guardian baseline; regenerate it with `guardian baseline`"
            )
        for i, entry in enumerate(entries):
            if not (isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str)):
                raise GuardianError(f"{path}: entries[{i}] has no fingerprint; regenerate it with `guardian baseline`")
            entry.setdefault("count", 1)
        return cls(entries, path)

    def dumps(self) -> str:
        from guardian.output import json_text

        return json_text({"version": BASELINE_VERSION, "entries": self.entries})

    def accepts_any(self, findings: Iterable[Finding]) -> bool:
        """Whether an entry matches one of ``findings`` (the same finding under
        each path history stored it under), whatever the counts."""
        known = {str(e.get("fingerprint")) for e in self.entries}
        return any(key in known for f in findings for key in fingerprints(f))

    def filter(
        self, findings: list[Finding], checked_paths: set[str], tree_paths: set[str] | None = None
    ) -> tuple[list[Finding], int, list[dict[str, object]]]:
        """(new findings, how many were hidden, stale entries).

        An entry is stale when its file was checked and it matched fewer
        findings than it counts, or when ``tree_paths`` (the whole tree, if
        the run knows it) no longer holds its path. Entries for other files
        outside this run are left alone.
        """
        budget = {str(e["fingerprint"]): int(e.get("count", 1)) for e in self.entries}  # type: ignore[call-overload]
        used: dict[str, int] = {}
        kept: list[Finding] = []
        hidden = 0
        for finding in findings:
            key = next((k for k in fingerprints(finding) if used.get(k, 0) < budget.get(k, 0)), None)
            if key is None:
                kept.append(finding)
            else:
                used[key] = used.get(key, 0) + 1
                hidden += 1
        seen_paths = checked_paths | {f.path for f in findings}

        def judged(path: str) -> bool:
            # A file of this run, or one the tree no longer has at all
            # (deleted or renamed), when the run knows the whole tree.
            return path in seen_paths or (tree_paths is not None and path not in tree_paths)

        stale = [
            e
            for e in self.entries
            if judged(str(e.get("path"))) and used.get(str(e["fingerprint"]), 0) < int(e.get("count", 1))  # type: ignore[call-overload]
        ]
        return kept, hidden, stale


# -- inline suppressions ------------------------------------------------------------


def is_suppressed(finding: Finding) -> bool:
    """``guardian: ignore`` or ``guardian: ignore[rule-a, rule-b]`` on the
    line (any case, any spacing around the colon)."""
    text = finding.line_text.lower()
    if "guardian" not in text:
        return False
    for found in _marker().finditer(text):
        if found.group(1) is None:
            return True
        # Rule ids are short: a "]" this far at most, so that a line of many
        # markers costs no more than its length.
        close = text.find("]", found.end(), found.end() + _MAX_IDS)
        if close != -1 and finding.rule in (part.strip() for part in text[found.end() : close].split(",")):
            return True
    return False


_MAX_IDS = 512
_MARKERS: list[re.Pattern[str]] = []


def _marker() -> re.Pattern[str]:
    if not _MARKERS:
        import re

        _MARKERS.append(re.compile(r"guardian\s*:\s*ignore(\[)?"))
    return _MARKERS[0]


def split_suppressed(findings: Sequence[Finding]) -> tuple[list[Finding], int]:
    """(the findings no inline suppression hides, how many were hidden)."""
    kept = [f for f in findings if not is_suppressed(f)]
    return kept, len(findings) - len(kept)
