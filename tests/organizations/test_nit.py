"""The one NIT module: DIAN's check digit, and the strict and lenient readings."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from organizations.nit import (
    format_nit,
    nit_check_digit,
    normalize_nit,
    search_nit,
    split_nit,
    written_nit_check_digit,
)


@pytest.mark.parametrize(
    ("nit", "digit"),
    [
        ("900123456", 8),
        ("800197268", 4),
        ("830003564", 7),
        ("901019681", 8),
        ("42081594", 2),
        ("1004994836", 0),
        ("1088312295", 6),
        ("900630128", 1),
        # Remainder 1 keeps digit 1 (not 11 - 1 = 10); remainder 10 gives 11 - 10 = 1.
        ("900000002", 1),
        ("900000017", 1),
        ("800000004", 1),
    ],
)
def test_check_digit_matches_dian(nit, digit):
    assert nit_check_digit(nit) == digit


def test_split_accepts_dots_and_digit():
    assert split_nit("900.123.456-8") == ("900123456", 8)
    assert split_nit("900123456") == ("900123456", None)


@pytest.mark.parametrize("value", ["", None, "abc", "900123456-", "90012-3456-8-1", "...."])
def test_split_refuses_garbage(value):
    with pytest.raises(ValueError, match="NIT inválido"):
        split_nit(value)


@pytest.mark.parametrize("nit", ["1" * 16, "90012345a", "", "900 123"])
def test_check_digit_refuses_what_is_not_a_nit_of_at_most_fifteen_digits(nit):
    with pytest.raises(ValueError, match="NIT inválido"):
        nit_check_digit(nit)


@pytest.mark.parametrize("nit", ["900000002", "900000017", "900000021"])
def test_a_remainder_of_one_gives_check_digit_one(nit):
    """DIAN: remainders 0 and 1 are the digit itself; about one NIT in eleven lands on 1."""
    weights = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)
    assert sum(int(d) * w for d, w in zip(reversed(nit), weights, strict=False)) % 11 == 1
    assert nit_check_digit(nit) == 1


def _dian_published_digit(nit: str) -> int:
    """DIAN's form as published: the NIT padded to 15 places against the primes 71 … 3."""
    primes = [71, 67, 59, 53, 47, 43, 41, 37, 29, 23, 19, 17, 13, 7, 3]
    remainder = sum(int(d) * p for d, p in zip(nit.zfill(15), primes, strict=True)) % 11
    return 11 - remainder if remainder > 1 else remainder


@given(st.from_regex(r"\A[0-9]{1,15}\Z"))
def test_check_digit_agrees_with_dians_published_form(nit):
    assert nit_check_digit(nit) == _dian_published_digit(nit)


# --- as written in documents (lenient) ---


def test_check_digit_ignores_formatting() -> None:
    """The algorithm is tested above; the parser feeds it any spelling."""
    assert written_nit_check_digit("900.123.456-8") == written_nit_check_digit(" 900123456 ") == 8


@pytest.mark.parametrize("bad", ["", "abc", "1234567890123456"])
def test_invalid_nit_raises(bad: str) -> None:
    with pytest.raises(ValueError, match="NIT inválido"):
        written_nit_check_digit(bad)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("900123456", "900123456"), (" 900.123.456-8 ", "900123456"), ("830 003 564", "830003564")],
)
def test_normalize_nit(raw: str, expected: str) -> None:
    assert normalize_nit(raw) == expected


@pytest.mark.parametrize(
    ("digits", "digit", "written"),
    [
        ("900123456", 8, "900.123.456-8"),
        ("42081594", 2, "42.081.594-2"),
        ("1004994836", 0, "1.004.994.836-0"),
        ("830", 1, "830-1"),
    ],
)
def test_format_writes_it_as_colombians_do(digits: str, digit: int, written: str) -> None:
    assert format_nit(digits, digit) == written


@given(st.from_regex(r"[1-9][0-9]{2,14}", fullmatch=True), st.integers(0, 9))
def test_a_formatted_nit_reads_back_as_itself(digits: str, digit: int) -> None:
    assert split_nit(format_nit(digits, digit)) == (digits, digit)


@pytest.mark.parametrize(
    ("term", "nit"),
    [
        ("900123456", "900123456"),
        ("900123456-8", "900123456"),
        ("900.123.456-8", "900123456"),
        ("900.123.456", "900123456"),
        ("12345", "12345"),
        ("1.234", "1234"),
        # A short number is a document's, a name is a name: searched as such.
        ("1234", None),
        ("FE1001", None),
        ("Andina", None),
        ("900123456-", None),
        ("900.12.456", None),
        ("900123456 8", None),
    ],
)
def test_search_reads_a_term_as_a_nit_only_when_it_looks_like_one(
    term: str, nit: str | None
) -> None:
    assert search_nit(term) == nit
