"""Issue 9 (stop 11): Hypothesis's first example is the same minimal draw under every
seed; the zoo offsets each drawn setup's simulation seed by the Hypothesis seed, so that
the seeds' first examples run different setups."""

from __future__ import annotations

from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st

from asfl.harness.campaign import policies, run_whole
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
        got.append((setup, run_whole(setup, data.draw(policies(setup, "random"))).actions))

    run()
    return got[0]


def test_seeds_offset_the_first_examples_setup() -> None:
    """The first example's setup differs in its simulation seed (keys, data, Byzantine
    seeds, cluster shuffles). Its schedule may still coincide: the random policy's own
    seed is drawn inside the campaign (its first draw is 0 under every seed)."""
    firsts = [_first_example(k) for k in range(3)]
    assert [s.seed for s, _ in firsts] == [0, 1, 2]


def test_seed_zero_keeps_the_campaign_defaults() -> None:
    assert directed_setups(None, "stateful") is None and directed_setups(None, "random", 0) is None
    assert directed_setups(None, "random", offset=1) is not None
