"""Real public DIAN documents (see SOURCES.md beside them), read in place, never copied here."""

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from invoices.dian import DocumentFacts, DocumentType, Outcome, ParsedMail, parse_message
from tests.factories.dian import cufe_from_parts, wrap_sample

REPO = Path(__file__).resolve().parents[3]
SAMPLES = Path(os.environ.get("DIAN_SAMPLES_DIR", REPO.parent / "shared" / "samples" / "dian"))
BOGOTA = dt.timezone(dt.timedelta(hours=-5))
D = Decimal


@dataclass(frozen=True)
class Expected:
    file: str
    kind: DocumentType
    number: str
    cufe_prefix: str
    env: str
    issue_date: dt.date
    supplier: tuple[str, str | None, str]
    buyer_nit: str
    currency: str = "COP"
    customization: str | None = None
    totals: dict[str, Decimal | None] = field(default_factory=dict)
    taxes: list[tuple[str, Decimal | None, Decimal]] = field(default_factory=list)
    withholdings: list[tuple[str, Decimal]] = field(default_factory=list)
    reference: tuple[str, str | None] | None = None
    checks: frozenset[str] = frozenset()


SAMPLE_FACTS = [
    Expected(
        "fv-invoice-SETP990000002-dian-anexo-example-signed.xml",
        DocumentType.INVOICE,
        "SETP990000002",
        "941cf36af62dbbc0",
        "2",
        dt.date(2019, 6, 20),
        ("800197268", "4", "DIAN"),
        "900108281",
        customization="05",
        totals={
            "line_extension_amount": D("12600.06"),
            "tax_exclusive_amount": D("12787.56"),
            "tax_inclusive_amount": D("15024.07"),
            "prepaid_amount": D("1000.00"),
            "payable_amount": D("14024.07"),
        },
        taxes=[
            ("01", D("19"), D("2394.01")),
            ("01", D("16"), D("30.00")),
            ("03", D("0"), D("0")),
            ("04", D("0"), D("0")),
        ],
        reference=("SFR3123856", None),
        checks=frozenset({"no_dian_validation", "test_environment"}),
    ),
    Expected(
        "nc-creditnote-NC3-dian-example-usd-signed.xml",
        DocumentType.CREDIT_NOTE,
        "NC3",
        "da3af05f963db5cf",
        "2",
        dt.date(2019, 6, 21),
        ("800197268", "4", "FACTURADOR DE EJEMPLO"),
        "900108281",
        currency="USD",
        customization="11",
        totals={
            "line_extension_amount": D("12600.06"),
            "tax_inclusive_amount": D("14994.07"),
            "payable_amount": D("14994.07"),
        },
        taxes=[("01", D("19"), D("2394.01")), ("03", D("0"), D("0")), ("04", D("0"), D("0"))],
        reference=("SETP990000015", None),
        checks=frozenset({"no_dian_validation", "test_environment"}),
    ),
    Expected(
        "fv-invoice-PRUE980087365-pccom-habilitacion-2019.xml",
        DocumentType.INVOICE,
        "PRUE980087365",
        "604128a1bbf0a490",
        "2",
        dt.date(2019, 7, 25),
        ("830044858", "9", "PC COM S.A."),
        "830043188",
        totals={
            "line_extension_amount": D("475000.00"),
            "tax_exclusive_amount": D("475000.00"),
            "tax_inclusive_amount": None,
            "payable_amount": D("565250"),
        },
        taxes=[("01", D("19"), D("90250.00"))],
        checks=frozenset(
            {"no_dian_validation", "test_environment", "cufe_format", "nit_check_digit"}
        ),
    ),
    Expected(
        "fv-invoice-SETT0367-habilitacion-iva-inc-consumidor-final.xml",
        DocumentType.INVOICE,
        "SETT0367",
        "119e8e82c61741e0",
        "2",
        dt.date(2024, 6, 28),
        ("1004994836", "0", "PCS CORPORATIVOS"),
        "222222222222",
        totals={
            "line_extension_amount": D("788092.43"),
            "tax_inclusive_amount": D("907000.00"),
            "payable_amount": D("907000.00"),
        },
        taxes=[
            ("04", D("8"), D("4222.22")),
            ("01", D("19"), D("111764.71")),
            ("01", D("5"), D("7142.86")),
        ],
        checks=frozenset({"no_dian_validation", "test_environment"}),
    ),
    Expected(
        "fv-invoice-FVE0001-produccion-iva.xml",
        DocumentType.INVOICE,
        "FVE0001",
        "5ef3031cf8905dc1",
        "1",
        dt.date(2024, 6, 4),
        ("42081594", "2", "471 ECOBRICOLAJE ALEXANDER BERMUDEZ"),
        "891401711",
        totals={
            "line_extension_amount": D("2860000.00"),
            "tax_exclusive_amount": D("2860000.00"),
            "tax_inclusive_amount": D("2860000.00"),
            "payable_amount": D("2860000.00"),
        },
        taxes=[("01", D("0"), D("0.00"))],
        checks=frozenset({"no_dian_validation"}),
    ),
    Expected(
        "nc-creditnote-NC000001-produccion-anula-FVE0001.xml",
        DocumentType.CREDIT_NOTE,
        "NC000001",
        "94522b98992bf3d7",
        "1",
        dt.date(2024, 6, 5),
        ("42081594", "2", "471 ECOBRICOLAJE ALEXANDER BERMUDEZ"),
        "891401711",
        customization="20",
        totals={"payable_amount": D("2860000.00")},
        taxes=[("01", D("0"), D("0.00"))],
        reference=("FVE0001", "5ef3031c"),
        checks=frozenset({"no_dian_validation"}),
    ),
    Expected(
        "fv-invoice-PM00002-produccion-iva-bolsa22.xml",
        DocumentType.INVOICE,
        "PM00002",
        "ec994fb523f766ee",
        "1",
        dt.date(2024, 6, 11),
        ("42028821", "5", "PAPELERIA MODELO LA VIRGINA"),
        "222222222222",
        totals={
            "line_extension_amount": D("21720.59"),
            "tax_inclusive_amount": D("23016.00"),
            "payable_amount": D("23016.00"),
        },
        taxes=[("22", D("0"), D("66.00")), ("01", D("19"), D("1229.40")), ("01", D("0"), D("0"))],
        checks=frozenset({"no_dian_validation"}),
    ),
    Expected(
        "fv-invoice-PEMG19904-produccion-iva-retenciones.xml",
        DocumentType.INVOICE,
        "PEMG19904",
        "53fc5d4e522e3973",
        "1",
        dt.date(2024, 6, 1),
        ("900630128", "1", "MGI COMPUTERS SAS"),
        "901401960",
        totals={
            "line_extension_amount": D("1497478.99"),
            "tax_exclusive_amount": D("1497478.99"),
            "tax_inclusive_amount": D("1781999.97"),
            "payable_amount": D("1781999.97"),
        },
        taxes=[("01", D("19"), D("284521.01"))],
        withholdings=[("06", D("37436.97"))],
        checks=frozenset({"no_dian_validation"}),
    ),
    Expected(
        "nd-debitnote-ND000001-habilitacion.xml",
        DocumentType.DEBIT_NOTE,
        "ND000001",
        "a11bdd1c032787b6",
        "2",
        dt.date(2024, 5, 23),
        ("1004994836", "0", "PCS CORPORATIVOS"),
        "1007441861",
        customization="30",
        totals={"payable_amount": D("20000.00")},
        taxes=[("01", D("0"), D("0.00"))],
        reference=("SETT0143", "8624b189"),
        checks=frozenset({"no_dian_validation", "test_environment"}),
    ),
    Expected(
        "fv-invoice-FE00157-produccion-inc.xml",
        DocumentType.INVOICE,
        "FE00157",
        "6f2cf4e537917a9f",
        "1",
        dt.date(2024, 6, 19),
        ("1088312295", "6", "EL SABOR ANTIOQUEÑO TIPICOS Y PARRILLA"),
        "1001455443",
        totals={
            "line_extension_amount": D("17500.00"),
            "tax_inclusive_amount": D("18900.00"),
            "payable_amount": D("18900.00"),
        },
        taxes=[("04", D("8"), D("1400.00"))],
        checks=frozenset({"no_dian_validation"}),
    ),
    Expected(
        "fv-invoice-DEPE000093-produccion-iva-dos-tarifas.xml",
        DocumentType.INVOICE,
        "DEPE000093",
        "65e9ff506887e2ea",
        "1",
        dt.date(2024, 6, 6),
        ("42028821", "5", "PAPELERIA MODELO LA VIRGINA"),
        "222222222222",
        totals={
            "line_extension_amount": D("11189.08"),
            "tax_inclusive_amount": D("11700.00"),
            "payable_amount": D("11700.00"),
        },
        taxes=[("01", D("19"), D("510.93")), ("01", D("0"), D("0"))],
        checks=frozenset({"no_dian_validation"}),
    ),
]


