"""Issue 9 (stops 11, 12): Hypothesis's first example is the same minimal draw under every
seed; the zoo offsets each drawn setup's simulation seed and each random policy's seed by
the Hypothesis seed, so that the seeds' first examples run different setups and different
schedules."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st

from asfl.harness.campaign import policies, run_whole
from asfl.harness.policies import UniformRandom
from asfl.harness.world import Setup
from asfl.harness.zoo import TINY_R6
from asfl.harness.zoo_worker import directed_setups


def _first_example(k: int) -> tuple[Setup, list[dict[str, Any]]]:
    """The first example a zoo campaign seeded ``k`` runs (TINY_R6, whole random runs)."""
    got: list[tuple[Setup, list[dict[str, Any]]]] = []
    drawn = directed_setups(TINY_R6.to_json(), "random", offset=k)

    @hseed(k)
    @settings(max_examples=1, phases=[Phase.generate], database=None, deadline=None)
    @given(st.data())
    def run(data: Any) -> None:
        setup = data.draw(drawn)
        got.append((setup, run_whole(setup, data.draw(policies(setup, "random", offset=k))).actions))

    run()
    return got[0]


def test_seeds_offset_the_first_examples_setup_and_schedule() -> None:
    """The first example's setup differs in its simulation seed (keys, data, Byzantine
    seeds, cluster shuffles), and its schedule differs: the random policy's seed, drawn
    inside the campaign as 0 under every Hypothesis seed, is offset by the seed too."""
    firsts = [_first_example(k) for k in range(3)]
    assert [s.seed for s, _ in firsts] == [0, 1, 2]
    schedules = [acts for _, acts in firsts]
    assert all(schedules) and len({json.dumps(a, sort_keys=True) for a in schedules}) == 3


def test_the_policy_offset_alone_changes_the_random_schedule() -> None:
    """Same setup, same Hypothesis seed, policy offsets 0 and 1: the first drawn random
    policies are seeded 0 and 1 and realise different schedules (so the difference above
    is not only the setup's)."""
    setup = Setup(**TINY_R6.shape(), rounds=3)

    def first_policy(k: int) -> UniformRandom:
        got: list[UniformRandom] = []

        @hseed(0)
        @settings(max_examples=1, phases=[Phase.generate], database=None, deadline=None)
        @given(policies(setup, "random", offset=k))
        def draw(policy: UniformRandom) -> None:
            got.append(policy)

        draw()
        return got[0]

    pols = [first_policy(k) for k in (0, 1)]
    assert [p.seed for p in pols] == [0, 1]
    assert run_whole(setup, pols[0]).actions != run_whole(setup, pols[1]).actions


def test_seed_zero_keeps_the_campaign_defaults() -> None:
    assert directed_setups(None, "stateful") is None and directed_setups(None, "random", 0) is None
    assert directed_setups(None, "random", offset=1) is not None
