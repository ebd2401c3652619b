"""``asfl deploy``: a whole deployment on loopback, one OS process per node (clients may share).

The composition root of the networked runtime: fresh keys (``keys.keygen``), listening
sockets bound here and inherited by the node processes (no port races), the processes
(``asfl node``), fault injection (SIGKILL at seeded protocol points, link delays, a
partition that heals), progress, quiescence detection and a watchdog (R-16), then the
merge of the per-node traces into one (``merge``) and the run's summary.
"""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from asfl.impl.learning.privacy import DELTA, client_epsilons
from asfl.impl.net.compose import Scenario, merged_header, save_task, scenario
from asfl.impl.net.host import FETCH_TIMEOUT, KillPoint
from asfl.impl.net.keys import ROSTER_FILE, Roster, keygen, node_names
from asfl.impl.net.merge import merge
from asfl.impl.node import aggregator_name, client_name
from asfl.impl.sim.run import RunSummary, inclusion_counts

QUIET_COMPLETE = 0.8  # seconds of unchanged, empty in-flight counters before declaring quiescence
QUIET_STALL = 4.0


@dataclass(frozen=True)
class DeployConfig:
    """A deployment: the run's flags plus faults, layout and budgets."""

    run: Any  # RunConfig (the trace path is the merged trace)
    flags: dict[str, Any]  # the configuration flags, as stored in the roster
    workdir: Path
    kill_aggregators: int = 0
    kill_clients: int = 0
    delay_ms: float = 0.0
    split_at: float | None = None
    split_for: float = 0.0
    clients_per_process: int = 10
    timeout: float = 300.0
    fetch_timeout: float = FETCH_TIMEOUT  # seconds, each client's D-22 timer


@dataclass
class DeployResult:
    summary: RunSummary
    killed: dict[str, KillPoint]
    cpu_by_node: dict[str, float]
    wall: float
    cut_links: int  # link connections the partition cut (or held back)
    behaviour: str  # for the summary: the configured behaviour and the killed aggregators
    node_traces: dict[str, Path] = field(default_factory=dict)


def plan_kills(sc: Scenario, dep: DeployConfig) -> dict[str, KillPoint]:
    """Seeded victims and protocol points: honest aggregators and clients not already crashing."""
    rng = np.random.default_rng([sc.run.seed, 10])
    cfg = sc.cfg
    aggs = [aggregator_name(j) for j in range(cfg.n_aggregators) if j not in sc.plan.byzantine]
    clis = [client_name(i) for i in range(cfg.n_clients) if client_name(i) not in sc.plan.crash_after]
    if dep.kill_aggregators > len(aggs) or dep.kill_clients > len(clis):
        raise ValueError(
            f"cannot kill {dep.kill_aggregators} aggregators and {dep.kill_clients} clients: "
            f"{len(aggs)} honest aggregators and {len(clis)} non-crashing clients"
        )
    kills = {}
    for name in rng.choice(aggs, dep.kill_aggregators, replace=False):
        kills[str(name)] = KillPoint(
            int(rng.integers(0, cfg.rounds)), int(rng.integers(1, 2 * cfg.k_max + 1))
        )
    for name in rng.choice(clis, dep.kill_clients, replace=False):
        kills[str(name)] = KillPoint(int(rng.integers(0, cfg.rounds)), int(rng.integers(1, 3)))
    return kills


def layout(sc: Scenario, kills: dict[str, KillPoint], per_process: int) -> list[list[str]]:
    """One process per aggregator and per client to be killed; the other clients share."""
    cfg = sc.cfg
    groups = [[aggregator_name(j)] for j in range(cfg.n_aggregators)]
    rest = [client_name(i) for i in range(cfg.n_clients) if client_name(i) not in kills]
    groups += [[n] for n in kills if n.startswith("C")]
    groups += [rest[k : k + per_process] for k in range(0, len(rest), per_process)]
    return groups


