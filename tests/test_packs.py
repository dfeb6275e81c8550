"""Blob heads read from the object store without git: the same bytes git
gives, from loose objects and from whole blobs in packs; None (ask git) for
deltas, unknown ids and damaged packs."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

from guardian.git.packs import BlobHeads
from tests.conftest import Repo


def _blob(repo: Repo, rev: str) -> bytes:
    return repo.git("rev-parse", rev).strip().encode()


def _git_bytes(repo: Repo, oid: bytes) -> bytes:
    return subprocess.run(["git", "cat-file", "blob", oid.decode()], cwd=repo.path, capture_output=True).stdout


def _objects(repo: Repo) -> str:
    return str(repo.path / ".git" / "objects")


def test_the_head_of_a_loose_blob_is_git_s_first_bytes(repo: Repo) -> None:
    rnd = random.Random(1)
    repo.write("big.bin", rnd.randbytes(300_000))
    repo.write("small.txt", "hello\n")
    repo.add()
    heads = BlobHeads(_objects(repo))
    big, small = _blob(repo, ":big.bin"), _blob(repo, ":small.txt")
    assert heads.head(big, 8000) == _git_bytes(repo, big)[:8000]
    assert heads.head(small, 8000) == b"hello\n"  # shorter than asked: all of it


def test_whole_blobs_in_a_pack_are_read_and_deltas_are_left_to_git(repo: Repo) -> None:
    rnd = random.Random(2)
    base = "".join(f"line {i} {rnd.random()}\n" for i in range(20_000))
    repo.write("data.txt", base)
    repo.write("noise.bin", rnd.randbytes(200_000))
    repo.commit("one")
    repo.write("data.txt", base + "one more line\n")  # stored as a delta of the first, or the first of it
    repo.commit("two")
    repo.git("gc", "-q", "--aggressive")
    assert not list((repo.path / ".git" / "objects").glob("??/*")), "gc left loose objects"
    heads = BlobHeads(_objects(repo))
    noise = _blob(repo, "HEAD:noise.bin")
    assert heads.head(noise, 8000) == _git_bytes(repo, noise)[:8000]
    versions = [_blob(repo, "HEAD~1:data.txt"), _blob(repo, "HEAD:data.txt")]
    answers = [heads.head(oid, 8000) for oid in versions]
    # git keeps one version whole and the other as a delta against it.
    assert answers.count(None) == 1
    whole = next(oid for oid, answer in zip(versions, answers, strict=True) if answer is not None)
    assert heads.head(whole, 8000) == _git_bytes(repo, whole)[:8000]
    heads.close()


def test_unknown_ids_and_damaged_packs_answer_none(repo: Repo) -> None:
    rnd = random.Random(3)
    repo.write("noise.bin", rnd.randbytes(100_000))
    repo.commit("one")
    repo.git("gc", "-q")
    noise = _blob(repo, "HEAD:noise.bin")
    assert BlobHeads(_objects(repo)).head(b"0" * 40, 8000) is None
    assert BlobHeads(_objects(repo)).head(b"not hex", 8000) is None
    [pack] = (repo.path / ".git" / "objects" / "pack").glob("*.pack")
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    offset = _offset_of(Path(str(pack)[:-5] + ".idx"), noise)
    data[offset + 8 : offset + 400] = bytes(392)  # the blob's compressed bytes, zeroed
    pack.write_bytes(bytes(data))
    assert BlobHeads(_objects(repo)).head(noise, 8000) is None


def _offset_of(idx: Path, oid: bytes) -> int:
    from guardian.git.packs import _PackIndex

    index = _PackIndex(str(idx), 20)
    offset = index.offset(bytes.fromhex(oid.decode()))
    assert offset is not None
    return offset
