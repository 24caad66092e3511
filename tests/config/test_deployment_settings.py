"""Production posture read from the environment: keys, HTTPS, proxies, `check --deploy`.

The settings module is executed afresh with a given environment (in this process, or in a
`manage.py` child for the deploy check), so each test sees what a server started with that
environment would.
"""

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from tests.config.conftest import ROOT, STRONG_KEY


def production(**extra: str) -> dict[str, str]:
    return {"DEBUG": "False", "SECRET_KEY": "s" + STRONG_KEY[::-1] * 2, **extra}


@pytest.mark.parametrize(
    "key",
    [
        "y",
        "short-but-random-9Qz",
        "a" * 40,
        "abcd1234" * 5,
        "0123456789abcdef" * 2,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbb",
        "dev-only-encryption-key-not-for-production",
    ],
)
def test_it_refuses_a_weak_encryption_key_in_production(load_settings, key):
    with pytest.raises(ImproperlyConfigured) as refusal:
        load_settings(**production(RECEPTION_ENCRYPTION_KEY=key))
    message = str(refusal.value)
    assert "RECEPTION_ENCRYPTION_KEY" in message
    if len(key) > 1:
        assert key not in message  # the key itself is never echoed


def test_it_names_the_rule_a_short_key_breaks(load_settings):
    with pytest.raises(ImproperlyConfigured, match="at least 32 characters"):
        load_settings(**production(RECEPTION_ENCRYPTION_KEY="y"))


def test_it_accepts_a_generated_encryption_key(load_settings):
    for key in [STRONG_KEY, secrets.token_urlsafe(24), secrets.token_hex(16)]:
        loaded = load_settings(**production(RECEPTION_ENCRYPTION_KEY=key))
        assert loaded["CRYPTOGRAPHY_KEY"] == key


def test_development_keeps_its_embedded_keys(load_settings):
    loaded = load_settings(DEBUG="True")
    assert loaded["RECEPTION_ENCRYPTION_KEY"] == loaded["DEV_ENCRYPTION_KEY"]
    assert loaded["SECURE_SSL_REDIRECT"] is False
    assert loaded["SECURE_HSTS_SECONDS"] == 0


def test_production_serves_https_only(load_settings):
    loaded = load_settings(**production(RECEPTION_ENCRYPTION_KEY=STRONG_KEY))
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] >= 31536000
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SECURE_HSTS_PRELOAD"] is True
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SESSION_COOKIE_HTTPONLY"] is True
    assert loaded["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert loaded["SECURE_REFERRER_POLICY"] == "same-origin"
    assert "SECURE_PROXY_SSL_HEADER" not in loaded


def test_production_hsts_and_redirect_are_configurable(load_settings):
    loaded = load_settings(
        **production(
            RECEPTION_ENCRYPTION_KEY=STRONG_KEY,
            SECURE_SSL_REDIRECT="False",
            SECURE_HSTS_SECONDS="3600",
            SECURE_HSTS_INCLUDE_SUBDOMAINS="False",
            SECURE_HSTS_PRELOAD="False",
        )
    )
    assert loaded["SECURE_SSL_REDIRECT"] is False
    assert loaded["SECURE_HSTS_SECONDS"] == 3600
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert loaded["SECURE_HSTS_PRELOAD"] is False


def test_it_trusts_the_proxy_header_it_is_told_to(load_settings):
    loaded = load_settings(
        **production(
            RECEPTION_ENCRYPTION_KEY=STRONG_KEY,
            SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        )
    )
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.django_db
def test_behind_the_proxy_http_is_redirected_and_https_is_pinned(load_settings, settings):
    loaded = load_settings(
        **production(
            RECEPTION_ENCRYPTION_KEY=STRONG_KEY,
            SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        )
    )
    for name in [name for name in loaded if name.startswith("SECURE_")]:
        setattr(settings, name, loaded[name])
    client = Client()  # built after the settings: the security middleware reads them once
    plain = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="http")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/admin/login/"
    secure = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.parametrize("value", ["HTTP_X_FORWARDED_PROTO", "X-Forwarded-Proto,https", "a,b,c"])
def test_it_refuses_a_malformed_proxy_header(load_settings, value):
    with pytest.raises(ImproperlyConfigured, match="SECURE_PROXY_SSL_HEADER"):
        load_settings(
            **production(RECEPTION_ENCRYPTION_KEY=STRONG_KEY, SECURE_PROXY_SSL_HEADER=value)
        )


def documented_production_environment() -> dict[str, str]:
    """The variables of README's «Producción» block; `<...>` placeholders get fresh keys."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Producción", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    env = {}
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, value = line.split("=", 1)
        env[name] = secrets.token_urlsafe(48) if value.startswith("<") else value
    return env


def manage_py(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`manage.py` in a child that sees only `env`, as a server started with it would."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_documented_production_environment_passes_check_deploy(tmp_path):
    env = documented_production_environment()
    assert env["DEBUG"] == "False"
    assert {"SECRET_KEY", "RECEPTION_ENCRYPTION_KEY", "ALLOWED_HOSTS"} <= env.keys()
    env |= {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    result = manage_py("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_a_command_started_without_its_keys_shows_that_error_alone(tmp_path):
    """The operator reads the missing setting's name, not a second traceback from closing
    database connections that the failed settings never opened."""
    env = {"PATH": os.environ["PATH"], "DEBUG": "False", "VAR_DIR": str(tmp_path)}
    result = manage_py("check", env=env)
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off."
    )
    assert "close_all" not in result.stderr
