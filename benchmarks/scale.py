"""One poll cycle over 500 mailboxes with the README's worker, then a second, idle one.

    .venv/bin/python benchmarks/scale.py [--mailboxes 500] [--messages 3] [--broker orm|redis]
        [--delays 0,50]

The benchmark drops and creates its own PostgreSQL database (--database-url, default
postgres://postgres@127.0.0.1:5432/recepcion_bench — never real data) and starts the test
harness. In the fake Entra ID it makes one tenant whose single application (the guide's
"Loggro") has FullAccess on every mailbox, as a provider serving many organizations from one
Microsoft 365 tenant would: one cached token can then serve every mailbox of a worker process.
It adds N organizations with distinct NITs, configures each one's modern-auth IMAP mailbox
through the same service as the admin (which checks it: Activo), and delivers to each mailbox
a few DIAN e-mails addressed to that organization's NIT.

Then `manage.py qcluster` runs as the README's worker does (ORM broker and Q_WORKERS by default;
--broker redis uses Q_REDIS_URL=redis://127.0.0.1:6379/15), `fetch_all_mailboxes` is queued —
the scheduled fan-out, one fetch_mailbox task per mailbox — and the cycle lasts from that moment
to the last FetchRun finished. A second cycle finds no new mail. For each cycle it prints the
time, the time per mailbox and per imported message, the token requests that reached the fake
Entra ID, and, from Dovecot's logout lines, the IMAP sessions, the message bodies downloaded and
the bytes exchanged per session.

With --delays (round trips in milliseconds, e.g. 0,50) the mailboxes are reached through a
proxy that holds every chunk for half the round trip each way (`delay_proxy.py`), and the two
cycles run once per delay, new mail delivered before each first cycle: what an idle poll costs
when the mail server is across a WAN. Each delay ends with the mailboxes one worker polls per
5-minute interval, the figure the README's sizing rule is made from.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _common import (
    DEFAULT_DATABASE_URL,
    DEFAULT_WORKDIR,
    MANAGE,
    add_project_to_path,
    benchmark_environment,
    database_recreate,
    load_average,
    median,
)
from delay_proxy import DelayProxy

add_project_to_path()

DOMAIN = "multiempresa-bench.test"
FIRST_NIT = 901_100_000
_LOGOUT = re.compile(
    r"imap\((?P<user>[^)]+)\).*Disconnected: Logged out in=(?P<in>\d+) out=(?P<out>\d+)"
    r".*body_count=(?P<bodies>\d+)"
)


def organization_nit(index: int) -> str:
    return str(FIRST_NIT + index)


def mailbox_address(index: int) -> str:
    return f"recepcion{index:03d}@{DOMAIN}"


def mailbox_mail(job: tuple[int, int]) -> bytes:
    """The message-th DIAN e-mail for the index-th organization (a unique CUFE each)."""
    from tests.factories.dian import build_mail

    index, message = job
    number = f"FS{index:03d}{message:03d}"
    return build_mail(
        "invoice",
        seed=index * 1000 + message,
        number=number,
        buyer_nit=organization_nit(index),
        pdf_size=34_000,
        message_id=f"<{number}.{index}@proveedor.example>",
    ).raw


@dataclass
class Cycle:
    seconds: float
    runs: int
    failed: int
    run_seconds: list[float]
    seen: int
    documents: int
    tokens: int
    sessions: int
    bodies: int
    bytes_in: list[int]
    bytes_out: list[int]


class ScaleBench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        from tests.harness import start_harness

        self.args = args
        self.workdir = workdir
        self.harness = start_harness(workdir / "pki")
        dovecot = self.harness.dovecot
        assert dovecot.ports is not None
        self.proxy = DelayProxy(dovecot.host, dovecot.ports.imaps).start()
        self.env = benchmark_environment(
            database_url=args.database_url,
            var_dir=workdir / "var",
            authority_host=self.harness.entra.url,
            ca_bundle=str(self.harness.pki.ca_pem),
            mail_hosts=[*dovecot.allowed_mail_hosts, f"{dovecot.host}:{self.proxy.port}"],
        )
        if args.broker == "redis":
            self.env["Q_REDIS_URL"] = args.redis_url
        if args.workers:
            self.env["Q_WORKERS"] = str(args.workers)
        os.environ.update(self.env)
        self.cluster: subprocess.Popen | None = None

    def setup(self) -> None:
        import django

        database_recreate(self.args.database_url)
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if self.args.broker == "redis":
            import redis

            redis.Redis.from_url(self.args.redis_url).flushdb()
        started = time.perf_counter()
        self._configure()
        print(
            f"configured and checked {self.args.mailboxes} mailboxes in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )

    def deliver(self, round_number: int) -> None:
        """`--messages` new e-mails to every mailbox (new CUFEs in every round)."""
        started = time.perf_counter()
        first_message = round_number * self.args.messages
        jobs = [
            (i, first_message + m)
            for i in range(self.args.mailboxes)
            for m in range(self.args.messages)
        ]
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            mails = list(pool.map(mailbox_mail, jobs, chunksize=50))
        for index in range(self.args.mailboxes):
            first = index * self.args.messages
            self.harness.dovecot.deliver_many(
                mailbox_address(index), mails[first : first + self.args.messages]
            )
        print(
            f"delivered {len(mails)} e-mails in {time.perf_counter() - started:.0f} s",
            flush=True,
        )

    def _configure(self) -> None:
        """One tenant, one application with FullAccess on every mailbox, as the guide does it
        for one mailbox; then each organization's mailbox through the admin's service."""
        from organizations.services import organization_add
        from reception.models import MailboxStatus
        from reception.services import mailbox_configure
        from tests.harness.entra import IMAP_ROLE, POP_ROLE

        dovecot, entra = self.harness.dovecot, self.harness.entra
        assert dovecot.ports is not None
        self.tenant = entra.add_tenant(domain=DOMAIN)
        app = self.tenant.add_app("Loggro")
        secret = app.add_secret(description="Recepcion FE")
        for role in (IMAP_ROLE, POP_ROLE):
            app.add_permission(role)
        app.grant_admin_consent()
        self.tenant.new_service_principal(app.client_id, app.enterprise_object_id)
        for index in range(self.args.mailboxes):
            address = mailbox_address(index)
            dovecot.add_user(address)
            self.tenant.add_mailbox_permission(address, app.enterprise_object_id)
            self.tenant.set_cas_mailbox(address, imap_enabled=True, pop_enabled=True)
            organization, _created = organization_add(
                nit=organization_nit(index), name=f"EMPRESA DE PRUEBA {index:03d} S.A.S."
            )
            mailbox = mailbox_configure(
                organization=organization,
                data={
                    "server_type": "outlook_modern",
                    "protocol": "imap",
                    "host": dovecot.host,
                    "port": self.proxy.port,
                    "security": "ssl",
                    "username": address,
                    "password": "",
                    "tenant_id": self.tenant.tenant_id,
                    "client_id": app.client_id,
                    "object_id": app.enterprise_object_id,
                    "secret": secret.value,
                    "secret_expires_on": None,
                    "notification_email": f"ti{index:03d}@{DOMAIN}",
                    "backup_email": "",
                },
                source="benchmark",
            )
            if mailbox.status != MailboxStatus.ACTIVE:
                raise SystemExit(f"{address} did not pass its check: {mailbox.status}")

    def start_cluster(self) -> None:
        log = open(self.workdir / "qcluster.log", "wb")  # noqa: SIM115 - the child keeps it
        self.cluster = subprocess.Popen(
            [sys.executable, str(MANAGE), "qcluster"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_for_cluster(self) -> float:
        """Until a first task has run: the cycle must not include the cluster's start."""
        from django_q.tasks import async_task, result

        started = time.perf_counter()
        task_id = async_task("math.floor", 1.5, task_name="benchmark-warm-up")
        if result(task_id, wait=120_000) != 1:
            raise SystemExit("qcluster did not run a first task within two minutes")
        return time.perf_counter() - started

    def stop_cluster(self) -> None:
        """SIGTERM to the cluster's own process, which stops its workers; the whole group is
        killed only if that takes more than a minute."""
        if self.cluster is None:
            return
        started = time.perf_counter()
        self.cluster.terminate()
        try:
            self.cluster.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.cluster.pid, signal.SIGKILL)
            self.cluster.wait()
        print(f"qcluster stopped in {time.perf_counter() - started:.1f} s", flush=True)
        self.cluster = None

    def cycle(self) -> Cycle:
        """Queue the fan-out and wait for every mailbox's FetchRun of this cycle to finish."""
        from django.db.models import Max
        from django.utils import timezone
        from django_q.tasks import async_task

        from reception.models import FetchRun

        dovecot_offset = self.harness.dovecot.log_size()
        tokens_before = self.harness.entra.token_request_count(tenant_id=self.tenant.tenant_id)
        since = timezone.now()
        started = time.perf_counter()
        async_task("reception.tasks.fetch_all_mailboxes", task_name="benchmark-fetch-all")
        runs = FetchRun.objects.filter(started_at__gte=since)
        deadline = started + self.args.timeout
        while runs.filter(finished_at__isnull=False).count() < self.args.mailboxes:
            if time.perf_counter() > deadline:
                raise SystemExit(f"the cycle did not finish in {self.args.timeout} s")
            if self.cluster is not None and self.cluster.poll() is not None:
                raise SystemExit("qcluster exited; see its log")
            time.sleep(0.2)
        last = runs.aggregate(last=Max("finished_at"))["last"]
        seconds = (last - since).total_seconds()
        rows = list(runs.values("outcome", "counts", "started_at", "finished_at"))
        sessions = self._dovecot_sessions(dovecot_offset)
        return Cycle(
            seconds=seconds,
            runs=len(rows),
            failed=sum(1 for row in rows if row["outcome"] != FetchRun.Outcome.OK),
            run_seconds=[(row["finished_at"] - row["started_at"]).total_seconds() for row in rows],
            seen=sum(row["counts"].get("seen", 0) for row in rows),
            documents=sum(row["counts"].get("documents", 0) for row in rows),
            tokens=self.harness.entra.token_request_count(tenant_id=self.tenant.tenant_id)
            - tokens_before,
            sessions=len(sessions),
            bodies=sum(session["bodies"] for session in sessions),
            bytes_in=[session["in"] for session in sessions],
            bytes_out=[session["out"] for session in sessions],
        )

    def _dovecot_sessions(self, offset: int) -> list[dict[str, int]]:
        """IMAP sessions that ended since `offset`, from Dovecot's logout lines."""
        with open(self.harness.dovecot.log_path, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
        return [
            {key: int(match[key]) for key in ("in", "out", "bodies")}
            for match in _LOGOUT.finditer(text)
        ]

    def verify(self, rounds: int) -> None:
        from invoices.models import ReceivedDocument
        from reception.models import IncomingMessage

        expected = self.args.mailboxes * self.args.messages * rounds
        documents = ReceivedDocument.objects.count()
        messages = IncomingMessage.objects.count()
        left = sum(
            self.harness.dovecot.message_count(mailbox_address(i))
            for i in range(self.args.mailboxes)
        )
        if documents != expected or messages != expected or left:
            raise SystemExit(f"documents {documents}, messages {messages}, left in INBOX {left}")

    def close(self) -> None:
        self.stop_cluster()
        self.proxy.close()
        self.harness.close()


def report(cycles: list[Cycle], args: argparse.Namespace, workers: int, delay: float) -> None:
    from django.conf import settings

    interval = settings.RECEPTION_FETCH_INTERVAL_MINUTES * 60
    print()
    print(
        f"{args.mailboxes} mailboxes x {args.messages} e-mails, qcluster with the "
        f"{args.broker.upper()} broker and {workers} workers, {delay:g} ms round trip to the "
        f"mail server; {load_average()}"
    )
    labels = ("first cycle (new mail)", "second cycle (idle)")
    for label, cycle in zip(labels, cycles, strict=False):
        print(f"{label}:")
        print(
            f"  cycle {cycle.seconds:.1f} s = {cycle.seconds / interval:.1%} of the "
            f"{interval // 60}-minute polling interval; {cycle.runs} runs, {cycle.failed} failed"
        )
        print(
            f"  per mailbox: {cycle.seconds / cycle.runs * 1000:.1f} ms of the cycle "
            f"(median run {median(cycle.run_seconds) * 1000:.0f} ms inside one worker)"
        )
        if cycle.seen:
            print(
                f"  {cycle.seen} e-mails imported, {cycle.documents} documents: "
                f"{cycle.seconds / cycle.seen * 1000:.1f} ms of the cycle per message"
            )
        print(
            f"  token requests to Entra: {cycle.tokens}; IMAP sessions {cycle.sessions}, "
            f"bodies downloaded {cycle.bodies}, per session median "
            f"{median(cycle.bytes_in):.0f} bytes sent and {median(cycle.bytes_out):.0f} received"
        )
    if len(cycles) == 2 and cycles[0].seen:
        first, idle = cycles
        print(
            f"cost of the new mail over an idle cycle: "
            f"{(first.seconds - idle.seconds) / first.seen * 1000:.1f} ms per message"
        )
    for label, cycle in zip(("new mail", "idle"), cycles, strict=False):
        print(
            f"at {delay:g} ms, {label}: {per_worker(cycle, workers, interval):.0f} mailboxes per "
            f"worker per {interval // 60}-minute interval"
        )


def per_worker(cycle: Cycle, workers: int, interval: int) -> float:
    """Mailboxes one worker polls in one interval at the cycle's rate."""
    return cycle.runs / cycle.seconds * interval / workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=500)
    parser.add_argument("--messages", type=int, default=3, help="e-mails per mailbox")
    parser.add_argument("--broker", choices=("orm", "redis"), default="orm")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--workers", type=int, default=None, help="Q_WORKERS (default: settings)")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument(
        "--delays", default="0", help="round trips to the mail server, ms, comma-separated"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--workdir", default=DEFAULT_WORKDIR, help="where VAR_DIR goes")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="recepcion-scale-bench-", dir=args.workdir))
    bench = ScaleBench(args, workdir)
    try:
        bench.setup()
        from django.conf import settings

        bench.start_cluster()
        print(f"qcluster ran a first task after {bench.wait_for_cluster():.1f} s", flush=True)
        delays = [float(value) for value in args.delays.split(",")]
        reports = []
        for round_number, delay in enumerate(delays):
            bench.proxy.round_trip_ms = delay
            bench.deliver(round_number)
            cycles = []
            for label in ("new mail", "idle"):
                cycle = bench.cycle()
                cycles.append(cycle)
                print(
                    f"{delay:g} ms, {label}: {cycle.seconds:.1f} s, {cycle.tokens} token "
                    f"requests, {cycle.sessions} IMAP sessions, {cycle.bodies} bodies; "
                    f"{load_average()}",
                    flush=True,
                )
                if label == "new mail":
                    bench.verify(round_number + 1)
            reports.append((cycles, delay))
        for cycles, delay in reports:
            report(cycles, args, settings.Q_CLUSTER["workers"], delay)
    finally:
        bench.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    started_at = time.monotonic()
    main()
    print(f"finished in {time.monotonic() - started_at:.0f} s")
