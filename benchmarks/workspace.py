"""The accountants' workspace at 2,000 and 200,000 documents: time per request and query counts.

    createdb -h 127.0.0.1 -U postgres recepcion_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recepcion_bench \
        .venv/bin/python benchmarks/workspace.py [--sizes 2000 200000] [--repeat 7]

The database is migrated, emptied of documents and seeded with bulk_create; the sizes are
reached one after the other (the larger one tops up the smaller). Requests go through Django's
test client logged in as a Contador, so the figures include the whole admin (middleware,
templates) but no network or web server.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-secret-key")
os.environ.setdefault("RECEPTION_ENCRYPTION_KEY", "Bench-4tQz8Lw2Nx6Rk9Vm3Hc7Yp1Df5Gj0Ks")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")  # the test client speaks plain HTTP

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from invoices.admin import ReceivedDocumentAdmin  # noqa: E402
from invoices.models import (  # noqa: E402
    DocumentTax,
    DocumentType,
    ReceivedDocument,
    ReviewStatus,
)
from organizations.roles import Role  # noqa: E402
from organizations.services import membership_set, organization_add  # noqa: E402

BATCH = 5000
SUPPLIERS = 800
WORDS = [
    "Andina",
    "Caribe",
    "Pacífico",
    "Llanos",
    "Sabana",
    "Montaña",
    "Café",
    "Cacao",
    "Textiles",
    "Ferretería",
    "Droguería",
    "Transportes",
    "Logística",
    "Servicios",
    "Ingeniería",
    "Construcciones",
    "Alimentos",
    "Papelería",
    "Sistemas",
]
STATUSES = [ReviewStatus.PENDING] * 6 + [
    ReviewStatus.ACKNOWLEDGED,
    ReviewStatus.GOODS_RECEIVED,
    ReviewStatus.ACCEPTED,
    ReviewStatus.CLAIMED,
]


def cufe(index: int) -> str:
    return hashlib.sha384(f"bench-{index}".encode()).hexdigest()


def supplier(index: int) -> tuple[str, str]:
    rng = random.Random(index)
    name = " ".join(rng.sample(WORDS, 3)) + " S.A.S."
    return str(900_000_000 + index * 37), name


def seed(organization, up_to: int) -> None:
    """Add documents (with IVA, and withholdings on every third) until there are `up_to`."""
    start = ReceivedDocument.objects.filter(organization=organization).count()
    rng = random.Random(start)
    first_day = date(2024, 1, 1)
    now = timezone.now()
    for batch_start in range(start, up_to, BATCH):
        documents = []
        for index in range(batch_start, min(batch_start + BATCH, up_to)):
            nit, name = supplier(index % SUPPLIERS)
            base = Decimal(rng.randrange(10_000, 50_000_000)) / 100
            kind = DocumentType.INVOICE if index % 10 else DocumentType.CREDIT_NOTE
            status = STATUSES[index % len(STATUSES)]
            issued = first_day + timedelta(days=index * 1000 // max(up_to, 1))
            documents.append(
                ReceivedDocument(
                    organization=organization,
                    document_type=kind,
                    type_code="01" if kind == DocumentType.INVOICE else "91",
                    number=f"FE{index:08d}",
                    cufe=cufe(index),
                    cufe_scheme="CUFE-SHA384",
                    issue_date=issued,
                    supplier_nit=nit,
                    supplier_name=name,
                    buyer_nit=organization.nit,
                    buyer_name=organization.name,
                    line_extension_amount=base,
                    tax_exclusive_amount=base,
                    tax_inclusive_amount=base * Decimal("1.19"),
                    payable_amount=base * Decimal("1.19"),
                    tax_amount=base * Decimal("0.19"),
                    dian_validated=index % 50 != 0,
                    dian_response_code="02",
                    review_status=status if kind == DocumentType.INVOICE else ReviewStatus.PENDING,
                    goods_received_at=now - timedelta(days=index % 5)
                    if kind == DocumentType.INVOICE and status == ReviewStatus.GOODS_RECEIVED
                    else None,
                )
            )
        created = ReceivedDocument.objects.bulk_create(documents)
        taxes = []
        for document in created:
            base = document.tax_exclusive_amount
            taxes.append(
                DocumentTax(
                    document=document,
                    scheme_id="01",
                    name="IVA",
                    percent=Decimal(19),
                    taxable_amount=base,
                    amount=base * Decimal("0.19"),
                )
            )
            if document.pk % 3 == 0:
                taxes.append(
                    DocumentTax(
                        document=document,
                        scheme_id="06",
                        name="ReteRenta",
                        percent=Decimal("2.5"),
                        taxable_amount=base,
                        amount=base * Decimal("0.025"),
                        is_withholding=True,
                    )
                )
        DocumentTax.objects.bulk_create(taxes, batch_size=BATCH)
        print(f"  seeded {min(batch_start + BATCH, up_to):>7,} documents", end="\r", flush=True)
    print()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # What autovacuum does soon after a load: statistics, and the visibility map that
            # lets counts and page ids come from the indexes alone.
            cursor.execute("VACUUM ANALYZE invoices_receiveddocument, invoices_documenttax")


def measure(client: Client, url: str, repeat: int) -> tuple[float, int]:
    """Median milliseconds over `repeat` requests (after one warm-up) and the query count."""
    assert client.get(url).status_code == 200, url
    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    return statistics.median(timings), len(queries)


def scenarios(size: int, per_page: int) -> dict[str, str]:
    changelist = reverse("admin:invoices_receiveddocument_changelist")
    target = ReceivedDocument.objects.get(cufe=cufe(1000))
    deep_page = max(1, int(size / per_page * 0.9))
    name_words = urlencode({"q": " ".join(target.supplier_name.split()[:2])})
    return {
        "list, page 1": changelist,
        f"list, page at 90% (p={deep_page})": f"{changelist}?p={deep_page}",
        "search CUFE": f"{changelist}?q={target.cufe}",
        "search NIT": f"{changelist}?q={target.supplier_nit}",
        "search name": f"{changelist}?{name_words}",
        "filter deadline close": f"{changelist}?plazo=proximo",
        "document page": reverse("admin:invoices_receiveddocument_change", args=[target.pk]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 200_000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to a dedicated PostgreSQL database (it is emptied)")

    setup_test_environment()
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # The ORM's delete would load every document to honour on_delete; this is a bench copy.
        cursor.execute("TRUNCATE invoices_receiveddocument CASCADE")
    organization, _created = organization_add(nit="900123456-8", name="Benchmark S.A.S.")
    other, _created = organization_add(nit="800197268-4", name="Otra S.A.")
    user_model = get_user_model()
    contador, _created = user_model.objects.get_or_create(username="bench-contador")
    membership_set(user=contador, organization=organization, role=Role.CONTADOR)
    seed(other, 500)  # someone else's documents, which must never show up
    client = Client()
    client.force_login(contador)

    results: dict[str, dict[int, tuple[float, int]]] = {}
    for size in sorted(args.sizes):
        print(f"{connection.vendor}: seeding {size:,} documents")
        started = time.perf_counter()
        seed(organization, size)
        print(f"  in {time.perf_counter() - started:.1f} s")
        for name, url in scenarios(size, ReceivedDocumentAdmin.list_per_page).items():
            key = name.split(" (")[0]
            results.setdefault(key, {})[size] = measure(client, url, args.repeat)

    sizes = sorted(args.sizes)
    header = f"{'':28}" + "".join(f"{f'{size:,} docs':>22}" for size in sizes)
    print("\n" + header + f"{'ratio':>8}")
    for name, by_size in results.items():
        cells = "".join(f"{f'{ms:8.1f} ms {count:3d} q':>22}" for ms, count in by_size.values())
        ratio = by_size[sizes[-1]][0] / by_size[sizes[0]][0]
        print(f"{name:28}{cells}{ratio:7.1f}x")


if __name__ == "__main__":
    main()
