"""Audit rules: pure functions over the subject's journal, one per best practice.

Each rule takes the entries (oldest first, kit and Link-page traffic already removed) and an
`AuditInput` (thresholds, webhook times, known secrets) and returns `Violation`s carrying the
offending requests as evidence. docs/best-practices.md documents every rule with its practice and
threshold. Practices are cited by the tags in `PRACTICE_SOURCES` (Fiskil's pages; the report prints
the URL of every tag it uses).
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
from harness.audit import backoff
from harness.redaction import MASK, default_redactor

TOKEN_PATH = "/v1/token"
API_PREFIX = "/v1/"
CREDENTIAL_QUERY_KEYS = frozenset({
    "client_secret", "secret", "token", "access_token", "password", "api_key", "apikey", "authorization", "bearer",
})
_BEARER = re.compile(r"(?i)^bearer\s+(\S+)$")
_LABEL = re.compile(r"token#[0-9a-f]{8}")
#: A token response without expires_in lasts this long: Fiskil's tokens last 15 minutes
#: (https://docs.fiskil.com/data-api/guides/getting-started/authentication).
DEFAULT_TOKEN_TTL_S = 900.0

#: The Fiskil pages a rule's practice cites, by the tag in `Rule.practice`.
PRACTICE_SOURCES: dict[str, str] = {
    "BP": "https://docs.fiskil.com/data-api/guides/resources/best-practices",
    "AUTH-G": "https://docs.fiskil.com/data-api/guides/getting-started/authentication",
    "GOLIVE": "https://docs.fiskil.com/data-api/guides/resources/go-live-checklist/developer-checklist",
    "ERR": "https://docs.fiskil.com/data-api/api-reference/errors",
}


@dataclass(frozen=True)
class Thresholds:
    """Every number a rule uses; the defaults are the kit's choices (Fiskil documents none)."""

    token_max_uses: int = 2                 # a token replaced while valid after at most this many API calls ...
    token_thrown_away_min: int = 3          # ... this many times = a token per request (not caching)
    backoff_min_retries: int = backoff.MIN_RETRIES                   # a failure chain needs this many retries
    backoff_min_wait_per_retry_s: float = backoff.MIN_WAIT_PER_RETRY_S   # its waits total at least this per retry
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
    """A stable, non-reversible name for a token in evidence (the token itself is never shown).

    A saved journal (harness/audit/saved.py) already carries labels instead of tokens: kept as they are."""
    if _LABEL.fullmatch(token):
        return token
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


def _origin(entries: Sequence[JournalEntry]) -> float | None:
    return entries[0].logged_at if entries else None


# --- rules --------------------------------------------------------------------------------------


@dataclass
class _Issued:
    """A token the integration obtained: the POST /v1/token that issued it, its value, its lifetime."""

    request: JournalEntry
    value: str | None
    lifetime_s: float


def _issued_tokens(entries: Sequence[JournalEntry]) -> list[_Issued]:
    """Successful token requests in order, each tied to the token it returned.

    The value comes from the response body; without one (a journal without bodies), it is the first
    bearer token first used after that response and not already tied to another request.
    """
    issued: list[_Issued] = []
    for entry in entries:
        if entry.method != "POST" or entry.path != TOKEN_PATH or not 200 <= entry.status < 300:
            continue
        body = entry.json_body() if hasattr(entry, "json_body") else None
        body = body if isinstance(body, dict) else {}
        value = body.get("token") or body.get("access_token")
        if value == MASK:
            value = None        # a saved journal masks it: tied by first use below
        try:
            lifetime = float(body["expires_in"]) if body.get("expires_in") is not None else DEFAULT_TOKEN_TTL_S
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_TTL_S
        issued.append(_Issued(entry, str(value) if value else None, lifetime))
    first_use: dict[str, float] = {}
    for entry in entries:
        token = bearer(entry)
        if token and token not in first_use:
            first_use[token] = entry.logged_at
    taken = {i.value for i in issued if i.value}
    for item in issued:
        if item.value is None:
            candidate = next((tok for tok, at in first_use.items() if at >= item.request.logged_at and tok not in taken), None)
            if candidate is not None:
                item.value = candidate
                taken.add(candidate)
    return issued


