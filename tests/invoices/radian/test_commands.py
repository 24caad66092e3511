"""`dian_configure`, `radian_send` and `radian_event_xml`: the issue's options and exit codes."""

from __future__ import annotations

import json

import pytest

from invoices.dian.xades import verify_event
from invoices.models import DianCredentials, RadianEvent, ReviewStatus
from tests.commands import run_command
from tests.factories.documents import ReceivedDocumentFactory
from tests.harness.dian_pki import P12_PASSWORD
from tests.invoices.radian.helpers import configure_dian, credentials_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def p12_path(tmp_path, org_a, dian_signing_ca):
    path = tmp_path / "firma.p12"
    path.write_bytes(dian_signing_ca.pkcs12(nit=org_a.nit))
    return path


def configure(org, stdin: dict, monkeypatch, capsys):
    return run_command(
        ["dian_configure", "--organization", org.nit],
        stdin=json.dumps(stdin),
        monkeypatch=monkeypatch,
        capsys=capsys,
    )


def test_dian_configure_saves_and_never_prints_secrets(org_a, p12_path, monkeypatch, capsys):
    data = credentials_data(certificate_path=str(p12_path), software_pin="P1N-7788")
    result = configure(org_a, data, monkeypatch, capsys)
    assert result.status == 0, result.stderr
    assert "Credenciales DIAN guardadas" in result.stdout
    assert "P1N-7788" not in result.stdout + result.stderr
    assert P12_PASSWORD not in result.stdout + result.stderr
    assert org_a.dian_credentials.software_pin == "P1N-7788"


def test_dian_configure_refuses_with_2_and_saves_nothing(org_a, p12_path, monkeypatch, capsys):
    result = configure(
        org_a,
        credentials_data(certificate_path=str(p12_path), certificate_password="mala"),
        monkeypatch,
        capsys,
    )
    assert result.status == 2
    assert result.stderr.startswith("certificate_path: No se pudo abrir el certificado")
    assert not DianCredentials.objects.exists()


@pytest.mark.parametrize(
    ("stdin", "line"),
    [
        ({"certificate_path": "/no/existe.p12"}, "certificate_path: no se pudo leer"),
        ({"pin": "1"}, "pin: clave desconocida."),
        ({"software_id": 5}, "software_id: debe ser texto."),
    ],
)
def test_dian_configure_names_the_key(org_a, monkeypatch, capsys, stdin, line) -> None:
    result = configure(org_a, stdin, monkeypatch, capsys)
    assert result.status == 2
    assert line in result.stderr
    assert not DianCredentials.objects.exists()


@pytest.fixture
def ready(dian_settings, fake_dian, org_a, dian_signing_ca):
    configure_dian(org_a, dian_signing_ca, fake=fake_dian)
    return ReceivedDocumentFactory(organization=org_a)


def send(org, invoice, code, monkeypatch, capsys, *extra):
    return run_command(
        [
            "radian_send",
            "--organization",
            org.nit,
            "--document",
            invoice.cufe,
            "--code",
            code,
            *extra,
        ],
        monkeypatch=monkeypatch,
        capsys=capsys,
    )


def test_radian_send_exits_0_when_registered(ready, org_a, monkeypatch, capsys) -> None:
    result = send(org_a, ready, "030", monkeypatch, capsys)
    assert result.status == 0, result.stderr
    assert "Registrado" in result.stdout
    ready.refresh_from_db()
    assert ready.review_status == ReviewStatus.ACKNOWLEDGED


def test_radian_send_takes_a_claim_with_its_reason(ready, org_a, monkeypatch, capsys) -> None:
    send(org_a, ready, "030", monkeypatch, capsys)
    send(org_a, ready, "032", monkeypatch, capsys)
    without_reason = send(org_a, ready, "031", monkeypatch, capsys, "--concept", "02")
    assert without_reason.status == 2
    assert "motivo" in without_reason.stderr
    result = send(
        org_a, ready, "031", monkeypatch, capsys, "--concept", "02", "--note", "Faltó mercancía."
    )
    assert result.status == 0, result.stderr
    ready.refresh_from_db()
    assert ready.review_status == ReviewStatus.CLAIMED


def test_radian_send_exits_1_when_dian_rejects(
    dian_settings, fake_dian, org_a, dian_signing_ca, monkeypatch, capsys
) -> None:
    configure_dian(org_a, dian_signing_ca, fake=fake_dian, software_pin="99999")
    invoice = ReceivedDocumentFactory(organization=org_a)
    result = send(org_a, invoice, "030", monkeypatch, capsys)
    assert result.status == 1
    assert "Regla: AAD06" in result.stderr


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        (["--code", "034"], "--code: usa 030, 031, 032 o 033."),
        (["--code", "031"], "--concept: un reclamo (031) necesita el concepto"),
        (["--code", "030", "--concept", "01"], "--concept: solo un reclamo"),
        (["--code", "032"], "--code: El evento 032 no procede"),
    ],
)
def test_radian_send_exits_2_when_invalid(ready, org_a, monkeypatch, capsys, extra, line):
    result = run_command(
        ["radian_send", "--organization", org_a.nit, "--document", ready.cufe, *extra],
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert result.status == 2
    assert line in result.stderr
    assert not RadianEvent.objects.exists()


def test_radian_send_refuses_an_unknown_document(ready, org_a, monkeypatch, capsys) -> None:
    result = run_command(
        ["radian_send", "--organization", org_a.nit, "--document", "f" * 96, "--code", "030"],
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert (result.status, result.stderr.split(":")[0]) == (2, "--document")


def test_radian_event_xml_prints_the_signed_event(ready, org_a, monkeypatch, capsys) -> None:
    argv = ["radian_event_xml", "--organization", org_a.nit, "--document", ready.cufe]
    missing = run_command([*argv, "--code", "030"], monkeypatch=monkeypatch, capsys=capsys)
    assert missing.status == 2
    send(org_a, ready, "030", monkeypatch, capsys)
    result = run_command([*argv, "--code", "030"], monkeypatch=monkeypatch, capsys=capsys)
    assert result.status == 0
    assert verify_event(result.stdout.strip().encode())
