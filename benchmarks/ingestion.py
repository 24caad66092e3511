"""mailbox_fetch against a bare IMAP fetch of the same mail, for N = 1,000 and 10,000 e-mails.

    .venv/bin/python benchmarks/ingestion.py [--n 1000 10000] [--processes 2] [--repeat 3]
        [--databases sqlite postgresql] [--storages tmpfs disk] [--profile PATH]

Everything runs in one go: the benchmark starts the test harness (Dovecot and the fake Entra ID),
and prepares one setup per database (SQLite; PostgreSQL, --database-url + _tmpfs / _disk, dropped
and created — never real data) and storage (VAR_DIR on tmpfs, --workdir, or on this machine's
disk, --disk-workdir), each with its organization and modern-auth mailbox configured through the
same service as the admin. For each N it seeds INBOX with N DIAN e-mails of ~56 KB (invoices, a
credit note in ten, one resent duplicate and one newsletter in a hundred), and per repetition runs
every setup in turn (interleaved):

(a) bare: a process that logs in with imapclient and downloads every body (BODY.PEEK[] in UID
    batches of RECEPTION_FETCH_BATCH_SIZE) and does nothing else;
(b) fetch: `mailbox_fetch --processes P` in a process of its own, which records, parses,
    registers and moves everything; the mailbox is then checked (one document per unique CUFE,
    every e-mail recorded once, INBOX empty);
(c) idle: the same command again on the unchanged mailbox, counting its IMAP commands.

Each child measures its own time (from before connecting to after LOGOUT), CPU and peak RSS; the
benchmark also times each whole child process. The issue's targets: (b) at least 0.4x (a)'s rate
with storage on tmpfs and 0.3x on disk; (b)'s peak RSS at 10,000 at most 1.2x that at 1,000; (c)
a handful of round trips whatever N.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import imaplib
import io
import json
import os
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    BUYER_NIT,
    DEFAULT_DATABASE_URL,
    DEFAULT_DISK_WORKDIR,
    DEFAULT_WORKDIR,
    ROOT,
    add_project_to_path,
    benchmark_environment,
    database_recreate,
    load_average,
    median,
    postmaster_pid,
    tree_cpu_seconds,
)

add_project_to_path()

MAILBOX = "recepcion@andina-bench.test"
#: Suppliers, ten documents in a row each, so a credit note and its invoice share a supplier.
SUPPLIERS = (
    ("901019681", "SUMINISTROS ANDINOS S.A.S."),
    ("830054539", "PAPELERIA DEL CENTRO LTDA"),
    ("900373115", "TRANSPORTES DEL LLANO S.A.S."),
    ("860002964", "ALIMENTOS DE LA SABANA S.A."),
    ("901234567", "SERVICIOS TECNICOS DEL CARIBE S.A.S."),
    ("800123458", "FERRETERIA INDUSTRIAL DEL VALLE S.A.S."),
)
FIRST_DATE = dt.date(2025, 6, 2)


# --- The mail ---------------------------------------------------------------------------------


def mail_kind(index: int) -> str:
    """Mostly invoices; a credit note for the invoice just before it one time in ten; one
    resent e-mail (the same document, a new Message-ID) and one newsletter in a hundred."""
    if index % 100 == 99:
        return "not_dian"
    if index % 100 == 98:
        return "duplicate"
    if index % 10 == 4:
        return "credit_note"
    return "invoice"


def _spec(index: int, buyer_nit: str):
    from tests.factories.dian import make_spec

    supplier_nit, supplier_name = SUPPLIERS[(index // 10) % len(SUPPLIERS)]
    common = {
        "supplier_nit": supplier_nit,
        "supplier_name": supplier_name,
        "supplier_trade_name": supplier_name.title(),
        "buyer_nit": buyer_nit,
        "issue_date": FIRST_DATE + dt.timedelta(days=index % 90),
    }
    if mail_kind(index) == "credit_note":
        invoice = _spec(index - 1, buyer_nit)
        return make_spec(
            "credit_note",
            number=f"NC{100_000 + index}",
            referenced_number=invoice.number,
            referenced_cufe=invoice.cufe_value,
            referenced_date=invoice.issue_date,
            **common,
        )
    return make_spec("invoice", number=f"FE{100_000 + index}", **common)


def corpus_mail(index: int, buyer_nit: str = BUYER_NIT) -> tuple[bytes, str | None]:
    """The index-th e-mail of the corpus and the CUFE it carries (None: not a DIAN e-mail)."""
    from tests.factories.dian import Attachment, build_mail, make_email, make_pdf

    kind = mail_kind(index)
    if kind == "not_dian":
        catalogue = make_pdf("Catálogo de ofertas", size=38_000, seed=index)
        raw = make_email(
            subject=f"Boletín de ofertas {index}",
            attachments=[Attachment("catalogo.pdf", "application/pdf", catalogue)],
            message_id=f"<boletin{index}@ofertas.example>",
        )
        return raw, None
    original = index - 50 if kind == "duplicate" else index
    spec = _spec(original, buyer_nit)
    built = build_mail(
        spec.document_type,
        seed=original,
        spec=spec,
        pdf_size=34_000,
        message_id=f"<{spec.number}.{index}@proveedor.example>",
    )
    return built.raw, built.cufe


@dataclass
class Corpus:
    raws: list[bytes]
    cufes: list[str | None]

    def expected(self, count: int) -> dict[str, int]:
        cufes = [cufe for cufe in self.cufes[:count] if cufe is not None]
        return {
            "messages": count,
            "documents": len(set(cufes)),
            "duplicates": len(cufes) - len(set(cufes)),
            "not_dian": count - len(cufes),
        }


def corpus_build(count: int, processes: int) -> Corpus:
    """Built on every core: 10,000 e-mails take about a minute on one."""
    with ProcessPoolExecutor(max_workers=processes) as pool:
        built = list(pool.map(corpus_mail, range(count), chunksize=250))
    return Corpus([raw for raw, _cufe in built], [cufe for _raw, cufe in built])


# --- The children -----------------------------------------------------------------------------


def _peak_rss_kb() -> int:
    """This process's own high-water mark. Not getrusage(RUSAGE_SELF): Linux carries ru_maxrss
    over execve, so a child would report the peak of the benchmark process that started it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_seconds(who: int) -> float:
    """User + system CPU: steadier than wall time on a machine others are using too."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _workers_peak_rss_kb() -> int:
    """The largest peak of the parse workers this process started and reaped (forked after
    exec, so the carry-over above does not apply; their shared pages count in full)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def bare_child(
    host: str, port: int, user: str, ca_bundle: str, batch: int, trace: bool
) -> dict[str, Any]:
    """Log in and download every body in UID batches; nothing else (the reference rate).

    `trace` False turns off the imaplib wire trace imapclient switches on, as the fetch does:
    the stricter reference."""
    from imapclient import IMAPClient

    token = os.environ["BENCH_ACCESS_TOKEN"]
    context = ssl.create_default_context(cafile=ca_bundle)
    start = time.perf_counter()
    client = IMAPClient(host, port=port, ssl=True, ssl_context=context)
    if not trace:
        client._imap.debug = 0
    client.oauth2_login(user, token)
    client.select_folder("INBOX", readonly=True)
    uids = sorted(client.search(["ALL"]))
    messages = total = 0
    for first in range(0, len(uids), batch):
        for data in client.fetch(uids[first : first + batch], ["BODY.PEEK[]"]).values():
            messages += 1
            total += len(data[b"BODY[]"])
    client.logout()
    return {
        "elapsed": time.perf_counter() - start,
        "messages": messages,
        "bytes": total,
        "rss_kb": _peak_rss_kb(),
        "cpu": _cpu_seconds(resource.RUSAGE_SELF),
    }


