"""A hostile corpus generated here: every e-mail is refused with a reason, none stops the batch."""

import base64
import http.server
import io
import os
import random
import threading
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from invoices.dian import Limits, Outcome, ParsedMail, parse_message
from invoices.dian.ubl import _parser
from tests.factories.dian import (
    Attachment,
    build_mail,
    make_document,
    make_email,
    make_pdf,
    make_spec,
    make_zip,
)

SUBJECT = "901019681;SUMINISTROS ANDINOS S.A.S.;FE1001;01;Suministros Andinos"


def _mail_with_zip(archive: bytes, *, subject: str = SUBJECT) -> bytes:
    return make_email(
        subject=subject, attachments=[Attachment("z0901019681.zip", "application/zip", archive)]
    )


def _mail_with_xml(xml: bytes) -> bytes:
    return _mail_with_zip(make_zip([("ad0901019681.xml", xml), ("fv.pdf", make_pdf(size=100))]))


def _refused(raw: bytes, outcome: Outcome, *, limits: Limits | None = None) -> ParsedMail:
    result = parse_message(raw) if limits is None else parse_message(raw, limits=limits)
    assert result.outcome is outcome, (result.outcome, result.reason)
    assert result.reason
    assert result.facts is None
    assert result.xml is None
    return result


def _streamed_zip(name: str, size: int, chunk: bytes = b"\0" * (1 << 20)) -> bytes:
    """A highly compressible entry written in chunks, so the test never holds it inflated."""
    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)
    with archive, archive.open(name, "w", force_zip64=True) as handle:
        for _ in range(size // len(chunk)):
            handle.write(chunk)
    return buffer.getvalue()


# --- ZIP ------------------------------------------------------------------------------------


def _peak_bytes(function, *args, **kwargs):
    """What `function` returns and the most memory it held at once (Python allocations)."""
    tracemalloc.start()
    try:
        result = function(*args, **kwargs)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_zip_bomb_is_refused_without_inflating_it() -> None:
    bomb = _streamed_zip("ad0901019681.xml", 200 << 20)
    assert len(bomb) < 1 << 20
    limits = Limits(max_zip_entry_bytes=8 << 20)
    result, peak = _peak_bytes(_refused, _mail_with_zip(bomb), Outcome.ZIP_UNSAFE, limits=limits)
    # Reading stops at the entry's cap: memory follows the limit, never the bomb's 200 MiB.
    assert peak < 3 * limits.max_zip_entry_bytes, f"{peak} bytes held for a 200 MiB bomb"
    assert "bomba ZIP" in result.reason


def test_total_uncompressed_size_is_bounded() -> None:
    entries = [(f"parte{i}.xml", os.urandom(300_000)) for i in range(4)]
    limits = Limits(max_zip_total_bytes=1_000_000)
    result = _refused(_mail_with_zip(make_zip(entries)), Outcome.ZIP_UNSAFE, limits=limits)
    assert "bomba ZIP" in result.reason


def test_too_many_entries() -> None:
    archive = make_zip([(f"f{i}.txt", b"x") for i in range(100)])
    result = _refused(_mail_with_zip(archive), Outcome.ZIP_UNSAFE)
    assert "demasiados archivos" in result.reason


def test_zip_nested_beyond_the_depth_limit() -> None:
    archive = build_mail().zip_bytes
    for level in range(3):
        archive = make_zip([(f"nivel{level}.zip", archive)])
    result = _refused(_mail_with_zip(archive), Outcome.ZIP_UNSAFE)
    assert "anida" in result.reason


@pytest.mark.parametrize(
    "name",
    ["../../etc/cron.d/x.xml", "/etc/passwd", "factura/../../x.xml", "C:\\Windows\\x.xml", "..\\x"],
)
def test_zip_slip_names_refuse_the_archive(name: str) -> None:
    archive = make_zip([(name, build_mail().xml)])
    result = _refused(_mail_with_zip(archive), Outcome.ZIP_UNSAFE)
    assert "ruta no permitida" in result.reason


def test_encrypted_entry_is_refused() -> None:
    archive = bytearray(make_zip([("ad.xml", build_mail().xml)]))
    central = archive.find(b"PK\x01\x02")
    archive[central + 8] |= 0x1
    result = _refused(_mail_with_zip(bytes(archive)), Outcome.ZIP_UNSAFE)
    assert "cifrados" in result.reason


def test_corrupt_and_truncated_zips() -> None:
    good = build_mail().zip_bytes
    _refused(_mail_with_zip(good[: len(good) // 2]), Outcome.ZIP_INVALID)
    corrupted = bytearray(good)
    corrupted[200] ^= 0xFF
    _refused(_mail_with_zip(bytes(corrupted)), Outcome.ZIP_INVALID)
    _refused(_mail_with_zip(b"esto no es un zip"), Outcome.ZIP_INVALID)


def test_non_dian_zip() -> None:
    archive = make_zip([("nota.txt", b"hola"), ("pedido.xml", b"<pedido><id>1</id></pedido>")])
    result = _refused(_mail_with_zip(archive), Outcome.NOT_DIAN)
    assert "no contiene un documento electrónico DIAN" in result.reason


# --- XML ------------------------------------------------------------------------------------


def test_broken_xml() -> None:
    result = _refused(
        _mail_with_xml(b"<AttachedDocument><cbc:ID>1</AttachedDocument>"), Outcome.XML_INVALID
    )
    assert "XML mal formado" in result.reason


def test_attached_document_without_embedded_document() -> None:
    xml = build_mail().xml
    start = xml.index(b"<cac:Attachment>")
    end = xml.index(b"</cac:Attachment>") + len(b"</cac:Attachment>")
    result = _refused(_mail_with_xml(xml[:start] + xml[end:]), Outcome.XML_INVALID)
    assert "embebida" in result.reason


def test_document_without_cufe() -> None:
    document = (
        make_document(make_spec())
        .replace(b"<cbc:UUID", b"<cbc:Note")
        .replace(b"</cbc:UUID>", b"</cbc:Note>")
    )
    result = _refused(_mail_with_xml(document), Outcome.XML_INVALID)
    assert "CUFE" in result.reason


def test_deeply_nested_xml() -> None:
    deep = b"<Invoice>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</Invoice>"
    result = _refused(_mail_with_xml(deep), Outcome.XML_UNSAFE)
    assert "anidamiento" in result.reason


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><Invoice>&lol9;</Invoice>"
)


def test_billion_laughs_is_refused_before_expanding() -> None:
    result, peak = _peak_bytes(_refused, _mail_with_xml(BILLION_LAUGHS), Outcome.XML_UNSAFE)
    assert peak < 10 << 20, f"{peak} bytes held: the entities were expanded"
    assert "DOCTYPE" in result.reason


def test_doctype_hidden_in_utf16_is_still_refused() -> None:
    xml = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    _refused(_mail_with_xml(xml.encode("utf-16")), Outcome.XML_UNSAFE)


def test_doctype_inside_the_embedded_document_is_refused() -> None:
    xml = build_mail().xml.replace(
        b'<![CDATA[<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        b'<![CDATA[<!DOCTYPE Invoice [<!ENTITY x "y">]>',
        1,
    )
    assert b"<!DOCTYPE Invoice" in xml
    _refused(_mail_with_xml(xml), Outcome.XML_UNSAFE)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secreto.txt"
    path.write_text("CONTENIDO-SECRETO-7f3a9")
    return path


def _xxe(uri: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "{uri}">]>'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
        'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        "<cbc:ID>&xxe;</cbc:ID><cbc:UUID>&xxe;</cbc:UUID></Invoice>"
    ).encode()


def test_xxe_local_file_is_refused_and_nothing_leaks(secret_file: Path) -> None:
    xml = _xxe(secret_file.as_uri())
    result = _refused(_mail_with_xml(xml), Outcome.XML_UNSAFE)
    assert "CONTENIDO-SECRETO" not in repr(result)
    # The parser itself, without the DOCTYPE refusal in front of it, does not read the file.
    root = etree.fromstring(xml, _parser())
    assert b"CONTENIDO-SECRETO" not in etree.tostring(root)
    assert "CONTENIDO-SECRETO" not in "".join(root.itertext())


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b'<!ENTITY leak "FUGA-HTTP">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[str]]]:
    _CountingHandler.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _CountingHandler.hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_local_server_fixture_does_count_requests(local_server: tuple[str, list[str]]) -> None:
    import urllib.request

    url, hits = local_server
    with urllib.request.urlopen(f"{url}/sonda") as response:
        assert response.status == 200
    assert hits == ["/sonda"]


def test_xxe_local_url_is_refused_and_never_fetched(local_server: tuple[str, list[str]]) -> None:
    url, hits = local_server
    entity = _xxe(f"{url}/entidad")
    external_dtd = (
        f'<?xml version="1.0"?><!DOCTYPE Invoice SYSTEM "{url}/dtd"><Invoice>&leak;</Invoice>'
    ).encode()
    parameter = (
        f'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY % p SYSTEM "{url}/param"> %p;]>'
        "<Invoice/>"
    ).encode()
    for xml in (entity, external_dtd, parameter):
        result = _refused(_mail_with_xml(xml), Outcome.XML_UNSAFE)
        assert "FUGA-HTTP" not in repr(result)
        # Straight into the locked-down parser: still no request.
        try:
            root = etree.fromstring(xml, _parser())
        except etree.XMLSyntaxError:
            continue
        assert "FUGA-HTTP" not in "".join(root.itertext())
    assert hits == []


# --- MIME and size --------------------------------------------------------------------------


def test_mail_without_attachment() -> None:
    raw = (
        b"From: alguien@example.test\r\nSubject: Hola\r\nMessage-ID: <x@y>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nSin adjuntos.\r\n"
    )
    result = _refused(raw, Outcome.NOT_DIAN)
    assert "no trae un adjunto ZIP" in result.reason
    assert result.envelope.subject == "Hola"
    assert result.envelope.message_id == "<x@y>"


def test_only_a_pdf_attached() -> None:
    raw = make_email(
        subject=SUBJECT, attachments=[Attachment("fv.pdf", "application/pdf", make_pdf())]
    )
    _refused(raw, Outcome.NOT_DIAN)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\x01\x02 basura binaria sin cabeceras",
        b"Subject: x\r\nContent-Type: multipart/mixed\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n",
        b"Subject: x\r\nContent-Type: multipart/mixed; boundary=nunca\r\n\r\ncuerpo sin partes\r\n",
        b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: application/zip; name=z.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"UEsDB\r\n--b--\r\n",
    ],
)
def test_malformed_mime(raw: bytes) -> None:
    _refused(raw, Outcome.MALFORMED_MIME)


def test_deep_mime_nesting() -> None:
    body = b"Content-Type: text/plain\r\n\r\nhola\r\n"
    for level in range(30):
        boundary = f"b{level}".encode()
        body = (
            b"Content-Type: multipart/mixed; boundary="
            + boundary
            + b"\r\n\r\n--"
            + boundary
            + b"\r\n"
            + body
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
    result = _refused(b"Subject: anidado\r\n" + body, Outcome.MALFORMED_MIME)
    assert "anidamiento" in result.reason


def test_wrong_and_raw_charsets_are_decoded_leniently() -> None:
    mail = build_mail()
    latin1_subject = "901019681;CÁMARA Y AÑO S.A.S.;FE1001;01;Cámara".encode("latin-1")
    raw = mail.raw.replace(
        b"Subject: " + mail.subject.encode(), b"Subject: " + latin1_subject
    ).replace(b"From: =?utf-8?", b"From: =?x-desconocido?")
    result = parse_message(raw)
    assert result.ok, result.reason
    assert result.envelope.subject == "901019681;CÁMARA Y AÑO S.A.S.;FE1001;01;Cámara"
    assert result.subject is not None
    assert result.subject.supplier_name == "CÁMARA Y AÑO S.A.S."
    assert result.envelope.from_address == "facturacion@proveedor.example"
    mislabeled = b"=?utf-8?q?C=C1MARA?="  # latin-1 bytes labelled UTF-8
    raw = mail.raw.replace(b"Subject: " + mail.subject.encode(), b"Subject: " + mislabeled)
    assert parse_message(raw).envelope.subject == "CÁMARA"


def test_broken_date_is_none() -> None:
    mail = build_mail()
    raw = mail.raw.replace(b"Date: Wed, 09 Jul 2025", b"Date: ayer por la tarde")
    result = parse_message(raw)
    assert result.ok
    assert result.envelope.date is None


def test_thirty_megabyte_attachment() -> None:
    blob = random.Random(1).randbytes(30 * 1024 * 1024)
    raw = make_email(subject=SUBJECT, attachments=[Attachment("z.zip", "application/zip", blob)])
    result = _refused(raw, Outcome.TOO_LARGE)
    assert "límite" in result.reason
    assert result.envelope.subject == SUBJECT


def test_attachment_over_its_own_limit() -> None:
    blob = b"PK\x03\x04" + os.urandom(3 * 1024 * 1024)
    raw = make_email(subject=SUBJECT, attachments=[Attachment("z.zip", "application/zip", blob)])
    result = _refused(raw, Outcome.TOO_LARGE, limits=Limits(max_attachment_bytes=2 * 1024 * 1024))
    assert "adjunto" in result.reason


def test_rfc2231_filename_and_octet_stream_zip() -> None:
    mail = build_mail()
    encoded = base64.encodebytes(mail.zip_bytes)
    raw = (
        b"From: f@example.test\r\nSubject: " + mail.subject.encode() + b"\r\n"
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n'
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''factura%20a%C3%B1o.zip\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--x--\r\n"
    )
    result = parse_message(raw)
    assert result.ok, result.reason


def test_random_mutations_never_raise() -> None:
    rng = random.Random(2024)
    base = build_mail(pdf_size=2000).raw
    for _ in range(300):
        mutated = bytearray(base)
        for _ in range(rng.randint(1, 20)):
            position = rng.randrange(len(mutated))
            mutated[position] = rng.randrange(256)
        if rng.random() < 0.3:
            mutated = mutated[: rng.randrange(len(mutated))]
        result = parse_message(bytes(mutated))
        assert isinstance(result.outcome, Outcome)
        assert result.reason
        assert result.outcome is not Outcome.UNEXPECTED, result.reason
