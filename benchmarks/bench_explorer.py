"""Explorer speed and reductions: distinct states, states/s and whether the search is
exhaustive, per configuration, with and without each reduction (partial-order reduction
of model/por.py, symmetry of model/symmetry.py) and with and without the hash-consed
representation (model/system.Memo: a variant ending in ``/plain`` computes every step
afresh); fingerprints, no-op pruning and the quotient of model/por.py.normalize are
always on.

    python benchmarks/bench_explorer.py [--budget 60] [--only K]
        [--variants none,sym,por,por+sym,por/plain] [--csv runs/bench_explorer.csv]

Configurations 7 to 10 are n_a=4, t_a=1, n_c=8, R=1 with one Byzantine behaviour each.

Figures are noisy on a shared machine: compare variants of one run, and note ``uptime``."""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

from asfl.model.explore import explore
from asfl.model.params import Params
from asfl.model.system import BEHAVIOURS

ALL = frozenset(BEHAVIOURS)
B = frozenset
CONFIGS = [
    ("n_a=1 t_a=0 n_c=3 t_c=1 R=2", Params(1, 0, 3, 1, 2, 0, 2), B()),
    ("n_a=1 t_a=0 n_c=3 t_c=1 R=3", Params(1, 0, 3, 1, 2, 0, 3), B()),
    ("n_a=2 t_a=0 n_c=4 R=1", Params(2, 0, 4, 0, 2, 0, 1), B()),
    ("n_a=2 t_a=0 n_c=4 R=2", Params(2, 0, 4, 0, 2, 0, 2), B()),
    ("n_a=4 t_a=1 n_c=8 R=1 byz A0 silent", Params(4, 1, 8, 0, 2, 0, 1, byzantine=B({0})), B()),
    ("n_a=4 t_a=1 n_c=8 R=1 byz A0 every behaviour", Params(4, 1, 8, 0, 2, 0, 1, byzantine=B({0})), ALL),
    ("n_a=4 t_a=1 n_c=8 R=2 byz A0 every behaviour", Params(4, 1, 8, 0, 2, 0, 2, byzantine=B({0})), ALL),
    *(
        (f"n_a=4 t_a=1 n_c=8 R=1 byz A0 {b}", Params(4, 1, 8, 0, 2, 0, 1, byzantine=B({0})), B({b}))
        for b in BEHAVIOURS
    ),
]
VARIANTS = {"none": (False, False), "sym": (False, True), "por": (True, False), "por+sym": (True, True)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per search")
    ap.add_argument("--only", type=int, default=None, help="index of one configuration")
    ap.add_argument("--variants", default="none,sym,por,por+sym")
    ap.add_argument("--csv", type=Path, default=None, help="also append one row per search to this CSV")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"load average {load:.2f}", flush=True)
    for k, (name, p, bh) in enumerate(CONFIGS):
        if a.only is not None and k != a.only:
            continue
        for v in a.variants.split(","):
            por, sym = VARIANTS[v.removesuffix("/plain")]
            r = explore(
                p,
                behaviours=bh,
                max_seconds=a.budget,
                max_states=50_000_000,
                por=por,
                symmetry=sym,
                hashcons=not v.endswith("/plain"),
            )
            if sym and not r.reductions["symmetry"]:
                continue
            s = r.summary()
            print(
                f"{k} {name:48s} {v:14s} states {s['states']:9d} transitions {s['transitions']:10d} "
                f"depth {s['depth']:3d} {s['seconds']:7.1f} s {s['states_per_second']:6d} states/s "
                f"{'exhaustive' if r.exhaustive else 'BOUNDED':10s} deadlocks {s['deadlocks']} "
                f"violations {[x.prop for x in r.violations]}",
                flush=True,
            )
            if a.csv is not None:
                _row(
                    a.csv,
                    [k, name, v, s["states"], s["transitions"], s["depth"], s["seconds"]]
                    + [s["states_per_second"], r.exhaustive, s["deadlocks"], a.budget, round(load, 2)],
                )


FIELDS = ["config", "name", "variant", "states", "transitions", "depth", "seconds", "states_per_s"]
FIELDS += ["exhaustive", "deadlocks", "budget_s", "load"]


def _row(path: Path, row: list[object]) -> None:
    """Append one result row (header first if the file is new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(FIELDS)
        w.writerow(row)


if __name__ == "__main__":
    main()
