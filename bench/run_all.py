"""Run every benchmark in turn (`make bench`): each prints its figures against its goals and writes
JSON under reports/bench/. Exits non-zero when a script fails or reports a missed goal;
figures on a shared 2-core machine are for reading: nothing in CI runs this."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = ["edge_bench.py", "webhook_bench.py", "run_bench.py"]


def main() -> int:
    failed = []
    for script in SCRIPTS:
        print(f"\n=== {script} ===", flush=True)
        if subprocess.run([sys.executable, str(BENCH / script)], cwd=BENCH.parent).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nmissed a goal or failed (see above): {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\nfigures written to {BENCH.parent / 'reports' / 'bench'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
