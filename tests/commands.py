"""Run a management command the way a shell does, and see its exit status and output."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.management import execute_from_command_line
from django.db import connections


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str


def run_command(
    argv: list[str],
    *,
    stdin: str = "",
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> Result:
    """`python manage.py <argv> < stdin`, in this process so it sees the test database.

    `run_from_argv` closes every connection when it ends, which would end the test's
    transaction; that one call is neutralised, nothing else of the command is.
    """
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    monkeypatch.setattr(connections, "close_all", lambda: None)
    capsys.readouterr()
    status = 0
    try:
        execute_from_command_line(["manage.py", *argv])
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return Result(status=status, stdout=out, stderr=err)


def run_manage(
    argv: list[str | bytes], *, stdin: bytes = b"", env: dict[str, str] | None = None
) -> Result:
    """`python manage.py <argv> < stdin` as a child process, bytes in: what a shell really hands
    over (non-UTF-8 arguments, raw bytes on standard input). Use with transactional tests, so
    the child sees committed data; `env` defaults to this process's, on the test database."""
    from tests.reception.conftest import database_url, manage

    if env is None:
        env = {**os.environ, "DATABASE_URL": database_url()}
    process = subprocess.run(
        [*manage(), *argv], input=stdin, env=env, capture_output=True, timeout=120, check=False
    )
    return Result(
        status=process.returncode,
        stdout=process.stdout.decode("utf-8", "replace"),
        stderr=process.stderr.decode("utf-8", "replace"),
    )


#: The project's own apps: every table they own is part of the fingerprint.
PROJECT_APPS = ("organizations", "reception", "invoices")


def database_fingerprint() -> dict[str, str]:
    """A hash of every row of every project table, per table, to prove a refused command
    changed nothing (a failed assertion names the tables that did change)."""
    fingerprint = {}
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            digest = hashlib.sha256()
            for row in model._base_manager.order_by("pk").values_list():
                digest.update(repr(row).encode("utf-8", "surrogatepass"))
            fingerprint[model._meta.label] = digest.hexdigest()
    return fingerprint


def refusal_line(result: Result) -> str:
    """The one stderr line of a command that refused its input: exit status 2, no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.status == 2, (result.status, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
