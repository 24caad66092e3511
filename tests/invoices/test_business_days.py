"""Colombian business days: weekends and public holidays never count."""

import bisect
import datetime
import functools

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoices.business_days import (
    add_business_days,
    business_days_between,
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


# --- Properties across years of holidays, against an independent formulation -----------------
# The calendar below is built once for the whole span: every weekday that is no Colombian holiday,
# in order. The n-th business day after a date is then an index away, and the days between two
# dates a difference of two indexes: no day-by-day loop, no per-year cache.

_FIRST, _LAST = D(1999, 1, 1), D(2061, 12, 31)
_DATES = st.dates(min_value=D(2000, 1, 10), max_value=D(2060, 12, 10))


@functools.cache
def _calendar() -> list[datetime.date]:
    days_off = holidays.Colombia(years=range(_FIRST.year, _LAST.year + 1))
    span = (_LAST - _FIRST).days + 1
    every_day = (_FIRST + datetime.timedelta(days=n) for n in range(span))
    return [day for day in every_day if day.isoweekday() <= 5 and day not in days_off]


def _nth_business_day_after(start: datetime.date, n: int) -> datetime.date:
    calendar = _calendar()
    return calendar[bisect.bisect_right(calendar, start) + n - 1]


def _business_days_in(start: datetime.date, end: datetime.date) -> int:
    calendar = _calendar()
    return bisect.bisect_right(calendar, end) - bisect.bisect_right(calendar, start)


@given(_DATES)
def test_the_deadline_is_the_third_business_day_after_receipt_in_any_year(received) -> None:
    assert tacit_acceptance_deadline(received) == _nth_business_day_after(received, 3)


@given(_DATES, st.integers(min_value=0, max_value=40))
def test_adding_business_days_matches_the_calendar(start, days) -> None:
    expected = _nth_business_day_after(start, days) if days else start
    assert add_business_days(start, days) == expected


@given(_DATES, st.integers(min_value=-120, max_value=120))
def test_days_left_count_the_business_days_between_in_either_direction(today, offset) -> None:
    deadline = today + datetime.timedelta(days=offset)
    expected = (
        _business_days_in(today, deadline)
        if today <= deadline
        else -_business_days_in(deadline, today)
    )
    assert business_days_left(deadline, today=today) == expected
    assert business_days_between(today, deadline) == expected


@given(_DATES, st.integers(min_value=0, max_value=10))
def test_the_receipt_window_holds_exactly_the_deadlines_due_in_it(today, within) -> None:
    earliest, latest = goods_received_window(today=today, within_business_days=within)
    last_deadline = add_business_days(today, within)
    one_day = datetime.timedelta(days=1)
    for offset in range(-12, 12):
        received = today + datetime.timedelta(days=offset)
        due_in_window = today <= _nth_business_day_after(received, 3) <= last_deadline
        assert (earliest <= received <= latest) is due_in_window, received
    if latest >= earliest:
        assert _nth_business_day_after(earliest - one_day, 3) < today
        assert _nth_business_day_after(latest + one_day, 3) > last_deadline
