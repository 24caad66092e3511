"""Back office hears of the signing certificate's expiry before DIAN starts rejecting events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from django_q.models import Schedule

from invoices.radian_services import (
    NOTIFY_CERTIFICATES,
    RETRY_DUE,
    dian_certificates_notify_expiring,
)
from tests.invoices.radian.helpers import configure_dian

pytestmark = pytest.mark.django_db


@pytest.fixture
def credentials(org_a, alice, bob, dian_signing_ca):
    return configure_dian(org_a, dian_signing_ca)


def expiring_on(credentials, day: dt.date) -> None:
    credentials.certificate_not_after = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    credentials.save(update_fields=["certificate_not_after"])


def test_configuring_dian_creates_its_schedules_once(credentials, org_a, dian_signing_ca):
    configure_dian(org_a, dian_signing_ca)
    names = list(Schedule.objects.values_list("name", flat=True))
    assert sorted(names) == sorted([RETRY_DUE, NOTIFY_CERTIFICATES])


def test_back_office_is_warned_once_before_expiry(credentials, settings, alice) -> None:
    settings.DIAN_CERTIFICATE_WARNING_DAYS = 30
    today = dt.date(2026, 3, 2)
    expiring_on(credentials, today + dt.timedelta(days=31))
    assert dian_certificates_notify_expiring(today=today) == {"warned": 0, "expired": 0}
    expiring_on(credentials, today + dt.timedelta(days=30))
    assert dian_certificates_notify_expiring(today=today) == {"warned": 1, "expired": 0}
    assert dian_certificates_notify_expiring(today=today) == {"warned": 0, "expired": 0}
    assert [message.to for message in mail.outbox] == [[alice.email]]  # Back office only
    assert "vence pronto" in mail.outbox[0].subject


def test_back_office_is_told_when_it_expired(credentials, alice) -> None:
    today = dt.date(2026, 3, 2)
    expiring_on(credentials, today - dt.timedelta(days=1))
    assert dian_certificates_notify_expiring(today=today) == {"warned": 0, "expired": 1}
    assert dian_certificates_notify_expiring(today=today) == {"warned": 0, "expired": 0}
    assert "venció" in mail.outbox[0].subject
