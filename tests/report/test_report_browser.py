"""The report rendered in a real browser (headless Chromium): the DOM its script built
has a lane per node, event marks, the highlighted violation and the verdict, and a
screenshot of it is not blank. A missing browser FAILS this test (``.ci/run`` installs
Debian's ``chromium``); it never skips."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
from matplotlib import image

from asfl.checker.html.build import build_report

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, (
        "no chromium on PATH: the report must be tested in a real browser (apt-get install -y chromium)"
    )
    return exe


def browse(page: Path, tmp: Path, *args: str, view: str = "") -> str:
    url = page.resolve().as_uri() + (f"#{view}" if view else "")
    cmd = [chromium(), *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_counterexample_report_renders(cex_trace: Path, tmp_path: Path) -> None:
    built = build_report(cex_trace, tmp_path / "cex.html", signatures="none", z3=False)
    first = built.findings[0]
    assert first.prop == "S-3" and first.seq is not None
    dom = browse(built.html, tmp_path, "--virtual-time-budget=10000", "--dump-dom")
    assert 'data-ready="1"' in dom, "the report's script did not finish"
    lanes = re.findall(r'<g class="lane[^"]*" data-node="([AC]\d+)"', dom)
    assert lanes == [f"A{j}" for j in range(4)] + [f"C{i}" for i in range(8)]
    assert re.search(r'<g class="lane byz" data-node="A0"', dom)  # the Byzantine node is marked
    marks = re.findall(r'class="ev ([a-z_]+)[^"]*"[^>]*data-seq="(\d+)"', dom)
    events = sum(1 for ln in cex_trace.read_text().splitlines()[1:] if '"node"' in ln)
    assert len(marks) == events  # every event with a node is drawn in the one window
    assert {"submit", "endorse", "certify", "release", "send", "deliver"} <= {k for k, _ in marks}
    hit = re.findall(r'class="ev (\w+) violation"[^>]*data-seq="(\d+)"', dom)
    assert hit == [("release", str(first.seq))]  # the violating event is highlighted
    assert len(re.findall(r'class="ev [^"]*history"', dom)) == len(first.history)
    assert "INVALID: 1 violation(s)" in dom and "releases for `(tau, c)` at most once" in dom
    assert re.search(r'<tr data-cluster="0">', dom)  # the per-round table
    shot = tmp_path / "cex.png"
    browse(built.html, tmp_path, "--window-size=1200,900", f"--screenshot={shot}")
    px = image.imread(str(shot))
    assert px.shape[0] == 900 and px.shape[1] == 1200
    assert float(np.var(px[..., :3])) > 1e-3, "the screenshot is blank"
    red = (px[..., 0] > 0.6) & (px[..., 1] < 0.35) & (px[..., 2] < 0.35)
    assert red.sum() > 50, "no red (the violation banner and ring) in the screenshot"


def test_filters_change_the_drawing(run_trace: Path, tmp_path: Path) -> None:
    """The page's filters run in the browser: a script appended to the page sets the
    round and node filters and records what is drawn."""
    built = build_report(run_trace, tmp_path / "run.html", signatures="none", z3=False)
    probe = """<script>
    (function () {
      const out = {};
      const st = () => document.getElementById("status").getAttribute("data-drawn");
      out.all = st();
      const r = document.getElementById("f-round"); r.value = "1"; r.onchange();
      out.round1 = st();
      const rounds = [...document.querySelectorAll("#spacetime .ev")].length;
      const mark = document.querySelector("#spacetime .ev.endorse");
      mark.dispatchEvent(new MouseEvent("mousemove", { bubbles: true, clientX: 10, clientY: 10 }));
      const tip = document.getElementById("tip");
      out.tip = tip.hidden ? "" : tip.textContent;
      const n = document.getElementById("f-nodes"); n.value = "A1"; n.onchange();
      out.lanes = [...document.querySelectorAll("#spacetime g.lane")].map((g) => g.dataset.node).join(",");
      out.rounds = rounds;
      document.body.setAttribute("data-probe", JSON.stringify(out));
    })();
    </script></body>"""
    page = built.html.read_text().replace("</body>", probe)
    built.html.write_text(page)
    dom = browse(built.html, tmp_path, "--virtual-time-budget=10000", "--dump-dom")
    m = re.search(r'data-probe="([^"]*)"', dom)
    assert m, "the probe did not run"
    import html
    import json

    got = json.loads(html.unescape(m.group(1)))
    assert int(got["all"]) > 0 and int(got["round1"]) > 0 and got["lanes"] == "A1"
    assert int(got["rounds"]) == int(got["round1"])
    assert "endorse" in got["tip"] and "rule: R-8" in got["tip"] and '"pd"' in got["tip"]  # hover


def test_linked_view_filters_lanes(run_trace: Path, tmp_path: Path) -> None:
    """``report.html#round=1&cluster=2`` opens on that cluster: the aggregators' lanes and
    its members' (R-2), and only events of round 1, cluster 2."""
    built = build_report(run_trace, tmp_path / "run.html", signatures="none", z3=False)
    dom = browse(built.html, tmp_path, "--virtual-time-budget=10000", "--dump-dom", view="round=1&cluster=2")
    data = json.loads(built.html.read_text().split('type="application/json">')[1].split("</script>")[0])
    members = data["rounds"][1]["clusters"][2]["members"]
    lanes = re.findall(r'<g class="lane[^"]*" data-node="([AC]\d+)"', dom)
    assert lanes == [f"A{j}" for j in range(4)] + [f"C{i}" for i in members]
    seqs = {int(x) for x in re.findall(r'class="ev [^"]*"[^>]*data-seq="(\d+)"', dom)}
    cols = data["events"]
    crash = data["kinds"].index("crash")  # a crash is shown in every round
    rows = zip(cols["seq"], cols["r"], cols["c"], cols["k"], strict=True)
    want = {q for q, r, c, k in rows if (r, c) == (1, 2) or k == crash}
    assert seqs and seqs <= want
