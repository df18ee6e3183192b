"""Everything the fake remembers between requests. One `State` per core; `Core.reset()` swaps in a
fresh one, which is cheap because nothing is precomputed."""

from __future__ import annotations

import base64
import random
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from fakes.core import assumptions as A

BANKING_PERMISSIONS = ("accounts", "balances", "transactions", "payees", "direct_debits", "scheduled_payments")
ENERGY_PERMISSIONS = ("energy_accounts", "energy_balances", "usage", "billing", "invoices")

LINK_OUTCOMES = (
    "success",
    "AUTH_SESSION_CANCELLED",
    "CONSENT_ENDUSER_DENIED",
    "CONSENT_OTP_FAILURE",
    "CONSENT_ENDUSER_INELIGIBLE",
    "CONSENT_UPSTREAM_PROCESSING_ERROR",
    "CONSENT_TIMEOUT",
    "INSTITUTION_OUTAGE",
)


@dataclass
class Institution:
    id: str
    name: str
    industry: str  # banking | energy
    status: str  # HEALTHY | DEGRADED | OUTAGE (status enum is secondary-sourced)
    priority: int

    def to_json(self) -> dict[str, Any]:
        # Fields per https://docs.fiskil.com/data-api/api-reference/institutions
        slug = self.name.lower().replace(" ", "-")
        return {
            "id": self.id,
            "name": self.name,
            "icon": f"https://example.invalid/institutions/{slug}-icon.svg",
            "logo": f"https://example.invalid/institutions/{slug}.svg",
            "industry": self.industry,
            "is_accessible": True,
            "priority": self.priority,
            "status": {"connections": {"status": self.status}},
        }


INSTITUTIONS: tuple[Institution, ...] = (
    Institution(A.SANDBOX_BANK_ID, "Sandbox Bank", "banking", "HEALTHY", 1),
    Institution(A.ENERGY_RETAILER_ID, "Sandbox Energy Retailer", "energy", "HEALTHY", 2),
    Institution(A.OUTAGE_BANK_ID, "Outage Bank", "banking", "OUTAGE", 3),
)
INSTITUTIONS_BY_ID = {institution.id: institution for institution in INSTITUTIONS}


@dataclass
class Token:
    value: str
    expires_at: float
    revoked: bool = False


@dataclass
class EndUser:
    id: str
    email: str | None
    name: str | None
    phone: str | None
    abn: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "name": self.name, "phone": self.phone}


@dataclass
class AuthSession:
    session_id: str
    id: str
    end_user_id: str
    redirect_uri: str
    cancel_uri: str
    institution_id: str | None  # pre-selected: the user cannot pick another
    permissions: list[str] | None
    created_at: float
    expires_at: float
    step: str = "institution"  # institution -> login -> otp -> accounts -> confirm -> done
    chosen_institution: str | None = None
    username: str | None = None
    account_ids: list[str] = field(default_factory=list)
    outcome: str | None = None  # resolved forced outcome (control API or magic username)
    finished: bool = False
    consent_id: str | None = None


@dataclass
class Consent:
    arrangement_id: str
    end_user_id: str
    institution_id: str
    permissions: list[str]
    account_ids: list[str]
    created_at: float
    duration: int
    revoked_at: float | None = None
    termination_reason: str | None = None
    last_accessed: float | None = None

    @property
    def expires_at(self) -> float:
        return self.created_at + self.duration

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass
class UserData:
    """The banking data held for one end user across all their consents, keyed by fiskil_id."""

    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    balances: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    payees: dict[str, dict[str, Any]] = field(default_factory=dict)
    direct_debits: dict[str, dict[str, Any]] = field(default_factory=dict)
    scheduled_payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    serial: int = 0  # bumps on every generated record, so added records get fresh seeded ids


@dataclass
class RateLimit:
    requests: int
    window_seconds: float
    retry_after: int


@dataclass
class WebhookTarget:
    """Where the emitter delivers webhooks. The secret is never echoed by the control API."""

    url: str
    secret: str

    def __repr__(self) -> str:  # keep the secret out of logs and assertion messages
        return f"WebhookTarget(url={self.url!r}, secret=«redacted»)"


class IdSource:
    """Every id the fake makes up (end users, sessions, consents, error and event ids) comes from one
    RNG seeded with the state's seed, so the same seed and the same requests give the same ids (an
    export-mappings run is repeatable). Bearer tokens are credentials, not ids: they stay random."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(zlib.crc32(f"{seed}:ids".encode()))
        self._lock = threading.Lock()

    def _bits(self, n: int) -> int:
        with self._lock:
            return self._rng.getrandbits(n)

    def uuid(self) -> str:
        """A version-4-looking UUID."""
        return str(uuid.UUID(int=self._bits(128), version=4))

    def hex(self, nbytes: int) -> str:
        return f"{self._bits(nbytes * 8):0{nbytes * 2}x}"

    def urlsafe(self, nbytes: int) -> str:
        return base64.urlsafe_b64encode(self._bits(nbytes * 8).to_bytes(nbytes, "big")).rstrip(b"=").decode()


@dataclass
class State:
    seed: int
    tokens: dict[str, Token] = field(default_factory=dict)
    end_users: dict[str, EndUser] = field(default_factory=dict)
    sessions: dict[str, AuthSession] = field(default_factory=dict)
    consents: dict[str, Consent] = field(default_factory=dict)
    data: dict[str, UserData] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    outcome_by_user: dict[str, str] = field(default_factory=dict)
    outcome_by_session: dict[str, str] = field(default_factory=dict)
    transactions_per_account: int = A.DEFAULT_TRANSACTIONS_PER_ACCOUNT
    rate_limit: RateLimit | None = None
    rate_windows: dict[str, tuple[float, int]] = field(default_factory=dict)  # token -> (start, count)
    expire_after_requests: int | None = None
    webhook_target: WebhookTarget | None = None
    ids: IdSource = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.ids = IdSource(self.seed)

    def user_data(self, end_user_id: str) -> UserData:
        return self.data.setdefault(end_user_id, UserData())
