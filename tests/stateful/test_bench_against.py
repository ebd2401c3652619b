"""``benchmarks/bench_campaign.py --against DIR`` names a directory that is no checkout of
asfl in one usage line (exit 2), before running anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_campaign.py"


def test_against_a_non_checkout_is_one_usage_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--against", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert "--against" in last and "not a checkout" in last and "Traceback" not in out.stderr
