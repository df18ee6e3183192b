"""Steps about the data: what the bank holds (set through the fake's control API), what Fiskil
serves (read with the kit's own client) and what the integration stored (its snapshot).

PYTEST_DONT_REWRITE: the messages say expected and observed; introspection would only add noise.
"""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from steps.common import active_subject


def _target_counts(fiskil_api, end_user_id: str) -> tuple[int, int]:
    """Accounts and transactions Fiskil serves for the customer's active consents."""
    active = {str(c.get("arrangement_id")) for c in fiskil_api.consents(end_user_id) if c.get("active")}
    accounts = [a for a in fiskil_api.accounts(end_user_id) if not active or str(a.get("arrangement_id")) in active]
    transactions = [t for t in fiskil_api.transactions(end_user_id) if not active or str(t.get("arrangement_id")) in active]
    ids = [t.get("fiskil_id") for t in transactions]
    assert len(ids) == len(set(ids)), f"the target served duplicate transactions: {len(ids) - len(set(ids))} repeated fiskil_ids"
    return len(accounts), len(transactions)


@given(parsers.parse("each newly linked account holds {count:d} transactions"))
def volume(control, count: int) -> None:
    control.set_volume(count)


@when(parsers.re(r"the bank (?P<action>adds|changes|removes) (?P<count>\d+) transactions for the customer"))
def bank_changes(control, ctx, action: str, count: str) -> None:
    verb = {"adds": "add", "changes": "modify", "removes": "remove"}[action]
    control.change_transactions(ctx.end_user_id, verb, count=int(count))
    ctx.__dict__.setdefault("bank_changes", {})[verb] = int(count)


@then("the integration stores the same accounts and transactions as Fiskil holds")
def stored_matches_target(ctx, subject, fiskil_api) -> None:
    accounts, transactions = _target_counts(fiskil_api, ctx.end_user_id)
    state = active_subject(ctx, subject).snapshot(ctx.end_user_id)
    assert accounts > 0, "expected Fiskil to hold accounts for the customer (set-up), observed none"
    assert (state.accounts, state.transactions) == (accounts, transactions), (
        f"expected the integration to store what Fiskil holds: {accounts} accounts and {transactions} transactions; "
        f"observed {state.accounts} accounts and {state.transactions} live transactions stored"
    )


@then("the changed transactions are stored with their new details")
def net_change(ctx, subject) -> None:
    """Adds and removes show in the live count; a change must not add a row (upsert, not insert)."""
    changes = ctx.bank_changes
    expected = ctx.before.transactions + changes.get("add", 0) - changes.get("remove", 0)
    state = active_subject(ctx, subject).snapshot(ctx.end_user_id)
    assert state.transactions == expected, (
        f"expected {ctx.before.transactions} + {changes.get('add', 0)} added - {changes.get('remove', 0)} removed = "
        f"{expected} live transactions (changed ones updated in place), observed {state.transactions}"
    )


@then("the integration stored the customer's accounts but no partial transactions")
def partial_state(ctx, subject, fiskil_api) -> None:
    accounts, _ = _target_counts(fiskil_api, ctx.end_user_id)
    state = active_subject(ctx, subject).snapshot(ctx.end_user_id)
    assert state.accounts == accounts, f"expected the {accounts} accounts fetched before the failure, observed {state.accounts}"
    assert state.transactions == 0, (
        f"expected no transactions (every transactions request failed), observed {state.transactions} stored"
    )


# --- consents ------------------------------------------------------------------------------------


def _active_consent(fiskil_api, end_user_id: str) -> str:
    active = [c for c in fiskil_api.consents(end_user_id) if c.get("active")]
    assert active, f"expected the customer {end_user_id} to hold an active consent (set-up), observed none"
    return str(active[0]["arrangement_id"])


@when("the customer revokes the consent")
@given("the customer has revoked the consent")
def revoke(ctx, control, fiskil_api) -> None:
    ctx.ended_consent = _active_consent(fiskil_api, ctx.end_user_id)
    control.revoke_consent(ctx.ended_consent)


@when("the consent expires")
def expire(ctx, control, fiskil_api) -> None:
    ctx.ended_consent = _active_consent(fiskil_api, ctx.end_user_id)
    control.expire_consent(ctx.ended_consent)


@then("the integration stores the consent as inactive")
def consent_inactive(ctx, subject) -> None:
    consents = {c.id: c.active for c in active_subject(ctx, subject).snapshot(ctx.end_user_id).consents}
    assert consents.get(ctx.ended_consent) is False, (
        f"expected consent {ctx.ended_consent} stored as inactive, observed {consents}"
    )


@then("the integration keeps no live accounts or transactions for the customer")
def no_live_data(ctx, subject) -> None:
    state = active_subject(ctx, subject).snapshot(ctx.end_user_id)
    assert (state.accounts, state.transactions) == (0, 0), (
        f"expected the ended consent's data soft-deleted (0 live accounts, 0 live transactions), "
        f"observed {state.accounts} accounts and {state.transactions} transactions"
    )


@then("the integration keeps the ended consent's accounts and transactions as soft-deleted records")
def data_soft_deleted(ctx, subject) -> None:
    state = active_subject(ctx, subject).snapshot(ctx.end_user_id)
    if state.soft_deleted is None:
        pytest.skip("not observable: the subject does not report soft_deleted (optional in adapter contract v1)")
    expected = ctx.before.accounts + ctx.before.transactions
    assert state.soft_deleted == expected, (
        f"expected the {expected} records synced under the ended consent kept as soft-deleted "
        f"(Fiskil best practice: consider soft deletes for removed records), observed {state.soft_deleted} "
        "soft-deleted records: the integration erased them instead"
    )


@then("Fiskil lists the consent as inactive")
def target_consent_inactive(ctx, fiskil_api) -> None:
    consents = {str(c.get("arrangement_id")): c.get("active") for c in fiskil_api.consents(ctx.end_user_id)}
    assert consents.get(ctx.ended_consent) is False, (
        f"expected Fiskil to list consent {ctx.ended_consent} as inactive, observed {consents}"
    )
