"""Every value the fake uses that Fiskil does not document, named in one place.

Each constant says what is unknown and why we chose this value. docs/fake.md lists them all; a
drift check against the real sandbox is how one gets confirmed or corrected. Sources: the keys in
docs/sources.md §0 (URLs such as https://docs.fiskil.com/data-api/api-reference/errors).
"""

from __future__ import annotations

# --- Authentication -------------------------------------------------------------------------
#: Status and goa `name` for wrong client credentials on POST /v1/token. Fiskil documents only that
#: 401 means "invalid or missing authentication" (https://docs.fiskil.com/data-api/api-reference/errors).
TOKEN_BAD_CREDENTIALS_STATUS = 401
TOKEN_BAD_CREDENTIALS_NAME = "unauthorized"
#: `name` in the simple {id,name,message} shape for a missing/expired bearer on data endpoints
#: (core resources use the documented goa name "unauthorized").
DATA_UNAUTHORIZED_NAME = "Unauthorized"

# --- Versioning -----------------------------------------------------------------------------
#: https://docs.fiskil.com/data-api/guides/core-concepts/versioning names v1 and v2 only; the
#: response to any other value is undocumented: we answer 400 with this name.
ACCEPTED_VERSIONS = ("v1", "v2")
INVALID_VERSION_STATUS = 400
INVALID_VERSION_NAME = "invalid_version"

# --- Requests the API cannot serve as sent ---------------------------------------------------
#: Fiskil lists no 405 (https://docs.fiskil.com/data-api/api-reference/errors). A method a path does
#: not serve gets 405 in the simple shape with an `Allow` header, on every route and at the edge.
METHOD_NOT_ALLOWED_NAME = "MethodNotAllowed"
#: A request that cannot be read (a '%' starting no %XX escape, a body labelled gzip that is not, a
#: malformed request line) gets 400 in the simple shape, named like Fiskil's documented example.
MALFORMED_REQUEST_STATUS = 400
MALFORMED_REQUEST_NAME = "InvalidRequest"

# --- Rate limiting (only the existence of 429 is documented) --------------------------------
#: https://docs.fiskil.com/data-api/api-reference/errors lists 429 but no body. The fake answers it
#: like every other error of the route: goa shape (application/vnd.goa.error) on end users, auth
#: sessions and consents, {id,name,message} on data endpoints, with this name in both.
RATE_LIMITED_NAME = "rate_limited"

# --- End users ------------------------------------------------------------------------------
#: DELETE /v1/end-users/{id}: the status is undocumented (secondary source: 204); we also revoke the
#: user's consents (emitting consent.revoked), which Fiskil does not document either.
DELETE_END_USER_STATUS = 204
DELETE_END_USER_REVOKES_CONSENTS = True
#: Loose E.164: '+' then 8-15 digits.
E164_PATTERN = r"^\+[1-9]\d{7,14}$"

# --- Auth sessions and the hosted Link page --------------------------------------------------
#: Path of the hosted Link page on the public base URL; Fiskil's is https://auth.fiskil.com?sess_id=
#: (Link SDK, https://github.com/Fiskil/link), so we keep the `sess_id` query parameter.
LINK_PATH = "/link"
#: Query parameters appended to redirect_uri on success are NOT documented (secondary sources claim
#: `session_id`; the Link SDK receives consentID by postMessage). We append both; configurable.
SUCCESS_REDIRECT_PARAMS: tuple[str, ...] = ("session_id", "consent_id")
#: `error` values Fiskil documents: access_denied (CONSENT_ENDUSER_DENIED) and server_error
#: (CONSENT_UPSTREAM_PROCESSING_ERROR) (https://docs.fiskil.com/errors). The rest are our choice.
ERROR_VALUES: dict[str, str] = {
    "CONSENT_ENDUSER_DENIED": "access_denied",  # documented
    "CONSENT_UPSTREAM_PROCESSING_ERROR": "server_error",  # documented
    "AUTH_SESSION_CANCELLED": "access_denied",  # assumption
    "CONSENT_OTP_FAILURE": "access_denied",  # assumption
    "CONSENT_ENDUSER_INELIGIBLE": "access_denied",  # assumption
    "CONSENT_TIMEOUT": "temporarily_unavailable",  # assumption
}
#: Fiskil has no error type for an institution outage; the flow guide says the user sees an error
#: and retries later. We report it as an upstream processing error (a type integrations know).
OUTAGE_ERROR_TYPE = "CONSENT_UPSTREAM_PROCESSING_ERROR"
#: An expired or already used session is shown as an error page with this type (documented only as
#: a postMessage type, https://docs.fiskil.com/data-api/api-reference/errors), HTTP status 400.
INVALID_SESSION_ERROR_TYPE = "AUTH_SESSION_INVALID"
INVALID_SESSION_STATUS = 400
ERROR_URI_BASE = "https://data.docs.fiskil.dev/errors#"  # documented (https://docs.fiskil.com/errors)

# --- Consents -------------------------------------------------------------------------------
#: Default consent duration: the documented example value 7776000 s = 90 days (listConsents).
DEFAULT_CONSENT_DURATION_SECONDS = 7_776_000
TERMINATION_REASON_REVOKED = "Expired or Revoked"  # documented example value
TERMINATION_REASON_EXPIRED = "Expired or Revoked"
#: listConsents marks all 18 consent fields required and shows no null; a value that cannot exist
#: yet is null: last_accessed before the first data read, termination_reason while active,
#: end_user_email when the end user has none (email is optional on createEndUser) or was deleted.
#: harness/contract/schemas/consent.json allows null for exactly these.
CONSENT_NULLABLE_FIELDS = ("end_user_email", "last_accessed", "termination_reason")
APP_NAME = "Fiskil Harness App"
APP_LOGO = "https://example.invalid/harness-app.svg"

# --- Data endpoints -------------------------------------------------------------------------
#: What a data endpoint returns for an end user without an ACTIVE consent granting the permission
#: is undocumented. "forbidden": 403 {id,name,message}; "empty": 200 with an empty list.
NO_CONSENT_POLICY = "forbidden"
NO_CONSENT_STATUS = 403
NO_CONSENT_NAME = "consent_inactive"
NO_PERMISSION_NAME = "permission_not_granted"
#: Unknown end_user_id on a data endpoint: undocumented; 404 in the simple shape.
DATA_UNKNOWN_END_USER_STATUS = 404
DATA_UNKNOWN_END_USER_NAME = "end_user_not_found"
#: page[size] default varies per endpoint and is undocumented; the cap of 1000 is documented
#: (https://docs.fiskil.com/data-api/api-reference/pagination). Above the cap we answer 400
#: rather than clamping, so an integration learns it asked for too much.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Default number of transactions generated per newly linked account.
DEFAULT_TRANSACTIONS_PER_ACCOUNT = 250
#: Prefix for account fiskil_ids (other prefixes such as bank_tx_ are documented; this one is not).
ACCOUNT_ID_PREFIX = "bank_account_"

# --- Institutions ---------------------------------------------------------------------------
#: GET /v1/institutions envelope (bare array) and whether it needs a bearer are undocumented.
INSTITUTIONS_REQUIRE_TOKEN = True
SANDBOX_BANK_ID = "88888"  # secondary source: integrators identify sandbox data by this id
ENERGY_RETAILER_ID = "88889"  # our own
OUTAGE_BANK_ID = "88890"  # our own

# --- Link outcomes (our own convention, Plaid-style magic usernames) -------------------------
SUCCESS_USERNAME = "user_good"
ERROR_USERNAME_PREFIX = "error_"
