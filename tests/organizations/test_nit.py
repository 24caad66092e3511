import pytest

from organizations.nit import nit_check_digit, split_nit


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
    ],
)
def test_check_digit_matches_dian(nit, digit):
    assert nit_check_digit(nit) == digit


def test_split_accepts_dots_and_digit():
    assert split_nit("900.123.456-8") == ("900123456", 8)
    assert split_nit("900123456") == ("900123456", None)


@pytest.mark.parametrize("value", ["", "abc", "900123456-", "90012-3456-8-1"])
def test_split_refuses_garbage(value):
    with pytest.raises(ValueError):
        split_nit(value)
