"""The engine on real repositories: the two-process content check gives the
same answer as one process, errors included."""

from __future__ import annotations

import pytest

from guardian import engine
from guardian.config import load_policy
from guardian.model import Result
from guardian.sources.index import IndexSnapshot
from tests.conftest import Repo


def _repo_with_findings(repo: Repo) -> Repo:
    repo.write(".gitignore", "*.bak\n")
    for i in range(12):
        repo.write(f"pkg/m{i}.py", f"import optimization_engine.m{i}\nPATH = 'C:\\\\data\\\\{i}'\n" + "x = 1\n" * i)
        repo.write(f"conf/c{i}.cfg", f"root = D:\\runs\\{i}\n")
    repo.write("bin/blob.dat", b"\0binary C:\\x optimization_engine")
    repo.commit()
    gone = repo.git("rev-parse", "HEAD:pkg/m3.py").strip()
    (repo.path / ".git" / "objects" / gone[:2] / gone[2:]).unlink()
    repo.write("pkg/m3.py", "# edited: the work tree no longer holds the blob's bytes\n")
    return repo


def _run(repo: Repo, jobs: int) -> Result:
    policy = load_policy(start=str(repo.path))
    return engine.run(IndexSnapshot(str(repo.path), all_files=True), policy, jobs=jobs)


def test_two_processes_find_exactly_what_one_finds(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    _repo_with_findings(repo)
    monkeypatch.setattr(engine, "PARALLEL_BYTES", 0)
    one, two = _run(repo, 1), _run(repo, 2)
    assert [f.to_dict() for f in two.findings] == [f.to_dict() for f in one.findings]
    assert sorted(two.skipped) == sorted(one.skipped) == [("pkg/m3.py", "object missing (partial clone?)")]
    assert {f.rule for f in one.findings} >= {"forbidden-import", "windows-path", "gitignore-required"}
    assert len([f for f in one.findings if f.rule == "forbidden-import"]) == 11


def test_an_error_in_the_second_process_reaches_the_caller(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    _repo_with_findings(repo)
    monkeypatch.setattr(engine, "PARALLEL_BYTES", 0)
    from guardian.rules.windows_path import WindowsPath

    def explode(self: object, entry: object, data: object) -> list[object]:
        raise RuntimeError("rule failed")

    monkeypatch.setattr(WindowsPath, "check_file", explode)
    with pytest.raises(RuntimeError, match="rule failed"):
        _run(repo, 2)
