"""The D-9 Skellam noise: the certified alias table against the two-Poisson draw it replaced.

Both samplers run in this process, alternately, on the same sizes and variances; the figure
is the ratio of their median CPU times (``time.process_time``), so the machine's load cancels
out to first order. The default variance is the one ``bench_secagg.py`` draws at ``d = 1e6``
(``n_c = 50``, ``n_a = 4``, ``q_min = 5``, defaults otherwise), where the Poissons have mean
about ``4.3e7``. The table's one-off build (per variance and process) is reported separately.

    python benchmarks/bench_noise.py [--dims 1e5,1e6] [--variances V,...] [--repeat 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asfl.impl.config import ProtocolConfig  # noqa: E402
from asfl.impl.learning import noise, skellam_table  # noqa: E402


def two_poisson(variance: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """The sampler before the table (D-9's fallback): two numpy Poissons of mean ``V / 2``."""
    lam = variance / 2.0
    out = rng.poisson(lam, size).astype(np.int64, copy=False)
    out -= rng.poisson(lam, size)
    return out


def secagg_variance(d: int) -> float:
    """``client_noise_var`` of bench_secagg's configuration at dimension ``d``."""
    cfg = ProtocolConfig(n_clients=50, n_aggregators=4, t_a=1, t_c=0, q_min=5, rounds=1, dim=d)
    return cfg.validate().client_noise_var


def cpu_ms(fn: Callable[[], object]) -> float:
    t = time.process_time()
    fn()
    return 1e3 * (time.process_time() - t)


def parse_floats(text: str, flag: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x]
    except ValueError:
        print(f"bench_noise: {flag} {text!r}: expected comma-separated numbers", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dims", default="1e5,1e6", help="comma-separated draw counts (model dimensions)")
    ap.add_argument("--variances", default="", help="comma-separated variances (default: bench_secagg's)")
    ap.add_argument("--repeat", type=int, default=7, help="alternating calls per sampler and figure")
    ap.add_argument("--json", default="", help="write the figures here as JSON")
    args = ap.parse_args(argv)
    dims = [int(x) for x in parse_floats(args.dims, "--dims")]
    given = parse_floats(args.variances, "--variances")
    if args.repeat < 1 or any(d < 1 for d in dims) or any(not 0 < v <= noise.MAX_VARIANCE for v in given):
        print("bench_noise: --repeat and --dims must be >= 1, --variances in (0, 2^60]", file=sys.stderr)
        return 2
    rows = []
    print(f"load average {os.getloadavg()}")
    head = ("d", 9), ("variance", 10), ("columns", 8), ("build s", 8), ("table ms", 9), ("2 Poisson ms", 13)
    print(" ".join(f"{h:>{w}}" for h, w in head), f"{'ratio':>6}")
    for d in dims:
        for v in given or [secagg_variance(d)]:
            skellam_table.build.cache_clear()
            build = 0.0
            if noise.uses_table(v, d):
                build = cpu_ms(lambda v=v: skellam_table.build(v)) / 1e3
            rng = np.random.default_rng(1)
            new, old = [], []
            for _ in range(args.repeat):
                new.append(cpu_ms(lambda v=v, d=d, rng=rng: noise.skellam(v, d, rng)))
                old.append(cpu_ms(lambda v=v, d=d, rng=rng: two_poisson(v, d, rng)))
            row = {
                "d": d,
                "variance": v,
                "uses_table": noise.uses_table(v, d),
                "columns": 1 << skellam_table.columns_log2(v),
                "build_s": build,
                "table_ms": statistics.median(new),
                "two_poisson_ms": statistics.median(old),
            }
            row["ratio"] = row["table_ms"] / row["two_poisson_ms"]
            rows.append(row)
            print(
                f"{d:>9,} {v:>10.4g} {row['columns']:>8,} {build:>8.2f} {row['table_ms']:>9.1f} "
                f"{row['two_poisson_ms']:>13.1f} {row['ratio']:>6.3f}"
                + ("" if row["uses_table"] else "  (fallback)")
            )
    print(f"load average {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "loadavg_end": list(os.getloadavg())}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
