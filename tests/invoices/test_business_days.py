"""Colombian business days: weekends and public holidays never count."""

import datetime

import pytest

from invoices.business_days import (
    add_business_days,
    business_days_left,
    goods_received_window,
    is_business_day,
    tacit_acceptance_deadline,
)

D = datetime.date


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 3, 4), True),  # Wednesday
        (D(2026, 3, 7), False),  # Saturday
        (D(2026, 3, 8), False),  # Sunday
        (D(2026, 1, 12), False),  # Reyes Magos, moved to Monday
        (D(2026, 4, 2), False),  # Jueves Santo
        (D(2026, 4, 3), False),  # Viernes Santo
        (D(2026, 12, 8), False),  # Inmaculada Concepción, a Tuesday
        (D(2026, 1, 6), True),  # the Epiphany's own date is a working Tuesday
    ],
)
def test_it_knows_colombian_business_days(day, expected):
    assert is_business_day(day) is expected


def test_it_counts_three_business_days_within_a_week():
    assert tacit_acceptance_deadline(D(2026, 3, 2)) == D(2026, 3, 5)  # Mon → Thu


def test_it_skips_the_weekend():
    assert tacit_acceptance_deadline(D(2026, 3, 5)) == D(2026, 3, 10)  # Thu → Tue


def test_it_skips_a_holiday_moved_to_monday():
    # Friday 9 January 2026; Monday 12 is Reyes Magos.
    assert tacit_acceptance_deadline(D(2026, 1, 9)) == D(2026, 1, 15)


def test_it_skips_semana_santa():
    # Wednesday 1 April 2026; Thursday 2 and Friday 3 are Semana Santa.
    assert tacit_acceptance_deadline(D(2026, 4, 1)) == D(2026, 4, 8)


def test_it_skips_the_immaculate_conception():
    assert tacit_acceptance_deadline(D(2026, 12, 7)) == D(2026, 12, 11)


def test_it_starts_counting_after_a_receipt_on_a_weekend():
    assert tacit_acceptance_deadline(D(2026, 3, 7)) == D(2026, 3, 11)  # Sat → Wed


def test_it_crosses_the_year_end_holidays():
    # Wednesday 30 December 2026; 1 January 2027 is a holiday, then a weekend.
    assert tacit_acceptance_deadline(D(2026, 12, 30)) == D(2027, 1, 5)


def test_it_refuses_negative_days():
    with pytest.raises(ValueError, match="zero or more"):
        add_business_days(D(2026, 3, 2), -1)


def test_it_counts_days_left_zero_on_the_deadline_and_negative_after():
    deadline = D(2026, 1, 15)
    assert business_days_left(deadline, today=D(2026, 1, 9)) == 3
    assert business_days_left(deadline, today=D(2026, 1, 12)) == 3  # holiday: nothing spent
    assert business_days_left(deadline, today=D(2026, 1, 14)) == 1
    assert business_days_left(deadline, today=deadline) == 0
    assert business_days_left(deadline, today=D(2026, 1, 16)) == -1


def test_it_finds_the_receipts_whose_deadline_is_today_or_the_next_business_day():
    today = D(2026, 3, 12)  # Thursday
    earliest, latest = goods_received_window(today=today, within_business_days=1)
    # Deadline Thursday 12 ← receipt Monday 9; Friday 13 ← Tuesday 10; the weekend before → 11.
    assert (earliest, latest) == (D(2026, 3, 9), D(2026, 3, 10))
    assert tacit_acceptance_deadline(earliest - datetime.timedelta(days=1)) < today


def test_it_finds_an_empty_window_when_no_deadline_can_fall_in_it():
    earliest, latest = goods_received_window(today=D(2026, 3, 7), within_business_days=0)
    assert latest < earliest
