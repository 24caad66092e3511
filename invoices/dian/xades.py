"""XAdES-EPES enveloped signatures of RADIAN events, with DIAN's signature policy (signxml).

DIAN checks that the SignedProperties name its policy (politicadefirmav2, by URL and SHA-256
digest), carry the signing time and the signer certificate's digest, and that the signature
sits in the second ``ext:UBLExtension`` of the document; RSA-SHA256 with SHA-256 digests.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod
from signxml.algorithms import CanonicalizationMethod, SignatureConstructionMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.xades import (
    XAdESSignatureConfiguration,
    XAdESSignaturePolicy,
    XAdESSigner,
    XAdESVerifier,
)

from invoices.dian.ubl import untrusted_parser

NS_DS = "http://www.w3.org/2000/09/xmldsig#"

DIAN_POLICY = XAdESSignaturePolicy(
    Identifier="https://facturaelectronica.dian.gov.co/politicadefirma/v2/politicadefirmav2.pdf",
    Description="Política de firma para facturas electrónicas de la República de Colombia",
    DigestMethod=DigestAlgorithm.SHA256,
    DigestValue="dMoMvtcG5aIzgYo0tIsSQeVJBDnUnfSOfBpxXrmor0Y=",
)


class SignatureRefused(ValueError):
    """A signature that does not verify, or is not DIAN's kind."""


class _DianSigner(XAdESSigner):
    """signxml's XAdES signer with the signing time given, not read from the clock.

    DIAN wants the signing time to match the event's issue date and time (rule AAD09e), and
    tests want it fixed.
    """

    def __init__(self, signing_time: dt.datetime) -> None:
        super().__init__(
            signature_policy=DIAN_POLICY,
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
        )
        self._signing_time = signing_time

    def add_signing_time(self, signed_signature_properties, sig_root, signing_settings) -> None:  # type: ignore[no-untyped-def]
        element = etree.SubElement(
            signed_signature_properties, "{http://uri.etsi.org/01903/v1.3.2#}SigningTime"
        )
        element.text = self._signing_time.isoformat(timespec="seconds")


def sign_event(
    root: etree._Element,
    *,
    key: rsa.RSAPrivateKey,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    signing_time: dt.datetime,
) -> bytes:
    """The signed document's bytes; ``root`` must hold a ``ds:Signature Id="placeholder"``."""
    signer = _DianSigner(signing_time)
    signed = signer.sign(root, key=key, cert=[certificate, *chain])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def verify_event(data: bytes) -> x509.Certificate:
    """Verify an event's XAdES-EPES signature under DIAN's policy; return the signer certificate.

    The signature is checked against the certificate it carries (whose digest the signed
    properties hold); whether that certificate is trusted and valid is the caller's judgement.
    """
    try:
        root = etree.fromstring(data, parser=untrusted_parser())
        certificate = _embedded_certificate(root)
        # The signature is checked as of the certificate's first valid instant: whether it is
        # valid now, or was when signing, is the caller's rule with its own answer.
        results = XAdESVerifier().verify(
            root,
            x509_cert=certificate,
            expect_signature_policy=DIAN_POLICY,
            expect_config=XAdESSignatureConfiguration(
                verification_time=certificate.not_valid_before_utc
            ),
        )
        # See what is signed: one reference must be the whole document (URI="").
        if not any(
            result.signed_xml is not None and result.signed_xml.tag == root.tag
            for result in results
        ):
            raise SignatureRefused("La firma no cubre el documento completo.")
    except (InvalidInput, InvalidSignature, etree.XMLSyntaxError, ValueError) as error:
        raise SignatureRefused(str(error)) from error
    return certificate


def _embedded_certificate(root: etree._Element) -> x509.Certificate:
    found = root.find(f".//{{{NS_DS}}}X509Certificate")
    if found is None or not found.text:
        raise SignatureRefused("La firma no trae el certificado del firmante.")
    return x509.load_der_x509_certificate(base64.b64decode("".join(found.text.split())))
