"""`ControlClient`: the fake's /__harness control API over HTTP, one method per route. Works against
an in-process core, a `--fake-url` fake, or through the WireMock edge.

The edge's request journal (`GET /__admin/requests`) keeps every body that passes through it, so a
request carrying a secret (`PUT /__harness/webhook`) goes to the core's own URL (`core_url`, from
`FakeStack` or `GET /__harness/info`) and never through the edge.
"""

from __future__ import annotations

from typing import Any

import httpx


class ControlError(RuntimeError):
    """The control API refused a request; the message carries its explanation."""


class ControlClient:
    def __init__(self, base_url: str, client: httpx.Client, core_url: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.core_url = core_url.rstrip("/") if core_url else None   # None: asked of /__harness/info when needed

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, *, base: str | None = None) -> Any:
        response = self.client.request(method, f"{base or self.base_url}/__harness{path}", json=body)
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text[:300]
            raise ControlError(f"{method} /__harness{path} -> {response.status_code}: {message}")
        return response.json() if response.content else None

    def info(self) -> dict[str, Any]:
        return self._call("GET", "/info")

    def reset(self, seed: int | None = None) -> dict[str, Any]:
        return self._call("POST", "/reset", {} if seed is None else {"seed": seed})

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "/clock/advance", {"seconds": seconds})

    def freeze_clock(self) -> dict[str, Any]:
        return self._call("POST", "/clock/freeze")

    def resume_clock(self) -> dict[str, Any]:
        return self._call("POST", "/clock/resume")

    def expire_tokens(self, token: str | None = None, after_requests: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if token is not None:
            body["token"] = token
        if after_requests is not None:
            body["after_requests"] = after_requests
        return self._call("POST", "/tokens/expire", body)

    def set_link_outcome(self, outcome: str, *, end_user_id: str | None = None,
                         session_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"outcome": outcome}
        if end_user_id is not None:
            body["end_user_id"] = end_user_id
        if session_id is not None:
            body["session_id"] = session_id
        return self._call("PUT", "/link-outcome", body)

    def revoke_consent(self, arrangement_id: str) -> dict[str, Any]:
        return self._call("POST", f"/consents/{arrangement_id}/revoke")

    def expire_consent(self, arrangement_id: str) -> dict[str, Any]:
        return self._call("POST", f"/consents/{arrangement_id}/expire")

    def change_transactions(self, end_user_id: str, action: str, *, count: int | None = None,
                            fiskil_ids: list[str] | None = None, emit: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"end_user_id": end_user_id, "action": action, "emit": emit}
        if count is not None:
            body["count"] = count
        if fiskil_ids is not None:
            body["fiskil_ids"] = fiskil_ids
        return self._call("POST", "/data/transactions", body)

    def set_volume(self, transactions_per_account: int) -> dict[str, Any]:
        return self._call("PUT", "/data/volume", {"transactions_per_account": transactions_per_account})

    def set_rate_limit(self, requests: int, window_seconds: float, retry_after: int = 1) -> dict[str, Any]:
        return self._call("PUT", "/rate-limit", {"requests": requests, "window_seconds": window_seconds,
                                                 "retry_after": retry_after})

    def clear_rate_limit(self) -> dict[str, Any]:
        return self._call("DELETE", "/rate-limit")

    def events(self) -> list[dict[str, Any]]:
        return self._call("GET", "/events")

    def _secret_base(self) -> str:
        """Where a request carrying a secret goes: the core itself, so no edge journal records it."""
        if self.core_url is None:
            info = self.info()
            core_url = info.get("core_url")
            if not core_url and "core_url" in info and not info.get("public_base_url"):
                core_url = self.base_url  # a core answering in-process with no edge in front: it is the core
            if not core_url:  # never fall back to an edge: its journal would keep the secret
                raise ControlError(f"{self.base_url}/__harness/info names no core_url, so a secret cannot be "
                                   "sent around the edge; give ControlClient the core's URL (core_url=...)")
            self.core_url = str(core_url).rstrip("/")
        return self.core_url

    def set_webhook(self, url: str, secret: str) -> dict[str, Any]:
        """Register the webhook target, sent straight to the core (the edge's journal would keep the secret)."""
        base = self._secret_base()
        try:
            return self._call("PUT", "/webhook", {"url": url, "secret": secret}, base=base)
        except httpx.TransportError as exc:
            raise ControlError(f"PUT /__harness/webhook: the fake's core at {base} (core_url) did not answer "
                               f"({type(exc).__name__}); the secret is only sent there, never through the edge") from None

    def clear_webhook(self) -> dict[str, Any]:
        return self._call("DELETE", "/webhook")

    def inject_fault(self, kind: str, **spec: Any) -> dict[str, Any]:
        """POST /__harness/faults: `spec` keys method, path_pattern, times, status, headers, body,
        delay_ms; returns the fault with its `id`."""
        return self._call("POST", "/faults", {"kind": kind, **spec})

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")["faults"]

    def remove_fault(self, fault_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "/faults")

    def webhook_deliveries(self) -> dict[str, Any]:
        """The fake's delivery log: {"deliveries": [...], "pending", "skipped", "errors"}."""
        return self._call("GET", "/webhook-deliveries")
