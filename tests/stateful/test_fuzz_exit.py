"""``asfl fuzz``'s exit-code contract (stated in its ``--help``): 0 clean, 1 a failure,
3 no failure but MISJUDGED probes (counted, not failures), 2 bad usage."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from typing import Any

import pytest

import asfl.harness.campaign as campaign
from asfl.cli import main
from asfl.harness.schedule import Schedule
from asfl.harness.world import Setup

#: one probe delivered 3 times, refused once by its guard: misjudged (harness.coverage)
MISJUDGED = {"outcome:R-8.small:delivered": 3, "outcome:R-8.small:R-8.q_min": 1}
JUDGED = {"outcome:R-8.small:delivered": 2, "outcome:R-8.small:R-8.q_min": 2}


def _fake(coverage: dict[str, int], found: bool) -> Any:
    def run(strategy: str, **_: Any) -> campaign.CampaignResult:
        time.sleep(0.05)
        sched = Schedule(Setup(), []) if found else None
        return campaign.CampaignResult(
            strategy, found, 0.05, 1, None, None, None, sched, None, None, 10, dict(coverage)
        )

    return run


def _fuzz(tmp_path: Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["fuzz", "--minutes", "0.002", "--strategy", "random", "--out", str(tmp_path)])
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("coverage", "found", "code", "counted"),
    [(JUDGED, False, 0, 0), (MISJUDGED, False, 3, 1), (MISJUDGED, True, 1, 1), (JUDGED, True, 1, 0)],
)
def test_fuzz_counts_misjudged_probes_in_its_exit_code(
    coverage: dict[str, int],
    found: bool,
    code: int,
    counted: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(campaign, "run_campaign", _fake(coverage, found))
    got, out = _fuzz(tmp_path)
    assert got == code, out
    assert f"{counted} misjudged probes" in out
    assert ("MISJUDGED R-8.small" in out) == bool(counted)
    assert ("0 failures" in out) != found


def test_fuzz_help_states_the_exit_codes() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["fuzz", "--help"]) == 0
    text = out.getvalue()
    assert "Exit status" in text and "3  no failure, but some probe was MISJUDGED" in text
