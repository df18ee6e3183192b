"""Deliberately wrong deliveries: each kind changes the body or signature the way an attacker or a
buggy sender would, so a receiver can be shown to reject it. Used by the checks and `webhooks send --tamper`."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Literal

from harness.webhooks.signing import DEFAULT_SCHEME, SignatureScheme, sign

TamperKind = Literal[
    "none", "forged-signature", "missing-signature", "wrong-secret", "body-changed",
    "reserialised", "reordered", "hex-digest",
]
TAMPER_KINDS: tuple[str, ...] = (
    "none", "forged-signature", "missing-signature", "wrong-secret", "body-changed", "reserialised", "reordered",
    "hex-digest",
)


@dataclass(frozen=True)
class SignedBody:
    """The bytes to POST and the signature header value to send with them (None: send no header)."""

    body: bytes
    signature: str | None


def prepare(body: bytes, secret: str, kind: str = "none", scheme: SignatureScheme = DEFAULT_SCHEME) -> SignedBody:
    """Sign `body` correctly, then apply the tamper `kind`."""
    if kind not in TAMPER_KINDS:
        raise ValueError(f"unknown tamper kind {kind!r}; choose one of: {', '.join(TAMPER_KINDS)}")
    if kind == "none":
        return SignedBody(body, sign(body, secret, scheme))
    if kind == "forged-signature":
        # well-formed (right length and alphabet) but made without the secret
        return SignedBody(body, base64.b64encode(os.urandom(32)).decode("ascii"))
    if kind == "missing-signature":
        return SignedBody(body, None)
    if kind == "wrong-secret":
        other = base64.b64encode(os.urandom(32)).decode("ascii")
        return SignedBody(body, sign(body, other, scheme))
    if kind == "body-changed":
        # signed, then a field changed in transit: same length of JSON, different meaning
        return SignedBody(_change_a_value(body), sign(body, secret, scheme))
    if kind == "reserialised":
        # same JSON value and key order, different whitespace: the signature covers raw bytes only
        return SignedBody(_reserialise(body, reorder=False), sign(body, secret, scheme))
    if kind == "reordered":
        # same JSON value, compact, keys in another order
        return SignedBody(_reserialise(body, reorder=True), sign(body, secret, scheme))
    # hex-digest: right key, wrong digest encoding (what Fiskil's AI-tools snippets reportedly do)
    hex_scheme = SignatureScheme(header=scheme.header, key_decoding=scheme.key_decoding, digest_encoding="hex")
    return SignedBody(body, sign(body, secret, hex_scheme))


def _change_a_value(body: bytes) -> bytes:
    try:
        value = json.loads(body)
    except ValueError:
        return body + b" "
    if isinstance(value, dict) and isinstance(value.get("data"), dict) and "end_user_id" in value["data"]:
        value["data"]["end_user_id"] = str(value["data"]["end_user_id"]) + "-x"
    else:
        value = {"tampered": True, "original": value}
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _reserialise(body: bytes, *, reorder: bool) -> bytes:
    try:
        value = json.loads(body)
    except ValueError:
        return body + b"\n"
    if reorder:
        return json.dumps(_reverse_keys(value), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _reverse_keys(value: object) -> object:
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value
