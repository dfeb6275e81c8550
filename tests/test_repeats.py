"""The repeated-version memo on its own: which versions of a file a history
scan judges again, and which rules it leaves out of them."""

from __future__ import annotations

from guardian.scans.repeats import JUDGE, NOTHING, REPEAT, RepeatedVersions, trigger_lines

IMPORTS = (b"optimization_engine",)
PATHS = (b":\\", b"\\\\")
BY_RULE = {0: IMPORTS, 1: PATHS}
BOTH = IMPORTS + PATHS
TAG = b"1"


def _consider(memo: RepeatedVersions, oid: bytes, old: bytes, data: bytes, path: str = "src/m.py") -> tuple:
    answer = memo.consider(oid, old, TAG, path, data, BOTH, BY_RULE, (0, 1))
    memo.record(oid, path, answer[0])
    return answer


V1 = b"import optimization_engine\nx = 1\n"
V2 = b"import optimization_engine\nx = 2\n"  # only a line no rule reports changed
V3 = b"import optimization_engine\nx = 2\np = 'C:\\\\data'\n"  # a new line for rule 1 only


def test_a_version_with_no_line_a_rule_reports_needs_nothing() -> None:
    memo = RepeatedVersions()
    assert _consider(memo, b"a" * 40, b"0" * 40, b"x = 1\n") == (NOTHING, (), ())


def test_a_version_whose_reportable_lines_all_stood_before_is_a_repeat() -> None:
    memo = RepeatedVersions()
    assert _consider(memo, b"a" * 40, b"0" * 40, V1) == (JUDGE, (0, 1), ())
    assert _consider(memo, b"b" * 40, b"a" * 40, V2) == (REPEAT, (), ())
    assert memo.repeats == 1
    # Seen under another path later, it must be judged there.
    assert memo.unjudged_under(b"b" * 40) == "src/m.py"
    assert memo.unjudged_under(b"a" * 40) is None


def test_a_rule_whose_lines_all_stood_before_is_left_out() -> None:
    memo = RepeatedVersions()
    _consider(memo, b"a" * 40, b"0" * 40, V1)
    assert _consider(memo, b"c" * 40, b"a" * 40, V3) == (JUDGE, (1,), (0,))


def test_a_version_under_another_path_is_judged_whole() -> None:
    memo = RepeatedVersions()
    _consider(memo, b"a" * 40, b"0" * 40, V1)
    # The lineage broke (a rename): nothing recorded for this path yet.
    assert _consider(memo, b"c" * 40, b"a" * 40, V3, path="src/renamed.py") == (JUDGE, (0, 1), ())


def test_a_changed_count_of_triple_quotes_is_always_judged() -> None:
    memo = RepeatedVersions()
    _consider(memo, b"a" * 40, b"0" * 40, V1)
    # Closing a docstring can turn the same lines into code.
    assert _consider(memo, b"d" * 40, b"a" * 40, V1 + b'"""\n')[0] == JUDGE


def test_a_version_that_mentions_suppressions_runs_every_rule() -> None:
    memo = RepeatedVersions()
    _consider(memo, b"a" * 40, b"0" * 40, V1)
    with_marker = V3 + b"y = 3  # guardian: ignore\n"
    assert _consider(memo, b"e" * 40, b"a" * 40, with_marker) == (JUDGE, (0, 1), ())


def test_trigger_lines_are_the_lines_holding_a_token() -> None:
    data = b"a\nimport optimization_engine\r\nb :\\ c\n" + b"x" * 10_000 + b" :\\ \n"
    found = trigger_lines(data, BOTH)
    assert found == {hash(b"import optimization_engine"), hash(b"b :\\ c"), hash(b"x" * 10_000 + b" :\\ ")}
