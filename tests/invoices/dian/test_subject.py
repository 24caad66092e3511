import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoices.dian.subject import parse_subject
from invoices.dian.types import SubjectFields


def test_annex_example() -> None:
    assert parse_subject("890399003;EMCALI EICE ESP;9013287;01;EMCALI") == SubjectFields(
        supplier_nit="890399003",
        supplier_name="EMCALI EICE ESP",
        document_number="9013287",
        document_type_code="01",
        commercial_name="EMCALI",
        business_line=None,
    )


def test_spacing_forward_prefix_check_digit_and_business_line() -> None:
    fields = parse_subject("RV: Fwd: 900.123.456-8 ; ACME S.A.S. ; FE 12 ; 91 ; Acme ; Ventas")
    assert fields is not None
    assert fields.supplier_nit == "900123456"
    assert fields.document_number == "FE 12"
    assert fields.document_type_code == "91"
    assert fields.commercial_name == "Acme"
    assert fields.business_line == "Ventas"


def test_single_digit_code_is_padded() -> None:
    fields = parse_subject("900123456;ACME;FE1;1")
    assert fields is not None
    assert fields.document_type_code == "01"
    assert fields.commercial_name is None


@pytest.mark.parametrize(
    "subject",
    [
        None,
        "",
        "Factura FE1 de ACME",
        "900123456;ACME;FE1",
        "ACME;ACME;FE1;01",
        "1;A;;01",
        "1;A;B;x",
    ],
)
def test_not_a_dian_subject(subject: str | None) -> None:
    assert parse_subject(subject) is None


# --- Properties: any subject written per the annex reads back as written ------------------------

# A field's text: no separator, no surrounding blanks (the parser strips them), not empty.
_FIELD = st.text(
    alphabet=st.characters(blacklist_characters=";", blacklist_categories=("Cs", "Cc", "Zs")),
    min_size=1,
    max_size=30,
).filter(lambda text: text == text.strip())
_PREFIX = st.lists(st.sampled_from(["RV: ", "Fwd: ", "RE:", "TR : ", "enc: ", "FW: "]), max_size=3)
_BLANK = st.sampled_from(["", " ", "  "])


def _dotted(nit: str) -> str:
    """900123456 → 900.123.456, as suppliers often write it."""
    groups = []
    while nit:
        groups.insert(0, nit[-3:])
        nit = nit[:-3]
    return ".".join(groups)


@given(
    nit=st.from_regex(r"\A[1-9][0-9]{5,9}\Z"),
    written=st.sampled_from(["plain", "dotted", "with_digit"]),
    name=_FIELD,
    number=_FIELD,
    code=st.integers(min_value=0, max_value=99),
    pad_code=st.booleans(),
    commercial=st.one_of(st.none(), st.just(""), _FIELD),
    line=st.one_of(st.none(), st.just(""), _FIELD),
    prefixes=_PREFIX,
    blank=_BLANK,
)
def test_any_annex_subject_reads_back_its_fields(
    nit, written, name, number, code, pad_code, commercial, line, prefixes, blank
) -> None:
    shown_nit = {"plain": nit, "dotted": _dotted(nit), "with_digit": f"{nit}-7"}[written]
    fields = [shown_nit, name, number, f"{code:02d}" if pad_code else str(code)]
    if commercial is not None or line is not None:
        fields.append(commercial or "")
    if line is not None:
        fields.append(line)
    subject = "".join(prefixes) + (blank + ";" + blank).join(fields)

    parsed = parse_subject(subject)

    assert parsed == SubjectFields(
        supplier_nit=nit,
        supplier_name=name,
        document_number=number,
        document_type_code=f"{code:02d}",
        commercial_name=commercial or None,
        business_line=line or None,
    )


@given(st.text(max_size=200))
def test_any_text_is_either_refused_or_read_with_the_annex_invariants(text: str) -> None:
    parsed = parse_subject(text)
    if parsed is None:
        return
    assert text.count(";") >= 3
    assert parsed.supplier_nit.isdigit() and parsed.supplier_nit.isascii()
    assert parsed.document_type_code.isdigit() and len(parsed.document_type_code) >= 2
    assert parsed.document_number and parsed.document_number == parsed.document_number.strip()
    assert ";" not in parsed.supplier_name + parsed.document_number


@given(
    nit=st.from_regex(r"\A[0-9]{6,10}\Z"),
    name=_FIELD,
    number=_FIELD,
    code=st.from_regex(r"\A[0-9]{1,2}\Z"),
)
def test_a_subject_missing_any_of_the_first_four_fields_is_refused(nit, name, number, code) -> None:
    fields = [nit, name, number, code]
    for missing in range(4):
        kept = [*fields[:missing], "", *fields[missing + 1 :]]
        if missing == 1:
            continue  # the supplier's name may be blank; the other three identify the document
        assert parse_subject(";".join(kept)) is None, kept
    assert parse_subject(";".join(fields[:3])) is None
