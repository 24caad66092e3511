"""Colombian NIT helpers (DIAN modulo-11 check digit), pure so every layer can share them."""

from __future__ import annotations

# DIAN weights, applied from the rightmost digit of the NIT leftwards.
_WEIGHTS = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)


def nit_check_digit(nit: str) -> int:
    """Return the DIAN check digit (dígito de verificación) of a NIT given as digits."""
    digits = normalize_nit(nit)
    if not digits or len(digits) > len(_WEIGHTS):
        raise ValueError(f"NIT inválido: {nit!r}")
    total = sum(
        int(digit) * weight for digit, weight in zip(reversed(digits), _WEIGHTS, strict=False)
    )
    remainder = total % 11
    return remainder if remainder < 2 else 11 - remainder


def normalize_nit(value: str) -> str:
    """Keep only the NIT's digits, dropping dots, spaces and a trailing "-DV" check digit."""
    text = value.strip()
    if text.isdigit() and text.isascii():
        return text
    if "-" in text:
        text = text.split("-", 1)[0]
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())
