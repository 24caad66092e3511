"""`/health/`: 200 when the database, storage, broker and a worker's heartbeat are fine, 503
otherwise; anonymous, over plain HTTP even when the site redirects to HTTPS, and nothing in the
answer but the checks' names and "ok" or "error"."""

import json
import os
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_q.models import Task

from config.storage import private_storage

pytestmark = pytest.mark.django_db

CHECKS = {"database", "storage", "broker", "worker"}


def worker_finished_a_task(ago: timedelta = timedelta(0)) -> None:
    """What a qcluster leaves behind when it runs the scheduled fan-out."""
    stopped = timezone.now() - ago
    Task.objects.create(
        id=uuid.uuid4().hex,
        name=f"fetch-all-{uuid.uuid4().hex[:6]}",
        func="reception.tasks.fetch_all_mailboxes",
        started=stopped - timedelta(seconds=1),
        stopped=stopped,
        success=True,
    )


def test_healthy_answers_200_without_login():
    worker_finished_a_task()
    response = Client().get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": dict.fromkeys(CHECKS, "ok")}
    assert "no-cache" in response["Cache-Control"]


def test_a_worker_silent_for_two_intervals_is_unhealthy(settings):
    settings.RECEPTION_FETCH_INTERVAL_MINUTES = 5
    worker_finished_a_task(ago=timedelta(minutes=11))
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"] == {**dict.fromkeys(CHECKS, "ok"), "worker": "error"}


def test_no_worker_ever_is_unhealthy():
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "error"


def test_unwritable_storage_is_unhealthy_and_says_nothing_more():
    worker_finished_a_task()
    root = private_storage.path("")
    os.makedirs(root, exist_ok=True)
    moved = f"{root}.away-{uuid.uuid4().hex[:6]}"
    os.rename(root, moved)
    try:
        with open(root, "w") as blocker:  # a file where the directory should be
            blocker.write("x")
        response = Client().get("/health/")
    finally:
        os.remove(root)
        os.rename(moved, root)
    assert response.status_code == 503
    body = response.json()
    expected = {**dict.fromkeys(CHECKS, "ok"), "storage": "error"}
    assert body == {"status": "error", "checks": expected}
    assert root not in json.dumps(body)


def test_a_plain_http_probe_is_answered_while_pages_redirect_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    worker_finished_a_task()
    client = Client()  # built after the settings: the security middleware reads them once
    assert client.get("/admin/login/").status_code == 301
    probe = client.get("/health/")
    assert probe.status_code == 200
    assert probe["Content-Security-Policy"]  # the site's policy applies here too
    assert client.head("/health/").status_code == 200
    assert client.post("/health/").status_code == 405
