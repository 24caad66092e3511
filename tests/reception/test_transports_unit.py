"""Pure helpers of the transports: UID sets, scrubbing, refusal texts, settings repr."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reception.transports import AuthMethod, MailboxSettings, MailProtocol, Security
from reception.transports.base import ErrorKind, refusal_kind, scrub
from reception.transports.imap import uid_set


@pytest.mark.parametrize(
    ("uids", "expected"),
    [
        ([], ""),
        ([7], "7"),
        ([1, 2, 3, 7], "1:3,7"),
        ([9, 3, 2, 1, 10, 5], "1:3,5,9:10"),
        ([4, 4, 5], "4:5"),
    ],
)
def test_it_compacts_uids_into_an_imap_sequence_set(uids, expected):
    assert uid_set(uids) == expected


def test_it_scrubs_secrets_tokens_and_bearer_values():
    token = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl"
    text = f"secret=s3cr3t-value token {token} Authorization: Bearer abc.def"

    scrubbed = scrub(text, ("s3cr3t-value",))

    assert "s3cr3t-value" not in scrubbed
    assert token not in scrubbed
    assert "abc.def" not in scrubbed


def test_it_scrubs_the_longest_secret_first():
    """A secret that contains a shorter one must go whole, not leave its tail behind."""
    assert scrub("clave abcdef fin", ("abc", "abcdef")) == "clave *** fin"
    assert scrub("clave abcdef fin", ("abcdef", "abc")) == "clave *** fin"
    # By length, not by any other order: "zz" sorts after "azzb" yet must go second.
    assert scrub("clave azzb fin", ("azzb", "zz")) == "clave *** fin"


def test_it_scrubs_an_unsigned_jwt():
    """alg=none tokens end in a dot with no signature; they are still bearer tokens."""
    unsigned = "eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL291dGxvb2sifQ."
    assert scrub(f"token={unsigned} fin", ()) == "token=*** fin"


#: Characters of an Entra ID client secret «Valor» and of mailbox passwords (no "*", which is
#: what the scrubbed text is made of).
_SECRET_ALPHABET = st.characters(
    codec="ascii", categories=("L", "N", "P", "S"), exclude_characters="*"
)


@given(
    secrets=st.lists(st.text(_SECRET_ALPHABET, min_size=4, max_size=40), min_size=1, max_size=4),
    pieces=st.lists(st.text(max_size=30), min_size=1, max_size=5),
    data=st.data(),
)
def test_no_secret_survives_scrubbing_in_any_text(secrets, pieces, data):
    text = ""
    for piece in pieces:
        text += piece + data.draw(st.sampled_from(secrets))
    scrubbed = scrub(text, secrets)
    for secret in secrets:
        assert secret not in scrubbed


@given(secret=st.text(_SECRET_ALPHABET, min_size=2, max_size=40), data=st.data())
def test_a_secret_containing_another_goes_whole_in_any_order(secret, data):
    start = data.draw(st.integers(min_value=0, max_value=len(secret) - 1))
    end = data.draw(st.integers(min_value=start + 1, max_value=len(secret)))
    inner = secret[start:end]
    assert scrub(secret, [inner, secret]) == "***"
    assert scrub(secret, [secret, inner]) == "***"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (
            "authenticate failed: [AUTHENTICATIONFAILED] AUTHENTICATE failed.",
            ErrorKind.AUTH_REFUSED,
        ),
        ("AUTHENTICATE failed.", ErrorKind.AUTH_REFUSED),
        ("select failed: User is authenticated but not connected.", ErrorKind.NOT_CONNECTED),
        (
            "-ERR [AUTH] Authentication failure: unknown user name or bad password.",
            ErrorKind.AUTH_REFUSED,
        ),
        ("[ALERT] Your account is not enabled for IMAP use.", ErrorKind.PROTOCOL_DISABLED),
        ("-ERR POP3 access is disabled for this account", ErrorKind.PROTOCOL_DISABLED),
    ],
)
def test_it_names_server_refusals(text, kind):
    assert refusal_kind(text) == kind


def test_it_keeps_secrets_out_of_the_settings_repr():
    settings = MailboxSettings(
        protocol=MailProtocol.IMAP,
        auth=AuthMethod.OAUTH2,
        host="outlook.office365.com",
        port=993,
        security=Security.SSL,
        username="recepcion@contoso.test",
        password="pw-123456",
        client_secret="cs-abcdef",
    )

    assert "pw-123456" not in repr(settings)
    assert "cs-abcdef" not in repr(settings)
