"""Aggregator state per round does not grow with the number of clients (issue 11, D-17).

What an aggregator keeps of a round it has aggregated is, per client, 4 bytes of each set
it accepted, a bit of its count view and an index in its own header's sets: no entry
digests, submissions or evidence (D-17). These tests count what it retains, exactly, and
measure the bytes a round adds per client, at two sizes of ``n_c``.
"""

from __future__ import annotations

import gc
import sys
import types
from dataclasses import replace

import numpy as np
import pytest

from asfl.impl.aggregator import Aggregator
from asfl.impl.client import Client
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.impl.sim.run import Built, RunConfig, build, certified_sets

_SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)
_SHARED = ("cfg", "public", "keys", "all_aggregators", "all_clients", "genesis_model")


def _cores(built: Built) -> list[Aggregator]:
    """Every aggregator's protocol state, the Byzantine ones' honest cores included."""
    nodes = [n for name, n in built.sim.nodes.items() if name.startswith("A")]
    return [getattr(n, "core", n) for n in nodes]


def _old_records(agg: Aggregator) -> int:
    """Per-client records the aggregator still holds of rounds it has aggregated: proposal
    entries, held submissions of closed clusters, evidence entries."""
    n = 0
    for (tau, _), st in agg.clusters.items():
        if tau >= agg.round:
            continue
        if st.accepted is not None and st.accepted.entries is not None:
            n += len(st.accepted.entries)
        if st.closed:
            n += len(st.held)
        if st.result is not None and st.result.evidence is not None:
            n += len(st.result.evidence.entries)
    return n


def _open_records(agg: Aggregator) -> int:
    return sum(
        len(st.accepted.entries)
        for st in agg.clusters.values()
        if st.accepted is not None and st.accepted.entries is not None
    )


def _config(n_clients: int, rounds: int) -> ProtocolConfig:
    return ProtocolConfig(
        n_clients=n_clients, n_aggregators=4, t_a=1, t_c=1, q_min=2, batch_size=4, rounds=rounds
    )


def test_aggregated_rounds_leave_no_per_client_records(tiny_task: Task) -> None:
    """No S/P/I/L/F property (resource bound of issue 11), D-17: after every round is
    aggregated, no aggregator (an equivocating coordinator's honest core included) holds an
    entry, a submission or evidence of any round, while during the run it held them for the
    rounds still open; the compact sets it keeps are the certified sets the run reports."""
    built = build(
        RunConfig(_config(16, 5), seed=3, byzantine=1, behaviour="equivocate", crashed=1, keep_events=False),
        task=tiny_task,
    )
    most = [0]

    def on_step(_: object) -> None:
        most[0] = max(most[0], sum(_open_records(a) for a in _cores(built)))

    assert built.sim.run(2_000_000, on_step=on_step) == "complete"
    cores = _cores(built)
    assert all(a.round == 5 for a in cores)
    assert most[0] > 0  # entries were held while their rounds were open
    assert [_old_records(a) for a in cores] == [0] * len(cores)
    for a in cores:
        for st in a.clusters.values():
            if st.accepted is not None:
                assert st.accepted.members.dtype == np.uint32
                assert list(st.accepted.members) == sorted(st.accepted.members)
    sets = certified_sets(built.aggregators.values())
    assert len(sets) >= 5 * 3  # n_a - t_a certified sets a round at least
    for a in built.aggregators.values():  # the D-12 count view agrees with the kept sets
        for i in range(16):
            rounds = {t for (t, c), s in sets.items() if i in s and a.clusters[(t, c)].released}
            assert a.inclusions.get(i, 0) == sum(1 << t for t in rounds)


def _size(roots: list[object]) -> int:
    """``sys.getsizeof`` of every object reachable from ``roots``, each object once."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SKIP):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if not isinstance(obj, np.ndarray | bytes | str | int):
            stack.extend(gc.get_referents(obj))
    return total


def _retained(agg: Aggregator) -> int:
    """What the aggregator's own state holds (not its configuration, keys, or the genesis
    model it shares), each object once."""
    return _size([v for k, v in vars(agg).items() if k not in _SHARED])


def _growth(task: Task, n_clients: int) -> float:
    """Bytes one round adds to an honest aggregator's state, from 3 to 7 rounds."""
    sizes = []
    for rounds in (3, 7):
        run = RunConfig(replace(_config(n_clients, rounds), t_c=0), seed=1, byzantine=0, keep_events=False)
        built = build(run, task=task)
        assert built.sim.run(2_000_000) == "complete"
        sizes.append(max(_retained(a) for a in _cores(built)))
    return (sizes[1] - sizes[0]) / 4


@pytest.mark.parametrize("n_small, n_large", [(16, 64)])
def test_round_growth_per_client_is_a_few_bytes(tiny_task: Task, n_small: int, n_large: int) -> None:
    """No S/P/I/L/F property (resource bound of issue 11), D-17: what a round adds to an
    aggregator grows with ``n_c`` by at most 24 bytes a client: 4 for each set it holds, 8 for
    its place in its own header's sets, a bit of its count view (a proposal entry kept for
    an aggregated round costs about 150: a tuple, an int and a 32-byte digest)."""
    small, large = _growth(tiny_task, n_small), _growth(tiny_task, n_large)
    per_client = (large - small) / (n_large - n_small)
    assert per_client <= 24, (small, large, per_client)


def _clients_retained(built: Built) -> int:
    """What the clients' states hold, each object once over all clients (a digest shared
    with a message counts once)."""
    states = [n.state for n in built.sim.nodes.values() if isinstance(n, Client)]
    return _size([v for s in states for v in vars(s).values()])


def test_client_round_growth_is_a_few_bytes(tiny_task: Task) -> None:
    """No S/P/I/L/F property (resource bound of issue 11), D-17: a round adds at most 64
    bytes per client to what the clients keep: a list slot for its verified digest and one
    for its set (R-15b, D-12), and its share of the digests and ``(cluster, pd)`` pairs it
    shares with the messages they came from (49 at 32 clients, 34 at 64). A set of digests,
    a set of ``(round, cluster, pd)`` triples and a dict of accepted digests per round, as
    kept before, cost 382 here."""
    n_clients, sizes, counted = 32, [], []
    for rounds in (3, 7):
        run = RunConfig(replace(_config(n_clients, rounds), t_c=0), seed=1, byzantine=1, keep_events=False)
        built = build(run, task=tiny_task)
        assert built.sim.run(2_000_000) == "complete"
        clients = [n for n in built.sim.nodes.values() if isinstance(n, Client)]
        assert len(clients) == n_clients and all(c.state.latest == rounds for c in clients)
        counted.append(sum(len(c.state.included) for c in clients))
        sizes.append(_clients_retained(built))
    per_client_round = (sizes[1] - sizes[0]) / 4 / n_clients
    assert counted[1] > counted[0]  # D-12's sets were recorded in the rounds measured
    assert 0 < per_client_round <= 64, (sizes, per_client_round)
