"""The NIT, Colombia's tax identification number: the one place that reads and checks it.

Pure (no Django), so every layer may use it: the organizations' forms, DIAN document parsing
and the workspace search. Three readings, each for a reason:
- `split_nit`: what a person types for their own organization, strictly ('900.123.456-8',
  '900123456-8' or '900123456', the check digit then maybe in a field of its own);
- `normalize_nit`: what a supplier's software wrote in a document, leniently (its digits);
- `search_nit`: whether a search term looks like a NIT at all (else it is a number or a name).
`format_nit` shows it as Colombians write it.
"""

from __future__ import annotations

import re

_WEIGHTS = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)
#: ASCII digits only: other scripts' digits pass `isdigit()` but are no NIT. Up to 19 characters:
#: the longest NIT, 15 digits, written in groups ('123.456.789.012.345').
_NIT_WITH_DIGIT = re.compile(r"^\s*(?P<nit>[\d.]{3,19})(?:\s*-\s*(?P<dv>\d))?\s*$", re.ASCII)
#: Five digits or more, or digits grouped by dots, with an optional "-DV": a document number
#: that short, or a name, is searched as such instead.
_NIT_TERM = re.compile(r"(\d{5,15}|\d{1,3}(?:\.\d{3})+)(?:-\d)?")


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


def format_nit(digits: str, check_digit: int) -> str:
    """The NIT the Colombian way: '900123456', 8 -> '900.123.456-8'."""
    groups = []
    while digits:
        digits, group = digits[:-3], digits[-3:]
        groups.insert(0, group)
    return f"{'.'.join(groups)}-{check_digit}"


def normalize_nit(value: str) -> str:
    """Keep only the NIT's digits, dropping dots, spaces and a trailing "-DV" check digit."""
    text = value.strip()
    if text.isdigit() and text.isascii():
        return text
    if "-" in text:
        text = text.split("-", 1)[0]
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def written_nit_check_digit(value: str) -> int:
    """The DIAN check digit of a NIT written with or without dots and "-DV"."""
    return nit_check_digit(normalize_nit(value))


def search_nit(term: str) -> str | None:
    """The NIT's digits when a search term looks like one, else None."""
    if not _NIT_TERM.fullmatch(term):
        return None
    return term.split("-")[0].replace(".", "")
