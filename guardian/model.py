"""The data every surface shares: files under check, findings, snapshots, results.

Plain classes with ``__slots__`` rather than dataclasses: this module sits on
the hook's start-up path and ``dataclasses`` costs more to import than all of
this file.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)

MODE_SYMLINK = "120000"
MODE_SUBMODULE = "160000"


class Finding:
    """One policy violation.

    ``line`` and ``column`` are 1-based; 0 means the finding is about the whole
    file (or, with an empty ``path``, the whole repository). ``line_text`` is
    the offending line as written: inline suppressions and baseline
    fingerprints are computed from it, so it survives edits elsewhere.
    ``commit`` and ``commit_subject`` name the commit that brought the file's
    blob in, where the check is of commits (a push, a range): provenance, not
    part of what the finding is.
    """

    __slots__ = (
        "column",
        "commit",
        "commit_subject",
        "fixable",
        "line",
        "line_text",
        "message",
        "path",
        "rule",
        "severity",
    )

    def __init__(
        self,
        rule: str,
        path: str,
        message: str,
        *,
        severity: str = ERROR,
        line: int = 0,
        column: int = 0,
        line_text: str = "",
        fixable: bool = False,
    ) -> None:
        self.rule = rule
        self.path = path
        self.message = message
        self.severity = severity
        self.line = line
        self.column = column
        self.line_text = line_text
        self.fixable = fixable
        self.commit = ""
        self.commit_subject = ""

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.rule, self.message)

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return self._identity() == other._identity()

    def _identity(self) -> tuple[object, ...]:
        return (*self.sort_key(), self.severity, self.line_text, self.fixable)

    def __hash__(self) -> int:
        return hash(self.sort_key())

    def __repr__(self) -> str:
        return f"Finding({self.rule!r}, {self.path!r}:{self.line}:{self.column}, {self.message!r})"


class FileEntry:
    """A file as git stores it: path, blob size, mode and object id.

    ``size`` is the size of the blob (staged or committed), not of the working
    file; -1 while unknown. ``new`` is False when the blob already existed in
    the snapshot's base (a pure rename, an unchanged file): size rules only
    judge new blobs.
    """

    __slots__ = ("commit", "mode", "new", "oid", "path", "size")

    def __init__(
        self, path: str, size: int = -1, mode: str = "100644", oid: str = "", *, new: bool = True, commit: str = ""
    ) -> None:
        self.path = path
        self.size = size
        self.mode = mode
        self.oid = oid
        self.new = new
        #: The commit that brought this blob in, when the snapshot is of commits.
        self.commit = commit

    @property
    def is_symlink(self) -> bool:
        return self.mode == MODE_SYMLINK

    @property
    def is_submodule(self) -> bool:
        return self.mode == MODE_SUBMODULE

    @property
    def is_regular(self) -> bool:
        return not (self.is_symlink or self.is_submodule)

    def __repr__(self) -> str:
        return f"FileEntry({self.path!r}, size={self.size}, mode={self.mode}, new={self.new})"


class Snapshot:
    """What a source hands the engine: files to check and the tree around them.

    ``files`` are the entries under check (staged changes, a pushed range, a
    pull request's changed files...). ``tree()`` is the whole tree those files
    live in, which repository rules (``.gitignore`` files, directory budgets)
    look at. Subclasses read bytes in batches; rules never call git.
    """

    files: Sequence[FileEntry] = ()
    #: Where a fix may write files, when the snapshot has a working tree.
    root: str | None = None
    #: Human name of what was checked, e.g. "staged changes" or "a1b2c3..d4e5f6".
    label: str = ""
    #: False when there is no tree around the files (loose files on disk):
    #: repository rules are then skipped.
    has_tree: bool = True

    #: No bytes past this many are read for one file (the engine sets it to
    #: the policy's ``max-content-size``).
    max_read: int = 1 << 62

    def tree(self) -> Sequence[FileEntry]:
        """Every file of the tree the checked files belong to."""
        return self.files

    def with_sizes(self, entries: Sequence[FileEntry]) -> Sequence[FileEntry]:
        """The same entries with ``size`` filled in (a batch lookup if needed)."""
        return entries

    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        """Yield each entry with its bytes, or None where they cannot be had.

        Implementations stream: one batch request, bytes released as consumed.
        """
        raise NotImplementedError

    def unread_reason(self, entry: FileEntry) -> str:
        """Why ``read_many`` yielded no bytes for ``entry``."""
        return "object missing (partial clone?)"

    def read(self, entry: FileEntry) -> bytes | None:
        for _entry, data in self.read_many([entry]):
            return data
        return None

    def close(self) -> None:
        """Release processes or connections held by the snapshot."""


class MemorySnapshot(Snapshot):
    """A snapshot held in memory: path -> bytes. For tests and small surfaces.

    Every file is under check unless ``checked`` names a subset.
    """

    def __init__(
        self,
        contents: dict[str, bytes],
        *,
        checked: Iterable[str] | None = None,
        modes: dict[str, str] | None = None,
        root: str | None = None,
        label: str = "memory",
    ) -> None:
        modes = modes or {}
        self._contents = contents
        self._tree = [
            FileEntry(path, len(data), modes.get(path, "100644"), oid=f"mem:{path}") for path, data in contents.items()
        ]
        wanted = set(contents if checked is None else checked)
        self.files = [e for e in self._tree if e.path in wanted]
        self.root = root
        self.label = label

    def tree(self) -> Sequence[FileEntry]:
        return self._tree

    def read_many(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, bytes | None]]:
        for entry in entries:
            yield entry, self._contents.get(entry.path)


class Result:
    """What a run found, and what it did not look at and why."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        #: Repository findings that stood before the change under check (a
        #: commit, a pull request) and do not block it.
        self.standing: list[Finding] = []
        self.suppressed = 0
        self.baselined = 0
        #: Baseline entries that no longer match anything: (rule, path, text).
        self.stale: list[dict[str, object]] = []
        self.files_checked = 0
        #: Files a content rule skipped: (path, reason).
        self.skipped: list[tuple[str, str]] = []
        self.rules: list[str] = []
        #: The configured severity of each rule that ran.
        self.severities: dict[str, str] = {}
        self.policy_source = ""
        self.label = ""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")


# -- what a history scan adds ------------------------------------------------------------

#: The rule whose findings a history scan reports as blobs (sizes, paths).
SIZE_RULE = "max-file-size"


class Commit:
    """A commit as a report shows it."""

    __slots__ = ("author", "id", "offset", "subject", "timestamp")

    def __init__(self, id: str, timestamp: int = 0, offset: str = "+0000", author: str = "", subject: str = "") -> None:
        self.id = id
        self.timestamp = timestamp
        self.offset = offset
        self.author = author
        #: The first line of the commit's message.
        self.subject = subject

    @property
    def date(self) -> str:
        """ISO 8601 in the committer's own time zone, e.g. 2017-11-03T10:20:00+01:00."""
        import datetime

        sign = -1 if self.offset.startswith("-") else 1
        digits = self.offset.lstrip("+-").rjust(4, "0")
        try:
            delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
            zone = datetime.timezone(sign * delta)
            return datetime.datetime.fromtimestamp(self.timestamp, zone).isoformat()
        except (ValueError, OverflowError, OSError):
            return datetime.datetime.fromtimestamp(0, datetime.UTC).isoformat()

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "date": self.date, "author": self.author, "subject": self.subject}


