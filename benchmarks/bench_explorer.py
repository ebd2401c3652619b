"""Explorer speed: distinct states/s per configuration, and which configurations are
explored exhaustively within a time budget.

    .venv/bin/python benchmarks/bench_explorer.py [--budget 120]

Each configuration runs with the default reductions (state hashing, no-op pruning,
partial-order reduction when R = 1) and, where the group is non-trivial, once more with
symmetry reduction."""

from __future__ import annotations

import argparse

from asfl.model.explore import explore
from asfl.model.params import Params

CONFIGS = [
    ("n_a=1 t_a=0 n_c=3 t_c=1 R=2", Params(1, 0, 3, 1, 2, 0, 2), frozenset()),
    ("n_a=2 t_a=0 n_c=4 R=1", Params(2, 0, 4, 0, 2, 0, 1), frozenset()),
    ("n_a=2 t_a=0 n_c=5 t_c=1 crash R=1", Params(2, 0, 5, 1, 2, 0, 1, crashed=frozenset({0})), frozenset()),
    ("n_a=2 t_a=0 n_c=4 R=2", Params(2, 0, 4, 0, 2, 0, 2), frozenset()),
    ("n_a=3 t_a=0 n_c=6 R=1", Params(3, 0, 6, 0, 2, 0, 1), frozenset()),
    (
        "n_a=4 t_a=1 n_c=8 R=1 byz A0 (equivocate,forge-endorse,wrong-release)",
        Params(4, 1, 8, 0, 2, 0, 1, byzantine=frozenset({0})),
        frozenset({"equivocate", "forge-endorse", "wrong-release"}),
    ),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per configuration")
    ap.add_argument("--only", type=int, default=None, help="index of one configuration")
    a = ap.parse_args()
    for k, (name, p, bh) in enumerate(CONFIGS):
        if a.only is not None and k != a.only:
            continue
        for sym in (False, True):
            r = explore(p, behaviours=bh, max_seconds=a.budget, max_states=50_000_000, symmetry=sym)
            if sym and not r.reductions["symmetry"]:
                continue
            s = r.summary()
            print(
                f"{name:70s} sym={sym!s:5s} states {s['states']:9d} transitions {s['transitions']:10d} "
                f"depth {s['depth']:3d} {s['seconds']:8.1f} s {s['states_per_second']:7d} states/s "
                f"{'exhaustive' if r.exhaustive else 'BOUNDED'} deadlocks {s['deadlocks']} "
                f"violations {[v.prop for v in r.violations]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
