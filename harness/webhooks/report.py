"""Presenting check results: a graded terminal table and JUnit XML (one testcase per check).

Everything printed or written goes through the redactor, so a receiver that echoes a secret in its
response body cannot leak it into a report.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.redaction import Redactor, default_redactor
from harness.webhooks.checks import FAIL, NOT_OBSERVABLE, PASS, CheckResult


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def progress_line(result: CheckResult, redactor: Redactor = default_redactor) -> str:
    flag = "" if result.required else " (informational)"
    return redactor(f"[{result.verdict:^14}] {result.id}{flag} — {result.observed} ({result.duration_s:.2f} s)")


def table(results: list[CheckResult], redactor: Redactor = default_redactor) -> str:
    """A fixed-width table: check, expectation, observed, verdict."""
    rows = [("check", "expectation", "observed", "verdict")]
    for r in results:
        rows.append((r.id + ("" if r.required else "*"), _clip(r.expectation, 48), _clip(r.observed, 70), r.verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    passed = sum(r.verdict == PASS for r in results)
    failed = sum(r.verdict == FAIL for r in results)
    unseen = sum(r.verdict == NOT_OBSERVABLE for r in results)
    lines.append("")
    lines.append(f"{passed} passed, {failed} failed, {unseen} not observable"
                 + ("; * = informational, not required" if any(not r.required for r in results) else ""))
    if unseen:
        lines.append("NOT OBSERVABLE checks need --observe URL (GET → {\"message_ids\": [...]}) to be graded.")
    return redactor("\n".join(lines))


def write_junit(results: list[CheckResult], path: str | Path, redactor: Redactor = default_redactor) -> None:
    """JUnit XML: PASS → passed testcase, FAIL → <failure>, NOT OBSERVABLE → <skipped> with the reason."""
    suite = ET.Element("testsuite", {
        "name": "fiskil-harness.webhooks",
        "tests": str(len(results)),
        "failures": str(sum(r.verdict == FAIL for r in results)),
        "skipped": str(sum(r.verdict == NOT_OBSERVABLE for r in results)),
        "errors": "0",
        "time": f"{sum(r.duration_s for r in results):.3f}",
    })
    for r in results:
        case = ET.SubElement(suite, "testcase", {"classname": "webhooks.check", "name": r.id, "time": f"{r.duration_s:.3f}"})
        detail = redactor(f"expected: {r.expectation}\nobserved: {r.observed}")
        if r.verdict == FAIL:
            failure = ET.SubElement(case, "failure", {"message": redactor(_clip(r.observed, 200))})
            failure.text = detail
        elif r.verdict == NOT_OBSERVABLE:
            ET.SubElement(case, "skipped", {"message": redactor(f"NOT OBSERVABLE: {r.observed}")})
        if not r.required:
            ET.SubElement(ET.SubElement(case, "properties"), "property", {"name": "required", "value": "false"})
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
