"""An attachment's base64 is decoded exactly as the standard library would, bad input included."""

import binascii

from hypothesis import given, settings
from hypothesis import strategies as st

from invoices.dian.mime import Leaf
from invoices.dian.types import DianError, Outcome

_BASE64ISH = st.binary(max_size=400) | st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n -_!",
    max_size=400,
).map(str.encode)


@settings(max_examples=1000)
@given(_BASE64ISH)
def test_base64_attachments_decode_as_the_standard_library_decodes_them(body):
    leaf = Leaf("application/zip", "f.zip", "base64", body)
    try:
        expected = binascii.a2b_base64(body)
    except binascii.Error:
        expected = None

    try:
        decoded = leaf.decode()
    except DianError as error:
        assert error.outcome is Outcome.MALFORMED_MIME
        decoded = None

    assert decoded == expected
