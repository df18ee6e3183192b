"""The run summary: per feature passed / failed / skipped, then each failure explained.

Two renderings of the same data: plain text for the terminal and short Markdown for a CI job page.
Everything shown passed through the redactor when it was collected (results.py).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from harness.redaction import default_redactor
from harness.reports.results import ScenarioResult


@dataclass
class FeatureSummary:
    feature: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[ScenarioResult] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


def summarise(results: list[ScenarioResult]) -> list[FeatureSummary]:
    features: OrderedDict[str, FeatureSummary] = OrderedDict()
    for result in results:
        summary = features.setdefault(result.feature, FeatureSummary(result.feature))
        if result.outcome in ("failed", "xpassed"):
            summary.failed += 1
            summary.failures.append(result)
        elif result.outcome in ("skipped", "xfailed"):
            summary.skipped += 1
        else:
            summary.passed += 1
    return list(features.values())


def totals(summaries: list[FeatureSummary]) -> tuple[int, int, int]:
    return (
        sum(s.passed for s in summaries),
        sum(s.failed for s in summaries),
        sum(s.skipped for s in summaries),
    )


def _failure_lines(result: ScenarioResult, indent: str = "    ") -> list[str]:
    where = result.failed_step or f"({result.phase or 'call'} of the test)"
    lines = [f"{indent}where:    {where}"]
    message = default_redactor.redact(result.message.strip()) or "(no message)"
    for i, text in enumerate(message.splitlines()[:15]):
        lines.append(f"{indent}{'observed: ' if i == 0 else '          '}{text}")
    for item in result.evidence[:6]:
        for i, text in enumerate(default_redactor.redact(item).splitlines()[:12]):
            lines.append(f"{indent}{'evidence: ' if i == 0 else '          '}{text}")
    return lines


def render_terminal(summaries: list[FeatureSummary], elapsed: float | None = None) -> str:
    width = max([len(s.feature) for s in summaries] + [len("feature")])
    out = ["", f"{'feature':<{width}}  passed  failed  skipped"]
    for s in summaries:
        mark = "  ✗" if s.failed else ""
        out.append(f"{s.feature:<{width}}  {s.passed:>6}  {s.failed:>6}  {s.skipped:>7}{mark}")
    passed, failed, skipped = totals(summaries)
    out.append(f"{'total':<{width}}  {passed:>6}  {failed:>6}  {skipped:>7}")
    if elapsed is not None:
        out.append(f"({passed + failed + skipped} scenarios in {elapsed:.1f}s)")
    for s in summaries:
        for result in s.failures:
            out.append("")
            out.append(f"FAILED {s.feature} › {result.scenario}")
            out.extend(_failure_lines(result))
    return "\n".join(out) + "\n"


def render_markdown(summaries: list[FeatureSummary], *, run_id: str = "", elapsed: float | None = None) -> str:
    passed, failed, skipped = totals(summaries)
    verdict = "❌ failed" if failed else "✅ passed"
    title = f"# fiskil-harness run {run_id}: {verdict}".replace("  ", " ")
    out = [title, ""]
    line = f"{passed} passed, {failed} failed, {skipped} skipped"
    if elapsed is not None:
        line += f" in {elapsed:.1f}s"
    out += [line, "", "| feature | passed | failed | skipped |", "|---|---:|---:|---:|"]
    for s in summaries:
        out.append(f"| {s.feature} | {s.passed} | {s.failed} | {s.skipped} |")
    failures = [(s, r) for s in summaries for r in s.failures]
    if failures:
        out += ["", "## Failures", ""]
        for s, result in failures:
            out.append(f"### {s.feature} › {result.scenario}")
            out.append("")
            out.append("```")
            out.extend(line.strip() for line in _failure_lines(result, indent=""))
            out.append("```")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
