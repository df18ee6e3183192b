"""Assertions on the subject's traffic, read from the WireMock edge's request journal.

The journal views leave out the kit's own calls (control API, `X-Harness-Probe: 1` reads), so
everything counted here is what the integration under test sent. `ctx.journal_mark` (set by the
steps that finish a set-up action) lets a step look only at what happened since.

PYTEST_DONT_REWRITE: every assertion here carries its own "expected ..., observed ..." message, so
pytest's assertion introspection would only add noise to the report.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from pytest_bdd import parsers, then

from harness.redaction import default_redactor

TOKEN_PATH = r"/v1/token"
BANKING_PATH = r"/v1/banking/.*"
TRANSACTIONS_PATH = r"/v1/banking/transactions"
ACCOUNTS_PATH = r"/v1/banking/accounts"


def describe_journal(entries: list[Any], limit: int = 20) -> str:
    """A redacted, readable excerpt of the journal for assertion messages and reports."""
    if not entries:
        return "  (no requests from the subject)"
    start = entries[0].logged_at
    shown = entries[-limit:]
    lines = [f"  … {len(entries) - limit} earlier requests"] if len(entries) > limit else []
    for entry in shown:
        status = entry.status if entry.status else "no HTTP response (socket fault)"
        lines.append(f"  +{entry.logged_at - start:7.3f}s {entry.method:<6} {entry.url} → {status}")
    return default_redactor.redact("\n".join(lines))


#: How many of the integration's requests a failed sync shows.
SYNC_TRAFFIC_LIMIT = 10


def _token_names(entries: list[Any]) -> dict[str, str]:
    """token#1, token#2, ... by first use in the scenario: readable, and no token is ever shown."""
    from harness.audit.rules import bearer

    names: dict[str, str] = {}
    for entry in entries:
        token = bearer(entry)
        if token and token not in names:
            names[token] = f"token#{len(names) + 1}"
    return names


def describe_requests(entries: list[Any], names: dict[str, str], limit: int = SYNC_TRAFFIC_LIMIT) -> str:
    """One line per request, e.g. `GET /v1/banking/transactions → 401 (token#2)`, the last `limit` of them."""
    from harness.audit.rules import bearer

    if not entries:
        return "  (the integration sent no request to Fiskil)"
    shown = entries[-limit:]
    lines = [f"  … {len(entries) - limit} earlier requests"] if len(entries) > limit else []
    for entry in shown:
        status = entry.status if entry.status else "no HTTP response (socket fault)"
        token = bearer(entry)
        auth = f" ({names.get(token, 'a token')})" if token else (" (no Authorization)" if entry.path != "/v1/token" else "")
        page = " (next page)" if "page[after]" in entry.query else ""
        lines.append(f"  {entry.method} {entry.path}{page} → {status}{auth}")
    return default_redactor.redact("\n".join(lines))


def mark_sync(ctx: Any, edge: Any) -> None:
    """Remember where the journal stood when a sync started, for the evidence if it fails."""
    ctx.sync_mark = len(edge.requests())


def sync_traffic(ctx: Any, edge: Any) -> str:
    """The integration's requests during the last sync, for a failure message."""
    entries = edge.requests()
    during = entries[ctx.get("sync_mark", ctx.get("journal_mark", 0)):]
    return (f"the integration's requests to Fiskil during the sync (last {min(len(during), SYNC_TRAFFIC_LIMIT)} of "
            f"{len(during)}):\n" + describe_requests(during, _token_names(entries)))


def mark_journal(ctx: Any, edge: Any) -> None:
    """Remember how much of the journal belongs to the set-up, so Then steps can look past it."""
    ctx.journal_mark = len(edge.requests())
    ctx.marked_at = time.time()


def since_mark(ctx: Any, edge: Any, method: str | None = None, path_pattern: str | None = None) -> list[Any]:
    """Subject requests after the mark (all of them when no mark was set), optionally filtered."""
    entries = edge.requests()[ctx.get("journal_mark", 0):]
    if method or path_pattern:
        compiled = re.compile(path_pattern) if path_pattern else None
        entries = [
            e for e in entries
            if (method is None or e.method == method) and (compiled is None or compiled.fullmatch(e.path))
        ]
    return entries


def traffic_failure(expected: str, observed: str, entries: list[Any]) -> str:
    return f"expected {expected}, observed {observed}\nsubject traffic through the edge:\n{describe_journal(entries)}"


@then(parsers.parse("the integration fetched at least {pages:d} pages of transactions"))
def fetched_pages(edge: Any, ctx: Any, pages: int) -> None:
    entries = since_mark(ctx, edge, "GET", TRANSACTIONS_PATH)
    answered = [e for e in entries if e.status == 200]
    assert len(answered) >= pages, traffic_failure(
        f"at least {pages} answered transaction pages (the data needs that many)",
        f"{len(answered)}", since_mark(ctx, edge),
    )


def _duplicated_pages(entries: list[Any]) -> list[str]:
    counts = Counter(e.url for e in entries if e.status == 200)
    return [url for url, n in counts.items() if n > 1]


@then("the integration requested no page of transactions twice")
@then("no page of transactions that Fiskil answered was requested again")
def no_page_twice(edge: Any, ctx: Any) -> None:
    entries = since_mark(ctx, edge, "GET", TRANSACTIONS_PATH)
    duplicates = _duplicated_pages(entries)
    assert not duplicates, traffic_failure(
        "each transaction page to be fetched successfully once", f"pages fetched twice: {duplicates}", entries
    )


@then("the integration requested the customer's accounts, balances and transactions")
def requested_all_lists(edge: Any, ctx: Any) -> None:
    entries = since_mark(ctx, edge, "GET")
    for path in ("/v1/banking/accounts", "/v1/banking/balances", "/v1/banking/transactions"):
        calls = [e for e in entries if e.path == path and e.query.get("end_user_id", [None])[0] == ctx.end_user_id]
        assert calls, traffic_failure(f"a GET {path} for end user {ctx.end_user_id}", "none", entries)


