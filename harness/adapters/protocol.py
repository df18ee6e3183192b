"""What the kit needs from an integration under test (the *subject*).

The same features run against any subject: the reference integration in-process, a Python object a
team writes for its own integration, or a partner app behind the HTTP adapter contract
(docs/adapter-contract.md). Keep this small: every method is something a real integration already
does (sign a user up, start Link, land on its redirect, sync) or can cheaply report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class ConsentView:
    id: str
    active: bool


@dataclass(frozen=True)
class UserError:
    """The last message the integration showed its user, with a stable code (e.g. the Link error_type)."""

    code: str
    message: str


@dataclass(frozen=True)
class SyncResult:
    status: Literal["ok", "error"]
    message: str = ""


@dataclass(frozen=True)
class SubjectState:
    """What the integration stored for one end user, as counts a scenario can compare with the target."""

    consents: list[ConsentView] = field(default_factory=list)
    accounts: int = 0
    transactions: int = 0
    last_error: UserError | None = None
    #: accounts + transactions kept but marked deleted (soft delete); None when the subject does not
    #: report it (optional in the HTTP adapter contract), so soft-vs-hard delete is not observable.
    soft_deleted: int | None = None


@runtime_checkable
class Subject(Protocol):
    """An integration driven by the kit."""

    webhook_url: str | None

    def create_end_user(self, email: str, name: str) -> str:
        """Create the Fiskil end user as the integration would at sign-up; return its id."""

    def start_link(self, end_user_id: str, institution_id: str | None = None) -> str:
        """Create an auth session with the integration's own redirect/cancel URIs; return `auth_url`."""

    def land(self, url: str) -> None:
        """The user's browser lands on the integration's redirect_uri or cancel_uri (with its query)."""

    def sync(self, end_user_id: str) -> SyncResult:
        """Pull data now, as the integration would after a webhook."""

    def snapshot(self, end_user_id: str) -> SubjectState:
        """Read back what the integration stored and last told the user."""

    def processed_webhooks(self) -> list[str]:
        """One message_id per time the integration processed a webhook (duplicates show twice)."""

    def reset(self) -> bool:
        """Forget everything; return False when the subject cannot (the kit then uses fresh end users)."""

    def close(self) -> None:
        """Release servers, threads and files."""


@runtime_checkable
class SubjectLog(Protocol):
    """Optional: a subject that can show what it logged, so a scenario can check the log holds no
    token or secret (Fiskil best practice: never log tokens or credentials). The reference subject
    has it; an HTTP adapter subject does not (its app's log file is checked by
    `fiskil-harness check --log-file`)."""

    def log_lines(self) -> list[str]:
        """Every line the integration logged since its last reset, as written (not redacted)."""