def count_imap_commands() -> Counter:
    """Count tagged IMAP commands (each one waits for its tagged answer: one round trip) and
    connections, by wrapping imaplib, which imapclient sends every command through."""
    counts: Counter = Counter()
    new_tag = imaplib.IMAP4._new_tag
    complete = imaplib.IMAP4._command_complete
    connect = imaplib.IMAP4._connect

    def counting_new_tag(self: imaplib.IMAP4) -> bytes:
        counts["commands"] += 1
        return new_tag(self)

    def counting_complete(self: imaplib.IMAP4, name: str, tag: bytes) -> Any:
        counts[f"command {name.upper()}"] += 1
        return complete(self, name, tag)

    def counting_connect(self: imaplib.IMAP4) -> None:
        counts["connections"] += 1
        connect(self)

    imaplib.IMAP4._new_tag = counting_new_tag  # type: ignore[method-assign]
    imaplib.IMAP4._command_complete = counting_complete  # type: ignore[method-assign]
    imaplib.IMAP4._connect = counting_connect  # type: ignore[method-assign]
    return counts


def fetch_child(nit: str, processes: int, max_messages: int) -> dict[str, Any]:
    """`manage.py mailbox_fetch` in this process, with its IMAP commands counted."""
    import django

    from manage import pause_collector_during_setup

    pause_collector_during_setup()  # as manage.py starts every command
    django.setup()
    from django.core.management import call_command

    counts = count_imap_commands()
    output = io.StringIO()
    profile_path = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_path else None
    cpu_before = _cpu_seconds(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    call_command(
        "mailbox_fetch",
        organization=nit,
        processes=processes,
        max_messages=max_messages,
        stdout=output,
        skip_checks=False,  # the command's own checks, as `manage.py` runs them
    )
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{profile_path}.{max_messages}")
    return {
        "elapsed": time.perf_counter() - start,
        "output": output.getvalue(),
        "imap": dict(counts),
        "rss_kb": _peak_rss_kb(),
        "workers_rss_kb": _workers_peak_rss_kb(),
        "cpu": _cpu_seconds(resource.RUSAGE_SELF) - cpu_before,
        "workers_cpu": _cpu_seconds(resource.RUSAGE_CHILDREN),
    }


def db_child(action: str, data: dict[str, Any]) -> dict[str, Any]:
    """The benchmark's own database work, in a child: each setup has its own database and
    storage, and only a fresh process reads them from its environment."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if action == "setup":
        call_command("migrate", verbosity=0)
        return {"status": _configure(data)}
    if action == "reset":
        tables = [
            "invoices_documenttax",
            "invoices_receiveddocument",
            "reception_incomingmessage",
            "reception_folderstate",
            "reception_fetchrun",
        ]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            else:
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        return {}
    from invoices.models import ReceivedDocument
    from reception.models import IncomingMessage, MessageOutcome

    rows = IncomingMessage.objects.all()
    outcomes = Counter(rows.values_list("outcome", flat=True))
    return {
        "found": {
            "messages": rows.count(),
            "documents": ReceivedDocument.objects.count(),
            "duplicates": outcomes[MessageOutcome.DUPLICATE],
            "not_dian": outcomes[MessageOutcome.NOT_DIAN],
        },
        "outcomes": dict(outcomes),
        "cufes": sorted(ReceivedDocument.objects.values_list("cufe", flat=True)),
    }


def _configure(data: dict[str, Any]) -> str:
    from organizations.services import organization_add
    from reception.services import mailbox_configure

    organization, _created = organization_add(nit=BUYER_NIT, name="COMERCIALIZADORA ANDINA S.A.S.")
    mailbox = mailbox_configure(
        organization=organization,
        data={
            "server_type": "outlook_modern",
            "protocol": "imap",
            "host": data["host"],
            "port": data["port"],
            "security": "ssl",
            "username": MAILBOX,
            "password": "",
            "tenant_id": data["tenant_id"],
            "client_id": data["client_id"],
            "object_id": data["object_id"],
            "secret": data["secret"],
            "secret_expires_on": None,
            "notification_email": "ti@andina-bench.test",
            "backup_email": "",
        },
        source="benchmark",
    )
    return str(mailbox.status)


def run_child(env: dict[str, str], *arguments: str, spy: str | None = None) -> dict[str, Any]:
    """Run this script in child mode; its last output line is a JSON report.

    Adds the whole process's wall time and CPU (interpreter and Django start, parse workers
    included) as "process_elapsed" and "process_cpu". With `spy` (a py-spy executable and an
    output path) the child runs under py-spy.
    """
    command = [sys.executable, __file__, "--child", *arguments]
    if spy:
        executable, output = spy.split(":", 1)
        command = [
            executable,
            "record",
            "--rate",
            "400",
            "--format",
            "raw",
            "-o",
            output,
            "--",
            *command,
        ]
    cpu_before = _cpu_seconds(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"child {arguments[0]} failed:\n{process.stdout}\n{process.stderr}")
    reports = [line for line in process.stdout.splitlines() if line.startswith("{")]
    outcome = json.loads(reports[-1])
    outcome["process_elapsed"] = elapsed
    outcome["process_cpu"] = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before
    return outcome


#: The stages of one fetch, as the functions that do them (cumulative time in the profile).
#: The next batch's bodies are asked for before a batch is handed over, and read in by the first
#: IMAP command after that: the iterator's next read, or a MOVE that comes first.
STAGES = (
    ("download: every batch's bodies read in", "imap.py", "_read_asked"),
    ("download: in the batch iterator (sizes, bodies)", "fetching.py", "_imap_batches"),
    ("store: raw bytes", "storage.py", "content_save"),
    ("parse: waiting for the pool", "processing.py", "_collect"),
    ("record: decisions (known CUFEs, buyer, checks)", "services.py", "documents_plan"),
    ("record: ledger rows, decided", "rows.py", "values_insert_loaded"),
    ("record: documents, taxes, note links", "services.py", "documents_write"),
    ("record: whole (the above, cursor, commit)", "fetching.py", "_record"),
    ("move on the server", "fetching.py", "_imap_move"),
    ("the whole fetch", "fetching.py", "mailbox_fetch"),
)


def stage_profile(path: str) -> str:
    """One profiled run's time per stage (cumulative, main thread), for the report."""
    import pstats

    stats = pstats.Stats(path).stats  # type: ignore[attr-defined]
    lines = []
    for label, filename, function in STAGES:
        total = sum(
            entry[3]
            for (file, _line, name), entry in stats.items()
            if name == function and file.endswith(filename)
        )
        lines.append(f"    {label:<46} {total:7.2f} s")
    return "\n".join(lines)


