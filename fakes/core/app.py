"""`build_core()`: the Fiskil core as one Starlette app plus the state operations its routes share.

The core is a state machine on a controllable clock. Routes live in api.py (/v1), link_page.py (the
hosted Link page) and control.py (/__harness); this module owns the state, the event log and the
hooks other parts subscribe to (on_event for the webhook emitter, on_response for contract checks).
"""

from __future__ import annotations

import logging
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp

from fakes.core import api, control, data, link_page
from fakes.core import assumptions as A
from fakes.core.clock import Clock
from fakes.core.faults_control import FaultController
from fakes.core.state import (
    BANKING_PERMISSIONS,
    ENERGY_PERMISSIONS,
    INSTITUTIONS_BY_ID,
    AuthSession,
    Consent,
    State,
    WebhookTarget,
)

log = logging.getLogger("fakes.core")

DEFAULT_CLIENT_ID = "harness-client-id"  # documented local test credentials, not secrets
DEFAULT_CLIENT_SECRET = "harness-client-secret"


def _env_or(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class CoreConfig:
    client_id: str = field(default_factory=lambda: _env_or("FISKIL_CLIENT_ID", DEFAULT_CLIENT_ID))
    client_secret: str = field(default_factory=lambda: _env_or("FISKIL_CLIENT_SECRET", DEFAULT_CLIENT_SECRET))
    seed: int = 0
    token_ttl_seconds: int = 900  # 15 minutes (https://docs.fiskil.com/data-api/guides/getting-started/authentication)
    public_base_url: str | None = None  # set once the edge is up
    # Choices Fiskil does not document (see assumptions.py); configurable per core.
    no_consent_policy: str = A.NO_CONSENT_POLICY  # "forbidden" | "empty"
    success_redirect_params: tuple[str, ...] = A.SUCCESS_REDIRECT_PARAMS
    consent_duration_seconds: int = A.DEFAULT_CONSENT_DURATION_SECONDS
    # A webhook target that survives resets (`fiskil-harness fake --webhook-url`); the control API's
    # PUT /__harness/webhook sets one for the current state only.
    webhook_target: WebhookTarget | None = None

    def __repr__(self) -> str:  # the client secret never reaches a log line
        return (f"CoreConfig(client_id={self.client_id!r}, client_secret=«redacted», seed={self.seed}, "
                f"token_ttl_seconds={self.token_ttl_seconds}, public_base_url={self.public_base_url!r})")


@dataclass(frozen=True)
class ServedResponse:
    """One /v1 response as served, handed to on_response observers (the contract layer)."""

    method: str
    path: str
    route: str  # the route template, e.g. "/v1/end-users/{id}"
    status: int
    headers: dict[str, str]
    body: bytes


def cursor_key(seed: int) -> bytes:
    """The key that signs a core's pagination cursors: tamper evidence, not secrecy."""
    return hashlib.sha256(b"fiskil-harness cursor key\0" + str(seed).encode()).digest()


class Core:
    """The fake Fiskil API: state, clock, event log and the ASGI app serving them."""

    AUTH_SESSION_TTL = 5 * 86_400  # "An Auth Session will expire after 5 days" (https://docs.fiskil.com/data-api/guides/core-concepts/auth-sessions)

    def __init__(self, config: CoreConfig) -> None:
        if config.no_consent_policy not in ("forbidden", "empty"):
            raise ValueError(f"no_consent_policy must be 'forbidden' or 'empty', not {config.no_consent_policy!r}")
        self.config = config
        self.clock = Clock()
        self.lock = threading.RLock()
        self.state = State(seed=config.seed)
        self.state.webhook_target = config.webhook_target
        self.core_url: str | None = None  # set by CoreServer once it listens
        # Signs pagination cursors (api.py) so only cursors this core issued are accepted. Derived from
        # the seed, not random: the same seed must give the same links.next (repeatable exports).
        self.cursor_key = cursor_key(config.seed)
        self._event_subscribers: list[Callable[[dict], None]] = []
        self._response_observers: list[Callable[[ServedResponse], None]] = []
        self._pending_events: list[dict[str, Any]] = []
        # The delivery log of whoever delivers this core's events (FakeStack sets it to its
        # WebhookDispatcher.log); served as GET /__harness/webhook-deliveries, 404 while None.
        self.webhook_log: Callable[[], dict[str, Any]] | None = None
        # The WireMock edge in front of this core (FakeStack sets it), for /__harness/faults; while
        # None those routes answer 409 edge_unavailable.
        self.edge_faults: FaultController | None = None
        self.app: ASGIApp = Starlette(
            routes=[*api.routes(self), *link_page.routes(self), *control.routes(self)],
            exception_handlers=api.exception_handlers(),
        )

    # --- lifecycle and hooks ----------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Fresh state (cheap: nothing is precomputed); config, hooks and the clock mode are kept
        except that the clock returns to real time."""
        with self.lock:
            self.state = State(seed=self.config.seed if seed is None else seed)
            self.cursor_key = cursor_key(self.state.seed)
            self.state.webhook_target = self.config.webhook_target
            self.clock.reset()
            self._pending_events.clear()

    def set_public_base_url(self, url: str) -> None:
        self.config.public_base_url = url.rstrip("/")

    def on_event(self, callback: Callable[[dict], None]) -> None:
        self._event_subscribers.append(callback)

    def on_response(self, callback: Callable[[ServedResponse], None]) -> None:
        self._response_observers.append(callback)

    @property
    def webhook_target(self) -> WebhookTarget | None:
        return self.state.webhook_target

    @property
    def seed(self) -> int:
        return self.state.seed

    def public_base(self, request_base: str) -> str:
        """The base URL for every URL the core hands out: the edge when set, else the core's own."""
        return (self.config.public_base_url or self.core_url or request_base).rstrip("/")

    def observe(self, served: ServedResponse) -> None:
        """Run the response observers; the first that raises propagates (the caller makes it a 500)."""
        for observer in list(self._response_observers):
            observer(served)

    # --- events -----------------------------------------------------------------------------
    def emit(self, event: str, consent: Consent, *, account_ids: list[str] | None = None,
             payee_ids: list[str] | None = None) -> dict[str, Any]:
        """Record a webhook event (call with the lock held); subscribers run on flush_events()."""
        record: dict[str, Any] = {
            "message_id": self.state.ids.uuid(),
            "event": event,
            "end_user_id": consent.end_user_id,
            "consent_id": consent.arrangement_id,
            "institution_id": consent.institution_id,
            "client_id": self.config.client_id,
            "created_at": data.rfc3339(self.clock.now()),
        }
        if account_ids is not None:
            record["account_ids"] = list(account_ids)
        if payee_ids is not None:
            record["payee_ids"] = list(payee_ids)
        self.state.events.append(record)
        self._pending_events.append(record)
        return record

    def flush_events(self) -> None:
        """Hand pending events to subscribers, outside the state lock; a failing subscriber is logged
        and never breaks the API."""
        with self.lock:
            pending, self._pending_events = self._pending_events, []
        for record in pending:
            for subscriber in list(self._event_subscribers):
                try:
                    subscriber(dict(record))
                except Exception as error:  # noqa: BLE001 - a subscriber must not break the API
                    log.warning("event subscriber failed for %s: %s", record["event"], type(error).__name__)

    # --- consents ---------------------------------------------------------------------------
    def sweep(self) -> None:
        """Expire consents whose duration has run out on the clock (emits consent.revoked)."""
        now = self.clock.now()
        for consent in self.state.consents.values():
            if consent.active and consent.expires_at <= now:
                self.end_consent(consent, A.TERMINATION_REASON_EXPIRED, at=consent.expires_at)

    def end_consent(self, consent: Consent, reason: str, at: float | None = None) -> bool:
        """Revoke or expire a consent; False when it was already inactive."""
        if not consent.active:
            return False
        consent.revoked_at = self.clock.now() if at is None else at
        consent.termination_reason = reason
        self.emit("consent.revoked", consent)
        return True

    def consent_json(self, consent: Consent) -> dict[str, Any]:
        # Fields per https://docs.fiskil.com/data-api/api-reference/listConsents (all marked required)
        institution = INSTITUTIONS_BY_ID[consent.institution_id]
        user = self.state.end_users.get(consent.end_user_id)
        return {
            "account_ids": list(consent.account_ids),
            "active": consent.active,
            "app_logo": A.APP_LOGO,
            "app_name": A.APP_NAME,
            "arrangement_id": consent.arrangement_id,
            "created_at": data.rfc3339(consent.created_at),
            "duration": consent.duration,
            "end_user_email": user.email if user else None,
            "end_user_id": consent.end_user_id,
            "expires_at": data.rfc3339(consent.expires_at),
            "institution_id": institution.id,
            "institution_logo": institution.to_json()["logo"],
            "institution_name": institution.name,
            "institution_type": institution.industry,
            "last_accessed": data.rfc3339(consent.last_accessed) if consent.last_accessed else None,
            "last_consent": data.rfc3339(consent.created_at),
            "permissions": list(consent.permissions),
            "termination_reason": consent.termination_reason,
        }

    # --- linking ----------------------------------------------------------------------------
    def offered_accounts(self, session: AuthSession) -> list[dict[str, Any]]:
        """The accounts the Link page offers for the session's institution."""
        institution_id = session.chosen_institution or session.institution_id or A.SANDBOX_BANK_ID
        return data.institution_accounts(self.state.seed, session.end_user_id, institution_id)

    def complete_link(self, session: AuthSession) -> Consent:
        """Create the consent and its data for a successful Link flow, and emit its events."""
        institution = INSTITUTIONS_BY_ID[session.chosen_institution or A.SANDBOX_BANK_ID]
        default_permissions = BANKING_PERMISSIONS if institution.industry == "banking" else ENERGY_PERMISSIONS
        permissions = list(session.permissions or default_permissions)
        offered = {account["fiskil_id"]: account for account in self.offered_accounts(session)}
        chosen = [offered[account_id] for account_id in session.account_ids if account_id in offered]
        now = self.clock.now()
        consent = Consent(
            arrangement_id=self.state.ids.uuid(), end_user_id=session.end_user_id, institution_id=institution.id,
            permissions=permissions, account_ids=[account["fiskil_id"] for account in chosen],
            created_at=now, duration=self.config.consent_duration_seconds,
        )
        self.state.consents[consent.arrangement_id] = consent
        session.consent_id = consent.arrangement_id
        self.emit("consent.received", consent)  # https://docs.fiskil.com/data-api/guides/core-concepts/webhooks
        if institution.industry == "banking":
            self._link_banking_data(consent, chosen, now)
            for resource in ("accounts", "balances", "transactions"):
                self.emit(f"banking.{resource}.sync.completed", consent, account_ids=consent.account_ids)
        return consent

    def _link_banking_data(self, consent: Consent, accounts: list[dict[str, Any]], now: float) -> None:
        """Store the accounts' data under the consent; a re-linked account keeps its records and is
        re-pointed at the new arrangement."""
        seed, store = self.state.seed, self.state.user_data(consent.end_user_id)
        anchor = data.day_anchor(now)
        for template in accounts:
            account_id = template["fiskil_id"]
            if account_id in store.accounts:
                for table in (store.accounts, store.balances, store.transactions, store.direct_debits,
                              store.scheduled_payments):
                    for record in table.values():
                        if record.get("account_id") == account_id or record.get("fiskil_id") == account_id \
                                or record.get("from", {}).get("account_id") == account_id:
                            record["arrangement_id"] = consent.arrangement_id
                continue
            account = {**template, "arrangement_id": consent.arrangement_id}
            store.accounts[account_id] = account
            balance = data.balance_for(account, seed)
            store.balances[balance["fiskil_id"]] = balance
            for table, records in (
                (store.transactions, data.transactions_for(account, seed, self.state.transactions_per_account, anchor)),
                (store.direct_debits, data.direct_debits_for(account, seed, anchor)),
                (store.scheduled_payments, data.scheduled_payments_for(account, seed, anchor)),
            ):
                for record in records:
                    table[record["fiskil_id"]] = record
        for payee in data.payees_for(consent.end_user_id, consent.institution_id, consent.arrangement_id, seed):
            store.payees[payee["fiskil_id"]] = payee


def build_core(config: CoreConfig | None = None) -> Core:
    """A fresh core; config defaults from FISKIL_CLIENT_ID / FISKIL_CLIENT_SECRET or the local defaults."""
    return Core(config or CoreConfig())
