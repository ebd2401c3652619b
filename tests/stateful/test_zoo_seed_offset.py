"""Issue 9 (stop 11): Hypothesis's first example is the same minimal draw under every
seed; the zoo offsets each drawn setup's simulation seed by the Hypothesis seed, and the
seeded policies mix that seed into their stream, so that seeds differ from the first
example on (bench_zoo's "3 seeds" are three different searches)."""

from __future__ import annotations

from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st

from asfl.harness.campaign import policies, run_whole
from asfl.harness.policies import UniformRandom
from asfl.harness.world import Setup, World
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


def test_seeds_differ_from_the_first_example_on() -> None:
    firsts = [_first_example(k) for k in range(3)]
    assert [s.seed for s, _ in firsts] == [0, 1, 2]
    assert len({str(actions) for _, actions in firsts}) == 3


def test_seed_zero_keeps_the_campaign_defaults_and_the_policy_stream() -> None:
    assert directed_setups(None, "stateful") is None and directed_setups(None, "random", 0) is None
    assert directed_setups(None, "random", offset=1) is not None
    w0, w1 = World(Setup(seed=0)), World(Setup(seed=1))
    a, b, c = UniformRandom(9), UniformRandom(9), UniformRandom(9)
    import random

    old = random.Random(9)
    picks = [a.choose(w0) for _ in range(20)]
    assert picks == [old.randrange(len(w0.sim.scheduler)) for _ in range(20)]
    assert [b.choose(w0) for _ in range(20)] == picks
    assert [c.choose(w1) for _ in range(20)] != picks
