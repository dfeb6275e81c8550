"""Configuration: discovery, extension, validation and the errors users see."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardian.config import build_policy, load_policy, load_policy_bytes
from guardian.errors import ConfigError
from tests.conftest import GOOD_GITIGNORE, Repo


def test_without_config_the_shipped_policy_applies(tmp_path: Path) -> None:
    policy = load_policy(start=str(tmp_path))
    assert [r.id for r in policy.rules] == [
        "max-file-size",
        "gitignore-required",
        "forbidden-import",
        "windows-path",
        "dir-budget",
    ]
    size = policy.rule("max-file-size")
    assert size is not None and size.settings["limit"] == 1024 * 1024
    assert size.is_excluded("dashboard/assets/logo.png")
    assert not size.is_excluded("src/logo.png")
    imports = policy.rule("forbidden-import")
    assert imports is not None and imports.settings["banned"] == {"optimization_engine": "atomizer"}
    windows = policy.rule("windows-path")
    assert windows is not None and windows.is_excluded("scripts/run.bat")
    assert "shipped policy 'default'" in policy.source


def test_guardian_toml_extends_the_default_and_overrides_one_option(tmp_path: Path) -> None:
    (tmp_path / ".guardian.toml").write_text('[rules.max-file-size]\nlimit = "2 MB"\n')
    policy = load_policy(start=str(tmp_path))
    size = policy.rule("max-file-size")
    assert size is not None and size.settings["limit"] == 2_000_000
    # Inherited keys of the same rule survive.
    assert size.is_excluded("dashboard/assets/big.js")
    assert policy.rule("dir-budget") is not None


def test_pyproject_tool_guardian_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.guardian.rules.windows-path]\nenabled = false\n'
    )
    sub = tmp_path / "src" / "pkg"
    sub.mkdir(parents=True)
    policy = load_policy(start=str(sub))
    assert policy.rule("windows-path") is None
    assert policy.sources[0].endswith("pyproject.toml")


def test_pyproject_without_tool_guardian_is_ignored(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_policy(start=str(tmp_path)).rule("windows-path") is not None


def test_discovery_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".guardian.toml").write_text("[rules.windows-path]\nenabled = false\n")
    inner = tmp_path / "inner"
    (inner / ".git").mkdir(parents=True)
    assert load_policy(start=str(inner)).rule("windows-path") is not None


def test_extend_none_starts_empty_and_extend_a_file_chains(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text('extend = "none"\n[rules.max-file-size]\nlimit = "5 KiB"\n')
    (tmp_path / ".guardian.toml").write_text('extend = "base.toml"\n[rules.windows-path]\nseverity = "warning"\n')
    policy = load_policy(start=str(tmp_path))
    size = policy.rule("max-file-size")
    assert size is not None and size.settings["limit"] == 5 * 1024
    imports = policy.rule("forbidden-import")
    assert imports is not None and imports.settings["banned"] == {}
    windows = policy.rule("windows-path")
    assert windows is not None and windows.severity == "warning"


def test_select_and_ignore_narrow_the_rules(tmp_path: Path) -> None:
    policy = load_policy(start=str(tmp_path), select=["max-file-size", "windows-path"], ignore=["windows-path"])
    assert [r.id for r in policy.rules] == ["max-file-size"]


def test_policy_from_bytes_cannot_extend_local_files() -> None:
    with pytest.raises(ConfigError, match="only shipped policies"):
        load_policy_bytes(b'extend = "../../etc/passwd.toml"\n', ".guardian.toml")
    policy = load_policy_bytes(b'[tool.guardian.rules.max-file-size]\nlimit = "3 MiB"\n', "pyproject.toml")
    size = policy.rule("max-file-size")
    assert size is not None and size.settings["limit"] == 3 * 1024 * 1024


BAD_CONFIGS = [
    ('[rules.max-file-size]\nlimit = "1 MQ"\n', "rules.max-file-size.limit", "unknown size unit"),
    ("[rules.max-file-size]\nlimt = 3\n", "rules.max-file-size.limt", "unknown key"),
    ("[rules.no-such-rule]\n", "rules.no-such-rule", "unknown rule"),
    ('[rules.windows-path]\nseverity = "fatal"\n', "rules.windows-path.severity", "must be one of"),
    ('[rules.windows-path]\nenabled = "yes"\n', "rules.windows-path.enabled", "true or false"),
    ("[rules.windows-path]\nexclude = 3\n", "rules.windows-path.exclude", "list of gitignore"),
    ('extend = "nope"\n', "extend", "unknown policy"),
    ('extend = "missing.toml"\n', "extend", "not found"),
    ("colour = 1\n", "colour", "unknown key"),
    ("rules = [1]\n", "rules", "must be a table"),
    ("[rules.forbidden-import]\nbanned = 3\n", "rules.forbidden-import.banned", ""),
    ('[rules.dir-budget.budgets]\n"tools/" = "lots"\n', "rules.dir-budget.budgets", ""),
    ('max-content-size = "big"\n', "max-content-size", ""),
    ("[rules.max-file-size\nlimit = 1\n", "", "invalid TOML"),
]


@pytest.mark.parametrize(("text", "key", "problem"), BAD_CONFIGS)
def test_bad_config_names_file_key_and_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str, problem: str
) -> None:
    path = tmp_path / ".guardian.toml"
    path.write_text(text)
    # Found from a directory above it: the path is shown as typed from there.
    monkeypatch.chdir(tmp_path.parent)
    with pytest.raises(ConfigError) as info:
        load_policy(start=str(tmp_path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path.name}/.guardian.toml: ")
    assert key in message
    assert problem in message


def test_extend_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extend = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extend = "a.toml"\n')
    (tmp_path / ".guardian.toml").write_text('extend = "a.toml"\n')
    with pytest.raises(ConfigError, match="cycle"):
        load_policy(start=str(tmp_path))


@pytest.mark.parametrize(("text", "key", "problem"), BAD_CONFIGS[:6])
def test_cli_exits_2_with_one_line_and_no_traceback(repo: Repo, text: str, key: str, problem: str) -> None:
    repo.write(".gitignore", GOOD_GITIGNORE)
    repo.write(".guardian.toml", text)
    repo.commit()
    result = repo.guardian("check")
    assert result.code == 2, result
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1, result
    assert ".guardian.toml" in result.err and key in result.err
    assert "Traceback" not in result.err


def test_non_utf8_config_is_a_clean_error(repo: Repo) -> None:
    repo.write(".guardian.toml", b'[rules.max-file-size]\nlimit = "1 MiB" # caf\xe9\n')
    result = repo.guardian("check")
    assert result.code == 2 and "UTF-8" in result.err and "Traceback" not in result.err


toml_values = st.one_of(
    st.integers(-5, 10**9),
    st.booleans(),
    st.text(max_size=8),
    st.lists(st.text(max_size=6), max_size=3),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2),
)
rule_ids = st.sampled_from(
    ["max-file-size", "gitignore-required", "forbidden-import", "windows-path", "dir-budget", "bogus"]
)
rule_keys = st.sampled_from(["enabled", "severity", "exclude", "limit", "patterns", "banned", "budgets", "other"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(rule_ids, st.dictionaries(rule_keys, toml_values, max_size=3), max_size=3))
def test_any_rules_table_builds_a_policy_or_raises_config_error(rules: dict[str, dict[str, object]]) -> None:
    try:
        policy = build_policy({"rules": rules}, "generated.toml")
    except ConfigError as exc:
        assert str(exc).startswith("generated.toml")
        assert "\n" not in str(exc)
    else:
        for rule in policy.rules:
            assert rule.severity in ("error", "warning")


def test_an_error_in_an_extended_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text('[rules.max-file-size]\nlimit = "1 MQ"\n')
    (tmp_path / ".guardian.toml").write_text('extend = "base.toml"\n')
    with pytest.raises(ConfigError) as info:
        load_policy(start=str(tmp_path))
    assert info.value.source.endswith("base.toml")
    assert info.value.key == "rules.max-file-size.limit"


def test_pyproject_errors_name_the_key_as_written_there(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.guardian.rules.windows-path]\nseverity = "loud"\n')
    with pytest.raises(ConfigError) as info:
        load_policy(start=str(tmp_path))
    assert info.value.key == "tool.guardian.rules.windows-path.severity"


def test_option_tables_replace_the_inherited_table(tmp_path: Path) -> None:
    (tmp_path / ".guardian.toml").write_text('[rules.forbidden-import.banned]\nlegacy = "modern"\n')
    imports = load_policy(start=str(tmp_path)).rule("forbidden-import")
    assert imports is not None and imports.settings["banned"] == {"legacy": "modern"}


def test_a_config_outside_the_current_directory_is_shown_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".guardian.toml").write_text("colour = 1\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    with pytest.raises(ConfigError) as info:
        load_policy(start=str(sub))
    assert str(info.value).startswith(str(tmp_path / ".guardian.toml") + ": colour: unknown key")
