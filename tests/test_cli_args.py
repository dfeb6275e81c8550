"""The hook's quick argument parser agrees with argparse wherever it answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardian.cli import build_parser, quick_check_args

WORDS = [
    "a.py", "b c.py", "-", "-x.py", "--", "-h", "--stag", "--staged", "--all-files", "--pre-push", "--exit-zero",
    "--format", "json", "text", "nope", "--format=sarif", "--select", "windows-path", "no-such-rule",
    "--select=max-file-size,dir-budget", "--ignore", "--ignore=", "--config", "x.toml", "--output=o.txt",
    "--output", "--baseline", "bl.json", "--rev-range", "A..B", "--rev-range=HEAD~1..HEAD",
]  # fmt: skip


@given(st.lists(st.sampled_from(WORDS), max_size=7))
def test_quick_parser_answers_only_as_argparse_would(words: list[str]) -> None:
    argv = ["check", *words]
    quick = quick_check_args(argv)
    if quick is None:
        return  # argparse decides, errors included
    parsed = build_parser("check").parse_args(argv)  # SystemExit here: the quick parser accepted a usage error
    assert vars(quick) == vars(parsed)


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--staged"],
        ["check", "--staged", "--select", "windows-path"],
        ["check", "--staged", "--select=forbidden-import", "a.py", "b.py"],
        ["check", "--pre-push"],
        ["check", "--all-files", "--format", "github"],
        ["check", "--rev-range", "origin/main..HEAD", "--format=sarif", "--output", "out.sarif"],
    ],
)
def test_the_command_lines_hooks_and_ci_run_take_the_quick_path(argv: list[str]) -> None:
    quick = quick_check_args(argv)
    assert quick is not None and vars(quick) == vars(build_parser("check").parse_args(argv))
