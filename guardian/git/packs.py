"""The first bytes of a blob, read from the object store without git.

A history scan meets large blobs (build outputs, datasets) that no content
rule reads when they are binary, and git's binary test looks at a blob's
first 8000 bytes. ``cat-file --batch`` can only hand over a blob whole,
inflating every byte; here the head alone is inflated: from a loose object,
or from a pack where the blob is stored whole (not as a delta), found
through the pack's index (version 2). Anything else (a delta, an alternate
object store, an index of another version, a damaged file) answers None,
and the caller reads the blob through git as before: this is a shortcut,
never the only way.
"""

from __future__ import annotations

import contextlib
import glob
import mmap
import os
import struct
import zlib

_IDX_MAGIC = b"\377tOc"
_OBJ_BLOB = 3


class _PackIndex:
    """One ``.idx`` (version 2) and its ``.pack``, both mapped read-only."""

    __slots__ = ("count", "fanout", "hash_size", "idx", "pack")

    def __init__(self, idx_path: str, hash_size: int) -> None:
        self.hash_size = hash_size
        with open(idx_path, "rb") as fh:
            self.idx = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if self.idx[:4] != _IDX_MAGIC or struct.unpack(">I", self.idx[4:8])[0] != 2:
            raise ValueError("not a version 2 pack index")
        self.fanout = struct.unpack(">256I", self.idx[8 : 8 + 1024])
        self.count = self.fanout[255]
        if len(self.idx) < 8 + 1024 + self.count * (hash_size + 8):
            raise ValueError("a truncated pack index")
        with open(idx_path[: -len(".idx")] + ".pack", "rb") as fh:
            self.pack = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)

    def offset(self, oid: bytes) -> int | None:
        """Where the object starts in the pack, or None if this pack lacks it."""
        first = oid[0]
        low = self.fanout[first - 1] if first else 0
        high = self.fanout[first]
        size, base = self.hash_size, 8 + 1024
        idx = self.idx
        while low < high:
            mid = (low + high) // 2
            at = base + mid * size
            found = idx[at : at + size]
            if found == oid:
                break
            if found < oid:
                low = mid + 1
            else:
                high = mid
        else:
            return None
        offsets = base + self.count * (size + 4)
        value = struct.unpack(">I", idx[offsets + 4 * mid : offsets + 4 * mid + 4])[0]
        if value & 0x80000000:  # an offset past 2 GiB, in the table of large offsets
            large = offsets + 4 * self.count + 8 * (value & 0x7FFFFFFF)
            value = struct.unpack(">Q", idx[large : large + 8])[0]
        return int(value)

    def head(self, offset: int, size: int) -> bytes | None:
        """The first ``size`` bytes of the object at ``offset`` if it is a whole blob."""
        pack = self.pack
        if offset >= len(pack):
            return None
        byte = pack[offset]
        kind = (byte >> 4) & 7
        at = offset + 1
        while byte & 0x80:  # the rest of the object's size; not needed
            if at >= len(pack):
                return None
            byte = pack[at]
            at += 1
        if kind != _OBJ_BLOB:
            return None  # a delta (or not a blob): git must resolve it
        stream = zlib.decompressobj()
        out = b""
        step = 16 * 1024
        while len(out) < size and not stream.eof and at < len(pack):
            out += stream.decompress(pack[at : at + step], size - len(out))
            at += step
            if stream.unconsumed_tail:
                break  # the output bound was reached
        return out[:size]


class BlobHeads:
    """The first bytes of blobs of one repository, without git."""

    def __init__(self, objects_dir: str, hash_size: int = 20) -> None:
        self.objects_dir = objects_dir
        self.hash_size = hash_size
        self._packs: list[_PackIndex] | None = None

    def _indexes(self) -> list[_PackIndex]:
        if self._packs is None:
            self._packs = []
            for path in sorted(glob.glob(os.path.join(glob.escape(self.objects_dir), "pack", "*.idx"))):
                with contextlib.suppress(OSError, ValueError):
                    self._packs.append(_PackIndex(path, self.hash_size))
        return self._packs

    def head(self, oid_hex: bytes, size: int) -> bytes | None:
        """The first ``size`` bytes of this blob (all of it if shorter), or None
        when they cannot be read here (ask git)."""
        try:
            oid = bytes.fromhex(oid_hex.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None
        if len(oid) != self.hash_size:
            return None
        loose = self._loose(oid_hex.decode("ascii"), size)
        if loose is not None:
            return loose
        for index in self._indexes():
            offset = index.offset(oid)
            if offset is not None:
                try:
                    return index.head(offset, size)
                except (zlib.error, ValueError):
                    return None
        return None

    def _loose(self, oid: str, size: int) -> bytes | None:
        try:
            with open(os.path.join(self.objects_dir, oid[:2], oid[2:]), "rb") as fh:
                data = fh.read()
            # The header, "blob <size>" and a NUL, is far shorter than 64 bytes.
            out = zlib.decompressobj().decompress(data, size + 64)
        except (OSError, zlib.error):
            return None
        header, nul, body = out.partition(b"\0")
        if not nul or not header.startswith(b"blob "):
            return None
        return body[:size]

    def close(self) -> None:
        for index in self._packs or ():
            index.idx.close()
            index.pack.close()
        self._packs = None