def token_per_request(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    """Tokens thrown away while still valid: replaced by a new one after very few uses, with no 401
    and before `expires_in` ran out. A renewal after a 401 or after expiry is correct and never counts."""
    t = given.thresholds
    uses: dict[str, int] = defaultdict(int)
    first_refusal: dict[str, float] = {}
    for entry in _api_calls(entries):
        token = bearer(entry)
        if token:
            uses[token] += 1
            if entry.status == 401:
                first_refusal.setdefault(token, entry.logged_at)
    issued = _issued_tokens(entries)
    thrown: list[tuple[_Issued, float]] = []
    for current, replacement in zip(issued, issued[1:]):
        if current.value is None:
            continue
        replaced_at = replacement.request.logged_at
        refused = first_refusal.get(current.value)
        if refused is not None and refused <= replaced_at:
            continue        # renewed after Fiskil refused it: correct
        if replaced_at >= current.request.logged_at + current.lifetime_s:
            continue        # renewed after it expired: correct
        if uses[current.value] <= t.token_max_uses:
            thrown.append((current, replaced_at))
    if len(thrown) < t.token_thrown_away_min:
        return []
    origin = _origin(entries)
    evidence = [f"{describe(item.request, origin)} issued {token_label(item.value or '')}, used for "
                f"{uses[item.value or '']} API call(s), replaced {replaced - item.request.logged_at:.3f} s later while still valid"
                for item, replaced in thrown[:8]]
    return [Violation("token-per-request",
                      f"{len(thrown)} tokens were replaced while still valid after at most {t.token_max_uses} API "
                      f"call(s) each (no 401, before expires_in ran out): a token lasts 15 minutes and should be "
                      "cached and reused until it expires or Fiskil answers 401",
                      evidence)]


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


def no_backoff(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    """The shared criterion (harness/audit/backoff.py), the same one the scenario step applies."""
    t = given.thresholds
    violations = []
    origin = _origin(entries)
    for chain in backoff.failure_chains(entries):
        if chain[0].path == TOKEN_PATH:
            continue        # rejected credentials are credential-retry-loop's business
        verdict = backoff.judge(chain, t.backoff_min_retries, t.backoff_min_wait_per_retry_s)
        if verdict.backed_off:
            continue
        violations.append(Violation(
            "no-backoff",
            f"{chain[0].method} {chain[0].path} after failures: {verdict.describe()}: retries need growing waits",
            [describe(e, origin) for e in chain[:10]]))
    return violations


def retry_after_ignored(entries: Sequence[JournalEntry], given: AuditInput) -> list[Violation]:
    """One violation per retry chain (or lone 429) whose next request came sooner than Retry-After."""
    t = given.thresholds
    chain_of: dict[int, int] = {}
    for number, chain in enumerate(backoff.failure_chains(entries)):
        for entry in chain:
            chain_of[id(entry)] = number
    offences: dict[object, list[tuple[JournalEntry, JournalEntry, str, float]]] = {}
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
            key = chain_of.get(id(entry), ("lone", index))
            offences.setdefault(key, []).append((entry, later, raw, waited))
    violations = []
    origin = _origin(entries)
    for found in offences.values():
        first = found[0][0]
        waits = ", ".join(f"{waited * 1000:.0f} ms" for *_, waited in found[:6]) + (", …" if len(found) > 6 else "")
        times = f"{len(found)} times in one retry chain" if len(found) > 1 else "once"
        evidence: list[str] = []
        for refused, later, _raw, _waited in found:
            for line in (describe(refused, origin), describe(later, origin)):
                if line not in evidence:
                    evidence.append(line)
        violations.append(Violation(
            "retry-after-ignored",
            f"{first.method} {first.path}: 429 with Retry-After: {found[0][2]} s ignored {times}; the next request "
            f"came after only {waits}",
            evidence[:10] + ([f"… {len(evidence) - 10} more requests in this chain"] if len(evidence) > 10 else [])))
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
         ">= 3 tokens replaced while still valid (no 401, before expires_in) after at most 2 API calls each",
         token_per_request),
    Rule("expired-token-reused", "a refused token sent again", "AUTH-G / BP: implement proper token expiry handling",
         "the same bearer token answered 401 twice or more", expired_token_reused),
    Rule("no-backoff", "retries without backoff after 429/5xx", "GOLIVE: retry intermittent failures sensibly",
         backoff.CRITERION, no_backoff),
    Rule("retry-after-ignored", "Retry-After ignored", "ERR: 429 means rate limited; wait at least Retry-After (the header is a kit assumption, RFC 9110)",
         "next API request sooner than Retry-After (50 ms slack); one finding per retry chain", retry_after_ignored),
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
    Rule("credential-retry-loop", "token endpoint hammered after rejection", "BP: handle all error cases gracefully",
         ">= 3 rejected token requests within 5 s", credential_retry_loop),
)
RULE_IDS = tuple(rule.id for rule in RULES)


def practice_tags(text: str) -> list[str]:
    """The source tags a practice line cites (e.g. "AUTH-G / BP: ..." -> ["AUTH-G", "BP"])."""
    cited = text.split(":", 1)[0]
    return [tag for tag in PRACTICE_SOURCES if re.search(rf"(?<![\w-]){re.escape(tag)}(?![\w-])", cited)]


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
