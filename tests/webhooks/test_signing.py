"""Signing and verification against values computed independently of harness.webhooks.signing."""

from __future__ import annotations

import base64
import binascii
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.webhooks.envelope import make_envelope
from harness.webhooks.signing import (
    DEFAULT_SCHEME,
    HEX_RAW_SCHEME,
    SIGNATURE_HEADER,
    SigningSecretError,
    sign,
    signature_headers,
    verify,
)
from harness.webhooks.tamper import TAMPER_KINDS, prepare

SECRET = "c2VjcmV0LWtleS1mb3ItdGVzdHM="   # base64 of b"secret-key-for-tests"


def textbook_hmac_sha256(key: bytes, message: bytes) -> bytes:
    """RFC 2104 written out by hand (no hmac module), so the test does not share code with signing.py."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(k ^ 0x36 for k in key) + message).digest()
    return hashlib.sha256(bytes(k ^ 0x5C for k in key) + inner).digest()


def test_header_name_is_fiskils():
    assert SIGNATURE_HEADER == "X-Fiskil-Signature" == DEFAULT_SCHEME.header


def test_signature_is_base64_hmac_sha256_with_base64_decoded_key():
    body = b'{"message_id":"m-1","data":{"event":"consent.received"}}'
    key = binascii.a2b_base64(SECRET)
    expected = binascii.b2a_base64(textbook_hmac_sha256(key, body), newline=False).decode()
    assert sign(body, SECRET) == expected


def test_rfc4231_case_2_vector():
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    secret = base64.b64encode(b"Jefe").decode()
    expected_hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign(b"what do ya want for nothing?", secret) == base64.b64encode(bytes.fromhex(expected_hex)).decode()


def test_verify_accepts_its_own_signature_and_surrounding_whitespace():
    body = make_envelope("consent.received").body()
    signature = sign(body, SECRET)
    assert verify(body, signature, SECRET)
    assert verify(body, f"  {signature}\n", SECRET)


def test_secret_missing_padding_is_the_same_key():
    body = b"{}"
    assert sign(body, SECRET.rstrip("=")) == sign(body, SECRET)


@pytest.mark.parametrize("bad", ["not base64!!", "abcde", "", "   ", "ä"])
def test_non_base64_secret_says_what_to_fix(bad):
    with pytest.raises(SigningSecretError) as info:
        sign(b"{}", bad)
    message = str(info.value)
    assert "secret" in message and ("base64" in message or "empty" in message)


def test_raw_hex_scheme_matches_fiskil_ai_snippet_style():
    body = b'{"a":1}'
    expected = textbook_hmac_sha256(SECRET.encode(), body).hex()
    assert sign(body, SECRET, HEX_RAW_SCHEME) == expected
    assert verify(body, expected.upper(), SECRET, HEX_RAW_SCHEME)
    assert not verify(body, expected, SECRET)  # a hex digest is not a valid default signature


@pytest.mark.parametrize("kind", [k for k in TAMPER_KINDS if k != "none"])
def test_verify_rejects_every_tamper_kind(kind):
    body = make_envelope("banking.transactions.sync.completed").body()
    tampered = prepare(body, SECRET, kind)
    assert (tampered.body, tampered.signature) != (body, sign(body, SECRET))
    assert verify(tampered.body, tampered.signature, SECRET) is False


def test_untampered_prepare_verifies():
    body = make_envelope("consent.revoked").body()
    prepared = prepare(body, SECRET, "none")
    assert prepared.body == body and verify(body, prepared.signature, SECRET)


def test_non_canonical_base64_of_the_right_digest_is_rejected():
    body = b"{}"
    signature = sign(body, SECRET)
    # the last base64 character before "=" carries 2 unused bits: flip them, the decoded digest is unchanged
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(signature[-2])
    twin = signature[:-2] + alphabet[last ^ 0b01] + "="
    assert base64.b64decode(twin) == base64.b64decode(signature)
    assert not verify(body, twin, SECRET)


@pytest.mark.parametrize("signature", [None, "", "=", "%%%", "sha256=abc", "\udcff", "A" * 10_000])
def test_missing_or_garbled_header_is_false(signature):
    assert verify(b"{}", signature, SECRET) is False


def test_sign_refuses_parsed_objects():
    with pytest.raises(TypeError, match="raw body bytes"):
        sign({"a": 1}, SECRET)  # type: ignore[arg-type]


def test_signature_headers():
    headers = signature_headers(b"{}", SECRET)
    assert headers["Content-Type"] == "application/json"
    assert verify(b"{}", headers[SIGNATURE_HEADER], SECRET)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=512), signature=st.one_of(st.none(), st.text(max_size=120), st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())))
def test_verify_never_raises_and_only_accepts_the_real_signature(body, signature):
    result = verify(body, signature, SECRET)
    assert result is (signature is not None and signature.strip() == sign(body, SECRET))


def test_secret_forms_cover_what_signing_accepts_and_the_key_re_encoded():
    from harness.webhooks.signing import secret_forms

    key = b"secret-key-for-tests"
    given = base64.b64encode(key).decode() + "\n"
    forms = secret_forms(given)
    assert {given, given.strip(), given.strip().rstrip("="), base64.urlsafe_b64encode(key).decode(),
            key.hex(), key.decode()} <= forms
    assert sign(b"{}", given) == sign(b"{}", given.strip().rstrip("="))   # why the unpadded form matters too
    assert "notbase64!!" in secret_forms("not base64!!")   # undecodable: still the text forms


def test_redactor_masks_trimmed_secrets_and_credentials_in_urls():
    from harness.redaction import MASK, Redactor

    redactor = Redactor(["trailing-newline-secret\n"])
    assert redactor("echo: trailing-newline-secret") == f"echo: {MASK}"
    text = redactor("GET http://user:pw-123@host:8/p?token=abc&page=2&x_api_key=zz&sig=s1#top")
    assert text == f"GET http://{MASK}@host:8/p?token={MASK}&page=2&x_api_key={MASK}&sig={MASK}#top"
    assert redactor("mail a@b.com at http://host/p?consent_id=c1") == "mail a@b.com at http://host/p?consent_id=c1"
