"""Cost of each robust aggregator relative to plain averaging (issue 5, item 7).

    .venv/bin/python benchmarks/bench_aggregators.py [--budget SECONDS]

For n in {4, 16, 64} rows and d in {1e4, 1e6} coordinates, times every rule of
impl/learning/robust.py (and NNM before trimmed mean) on Gaussian rows with f =
floor((n-1)/3) outliers, and prints the median time and its ratio to ``mean``.
A case is skipped (and reported) when a single call is predicted to exceed
``--budget`` seconds (default 10) from a first call at d = 1e4 scaled linearly in
d (times 2); calls over 0.5 s are not repeated. Total
runtime stays under about 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np

from asfl.impl.learning import robust

RULES = [*robust.AGGREGATORS, "nnm+trimmed_mean"]


def _time(fn, X, f, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn(X, f)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=10.0, help="max predicted seconds per call")
    ap.add_argument("--ns", default="4,16,64")
    ap.add_argument("--ds", default="10000,1000000")
    args = ap.parse_args()
    ns = [int(x) for x in args.ns.split(",")]
    ds = [int(x) for x in args.ds.split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    start = time.perf_counter()
    small: dict[tuple[str, int], float] = {}  # (rule, n) -> seconds at the smallest d
    print(f"{'n':>3} {'d':>8} {'rule':<20} {'seconds':>9} {'x mean':>8}")
    for d in ds:
        for n in ns:
            f = (n - 1) // 3
            rng = np.random.default_rng(0)
            X = rng.normal(size=(n, d))
            X[:f] += 10.0
            X.flags.writeable = False
            reps = 5 if n * d <= 1_000_000 else 2
            base = _time(robust.mean, X, f, reps)
            for rule in RULES:
                fn = robust.get_aggregator(rule)
                if (rule, n) in small and d > ds[0]:
                    # linear in d, times 2 for the cache and page-fault effects of large d
                    predicted = 2 * small[(rule, n)] * d / ds[0]
                    if predicted > args.budget:
                        print(f"{n:>3} {d:>8} {rule:<20} {'skipped':>9}  (predicted {predicted:.0f} s)")
                        continue
                if rule == "mean":
                    sec = base
                else:
                    t1 = time.perf_counter()
                    fn(X, f)
                    first = time.perf_counter() - t1
                    sec = first if first > 0.5 else min(first, _time(fn, X, f, reps))
                if d == ds[0]:
                    small[(rule, n)] = sec
                print(f"{n:>3} {d:>8} {rule:<20} {sec:>9.4f} {sec / base:>8.1f}")
    print(
        f"total {time.perf_counter() - start:.0f} s; MDA exact up to C(n,f) <= "
        f"{robust.MDA_EXACT_MAX_SUBSETS} (n=64, f=21 uses the ball approximation: "
        f"C(64,21) = {math.comb(64, 21):.1e})"
    )


if __name__ == "__main__":
    main()
