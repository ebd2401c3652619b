"""How long a trace's HTML report takes to build, how big it is, and how fast it opens and
filters in headless Chromium (the page's own timings, ``performance.now``).

    python benchmarks/bench_report.py TRACE [--out DIR]

Make a large trace first, e.g. 1,000 clients (minutes on 2 cores):
``asfl run --clients 1000 --aggregators 10 --byzantine 1 --crashed 5 --t-c 5 --rounds 5
--trace runs/big.jsonl``. Prints one JSON object (with ``os.getloadavg()``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from asfl.checker.html.build import build_report

PROBE = """<script>
(function () {
  const out = {};
  const t = (f) => { const t0 = performance.now(); f(); return Math.round(performance.now() - t0); };
  const r = document.getElementById("f-round"), c = document.getElementById("f-cluster");
  const n = document.getElementById("f-nodes"), w = document.getElementById("f-wire");
  out.filter_round_ms = t(() => { r.value = "1"; r.onchange(); });
  out.filter_cluster_ms = t(() => { c.value = "2"; c.onchange(); });
  r.value = "-1"; r.onchange(); c.value = "-1"; c.onchange();
  out.filter_node_ms = t(() => { n.value = "C7"; n.onchange(); });
  out.wire_off_ms = t(() => { n.value = ""; n.onchange(); w.checked = false; w.onchange(); });
  out.render_ms = +document.body.getAttribute("data-render-ms");
  out.lanes_drawn = document.querySelectorAll("#spacetime g.lane").length;
  document.body.setAttribute("data-bench", JSON.stringify(out));
})();
</script></body>"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("trace", type=Path)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_report"))
    a = ap.parse_args()
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    built = build_report(a.trace, a.out / "report.html", z3=False)
    build_s = time.perf_counter() - t0
    page = built.html.read_text(encoding="utf-8")
    probe = a.out / "probe.html"
    probe.write_text(page.replace("</body>", PROBE), encoding="utf-8")
    exe = shutil.which("chromium")
    assert exe, "needs chromium"
    with tempfile.TemporaryDirectory() as prof:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={prof}",
               "--virtual-time-budget=60000", "--dump-dom", probe.resolve().as_uri()]  # fmt: skip
        t1 = time.perf_counter()
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
        browser_s = time.perf_counter() - t1
    m = re.search(r'data-bench="([^"]*)"', dom)
    import html

    page_times = json.loads(html.unescape(m.group(1))) if m else {"error": "probe did not run"}
    print(
        json.dumps(
            {
                "trace": str(a.trace),
                "trace_bytes": a.trace.stat().st_size,
                "events": built.report.events,
                "report_bytes": len(page.encode()),
                "build_seconds": round(build_s, 2),
                "browser_wall_seconds (start, load, render, filters, dump)": round(browser_s, 2),
                "page": page_times,
                "load_before": load0,
                "load_after": os.getloadavg(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
