"""Run a management command the way a shell does, and see its exit status and output."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
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
