"""Fiskil webhook signatures: the one place that knows the scheme.

Fiskil's primary webhook guide (https://docs.fiskil.com/data-api/guides/core-concepts/webhooks) was not
readable when this was written; the scheme below comes from SECONDARY sources (four independent
integrators' verifiers and an integration rule book, docs/sources.md §10 [S-WHLIB] [S-DIGEST]):

    X-Fiskil-Signature: base64( HMAC-SHA256( key = base64decode(signing secret), msg = raw body ) )

There is no timestamp and no tolerance window, so a signature alone cannot detect a replay.
Fiskil's AI-tools snippets reportedly use the raw secret and a hex digest; integrators call that
wrong. Both variants are expressible as a `SignatureScheme` so a change is one constant away.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

SIGNATURE_HEADER = "X-Fiskil-Signature"

KeyDecoding = Literal["base64", "raw"]
DigestEncoding = Literal["base64", "hex"]


class SigningSecretError(ValueError):
    """The webhook signing secret cannot be used as configured (says what to fix)."""


@dataclass(frozen=True)
class SignatureScheme:
    """How a signature is made: which header, how the secret becomes the key, how the digest is written."""

    header: str = SIGNATURE_HEADER
    key_decoding: KeyDecoding = "base64"     # "raw": the secret's UTF-8 bytes are the key
    digest_encoding: DigestEncoding = "base64"


#: The scheme integrators report Fiskil uses (secondary sources, see module docstring).
DEFAULT_SCHEME = SignatureScheme()
#: The variant from Fiskil's AI-tools snippets (raw secret, hex digest): reported wrong, kept for tests.
HEX_RAW_SCHEME = SignatureScheme(key_decoding="raw", digest_encoding="hex")


def decode_secret(secret: str, scheme: SignatureScheme = DEFAULT_SCHEME) -> bytes:
    """Turn the configured secret into HMAC key bytes, or raise `SigningSecretError` saying what to fix.

    Base64 secrets are decoded strictly (standard alphabet); missing `=` padding is tolerated
    because it is a common copy-paste loss and does not change the key.
    """
    if not isinstance(secret, str) or not secret.strip():
        raise SigningSecretError("the webhook signing secret is empty: set it to the secret shown in Fiskil's console")
    if scheme.key_decoding == "raw":
        return secret.encode("utf-8")
    text = "".join(secret.split())  # tolerate line breaks / spaces from copy-paste
    if len(text) % 4 == 1:
        raise SigningSecretError(_NOT_BASE64)
    text += "=" * (-len(text) % 4)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SigningSecretError(_NOT_BASE64) from None
    if not key:
        raise SigningSecretError(_NOT_BASE64)
    return key


_NOT_BASE64 = (
    "the webhook signing secret is not valid base64 (Fiskil's scheme uses the base64-decoded secret as the "
    "HMAC key): paste the secret exactly as the console shows it, or use a scheme with key_decoding='raw'"
)


def _digest(body: bytes, key: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def _encode(digest: bytes, scheme: SignatureScheme) -> str:
    if scheme.digest_encoding == "hex":
        return digest.hex()
    return base64.b64encode(digest).decode("ascii")


def _canonical_claim(signature: str, scheme: SignatureScheme) -> bytes:
    """The header value as bytes to compare; hex is case-insensitive, base64 is compared exactly.

    Comparing encoded strings (not decoded digests) keeps non-canonical base64 (different unused
    trailing bits, which decode to the same digest) from verifying.
    """
    value = signature.strip()
    if scheme.digest_encoding == "hex":
        value = value.lower()
    return value.encode("utf-8", errors="replace")


def sign(body: bytes, secret: str, scheme: SignatureScheme = DEFAULT_SCHEME) -> str:
    """The header value Fiskil would send for exactly these body bytes."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("sign() needs the raw body bytes exactly as sent, not a parsed or re-encoded object")
    return _encode(_digest(bytes(body), decode_secret(secret, scheme)), scheme)


def verify(body: bytes, signature: str | None, secret: str, scheme: SignatureScheme = DEFAULT_SCHEME) -> bool:
    """True only if `signature` is the valid signature of the raw `body`.

    A missing or garbled header is False, never an exception (a receiver answers 401, not 500).
    A bad *secret* is a configuration error and still raises `SigningSecretError`.
    The comparison is constant time.
    """
    key = decode_secret(secret, scheme)
    if not isinstance(signature, str) or not isinstance(body, (bytes, bytearray, memoryview)):
        return False
    expected = _encode(_digest(bytes(body), key), scheme).encode("ascii")
    return hmac.compare_digest(expected, _canonical_claim(signature, scheme))


def secret_forms(secret: str, scheme: SignatureScheme = DEFAULT_SCHEME) -> set[str]:
    """Every text form of the secret a receiver could echo back, for the redactor.

    Signing tolerates whitespace and missing padding, so the secret the receiver holds may differ from
    the env var's value: register the value as given, trimmed, without whitespace, padded and unpadded,
    and the decoded key re-encoded (base64, URL-safe base64, hex, and as text when it is text).
    """
    compact = "".join(secret.split())
    forms = {secret, secret.strip(), compact, compact.rstrip("="), compact + "=" * (-len(compact) % 4)}
    try:
        key = decode_secret(secret, scheme)
    except SigningSecretError:
        return {f for f in forms if f}
    for encoded in (base64.b64encode(key).decode("ascii"), base64.urlsafe_b64encode(key).decode("ascii")):
        forms |= {encoded, encoded.rstrip("=")}
    forms.add(key.hex())
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text.strip() and text.isprintable():
        forms |= {text, text.strip()}
    return {f for f in forms if f}


def signature_headers(body: bytes, secret: str, scheme: SignatureScheme = DEFAULT_SCHEME) -> dict[str, str]:
    """The headers of a signed delivery (Content-Type is our assumption: Fiskil documents a JSON body)."""
    return {"Content-Type": "application/json", scheme.header: sign(body, secret, scheme)}
