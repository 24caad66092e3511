"""How many DIAN e-mails per second the pure parser handles: one process, and the fetch's pool.

Run: .venv/bin/python benchmarks/dian_parse.py [N]   (N factory e-mails, default 2000)
The ingestion target is a third of the bare IMAP fetch rate (~2,000 messages/s here).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from invoices.dian.archive import extract_zip
from invoices.dian.checks import document_checks
from invoices.dian.mime import read_envelope, split_headers, walk_leaves
from invoices.dian.parse import document_in_entries, parse_message
from invoices.dian.subject import parse_subject
from invoices.dian.types import DEFAULT_LIMITS
from tests.factories.dian import build_mail


def _timed(label: str, count: int, work: Callable[[], object], repeat: int = 3) -> float:
    """Best of `repeat` runs: steady-state throughput, not the first cold pass."""
    elapsed = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        elapsed = min(elapsed, time.perf_counter() - start)
    print(f"{label:<34} {count / elapsed:>9.0f} messages/s  ({elapsed / count * 1e6:7.0f} µs each)")
    return elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    kinds = ("invoice", "credit_note", "debit_note")
    start = time.perf_counter()
    raws = [
        build_mail(kinds[i % 3], seed=i, number=f"FE{10_000 + i}", pdf_size=34_000).raw
        for i in range(count)
    ]
    built = time.perf_counter() - start
    average = sum(map(len, raws)) / count
    print(f"built {count} e-mails of {average / 1024:.1f} KB average in {built:.1f} s")

    results = [parse_message(raw) for raw in raws]  # warm-up and sanity check
    assert all(result.ok for result in results), {r.reason for r in results}

    _timed("parse_message, 1 process", count, lambda: [parse_message(r) for r in raws])
    # The pool is the fetch's (reception.processing), which needs the project's settings.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "True")
    django.setup()
    from reception.processing import parse_many, parse_pool

    with parse_pool(2) as pool:
        _timed(
            "parse_many, 2 processes",
            count,
            lambda: parse_many(raws, executor=pool, limits=DEFAULT_LIMITS),
        )

    print("per stage (1 process):")
    limits = DEFAULT_LIMITS
    split = [split_headers(raw) for raw in raws]
    _timed("  headers split", count, lambda: [split_headers(raw) for raw in raws])
    envelopes = [read_envelope(headers, 0) for headers, _ in split]
    _timed(
        "  envelope + subject",
        count,
        lambda: [parse_subject(read_envelope(headers, 0).subject) for headers, _ in split],
    )
    leaves = [walk_leaves(headers, body, limits) for headers, body in split]
    _timed("  MIME walk", count, lambda: [walk_leaves(h, b, limits) for h, b in split])
    zips = [next(leaf for leaf in parts if leaf.may_be_zip()) for parts in leaves]
    _timed("  base64 decode", count, lambda: [leaf.decode() for leaf in zips])
    archives = [leaf.decode() for leaf in zips]
    _timed("  ZIP extraction", count, lambda: [extract_zip(data, limits) for data in archives])
    entries = [extract_zip(data, limits) for data in archives]
    _timed("  XML parse + facts", count, lambda: [document_in_entries(e, limits) for e in entries])
    found = [document_in_entries(e, limits) for e in entries]
    subjects = [parse_subject(envelope.subject) for envelope in envelopes]
    _timed(
        "  checks",
        count,
        lambda: [
            document_checks(f.facts, s, has_pdf=True)
            for f, s in zip(found, subjects, strict=True)
            if f
        ],
    )


if __name__ == "__main__":
    main()