@pytest.fixture(scope="module")
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"DIAN samples folder not found at {SAMPLES} (set DIAN_SAMPLES_DIR)")
    return SAMPLES


def _parse(path: Path, **wrap_options: object) -> ParsedMail:
    result = parse_message(wrap_sample(path.read_bytes(), **wrap_options))  # type: ignore[arg-type]
    assert result.outcome is Outcome.OK, result.reason
    assert result.facts is not None
    assert result.pdf is not None
    assert result.xml == path.read_bytes()
    return result


def _assert_facts(facts: DocumentFacts, expected: Expected) -> None:
    assert facts.document_type is expected.kind
    assert facts.number == expected.number
    assert facts.cufe.startswith(expected.cufe_prefix)
    assert facts.cufe_scheme == ("CUFE-SHA384" if expected.kind == "invoice" else "CUDE-SHA384")
    assert facts.profile_execution_id == expected.env
    assert facts.is_test_environment is (expected.env == "2")
    assert facts.issue_date == expected.issue_date
    nit, check_digit, name = expected.supplier
    assert (facts.supplier.nit, facts.supplier.check_digit, facts.supplier.name) == (
        nit,
        check_digit,
        name,
    )
    assert facts.buyer.nit == expected.buyer_nit
    assert facts.currency == expected.currency
    if expected.customization:
        assert facts.customization_id == expected.customization
    for attribute, value in expected.totals.items():
        assert getattr(facts, attribute) == value, attribute
    taxes = [(t.scheme_id, t.percent, t.tax_amount) for t in facts.taxes]
    assert taxes == expected.taxes
    assert [(w.scheme_id, w.tax_amount) for w in facts.withholdings] == expected.withholdings
    if expected.reference is not None:
        reference = facts.referenced_invoice
        assert reference is not None
        assert reference.number == expected.reference[0]
        if expected.reference[1]:
            assert reference.cufe is not None
            assert reference.cufe.startswith(expected.reference[1])


