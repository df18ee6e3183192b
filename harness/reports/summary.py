"""The run summary: per feature passed / failed / skipped, why scenarios skipped, each failure explained.

Two renderings of the same data: plain text for the terminal and short Markdown for a CI job page.
Everything shown passed through the redactor when it was collected (results.py). Features appear in
feature-file order, so two runs of the same suite read the same (xdist finishes in any order).
"""

from __future__ import annotations

from collections import Counter
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
    feature_file: str = ""

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


def plural(count: int, noun: str) -> str:
    """'1 scenario', '2 scenarios'."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def summarise(results: list[ScenarioResult]) -> list[FeatureSummary]:
    features: dict[str, FeatureSummary] = {}
    for result in sorted(results, key=lambda r: (r.feature_file, r.line, r.scenario)):
        summary = features.setdefault(result.feature, FeatureSummary(result.feature, feature_file=result.feature_file))
        if result.outcome in ("failed", "xpassed"):
            summary.failed += 1
            summary.failures.append(result)
        elif result.outcome in ("skipped", "xfailed"):
            summary.skipped += 1
        else:
            summary.passed += 1
    return sorted(features.values(), key=lambda s: (s.feature_file, s.feature))


def skip_reasons(results: list[ScenarioResult]) -> list[tuple[int, str]]:
    """Skipped scenarios grouped by reason, the largest group first."""
    counts = Counter((r.skip_reason.splitlines() or ["(no reason given)"])[0]
                     for r in results if r.outcome in ("skipped", "xfailed"))
    return sorted(((n, reason) for reason, n in counts.items()), key=lambda pair: (-pair[0], pair[1]))


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
        for i, text in enumerate(_clip_middle(default_redactor.redact(item).splitlines(), 12)):
            lines.append(f"{indent}{'evidence: ' if i == 0 else '          '}{text}")
    return lines


def _clip_middle(lines: list[str], keep: int) -> list[str]:
    """At most `keep` lines: the heading and the newest lines, which explain a failure best (a
    journal's last request is often the one that failed); a marker says how many were left out."""
    if len(lines) <= keep:
        return lines
    tail = lines[-(keep - 2):]
    return [lines[0], f"… {len(lines) - len(tail) - 1} line(s) left out"] + tail


def _interrupted_line(ran: int, total: int | None) -> str:
    of = f" of {total}" if total and total >= ran else ""
    return f"interrupted: partial results, {ran}{of} scenarios finished"


def render_terminal(summaries: list[FeatureSummary], elapsed: float | None = None, *,
                    skipped: list[tuple[int, str]] | None = None, interrupted: bool = False,
                    total: int | None = None) -> str:
    width = max([len(s.feature) for s in summaries] + [len("feature")])
    out = ["", f"{'feature':<{width}}  passed  failed  skipped"]
    for s in summaries:
        mark = "  ✗" if s.failed else ""
        out.append(f"{s.feature:<{width}}  {s.passed:>6}  {s.failed:>6}  {s.skipped:>7}{mark}")
    passed, failed, skipped_count = totals(summaries)
    out.append(f"{'total':<{width}}  {passed:>6}  {failed:>6}  {skipped_count:>7}")
    ran = passed + failed + skipped_count
    if elapsed is not None:
        out.append(f"({plural(ran, 'scenario')} in {elapsed:.1f}s)")
    if interrupted:
        out.append(_interrupted_line(ran, total))
    for count, reason in skipped or []:
        out.append(f"{count} skipped: {default_redactor.redact(reason)}")
    for s in summaries:
        for result in s.failures:
            out.append("")
            out.append(f"FAILED {s.feature} › {result.scenario}")
            out.extend(_failure_lines(result))
    return "\n".join(out) + "\n"


def render_markdown(summaries: list[FeatureSummary], *, run_id: str = "", elapsed: float | None = None,
                    skipped: list[tuple[int, str]] | None = None, interrupted: bool = False,
                    total: int | None = None) -> str:
    passed, failed, skipped_count = totals(summaries)
    verdict = "❌ failed" if failed else ("⚠️ interrupted" if interrupted else "✅ passed")
    title = f"# fiskil-harness run {run_id}: {verdict}".replace("  ", " ")
    out = [title, ""]
    line = f"{passed} passed, {failed} failed, {skipped_count} skipped"
    if elapsed is not None:
        line += f" in {elapsed:.1f}s"
    out.append(line)
    if interrupted:
        out += ["", f"**{_interrupted_line(passed + failed + skipped_count, total)}**"]
    out += ["", "| feature | passed | failed | skipped |", "|---|---:|---:|---:|"]
    for s in summaries:
        out.append(f"| {s.feature} | {s.passed} | {s.failed} | {s.skipped} |")
    if skipped:
        out += ["", "## Skipped", ""]
        out += [f"- {count} skipped: {default_redactor.redact(reason)}" for count, reason in skipped]
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