# --- The benchmark ----------------------------------------------------------------------------


@dataclass
class Trial:
    bare: dict[str, Any]
    bare_quiet: dict[str, Any]
    fetch: dict[str, Any]
    idle: dict[str, Any]


@dataclass
class Results:
    setup: str
    count: int
    trials: list[Trial] = field(default_factory=list)
    profile: str = ""

    def bare_rate(self, step: str = "bare") -> float:
        return median([self.count / getattr(t, step)["elapsed"] for t in self.trials])

    def fetch_rate(self, key: str = "elapsed") -> float:
        return median([self.count / t.fetch[key] for t in self.trials])

    def _ratios(self, key: str, step: str) -> list[float]:
        """Each trial's ratio: both rates of one trial saw the same machine load."""
        return [getattr(t, step)[key] / t.fetch[key] for t in self.trials]

    def ratio(self, key: str = "elapsed", step: str = "bare") -> float:
        return median(self._ratios(key, step))

    def ratio_spread(self, key: str = "elapsed") -> str:
        """The lowest and highest trial's ratio: one cell's swing, beside its median."""
        ratios = self._ratios(key, "bare")
        return f"{min(ratios):.2f}–{max(ratios):.2f}"

    def cpu_ms(self, step: str, key: str) -> float:
        return median([getattr(t, step)[key] / self.count * 1000 for t in self.trials])

    def rss_mb(self, key: str = "rss_kb", step: str = "fetch") -> float:
        return median([getattr(t, step)[key] / 1024 for t in self.trials])

    def idle_commands(self) -> int:
        return int(median([t.idle["imap"].get("commands", 0) for t in self.trials]))

    def idle_seconds(self) -> float:
        return median([t.idle["elapsed"] for t in self.trials])


