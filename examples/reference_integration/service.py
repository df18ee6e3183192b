"""ReferenceIntegration: sign-up, Link, landing, sync and read-back, as a real product would do them.

Flow (docs/sources.md §5–§9): POST /v1/end-users, POST /v1/auth/session with our own redirect and
cancel URIs, the browser lands back on one of them, then GET /v1/consent and the banking data.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from harness.adapters.protocol import ConsentView, SubjectState, SyncResult, UserError

from examples.reference_integration.config import ConfigurationError, Settings
from examples.reference_integration.fiskil_client import FiskilClient, FiskilError, FiskilUnavailable
from examples.reference_integration.store import Store
from examples.reference_integration.webhooks import WebhookProcessor

log = logging.getLogger("reference_integration.service")

COMPLETE_PATH = "/link/complete"
CANCELLED_PATH = "/link/cancelled"

#: What the user reads after a failed Link flow, by error_type. The types are the Link SDK's
#: (https://github.com/Fiskil/link src/types.ts); INSTITUTION_OUTAGE is the fake's own outcome name.
FRIENDLY_LINK_ERRORS: dict[str, str] = {
    "AUTH_SESSION_CANCELLED": "You closed the bank connection before it finished, so nothing was shared. "
    "You can connect your bank again whenever you are ready.",
    "CONSENT_ENDUSER_DENIED": "You chose not to share your data at your bank, so we could not connect your "
    "account. If that was a mistake, please connect again and approve the request.",
    "CONSENT_OTP_FAILURE": "Your bank could not verify the one-time passcode. Please try again and enter "
    "the most recent code your bank sent you.",
    "CONSENT_ENDUSER_INELIGIBLE": "Your bank says this account cannot be shared through Open Banking. "
    "Please try another account, or ask your bank about sharing this one.",
    "CONSENT_UPSTREAM_PROCESSING_ERROR": "Your bank had a problem while we were connecting. This is usually "
    "temporary, so please try again in a few minutes.",
    "CONSENT_TIMEOUT": "Connecting to your bank took too long and timed out. Please try again.",
    "INSTITUTION_OUTAGE": "Your bank is not available right now. Please try again later.",
}
UNKNOWN_LINK_ERROR = ("Something went wrong while connecting your bank. Please try again; if it keeps "
                      "happening, contact support and quote reference {reference}.")
SYNC_FAILED_CODE = "SYNC_FAILED"
SYNC_FAILED_MESSAGE = ("We could not refresh your bank data just now. Your existing data is safe and "
                       "we will try again shortly.")

#: The banking lists we keep: (table, path, root key). Paths per docs/sources.md §9.1.
DATA_LISTS = (
    ("accounts", "/v1/banking/accounts", "accounts"),
    ("balances", "/v1/banking/balances", "balances"),
    ("transactions", "/v1/banking/transactions", "transactions"),
)


@dataclass(frozen=True)
class Landing:
    """What the browser landing page shows."""

    outcome: str            # "connected" | "cancelled" | "unknown"
    end_user_id: str | None
    message: str


def friendly_link_error(error_type: str | None, error_id: str | None) -> str:
    """A specific, kind message for each known error_type; a generic one quoting the reference otherwise."""
    if error_type in FRIENDLY_LINK_ERRORS:
        return FRIENDLY_LINK_ERRORS[error_type]
    return UNKNOWN_LINK_ERROR.format(reference=error_id or "unavailable")


class ReferenceIntegration:
    def __init__(self, settings: Settings, *, client: FiskilClient | None = None) -> None:
        self.settings = settings
        self.store = Store(settings.db_path)
        self.fiskil = client or FiskilClient(settings)
        self._sync_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.webhooks = WebhookProcessor(settings, self.store, self.sync)

    def close(self) -> None:
        self.webhooks.close()
        self.fiskil.close()
        self.store.close()

    # -- sign-up and Link -----------------------------------------------------------------------

    def create_end_user(self, email: str, name: str) -> str:
        """POST /v1/end-users; if Fiskil already knows the email, reuse that end user
        (400 end_user_already_exists, https://docs.fiskil.com/data-api/api-reference/createEndUser)."""
        try:
            body = self.fiskil.post_json("/v1/end-users", {"email": email, "name": name})
            end_user_id = str(body["end_user_id"])
        except FiskilError as exc:
            if exc.name != "end_user_already_exists":
                raise
            end_user_id = self._find_end_user(email)
        self.store.save_end_user(end_user_id, email, name)
        log.info("end user %s ready", end_user_id)
        return end_user_id

    def _find_end_user(self, email: str) -> str:
        # GET /v1/end-users?email= returns a bare array (https://docs.fiskil.com/end-user).
        users = self.fiskil.get_json("/v1/end-users", {"email": email}) or []
        for user in users:
            if str(user.get("email", "")).lower() == email.lower():
                return str(user["id"])
        raise FiskilError(404, "end_user_not_found", None,
                          "Fiskil said the end user exists but listing by email did not return it")

    def start_link(self, end_user_id: str, institution_id: str | None = None) -> str:
        """POST /v1/auth/session with our own redirect and cancel URIs; returns auth_url.

        A random `state` in the path ties the landing back to the end user without trusting
        whatever Fiskil appends (success parameters are undocumented, docs/sources.md §6)."""
        state = secrets.token_urlsafe(16)
        body: dict[str, str] = {
            "end_user_id": end_user_id,
            "redirect_uri": f"{self.settings.public_url}{COMPLETE_PATH}/{state}",
            "cancel_uri": f"{self.settings.public_url}{CANCELLED_PATH}/{state}",
        }
        if institution_id:
            body["institution_id"] = institution_id
        session = self.fiskil.post_json("/v1/auth/session", body)
        self.store.save_link_session(state, end_user_id, session.get("session_id"))
        log.info("auth session %s created for end user %s", session.get("session_id"), end_user_id)
        return str(session["auth_url"])

    def land(self, url: str) -> Landing:
        """The browser came back to our redirect_uri or cancel_uri (with Fiskil's query)."""
        parts = urlsplit(url)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        path = parts.path.rstrip("/")
        kind, _, state = path.rpartition("/")
        session = self.store.link_session(state)
        if session is None:
            log.warning("landing on %s with an unknown link state", parts.path)
            return Landing("unknown", None, "This link has expired. Please start connecting your bank again.")
        end_user_id, session_id = session
        if kind.endswith(CANCELLED_PATH) or "error_type" in query or "error" in query:
            error_type = query.get("error_type") or query.get("error") or "UNKNOWN"
            error_id = query.get("error_id")
            message = friendly_link_error(error_type, error_id)
            # error_id and session_id are what Fiskil Support needs (go-live checklist); not secrets.
            log.warning("link failed for end user %s: error_type=%s error_id=%s session_id=%s",
                        end_user_id, error_type, error_id, session_id)
            self.store.set_user_error(end_user_id, error_type, message, error_id)
            return Landing("cancelled", end_user_id, message)
        consents = self.fiskil.get_json("/v1/consent", {"end_user_id": end_user_id}) or []
        self.store.upsert_consents(end_user_id, consents)
        self.store.clear_user_error(end_user_id)
        log.info("link completed for end user %s (session %s)", end_user_id, session_id)
        return Landing("connected", end_user_id,
                       "Your bank is connected. We are fetching your accounts and will show them shortly.")

    # -- sync -----------------------------------------------------------------------------------

    def sync(self, end_user_id: str) -> SyncResult:
        """Consents first (ended ones lose their data), then accounts, balances, every transaction page."""
        with self._lock_for(end_user_id):
            try:
                return self._sync_locked(end_user_id)
            except (FiskilError, FiskilUnavailable, ConfigurationError) as exc:
                detail = str(exc)
                if isinstance(exc, FiskilError) and exc.error_id:
                    detail += f" (Fiskil error id {exc.error_id})"
                log.error("sync failed for end user %s: %s", end_user_id, detail)
                self.store.set_user_error(end_user_id, SYNC_FAILED_CODE, SYNC_FAILED_MESSAGE,
                                          getattr(exc, "error_id", None))
                return SyncResult("error", f"sync failed: {detail}")

    def _sync_locked(self, end_user_id: str) -> SyncResult:
        consents = self.fiskil.get_json("/v1/consent", {"end_user_id": end_user_id}) or []
        self.store.upsert_consents(end_user_id, consents)
        ended = [str(c.get("arrangement_id") or c.get("id")) for c in consents if not c.get("active")]
        removed = self.store.remove_consent_data(end_user_id, ended,
                                                 hard=self.settings.has_fault("hard_delete"))
        if not any(c.get("active") for c in consents):
            return SyncResult("ok", f"no active consent; {removed} records of ended consents removed")
        ended_set = set(ended)
        granted = _granted_banking_permissions([c for c in consents if c.get("active")])
        counts: dict[str, int] = {}
        for table, path, root_key in DATA_LISTS:
            if table not in granted:
                continue        # asking for data no active consent grants only earns an error
            seen: set[str] = set()
            for page in self.fiskil.pages(path, root_key, {"end_user_id": end_user_id}):
                live = [r for r in page if str(r.get("arrangement_id")) not in ended_set]
                seen.update(self.store.upsert_page(table, end_user_id, live))   # one transaction per page
            # Only a complete list tells us what disappeared: soft delete the rest.
            self.store.soft_delete_missing(table, end_user_id, seen)
            counts[table] = len(seen)
        self.store.clear_user_error(end_user_id)
        return SyncResult("ok", ", ".join(f"{n} {table}" for table, n in counts.items()))

    def _lock_for(self, end_user_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._sync_locks.setdefault(end_user_id, threading.Lock())

    # -- read-back ------------------------------------------------------------------------------

    def snapshot(self, end_user_id: str) -> SubjectState:
        stored_error = self.store.user_error(end_user_id)
        return SubjectState(
            consents=[ConsentView(cid, active) for cid, active in self.store.consents(end_user_id)],
            accounts=self.store.count_live("accounts", end_user_id),
            transactions=self.store.count_live("transactions", end_user_id),
            last_error=UserError(stored_error.code, stored_error.message) if stored_error else None,
            soft_deleted=sum(self.store.count_all(table, end_user_id) - self.store.count_live(table, end_user_id)
                             for table in ("accounts", "transactions")),
        )

    def handle_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> int:
        return self.webhooks.handle(raw_body, headers)

    def processed_webhooks(self, settle_timeout: float = 5.0) -> list[str]:
        """Message ids, one per processing; waits (bounded) for accepted deliveries to finish first."""
        self.webhooks.wait_idle(settle_timeout)
        return self.store.processed_message_ids()

    def reset(self) -> None:
        self.webhooks.wait_idle(5.0)
        self.store.reset()
        self.fiskil.tokens.clear()


def _granted_banking_permissions(active: list[dict]) -> set[str]:
    """Banking data scopes the active consents grant (permissions per
    https://docs.fiskil.com/data-api/api-reference/permissions); a consent without a permissions list
    is assumed to grant the banking basics."""
    granted: set[str] = set()
    for consent in active:
        if consent.get("institution_type") not in (None, "banking"):
            continue
        permissions = consent.get("permissions")
        granted.update(permissions if isinstance(permissions, list) else ("accounts", "balances", "transactions"))
    return granted
