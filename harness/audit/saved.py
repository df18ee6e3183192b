"""Saved journals: the edge's serve events written to a file, so traffic can be audited after the fake
was reset (`fiskil-harness check --fake-url` resets it) or stopped: `fiskil-harness audit --journal FILE`.

A saved journal holds no secret: every bearer token is replaced by its `token#<sha256 prefix>` label
(the same label the audit prints, so token-per-request and expired-token-reused still work), client
secrets in token requests are masked, and the whole file goes through the redactor.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.redaction import MASK, default_redactor

FORMAT = "fiskil-harness-journal/1"
TOKEN_PATH = "/v1/token"
_BEARER = re.compile(r"(?i)^bearer\s+(\S+)$")


class JournalFileError(ValueError):
    """A file that is not a saved journal; the message says what was expected."""


@dataclass
class SavedJournal:
    events: list[dict[str, Any]]                         # WireMock serve events, as GET /__admin/requests gives them
    webhook_times: list[float] = field(default_factory=list)
    source: str = ""
    saved_at: str = ""


def _text_bodies(part: dict[str, Any]) -> dict[str, Any]:
    """Decode a base64 body to text where it is text, so redaction can see it."""
    part = dict(part)
    encoded = part.get("bodyAsBase64")
    if encoded and not part.get("body"):
        try:
            part["body"] = base64.b64decode(encoded).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            part["body"] = ""
    part.pop("bodyAsBase64", None)
    return part


def _headers(request: dict[str, Any]) -> dict[str, str]:
    raw = request.get("headers") or {}
    return {k: ", ".join(v) if isinstance(v, list) else str(v) for k, v in raw.items()}


def _secrets_in(events: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(bearer tokens, client secrets) the events carry."""
    tokens: set[str] = set()
    secrets: set[str] = set()
    for event in events:
        request, response = event.get("request") or {}, event.get("response") or {}
        for name, value in _headers(request).items():
            if name.lower() == "authorization" and (match := _BEARER.match(value)):
                tokens.add(match.group(1))
        if urlpath(request.get("url", "")) == TOKEN_PATH:
            for body, key in ((request.get("body"), "client_secret"), (response.get("body"), "token")):
                try:
                    value = json.loads(body or "").get(key)
                except (ValueError, AttributeError):
                    continue
                if isinstance(value, str) and value:
                    (secrets if key == "client_secret" else tokens).add(value)
    return tokens, secrets


def urlpath(url: str) -> str:
    return url.split("?", 1)[0]


def redact_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with tokens replaced by their audit labels and secrets masked."""
    from harness.audit.rules import token_label

    events = [{**e, "request": _text_bodies(e.get("request") or {}), "response": _text_bodies(e.get("response") or {})}
              for e in events]
    tokens, secrets = _secrets_in(events)
    text = json.dumps(events)
    for token in sorted(tokens, key=len, reverse=True):
        text = text.replace(json.dumps(token)[1:-1], token_label(token))
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 6:
            text = text.replace(json.dumps(secret)[1:-1], MASK)
    redacted = json.loads(default_redactor.redact(text))
    for event in redacted:
        _mask_sensitive_query_params(event.get("request") or {})
    return redacted


_SENSITIVE_PARAM = re.compile(r"(?i)token|secret|passw|pwd|key|sig|auth|credential")


def _mask_sensitive_query_params(request: dict[str, Any]) -> None:
    """WireMock also keeps the query parsed (`queryParams`), out of reach of the URL patterns: a client
    secret sent as `?client_secret=` must be masked there too."""
    params = request.get("queryParams")
    if not isinstance(params, dict):
        return
    for name, param in params.items():
        if _SENSITIVE_PARAM.search(name) and isinstance(param, dict):
            values = param.get("values")
            param["values"] = [MASK for _ in values] if isinstance(values, list) else MASK


def save_journal(path: str | Path, events: list[dict[str, Any]], *, webhook_times: list[float] = (),
                 source: str = "") -> Path:
    """Write the serve events (redacted) and the fake's webhook times to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "source": source,
               "webhook_times": list(webhook_times), "requests": redact_events(events)}
    path.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return path


def load_journal_file(path: str | Path) -> SavedJournal:
    """A saved journal, a raw `GET /__admin/requests` dump ({"requests": [...]}) or a bare list of serve events."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise JournalFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise JournalFileError(f"{path} is not JSON: give a journal saved by `fiskil-harness check` "
                               "or a WireMock GET /__admin/requests dump") from None
    events = data.get("requests") if isinstance(data, dict) else data
    if not isinstance(events, list) or not all(isinstance(e, dict) and "request" in e for e in events):
        raise JournalFileError(f"{path} holds no serve events: expected {{\"requests\": [...]}} as saved by "
                               "`fiskil-harness check` or given by WireMock's GET /__admin/requests")
    meta = data if isinstance(data, dict) else {}
    raw_times = meta.get("webhook_times") or []
    if not isinstance(raw_times, list):
        raise JournalFileError(f"{path}: webhook_times must be a list of unix times, not {type(raw_times).__name__}")
    times = [float(t) for t in raw_times if isinstance(t, (int, float)) and not isinstance(t, bool)]
    return SavedJournal(events, times, str(meta.get("source") or ""), str(meta.get("saved_at") or ""))


def fake_webhook_times(client: httpx.Client, fake_url: str) -> list[float]:
    """When the fake emitted events (its event log); none when it has no control API."""
    from datetime import datetime

    try:
        events = client.get(f"{fake_url}/__harness/events", headers={"X-Harness-Probe": "1"}).json()
    except (httpx.HTTPError, ValueError):
        return []
    records = events.get("events", events) if isinstance(events, dict) else events
    times = []
    for record in records if isinstance(records, list) else []:
        created = record.get("created_at") if isinstance(record, dict) else None
        try:
            times.append(float(created) if not isinstance(created, str)
                         else datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
        except (TypeError, ValueError):
            continue
    return times
