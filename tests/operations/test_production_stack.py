"""The production stack on this machine, started from deploy/Procfile: the release step, gunicorn
on loopback with DEBUG off behind a (simulated) TLS proxy, PostgreSQL, Redis, and two `qcluster`
processes standing for two machines.

It proves: an admin logs in through gunicorn, whitenoise serves the static files, `/health/`
answers, the schedule's fetch imports the documents, one mailbox is never fetched by both
clusters at once, and killing the cluster that is in the middle of a fetch loses nothing: the
other one fetches that mailbox at the next interval.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

from invoices.models import ReceivedDocument
from organizations.services import organization_add
from reception.locks import ADVISORY_NAMESPACE
from reception.models import FetchRun, IncomingMessage, MailboxStatus, ReceptionMailbox
from reception.services import mailbox_configure
from tests.factories.dian import build_mail
from tests.reception.conftest import guide_configuration

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: Waits for processes and schedules, not timed assertions: django-q2's sentinel looks at the
#: schedules about every 30 s, and the fetch schedule runs every minute here.
DEADLINE = 240
MAILBOXES = 3
MESSAGES = 2
ADMIN_PASSWORD = "Produccion-" + uuid.uuid4().hex


def procfile() -> dict[str, list[list[str]]]:
    """deploy/Procfile's process types, each a list of commands run in order (`&&`), with
    `python` and `gunicorn` taken from this interpreter's environment."""
    processes = {}
    for line in (ROOT / "deploy" / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, command = line.split(":", 1)
        steps = []
        for step in command.split("&&"):
            words = shlex.split(step)
            if words[0] == "python":
                words[0:1] = [sys.executable]
            elif words[0] == "gunicorn":
                words[0:1] = [sys.executable, "-m", "gunicorn"]
            steps.append(words)
        processes[name.strip()] = steps
    return processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, what: str, processes=()) -> None:
    """Poll `condition` until true; fail when a process died or DEADLINE passed."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        for process in processes:
            assert process.poll() is None, f"{process.args} exited while waiting for {what}"
        assert time.monotonic() < deadline, f"never happened: {what}\n{work_state()}"
        time.sleep(0.5)  # polling other processes' results


def work_state() -> str:
    """What the workers did, for a failure's message."""
    from django_q.models import Schedule, Task

    runs = FetchRun.objects.order_by("started_at").values_list(
        "mailbox_id", "outcome", "started_at", "finished_at", "error", "counts"
    )
    documents = ReceivedDocument.objects.values_list("mailbox_id", "number")
    tasks = Task.objects.order_by("started").values_list("func", "args", "success", "stopped")
    schedules = Schedule.objects.values_list("name", "next_run", "minutes")
    return "\n".join(map(str, [*runs, *documents, *tasks, *schedules]))


class Stack:
    """The processes of one deployment, all in their own process groups."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL to the whole group: the cluster's sentinel and every worker, as a machine
        that loses power."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@pytest.fixture
def production_env(child_env, tmp_path) -> Iterator[dict[str, str]]:
    """README «Producción» behind a TLS proxy on loopback, with Redis under a prefix of its own
    so that parallel runs never share a queue."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "the production stack runs on PostgreSQL (advisory locks across machines): "
            "set DATABASE_URL, as CI does"
        )
    prefix = f"recepcion-test-{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = dict(child_env)
    env.pop("SECURE_SSL_REDIRECT", None)  # production's default: on
    env.update(
        DEBUG="False",
        ALLOWED_HOSTS="127.0.0.1",
        CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{port}",
        SITE_URL=f"https://127.0.0.1:{port}",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        TRUSTED_PROXY_COUNT="1",
        Q_REDIS_URL=REDIS_URL,
        Q_BROKER_PREFIX=prefix,
        Q_WORKERS="2",
        RECEPTION_FETCH_INTERVAL_MINUTES="1",
        # A fetch held at its token request must still be running when its cluster is killed.
        RECEPTION_NETWORK_TIMEOUT="600",
        VAR_DIR=str(tmp_path / "var"),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        LOG_LEVEL="INFO",
        Q_LOG_LEVEL="INFO",
    )
    env["PORT_FOR_TEST"] = str(port)
    yield env
    broker = redis.Redis.from_url(REDIS_URL)
    for key in broker.scan_iter(match=f"django_q:{prefix}:*"):
        broker.delete(key)


@pytest.fixture
def stack(production_env, tmp_path) -> Iterator[Stack]:
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Stack(production_env, logs)
    yield running
    running.stop()


