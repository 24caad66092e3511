"""Loading the settings module afresh with a given environment, as a server started with it."""

import runpy
from pathlib import Path

import environ
import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "config" / "settings.py"
STRONG_KEY = "pV3-kq9ZtW2m_Rx7LsB4nYc8dHf6JgA1eUo5"
#: Everything these tests set; cleared first so the suite's own environment decides nothing.
VARIABLES = [
    "DEBUG",
    "SECRET_KEY",
    "RECEPTION_ENCRYPTION_KEY",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_COOKIES",
    "TRUSTED_PROXY_COUNT",
]


@pytest.fixture
def load_settings(monkeypatch, tmp_path):
    """load_settings(NAME=value, ...) -> the settings module's names, as a server would get."""
    # A developer's .env (make run writes one with DEBUG on) must not decide these tests.
    monkeypatch.setattr(environ.Env, "read_env", lambda *args, **kwargs: None)

    def load(**env: str) -> dict:
        for name in VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("VAR_DIR", str(tmp_path))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS))

    return load
