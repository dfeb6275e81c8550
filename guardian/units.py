"""Byte sizes as people write them: ``1 MiB``, ``500KB``, ``1048576``."""

from __future__ import annotations

#: The largest size a file system, git or SQLite can count (2**63 - 1).
MAX_SIZE = (1 << 63) - 1

_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def parse_size(value: object) -> int:
    """Bytes for an int or a string such as ``"1 MiB"`` or ``"1.5MB"``.

    Decimal units (KB, MB, GB) are powers of 1000 and binary units (KiB, MiB,
    GiB) powers of 1024, as the SI and IEC define them. Raises ValueError with
    a message fit for a configuration error.
    """
    if isinstance(value, bool):
        raise ValueError('expected a size such as 1048576 or "1 MiB", got a boolean')
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative ({value})")
        if value > MAX_SIZE:
            raise ValueError(f"a size of {value} bytes is more than any file can hold (at most {MAX_SIZE})")
        return value
    if not isinstance(value, str):
        raise ValueError(f'expected a size such as 1048576 or "1 MiB", got {type(value).__name__}')
    text = value.strip().replace("_", "")
    i = len(text)
    while i and text[i - 1].isalpha():
        i -= 1
    number, unit = text[:i].strip(), text[i:].lower() or "b"
    if unit not in _UNITS:
        raise ValueError(f"unknown size unit {text[i:]!r} in {value!r}; use B, KB, MB, GB, KiB, MiB or GiB")
    try:
        amount = float(number) if "." in number else int(number)
    except ValueError:
        raise ValueError(f'cannot read {value!r} as a size; write it like "1 MiB" or "500 KB"') from None
    if amount < 0 or amount != amount or amount == float("inf"):
        raise ValueError(f"a size must be a finite number of bytes, not {value!r}")
    size = amount * _UNITS[unit]
    if size > MAX_SIZE:  # also an infinite product, "1.0e308 TiB"
        raise ValueError(f"{value!r} is more than any file can hold (at most {MAX_SIZE} bytes)")
    return int(size)


def format_size(n: int) -> str:
    """Short human size in binary units: ``1.0 MiB``, ``312 B``."""
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")
