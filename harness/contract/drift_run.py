"""Replay a recording against a fake and compare every answer: the engine behind `fiskil-harness drift`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.contract.drift import BREAKING, Finding, collapse, compare_exchange
from harness.contract.replay import Replayer, link_consented_end_user


@dataclass
class DriftResult:
    findings: list[Finding]
    replayed: int

    @property
    def breaking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == BREAKING]

    @property
    def additive(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != BREAKING]

    def as_json(self) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "breaking": len(self.breaking),
            "additive": len(self.additive),
            "findings": [f.as_dict() for f in self.findings],
        }


def run_drift(exchanges: list[dict[str, Any]], base_url: str, http: httpx.Client, *, client_id: str,
              client_secret: str, provision: bool = True) -> DriftResult:
    """Replay `exchanges` in order against the fake at `base_url` and compare each answer."""
    replayer = Replayer(http, base_url.rstrip("/"), client_id, client_secret,
                        provision_end_user=link_consented_end_user if provision else None)
    findings: list[Finding] = []
    for exchange in exchanges:
        replayed = replayer.send(exchange)
        request = exchange["request"]
        findings.extend(compare_exchange(int(exchange.get("seq", 0)), request["method"], request["path"],
                                         exchange["response"], replayed.fake))
    return DriftResult(collapse(findings), len(exchanges))


def write_report(result: DriftResult, path: Path | str) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.as_json(), indent=2) + "\n", encoding="utf-8")
    return out
