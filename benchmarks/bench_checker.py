"""Checker throughput versus merely parsing the same file, and its peak memory versus
the trace's length.

    .venv/bin/python benchmarks/bench_checker.py [--events 40000] [--clients 40]
        [--trace FILE] [--memory | --memory-only]

Baselines, in the same process: ``json.loads`` of the standard library per line (the
issue's baseline: the checker must stay within 5x of it), and ``orjson.loads`` per line
(the parser the checker uses). Every figure is the best of 3 runs, in CPU seconds
(``time.process_time``, robust to a loaded machine; it sums the checker's thread and the
worker that verifies signatures ahead, checker/sigs.py ``Ahead``), CPU seconds of the
checker's thread alone (``time.thread_time``: the wall time on a machine with a core to
spare for the worker) and wall seconds (events/s and the ratio to ``json.loads`` of each).

Without ``--trace`` a synthetic trace of about ``--events`` lines is emitted by the model
(model/emit.py, ``--clients`` clients, rounds added until the length is reached; zero
signatures, so only ``--signatures none`` applies). With ``--trace`` (e.g. one written by
``asfl run --clients 1000 --rounds 3 --task mnist1d --trace FILE``) the real file is
checked with every signature too. Z3 obligations are on in the timed checks, decided
afresh in each (the process-wide reuse of decided obligations, checker/obligations.py,
is cleared before each run).

``--memory`` reports the checker's peak traced memory (``tracemalloc``, after a warm-up
check so that lazily imported modules are not counted) on a quarter, half and all of
the trace: with ``--trace``, prefixes of that file (e.g. ``asfl run --clients 16
--crashed 1 --t-c 1 --rounds 400``; a prefix has no end event, so T-END is reported),
else synthetic traces of a quarter, half and all of ``--events`` lines. What the
checker keeps is bounded by D-19 and D-21; what still grows per round is listed in
D-21. ``--rss`` adds the peak resident set size of a fresh process checking each prefix
(``resource.ru_maxrss`` of the child: interpreter and libraries included). ``--slope``
(with ``--trace``) checks the file once and reports the checker's current traced memory
when the first ``aggregate`` of each eighth of its rounds is read, and the growth per
round between them (the prefixes' peaks also hold end-of-trace work)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import orjson

from asfl.checker import obligations
from asfl.checker.replay import Checker, Report
from asfl.model.emit import emit_trace
from asfl.model.params import Params


def synth(target: int, clients: int) -> tuple[Path, int]:
    """A model trace of at least ``target`` lines: its path and number of rounds."""
    R = 1
    while True:
        p = Params(
            n_a=4,
            t_a=1,
            n_c=clients,
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
    return f, R


def best(fn: Callable[[], object], reps: int = 3) -> tuple[float, float, float]:
    """Best (CPU seconds of the process, wall seconds, CPU seconds of the calling
    thread) of ``reps`` runs."""
    cpu, wall, own = [], [], []
    for _ in range(reps):
        c0, w0, t0 = time.process_time(), time.perf_counter(), time.thread_time()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        own.append(time.thread_time() - t0)
    return min(cpu), min(wall), min(own)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=40_000)
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--trace", type=Path)
    ap.add_argument("--memory", action="store_true", help="peak memory versus trace length")
    ap.add_argument("--memory-only", action="store_true", help="--memory, without the timings")
    ap.add_argument("--rss", action="store_true", help="with --memory: peak RSS of a child per prefix")
    ap.add_argument("--slope", action="store_true", help="with --trace: traced memory per round, in one pass")
    a = ap.parse_args()
    if a.trace is not None and not a.trace.is_file():
        ap.error(f"--trace: {a.trace} is not a file")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t0 = time.perf_counter()
    path = a.trace or synth(a.events, a.clients)[0]
    gen = time.perf_counter() - t0
    with open(path, "rb") as f:
        n = sum(1 for _ in f)
    print(f"trace {path}: {n} lines ({'given' if a.trace else f'emitted in {gen:.1f} s'})")
    if a.slope and a.trace:
        slope(a.trace)
    if a.memory_only:
        memory(path, n, a.trace is not None, a.events, a.clients, a.rss)
        return
    if a.slope:
        return

    def parse_json() -> None:
        with open(path) as f:
            for line in f:
                json.loads(line)

    def parse_orjson() -> None:
        with open(path, "rb") as f:
            for line in f:
                orjson.loads(line)

    cj, wj, _ = best(parse_json)
    co, wo, _ = best(parse_orjson)
    print(f"json.loads only     : cpu {cj:7.3f} s  wall {wj:7.3f} s  {n / cj:10.0f} lines/s")
    print(f"orjson.loads only   : cpu {co:7.3f} s  wall {wo:7.3f} s  {n / co:10.0f} lines/s")
    for mode in ["none", "all"] if a.trace else ["none"]:
        reports: list[Report] = []

        def check(mode: str = mode, out: list[Report] = reports) -> None:
            obligations.DECIDED.clear()  # per-trace Z3 in every timed run (no reuse)
            out.append(Checker(signatures=mode).check_file(path))

        c, w, t = best(check)
        rep = reports[-1]
        print(
            f"check (sigs {mode:4s})   : cpu {c:7.3f} s  wall {w:7.3f} s  {n / c:10.0f} events/s  "
            f"{c / cj:5.2f}x json  {c / co:5.2f}x orjson; checker's thread cpu {t:7.3f} s "
            f"{n / t:10.0f} events/s {t / cj:5.2f}x json; wall {n / w:10.0f} events/s {w / wj:5.2f}x json; "
            f"{len(rep.violations)} violations; signatures {rep.stats['signatures']}; "
            f"z3 {rep.stats['z3']['seconds']} s"
        )
    if a.memory:
        memory(path, n, a.trace is not None, a.events, a.clients, a.rss)


def prefix(path: Path, lines: int) -> Path:
    """The first ``lines`` lines of ``path``, in a temporary file."""
    out = Path(tempfile.mkdtemp()) / f"prefix-{lines}.jsonl"
    with open(path, "rb") as f, out.open("wb") as g:
        for _, line in zip(range(lines), f, strict=False):
            g.write(line)
    return out


def rounds_of(path: Path) -> int:
    """The highest round an ``aggregate`` event of ``path`` produced."""
    top = 0
    with open(path, "rb") as f:
        for line in f:
            if b'"aggregate"' in line:
                top = max(top, orjson.loads(line)["round"])
    return top


def child_rss(path: Path) -> float:
    """Peak RSS (MiB) of a fresh process that checks ``path`` (signatures and Z3 off)."""
    code = (
        "import sys, resource; from asfl.checker.replay import Checker; "
        "Checker(signatures='none', z3=False).check_file(sys.argv[1]); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024  # Linux: KiB


def memory(path: Path, n: int, given: bool, events: int, clients: int, rss: bool = False) -> None:
    """Peak traced memory of the checker on a quarter, half and all of the trace."""
    Checker(signatures="none", z3=False).check_file(prefix(path, min(n, 2000)))  # warm-up
    for k in (4, 2, 1):
        f, rounds = (prefix(path, n // k), 0) if given else synth(events // k, clients)
        rounds = rounds or rounds_of(f)
        tracemalloc.start()
        rep = Checker(signatures="none", z3=False).check_file(f)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        extra = f"  child peak RSS {child_rss(f):7.1f} MiB" if rss else ""
        print(
            f"memory: {rep.lines:8d} lines {rounds:4d} rounds  peak {peak / 2**20:7.2f} MiB  "
            f"{peak / 1024 / rep.lines:6.3f} KiB/line  {peak / 1024 / max(rounds, 1):7.1f} KiB/round  "
            f"(violations {sorted({v.prop for v in rep.violations})}){extra}  "
            f"load {os.getloadavg()[0]:.2f}"
        )


def slope(path: Path) -> None:
    """The checker's current traced memory at the first ``aggregate`` of rounds R/8,
    2R/8, ..., R of one pass over ``path``, and KiB per round between consecutive ones."""
    from asfl.checker.replay import _lines

    Checker(signatures="none", z3=False).check_file(prefix(path, 2000))  # warm-up
    top = rounds_of(path)
    stops = sorted({max(1, top * k // 8) for k in range(1, 9)})
    tracemalloc.start()
    c = Checker(signatures="none", z3=False)
    it = _lines(path)
    _, first = next(it)
    c.start(c.parse(first, 1), str(path))
    at: dict[int, int] = {}
    for n, raw in it:
        if not raw:
            continue
        ev = c.parse(raw, n)
        r = ev.get("round")
        if ev.get("kind") == "aggregate" and r in stops and r not in at:
            at[r] = tracemalloc.get_traced_memory()[0]
        c.feed(ev, line=n)
    c.finish()
    tracemalloc.stop()
    prev: tuple[int, int] | None = None
    for r, b in sorted(at.items()):
        per = f"  {(b - prev[1]) / 1024 / (r - prev[0]):6.1f} KiB/round since round {prev[0]}" if prev else ""
        print(f"slope: round {r:5d}  current {b / 2**20:7.2f} MiB{per}  load {os.getloadavg()[0]:.2f}")
        prev = (r, b)


if __name__ == "__main__":
    main()
