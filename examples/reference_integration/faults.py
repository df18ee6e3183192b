"""Seeded faults: deliberate best-practice violations wired into the real code paths.

Each fault is switched on by name through `REFERENCE_FAULTS` (comma-separated). They exist so the
kit can prove that every check it ships really catches the mistake it claims to catch. Practices
are from Fiskil's best-practices guide, https://docs.fiskil.com/data-api/guides/resources/best-practices
(BP), and the authentication guide, https://docs.fiskil.com/data-api/guides/getting-started/authentication
(AUTH-G).
"""

from __future__ import annotations

from collections.abc import Iterable

#: name -> the best practice it breaks (also the documentation of what the fault does).
FAULTS: dict[str, str] = {
    "no_token_renewal": "keeps using a cached token forever: no renewal on expiry nor on a 401 "
    "(AUTH-G: tokens last 15 minutes, watch for 401 and renew)",
    "token_per_request": "requests a new token for every API call instead of caching it (AUTH-G)",
    "no_signature_check": "processes webhooks without verifying X-Fiskil-Signature "
    "(BP: validate webhook signatures before processing)",
    "hex_signature": "verifies webhooks with a hex HMAC keyed by the raw secret string instead of "
    "Base64(HMAC-SHA256(Base64-decoded secret, raw body)), so genuine webhooks are rejected",
    "reserialised_signature": "verifies the signature over re-serialised JSON instead of the raw "
    "body, so any body not byte-identical to compact JSON fails verification",
    "no_dedupe": "processes every delivery, also retries of the same message_id "
    "(BP: implement idempotency using message_id)",
    "slow_webhook": "sleeps 10 s synchronously before answering a webhook "
    "(BP: always return 2xx status codes promptly, process asynchronously)",
    "no_backoff": "retries failed calls immediately, without any wait (GOLIVE: retry intermittent failures sensibly)",
    "ignore_retry_after": "backs off but ignores the Retry-After header of a 429",
    "first_page_only": "reads only the first page of a list and never follows links.next "
    "(GOLIVE: paginate historical transactions)",
    "hard_delete": "deletes the rows of a revoked/expired consent instead of soft-deleting them "
    "(BP: consider soft deletes for removed records)",
    "log_token": "writes the bearer token into the log (BP: never log tokens or credentials)",
    "tight_credential_loop": "retries the token endpoint many times without waiting when the "
    "credentials are rejected, instead of failing with a clear configuration error",
}

#: How many token attempts `tight_credential_loop` makes on a 401 (bounded so tests stay finite).
TIGHT_LOOP_ATTEMPTS = 20


class UnknownFaultError(ValueError):
    """A name in REFERENCE_FAULTS that is not a seeded fault."""


def parse_faults(value: str | Iterable[str] | None) -> frozenset[str]:
    """Parse `REFERENCE_FAULTS` (or an iterable of names); reject unknown names with the valid list."""
    if value is None:
        return frozenset()
    names = value.split(",") if isinstance(value, str) else list(value)
    cleaned = {name.strip() for name in names if name and name.strip()}
    unknown = sorted(cleaned - FAULTS.keys())
    if unknown:
        raise UnknownFaultError(
            f"unknown fault(s) in REFERENCE_FAULTS: {', '.join(unknown)}; "
            f"valid faults are: {', '.join(sorted(FAULTS))}"
        )
    return frozenset(cleaned)
