"""The one reader of git's raw diff records (``-z`` output of ``log --raw``,
``diff-index --raw`` and friends).

A record is ``:<old mode> <new mode> <old id> <new id> <status>`` then its
path (two paths, source first, for a rename or copy), or, for a merge shown
with ``-c``, ``::<modes> <parent ids> <new id> <status>`` then its path.
With ``--format=%x01%H`` each commit's records follow a ``\\x01<id>``
header. Fields are NUL-separated, so a path may hold anything, a newline
or a leading ``:`` included: whether a field is a path is known from where
it stands, never from what it holds.

``RawRecords`` reads such output a chunk at a time and hands back each
chunk's records at once (one call per megabyte, not one per record: the
history scan reads millions of them).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO

#: (commit, new mode, old id, new id, status, path, source path) as bytes.
#: ``old id`` is ``-`` for a merge record; ``source path`` is empty unless
#: the status is a rename or a copy.
Record = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes]

#: Reads of a streamed output: large, so a megabyte is one Python call.
CHUNK = 1 << 20
_DELETED = b"000000"
_GITLINK = b"160000"


class RawRecords:
    """An incremental reader: ``feed`` chunks, take the records they complete.

    ``commits`` counts the commit headers read so far (another thread may
    read it for a progress display).
    """

    __slots__ = ("_commit", "_head", "_paths", "_pending", "commits")

    def __init__(self) -> None:
        self._pending = b""
        self._commit = b""
        #: The record whose path fields come next, and how many are still due.
        self._head: tuple[bytes, bytes, bytes, bytes] | None = None
        self._paths: list[bytes] = []
        self.commits = 0

    def feed(self, chunk: bytes) -> list[Record]:
        fields = (self._pending + chunk).split(b"\0")
        self._pending = fields.pop()
        return self._records(fields)

    def close(self) -> list[Record]:
        """The records of what was fed but not yet ended by a NUL (output
        that does not end in one, as ``--format=`` leaves it)."""
        rest, self._pending = self._pending, b""
        return self._records([rest]) if rest.strip(b"\n") else []

    def _records(self, fields: list[bytes]) -> list[Record]:
        out: list[Record] = []
        append = out.append
        head = self._head
        paths = self._paths
        commit = self._commit
        for field in fields:
            if head is not None:
                paths.append(field)
                status = head[3]
                if len(paths) < (2 if status[:1] in b"RC" else 1):
                    continue
                mode, old, oid, status = head
                if len(paths) == 2:
                    append((commit, mode, old, oid, status, paths[1], paths[0]))
                else:
                    append((commit, mode, old, oid, status, paths[0], b""))
                head = None
                paths.clear()
                continue
            if field[:1] == b"\n":
                field = field[1:]
            if not field:
                continue
            first = field[0]
            if first == 0x01:
                commit = field[1:]
                self.commits += 1
            elif first == 0x3A:
                if field[1] != 0x3A:
                    # ":<old mode> <new mode> <old id> <new id> <status>", fixed widths
                    # but for the ids, whose width is the hash's.
                    space = field.find(b" ", 15)
                    head = (field[8:14], field[15:space], field[space + 1 : 2 * space - 14], field[2 * space - 13 :])
                else:
                    # "::<modes> <parent ids...> <new id> <status>": a merge
                    n = len(field) - len(field.lstrip(b":"))
                    parts = field[n:].split(b" ")
                    if len(parts) < 2 * n + 3:
                        head = (_DELETED, b"-", b"", b"?")  # a record to drop, its path still to skip
                    else:
                        head = (parts[n], b"-", parts[2 * n + 1], parts[2 * n + 2])
        self._head = head
        self._commit = commit
        return out


def is_content(record: Record) -> bool:
    """A record that stores a blob: not a deletion, not a submodule."""
    mode = record[1]
    return mode != _DELETED and mode != _GITLINK


def stream_records(stream: IO[bytes]) -> Iterator[list[Record]]:
    """The records of a streamed output, a chunk's worth at a time."""
    reader = RawRecords()
    read = getattr(stream, "read1", stream.read)
    while True:
        chunk = read(CHUNK)
        if not chunk:
            break
        records = reader.feed(chunk)
        if records:
            yield records
    last = reader.close()
    if last:
        yield last


def parse_records(data: bytes) -> list[Record]:
    """Every record of a whole output."""
    reader = RawRecords()
    return reader.feed(data) + reader.close()
