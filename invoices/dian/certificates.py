"""The organization's signing certificate (PKCS#12): opened, judged, never shown.

Errors are Spanish sentences meant for the Back office; none carries the password or the key.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from organizations.nit import normalize_nit

#: Colombian certification authorities (Certicámara, GSE, Andes) put the NIT in the subject's
#: serialNumber, or in this attribute, or in the CN/O text; any of them is read.
_NIT_ATTRIBUTES = (NameOID.SERIAL_NUMBER, x509.ObjectIdentifier("1.3.6.1.4.1.4710.1.3.2"))
_DIGITS = re.compile(r"\d{6,15}")


class CertificateProblem(ValueError):
    """A certificate that cannot sign: the message says why, in Spanish."""


@dataclass(frozen=True)
class SigningIdentity:
    """The private key, its certificate and the chain that came with it."""

    key: rsa.RSAPrivateKey = field(repr=False)
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


def load_pkcs12(data: bytes, password: str) -> SigningIdentity:
    """Open a .p12/.pfx; refuse a wrong password, a file without a key or a non-RSA key."""
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(
            data, password.encode("utf-8") if password else None
        )
    except ValueError as error:
        raise CertificateProblem(
            "No se pudo abrir el certificado: la contraseña no corresponde o el archivo no es "
            "un PKCS#12 (.p12/.pfx)."
        ) from error
    if key is None:
        raise CertificateProblem("El archivo no trae la llave privada del certificado.")
    if certificate is None:
        raise CertificateProblem("El archivo no trae el certificado de la llave privada.")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateProblem("La DIAN exige firmas RSA: la llave del certificado no es RSA.")
    return SigningIdentity(key=key, certificate=certificate, chain=tuple(chain or ()))


def validity_problem(certificate: x509.Certificate, *, now: dt.datetime) -> str | None:
    """Expired or not yet valid at `now`, in Spanish; None when valid."""
    if now < certificate.not_valid_before_utc:
        since = certificate.not_valid_before_utc.date().isoformat()
        return f"El certificado aún no es válido: rige desde el {since}."
    if now > certificate.not_valid_after_utc:
        until = certificate.not_valid_after_utc.date().isoformat()
        return f"El certificado venció el {until}."
    return None


def subject_nits(certificate: x509.Certificate) -> set[str]:
    """Digit runs in the subject that can be a NIT (with or without its check digit)."""
    found: set[str] = set()
    for attribute in certificate.subject:
        value = attribute.value if isinstance(attribute.value, str) else ""
        if attribute.oid in _NIT_ATTRIBUTES or attribute.oid in (
            NameOID.COMMON_NAME,
            NameOID.ORGANIZATION_NAME,
        ):
            for digits in _DIGITS.findall(value.replace(".", "")):
                found.add(digits)
    return found


def nit_match(certificate: x509.Certificate, nit: str) -> bool | None:
    """True when the subject carries `nit`, False when it carries another, None when unknown."""
    wanted = normalize_nit(nit)
    candidates = subject_nits(certificate)
    if not candidates:
        return None
    return any(value == wanted or value[:-1] == wanted for value in candidates)
