"""A malformed flag of the stop-14 benchmark options gives one usage error naming the flag
(exit 2), not a traceback or a run with an empty or negative budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize(
    ("script", "args", "flag"),
    [
        ("bench_campaign.py", ["--coverage-seeds", "x"], "--coverage-seeds"),
        ("bench_campaign.py", ["--coverage-seeds", "5-2"], "--coverage-seeds"),
        ("bench_campaign.py", ["--coverage-examples", "0"], "--coverage-examples"),
        ("bench_campaign.py", ["--speed-examples", "-1"], "--speed-examples"),
        ("bench_campaign.py", ["--against", "."], "--against"),  # the cwd: an empty tmp_path
        ("bench_checker.py", ["--slope", "--trace", "/nonexistent/trace.jsonl"], "--trace"),
    ],
)
def test_bad_flag_is_one_line_naming_it(script: str, args: list[str], flag: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert flag in last and "Traceback" not in out.stderr
