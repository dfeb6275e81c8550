"""Baselines hide known findings by content, survive edits, and go stale."""

from __future__ import annotations

import json

from tests.conftest import Repo

BAD = "from optimization_engine import solvers\n"


def test_baseline_hides_known_findings_and_survives_line_moves(clean_repo: Repo) -> None:
    clean_repo.write("a.py", "x = 1\n" + BAD)
    clean_repo.commit()
    made = clean_repo.guardian("baseline")
    assert made.code == 0, made
    data = json.loads((clean_repo.path / ".guardian-baseline.json").read_text())
    entry = data["entries"][0]
    assert entry["rule"] == "forbidden-import" and entry["path"] == "a.py" and "line" not in entry
    # Lines added above: the finding moves, the baseline still matches.
    clean_repo.write("a.py", "import os\n\n\nx = 1\n" + BAD)
    clean_repo.commit()
    result = clean_repo.guardian("check", "--baseline", ".guardian-baseline.json")
    assert result.code == 0, result
    assert "1 in the baseline" in result.out


def test_new_copy_of_a_baselined_line_is_reported(clean_repo: Repo) -> None:
    clean_repo.write("a.py", BAD)
    clean_repo.commit()
    clean_repo.guardian("baseline", "--output", "base.json")
    clean_repo.write("a.py", BAD + BAD)
    clean_repo.write("b.py", BAD)
    clean_repo.commit()
    result = clean_repo.guardian("check", "--baseline", "base.json")
    assert result.code == 1
    assert "a.py:2:" in result.out and "b.py:1:" in result.out and "a.py:1:" not in result.out


def test_fixed_findings_leave_stale_entries(clean_repo: Repo) -> None:
    clean_repo.write("a.py", BAD)
    clean_repo.commit()
    clean_repo.guardian("baseline")
    clean_repo.write("a.py", "from atomizer import solvers\n")
    clean_repo.commit()
    result = clean_repo.guardian("check", "--baseline", ".guardian-baseline.json", "--format", "json")
    assert result.code == 0
    stale = json.loads(result.out)["stale_baseline"]
    assert [e["path"] for e in stale] == ["a.py"]
    assert "no longer match" in result.err


def test_bad_baseline_file_is_a_usage_error(clean_repo: Repo) -> None:
    clean_repo.write("junk.json", "{not json")
    for name in ("junk.json", "missing.json"):
        result = clean_repo.guardian("check", "--baseline", name)
        assert result.code == 2 and name in result.err and "Traceback" not in result.err


def test_entries_for_deleted_files_are_stale(clean_repo: Repo) -> None:
    clean_repo.write("a.py", BAD)
    clean_repo.write("b.py", BAD)
    clean_repo.commit()
    clean_repo.guardian("baseline")
    clean_repo.git("rm", "-q", "a.py")
    clean_repo.commit()
    result = clean_repo.guardian("check", "--baseline", ".guardian-baseline.json", "--format", "json")
    assert result.code == 0, result
    assert [e["path"] for e in json.loads(result.out)["stale_baseline"]] == ["a.py"]


def test_an_accepted_budget_overage_stays_accepted_when_the_size_changes(clean_repo: Repo) -> None:
    clean_repo.write(".guardian.toml", '[rules.dir-budget.budgets]\n"tools/" = "1 KiB"\n')
    clean_repo.write("tools/a.bin", b"\1" * 3000)
    clean_repo.commit()
    assert clean_repo.guardian("check").code == 1
    clean_repo.guardian("baseline")
    for size in (5000, 2000):  # grows, then shrinks: still the accepted overage
        clean_repo.write("tools/a.bin", b"\1" * size)
        clean_repo.commit()
        result = clean_repo.guardian("check", "--baseline", ".guardian-baseline.json")
        assert result.code == 0, (size, result)
        assert "no longer match" not in result.err


def test_entries_written_before_numbers_were_left_out_still_match(clean_repo: Repo) -> None:
    from guardian.accept import Baseline, _earlier_fingerprint, fingerprint
    from guardian.model import Finding

    finding = Finding("dir-budget", "tools", "tools/ holds 3.0 KiB (3000 bytes), over its 1.0 KiB budget")
    older = _earlier_fingerprint(finding)
    assert older is not None and older != fingerprint(finding)
    baseline = Baseline([{"rule": "dir-budget", "path": "tools", "fingerprint": older, "count": 1}])
    kept, hidden, stale = baseline.filter([finding], {"tools"})
    assert (kept, hidden, stale) == ([], 1, [])


def test_a_budget_overage_with_more_files_is_still_the_accepted_one(clean_repo: Repo) -> None:
    clean_repo.write(".guardian.toml", '[rules.dir-budget.budgets]\n"tools/" = "1 KiB"\n')
    clean_repo.write("tools/a.bin", b"\1" * 3000)
    clean_repo.commit()
    clean_repo.guardian("baseline")
    clean_repo.write("tools/b.bin", b"\2" * 3000)
    clean_repo.commit()
    assert clean_repo.guardian("check", "--baseline", ".guardian-baseline.json").code == 0
