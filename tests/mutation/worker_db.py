"""pytest plugin for mutation runs: each worker gets its own copy of one migrated test database.

mutmut forks a worker per mutant from a process whose settings already name one SQLite test
database file. Workers creating and dropping that same file at once fail each other's tests,
which would count every mutant as killed; migrating a new database for each mutant would spend
most of the run on migrations. So the first session (mutmut's own, before any worker) migrates a
template and keeps it (`--reuse-db`); every later session copies it to a file named after its
pid, keeps the copy as is, and removes it when done.
"""

import os
import shutil
from pathlib import Path

import pytest

_TEMPLATE = "test-db-mutation-template.sqlite3"


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("sqlite3") or not database.get("TEST", {}).get("NAME"):
        return
    folder = Path(database["TEST"]["NAME"]).parent
    template = folder / _TEMPLATE
    if not template.exists():
        database["TEST"]["NAME"] = str(template)
        return
    own = folder / f"test-db-{os.getpid()}.sqlite3"
    shutil.copyfile(template, own)
    database["TEST"]["NAME"] = str(own)
    config.add_cleanup(lambda: own.unlink(missing_ok=True))
