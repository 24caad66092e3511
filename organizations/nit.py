"""DIAN's NIT check digit (modulo 11). Pure: parsing code outside Django reuses it."""

import re

_WEIGHTS = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)
#: ASCII digits only: other scripts' digits pass `isdigit()` but are no NIT.
_NIT_WITH_DIGIT = re.compile(r"^\s*(?P<nit>[\d.]{3,18})(?:\s*-\s*(?P<dv>\d))?\s*$", re.ASCII)


def nit_check_digit(nit: str) -> int:
    """Return the verification digit DIAN computes for `nit` (digits only)."""
    if not nit.isdigit() or len(nit) > len(_WEIGHTS):
        raise ValueError(f"NIT inválido: {nit!r}")
    total = sum(int(d) * w for d, w in zip(reversed(nit), _WEIGHTS, strict=False))
    remainder = total % 11
    return remainder if remainder in (0, 1) else 11 - remainder


def split_nit(value: str) -> tuple[str, int | None]:
    """Split '900.123.456-8' into ('900123456', 8); the digit is None when not written."""
    match = _NIT_WITH_DIGIT.match(value or "")
    if not match:
        raise ValueError(f"NIT inválido: {value!r}")
    digits = match["nit"].replace(".", "")
    if not digits.isdigit():
        raise ValueError(f"NIT inválido: {value!r}")
    return digits, int(match["dv"]) if match["dv"] is not None else None
