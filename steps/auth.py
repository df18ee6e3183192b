"""Steps about credentials and tokens: a wrong client secret, revoked and expiring tokens.

A wrong secret is a second subject built like the worker's one (same `--subject` spec) with only
the secret changed, so the real fake rejects it; it is closed at the end of the scenario.

PYTEST_DONT_REWRITE: the messages say expected and observed; introspection would only add noise.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading

import pytest
from pytest_bdd import given, then, when

from harness.adapters.protocol import SubjectLog
from harness.subjects import build_subject
from steps.common import active_subject
from steps.traffic import mark_sync, sync_traffic

REJECTION_WORDS = ("credential", "client_id", "client secret", "client_secret", "rejected", "unauthori")


@given("the integration is configured with a wrong client secret")
def wrong_secret(ctx, subject, request, caplog, redactor) -> None:
    config = getattr(subject, "harness_config", None)
    if config is None:
        pytest.skip("the subject was not built by the kit, so it cannot be reconfigured with a wrong secret")
    caplog.set_level(logging.INFO)
    ctx.wrong_secret = "wrong-" + secrets.token_urlsafe(24)
    redactor.add(ctx.wrong_secret)
    spec = request.config.getoption("subject")
    work_dir = config.work_dir / f"wrong-secret-{secrets.token_hex(4)}"
    work_dir.mkdir(parents=True)
    override = build_subject(spec, dataclasses.replace(config, client_secret=ctx.wrong_secret, work_dir=work_dir))
    request.addfinalizer(override.close)
    ctx.subject_override = override


@when("a customer tries to sign up with the integration")
def try_sign_up(ctx, subject, faker) -> None:
    try:
        ctx.end_user_id = active_subject(ctx, subject).create_end_user(f"{faker.user_name()}@example.com", faker.name())
        ctx.sign_up_error = None
    except Exception as exc:  # the subject's own error type: we judge its message, not its class
        ctx.sign_up_error = exc


@then("the sign-up fails with a configuration error")
def sign_up_config_error(ctx) -> None:
    error = ctx.sign_up_error
    assert error is not None, f"expected the sign-up to fail, observed end user {ctx.get('end_user_id')} created"
    text = f"{type(error).__name__}: {error}".lower()
    assert "config" in text or any(word in text for word in REJECTION_WORDS), (
        f"expected an error that names the configuration/credentials as the cause, observed {type(error).__name__}"
    )


@then("the integration's logs explain that the credentials were rejected")
def logs_explain(caplog) -> None:
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(any(word in line.lower() for word in REJECTION_WORDS) for line in warnings), (
        f"expected a warning or error log saying the credentials were rejected, observed {len(warnings)} "
        f"warning/error lines: {warnings[-5:]}"
    )


@then("the client secret appears in no log line and in no message to the customer")
def secret_not_leaked(ctx, subject, caplog, target) -> None:
    secrets_to_hide = [s for s in (ctx.get("wrong_secret"), target.client_secret) if s]
    places = {"log": caplog.text}
    if ctx.get("sync_result") is not None:
        places["sync message"] = ctx.sync_result.message
    if ctx.get("sign_up_error") is not None:
        places["sign-up error"] = str(ctx.sign_up_error)
    if ctx.get("end_user_id"):
        error = active_subject(ctx, subject).snapshot(ctx.end_user_id).last_error
        places["message to the customer"] = error.message if error else ""
    leaks = [where for where, text in places.items() for secret in secrets_to_hide if secret in text]
    # The message names only where the secret leaked; it never quotes the secret itself.
    assert not leaks, f"expected the client secret nowhere, observed it in: {', '.join(leaks)}"


def bearer_tokens(entries: list) -> set[str]:
    """The bearer tokens the integration sent (from the edge journal's Authorization headers)."""
    tokens = set()
    for entry in entries:
        scheme, _, value = (entry.header("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            tokens.add(value.strip())
    return tokens


@then("the integration's log holds no access token or client secret")
def log_holds_no_secret(ctx, subject, edge, target, redactor) -> None:
    integration = active_subject(ctx, subject)
    if not isinstance(integration, SubjectLog):
        pytest.skip("not observable here: the subject does not expose its log to the scenario (for an app behind "
                    "the HTTP adapter, `fiskil-harness check --log-file` grades its log in the separate "
                    "'log hygiene' row)")
    tokens = bearer_tokens(edge.requests())
    assert tokens, "expected the integration to call Fiskil with a bearer token (set-up), observed none in its traffic"
    for token in tokens:
        redactor.add(token)  # so nothing below can print one
    secrets_to_find = tokens | {target.client_secret}
    lines = integration.log_lines()
    leaking = [line for line in lines if any(secret in line for secret in secrets_to_find)]
    example = redactor.redact(leaking[0]) if leaking else ""
    leak_count = len(leaking)  # asserted as a number: pytest's introspection must not print the lines themselves
    # Fiskil best practice: never log tokens or credentials. The evidence masks the values it found.
    assert leak_count == 0, (
        f"expected no access token or client secret in the integration's log, observed {leak_count} of its "
        f"{len(lines)} log lines holding one, e.g. {example!r}")


@then("the integration shows the customer a friendly sync error")
def friendly_sync_error(ctx, subject) -> None:
    error = active_subject(ctx, subject).snapshot(ctx.end_user_id).last_error
    assert error is not None, "expected the customer to see a message about the failed refresh, observed none"
    from steps.link import TECHNICAL

    technical = TECHNICAL.findall(error.message)
    # an error code is fine in `code`; the text the customer reads must be plain words
    assert not technical, f"expected a plain-words message, observed technical terms {technical} in {error.message!r}"


@when("Fiskil revokes every issued token")
@when("the token expires")
def expire_all_tokens(control) -> None:
    control.expire_tokens()


#: the token dies after this many more authorised requests: a few pages into a paginated sync
EXPIRES_AFTER_REQUESTS = 3


@given("the token will expire partway through the next sync")
def expire_after(control) -> None:
    control.expire_tokens(after_requests=EXPIRES_AFTER_REQUESTS)


@when("the integration syncs both customers at the same time")
def concurrent_syncs(ctx, subject, edge) -> None:
    subj = active_subject(ctx, subject)
    mark_sync(ctx, edge)
    barrier = threading.Barrier(len(ctx.end_user_ids))
    results: dict[str, object] = {}

    def run(end_user_id: str) -> None:
        barrier.wait(timeout=5)
        results[end_user_id] = subj.sync(end_user_id)

    threads = [threading.Thread(target=run, args=(u,), daemon=True) for u in ctx.end_user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "expected both syncs to finish within 30 s, observed a hung sync"
    ctx.sync_results = results


@then("both syncs succeed")
def both_succeed(ctx, edge) -> None:
    results = ctx.sync_results
    failed = [f"{end_user_id}: status {r.status!r}: {r.message}" for end_user_id, r in results.items() if r.status != "ok"]
    assert len(results) == 2 and not failed, (
        f"expected both syncs to succeed, observed {len(results)} finished, {len(failed)} failed:\n  "
        + "\n  ".join(failed) + f"\n{sync_traffic(ctx, edge)}")
