"""What the ingestion and scale benchmarks share: a throw-away PostgreSQL database, the
environment their Django processes run with, and how busy the machine was.

Kept free of Django imports: the environment must be complete before `django.setup()` reads it.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "manage.py"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/recepcion_bench"
#: Where VAR_DIR goes (in a private directory made by mkdtemp). tmpfs: on these VMs creating a
#: file on the ext4 disk costs 0.1 to 1.8 ms of CPU, varying from one minute to the next, where
#: a server's page cache costs ~0.05 ms (nothing is fsynced either way).
DEFAULT_WORKDIR = "/dev/shm"  # noqa: S108
#: The same on this machine's disk (ext4), for the figures with storage on disk.
DEFAULT_DISK_WORKDIR = "/var/tmp"  # noqa: S108
#: The receiving organization of the ingestion benchmark: the factory documents' default buyer.
BUYER_NIT = "900123456"


def benchmark_environment(
    *,
    database_url: str,
    var_dir: Path,
    authority_host: str,
    ca_bundle: str,
    mail_hosts: list[str],
) -> dict[str, str]:
    """Settings for this process and its children: fixed keys, a private VAR_DIR, no .env.

    ``mail_hosts``: the harness Dovecot's entries, which the app must be allowed to reach."""
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        SECRET_KEY="benchmark-secret-key-not-for-production",
        RECEPTION_ENCRYPTION_KEY="benchmark-encryption-key-not-for-production",
        DEBUG="False",
        VAR_DIR=str(var_dir),
        MEDIA_ROOT=str(var_dir / "media"),
        MICROSOFT_AUTHORITY_HOST=authority_host,
        RECEPTION_CA_BUNDLE=ca_bundle,
        RECEPTION_ALLOWED_MAIL_HOSTS=",".join(mail_hosts),
        EMAIL_URL="consolemail://",
        SITE_URL="http://127.0.0.1:8000",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def database_recreate(url: str) -> None:
    """Drop and create the benchmark database: every run starts from the same empty state."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing an unusual database name: {name!r}")
    maintenance = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://")
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def load_average() -> str:
    """The 1/5/15-minute load: other suites share these 2 cores, so figures need this beside."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def add_project_to_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
