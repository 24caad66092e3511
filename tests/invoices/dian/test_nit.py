import pytest

from invoices.dian.nit import nit_check_digit, normalize_nit


def test_check_digit_ignores_formatting() -> None:
    """The algorithm is organizations.nit's (tested there); the parser feeds it any spelling."""
    assert nit_check_digit("900.123.456-8") == nit_check_digit(" 900123456 ") == 8


@pytest.mark.parametrize("bad", ["", "abc", "1234567890123456"])
def test_invalid_nit_raises(bad: str) -> None:
    with pytest.raises(ValueError, match="NIT inválido"):
        nit_check_digit(bad)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("900123456", "900123456"), (" 900.123.456-8 ", "900123456"), ("830 003 564", "830003564")],
)
def test_normalize_nit(raw: str, expected: str) -> None:
    assert normalize_nit(raw) == expected
