"""A command starts with the collector paused and runs with it on, over a frozen start."""

from __future__ import annotations

import pytest

from tests.commands import run_manage

pytestmark = pytest.mark.django_db


def test_a_command_runs_with_the_collector_on_and_what_starting_made_frozen():
    """Left off, a long-running command (the django-q cluster) would never collect a cycle."""
    probe = "import gc; print('collector', gc.isenabled(), gc.get_freeze_count())"

    result = run_manage(["shell", "--no-imports", "-c", probe])

    assert result.status == 0, result.stderr
    enabled, frozen = result.stdout.split("collector ", 1)[1].split()
    assert enabled == "True"
    assert int(frozen) > 10_000  # Django, the project's apps and their imports