class _Proc:
    """A node process and the JSON lines it prints."""

    def __init__(self, names: list[str], cmd: list[str], fds: list[int]) -> None:
        self.names = names
        self.popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, pass_fds=fds, text=True)
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.status: dict[str, Any] = {}
        self.final: dict[str, Any] = {}
        self.reader = threading.Thread(target=self._read, args=(self.popen.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for raw in stream:
            try:
                self.lines.put(json.loads(raw))
            except json.JSONDecodeError:
                continue

    def drain(self) -> None:
        while True:
            try:
                rec = self.lines.get_nowait()
            except queue.Empty:
                return
            if rec.get("kind") == "status":
                self.status = rec
            elif rec.get("kind") == "final":
                self.final = rec


class Deployment:
    """Runs one deployment to completion, stall or watchdog."""

    def __init__(self, dep: DeployConfig, progress: Callable[[int], None] | None = None) -> None:
        self.dep, self.progress = dep, progress
        self.sc = scenario(dep.run)
        self.kills = plan_kills(self.sc, dep)
        self.procs: list[_Proc] = []
        self.cut = self.healed = False

    def _addresses(self) -> tuple[dict[str, tuple[str, int]], dict[str, socket.socket]]:
        socks, addrs = {}, {}
        for name in node_names(self.sc.cfg.n_aggregators, self.sc.cfg.n_clients):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            s.listen(128)
            s.set_inheritable(True)
            socks[name] = s
            addrs[name] = ("127.0.0.1", s.getsockname()[1])
        return addrs, socks

    def _spawn(
        self, roster_path: Path, keys: Path, traces: Path, task: Path, socks: dict[str, socket.socket]
    ) -> None:
        dep = self.dep
        split = None
        if dep.split_at is not None and dep.split_for > 0:
            rng = np.random.default_rng([self.sc.run.seed, 11])
            names = list(socks)
            split = ",".join(sorted(str(n) for n in rng.choice(names, len(names) // 2, replace=False)))
        for group in layout(self.sc, self.kills, dep.clients_per_process):
            cmd = [sys.executable, "-m", "asfl.cli_node", "--roster", str(roster_path), "--keys", str(keys)]
            cmd += [
                "--trace-dir",
                str(traces),
                "--stay",
                "--delay-ms",
                str(dep.delay_ms),
                "--task",
                str(task),
                "--fetch-timeout",
                str(dep.fetch_timeout),
            ]
            for name in group:
                cmd += ["--id", name, "--listen-fd", f"{name}={socks[name].fileno()}"]
                if name in self.kills:
                    k = self.kills[name]
                    cmd += ["--die-at", f"{name}={k.round}:{k.step}"]
            if split is not None:
                cmd += ["--split", split]
            self.procs.append(_Proc(group, cmd, [socks[n].fileno() for n in group]))

    # -- monitoring ----------------------------------------------------------------------

    def _killed(self) -> set[str]:
        return {n for p in self.procs if p.popen.poll() == -signal.SIGKILL for n in p.names}

    def _nodes(self) -> dict[str, dict[str, Any]]:
        return {n: s for p in self.procs for n, s in p.status.get("nodes", {}).items()}

    def _everyone(self) -> bool:
        """Every node has reported (so its signal handlers are installed) or was killed."""
        nodes, killed = self._nodes(), self._killed()
        return all(n in nodes or n in killed for p in self.procs for n in p.names)

    def _view(self) -> tuple[int, bool, bool, tuple[Any, ...]]:
        """In-flight messages between live nodes, whether all live honest nodes are done,
        whether any is busy (or yet to report), and a fingerprint of the counters."""
        nodes, killed = self._nodes(), self._killed()
        live = {n for n, s in nodes.items() if n not in killed and not s["crashed"]}
        in_flight = sum(
            max(0, cnt - nodes[d]["delivered"].get(s, 0))
            for s in live
            for d, cnt in nodes[s]["sent"].items()
            if d in live
        )
        byz = {aggregator_name(j) for j in self.sc.plan.byzantine}
        everyone = self._everyone()
        done = everyone and all(nodes[n]["done"] for n in live if n not in byz)
        busy = not everyone or any(nodes[n]["busy"] for n in live)
        finger = tuple((n, nodes[n]["steps"]) for n in sorted(nodes))
        return in_flight, done, busy, finger

    def _failed(self) -> _Proc | None:
        for p in self.procs:
            code = p.popen.poll()
            if code is not None and code != -signal.SIGKILL:
                return p
        return None

    def _watch(self) -> tuple[str, str]:
        began = time.monotonic()
        quiet_since, last, running_since = None, None, None
        while True:
            time.sleep(0.1)
            for p in self.procs:
                p.drain()
            failed = self._failed()
            if failed is not None:
                return (
                    "error",
                    f"node process {', '.join(failed.names)} exited with code {failed.popen.returncode}",
                )
            in_flight, done, busy, finger = self._view()
            now = time.monotonic()
            if running_since is None and self._everyone():
                running_since = now
            self._partition(running_since, now)
            if self.progress is not None:
                self.progress(self._slowest())
            quiet_since = quiet_since or now if in_flight == 0 and not busy and finger == last else None
            last = finger
            if quiet_since is not None and done and now - quiet_since >= QUIET_COMPLETE:
                return "complete", ""
            if quiet_since is not None and now - quiet_since >= QUIET_STALL and self._split_over():
                return "stalled", self._diagnosis()
            if now - began > self.dep.timeout:
                return (
                    "step_limit",
                    f"watchdog: no completion after {self.dep.timeout:.0f} s; " + self._diagnosis(),
                )

    def _partition(self, running_since: float | None, now: float) -> None:
        """Cut the partition ``split_at`` seconds after every node runs, heal it ``split_for`` later."""
        dep = self.dep
        if dep.split_at is None or dep.split_for <= 0 or running_since is None or self.healed:
            return
        elapsed = now - running_since
        sig = None
        if not self.cut and elapsed >= dep.split_at:
            self.cut, sig = True, signal.SIGUSR1
        elif self.cut and elapsed >= dep.split_at + dep.split_for:
            self.healed, sig = True, signal.SIGUSR2
        for p in self.procs:
            if sig is not None and p.popen.poll() is None:
                p.popen.send_signal(sig)

    def _split_over(self) -> bool:
        return self.dep.split_at is None or self.dep.split_for <= 0 or self.healed

    def _slowest(self) -> int:
        nodes, killed = self._nodes(), self._killed()
        byz = {aggregator_name(j) for j in self.sc.plan.byzantine}
        rounds = [s["rounds"] for n, s in nodes.items() if n[0] == "A" and n not in killed | byz]
        return min(rounds, default=0)

    def _diagnosis(self) -> str:
        """Which honest node is stuck where (R-16)."""
        nodes, killed = self._nodes(), self._killed()
        parts = [s["diag"] for n, s in sorted(nodes.items()) if s.get("diag") and n not in killed]
        R = self.sc.cfg.rounds
        behind = [
            f"{n} at {s['rounds']}/{R}"
            for n, s in sorted(nodes.items())
            if n[0] == "C" and not s["done"] and not s["crashed"] and n not in killed
        ]
        if behind:
            parts.append("clients behind: " + ", ".join(behind))
        return "cannot progress: " + " | ".join(parts) if parts else "no node reports progress"

    def _stop(self) -> None:
        for p in self.procs:
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in self.procs:
            try:
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
            p.reader.join(5)
            p.drain()

    # -- the run -------------------------------------------------------------------------

    def run(self) -> DeployResult:
        dep = self.dep
        dep.workdir.mkdir(parents=True, exist_ok=True)
        keys, traces = dep.workdir / "keys", dep.workdir / "nodes"
        addrs, socks = self._addresses()
        roster = keygen(keys, dep.flags, addrs)
        self.started = time.monotonic()
        began = time.time()
        try:
            task = dep.workdir / "task.npz"
            save_task(self.sc.task, task)
            self._spawn(keys / ROSTER_FILE, keys, traces, task, socks)
        finally:
            for s in socks.values():
                s.close()
        try:
            status, detail = self._watch()
        finally:
            killed = self._killed()
            self._stop()
        wall = time.time() - began
        if status == "error":
            raise RuntimeError(detail)
        return self._finish(roster, status, detail, killed, traces, wall)

    def _finish(
        self, roster: Roster, status: str, detail: str, killed: set[str], traces: Path, wall: float
    ) -> DeployResult:
        sc, dep, cfg = self.sc, self.dep, self.sc.cfg
        names = node_names(cfg.n_aggregators, cfg.n_clients)
        node_traces = {n: traces / f"{n}.jsonl" for n in names}
        if status == "complete":
            detail = f"every honest aggregator finished all {cfg.rounds} rounds"
        faults = [detail]
        if killed:
            points = (f"{n} (round {self.kills[n].round}, step {self.kills[n].step})" for n in sorted(killed))
            faults.append("killed (SIGKILL): " + ", ".join(points))
        byz_count = len(set(sc.plan.byzantine) | {n for n in killed if n[0] == "A"})
        crash_count = len(sc.plan.crashed) + sum(1 for n in killed if n[0] == "C")
        if byz_count > cfg.t_a:
            faults.append(f"{byz_count} faulty aggregators exceed t_a = {cfg.t_a}")
        if crash_count > cfg.t_c:
            faults.append(f"{crash_count} crashed clients exceed t_c = {cfg.t_c}")
        out = sc.run.trace if sc.run.trace is not None else dep.workdir / "trace.jsonl"
        header = merged_header(sc, roster, node_traces)
        detail = " — ".join(faults)
        merged = merge(header, node_traces, set(sc.plan.byzantine), status, detail, out)
        byzantine = merged.byzantine
        crashed = sorted(set(sc.plan.crashed) | {int(n[1:]) for n in merged.died if n[0] == "C"})
        rounds = merged.rounds_done
        finals = {n: f for p in self.procs for n, f in p.final.get("nodes", {}).items()}
        sets = {(t, c): tuple(s) for f in finals.values() for t, c, s in f["certified"]}
        inclusions = inclusion_counts(cfg.n_clients, sets.values())
        kinds: dict[str, list[int]] = {}
        cpu: dict[str, float] = {}
        steps = 0
        for p in self.procs:
            for k, (count, size) in p.status.get("kinds", {}).items():
                kinds.setdefault(k, [0, 0])
                kinds[k][0] += count
                kinds[k][1] += size
            for n in p.names:
                cpu[n] = p.status.get("cpu", 0.0) / len(p.names)
                steps += p.status.get("nodes", {}).get(n, {}).get("steps", 0)
        summary = RunSummary(
            status,
            detail,
            rounds,
            {n: f["accuracy"] for n, f in sorted(finals.items())},
            inclusions,
            client_epsilons(cfg.skellam, inclusions, DELTA),
            byzantine,
            crashed,
            steps,
            sum(c for c, _ in kinds.values()),
            {k: s for k, (_, s) in kinds.items()},
            {k: c for k, (c, _) in kinds.items()},
            out,
        )
        kills = {n: self.kills[n] for n in killed}
        cut = sum(p.status.get("cut", 0) for p in self.procs)
        return DeployResult(summary, kills, cpu, wall, cut, merged.behaviour, node_traces)
