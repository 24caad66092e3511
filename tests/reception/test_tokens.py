"""Reading access-token claims and classifying Entra ID's answers: no network."""

import jwt
import pytest

from reception.transports import ErrorKind, MailProtocol, Stage, TransportError
from reception.transports.tokens import check_claims, classify_entra_result, read_claims

SECRET = "abC8Q~not-a-real-secret-value-0123456789"


def _token(**claims):
    return jwt.encode(claims, "k" * 32, algorithm="HS256")


def _entra_error(code: int, error: str = "invalid_client") -> dict:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: something went wrong. Trace ID: 1",
        "error_codes": [code],
    }


def test_it_reads_the_claims_that_explain_a_refusal():
    token = _token(
        aud="https://outlook.office365.com",
        tid="t-1",
        appid="a-1",
        oid="o-1",
        roles=["IMAP.AccessAsApp"],
        exp=1700000000,
    )

    claims = read_claims(token)

    assert claims.audience == "https://outlook.office365.com"
    assert (claims.tenant_id, claims.app_id, claims.object_id) == ("t-1", "a-1", "o-1")
    assert claims.roles == ("IMAP.AccessAsApp",)
    assert claims.expires_at == 1700000000


def test_it_reads_a_token_without_roles_as_having_none():
    assert read_claims(_token(aud="https://outlook.office365.com")).roles == ()


def test_it_refuses_a_token_that_is_not_a_jwt():
    with pytest.raises(TransportError) as caught:
        read_claims("not-a-jwt")

    assert caught.value.kind == ErrorKind.ENTRA_ERROR


def test_it_names_the_missing_role_and_the_roles_present():
    claims = read_claims(_token(aud="https://outlook.office365.com", roles=["POP.AccessAsApp"]))

    with pytest.raises(TransportError) as caught:
        check_claims(claims, MailProtocol.IMAP)

    assert caught.value.kind == ErrorKind.MISSING_ROLE
    assert caught.value.stage == Stage.TOKEN
    assert "IMAP.AccessAsApp" in caught.value.detail
    assert "POP.AccessAsApp" in caught.value.detail
    assert not caught.value.transient


def test_it_accepts_the_role_of_the_protocol_used():
    claims = read_claims(_token(aud="https://outlook.office365.com", roles=["POP.AccessAsApp"]))

    check_claims(claims, MailProtocol.POP3)


def test_it_refuses_a_token_for_another_audience():
    claims = read_claims(_token(aud="https://graph.microsoft.com", roles=["IMAP.AccessAsApp"]))

    with pytest.raises(TransportError) as caught:
        check_claims(claims, MailProtocol.IMAP)

    assert caught.value.kind == ErrorKind.WRONG_AUDIENCE


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (90002, ErrorKind.TENANT_NOT_FOUND),
        (700016, ErrorKind.APP_NOT_FOUND),
        (7000215, ErrorKind.INVALID_SECRET),
        (7000222, ErrorKind.EXPIRED_SECRET),
        (65001, ErrorKind.CONSENT_MISSING),
        (1002012, ErrorKind.ENTRA_ERROR),
    ],
)
def test_it_classifies_entra_codes_as_needing_a_person(code, kind):
    error = classify_entra_result(_entra_error(code), (SECRET,))

    assert error.kind == kind
    assert error.codes == (code,)
    assert error.stage == Stage.TOKEN
    assert not error.transient


def test_it_classifies_a_temporarily_unavailable_entra_as_transient():
    error = classify_entra_result(_entra_error(90033, "temporarily_unavailable"), ())

    assert error.kind == ErrorKind.AUTHORITY_UNAVAILABLE
    assert error.transient


def test_it_keeps_the_secret_out_of_the_error_text():
    result = _entra_error(7000215)
    result["error_description"] = f"AADSTS7000215: Invalid client secret {SECRET} provided."

    error = classify_entra_result(result, (SECRET,))

    assert SECRET not in str(error)
    assert "AADSTS7000215" in error.detail
