"""Regression: the coverage-guided campaign (ProbeGuide, ``guided``) reads the coverage of
earlier examples, so an example that follows an earlier one's draws may take other steps,
and Hypothesis raised ``FlakyStrategyDefinition`` (or tripped its tree's consistency
assertion) after 40-60 examples of seed 0 over the deep setups: the campaign crashed.
``run_searches`` now starts a new search with the coverage so far instead."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis.errors import FlakyStrategyDefinition

from asfl.harness import campaign
from asfl.harness.campaign import PropertyViolation, Recorder, run_searches, tree_mismatch


def _searches(monkeypatch: pytest.MonkeyPatch, outcomes: list[BaseException | None]) -> list[int]:
    """Stub Hypothesis: the k-th search raises ``outcomes[k]`` (None: ends normally) after
    one example; returns the seeds the searches ran with."""
    seeds: list[int] = []

    def fake_test(machine: Any, settings: Any, _flaky_state: Any) -> Any:
        def test() -> None:
            machine.examples += 1  # the tests pass the Recorder as the machine: one example a search
            exc = outcomes[len(seeds) - 1]
            if exc is not None:
                raise exc

        return test

    def fake_seed(s: int) -> Any:
        seeds.append(s)
        return lambda t: t

    monkeypatch.setattr(campaign, "get_state_machine_test", fake_test)
    monkeypatch.setattr(campaign, "hseed", fake_seed)
    return seeds


def test_a_tree_mismatch_starts_a_new_search_with_the_next_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    seeds = _searches(monkeypatch, [FlakyStrategyDefinition("inconsistent"), None])
    run_searches(rec, settings_stub(), rec, seed=7, max_examples=100)
    assert seeds == [7, 8] and rec.restarts == 1 and rec.examples == 2


def test_a_mismatch_after_a_failure_or_a_real_error_is_not_absorbed(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    _searches(monkeypatch, [PropertyViolation([])])
    with pytest.raises(PropertyViolation):
        run_searches(rec, settings_stub(), rec, seed=0, max_examples=100)
    rec = Recorder()
    rec.last = object()  # type: ignore[assignment]  # a failure was recorded
    _searches(monkeypatch, [FlakyStrategyDefinition("inconsistent")])
    with pytest.raises(FlakyStrategyDefinition):
        run_searches(rec, settings_stub(), rec, seed=0, max_examples=100)


def test_a_mismatch_once_the_examples_are_spent_ends_the_campaign(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    seeds = _searches(monkeypatch, [FlakyStrategyDefinition("inconsistent")])
    run_searches(rec, settings_stub(), rec, seed=0, max_examples=1)
    assert seeds == [0] and rec.restarts == 0


def test_only_hypothesis_tree_mismatches_are_absorbed() -> None:
    """A property violation or any other assertion is never taken for a tree mismatch."""
    assert tree_mismatch(FlakyStrategyDefinition("inconsistent"))
    for exc in (PropertyViolation([]), AssertionError("a harness check")):
        try:
            raise exc
        except AssertionError as caught:
            assert not tree_mismatch(caught)


def settings_stub() -> Any:
    from hypothesis import settings

    return settings(max_examples=100, database=None)