class HistoryFinding:
    """A finding with the history around it.

    ``finding.path`` is the first path the blob was stored under that the
    rule judges; ``paths`` all of them, oldest first. Findings about a ref tip
    (``gitignore-required``) have no blob and name the ``refs`` they hold at.
    """

    __slots__ = ("at_head", "commit", "exempt_paths", "finding", "oid", "paths", "refs", "size")

    def __init__(
        self,
        finding: Finding,
        *,
        oid: str = "",
        size: int = -1,
        paths: Sequence[str] = (),
        exempt_paths: Sequence[str] = (),
        commit: Commit | None = None,
        at_head: bool | None = None,
        refs: Sequence[str] = (),
    ) -> None:
        self.finding = finding
        self.oid = oid
        self.size = size
        self.paths = list(paths) or [finding.path]
        self.exempt_paths = list(exempt_paths)
        self.commit = commit
        self.at_head = at_head
        self.refs = list(refs)

    @property
    def rule(self) -> str:
        return self.finding.rule

    def per_path(self) -> list[Finding]:
        """The finding once for each path (baselines match any of them)."""
        out = []
        for path in self.paths:
            f = self.finding
            out.append(
                Finding(
                    f.rule,
                    path,
                    f.message,
                    severity=f.severity,
                    line=f.line,
                    column=f.column,
                    line_text=f.line_text,
                    fixable=f.fixable,
                )
            )
        return out


class HistoryResult:
    def __init__(self) -> None:
        self.findings: list[HistoryFinding] = []
        self.label = ""
        self.policy_source = ""
        self.rules: list[str] = []
        #: Rules of the policy that history does not run, with the reason.
        self.not_run: list[tuple[str, str]] = []
        self.limit: int | None = None
        self.max_content_size = 0
        self.commits = 0
        #: (path, blob) pairs looked up: every version of every file.
        self.blob_versions = 0
        #: Unique blobs whose bytes content rules read.
        self.blobs_read = 0
        self.tips = 0
        self.suppressed = 0
        self.baselined = 0
        #: Blobs content rules did not read: (oid, path, size).
        self.skipped: list[tuple[str, str, int]] = []
        #: Ids of missing objects (the first thousand) and how many there were.
        self.missing: list[str] = []
        self.missing_count = 0
        self.warnings: list[str] = []
        self.shallow = False

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.finding.severity == ERROR)

    @property
    def warnings_count(self) -> int:
        return sum(1 for f in self.findings if f.finding.severity == WARNING)

    @property
    def large(self) -> list[HistoryFinding]:
        return [f for f in self.findings if f.rule == SIZE_RULE]
