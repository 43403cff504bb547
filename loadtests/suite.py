"""`make bench`: run every benchmark (each in its own process and stack) and merge their figures.

Writes `loadtests/out/summary.json`, a flat object from figure name to number; the benchmarks that make
reports leave `<name>.html` (self-contained, open it in any browser) and `<name>.results.json` beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
BENCHMARKS = [
    ("loadtests.throughput", "throughput.json"),
    ("loadtests.apply_latency", "apply.json"),
    ("loadtests.ui_pages", "ui.json"),
    ("loadtests.health_cycle", "health.json"),
    ("loadtests.failover", "failover.json"),
    ("loadtests.autoscale", "autoscale.json"),
    ("loadtests.tls_bench", "tls.json"),
    ("loadtests.metrics_overhead", "metrics.json"),
]


def main() -> int:
    OUT.mkdir(exist_ok=True)
    summary: dict[str, float] = {}
    failed = []
    for module, output in BENCHMARKS:
        print(f"== {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module], check=False, timeout=900).returncode != 0:
            failed.append(module)
            continue
        summary.update(json.loads((OUT / output).read_text()))
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(json.dumps(summary, indent=2, sort_keys=True))
    print("reports: " + ", ".join(str(p.relative_to(OUT.parent.parent)) for p in sorted(OUT.glob("*.html"))))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
