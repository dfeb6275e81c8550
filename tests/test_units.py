from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardian.units import format_size, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 MiB", 1024**2),
        ("1MiB", 1024**2),
        ("1 MB", 1000**2),
        ("500 KB", 500_000),
        ("500 kib", 512_000),
        ("2 GiB", 2 * 1024**3),
        ("3 GB", 3 * 1000**3),
        ("1.5 MiB", 1536 * 1024),
        ("123", 123),
        ("123 B", 123),
        ("1_000 KB", 1_000_000),
        (1048576, 1048576),
    ],
)
def test_sizes_as_people_write_them(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["1 MQ", "MiB", "", "-1 MB", "one MB", True, 1.5, None, -4, "nan MB", "inf KB"])
def test_bad_sizes_raise_a_readable_error(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        parse_size(bad)
    assert str(info.value)


units = st.sampled_from(["B", "KB", "MB", "GB", "KiB", "MiB", "GiB"])
factors = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


@given(st.integers(min_value=0, max_value=10**6), units, st.sampled_from(["", " ", "  "]), st.booleans())
def test_integer_amount_times_unit(amount: int, unit: str, space: str, lower: bool) -> None:
    written = f"{amount}{space}{unit.lower() if lower else unit}"
    assert parse_size(written) == amount * factors[unit]


@given(st.text(max_size=12))
def test_any_text_either_parses_or_raises_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        assert parse_size(text) >= 0


@given(st.integers(min_value=0, max_value=2**50))
def test_format_size_is_close_to_the_value(n: int) -> None:
    shown = format_size(n)
    number, unit = shown.split()
    back = parse_size(f"{number} {unit}")
    assert abs(back - n) <= max(0.05 * n, 1)
