"""Presenting check results: a graded terminal table and JUnit XML (one testcase per check).

Everything printed or written goes through the redactor, so a receiver that echoes a secret in its
response body cannot leak it into a report. A failed check shows why under its row: the first few
deliveries' answers (status and body, or the transport error) from its evidence.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.redaction import Redactor, default_redactor
from harness.webhooks.checks import FAIL, NOT_OBSERVABLE, PASS, CheckResult

#: Evidence keys holding one delivery's attempts, and how a line about them starts.
_ATTEMPT_KEYS = {"attempts": "", "first": "1st delivery ", "second": "2nd delivery ", "original": "original ",
                 "replay": "replay ", "valid_delivery": "valid delivery "}
TABLE_DETAIL_LINES = 5
JUNIT_DETAIL_LINES = 20


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _attempt_line(label: str, attempt: dict[str, Any]) -> str:
    if attempt.get("status") is not None:
        outcome = str(attempt["status"])
    else:
        outcome = f"no HTTP answer ({attempt.get('error') or '?'}, {attempt.get('error_kind') or '?'})"
    line = f"{label}attempt {attempt.get('attempt')}: {outcome} in {attempt.get('latency_s', 0) * 1000:.0f} ms"
    if attempt.get("body_excerpt"):
        line += f", body {_clip(attempt['body_excerpt'], 80)!r}"
    return line


def evidence_lines(result: CheckResult) -> list[str]:
    """The evidence of one check as short lines: every delivery attempt's answer, then the other facts."""
    lines: list[str] = []
    evidence = result.evidence
    for key, label in _ATTEMPT_KEYS.items():
        for attempt in evidence.get(key) or []:
            lines.append(_attempt_line(label, attempt))
    for failure in evidence.get("first_failures") or []:
        for attempt in failure.get("attempts", []):
            lines.append(_attempt_line(f"{failure.get('message_id')} ", attempt))
    for key, value in evidence.items():
        if key in _ATTEMPT_KEYS or key == "first_failures" or value in (None, [], {}):
            continue
        lines.append(f"{key}: {_clip(value if isinstance(value, str) else json.dumps(value), 120)}")
    return lines


def progress_line(result: CheckResult, redactor: Redactor = default_redactor) -> str:
    flag = "" if result.required else " (informational)"
    return redactor(f"[{result.verdict:^14}] {result.id}{flag} — {result.observed} ({result.duration_s:.2f} s)")


def table(results: list[CheckResult], redactor: Redactor = default_redactor, *, observing: bool = False) -> str:
    """A fixed-width table (check, expectation, observed, verdict); a failed row's evidence lines under it.

    `observing`: whether --observe was given, so the NOT OBSERVABLE hint only asks for it when missing.
    """
    rows = [("check", "expectation", "observed", "verdict")]
    for r in results:
        rows.append((r.id + ("" if r.required else "*"), _clip(r.expectation, 48), _clip(r.observed, 70), r.verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
            continue
        result = results[n - 1]
        if result.verdict != PASS:
            why = evidence_lines(result)
            lines.extend(f"    ↳ {line}" for line in why[:TABLE_DETAIL_LINES])
            if len(why) > TABLE_DETAIL_LINES:
                lines.append(f"    ↳ … {len(why) - TABLE_DETAIL_LINES} more (JUnit XML has them)")
    passed = sum(r.verdict == PASS for r in results)
    failed = sum(r.verdict == FAIL for r in results)
    unseen = [r for r in results if r.verdict == NOT_OBSERVABLE]
    lines.append("")
    lines.append(f"{passed} passed, {failed} failed, {len(unseen)} not observable"
                 + ("; * = informational, not required" if any(not r.required for r in results) else ""))
    if unseen and not observing:
        lines.append("NOT OBSERVABLE checks need --observe URL (GET → {\"message_ids\": [...]}) to be graded.")
    elif unseen:
        lines.append("NOT OBSERVABLE: see each check's observed text for what kept it from being graded.")
    return redactor("\n".join(lines))


def write_junit(results: list[CheckResult], path: str | Path, redactor: Redactor = default_redactor, *,
                allow_not_observable: bool = False) -> None:
    """JUnit XML that agrees with the exit code.

    A required check that FAILs is a <failure>; a required NOT OBSERVABLE check is a
    <failure type="not-observable"> (the command exits 1 for it), or <skipped> with
    `allow_not_observable`. An informational check never fails the run, so its verdict is only a
    property and its text <system-out>. <properties> come first in a testcase (Ant JUnit schema).
    """
    cases = []
    failures = skipped = 0
    for r in results:
        case = ET.Element("testcase", {"classname": "webhooks.check", "name": r.id, "time": f"{r.duration_s:.3f}"})
        properties = ET.SubElement(case, "properties")
        ET.SubElement(properties, "property", {"name": "verdict", "value": r.verdict})
        ET.SubElement(properties, "property", {"name": "required", "value": "true" if r.required else "false"})
        why = evidence_lines(r)[:JUNIT_DETAIL_LINES] if r.verdict != PASS else []
        detail = redactor("\n".join([f"expected: {r.expectation}", f"observed: {r.observed}",
                                     *(["evidence:"] if why else []), *(f"  {line}" for line in why)]))
        if not r.required:
            if r.verdict != PASS:
                ET.SubElement(case, "system-out").text = f"informational, not required: {r.verdict}\n{detail}"
        elif r.verdict == FAIL:
            failures += 1
            failure = ET.SubElement(case, "failure", {"message": redactor(_clip(r.observed, 200)), "type": "fail"})
            failure.text = detail
        elif r.verdict == NOT_OBSERVABLE and not allow_not_observable:
            failures += 1
            failure = ET.SubElement(case, "failure", {"message": redactor(f"NOT OBSERVABLE: {_clip(r.observed, 200)}"),
                                                      "type": "not-observable"})
            failure.text = detail
        elif r.verdict == NOT_OBSERVABLE:
            skipped += 1
            ET.SubElement(case, "skipped", {"message": redactor(f"NOT OBSERVABLE: {r.observed}")})
        cases.append(case)
    suite = ET.Element("testsuite", {
        "name": "fiskil-harness.webhooks",
        "tests": str(len(results)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": f"{sum(r.duration_s for r in results):.3f}",
    })
    suite.extend(cases)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
