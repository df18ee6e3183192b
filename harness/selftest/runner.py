"""The seeded-fault self-test: each faulty reference variant must be caught by the checks the table names,
and the clean reference must pass every one of them (no false failure).

Per variant (the reference integration in its own process, on its own fake):
- scenarios: only the ones relevant to the fault, over the HTTP adapter (`--subject <url>`), or
  in-process through `harness.selftest.subjects:faulty_reference` for the few that rebuild the subject;
- webhook checks (harness.webhooks.checks), selected per fault;
- an audit session: a scripted link + syncs with an expired token, a 503 burst and a 429, then the
  audit rules over the edge journal;
- a probe: the app's log scanned for issued tokens.
Run: `fiskil-harness check --selftest [--faults a,b]`; docs/best-practices.md ("Seeded faults:
detection table") records the table. A variant that is not as expected (a MISSED fault, a false
failure of the clean reference) keeps its output in the report dir, and the run says where.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.selftest.reference_process import PROJECT_ROOT, SELFTEST_WEBHOOK_SECRET, ReferenceProcess

# Scenario detectors: pytest test names (features/test_integration.py).
S_BURST_503 = "test_a_burst_of_server_errors_is_retried_with_backoff"
S_429 = "test_a_429_too_many_requests_with_retryafter_is_honoured"
S_PAGES = "test_linking_a_bank_stores_every_account_balance_and_page_of_transactions"
S_TOKEN_EXPIRES = "test_the_token_expires_between_two_syncs"
S_TOKEN_REUSED = "test_a_valid_token_is_reused_across_syncs"
S_WRONG_SECRET = "test_a_wrong_client_secret_is_a_clear_configuration_error"   # in-process only
S_REVOKE = "test_the_customer_revokes_their_consent"
S_SOFT_DELETE = "test_the_ended_consents_data_is_kept_marked_deleted_not_erased"   # needs the optional soft_deleted
S_LOG = "test_the_integrations_log_holds_no_token_or_secret"   # in-process only (reads the subject's log)

HTTP_SCENARIOS = (S_BURST_503, S_429, S_PAGES, S_TOKEN_EXPIRES, S_TOKEN_REUSED, S_REVOKE, S_SOFT_DELETE)
INPROCESS_SCENARIOS = (S_WRONG_SECRET, S_LOG)
WEBHOOK_CHECKS = ("valid-ack", "valid-processed", "reject-forged-signature", "reject-missing-signature",
                  "reject-reserialised", "duplicate", "replay")

#: fault -> the detectors expected to fail for it (the detection table's promise).
EXPECTED: dict[str, tuple[str, ...]] = {
    "no_token_renewal": (f"scenario:{S_TOKEN_EXPIRES}", "audit:expired-token-reused"),
    "token_per_request": (f"scenario:{S_TOKEN_REUSED}", "audit:token-per-request"),
    "no_signature_check": ("webhook:reject-forged-signature", "webhook:reject-missing-signature"),
    "hex_signature": ("webhook:valid-ack", "webhook:valid-processed"),
    "reserialised_signature": ("webhook:reject-reserialised",),
    "no_dedupe": ("webhook:duplicate", "webhook:replay"),
    "slow_webhook": ("webhook:valid-ack",),
    "no_backoff": (f"scenario:{S_BURST_503}", "audit:no-backoff"),
    "ignore_retry_after": (f"scenario:{S_429}", "audit:retry-after-ignored"),
    "first_page_only": (f"scenario:{S_PAGES}", "audit:next-link-not-followed"),
    "hard_delete": (f"scenario:{S_SOFT_DELETE}",),
    "log_token": (f"scenario:{S_LOG}", "probe:log-hygiene"),
    "tight_credential_loop": (f"scenario:{S_WRONG_SECRET}",),
}


@dataclass
class VariantResult:
    fault: str                                   # "" for the clean reference
    failed: dict[str, str] = field(default_factory=dict)   # detector -> evidence
    ran: list[str] = field(default_factory=list)
    seconds: float = 0.0
    work: Path | None = None                     # the variant's output: pytest.log, results, app log, journal

    @property
    def expected(self) -> tuple[str, ...]:
        return EXPECTED.get(self.fault, ())

    @property
    def ok(self) -> bool:
        if not self.fault:
            return not self.failed                       # clean: no false failure anywhere
        return all(d in self.failed for d in self.expected)


# --- detectors ----------------------------------------------------------------------------------


def _pytest(names: tuple[str, ...], subject: str, fake_url: str | None, env: dict[str, str], work: Path) -> dict[str, str]:
    """Run the named scenarios; returns {detector: evidence} for each failed one."""
    results = work / f"results-{'http' if fake_url else 'in-process'}.json"
    command = [sys.executable, "-m", "pytest", "features/test_integration.py", "-q", "-p", "no:xdist",
               "--subject", subject, "-k", " or ".join(names), f"--harness-results={results}"]
    if fake_url:
        command += ["--fake-url", fake_url]
    with (work / "pytest.log").open("a", encoding="utf-8") as log:
        subprocess.run(command, cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=log, stderr=log, timeout=600, check=False)
    failed = {}
    if not results.exists():
        return {f"scenario:{n}": "the scenario run did not complete (see pytest.log)" for n in names}
    for r in json.loads(results.read_text(encoding="utf-8"))["results"]:
        if r["outcome"] == "failed":
            name = r["nodeid"].split("::")[-1].split("[")[0]
            failed[f"scenario:{name}"] = f"{r.get('failed_step') or ''}: {(r.get('message') or '').splitlines()[0] if r.get('message') else ''}"
    return failed


def _webhooks(ref: ReferenceProcess, *, clean: bool) -> dict[str, str]:
    """Failed webhook checks. A fault counts as caught only by a FAIL: a NOT OBSERVABLE check made no
    decision. On the clean reference anything short of PASS is a false failure."""
    from harness.webhooks.checks import FAIL, PASS, CheckConfig, run_checks_sync

    config = CheckConfig(url=ref.webhook_url, secret=SELFTEST_WEBHOOK_SECRET, observe_url=f"{ref.url}/webhook-events",
                         only=WEBHOOK_CHECKS, settle_s=1.0, replay_after_s=0.2)
    results = [r for r in run_checks_sync(config) if r.required]
    return {f"webhook:{r.id}": r.observed for r in results if (r.verdict != PASS if clean else r.verdict == FAIL)}


def _audit_session(stack, ref: ReferenceProcess, work: Path) -> dict[str, str]:
    """A scripted session through the adapter, then the audit rules over the whole journal (saved, redacted)."""
    from fakes.link_browser import LinkBrowser
    from fakes.wiremock.edge import Fault
    from harness.adapters.http import HttpSubject
    from harness.audit.journal import from_serve_events
    from harness.audit.rules import AuditInput, audit

    stack.reset()
    control = stack.control
    control.set_volume(120)
    with HttpSubject(ref.url, timeout_s=60) as subject, httpx.Client(timeout=10.0) as browser:
        subject.reset()
        user = subject.create_end_user("audit.session@example.com", "Audit Session")
        subject.land(LinkBrowser(browser).complete(subject.start_link(user)).final_url)
        subject.sync(user)
        subject.sync(user)
        control.expire_tokens()
        subject.sync(user)
        stack.edge.inject(Fault(kind="http_error", method="GET", url_path_pattern="/v1/banking/transactions", times=4, status=503))
        subject.sync(user)
        stack.edge.clear_faults()
        control.set_rate_limit(requests=3, window_seconds=1, retry_after=1)
        subject.sync(user)
        control.clear_rate_limit()
    from harness.audit.saved import save_journal

    events = stack.edge.admin.serve_events()
    save_journal(work / "audit-journal.json", events, source="self-test audit session")
    violations = audit(from_serve_events(events), AuditInput())
    found: dict[str, str] = {}
    for v in violations:
        found.setdefault(f"audit:{v.rule}", v.summary)
    return found


def _log_probe(ref: ReferenceProcess, stack) -> dict[str, str]:
    from harness.audit.rules import bearer

    time.sleep(0.2)  # let the app flush its log
    tokens = {t for e in stack.edge.requests() if (t := bearer(e))}
    text = ref.log_text()
    leaked = [t for t in tokens if t in text]
    return {"probe:log-hygiene": f"{len(leaked)} issued token(s) found in the app's log (values not shown)"} if leaked else {}


# --- a variant ----------------------------------------------------------------------------------


def run_variant(fault: str, work: Path) -> VariantResult:
    from fakes.core.app import CoreConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    from fakes.stack import FakeStack

    started = time.monotonic()
    result = VariantResult(fault, work=work)
    faults = (fault,) if fault else ()
    work.mkdir(parents=True, exist_ok=True)
    expected = EXPECTED.get(fault)
    kinds = {d.split(":")[0] for d in expected} if expected else {"scenario", "webhook", "audit", "probe"}
    from harness.contract import build_checked_core

    core = build_checked_core(CoreConfig(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET))
    with FakeStack(core=core) as stack, \
            ReferenceProcess(stack.base_url, work / "app", faults=faults) as ref:
        if "scenario" in kinds:
            names = tuple(d.split(":", 1)[1] for d in expected if d.startswith("scenario:")) if expected else None
            http_names = tuple(n for n in (names or HTTP_SCENARIOS) if n not in INPROCESS_SCENARIOS)
            local_names = tuple(n for n in (names or INPROCESS_SCENARIOS) if n in INPROCESS_SCENARIOS)
            if http_names:
                result.failed.update(_pytest(http_names, ref.url, stack.base_url, {}, work))
                result.ran += [f"scenario:{n}" for n in http_names]
            if local_names:
                env = {"SELFTEST_FAULTS": ",".join(faults)}
                result.failed.update(_pytest(local_names, "harness.selftest.subjects:faulty_reference", None, env, work))
                result.ran += [f"scenario:{n}" for n in local_names]
        if "webhook" in kinds:
            result.failed.update(_webhooks(ref, clean=not fault))
            result.ran.append("webhook checks")
        if "audit" in kinds or "probe" in kinds:
            result.failed.update(_audit_session(stack, ref, work))
            result.ran.append("audit session")
            result.failed.update(_log_probe(ref, stack))
    result.seconds = time.monotonic() - started
    return result


def run_selftest(faults: list[str], work: Path, workers: int = 2, progress=print) -> list[VariantResult]:
    """The clean reference first in the list, then each fault; `workers` variants at a time."""
    variants = [""] + faults

    def one(fault: str) -> VariantResult:
        result = run_variant(fault, work / (fault or "clean"))
        caught = [d for d in result.expected if d in result.failed]
        label = fault or "clean"
        status = "ok" if result.ok else "NOT AS EXPECTED"
        detail = (f"caught by {', '.join(caught)}" if fault else
                  ("no false failure" if not result.failed else f"false failures: {', '.join(result.failed)}"))
        progress(f"[{label}] {status} in {result.seconds:.0f}s: {detail}")
        return result

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, variants))


def keep_unexpected(results: list[VariantResult], keep_dir: Path) -> dict[str, Path]:
    """Copy the output of every variant that is not as expected to `keep_dir/<variant>` (the temp dir
    goes away), with a verdict.txt naming what was expected and what failed; returns variant -> path."""
    kept: dict[str, Path] = {}
    for result in results:
        if result.ok or result.work is None or not result.work.exists():
            continue
        label = result.fault or "clean"
        target = keep_dir / label
        shutil.copytree(result.work, target, dirs_exist_ok=True)
        _redact_tree(target)
        verdict = [f"variant: {label}", f"verdict: {'MISSED' if result.fault else 'FALSE FAILURE'}",
                   f"expected to fail: {', '.join(result.expected) or 'nothing'}", f"ran: {', '.join(result.ran)}",
                   "failed:"] + [f"  {d}: {e}" for d, e in sorted(result.failed.items())]
        (target / "verdict.txt").write_text("\n".join(verdict) + "\n", encoding="utf-8")
        kept[label] = target
    return kept


def _redact_tree(root: Path) -> None:
    """Kept output is a report: a faulty variant's log may hold issued tokens (log_token does so on
    purpose), so every text file goes through the redactor with the tokens its journal names."""
    from harness.redaction import default_redactor

    for path in root.rglob("*"):
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            default_redactor.add_all(re.findall(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", text))
            path.write_text(default_redactor.redact(text), encoding="utf-8")


def detection_table(results: list[VariantResult]) -> str:
    lines = ["| seeded fault | expected to be caught by | caught by | verdict |", "|---|---|---|---|"]
    for r in results:
        if not r.fault:
            lines.append(f"| (clean reference) | nothing fails | {', '.join(sorted(r.failed)) or 'nothing failed'} | "
                         f"{'ok' if r.ok else 'FALSE FAILURE'} |")
            continue
        caught = sorted(r.failed)
        lines.append(f"| `{r.fault}` | {', '.join(r.expected)} | {', '.join(caught) or '—'} | {'ok' if r.ok else 'MISSED'} |")
    return "\n".join(lines) + "\n"


def run_selftest_cli(args: argparse.Namespace) -> int:
    from examples.reference_integration.faults import FAULTS

    from harness.cli import UsageError

    chosen = [f.strip() for f in (args.faults or "").split(",") if f.strip()] or sorted(FAULTS)
    unknown = [f for f in chosen if f not in FAULTS]
    if unknown:
        raise UsageError(f"unknown seeded fault(s) {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}")
    missing = [f for f in chosen if f not in EXPECTED]
    if missing:
        raise UsageError(f"no expected detector recorded for {', '.join(missing)} (add it to harness/selftest/runner.py EXPECTED)")
    print(f"self-test: clean reference + {len(chosen)} seeded faults, 2 at a time", flush=True)
    report_dir = Path(args.report_dir).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="fiskil-selftest-"))
    try:
        results = run_selftest(chosen, tmp, progress=lambda line: print(line, flush=True))
        kept = keep_unexpected(results, report_dir / f"selftest-{time.strftime('%Y%m%d-%H%M%S')}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = detection_table(results)
    print()
    print(table)
    out = report_dir / "selftest.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table, encoding="utf-8")
    print(f"table written to {out}")
    for label, path in kept.items():
        print(f"[{label}] not as expected: its output (verdict.txt, pytest.log, results-*.json, app/reference.log, "
              f"audit-journal.json) is kept in {path}")
    return 0 if all(r.ok for r in results) else 1
