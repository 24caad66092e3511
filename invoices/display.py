"""How the workspace shows amounts and XML; pure functions, no database."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from invoices.dian.ubl import untrusted_parser

#: Larger files are offered for download only; indenting them would cost more than it helps.
PRETTY_XML_MAX_BYTES = 5 * 1024 * 1024

_CENT = Decimal("0.01")
_TO_COLOMBIAN = str.maketrans({",": ".", ".": ","})


def format_amount(amount: Decimal | None, currency: str) -> str:
    """'$ 1.234.567,89' for pesos; other currencies keep their ISO code: 'USD 1.234,50'."""
    if amount is None:
        return ""
    rounded = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    digits = f"{abs(rounded):,.2f}".translate(_TO_COLOMBIAN)
    symbol = "$" if currency in ("", "COP") else currency
    sign = "-" if rounded < 0 else ""
    return f"{sign}{symbol} {digits}"


@dataclass(frozen=True)
class XmlPart:
    title: str
    text: str


def _safe_parser() -> etree.XMLParser:
    """The parser's locks (supplier XML is untrusted input), indenting-friendly."""
    return untrusted_parser(remove_blank_text=True, strip_cdata=False)


def pretty_xml(data: bytes) -> list[XmlPart]:
    """The XML indented, followed by the documents embedded in an AttachedDocument.

    DIAN's AttachedDocument carries the signed invoice and DIAN's ApplicationResponse as text
    inside cbc:Description; an accountant wants to read those, so they are indented too.
    Returns an empty list when the file is too large or not well-formed.
    """
    if len(data) > PRETTY_XML_MAX_BYTES:
        return []
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError:
        return []
    parts = [XmlPart(etree.QName(root).localname, _indented(root))]
    for description in root.iterfind(".//{*}Attachment/{*}ExternalReference/{*}Description"):
        text = (description.text or "").strip()
        if not text.startswith("<"):
            continue
        try:
            embedded = etree.fromstring(text.encode(), parser=_safe_parser())
        except etree.XMLSyntaxError:
            continue
        parts.append(XmlPart(etree.QName(embedded).localname, _indented(embedded)))
    return parts


def _indented(element: etree._Element) -> str:
    return etree.tostring(element, pretty_print=True, encoding="unicode")
