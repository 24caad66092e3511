"""Loaded with `-p tests.testenv` before Django is set up: fixed, non-default keys so the
settings load with DEBUG off, as in production."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("RECEPTION_ENCRYPTION_KEY", "test-encryption-key")
os.environ.setdefault("EMAIL_URL", "consolemail://")
