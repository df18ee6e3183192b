"""Audit rules: pure functions over the subject's journal, one per best practice.

Each rule takes the entries (oldest first, kit traffic already removed) and an `AuditInput`
(thresholds, webhook times, known secrets) and returns `Violation`s carrying the offending requests
as evidence. docs/best-practices.md documents every rule with its practice and threshold.
Practices: Fiskil best practices https://docs.fiskil.com/data-api/guides/resources/best-practices
(BP), authentication guide https://docs.fiskil.com/data-api/guides/getting-started/authentication
(AUTH-G: 15-minute tokens, renew on expiry), errors https://docs.fiskil.com/data-api/api-reference/errors
(429 + Retry-After).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from fakes.wiremock.edge import JournalEntry
from harness.redaction import default_redactor

TOKEN_PATH = "/v1/token"
API_PREFIX = "/v1/"
CREDENTIAL_QUERY_KEYS = frozenset({
    "client_secret", "secret", "token", "access_token", "password", "api_key", "apikey", "authorization", "bearer",
})
_BEARER = re.compile(r"(?i)^bearer\s+(\S+)$")


@dataclass(frozen=True)
class Thresholds:
    """Every number a rule uses; the defaults are the kit's choices (Fiskil documents none)."""

    token_rule_min_api_calls: int = 4       # below this, too little traffic to judge token reuse
    token_per_call_ratio: float = 0.5       # tokens / API calls at or above this = "a token per request"
    backoff_min_retries: int = 2            # a failure chain needs this many retries to be judged
    backoff_min_total_s: float = 0.1        # retries of one chain waiting less than this in total = no backoff
    retry_after_tolerance_s: float = 0.05   # clock and logging slack when comparing with Retry-After
    poll_max: int = 6                       # more successful GETs of one URL than this ...
    poll_window_s: float = 60.0             # ... within this window, with no webhook between = polling
    credential_loop_min: int = 3            # this many rejected token requests in a row = a tight loop
    credential_loop_window_s: float = 5.0   # ... within this many seconds


@dataclass
class AuditInput:
    thresholds: Thresholds = field(default_factory=Thresholds)
    webhook_times: list[float] = field(default_factory=list)   # when the fake sent events (unix s)
    secrets: tuple[str, ...] = ()                              # literal values that must never be in a URL


@dataclass
class Violation:
    rule: str
    summary: str                     # what happened, with the numbers
    evidence: list[str]              # the offending requests, redacted


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    practice: str
    threshold: str
    check: Callable[[Sequence[JournalEntry], AuditInput], list[Violation]]


# --- helpers ------------------------------------------------------------------------------------


def bearer(entry: JournalEntry) -> str | None:
    match = _BEARER.match(entry.header("Authorization") or "")
    return match.group(1) if match else None


def token_label(token: str) -> str:
    """A stable, non-reversible name for a token in evidence (the token itself is never shown)."""
    return "token#" + hashlib.sha256(token.encode()).hexdigest()[:8]


def describe(entry: JournalEntry, origin: float | None = None) -> str:
    """One redacted evidence line: time, method, URL, status, and how it authenticated."""
    when = f"+{entry.logged_at - origin:.3f}s" if origin is not None else f"t={entry.logged_at:.3f}"
    status = entry.status or "no HTTP response"
    token = bearer(entry)
    auth = f" [{token_label(token)}]" if token else (" [no Authorization]" if entry.path != TOKEN_PATH else "")
    return default_redactor.redact(f"{when} {entry.method} {_safe_url(entry.url)} → {status}{auth}")


