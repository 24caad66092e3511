import pytest


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The personas log in many times; a slow hasher would only slow the suite down."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
