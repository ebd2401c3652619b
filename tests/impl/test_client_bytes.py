"""The simulator's per-(client, round) byte counts (issue 11; D-18, D-22 reporting).

``Received`` reports the mean and maximum bytes a live client was delivered for a round,
over every (client, round) pair that got a delivery, rounds ``1..R``. The counts are kept
as one row per round (9 bytes per pair), not a dictionary entry per pair (about 117).
"""

from __future__ import annotations

from asfl.impl.sim.run import Received
from asfl.impl.sim.simulator import ClientBytes


def _counts() -> ClientBytes:
    cb = ClientBytes({"C0": 0, "C1": 1, "C2": 2})
    cb.add("C0", 1, 100)
    cb.add("C0", 1, 50)
    cb.add("C1", 1, 0)  # a zero-byte delivery still makes the pair count (a zero in the mean)
    cb.add("C2", 2, 300)
    cb.add("C1", None, 999)  # no round: not a round's bytes
    cb.add("C2", 5, 7_000)  # past the run's rounds
    return cb


def test_pairs_with_a_delivery_in_the_run_s_rounds() -> None:
    assert sorted(_counts().per_pair(1, 4).tolist()) == [0, 150, 300]


def test_received_mean_and_max() -> None:
    class Cfg:  # the two fields Received reads
        rounds, dim = 4, 10

    got = Received.of(_counts(), Cfg())  # type: ignore[arg-type]
    assert (got.mean, got.max, got.model) == (150.0, 300, 80)


def test_nothing_delivered() -> None:
    got = ClientBytes({"C0": 0}).per_pair(1, 3)
    assert got.size == 0


def test_bytes_per_pair_are_small() -> None:
    n, rounds = 2_000, 20
    cb = ClientBytes({f"C{i}": i for i in range(n)})
    for r in range(1, rounds + 1):
        for i in range(n):
            cb.add(f"C{i}", r, 5_200)
    held = sum(a.nbytes for a in cb.received.values()) + sum(a.nbytes for a in cb.seen.values())
    assert held == 9 * n * rounds