@dataclass
class Setup:
    """One database on one storage: its own VAR_DIR (SQLite file, stored mail and documents)."""

    database: str
    storage: str
    root: Path
    env: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.database}/{self.storage}"


class Bench:
    """The harness, and per setup the database and the one mailbox every trial reuses."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        from tests.harness import start_harness

        self.args = args
        self.workdir = workdir
        self.harness = start_harness(workdir / "pki")
        self.guide = None
        self.setups: list[Setup] = []
        self.roots: list[Path] = []
        self.postmaster: int | None = None

    def setup(self) -> None:
        dovecot, entra = self.harness.dovecot, self.harness.entra
        assert dovecot.ports is not None
        dovecot.add_user(MAILBOX)
        self.guide = entra.configure_like_guide(MAILBOX)
        guide = {
            "host": dovecot.host,
            "port": dovecot.ports.imaps,
            "tenant_id": self.guide.tenant_id,
            "client_id": self.guide.client_id,
            "object_id": self.guide.app.enterprise_object_id,
            "secret": self.guide.client_secret,
        }
        places = {"tmpfs": self.args.workdir, "disk": self.args.disk_workdir}
        for storage in self.args.storages:
            root = Path(tempfile.mkdtemp(prefix="recepcion-ingestion-", dir=places[storage]))
            self.roots.append(root)
            for database in self.args.databases:
                var_dir = root / database
                var_dir.mkdir()
                if database == "sqlite":
                    url = f"sqlite:///{var_dir / 'db.sqlite3'}"
                else:
                    url = f"{self.args.database_url}_{storage}"
                    database_recreate(url)
                    self.postmaster = postmaster_pid(url)
                env = benchmark_environment(
                    database_url=url,
                    var_dir=var_dir,
                    authority_host=entra.url,
                    ca_bundle=str(self.harness.pki.ca_pem),
                    mail_hosts=dovecot.allowed_mail_hosts,
                )
                env["RECEPTION_FETCH_BATCH_SIZE"] = str(self.args.batch_size)
                setup = Setup(database, storage, var_dir, env)
                status = run_child(env, "db", "setup", json.dumps(guide))["status"]
                if status != "active":
                    raise SystemExit(f"{setup.label}: the mailbox did not pass its check: {status}")
                self.setups.append(setup)

    def reset(self, setup: Setup, corpus: Corpus, count: int, trial: str) -> None:
        """Empty the ledger and the mailbox, seed N e-mails, and give the trial a new storage
        directory. The previous trials' files stay until the end: deleting thousands of files
        slows the next burst of file creation on this disk."""
        run_child(setup.env, "db", "reset", "{}")
        setup.env["MEDIA_ROOT"] = str(setup.root / f"media-{count}-{trial}")
        self.harness.dovecot.reset_user(MAILBOX)
        self.harness.dovecot.deliver_many(MAILBOX, corpus.raws[:count])

    def bare(self, setup: Setup, *, trace: bool = True) -> dict[str, Any]:
        dovecot = self.harness.dovecot
        assert dovecot.ports is not None
        token = self.harness.entra.issue_token(self.guide.tenant, self.guide.app)
        env = {**setup.env, "BENCH_ACCESS_TOKEN": token}
        arguments = [dovecot.host, str(dovecot.ports.imaps), MAILBOX, str(self.harness.pki.ca_pem)]
        return self._serving(
            setup,
            lambda: run_child(env, "bare", *arguments, str(self.args.batch_size), str(int(trace))),
        )

    def _serving(self, setup: Setup, child: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a child and add the mail server's CPU meanwhile ("server_cpu") and, on a local
        PostgreSQL, the database server's ("database_cpu": every backend's, ours alone only on
        a machine nothing else uses)."""
        servers = {"server_cpu": self.harness.dovecot.process_group, "database_cpu": None}
        if setup.database == "postgresql":
            servers["database_cpu"] = self.postmaster
        before = {key: tree_cpu_seconds(root) for key, root in servers.items()}
        outcome = child()
        for key, root in servers.items():
            outcome[key] = tree_cpu_seconds(root) - before[key]
        return outcome

    def fetch(self, setup: Setup, count: int, *, profile: str | None = None) -> dict[str, Any]:
        env, spy = setup.env, None
        if profile and self.args.py_spy:
            spy = f"{self.args.py_spy}:{self.args.py_spy_output}.{count}.{time.time_ns()}"
        elif profile:
            env = {**env, "BENCH_PROFILE": profile}
        arguments = (BUYER_NIT, str(self.args.processes), str(count))
        return self._serving(setup, lambda: run_child(env, "fetch", *arguments, spy=spy))

    def verify(self, setup: Setup, corpus: Corpus, count: int) -> None:
        """Correctness first: every e-mail recorded once, one document per CUFE, INBOX empty."""
        from reception.transports.imap import FOLDER_NOT_ELECTRONIC, FOLDER_PROCESSED

        answer = run_child(setup.env, "db", "verify", "{}")
        expected = corpus.expected(count)
        problems = []
        if answer["found"] != expected:
            problems.append(
                f"expected {expected}, found {answer['found']}, outcomes {answer['outcomes']}"
            )
        if set(answer["cufes"]) != {cufe for cufe in corpus.cufes[:count] if cufe}:
            problems.append("the registered CUFEs differ from the corpus's")
        dovecot = self.harness.dovecot
        inbox = dovecot.message_count(MAILBOX)
        processed = dovecot.message_count(MAILBOX, FOLDER_PROCESSED)
        not_electronic = dovecot.message_count(MAILBOX, FOLDER_NOT_ELECTRONIC)
        if inbox or processed + not_electronic != count:
            problems.append(f"INBOX {inbox}, processed {processed}, other {not_electronic}")
        if problems:
            raise SystemExit(f"{setup.label}: incorrect result:\n" + "\n".join(problems))

    def trial(self, setup: Setup, corpus: Corpus, count: int, trial: str, profile=None) -> Trial:
        self.reset(setup, corpus, count, trial)
        bare = self.bare(setup)
        assert bare["messages"] == count, bare
        bare_quiet = self.bare(setup, trace=False)
        assert bare_quiet["messages"] == count, bare_quiet
        fetch = self.fetch(setup, count, profile=profile)
        self.verify(setup, corpus, count)
        idle = self.fetch(setup, count)
        self.verify(setup, corpus, count)
        return Trial(bare, bare_quiet, fetch, idle)

    def close(self) -> None:
        self.harness.close()
        for root in self.roots:
            shutil.rmtree(root, ignore_errors=True)