@pytest.mark.parametrize("expected", SAMPLE_FACTS, ids=lambda e: e.number)
def test_bare_sample_in_a_dian_mail(samples: Path, expected: Expected) -> None:
    result = _parse(samples / expected.file)
    assert result.facts is not None
    _assert_facts(result.facts, expected)
    assert result.facts.dian_validation is None
    assert {check.code for check in result.checks} == expected.checks
    assert result.subject is not None
    assert result.subject.document_number == expected.number


@pytest.mark.parametrize("expected", SAMPLE_FACTS, ids=lambda e: e.number)
def test_sample_wrapped_in_attached_document(samples: Path, expected: Expected) -> None:
    raw = wrap_sample((samples / expected.file).read_bytes(), attached=True, nested_zip=True)
    result = parse_message(raw)
    assert result.outcome is Outcome.OK, result.reason
    assert result.facts is not None
    _assert_facts(result.facts, expected)
    assert result.facts.is_dian_validated
    assert result.facts.attached_cufe == result.facts.cufe
    assert {check.code for check in result.checks} == expected.checks - {"no_dian_validation"}


def test_attached_document_sample(samples: Path) -> None:
    result = _parse(samples / "ad-attacheddocument-fv-A01E5687-medical-energy-salud-2025.xml")
    facts = result.facts
    assert facts is not None
    assert facts.document_type is DocumentType.INVOICE
    assert facts.number == "A01E5687"
    assert facts.customization_id == "SS-CUFE"
    assert facts.cufe.startswith("e6a0b73d78a9e185")
    assert facts.cufe_scheme == "CUFE-SHA384"
    assert facts.profile_execution_id == "1"
    assert facts.issue_date == dt.date(2025, 7, 9)
    assert facts.issue_time is not None
    assert facts.issue_time.utcoffset() == dt.timedelta(hours=-5)
    assert (facts.supplier.nit, facts.supplier.check_digit, facts.supplier.name) == (
        "901019681",
        "8",
        "MEDICAL ENERGY SAS",
    )
    assert (facts.buyer.nit, facts.buyer.check_digit, facts.buyer.name) == (
        "830003564",
        "7",
        "ENTIDAD PROMOTORA DE SALUD FAMISANAR S A S",
    )
    assert facts.line_extension_amount == D("1120000.00")
    assert facts.tax_exclusive_amount == D("0.00")
    assert facts.tax_inclusive_amount == D("1120000.00")
    assert facts.prepaid_amount == D("64400.00")
    assert facts.payable_amount == D("1055600.00")
    assert facts.taxes == ()
    assert facts.attached_document_id == "0197f015-a06b-8d62-bd23-c9971dfdc3fc"
    assert facts.attached_parent_document_id == "A01E5687"
    assert facts.attached_cufe == facts.cufe
    assert facts.attached_sender is not None
    assert facts.attached_sender.nit == "901019681"
    assert facts.attached_receiver is not None
    assert facts.attached_receiver.nit == "830003564"
    validation = facts.dian_validation
    assert validation is not None
    assert validation.response_code == "02"
    assert validation.validated
    assert validation.description == "Documento validado por la DIAN"
    assert validation.document_cufe == facts.cufe
    assert validation.validation_result_code == "02"
    assert result.checks == ()
    assert result.document_xml is not None
    assert result.document_xml.startswith(b"<Invoice")