def _safe_url(url: str) -> str:
    """Mask credential-looking query values (the redactor also masks known secrets)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = parse_qs(parts.query, keep_blank_values=True)
    shown = "&".join(
        f"{key}={'«redacted»' if key.lower() in CREDENTIAL_QUERY_KEYS else ','.join(values)}"
        for key, values in query.items()
    )
    return f"{parts.path}?{shown}"


def _api_calls(entries: Sequence[JournalEntry]) -> list[JournalEntry]:
    return [e for e in entries if e.path.startswith(API_PREFIX) and e.path != TOKEN_PATH]


def _is_failure(entry: JournalEntry) -> bool:
    return entry.status == 0 or entry.status == 429 or entry.status >= 500


def _origin(entries: Sequence[JournalEntry]) -> float | None:
    return entries[0].logged_at if entries else None


# --- rules --------------------------------------------------------------------------------------


def token_per_request(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    t = given.thresholds
    tokens = [e for e in entries if e.method == "POST" and e.path == TOKEN_PATH and 200 <= e.status < 300]
    calls = _api_calls(entries)
    if len(calls) < t.token_rule_min_api_calls or len(tokens) < 2:
        return []
    ratio = len(tokens) / len(calls)
    if ratio < t.token_per_call_ratio:
        return []
    origin = _origin(entries)
    return [Violation("token-per-request",
                      f"{len(tokens)} new tokens for {len(calls)} API calls (ratio {ratio:.2f}); a token lasts "
                      "15 minutes and should be cached and reused",
                      [describe(e, origin) for e in tokens[:8]])]


def expired_token_reused(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    refused: dict[str, list[JournalEntry]] = defaultdict(list)
    for entry in entries:
        token = bearer(entry)
        if token and entry.status == 401:
            refused[token].append(entry)
    origin = _origin(entries)
    return [
        Violation("expired-token-reused",
                  f"{token_label(token)} was refused with 401 {len(hits)} times: after the first 401 the "
                  "integration should request a new token, not resend the old one",
                  [describe(e, origin) for e in hits[:8]])
        for token, hits in refused.items() if len(hits) >= 2
    ]


def _failure_chains(entries: Sequence[JournalEntry]) -> list[list[JournalEntry]]:
    """Runs of requests to one method+URL where each earlier attempt failed (429, 5xx, socket fault)."""
    chains: list[list[JournalEntry]] = []
    open_chains: dict[tuple[str, str], list[JournalEntry]] = {}
    for entry in entries:
        key = (entry.method, entry.url)
        chain = open_chains.get(key)
        if chain is not None and _is_failure(chain[-1]):
            chain.append(entry)
        else:
            if chain is not None and len(chain) > 1:
                chains.append(chain)
            chain = [entry]
            open_chains[key] = chain
    chains.extend(c for c in open_chains.values() if len(c) > 1)
    return chains


def no_backoff(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    t = given.thresholds
    violations = []
    origin = _origin(entries)
    for chain in _failure_chains(entries):
        retries = len(chain) - 1
        if retries < t.backoff_min_retries or chain[0].path == TOKEN_PATH:
            continue
        gaps = [b.logged_at - a.logged_at for a, b in zip(chain, chain[1:])]
        if sum(gaps) >= t.backoff_min_total_s:
            continue
        shown = ", ".join(f"{g * 1000:.0f} ms" for g in gaps)
        violations.append(Violation(
            "no-backoff",
            f"{chain[0].method} {chain[0].path} retried {retries} times after failures with intervals {shown} "
            f"(total {sum(gaps) * 1000:.0f} ms < {t.backoff_min_total_s * 1000:.0f} ms): retries need growing waits",
            [describe(e, origin) for e in chain[:10]]))
    return violations


def retry_after_ignored(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    t = given.thresholds
    violations = []
    origin = _origin(entries)
    for index, entry in enumerate(entries):
        if entry.status != 429:
            continue
        raw = getattr(entry, "response_header", lambda _name: None)("Retry-After")
        try:
            wait = float(raw) if raw is not None else None
        except ValueError:
            wait = None
        if wait is None:
            continue
        later = next((e for e in entries[index + 1:] if e.path.startswith(API_PREFIX)), None)
        if later is None:
            continue
        waited = later.logged_at - entry.logged_at
        if waited + t.retry_after_tolerance_s < wait:
            violations.append(Violation(
                "retry-after-ignored",
                f"429 with Retry-After: {raw} s on {entry.method} {entry.path}, next request after only "
                f"{waited * 1000:.0f} ms",
                [describe(entry, origin), describe(later, origin)]))
    return violations


def credentials_in_url(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    tokens = {tok for e in entries if (tok := bearer(e))}
    secrets = {s for s in given.secrets if s and len(s) >= 6} | tokens
    offending = []
    for entry in entries:
        keys = {k.lower() for k in entry.query}
        values = [v for vs in entry.query.values() for v in vs]
        if keys & CREDENTIAL_QUERY_KEYS or any(v in secrets for v in values) or any(s in entry.path for s in secrets):
            offending.append(entry)
    if not offending:
        return []
    origin = _origin(entries)
    return [Violation("credentials-in-url",
                      f"{len(offending)} requests carried a credential or token in the URL (URLs end up in logs "
                      "and proxies); send tokens in the Authorization header and secrets in the body",
                      [describe(e, origin) for e in offending[:8]])]


def excessive_polling(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    t = given.thresholds
    by_url: dict[str, list[JournalEntry]] = defaultdict(list)
    for entry in entries:
        if entry.method == "GET" and entry.path.startswith(API_PREFIX) and 200 <= entry.status < 300:
            by_url[entry.url].append(entry)
    webhooks = sorted(given.webhook_times)
    violations = []
    origin = _origin(entries)
    for url, hits in by_url.items():
        start = 0
        for end in range(len(hits)):
            # shrink the window to poll_window_s, and restart it after any webhook in between
            while hits[end].logged_at - hits[start].logged_at > t.poll_window_s or any(
                    hits[start].logged_at < w <= hits[end].logged_at for w in webhooks):
                start += 1
            if end - start + 1 > t.poll_max:
                window = hits[start:end + 1]
                violations.append(Violation(
                    "excessive-polling",
                    f"GET {_safe_url(url)} answered 2xx {len(window)} times within "
                    f"{window[-1].logged_at - window[0].logged_at:.1f} s with no webhook in between "
                    f"(threshold: more than {t.poll_max} in {t.poll_window_s:g} s)",
                    [describe(e, origin) for e in window[:8]]))
                break
    return violations


def _same_target(next_url: str, entry: JournalEntry) -> bool:
    parts = urlsplit(next_url)
    return parts.path == entry.path and parse_qs(parts.query, keep_blank_values=True) == entry.query


def next_link_not_followed(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    violations = []
    origin = _origin(entries)
    for index, entry in enumerate(entries):
        if entry.method != "GET" or not 200 <= entry.status < 300:
            continue
        body = entry.json_body() if hasattr(entry, "json_body") else None
        links = body.get("links") if isinstance(body, dict) else None
        next_url = links.get("next") if isinstance(links, dict) else None
        if not next_url:
            continue
        if not any(_same_target(next_url, later) for later in entries[index + 1:]):
            violations.append(Violation(
                "next-link-not-followed",
                f"GET {entry.path} returned links.next but that page was never requested: the list was read incompletely",
                [describe(entry, origin), default_redactor.redact(f"links.next = {_safe_url(urlsplit(next_url)._replace(scheme='', netloc='').geturl())}")]))
    return violations


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_remote(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    offending = []
    for entry in entries:
        host = urlsplit("//" + (entry.header("Host") or "")).hostname or ""
        if getattr(entry, "scheme", "http") == "http" and not _loopback(host):
            offending.append(entry)
    if not offending:
        return []
    origin = _origin(entries)
    return [Violation("plain-http-remote",
                      f"{len(offending)} requests went over plain HTTP to a non-loopback host "
                      f"({(offending[0].header('Host') or '?')}); use HTTPS for everything off this machine",
                      [describe(e, origin) for e in offending[:8]])]


def missing_authorization(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    offending = [e for e in _api_calls(entries) if not e.header("Authorization")]
    if not offending:
        return []
    origin = _origin(entries)
    return [Violation("missing-authorization",
                      f"{len(offending)} API requests had no Authorization header (every /v1 call except "
                      "POST /v1/token needs the bearer token)",
                      [describe(e, origin) for e in offending[:8]])]


def credential_retry_loop(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    t = given.thresholds
    rejected = [e for e in entries if e.method == "POST" and e.path == TOKEN_PATH and e.status in (400, 401, 403)]
    for start in range(len(rejected)):
        window = [e for e in rejected[start:] if e.logged_at - rejected[start].logged_at <= t.credential_loop_window_s]
        if len(window) >= t.credential_loop_min:
            origin = _origin(entries)
            return [Violation("credential-retry-loop",
                              f"{len(window)} rejected token requests within {t.credential_loop_window_s:g} s: "
                              "rejected credentials are a configuration error, retrying cannot fix them",
                              [describe(e, origin) for e in window[:8]])]
    return []


RULES: tuple[Rule, ...] = (
    Rule("token-per-request", "a new token for (nearly) every request", "AUTH-G: cache the token, renew on expiry",
         "tokens/API calls >= 0.5 with at least 4 API calls and 2 tokens", token_per_request),
    Rule("expired-token-reused", "a refused token sent again", "AUTH-G / BP: implement proper token expiry handling",
         "the same bearer token answered 401 twice or more", expired_token_reused),
    Rule("no-backoff", "retries without backoff after 429/5xx", "GOLIVE: retry intermittent failures sensibly",
         "a failure chain with >= 2 retries whose waits total < 100 ms", no_backoff),
    Rule("retry-after-ignored", "Retry-After ignored", "errors page: 429 with Retry-After",
         "next API request sooner than Retry-After (50 ms slack)", retry_after_ignored),
    Rule("credentials-in-url", "credentials or tokens in URLs", "BP: never expose or log credentials",
         "any query key like client_secret/token/access_token, or a known secret/token in the URL", credentials_in_url),
    Rule("excessive-polling", "polling instead of webhooks", "BP: use webhook events, don't poll excessively",
         "more than 6 successful GETs of one URL within 60 s with no webhook in between", excessive_polling),
    Rule("next-link-not-followed", "links.next not followed", "GOLIVE: paginate (follow links.next)",
         "a 2xx page with links.next whose next page is never requested", next_link_not_followed),
    Rule("plain-http-remote", "plain HTTP to a non-loopback host", "BP: use HTTPS for all communications",
         "any http:// request whose Host is not loopback", plain_http_remote),
    Rule("missing-authorization", "API request without Authorization", "AUTH-G: bearer token on every API call",
         "any /v1 request other than POST /v1/token without Authorization", missing_authorization),
    Rule("credential-retry-loop", "token endpoint hammered after rejection", "BP: handle errors gracefully",
         ">= 3 rejected token requests within 5 s", credential_retry_loop),
)
RULE_IDS = tuple(rule.id for rule in RULES)


def audit(entries: Sequence[JournalEntry], given: AuditInput | None = None,
          only: Sequence[str] = ()) -> list[Violation]:
    """Run every rule (or `only` these ids) and return all violations, rule by rule."""
    given = given or AuditInput()
    unknown = [r for r in only if r not in RULE_IDS]
    if unknown:
        raise ValueError(f"unknown audit rule(s) {', '.join(unknown)}; known: {', '.join(RULE_IDS)}")
    ordered = sorted(entries, key=lambda e: e.logged_at)
    found: list[Violation] = []
    for rule in RULES:
        if not only or rule.id in only:
            found.extend(rule.check(ordered, given))
    return found
