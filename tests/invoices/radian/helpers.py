"""Configuring an organization's DIAN credentials the way Back office does, for the tests."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from invoices.models import DianCredentials
from invoices.radian_forms import DianCredentialsForm
from invoices.radian_services import dian_credentials_configure
from tests.harness.dian import FakeDian
from tests.harness.dian_pki import P12_PASSWORD, SigningCA

SOFTWARE_ID = "56f2ae4e-9812-4fad-9255-08fcfcd5ccb0"
SOFTWARE_PIN = "12345"


def credentials_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "certificate_password": P12_PASSWORD,
        "software_id": SOFTWARE_ID,
        "software_pin": SOFTWARE_PIN,
        "environment": "habilitacion",
        "test_set_id": "a1b2c3d4-0000-4000-8000-000000000001",
        "event_prefix": "EV",
        "receiver_name": "Ana María Pérez",
        "receiver_id": "52123456",
        "receiver_job_title": "Almacenista",
        "receiver_department": "Bodega",
    }
    data.update(overrides)
    return data


def credentials_form(
    organization: Any, p12: bytes | None, instance: DianCredentials | None = None, **overrides: Any
) -> DianCredentialsForm:
    files = {"certificate": SimpleUploadedFile("firma.p12", p12)} if p12 is not None else {}
    return DianCredentialsForm(
        credentials_data(**overrides), files, organization=organization, instance=instance
    )


def configure_dian(
    organization: Any, ca: SigningCA, *, fake: FakeDian | None = None, **overrides: Any
) -> DianCredentials:
    """Valid credentials through the form and the service; the fake DIAN knows the software."""
    form = credentials_form(organization, ca.pkcs12(nit=organization.nit), **overrides)
    assert form.is_valid(), form.errors
    if fake is not None:
        fake.register_software(SOFTWARE_ID, SOFTWARE_PIN)
    return dian_credentials_configure(
        organization=organization, data=form.cleaned_data, certificate=form.certificate_bytes
    )