def run(args: argparse.Namespace) -> list[Results]:
    # The project's bytecode, as a deployment has it and pip gave the packages the bare loop uses.
    subprocess.run(["make", "-s", "-C", str(ROOT), "bytecode"], check=True)
    workdir = Path(tempfile.mkdtemp(prefix="recepcion-ingestion-bench-", dir=args.workdir))
    bench = Bench(args, workdir)
    try:
        bench.setup()
        started = time.perf_counter()
        corpus = corpus_build(max(args.n), processes=os.cpu_count() or 1)
        average = sum(map(len, corpus.raws)) / len(corpus.raws)
        took = time.perf_counter() - started
        print(
            f"built {len(corpus.raws)} e-mails of {average:,.0f} bytes on average in {took:.0f} s;"
            f" {load_average()}",
            flush=True,
        )
        results = []
        for count in args.n:
            by_setup = {setup.label: Results(setup.label, count) for setup in bench.setups}
            # Interleaved: every setup's k-th trial runs before any setup's (k+1)-th.
            for trial in range(1, args.repeat + 1):
                for setup in bench.setups:
                    done = bench.trial(setup, corpus, count, str(trial))
                    by_setup[setup.label].trials.append(done)
                    _print_trial(setup, count, trial, done)
            if args.profile:
                # One more run per setup under cProfile, not counted in the medians.
                for setup in bench.setups:
                    path = f"{args.profile}.{setup.database}-{setup.storage}"
                    bench.trial(setup, corpus, count, "profiled", profile=path)
                    if not args.py_spy:  # sampled instead: its stacks are in --py-spy-output
                        by_setup[setup.label].profile = stage_profile(f"{path}.{count}")
            results.extend(by_setup.values())
        if args.show_commands:
            for result in results:
                print(f"{result.setup} N={result.count} fetch:", result.trials[-1].fetch["imap"])
                print(f"{result.setup} N={result.count} idle: ", result.trials[-1].idle["imap"])
        return results
    finally:
        bench.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _print_trial(setup: Setup, count: int, trial: int, done: Trial) -> None:
    bare, quiet, fetch, idle = done.bare, done.bare_quiet, done.fetch, done.idle

    def ms(outcome: dict[str, Any], key: str) -> str:
        return f"{outcome[key] / count * 1000:.2f}"

    print(
        f"{setup.label:<18} N={count:>6} trial {trial}: bare {count / bare['elapsed']:6.0f}/s"
        f" (trace off {count / quiet['elapsed']:.0f}/s),"
        f" fetch {count / fetch['elapsed']:5.0f}/s (ratio {bare['elapsed'] / fetch['elapsed']:.2f};"
        f" whole processes {bare['process_elapsed'] / fetch['process_elapsed']:.2f}:"
        f" {bare['process_elapsed']:.2f} s against {fetch['process_elapsed']:.2f} s;"
        f" to trace-off bare {quiet['elapsed'] / fetch['elapsed']:.2f}),"
        f" CPU ms/msg {ms(fetch, 'cpu')} + {ms(fetch, 'workers_cpu')} workers"
        f" + {ms(fetch, 'server_cpu')} mail server + {ms(fetch, 'database_cpu')} PostgreSQL"
        f" (bare {ms(bare, 'cpu')} + {ms(bare, 'server_cpu')} mail server),"
        f" {fetch['rss_kb'] / 1024:.0f} MB,"
        f" idle {idle['imap'].get('commands')} commands; {load_average()}",
        flush=True,
    )


