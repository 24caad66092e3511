"""The DIAN credentials' validations, in Spanish, before anything is saved."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.invoices.radian.helpers import credentials_form

pytestmark = pytest.mark.django_db


def errors(form) -> str:
    assert not form.is_valid()
    return " ".join(message for messages in form.errors.values() for message in messages)


def test_it_accepts_a_certificate_of_the_organization(org_a, dian_signing_ca) -> None:
    form = credentials_form(org_a, dian_signing_ca.pkcs12(nit=org_a.nit))
    assert form.is_valid(), form.errors
    assert form.warnings == []


def test_it_refuses_a_wrong_password(org_a, dian_signing_ca) -> None:
    form = credentials_form(
        org_a, dian_signing_ca.pkcs12(nit=org_a.nit), certificate_password="otra"
    )
    assert "la contraseña no corresponde" in errors(form)


def test_it_refuses_a_file_without_private_key(org_a, dian_signing_ca) -> None:
    form = credentials_form(org_a, dian_signing_ca.pkcs12(nit=org_a.nit, with_key=False))
    assert "no trae la llave privada" in errors(form)


def test_it_refuses_expired_and_not_yet_valid_certificates(org_a, dian_signing_ca) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = dian_signing_ca.pkcs12(
        nit=org_a.nit,
        valid_from=now - dt.timedelta(days=400),
        valid_until=now - dt.timedelta(days=1),
    )
    future = dian_signing_ca.pkcs12(nit=org_a.nit, valid_from=now + dt.timedelta(days=3))
    assert "venció" in errors(credentials_form(org_a, expired))
    assert "aún no es válido" in errors(credentials_form(org_a, future))


def test_it_refuses_a_certificate_of_another_nit(org_a, dian_signing_ca) -> None:
    form = credentials_form(org_a, dian_signing_ca.pkcs12(nit="800197268"))
    assert "no lleva el NIT 900123456" in errors(form)


def test_it_warns_when_the_subject_carries_no_nit(org_a, dian_signing_ca) -> None:
    form = credentials_form(org_a, dian_signing_ca.pkcs12(nit=None, name="Firma sin número"))
    assert form.is_valid(), form.errors
    assert "no trae un NIT" in form.warnings[0]


def test_it_requires_certificate_pin_and_test_set_in_habilitacion(org_a) -> None:
    text = errors(credentials_form(org_a, None, software_pin="", test_set_id=""))
    assert "Sube el certificado" in text
    assert "PIN del software" in text
    assert "TestSetId" in text


def test_secrets_are_never_rendered_back(org_a, dian_signing_ca) -> None:
    form = credentials_form(org_a, dian_signing_ca.pkcs12(nit=org_a.nit), software_pin="P1N-7788")
    form.is_valid()
    html = str(form)
    assert "P1N-7788" not in html
    assert "clave-del-certificado" not in html
