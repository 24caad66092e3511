"""Settings refuse to start on a value that would only fail later, far from its cause, and every
variable they read is documented where an operator looks."""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.config.conftest import ROOT, SETTINGS, STRONG_KEY


def production(**extra: str) -> dict[str, str]:
    return {
        "DEBUG": "False",
        "SECRET_KEY": "s" + STRONG_KEY[::-1] * 2,
        "RECEPTION_ENCRYPTION_KEY": STRONG_KEY,
        "SITE_URL": "https://recepcion.example.com",
        **extra,
    }


def test_it_refuses_to_start_without_site_url_in_production(load_settings, monkeypatch):
    monkeypatch.delenv("SITE_URL", raising=False)
    environment = production()
    del environment["SITE_URL"]
    with pytest.raises(ImproperlyConfigured, match="SITE_URL must be set when DEBUG is off"):
        load_settings(**environment)


def test_development_links_point_at_the_local_server(load_settings, monkeypatch):
    monkeypatch.delenv("SITE_URL", raising=False)
    assert load_settings(DEBUG="True")["SITE_URL"] == "http://127.0.0.1:8000"


def test_production_takes_the_site_url_it_is_given(load_settings):
    loaded = load_settings(**production(SITE_URL="https://recepcion.example.com/"))
    assert loaded["SITE_URL"] == "https://recepcion.example.com"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECEPTION_FETCH_BATCH_SIZE", "0"),
        ("RECEPTION_FETCH_BATCH_SIZE", "-5"),
        ("RECEPTION_MAX_MESSAGES_PER_RUN", "0"),
        ("RECEPTION_MAX_MESSAGE_BYTES", "0"),
        ("RECEPTION_PARSE_PROCESSES", "0"),
        ("RECEPTION_NETWORK_TIMEOUT", "0"),
        ("RECEPTION_FETCH_INTERVAL_MINUTES", "0"),
        ("RECEPTION_SECRET_WARNING_DAYS", "-1"),
        ("RECEPTION_TRANSIENT_FAILURES_TO_INACTIVATE", "0"),
        ("RECEPTION_TRANSIENT_FAILURE_WINDOW_HOURS", "-1"),
        ("RECEPTION_BACKUP_CONFIRMATION_DAYS", "0"),
        ("Q_WORKERS", "0"),
        ("Q_TASK_TIMEOUT", "0"),
        ("CONN_MAX_AGE", "-1"),
        ("SECURE_HSTS_SECONDS", "-1"),
        ("TRUSTED_PROXY_COUNT", "-1"),
        ("LOGIN_FAILURE_LIMIT", "0"),
        ("LOGIN_LOCKOUT_MINUTES", "0"),
    ],
)
def test_it_refuses_a_number_out_of_range_naming_it(load_settings, monkeypatch, name, value):
    monkeypatch.delenv(name, raising=False)
    with pytest.raises(ImproperlyConfigured) as refusal:
        load_settings(**production(**{name: value}))
    assert str(refusal.value).startswith(f"{name} must be ")
    assert f"not {value}" in str(refusal.value) or f"not {float(value)}" in str(refusal.value)


def test_a_number_in_range_is_taken(load_settings, monkeypatch):
    monkeypatch.delenv("RECEPTION_FETCH_BATCH_SIZE", raising=False)
    loaded = load_settings(**production(RECEPTION_FETCH_BATCH_SIZE="1"))
    assert loaded["RECEPTION_FETCH_BATCH_SIZE"] == 1


def test_the_task_timeout_sets_both_the_timeout_and_the_retry(load_settings, monkeypatch):
    monkeypatch.delenv("Q_TASK_TIMEOUT", raising=False)
    cluster = load_settings(**production(Q_TASK_TIMEOUT="600"))["Q_CLUSTER"]
    assert (cluster["timeout"], cluster["retry"]) == (600, 900)


def _variables_read() -> set[str]:
    source = SETTINGS.read_text(encoding="utf-8")
    names = set(re.findall(r"\benv(?:\.\w+|_int|_float)\(\s*\"([A-Z][A-Z0-9_]+)\"", source))
    assert {"DEBUG", "SITE_URL", "RECEPTION_FETCH_BATCH_SIZE", "Q_TASK_TIMEOUT"} <= names
    return names


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_variable_is_documented(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    missing = sorted(name for name in _variables_read() if not re.search(rf"\b{name}\b", text))
    assert missing == []