def test_sett0367_reproduces_its_cufe_with_the_public_test_key(samples: Path) -> None:
    result = _parse(samples / "fv-invoice-SETT0367-habilitacion-iva-inc-consumidor-final.xml")
    facts = result.facts
    assert facts is not None
    assert facts.issue_time == dt.time(8, 51, 50, tzinfo=BOGOTA)
    assert facts.issued_at == dt.datetime(2024, 6, 28, 8, 51, 50, tzinfo=BOGOTA)
    expected = cufe_from_parts(
        facts.number,
        "2024-06-28",
        "08:51:50-05:00",
        f"{facts.line_extension_amount:.2f}",
        "01",
        f"{facts.tax_total('01'):.2f}",
        "04",
        f"{facts.tax_total('04'):.2f}",
        "03",
        f"{facts.tax_total('03'):.2f}",
        f"{facts.payable_amount:.2f}",
        "1004994836",
        "222222222222",
        "fc8eac422eba16e22ffd8c6f94b3f40a6e38162c",
        "2",
    )
    assert facts.cufe == expected


def test_pccom_quirks(samples: Path) -> None:
    result = _parse(samples / "fv-invoice-PRUE980087365-pccom-habilitacion-2019.xml")
    facts = result.facts
    assert facts is not None
    assert facts.issue_time == dt.time(10, 38, 36)
    assert facts.issue_time.tzinfo is None
    assert len(facts.cufe) == 40
    assert facts.payable_amount == D("565250")
