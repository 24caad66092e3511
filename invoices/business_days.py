"""Colombian business days and the tacit-acceptance deadline of an invoice.

An invoice is tacitly accepted when the buyer neither accepts nor claims it within three business
days after receiving the goods or the service (Código de Comercio art. 773; Decreto 1074 de 2015
art. 2.2.2.53.4). Business days exclude Saturdays, Sundays and Colombian public holidays, which
move every year (Ley Emiliani, Semana Santa), so they come from the `holidays` package.
"""

import datetime
from functools import lru_cache

TACIT_ACCEPTANCE_BUSINESS_DAYS = 3


@lru_cache(maxsize=32)
def _colombian_holidays(year: int) -> frozenset[datetime.date]:
    # Imported on first use: every command and worker that loads the admin would otherwise pay
    # ~25 ms for it, and most (a fetch, a check) never count a business day.
    import holidays

    return frozenset(holidays.country_holidays("CO", years=year))


def is_business_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in _colombian_holidays(day.year)


def add_business_days(start: datetime.date, days: int) -> datetime.date:
    """The `days`-th business day after `start` (`start` itself never counts)."""
    if days < 0:
        raise ValueError("days must be zero or more")
    day = start
    counted = 0
    while counted < days:
        day += datetime.timedelta(days=1)
        if is_business_day(day):
            counted += 1
    return day


def business_days_between(start: datetime.date, end: datetime.date) -> int:
    """Business days in (start, end]; negative when `end` is before `start`."""
    if end < start:
        return -business_days_between(end, start)
    count = 0
    day = start
    while day < end:
        day += datetime.timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count


def tacit_acceptance_deadline(goods_received_on: datetime.date) -> datetime.date:
    """Last day to accept or claim an invoice whose goods or service arrived that day."""
    return add_business_days(goods_received_on, TACIT_ACCEPTANCE_BUSINESS_DAYS)


def business_days_left(deadline: datetime.date, *, today: datetime.date) -> int:
    """0 on the deadline itself, negative once it has passed (the invoice is tacitly accepted)."""
    return business_days_between(today, deadline)


def goods_received_window(
    *, today: datetime.date, within_business_days: int
) -> tuple[datetime.date, datetime.date]:
    """Receipt dates whose deadline falls between today and `within_business_days` from today.

    The deadline never decreases as the receipt date grows, so the answer is one closed range of
    dates; the list filter turns it into a range on `goods_received_at`, which the database can
    use directly instead of evaluating holidays row by row. The range is empty (latest before
    earliest) when no deadline can fall in the window. Receipts before `earliest` are overdue.
    """
    one_day = datetime.timedelta(days=1)
    last_deadline = add_business_days(today, within_business_days)
    earliest = today
    while tacit_acceptance_deadline(earliest - one_day) >= today:
        earliest -= one_day
    latest = earliest - one_day
    while tacit_acceptance_deadline(latest + one_day) <= last_deadline:
        latest += one_day
    return earliest, latest
