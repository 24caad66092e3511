"""Fixtures of the accountants' workspace tests: a private storage in a temporary directory."""

import pytest
from django.utils.functional import empty

from reception.storage import private_storage


@pytest.fixture
def private_storage_root(settings, tmp_path, monkeypatch):
    """Point the private storage at a fresh directory for one test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "media" / "private"
    monkeypatch.setattr(private_storage, "_wrapped", empty)
    return settings.PRIVATE_STORAGE_ROOT
