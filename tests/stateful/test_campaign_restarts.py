"""Regression: the coverage-guided campaign (ProbeGuide, ``guided``) reads the coverage of
earlier examples, so an example that follows an earlier one's draws may take other steps,
and Hypothesis raised ``FlakyStrategyDefinition`` after 40-60 examples (seed 0, deep
setups, white-box oracles only): the campaign crashed. ``run_searches`` now starts a new
search with the coverage so far instead."""

from __future__ import annotations

import pytest

from asfl.harness.campaign import deep_setups, run_campaign


def test_a_flaky_replay_starts_a_new_search_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASFL_HARNESS_CHECKER", "0")
    res = run_campaign(
        "stateful", budget_s=float("inf"), max_examples=50, seed=0, setup_strategy=deep_setups()
    )
    assert not res.found, res.violation
    assert res.restarts >= 1  # the flaky replay happened and was absorbed (seed 0 reaches it)
    assert res.examples >= 50