def configure_mailboxes(dovecot, fake_entra) -> list[ReceptionMailbox]:
    """MAILBOXES organizations, each with its Activo modern-auth IMAP mailbox."""
    mailboxes = []
    for index in range(MAILBOXES):
        organization = organization_add(
            nit=str(901_300_000 + index), name=f"Empresa {index} S.A.S."
        )[0]
        address = f"recepcion@empresa{index}.test"
        dovecot.add_user(address)
        guide = fake_entra.configure_like_guide(address)
        mailbox = mailbox_configure(
            organization=organization,
            data=guide_configuration(guide, dovecot, "imap"),
            source="test",
        )
        assert mailbox.status == MailboxStatus.ACTIVE
        mailboxes.append(mailbox)
    return mailboxes


def deliver(dovecot, mailboxes, round_number: int) -> list[str]:
    cufes = []
    for index, mailbox in enumerate(mailboxes):
        for message in range(MESSAGES):
            number = f"PS{round_number}{index}{message:02d}"
            built = build_mail(
                seed=13_000 + round_number * 100 + index * 10 + message,
                number=number,
                buyer_nit=mailbox.organization.nit,
                message_id=f"<{number}@proveedor.example>",
            )
            dovecot.deliver(mailbox.username, built.raw)
            cufes.append(built.cufe)
    return cufes


def lock_holder_group(mailbox_id: int) -> int | None:
    """The process group of the process holding the mailbox's fetch lock, through PostgreSQL:
    the advisory lock's session, its client port, the local socket, the process that owns it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [ADVISORY_NAMESPACE, mailbox_id],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    inode = socket_inode(row[0])
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return os.getpgid(int(pid))
    return None


def socket_inode(local_port: int) -> str:
    """The inode of this machine's TCP socket whose local port is `local_port`, to the server."""
    server_port = int(connection.settings_dict.get("PORT") or 5432)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.rsplit(":", 1)[1], 16) == local_port and (
                int(remote.rsplit(":", 1)[1], 16) == server_port
            ):
                return fields[9]
    raise AssertionError(f"no socket with local port {local_port}")


def assert_never_fetched_twice_at_once() -> None:
    """No two runs of one mailbox that got past the lock overlap in time."""
    for mailbox_id in ReceptionMailbox.objects.values_list("pk", flat=True):
        runs = list(
            FetchRun.objects.filter(mailbox_id=mailbox_id, finished_at__isnull=False)
            .exclude(outcome=FetchRun.Outcome.SKIPPED)
            .order_by("started_at")
            .values_list("started_at", "finished_at")
        )
        for (_start, end), (next_start, _end) in itertools.pairwise(runs):
            assert end <= next_start, f"mailbox {mailbox_id}: two fetches at once"


