"""Benchmark the default run: wall time with -n 0 and -n 2, scenario count, harness overhead.

Overhead per scenario = the pytest *setup* phase of each scenario (target reset, subject reset,
fixtures), median over scenarios, so deliberate waits inside steps (Retry-After, delays) are not
counted; the first scenario of each worker (JVM start) is an outlier the median ignores.
Prints the figures against the goals and writes reports/bench/run.json.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ROOT / "features"  # the default run: every feature
GOALS = {"scenarios_min": 30, "wall_n2_max_s": 60.0, "overhead_median_max_ms": 50.0}


def run(workers: str, out_dir: Path) -> dict:
    results = out_dir / f"results-n{workers}.json"
    command = [sys.executable, "-m", "pytest", str(FEATURES), "-q", f"--harness-results={results}"]
    command += ["-p", "no:xdist"] if workers == "0" else ["-n", workers]
    started = time.monotonic()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - started
    rows = json.loads(results.read_text())["results"] if results.exists() else []
    setups = [r["setup_duration"] for r in rows if r["outcome"] == "passed"]
    return {
        "workers": workers,
        "exit_code": completed.returncode,
        "wall_seconds": round(wall, 2),
        "scenarios": len(rows),
        "passed": sum(r["outcome"] == "passed" for r in rows),
        "overhead_median_ms": round(statistics.median(setups) * 1000, 1) if setups else None,
        "overhead_p90_ms": round(statistics.quantiles(setups, n=10)[-1] * 1000, 1) if len(setups) >= 10 else None,
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        serial, parallel = run("0", Path(tmp)), run("2", Path(tmp))
    verdicts = {
        "scenarios": parallel["scenarios"] >= GOALS["scenarios_min"],
        "wall_n2": parallel["wall_seconds"] <= GOALS["wall_n2_max_s"],
        "overhead": (serial["overhead_median_ms"] or 1e9) <= GOALS["overhead_median_max_ms"],
    }
    print(f"scenarios:          {parallel['scenarios']} (goal ≥ {GOALS['scenarios_min']})  {'ok' if verdicts['scenarios'] else 'MISSED'}")
    print(f"wall time -n 0:     {serial['wall_seconds']:.1f} s ({serial['passed']} passed, exit {serial['exit_code']})")
    print(f"wall time -n 2:     {parallel['wall_seconds']:.1f} s (goal ≤ {GOALS['wall_n2_max_s']:.0f} s)  {'ok' if verdicts['wall_n2'] else 'MISSED'}")
    print(f"overhead/scenario:  median {serial['overhead_median_ms']} ms, p90 {serial['overhead_p90_ms']} ms "
          f"(goal median ≤ {GOALS['overhead_median_max_ms']:.0f} ms)  {'ok' if verdicts['overhead'] else 'MISSED'}")
    out = ROOT / "reports" / "bench" / "run.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"goals": GOALS, "serial": serial, "parallel": parallel, "met": verdicts}, indent=2))
    print(f"written: {out}")
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
