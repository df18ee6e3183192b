"""Steps shared by every feature: customers, syncs, the fake's clock.

Names and emails come from Faker seeded per test (the plugin's autouse `faker_seed`), never from
the feature text, so collection is identical on every xdist worker. A sync that fails unexpectedly
shows the integration's requests during it (status and which token), the evidence a partner needs.

PYTEST_DONT_REWRITE: the messages say expected and observed; introspection would only add noise.
"""

from __future__ import annotations

import pytest
from faker import Faker
from pytest_bdd import given, parsers, then, when

from harness.adapters.protocol import Subject, SyncResult
from harness.target import NEEDS_END_USER
from steps.traffic import mark_journal, mark_sync, sync_traffic


def active_subject(ctx, subject: Subject) -> Subject:
    """The subject the scenario drives: the worker's one, or a reconfigured one a step built."""
    return ctx.get("subject_override") or subject


def new_customer(ctx, subject: Subject, faker: Faker) -> str:
    email = f"{faker.user_name()}.{faker.random_int(1000, 9999)}@example.com"
    end_user_id = active_subject(ctx, subject).create_end_user(email, faker.name())
    ctx.created_end_users.append(end_user_id)
    return end_user_id


def link_customer(ctx, subject: Subject, link_browser, end_user_id: str, outcome: str = "success",
                  institution_id: str | None = None):
    """The customer's browser goes through Fiskil's hosted Link page and lands back on the subject."""
    subj = active_subject(ctx, subject)
    auth_url = subj.start_link(end_user_id, institution_id)
    kwargs = {"outcome": outcome}
    if institution_id:
        kwargs["institution_id"] = institution_id
    result = link_browser.complete(auth_url, **kwargs)
    subj.land(result.final_url)
    ctx.auth_url, ctx.link_result = auth_url, result
    return result


def sync(ctx, subject: Subject, end_user_id: str | None = None, edge=None) -> SyncResult:
    if edge is not None:
        mark_sync(ctx, edge)
    result = active_subject(ctx, subject).sync(end_user_id or ctx.end_user_id)
    ctx.sync_result = result
    return result


# --- customers ------------------------------------------------------------------------------------


@given("a customer who has signed up with the integration")
def signed_up_customer(ctx, subject, faker, edge) -> None:
    ctx.end_user_id = new_customer(ctx, subject, faker)
    mark_journal(ctx, edge)


@given("a customer with an active banking consent")
def consented_customer(ctx, subject, target, link_browser, faker, edge) -> None:
    if not target.is_fake:
        # The real Link flow needs a person at the bank's pages: use an end user consented beforehand.
        if not target.sandbox_end_user_id:
            pytest.skip(NEEDS_END_USER)
        ctx.end_user_id = target.sandbox_end_user_id
        # On the fake, landing on the redirect makes the integration fetch the new consent (and so
        # hold a token) before the scenario starts; a first sync puts it in that same state here.
        result = sync(ctx, subject, edge=edge)
        assert result.status == "ok", f"set-up sync of the sandbox end user failed: {result.message}\n{sync_traffic(ctx, edge)}"
        mark_journal(ctx, edge)
        return
    ctx.end_user_id = new_customer(ctx, subject, faker)
    link_customer(ctx, subject, link_browser, ctx.end_user_id)
    mark_journal(ctx, edge)


@given("two customers with an active banking consent")
def two_consented_customers(ctx, subject, link_browser, faker, edge) -> None:
    ctx.end_user_ids = []
    for _ in range(2):
        end_user_id = new_customer(ctx, subject, faker)
        link_customer(ctx, subject, link_browser, end_user_id)
        ctx.end_user_ids.append(end_user_id)
    ctx.end_user_id = ctx.end_user_ids[0]
    mark_journal(ctx, edge)


# --- syncs ---------------------------------------------------------------------------------------


@when("the integration syncs the customer")
@when("the integration syncs the customer again")
def sync_customer(ctx, subject, edge) -> None:
    sync(ctx, subject, edge=edge)


@given("the integration has synced the customer")
@given("the integration has synced the customer again")
@given("the integration holds a valid token")
def synced_customer(ctx, subject, edge) -> None:
    result = sync(ctx, subject, edge=edge)
    assert result.status == "ok", (f"expected the set-up sync to succeed, observed status {result.status!r}: "
                                   f"{result.message}\n{sync_traffic(ctx, edge)}")
    ctx.before = active_subject(ctx, subject).snapshot(ctx.end_user_id)
    mark_journal(ctx, edge)


@then("the sync succeeds")
def sync_succeeds(ctx, edge) -> None:
    result = ctx.sync_result
    assert result.status == "ok", (f"expected the sync to succeed, observed status {result.status!r}: {result.message}\n"
                                   f"{sync_traffic(ctx, edge)}")


@then("the sync fails")
def sync_fails(ctx) -> None:
    result = ctx.sync_result
    assert result.status == "error", (
        f"expected the sync to report an error, observed status {result.status!r}: {result.message}"
    )


# --- time ----------------------------------------------------------------------------------------


_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _seconds(text: str) -> float:
    total = 0.0
    for part in text.replace(" and ", ",").split(","):
        amount, unit = part.strip().split()
        total += float(amount) * _UNITS[unit.rstrip("s")]
    return total


@when(parsers.re(r"(?P<duration>\d+ (?:second|minute|hour|day)s?(?: and \d+ (?:second|minute|hour|day)s?)*) pass"))
def time_passes(control, duration: str) -> None:
    control.advance_clock(_seconds(duration))
