"""The admin login is rate-limited per user and address, and says so in Spanish."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from tests.conftest import PASSWORD

LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")


def log_in(client, username, password, **headers):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": INDEX}, **headers
    )


def fail_until_locked(client, username, settings, **headers):
    """The failures the limit allows, then the one that locks; returns that last answer."""
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = log_in(client, username, "contraseña equivocada", **headers)
        assert response.status_code == 200  # the login form again, with its error
    return log_in(client, username, "contraseña equivocada", **headers)


def assert_locked_out(response):
    assert response.status_code == 429
    page = response.content.decode()
    assert "Acceso bloqueado temporalmente" in page
    assert "Demasiados intentos fallidos" in page
    assert "_auth_user_id" not in response.wsgi_request.session


@pytest.mark.django_db
def test_it_locks_the_login_after_repeated_failures(client, alice, settings):
    assert_locked_out(fail_until_locked(client, "alice", settings))


@pytest.mark.django_db
def test_the_right_password_is_refused_during_the_lockout(client, alice, settings):
    fail_until_locked(client, "alice", settings)
    assert_locked_out(log_in(client, "alice", PASSWORD))
    assert client.get(INDEX).status_code == 302  # still not logged in


@pytest.mark.django_db
def test_other_users_and_addresses_are_not_locked(client, alice, charlie, settings):
    fail_until_locked(client, "alice", settings)
    assert log_in(client, "charlie", PASSWORD).status_code == 302
    client.logout()
    # The lock is keyed by user and address: alice elsewhere is not blocked by this attacker.
    assert log_in(client, "alice", PASSWORD, REMOTE_ADDR="198.51.100.9").status_code == 302


@pytest.mark.django_db
def test_the_lockout_ends_after_the_cool_off(client, alice, settings):
    with time_machine.travel(datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)) as clock:
        fail_until_locked(client, "alice", settings)
        clock.shift(settings.AXES_COOLOFF_TIME + datetime.timedelta(minutes=1))
        assert log_in(client, "alice", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_without_a_trusted_proxy_a_forged_forwarded_address_changes_nothing(
    client, alice, settings
):
    settings.TRUSTED_PROXY_COUNT = 0
    fail_until_locked(client, "alice", settings, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert_locked_out(log_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9"))


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_address_it_saw_is_the_key(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    fail_until_locked(client, "alice", settings, HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)
    # The attacker cannot step out of the lock by prepending an address of his choice...
    assert_locked_out(
        log_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.5", **proxy)
    )
    # ...and alice, behind the same proxy from her own address, is not locked by him.
    response = log_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy)
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_test_clients_login_passes_through_the_lockout_check(client, alice):
    assert client.login(username="alice", password=PASSWORD)
    assert client.get(INDEX).status_code == 200