@then("the integration requested no banking data")
@then("the integration requested no banking data since the consent ended")
def no_banking_data(edge: Any, ctx: Any) -> None:
    entries = since_mark(ctx, edge, None, BANKING_PATH)
    assert not entries, traffic_failure("no request for banking data", f"{len(entries)} such requests", since_mark(ctx, edge))


@then(parsers.re(r"the integration requested a token at most (?P<limit>\d+) times?"), converters={"limit": int})
def token_at_most(edge: Any, ctx: Any, limit: int) -> None:
    entries = since_mark(ctx, edge, "POST", TOKEN_PATH)
    assert len(entries) <= limit, traffic_failure(
        f"at most {limit} token requests (rejected credentials must not be retried in a loop)",
        f"{len(entries)}", since_mark(ctx, edge),
    )


@then("the integration requested no new token")
def no_new_token(edge: Any, ctx: Any) -> None:
    exactly_new_tokens(edge, ctx, 0)


@then(parsers.re(r"the integration requested exactly (?P<count>\d+) new tokens?"), converters={"count": int})
def exactly_new_tokens(edge: Any, ctx: Any, count: int) -> None:
    entries = since_mark(ctx, edge, "POST", TOKEN_PATH)
    expected = "no new token request (the valid token reused)" if count == 0 else f"exactly {count} new token request(s)"
    assert len(entries) == count, traffic_failure(expected, f"{len(entries)}", since_mark(ctx, edge))


@then("the expired token was refused at most once")
def expired_refused_once(edge: Any, ctx: Any) -> None:
    refused = [e for e in since_mark(ctx, edge) if e.status == 401]
    assert len(refused) <= 1, traffic_failure(
        "at most one request answered 401 (the expired token used once, then renewed)", f"{len(refused)}",
        since_mark(ctx, edge),
    )


@then(parsers.re(r"the integration requested the accounts (?P<at_most>at most )?(?P<count>\d+) times?"))
def accounts_requested(edge: Any, ctx: Any, at_most: str | None, count: str) -> None:
    entries = since_mark(ctx, edge, "GET", ACCOUNTS_PATH)
    limit = int(count)
    ok = len(entries) <= limit if at_most else len(entries) == limit
    assert ok, traffic_failure(f"{at_most or 'exactly '}{limit} requests for the accounts", f"{len(entries)}", since_mark(ctx, edge))


@then("the integration retried the transactions after the failures")
def retried_after_failures(edge: Any, ctx: Any) -> None:
    entries = since_mark(ctx, edge, "GET", TRANSACTIONS_PATH)
    failed = [e for e in entries if e.status == 0 or e.status >= 500]
    assert failed, traffic_failure("the injected failures to reach the subject", "no failed transactions request", entries)
    later_ok = [e for e in entries if e.status == 200 and e.logged_at >= failed[-1].logged_at]
    assert later_ok, traffic_failure("a successful retry after the failures", "none", entries)


def _transaction_attempts(ctx: Any, edge: Any) -> list[Any]:
    """The transaction requests since the mark, with the edge's answer times (the audit's reading of the journal)."""
    from harness.audit.journal import load_journal

    marked = since_mark(ctx, edge, "GET", TRANSACTIONS_PATH)
    if not marked:
        return []
    return [e for e in load_journal(edge.admin, since=marked[0].logged_at)
            if e.method == "GET" and re.fullmatch(TRANSACTIONS_PATH, e.path)]


@then("the integration backed off between the retries")
def backed_off(edge: Any, ctx: Any) -> None:
    """The audit rule's criterion (harness/audit/backoff.py): at least 100 ms per retry, from answer to retry."""
    from harness.audit import backoff

    entries = _transaction_attempts(ctx, edge)
    chains = [c for c in backoff.failure_chains(entries) if any(backoff.is_failure(e) for e in c)]
    chain = max(chains, key=len, default=[])
    verdict = backoff.judge(chain)
    assert verdict.judged, traffic_failure(
        f"several ({backoff.MIN_RETRIES} or more) retries of the failing transactions page",
        f"{verdict.retries} retries", entries)
    assert verdict.backed_off, traffic_failure("the retries to wait between attempts (backoff)", verdict.describe(), entries)


@then(parsers.parse("the integration waited at least {seconds:d} second before requesting the accounts again"))
@then(parsers.parse("the integration waited at least {seconds:d} seconds before requesting the accounts again"))
def waited_retry_after(edge: Any, ctx: Any, seconds: int) -> None:
    entries = since_mark(ctx, edge, "GET", ACCOUNTS_PATH)
    refused = next((i for i, e in enumerate(entries) if e.status == 429), None)
    assert refused is not None and refused + 1 < len(entries), traffic_failure(
        "a 429 on the accounts followed by a retry", "no such pair", entries
    )
    gap = entries[refused + 1].logged_at - entries[refused].logged_at
    assert gap >= seconds - 0.05, traffic_failure(
        f"the retry at least {seconds}s after the 429 (Retry-After)", f"{gap:.3f}s", entries
    )


@then(parsers.parse("the integration gave up on the transactions after at most {attempts:d} attempts"))
def gave_up(edge: Any, ctx: Any, attempts: int) -> None:
    entries = since_mark(ctx, edge, "GET", TRANSACTIONS_PATH)
    per_url = Counter(e.url for e in entries)
    worst = max(per_url.values(), default=0)
    assert 1 <= worst <= attempts, traffic_failure(
        f"between 1 and {attempts} attempts per transactions page", f"{worst}", entries
    )
