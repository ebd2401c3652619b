"""Checker throughput versus merely parsing the same file with ``json``, and its peak
memory versus the trace's length.

    .venv/bin/python benchmarks/bench_checker.py [--events 100000] [--trace FILE] [--memory]

``--memory`` also emits traces of a quarter, half and all of ``--events`` and reports
the checker's peak traced memory (``tracemalloc``) on each, streamed from the file.

Without ``--trace`` a synthetic trace is emitted by the model (model/emit.py; zero
signatures, so signature checking is measured separately on a signed sample: each
distinct (node, digest, sig) is verified once). With ``--trace`` (e.g. one written by
``asfl run --trace``) the real file is used and signatures are verified too."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from asfl.checker.replay import Checker
from asfl.model.emit import emit_trace
from asfl.model.params import Params


def synth(target: int) -> Path:
    R = 1
    while True:
        p = Params(
            n_a=4,
            t_a=1,
            n_c=40,
            t_c=2,
            q_min=5,
            B=1,
            R=R,
            byzantine=frozenset({3}),
            crashed=frozenset({7, 11}),
        )
        tr = emit_trace(p, seed=1, behaviours="equivocate,forge-endorse,wrong-release", dim=8)
        if len(tr) >= target:
            break
        R = max(R + 1, int(R * target / max(len(tr), 1) * 1.05))
    f = Path(tempfile.mkdtemp()) / "synthetic.jsonl"
    with f.open("w") as out:
        for e in tr:
            out.write(json.dumps(e, separators=(",", ":")) + "\n")
    return f


def best(fn, reps: int = 3) -> float:  # type: ignore[no-untyped-def]
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--trace", type=Path)
    ap.add_argument("--memory", action="store_true", help="peak memory versus trace length")
    a = ap.parse_args()
    t0 = time.perf_counter()
    path = a.trace or synth(a.events)
    gen = time.perf_counter() - t0
    lines = path.read_text().splitlines()
    n = len(lines)
    print(f"trace {path}: {n} lines ({'given' if a.trace else f'emitted in {gen:.1f} s'})")

    def parse() -> None:
        with open(path) as f:
            for line in f:
                json.loads(line)

    t_parse = best(parse)
    sig_modes = ["none", "all"] if a.trace else ["none"]
    print(f"json parse only     : {t_parse:7.3f} s  {n / t_parse:10.0f} lines/s")
    for mode in sig_modes:
        reps = []
        rep = None
        for _ in range(3):
            t1 = time.perf_counter()
            rep = Checker(signatures=mode).check_file(path)
            reps.append(time.perf_counter() - t1)
        t = min(reps)
        assert rep is not None
        print(
            f"check (sigs {mode:4s})   : {t:7.3f} s  {n / t:10.0f} lines/s  ratio {t / t_parse:5.2f}x parse; "
            f"{len(rep.violations)} violations; signatures {rep.stats['signatures']}"
        )
    if a.memory:
        for k in (4, 2, 1):
            f = synth(a.events // k)
            tracemalloc.start()
            rep = Checker(signatures="none", z3=False).check_file(f)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(
                f"memory: {rep.lines:8d} lines  peak {peak / 2**20:7.1f} MiB  "
                f"({len(rep.violations)} violations)"
            )


if __name__ == "__main__":
    main()
