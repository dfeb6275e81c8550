"""Where reports go: --output never replaces a special file, keeps a regular
file whole, writes through a symbolic link to the file it names, and "-" is
standard output. (Never the real /dev/null: a FIFO and a pseudo-terminal
stand in for special files.)"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import Repo


@pytest.fixture
def dirty(clean_repo: Repo) -> Repo:
    clean_repo.write("src/m.py", "import optimization_engine\n")
    clean_repo.commit()
    return clean_repo


class FifoReader:
    """Reads a FIFO to its end in a thread, as a downstream program would."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.data = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as fh:
            self.data = fh.read()

    def result(self) -> bytes:
        self.thread.join(30)
        assert not self.thread.is_alive(), "nothing was written to the FIFO"
        assert stat.S_ISFIFO(os.lstat(self.path).st_mode), "the FIFO was replaced"
        return self.data


def _guardian(repo: Repo, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "guardian", *args], cwd=repo.path, capture_output=True, timeout=60, check=False
    )


def test_a_report_written_to_a_fifo_reaches_its_reader(dirty: Repo, tmp_path: Path) -> None:
    reader = FifoReader(tmp_path / "report.fifo")
    proc = _guardian(dirty, "check", "--all-files", "--format", "json", "--output", str(reader.path))
    assert proc.returncode == 1, proc.stderr
    assert json.loads(reader.result())["summary"]["errors"] == 1


@pytest.mark.parametrize(
    "args",
    [
        ("baseline", "--all-files", "--output"),
        ("history", "--quiet", "--write-baseline"),
        ("history", "--quiet", "--format", "sarif", "--output"),
    ],
)
def test_every_writer_writes_into_a_fifo(dirty: Repo, tmp_path: Path, args: tuple[str, ...]) -> None:
    reader = FifoReader(tmp_path / "out.fifo")
    proc = _guardian(dirty, *args, str(reader.path))
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(reader.result())


def test_the_purge_script_can_go_to_a_fifo(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.write(".guardian.toml", '[rules.max-file-size]\nlimit = "1 KiB"\n')
    repo.write("big.bin", os.urandom(4000))
    repo.commit()
    reader = FifoReader(tmp_path / "purge.fifo")
    proc = _guardian(repo, "history", "--quiet", "--select", "max-file-size", "--purge-script", str(reader.path))
    assert proc.returncode == 1, proc.stderr
    assert reader.result().startswith(b"#!/bin/sh\n")


def test_a_report_written_to_a_terminal_device_leaves_it_a_device(dirty: Repo) -> None:
    main, follower = os.openpty()
    try:
        device = os.ttyname(follower)
        proc = _guardian(dirty, "check", "--all-files", "--output", device)
        assert proc.returncode == 1, proc.stderr
        assert stat.S_ISCHR(os.stat(device).st_mode)
        os.set_blocking(main, False)
        seen = b""
        while b"forbidden-import" not in seen:
            seen += os.read(main, 65536)
    finally:
        os.close(main)
        os.close(follower)


def test_through_a_symlink_the_named_file_is_replaced_and_the_link_stays(dirty: Repo, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "guardian.json"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    proc = _guardian(dirty, "check", "--all-files", "--format", "json", "--output", str(link))
    assert proc.returncode == 1, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["summary"]["errors"] == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["guardian.json"]  # no temporary file left


def test_dash_is_standard_output(dirty: Repo) -> None:
    proc = _guardian(dirty, "check", "--all-files", "--format", "json", "--output", "-")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["summary"]["errors"] == 1
    assert not (dirty.path / "-").exists()


def test_a_directory_as_output_is_a_one_line_error(dirty: Repo, tmp_path: Path) -> None:
    proc = _guardian(dirty, "check", "--all-files", "--output", str(tmp_path))
    assert proc.returncode == 2
    assert b"is a directory" in proc.stderr and proc.stderr.count(b"\n") == 1
