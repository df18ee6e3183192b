"""Render audit findings for people (terminal) and machines (JSON); everything is redacted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from harness.audit.rules import PRACTICE_SOURCES, RULES, Violation, practice_tags
from harness.redaction import default_redactor


def render_text(violations: Sequence[Violation], requests_seen: int) -> str:
    titles = {rule.id: rule for rule in RULES}
    if not violations:
        return f"audit: {requests_seen} requests from the integration, no best-practice violations\n"
    lines = [f"audit: {requests_seen} requests from the integration, {len(violations)} violation(s)", ""]
    for v in violations:
        rule = titles.get(v.rule)
        lines.append(f"✗ {v.rule}: {rule.title if rule else ''}")
        if rule:
            lines.append(f"    practice:  {rule.practice}")
            lines.append(f"    threshold: {rule.threshold}")
        lines.append(f"    observed:  {default_redactor.redact(v.summary)}")
        for item in v.evidence:
            lines.append(f"      {default_redactor.redact(item)}")
        lines.append("")
    cited = sources_cited(violations)
    if cited:
        lines.append("practice sources (the tags above):")
        lines.extend(f"  {tag:<7} {url}" for tag, url in cited.items())
        lines.append("")
    return "\n".join(lines) + "\n"


def sources_cited(violations: Sequence[Violation]) -> dict[str, str]:
    """Tag -> URL of the Fiskil pages the reported rules' practices cite, in a stable order."""
    titles = {rule.id: rule for rule in RULES}
    tags = {tag for v in violations if v.rule in titles for tag in practice_tags(titles[v.rule].practice)}
    return {tag: url for tag, url in PRACTICE_SOURCES.items() if tag in tags}


def as_json(violations: Sequence[Violation], requests_seen: int) -> dict:
    practices = {rule.id: rule.practice for rule in RULES}
    return {
        "requests": requests_seen,
        "violations": [
            {"rule": v.rule, "practice": practices.get(v.rule, ""), "summary": default_redactor.redact(v.summary),
             "evidence": [default_redactor.redact(e) for e in v.evidence]}
            for v in violations
        ],
        "sources": sources_cited(violations),
    }


def write_json(path: str | Path, violations: Sequence[Violation], requests_seen: int) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(as_json(violations, requests_seen), indent=1), encoding="utf-8")
