"""Signing certificates for RADIAN events, issued by a test certification authority.

DIAN accepts events signed with certificates from accredited Colombian authorities; the fake
DIAN trusts this CA instead. Certificates carry the organization's NIT in the subject's
serialNumber, as Colombian authorities issue them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

P12_PASSWORD = "clave-del-certificado"


@dataclass(frozen=True)
class SigningCA:
    """A test certification authority that issues signing certificates."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, name: str = "Autoridad de certificación de pruebas") -> SigningCA:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=3650))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, certificate=certificate)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        *,
        nit: str | None,
        name: str = "Comprador de pruebas S.A.S.",
        valid_from: dt.datetime | None = None,
        valid_until: dt.datetime | None = None,
        key_type: str = "rsa",
    ) -> tuple[object, x509.Certificate]:
        """A key and its certificate; `nit=None` leaves the NIT out of the subject."""
        now = dt.datetime.now(dt.UTC)
        key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if key_type == "rsa"
            else ec.generate_private_key(ec.SECP256R1())
        )
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
        if nit is not None:
            attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, nit))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or now - dt.timedelta(days=30))
            .not_valid_after(valid_until or now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .sign(self.key, hashes.SHA256())
        )
        return key, certificate

    def pkcs12(self, password: str = P12_PASSWORD, *, with_key: bool = True, **kwargs) -> bytes:
        """A .p12 as an organization gets it from its authority (key, certificate, CA)."""
        key, certificate = self.issue(**kwargs)
        return pkcs12.serialize_key_and_certificates(
            name=b"firma",
            key=key if with_key else None,
            cert=certificate,
            cas=[self.certificate],
            encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
        )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
