"""The catalogue of Fiskil webhook event names, with where each name comes from.

Primary: listed on Fiskil's webhooks guide https://docs.fiskil.com/guide/api/webhooks (the stored list is
truncated after "banking."; the banking names below it come from the same list) or named in the income
guide https://docs.fiskil.com/data-api/guides/data-domains/income.
Secondary: third-party integrators only (docs/sources.md §10 [S-DIGEST] [S-WHLIB]); "unverified" ones
were seen in one integrator's code and nowhere in Fiskil's docs.
Which events carry `account_ids` / `payee_ids` is also secondary ([S-DIGEST], payload-fields section).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["primary", "secondary", "unverified"]


@dataclass(frozen=True)
class EventType:
    name: str
    source: Source
    carries_account_ids: bool = False
    carries_payee_ids: bool = False
    note: str = ""


def _e(name: str, source: Source, *, accounts: bool = False, payees: bool = False, note: str = "") -> EventType:
    return EventType(name, source, accounts, payees, note)


_CATALOGUE: tuple[EventType, ...] = (
    # Consent lifecycle — https://docs.fiskil.com/guide/api/webhooks ; consent webhook carries
    # end_user_id and consent_id: https://docs.fiskil.com/data-api/guides/core-concepts/consents
    _e("consent.received", "primary", note="user granted consent"),
    _e("consent.updated", "primary", note="user modified consent"),
    _e("consent.revoked", "primary", note="consent expired or was revoked"),
    # Identity
    _e("common.identity.sync.completed", "primary"),
    # Energy — https://docs.fiskil.com/guide/api/webhooks
    _e("energy.billing.sync.completed", "primary"),
    _e("energy.usage.sync.completed", "primary"),
    _e("energy.servicepoints.sync.completed", "primary"),
    _e("energy.accounts.sync.completed", "primary", accounts=True),
    _e("energy.concessions.sync.completed", "primary"),
    _e("energy.der.sync.completed", "primary"),
    _e("energy.invoices.sync.completed", "primary"),
    _e("energy.paymentschedules.sync.completed", "primary"),
    _e("energy.plans.sync.completed", "primary"),
    _e("energy.balances.sync.completed", "secondary", accounts=True, note="only in the payload-fields section"),
    # Banking — https://docs.fiskil.com/guide/api/webhooks
    _e("banking.accounts.sync.completed", "primary", accounts=True),
    _e("banking.balances.sync.completed", "primary", accounts=True),
    _e("banking.transactions.sync.completed", "primary", accounts=True),
    # https://docs.fiskil.com/data-api/guides/data-domains/income
    _e("banking.transactions.basic.sync.completed", "primary", accounts=True),
    _e("banking.payees.sync.completed", "secondary", payees=True),
    _e("banking.directdebits.sync.completed", "secondary"),
    _e("banking.scheduledpayments.sync.completed", "secondary"),
    _e("banking.products.sync.completed", "secondary"),
    _e("banking.transactions.recent.sync.completed", "unverified", note="one integrator only"),
    _e("banking.transactions.sync.failed", "unverified", note="one integrator only"),
)

EVENTS: dict[str, EventType] = {event.name: event for event in _CATALOGUE}


class UnknownEventError(KeyError):
    """An event name the catalogue does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; say what to do instead
        return str(self.args[0])


def event_type(name: str) -> EventType:
    """The catalogue entry for `name`, or an error listing the known names."""
    try:
        return EVENTS[name]
    except KeyError:
        known = ", ".join(sorted(EVENTS))
        raise UnknownEventError(f"unknown webhook event {name!r}; known events: {known}") from None


def event_names(*, include_unverified: bool = False) -> list[str]:
    """All catalogued event names, in catalogue order."""
    return [e.name for e in _CATALOGUE if include_unverified or e.source != "unverified"]
