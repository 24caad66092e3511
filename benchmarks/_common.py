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


def postmaster_pid(url: str) -> int | None:
    """The local PostgreSQL server's main process (the parent of a backend), or None when the
    server is not on this machine."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as connection:
        backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        try:
            return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            return None


def tree_cpu_seconds(root: int | None) -> float:
    """CPU used so far by a process and its descendants: each live one's own, plus what the
    exited ones left to the parent that reaped them (Dovecot's per-connection processes, a
    PostgreSQL backend after its client disconnected)."""
    if root is None:
        return 0.0
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        # From the state on: state, ppid, ..., utime (12th), stime, cutime, cstime.
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = sum(int(value) for value in fields[11:15])

    def in_tree(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False

    return sum(value for pid, value in ticks.items() if in_tree(pid)) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The 1/5/15-minute load: other suites share these 2 cores, so figures need this beside."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def add_project_to_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
