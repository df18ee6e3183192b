"""Steps for the Link flow: the customer connects (or fails to connect) their bank, and what the
integration then stores and shows them.

PYTEST_DONT_REWRITE: the messages say expected and observed; introspection would only add noise.
"""

from __future__ import annotations

import re

from pytest_bdd import given, parsers, then, when

from steps.common import active_subject, link_customer
from steps.traffic import mark_journal

# Our Link outcome convention (docs/fake.md); the error types are the Link SDK's
# (https://github.com/Fiskil/link src/types.ts).
CANCELLED = "AUTH_SESSION_CANCELLED"
#: What a customer should never read in a message: (what it is, the pattern). The same list is in
#: docs/partner-guide.md ("Messages to the customer"); tests/docs keeps the two equal.
TECHNICAL_TERMS: tuple[tuple[str, str], ...] = (
    ("an error code in capitals, e.g. CONSENT_TIMEOUT or SYNC_FAILED", r"[A-Z]{3,}_[A-Z_]+"),
    ("a Fiskil error id, e.g. err_3fa85f64-5717", r"\berr_[0-9a-f-]{8,}"),
    ("a URL", r"https?://"),
    ("a stack trace", r"Traceback"),
    ("an exception name", r"Exception"),
    ("an HTTP status, e.g. HTTP 503", r"HTTP \d{3}"),
)
TECHNICAL = re.compile("|".join(pattern for _, pattern in TECHNICAL_TERMS))


@when("the customer links their bank with a banking consent")
@given("the customer has linked their bank with a banking consent")
def customer_links(ctx, subject, link_browser, edge) -> None:
    result = link_customer(ctx, subject, link_browser, ctx.end_user_id)
    assert result.outcome == "redirect", f"expected Link to succeed, observed outcome {result.outcome!r} ({result.params})"
    if "journal_mark" not in ctx.__dict__:
        mark_journal(ctx, edge)


@when(parsers.parse('the customer links their bank at institution "{institution_id}" with a banking consent'))
def customer_links_at(ctx, subject, link_browser, institution_id: str) -> None:
    result = link_customer(ctx, subject, link_browser, ctx.end_user_id, institution_id=institution_id)
    assert result.outcome == "redirect", f"expected Link to succeed, observed outcome {result.outcome!r} ({result.params})"


@when("the customer cancels at the Link page")
@given("the customer has cancelled at the Link page")
def customer_cancels(ctx, subject, link_browser) -> None:
    result = link_customer(ctx, subject, link_browser, ctx.end_user_id, outcome=CANCELLED)
    assert result.outcome == "cancel", f"expected the browser to be sent to the cancel address, observed {result.final_url}"


@when(parsers.parse('the Link flow ends with "{outcome}"'))
def link_ends_with(ctx, subject, link_browser, outcome: str) -> None:
    result = link_customer(ctx, subject, link_browser, ctx.end_user_id, outcome=outcome)
    assert result.outcome == "cancel", f"expected the browser to be sent to the cancel address, observed {result.final_url}"


@then(parsers.parse('Fiskil sends the customer back with error type "{error_type}"'))
def back_with_error_type(ctx, error_type: str) -> None:
    params = ctx.link_result.params
    assert params.get("error_type") == error_type, (
        f"expected the cancel address to carry error_type={error_type}, observed {params.get('error_type')!r}"
    )
    missing = [p for p in ("error", "error_id", "error_description", "error_uri") if not params.get(p)]
    # Fiskil sends all five error parameters (https://docs.fiskil.com/errors, Fiskil/link test/parse.test.ts).
    assert not missing, f"expected all Fiskil error parameters on the cancel address, observed {missing} missing"


@given("the customer has started linking their bank")
def started_linking(ctx, subject, edge) -> None:
    ctx.auth_url = active_subject(ctx, subject).start_link(ctx.end_user_id)
    mark_journal(ctx, edge)


@when("the customer opens the same Link session again")
def reopen_session(ctx, subject, link_browser) -> None:
    ctx.reopened = link_browser.complete(ctx.auth_url)
    if ctx.reopened.outcome in ("redirect", "cancel"):
        active_subject(ctx, subject).land(ctx.reopened.final_url)


@then("Fiskil refuses the used session")
@then("Fiskil refuses the expired session")
def session_refused(ctx) -> None:
    result = ctx.reopened
    assert result.outcome in ("error", "cancel"), (
        f"expected the Link page to refuse the session, observed outcome {result.outcome!r} at {result.final_url}"
    )


def _consents(ctx, subject):
    return active_subject(ctx, subject).snapshot(ctx.end_user_id).consents


@then("the integration stores no consent")
def no_consent(ctx, subject) -> None:
    consents = _consents(ctx, subject)
    assert not [c for c in consents if c.active], f"expected no active consent stored, observed {consents}"


@then(parsers.re(r"the integration stores (?P<count>\d+) active consents?"), converters={"count": int})
def active_consents(ctx, subject, count: int) -> None:
    active = [c for c in _consents(ctx, subject) if c.active]
    assert len(active) == count, f"expected {count} active consent(s) stored, observed {len(active)}: {active}"


@then("the stored consent is the one Fiskil holds for the customer")
def consent_matches_target(ctx, subject, fiskil_api) -> None:
    stored = {c.id for c in _consents(ctx, subject) if c.active}
    held = {str(c.get("arrangement_id") or c.get("id")) for c in fiskil_api.consents(ctx.end_user_id) if c.get("active")}
    assert stored == held, f"expected the stored consents {sorted(stored)} to be Fiskil's {sorted(held)}"


@then("the integration shows the customer no error")
def no_user_error(ctx, subject) -> None:
    error = active_subject(ctx, subject).snapshot(ctx.end_user_id).last_error
    assert error is None, f"expected no error shown to the customer, observed {error}"


@then(parsers.parse('the integration shows the customer the "{code}" message'))
def shows_message(ctx, subject, code: str) -> None:
    error = active_subject(ctx, subject).snapshot(ctx.end_user_id).last_error
    assert error is not None, f"expected the customer to see a message for {code}, observed none"
    assert error.code == code, f"expected the message for {code}, observed code {error.code!r}: {error.message!r}"
    ctx.user_error = error


@then(parsers.parse('the message is friendly and tells the customer to "{next_step}"'))
def message_is_friendly(ctx, next_step: str) -> None:
    message = ctx.user_error.message
    technical = TECHNICAL.findall(message)
    assert not technical, f"expected a message in plain words, observed technical terms {technical} in {message!r}"
    assert next_step.lower() in message.lower(), (
        f"expected the message to tell the customer to {next_step!r}, observed {message!r}"
    )
