"""NIT helpers for parsing: the check digit itself lives in organizations.nit (pure, no Django)."""

from __future__ import annotations

from organizations.nit import nit_check_digit as _check_digit_of_digits


def nit_check_digit(nit: str) -> int:
    """Return the DIAN check digit of a NIT written with or without dots and "-DV"."""
    return _check_digit_of_digits(normalize_nit(nit))


def normalize_nit(value: str) -> str:
    """Keep only the NIT's digits, dropping dots, spaces and a trailing "-DV" check digit."""
    text = value.strip()
    if text.isdigit() and text.isascii():
        return text
    if "-" in text:
        text = text.split("-", 1)[0]
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())