def report(results: list[Results], args: argparse.Namespace) -> None:
    width = 14
    print()
    print(
        f"mailbox_fetch --processes {args.processes}, batches of {args.batch_size}, "
        f"median of {args.repeat}, interleaved; {load_average()}"
    )
    print(f"{'':<40}" + "".join(f"{r.setup:>{width + 4}}" for r in results))
    print(f"{'':<40}" + "".join(f"{f'N={r.count:,}':>{width + 4}}" for r in results))

    def row(label: str, values: list[str]) -> None:
        print(f"{label:<40}" + "".join(f"{value:>{width + 4}}" for value in values))

    row("bare imapclient fetch, msg/s", [f"{r.bare_rate():,.0f}" for r in results])
    row("  imaplib's trace off, msg/s", [f"{r.bare_rate('bare_quiet'):,.0f}" for r in results])
    row("mailbox_fetch, msg/s", [f"{r.fetch_rate():,.0f}" for r in results])
    row("ratio to bare (in-process times)", [f"{r.ratio():.2f}" for r in results])
    row("  lowest–highest trial", [r.ratio_spread() for r in results])
    row("ratio, whole processes", [f"{r.ratio('process_elapsed'):.2f}" for r in results])
    row("  lowest–highest trial", [r.ratio_spread("process_elapsed") for r in results])
    row("ratio to trace-off bare", [f"{r.ratio(step='bare_quiet'):.2f}" for r in results])
    row(
        "  whole processes",
        [f"{r.ratio('process_elapsed', 'bare_quiet'):.2f}" for r in results],
    )
    row("fetch CPU ms/msg, process", [f"{r.cpu_ms('fetch', 'cpu'):.2f}" for r in results])
    row("  + parse workers", [f"{r.cpu_ms('fetch', 'workers_cpu'):.2f}" for r in results])
    row("  whole process + workers", [f"{r.cpu_ms('fetch', 'process_cpu'):.2f}" for r in results])
    row("  the mail server meanwhile", [f"{r.cpu_ms('fetch', 'server_cpu'):.2f}" for r in results])
    row("  PostgreSQL meanwhile", [f"{r.cpu_ms('fetch', 'database_cpu'):.2f}" for r in results])
    row("bare CPU ms/msg", [f"{r.cpu_ms('bare', 'cpu'):.2f}" for r in results])
    row("  imaplib's trace off", [f"{r.cpu_ms('bare_quiet', 'cpu'):.2f}" for r in results])
    row("  the mail server meanwhile", [f"{r.cpu_ms('bare', 'server_cpu'):.2f}" for r in results])
    row("bare peak RSS, MB", [f"{r.rss_mb(step='bare'):.0f}" for r in results])
    row("mailbox_fetch peak RSS, MB", [f"{r.rss_mb():.0f}" for r in results])
    if args.processes > 1:
        row(
            "  a parse worker's peak RSS, MB",
            [f"{r.rss_mb('workers_rss_kb'):.0f}" for r in results],
        )
    row("idle re-run, IMAP commands", [str(r.idle_commands()) for r in results])
    row("idle re-run, ms", [f"{r.idle_seconds() * 1000:.0f}" for r in results])
    counts = sorted({r.count for r in results})
    if len(counts) >= 2:
        for setup in dict.fromkeys(r.setup for r in results):
            mine = {r.count: r for r in results if r.setup == setup}
            small, large = mine[counts[0]], mine[counts[-1]]
            print(
                f"{setup}: peak RSS N={large.count:,} / N={small.count:,}: "
                f"{large.rss_mb() / small.rss_mb():.2f}x (target <= 1.2x)"
            )
    for result in results:
        if result.profile:
            print(f"\nper-stage profile, {result.setup}, N={result.count:,} (one cProfiled run):")
            print(result.profile)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "bare":
            host, port, user, ca_bundle, batch, trace = rest
            outcome = bare_child(host, int(port), user, ca_bundle, int(batch), trace == "1")
        elif kind == "db":
            action, data = rest
            outcome = db_child(action, json.loads(data))
        else:
            nit, processes, max_messages = rest
            outcome = fetch_child(nit, int(processes), int(max_messages))
            from manage import finish

            finish()  # as manage.py ends every command
        print(json.dumps(outcome))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--processes", type=int, default=2, help="mailbox_fetch --processes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100, help="RECEPTION_FETCH_BATCH_SIZE")
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--storages", nargs="+", choices=["tmpfs", "disk"], default=["tmpfs", "disk"]
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL: the databases are this name + _tmpfs / _disk (dropped and created)",
    )
    parser.add_argument(
        "--workdir",
        default=DEFAULT_WORKDIR,
        help="tmpfs: the harness, and the tmpfs setups' VAR_DIR (see _common.py)",
    )
    parser.add_argument("--disk-workdir", default=DEFAULT_DISK_WORKDIR, help="the disk setups'")
    parser.add_argument("--profile", help="one more cProfiled fetch per setup into PROFILE.*")
    parser.add_argument(
        "--py-spy", help="a py-spy executable: sample the extra --profile trial instead"
    )
    parser.add_argument("--py-spy-output", default="ingestion-fetch.folded")
    parser.add_argument("--show-commands", action="store_true", help="IMAP commands by name")
    args = parser.parse_args()
    report(run(args), args)


if __name__ == "__main__":
    main()