class Browser:
    """requests through the simulated TLS proxy: it says HTTPS and appends the client address.

    The cookies are secure (HTTPS only), so they are kept here rather than in requests' jar,
    which would not send them over the loopback's plain HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.7",
            "Referer": f"https://{self.base.split('://')[1]}{path}",
            "Origin": f"https://{self.base.split('://')[1]}",
            **kwargs.pop("headers", {}),
        }
        response = requests.request(
            method,
            self.base + path,
            headers=headers,
            cookies=self.cookies,
            allow_redirects=False,
            timeout=60,
            **kwargs,
        )
        self.cookies.update(response.cookies.get_dict())
        return response


def test_the_production_stack(stack, production_env, dovecot, fake_entra):
    env = production_env
    base = f"http://127.0.0.1:{env['PORT_FOR_TEST']}"
    processes = procfile()
    assert set(processes) == {"release", "web", "worker"}
    mailboxes = configure_mailboxes(dovecot, fake_entra)
    cufes = deliver(dovecot, mailboxes, 0)

    # Release step, then an administrator, then the web process.
    for step in processes["release"]:
        subprocess.run(step, cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "createsuperuser",
            "--no-input",
            "--username",
            "admin",
            "--email",
            "admin@example.test",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD},
        check=True,
        capture_output=True,
    )
    (web_command,) = processes["web"]
    web = stack.start("web", web_command)

    def web_answers() -> bool:
        try:
            requests.get(base + "/health/", timeout=5)
        except requests.ConnectionError:
            return False
        return True

    wait_until(web_answers, "gunicorn answering", [web])

    # Plain HTTP is sent to HTTPS, except the load balancer's probe.
    assert requests.get(base + "/admin/", allow_redirects=False, timeout=10).status_code == 301
    browser = Browser(base)
    login_page = browser.request("GET", "/admin/login/")
    assert login_page.status_code == 200
    assert "Strict-Transport-Security" in login_page.headers
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)[1]
    logged_in = browser.request(
        "POST",
        "/admin/login/?next=/admin/",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert logged_in.status_code == 302, logged_in.text[:2000]
    assert logged_in.headers["Location"] == "/admin/"
    index = browser.request("GET", "/admin/")
    assert index.status_code == 200
    assert "<strong>admin</strong>" in index.text and 'action="/admin/logout/"' in index.text

    static = browser.request(
        "GET", "/static/admin/css/base.css", headers={"Accept-Encoding": "gzip"}
    )
    assert static.status_code == 200
    assert static.headers["Content-Type"].startswith("text/css")
    assert static.headers.get("Content-Encoding") == "gzip"  # whitenoise's compressed copy

    # Two clusters, two machines. The first token request hangs: the fetch that makes it holds
    # its mailbox's lock, with its run started, until its cluster is killed.
    fake_entra.delay_token_requests(1)
    (worker_command,) = processes["worker"]
    clusters = {
        "worker-a": stack.start("worker-a", worker_command),
        "worker-b": stack.start("worker-b", worker_command),
    }
    fake_entra.wait_for_token_requests_in_flight(1, timeout=DEADLINE)
    hung = None

    def held_run_alone() -> bool:
        nonlocal hung
        running = FetchRun.objects.filter(outcome=FetchRun.Outcome.RUNNING)
        others_done = (
            FetchRun.objects.filter(outcome=FetchRun.Outcome.OK).values("mailbox").distinct()
        )
        if running.count() == 1 and others_done.count() == MAILBOXES - 1:
            hung = running.get().mailbox_id
            return True
        return False

    wait_until(held_run_alone, "the other mailboxes fetched", clusters.values())
    group = lock_holder_group(hung)
    (victim,) = [name for name, process in clusters.items() if process.pid == group]
    survivor = next(name for name in clusters if name != victim)
    stack.kill(clusters[victim])
    fake_entra.release_token_requests()

    # The surviving cluster's next scheduled fetch reads that mailbox: nothing is lost.
    wait_until(
        lambda: ReceivedDocument.objects.filter(cufe__in=cufes).count() == len(cufes),
        "every document imported after the kill",
        [web, clusters[survivor]],
    )
    for mailbox in mailboxes:
        assert dovecot.message_count(mailbox.username, "INBOX") == 0
    assert IncomingMessage.objects.count() == len(cufes)
    killed_run = FetchRun.objects.get(mailbox_id=hung, outcome=FetchRun.Outcome.RUNNING)
    assert FetchRun.objects.filter(
        mailbox_id=hung, outcome=FetchRun.Outcome.OK, started_at__gt=killed_run.started_at
    ).exists()
    assert_never_fetched_twice_at_once()

    # The machine comes back; both clusters are asked to fetch every mailbox several times at
    # once, and the lock lets one fetch of a mailbox run at a time.
    clusters[victim] = stack.start(f"{victim}-again", worker_command)
    more = deliver(dovecot, mailboxes, 1)
    runs_before = FetchRun.objects.count()
    ids = [mailbox.pk for mailbox in mailboxes]
    queue = (
        "from django_q.tasks import async_task\n"
        f"for mailbox_id in {ids!r} * 4:\n"
        "    async_task('reception.tasks.fetch_mailbox', mailbox_id, trigger='test')\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", queue], cwd=ROOT, env=env, check=True
    )
    wait_until(
        lambda: (
            FetchRun.objects.filter(finished_at__isnull=False).count()
            >= runs_before + len(ids) * 4 - 1
        ),  # the killed run never finishes
        "every queued fetch run",
        [web, *clusters.values()],
    )
    wait_until(
        lambda: ReceivedDocument.objects.filter(cufe__in=more).count() == len(more),
        "the second round imported",
        [web, *clusters.values()],
    )
    assert IncomingMessage.objects.count() == len(cufes) + len(more)
    assert_never_fetched_twice_at_once()

    health = requests.get(base + "/health/", timeout=10)
    assert health.status_code == 200, health.text
    checks = ["database", "storage", "broker", "worker"]
    assert health.json()["checks"] == dict.fromkeys(checks, "ok")
