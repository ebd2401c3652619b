"""Coverage of the model-driven campaign (issue 9, deliverable 2).

A short stateful campaign over the deep configurations (3 or 4 rounds, clusters of 3 to
5 clients, up to ``t_a`` Byzantine aggregators, crashes) must exercise every rule ID and
R-6 branch of :data:`asfl.model.actions.REQUIRED_RULES` and send every probe of the
model's Byzantine menu -- the R-15 probes too: an insider first sends honest offers,
collects its ``t_a + 1`` attestations (R-17), then rewrites its announcements -- and
every honest receiver of a probe must refuse it with the guard it targets. The test
asserts what the campaign covered, not that it found nothing. ``asfl fuzz`` prints the
same report and writes it to ``--out``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asfl.cli import main
from asfl.harness.campaign import DEEP_STEPS, deep_setups, run_campaign
from asfl.harness.coverage import CoverageReport
from asfl.model.actions import ANNOUNCE_PROBES, OFFER_PROBES, PROBES, REQUIRED_RULES

#: fixed Hypothesis seeds: a campaign, hence its coverage, is deterministic. Before the
#: campaign's guidance looked past one example (harness.coverage.ProbeGuide: the probe whose
#: item the campaign fired least, no refusal probe where no honest guard can refuse it;
#: harness.campaign.guided: lagging clients until D-13 and R-6's deferral and top-up
#: fired), 7 of seeds 10..19 (10, 11, 14, 15, 16, 17, 18) missed one to four rules or
#: refusals at 4 examples, and the test ran seed 19, chosen after the fact. With it every
#: seed of 0..29 covers everything at 3 and at 4 examples (10..19 also at 2; ``python
#: benchmarks/bench_campaign.py --coverage-seeds 0-29 --coverage-examples 3`` sweeps
#: them); these are three of the seeds that failed before.
SEEDS = (10, 15, 18)


@pytest.mark.parametrize("seed", SEEDS)
def test_campaign_exercises_every_listed_rule_and_probe(seed: int) -> None:
    res = run_campaign(
        "stateful",
        budget_s=3600.0,  # bounded by max_examples, not by time
        max_examples=3,
        seed=seed,
        setup_strategy=deep_setups(),
        step_count=DEEP_STEPS,
    )
    assert not res.found, res.violation
    report = CoverageReport.of(res.coverage)
    # every rule, every probe (the R-15 ones included: an insider plays honest on its offers
    # until attested, then rewrites its announcements) and every refusal owed by a guard
    assert report.unexercised == [], f"never exercised: {report.unexercised}"
    assert all(report.rules[r] > 0 for r in REQUIRED_RULES)
    assert all(report.probes[p.id] > 0 for p in PROBES)
    assert all(report.refused(p.id) > 0 for p in ANNOUNCE_PROBES + OFFER_PROBES)
    # each honest receiver of a probe refused it with the guard it targets
    assert report.misjudged == [], report.misjudged
    assert report.replays  # replays of received envelopes too
    assert res.steps > 1000


def test_report_names_what_is_missing() -> None:
    report = CoverageReport.of({"R-8": 3, "probe:R-8.small": 1, "probe:replay:submit": 2})
    assert report.rules["R-8"] == 3 and report.rules["R-9"] == 0
    assert "R-9" in report.unexercised and "probe:R-8.small" not in report.unexercised
    assert "probe:R-15d.forged" in report.unexercised
    assert report.replays == {"submit": 2}
    assert "refusal:R-15e.body" in report.unexercised
    assert report.exercised("R-8.small") == 0  # sent, never refused: its item is its refusal
    assert report.exercised("R-9.forged") == 0 and "probe:R-9.forged" in report.unexercised
    text = "\n".join(report.lines())
    assert "R-9" in text and "NEVER" in text


def test_fuzz_prints_and_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fz"
    code = main(["fuzz", "--minutes", "0.02", "--strategy", "random", "--seed", "3", "--out", str(out)])
    assert code == 0
    assert "coverage per rule ID" in capsys.readouterr().out
    data = json.loads((out / "coverage.json").read_text())
    assert set(data) == {"rules", "probes", "replays", "outcomes", "unexercised", "misjudged"}
    assert data["rules"]["R-5"] > 0  # the run submitted
    assert set(data["probes"]) == {p.id for p in PROBES}


def test_report_judges_each_probes_refusals() -> None:
    """A probe some honest receiver dropped for another guard, or absorbed, is misjudged."""
    ok = {"outcome:R-15e.body:delivered": 2, "outcome:R-15e.body:R-15.body": 2}
    assert CoverageReport.of(ok).refused("R-15e.body") == 2 and not CoverageReport.of(ok).misjudged
    junk = {"outcome:R-3.junk:delivered": 2, "outcome:R-3.junk:R-3.malformed": 1}
    junk["outcome:R-3.junk:R-3.signature"] = 1  # any R-3 guard refuses junk
    assert not CoverageReport.of(junk).misjudged
    bad = {
        "outcome:R-8.small:delivered": 3,
        "outcome:R-8.small:R-8.q_min": 1,
        "outcome:R-8.small:R-8.counts": 1,
    }
    (line,) = CoverageReport.of(bad).misjudged
    assert line.startswith("R-8.small: 3 delivered, 1 refused by R-8.q_min") and "absorbed 1" in line
