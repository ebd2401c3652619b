"""Explorer speed and reductions: distinct states, states/s and whether the search is
exhaustive, per configuration, with and without each reduction (partial-order reduction
of model/por.py, symmetry of model/symmetry.py) and with and without the hash-consed
representation (model/system.Memo: a variant ending in ``/plain`` computes every step
afresh); fingerprints, no-op pruning and the quotient of model/por.py.normalize are
always on.

    python benchmarks/bench_explorer.py [--budget 60] [--only K]
        [--variants none,sym,por,por+sym,por/plain] [--csv runs/bench_explorer.csv]

Configurations 7 to 11 are n_a=4, t_a=1, n_c=8, R=1 with one Byzantine behaviour each.

``--against DIR`` (a checkout of another commit, e.g. ``git archive BASE | tar -x -C
DIR``): each search runs ``--repeat`` times in a subprocess on that tree and on this one,
alternately, and each pair prints distinct states per CPU second (``time.process_time``
of the search alone, cycle check off) and their ratio: a before/after comparison under
the same load.

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
    ap.add_argument("--against", type=Path, default=None, help="another checkout: alternate, print ratios")
    ap.add_argument("--repeat", type=int, default=2, help="pairs of runs per search with --against")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"load average {load:.2f}", flush=True)
    if a.against is not None:
        if not (a.against / "asfl" / "model" / "explore.py").is_file():
            ap.error(f"--against {a.against}: not a checkout of asfl (no asfl/model/explore.py)")
        compare(a.against, a.only, a.variants.split(","), a.budget, a.repeat)
        return
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


#: One search in a subprocess; prints its JSON summary with the CPU seconds of the search.
_ONE = """
import importlib.util, json, sys, time
sys.path.insert(0, sys.argv[1])
from asfl.model.explore import explore
spec = importlib.util.spec_from_file_location("bench_explorer", sys.argv[5])
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
CONFIGS, VARIANTS = bench.CONFIGS, bench.VARIANTS
name, p, bh = CONFIGS[int(sys.argv[2])]
v = sys.argv[3]
por, sym = VARIANTS[v.removesuffix("/plain")]
kw = {} if not v.endswith("/plain") else {"hashcons": False}
t = time.process_time()
r = explore(p, behaviours=bh, max_seconds=float(sys.argv[4]), max_states=50_000_000, por=por,
            symmetry=sym, cycles=False, **kw)
print(json.dumps({"states": r.states, "cpu": time.process_time() - t, "exhaustive": r.exhaustive,
                  "violations": [x.prop for x in r.violations]}))
"""


def compare(base: Path, only: int | None, variants: list[str], budget: float, repeat: int) -> None:
    """Alternate each search between ``base`` and this tree; print rates and ratios."""
    import json
    import subprocess
    import sys

    here = Path(__file__).resolve().parent.parent
    for k, (name, _p, _bh) in enumerate(CONFIGS):
        if only is not None and k != only:
            continue
        for v in variants:
            for _ in range(repeat):
                got = []
                for tree in (base.resolve(), here):
                    env = dict(os.environ, PYTHONPATH=str(tree))
                    cmd = [sys.executable, "-c", _ONE, str(tree), str(k), v, str(budget), __file__]
                    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                    got.append(json.loads(out.stdout.splitlines()[-1]))
                (b, h), load = got, os.getloadavg()[0]
                rb, rh = b["states"] / b["cpu"], h["states"] / h["cpu"]
                print(
                    f"{k} {name:48s} {v:10s} base {b['states']:8d} states {rb:7.0f}/cpu-s "
                    f"{'exh' if b['exhaustive'] else 'bnd'}  this {h['states']:8d} states {rh:7.0f}/cpu-s "
                    f"{'exh' if h['exhaustive'] else 'bnd'}  ratio {rh / rb:5.2f}x  load {load:.2f}",
                    flush=True,
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
