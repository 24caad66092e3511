"""The DIAN credentials form: the admin's and `dian_configure`'s one set of validations.

No network here: the certificate is opened and judged locally (password, key, dates, NIT).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoices.models import DianCredentials, DianEnvironment

#: A PKCS#12 bigger than this is not a signing certificate.
MAX_CERTIFICATE_BYTES = 64 * 1024


class DianCredentialsForm(forms.ModelForm):
    """Certificate, password and PIN are write-only: blank on a change keeps the stored ones.

    The service saves (`dian_credentials_configure`), never `save()`: the certificate is
    stored as it was judged here, with its subject and dates.
    """

    certificate = forms.FileField(
        label=gettext_lazy("Certificado digital (.p12/.pfx)"),
        required=False,
        help_text=gettext_lazy("Déjalo vacío para conservar el certificado guardado."),
    )
    certificate_password = forms.CharField(
        label=gettext_lazy("Contraseña del certificado"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
    )
    software_pin = forms.CharField(
        label=gettext_lazy("PIN del software"),
        required=False,
        max_length=64,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("Déjalo vacío para conservar el PIN guardado."),
    )
    environment = forms.ChoiceField(label=gettext_lazy("Ambiente"), choices=DianEnvironment.choices)
    test_set_id = forms.CharField(label=gettext_lazy("TestSetId"), required=False, max_length=64)
    event_prefix = forms.RegexField(
        label=gettext_lazy("Prefijo de los eventos"),
        regex=r"^[A-Za-z0-9]{1,10}$",
        error_messages={"invalid": gettext_lazy("Usa de 1 a 10 letras o números, sin espacios.")},
    )
    receiver_id = forms.RegexField(
        label=gettext_lazy("Identificación de quien recibe"),
        regex=r"^\d{3,20}$",
        error_messages={"invalid": gettext_lazy("Escribe solo los números del documento.")},
    )

    class Meta:
        model = DianCredentials
        fields = ["organization", *DianCredentials.PLAIN_FIELDS]

    def __init__(self, *args: Any, organization: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stored = self.instance if self.instance.pk else None
        self.organization = organization or (self.stored.organization if self.stored else None)
        if self.organization is not None:
            self.fields.pop("organization", None)
            self.instance.organization = self.organization
        self.warnings: list[str] = []
        self.identity = None
        self.certificate_bytes: bytes | None = None

    def clean_certificate(self) -> bytes | None:
        upload = self.cleaned_data.get("certificate")
        if not upload:
            return None
        if upload.size > MAX_CERTIFICATE_BYTES:
            raise forms.ValidationError(
                _("El archivo es demasiado grande para ser un certificado.")
            )
        return upload.read()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.organization is None:
            self.organization = data.get("organization")
        certificate = data.get("certificate")
        password = data.get("certificate_password") or ""
        if certificate is None and self.stored is None:
            self.add_error("certificate", _("Sube el certificado digital de la organización."))
        if not data.get("software_pin") and self.stored is None:
            self.add_error("software_pin", _("Escribe el PIN del software."))
        if data.get("environment") == DianEnvironment.HABILITACION and not data.get("test_set_id"):
            self.add_error("test_set_id", _("En habilitación la DIAN exige el TestSetId."))
        if certificate is not None and self.organization is not None:
            self._judge_certificate(certificate, password)
        return data

    def _judge_certificate(self, certificate: bytes, password: str) -> None:
        # The certificate stack (cryptography's X.509) loads when a certificate is judged, not
        # with the admin: every command and worker would otherwise pay ~25 ms for it.
        from invoices.dian.certificates import (
            CertificateProblem,
            load_pkcs12,
            nit_match,
            validity_problem,
        )

        try:
            identity = load_pkcs12(certificate, password)
        except CertificateProblem as problem:
            self.add_error("certificate", str(problem))
            return
        problem = validity_problem(identity.certificate, now=timezone.now())
        if problem:
            self.add_error("certificate", problem)
            return
        match = nit_match(identity.certificate, self.organization.nit)
        if match is False:
            self.add_error(
                "certificate",
                _("El certificado no es de %(org)s: su titular no lleva el NIT %(nit)s.")
                % {"org": self.organization.name, "nit": self.organization.nit},
            )
            return
        if match is None:
            self.warnings.append(
                _(
                    "No se pudo saber si el certificado es de la organización: su titular no "
                    "trae un NIT. Revisa que sea el de %(org)s."
                )
                % {"org": self.organization.name}
            )
        self.identity = identity
        self.certificate_bytes = certificate
