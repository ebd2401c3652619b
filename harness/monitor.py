"""Online monitors: the adapter interface between the harness and the trace checker.

Every monitor sees the trace one event at a time (``feed``), may look at the run after
each action (``after_step``, white-box oracles only) and gives its end-of-run verdict
(``finish``, where liveness is judged). Each returns the :class:`Violation` s it found.

Three monitors exist:

- :class:`TraceMonitor` -- *interim* safety and liveness monitors over trace events only
  (the subset of ``specs/properties.md`` a single pass can check cheaply). It stands in
  for ``checker/`` until that lands and stays as a fast first line afterwards; it is not
  a second checker: no model replay, no schema validation.
- :class:`WhiteBoxOracle` -- what only the harness can check because it owns the run:
  mask cancellation (P-1) for sets proposed by *Byzantine* coordinators (whose proposals
  leave no trace event) and that clients accept only models some aggregator certified
  (I-3; the harness knows which announcements it forged).
- :class:`CheckerMonitor` -- the adapter to ``checker/`` (replay against the model),
  used automatically when ``checker`` offers an incremental or whole-trace entry point.
"""

from __future__ import annotations

import base64
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from harness.world import World

P = 2**31 - 1


@dataclass(frozen=True)
class Violation:
    """A property violation: the property ID of specs/properties.md (or rule), why, where."""

    prop: str
    message: str
    seq: int | None = None
    source: str = "trace"

    def __str__(self) -> str:
        at = f" at event {self.seq}" if self.seq is not None else ""
        return f"{self.prop}{at}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"prop": self.prop, "message": self.message, "seq": self.seq, "source": self.source}


class Monitor(Protocol):
    def feed(self, event: dict[str, Any]) -> list[Violation]: ...

    def after_step(self, world: World) -> list[Violation]: ...

    def finish(self, world: World | None) -> list[Violation]: ...


def _vec(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<u4").astype(np.uint64)


def _members(cfg: dict[str, Any], tau: int) -> tuple[tuple[int, ...], ...]:
    from model.shuffle import cluster_assignment  # independent of impl

    return cluster_assignment(cfg["clients"], cfg["aggregators"], bytes.fromhex(cfg["genesis"]), tau)


class TraceMonitor:
    """Interim trace monitors (see the module docstring). Property IDs as in the spec."""

    PROTOCOL = {"submit", "propose", "endorse", "certify", "release", "reconstruct", "aggregate", "accept"}

    def __init__(self) -> None:
        self.cfg: dict[str, Any] = {}
        self.byz: set[str] = set()
        self.genesis_model = ""
        self.sends: dict[int, tuple[str, str, str]] = {}  # msg -> (type, src, dst)
        self.submits: dict[tuple[str, int], tuple[str, dict[str, str] | None]] = {}
        self.masks: dict[str, tuple[str, int]] = {}
        self.proposals: dict[str, tuple[int, int, tuple[int, ...]]] = {}
        self.proposed: set[tuple[int, int]] = set()
        self.endorsed: dict[tuple[str, int, int], tuple[str, str]] = {}
        self.certified_by: dict[tuple[str, int, int], tuple[str, str]] = {}
        self.certified: dict[tuple[int, int], set[tuple[str, str]]] = defaultdict(set)
        self.released: dict[tuple[str, int, int], str] = {}
        self.reconstructed: set[tuple[str, int, int]] = set()
        self.models: dict[str, str] = {}  # node -> last model digest
        self.agg_round: dict[str, int] = {}
        self.accepted: dict[str, int] = {}
        self.crashed: set[str] = set()
        self.end: dict[str, Any] | None = None
        self._step: tuple[str, int, str] | None = None  # (node, msg, type) being delivered
        self._step_dropped = False
        self._step_protocol: list[str] = []

    # -- helpers -------------------------------------------------------------------

    @property
    def quorum(self) -> int:
        return self.cfg["aggregators"] - self.cfg["t_a"]

    def honest(self, node: str) -> bool:
        return node not in self.byz

    def _close_step(self) -> list[Violation]:
        out: list[Violation] = []
        if self._step is not None:
            node, msg, typ = self._step
            if typ == "junk" and self.honest(node) and not self._step_dropped:
                out.append(Violation("I-4", f"{node} did not drop malformed message {msg} (R-3)"))
            if self._step_dropped and self._step_protocol:
                out.append(
                    Violation(
                        "I-4",
                        f"{node} dropped message {msg} yet performed {self._step_protocol} (R-3)",
                    )
                )
        self._step, self._step_dropped, self._step_protocol = None, False, []
        return out

    # -- the monitor interface -----------------------------------------------------

    def feed(self, ev: dict[str, Any]) -> list[Violation]:
        kind = ev["kind"]
        if kind == "header":
            self.cfg = ev["config"]
            self.byz = {f"A{j}" for j in ev["byzantine"]}
            self.genesis_model = ev["genesis_model"]
            return []
        handler = getattr(self, f"_on_{kind}", None)
        out: list[Violation] = []
        if kind in ("deliver", "local_step", "crash", "end"):
            out += self._close_step()
        if kind in self.PROTOCOL and self._step is not None and ev.get("node") == self._step[0]:
            self._step_protocol.append(kind)
        if handler is not None:
            out += [
                v if v.seq is not None else Violation(v.prop, v.message, ev.get("seq"), v.source)
                for v in handler(ev)
            ]
        return out

    def after_step(self, world: World) -> list[Violation]:
        return []

    def finish(self, world: World | None) -> list[Violation]:
        out = self._close_step()
        end = self.end
        if end is None:
            return [*out, Violation("L-3", "trace has no end event")]
        rounds = self.cfg["rounds"]
        if end["status"] != "complete":
            out.append(Violation("L-1", f"run {end['status']}: {end['detail']}", end["seq"]))
        for node, done in sorted(end["rounds_done"].items()):
            if node in self.crashed or not self.honest(node):
                continue
            if done < rounds:
                prop = "L-1" if node[0] == "A" else "L-2"
                out.append(Violation(prop, f"{node} finished {done} of {rounds} rounds", end["seq"]))
        return out

    # -- per-event checks ----------------------------------------------------------

    def _on_send(self, ev: dict[str, Any]) -> list[Violation]:
        self.sends[ev["msg"]] = (ev["type"], ev["node"], ev["to"])
        return []

    def _on_deliver(self, ev: dict[str, Any]) -> list[Violation]:
        typ = self.sends.get(ev["msg"], ("?", "?", "?"))[0]
        self._step = (ev["node"], ev["msg"], typ)
        return []

    def _on_drop(self, ev: dict[str, Any]) -> list[Violation]:
        if self._step is not None and (ev["node"], ev["msg"]) == self._step[:2]:
            self._step_dropped = True
        return []

    def _on_crash(self, ev: dict[str, Any]) -> list[Violation]:
        self.crashed.add(ev["node"])
        if len({c for c in self.crashed if c[0] == "C"}) > self.cfg["t_c"]:
            return [Violation("L-1", f"more than t_c = {self.cfg['t_c']} clients crashed (setup)")]
        return []

    def _on_end(self, ev: dict[str, Any]) -> list[Violation]:
        self.end = ev
        return []

    def _on_submit(self, ev: dict[str, Any]) -> list[Violation]:
        out = []
        node, tau, c = ev["node"], ev["round"], ev["cluster"]
        i = int(node[1:])
        if (node, tau) in self.submits:
            out.append(Violation("R-5", f"{node} submitted twice for round {tau}"))
        ghost = ev.get("ghost")
        self.submits[(node, tau)] = (ev["sd"], ghost)
        if tau < self.cfg["rounds"] and i not in _members(self.cfg, tau)[c]:
            out.append(Violation("R-2", f"{node} submitted to cluster {c}, not its own in round {tau}"))
        if ghost is not None:
            prior = self.masks.get(ghost["r"])
            if prior is not None:
                out.append(
                    Violation(
                        "P-2", f"{node} round {tau} reuses the mask of {prior[0]} round {prior[1]} (D-2)"
                    )
                )
            self.masks[ghost["r"]] = (node, tau)
        return out

    def _on_propose(self, ev: dict[str, Any]) -> list[Violation]:
        from model.inclusion import close_decision  # independent of impl

        out: list[Violation] = []
        node, tau, c = ev["node"], ev["round"], ev["cluster"]
        cfg = self.cfg
        if node != f"A{c}":
            out.append(Violation("R-2", f"{node} proposed for cluster {c} it does not coordinate"))
        if (tau, c) in self.proposed:
            out.append(Violation("F-1", f"{node} closed ({tau}, {c}) twice (R-6: once)"))
        self.proposed.add((tau, c))
        members = list(_members(cfg, tau)[c])
        clients, held = ev["clients"], ev["held"]
        if sorted(ev["members"]) != members:
            out.append(Violation("S-4", f"({tau}, {c}) members {ev['members']} != R-2 {members}"))
        if len(set(clients)) != len(clients) or not set(clients) <= set(members):
            out.append(Violation("S-4", f"({tau}, {c}) proposes non-members or repeats: {clients}"))
        if len(clients) < cfg["q_min"]:
            out.append(Violation("S-5", f"({tau}, {c}) proposes {len(clients)} < q_min clients"))
        if not set(clients) <= set(held):
            out.append(Violation("F-1", f"({tau}, {c}) proposes clients it does not hold"))
        if len(ev["counts"]) == len(ev["members"]):
            counts = dict(zip(ev["members"], ev["counts"], strict=True))
            want = close_decision(
                counts, [h for h in held if h in counts], cfg["t_c"], cfg["lead_bound"], cfg["q_min"]
            )
            if want is None:
                out.append(Violation("F-1", f"({tau}, {c}) closed although R-6's condition fails"))
            elif list(want) != sorted(clients):
                out.append(Violation("F-1", f"({tau}, {c}) proposed {clients}, R-6 gives {list(want)}"))
        else:
            out.append(Violation("F-1", f"({tau}, {c}) counts do not match members"))
        self.proposals[ev["pd"]] = (tau, c, tuple(sorted(clients)))
        return out

    def _on_endorse(self, ev: dict[str, Any]) -> list[Violation]:
        key = (ev["node"], ev["round"], ev["cluster"])
        out = []
        if key in self.endorsed:
            out.append(Violation("S-2", f"{key[0]} endorsed twice for ({key[1]}, {key[2]})"))
        self.endorsed[key] = (ev["pd"], ev["md"])
        known = self.proposals.get(ev["pd"])
        if known is not None and len(known[2]) < self.cfg["q_min"]:
            out.append(Violation("S-5", f"{key[0]} endorsed a set below q_min"))
        return out

    def _on_certify(self, ev: dict[str, Any]) -> list[Violation]:
        node, tau, c = ev["node"], ev["round"], ev["cluster"]
        key, pm = (node, tau, c), (ev["pd"], ev["md"])
        out = []
        if key in self.certified_by:
            out.append(Violation("S-1", f"{node} certified ({tau}, {c}) twice"))
        self.certified_by[key] = pm
        endorsers = ev["endorsers"]
        if len(set(endorsers)) != len(endorsers) or len(set(endorsers)) < self.quorum:
            out.append(
                Violation(
                    "S-1",
                    f"{node}'s certificate for ({tau}, {c}) has endorsers {endorsers}, "
                    f"need {self.quorum} distinct (R-9)",
                )
            )
        for j in endorsers:
            a = f"A{j}"
            if self.honest(a) and self.endorsed.get((a, tau, c)) != pm:
                out.append(
                    Violation(
                        "S-1",
                        f"{node}'s certificate for ({tau}, {c}) counts honest {a}, "
                        "which did not endorse it (R-9)",
                    )
                )
        self.certified[(tau, c)].add(pm)
        if len(self.certified[(tau, c)]) > 1:
            out.append(Violation("S-1", f"two different sets certified for ({tau}, {c})"))
        return out

    def _on_release(self, ev: dict[str, Any]) -> list[Violation]:
        node, tau, c = ev["node"], ev["round"], ev["cluster"]
        key = (node, tau, c)
        out = []
        if key in self.released:
            out.append(Violation("S-3", f"{node} released twice for ({tau}, {c})"))
        self.released[key] = ev["pd"]
        cert = self.certified_by.get(key)
        if cert is None or cert[0] != ev["pd"]:
            out.append(Violation("S-3", f"{node} released for ({tau}, {c}) without a certificate on it"))
        elif self.endorsed.get(key) != cert:
            out.append(
                Violation("S-3", f"{node} released for ({tau}, {c}) but its first proposal differs (R-10)")
            )
        return out

    def _on_reconstruct(self, ev: dict[str, Any]) -> list[Violation]:
        node, tau, c = ev["node"], ev["round"], ev["cluster"]
        key = (node, tau, c)
        out = []
        if key in self.reconstructed:
            out.append(Violation("I-2", f"{node} reconstructed ({tau}, {c}) twice"))
        self.reconstructed.add(key)
        cert = self.certified_by.get(key)
        if cert is None or cert[0] != ev["pd"]:
            out.append(
                Violation("P-2", f"{node} revealed a sum for ({tau}, {c}) that it holds no certificate for")
            )
        support = ev["support"]
        if len(set(support)) != self.quorum or len(support) != self.quorum:
            out.append(Violation("I-2", f"{node} decoded ({tau}, {c}) from support {support} (D-4)"))
        for j in ev["wrong"]:
            a = f"A{j}"
            if self.honest(a) and (a, tau, c) in self.released:
                out.append(Violation("I-1", f"{node} judged honest {a}'s release for ({tau}, {c}) wrong"))
        if ev["size"] < self.cfg["q_min"]:
            out.append(Violation("S-5", f"{node} revealed a sum of {ev['size']} < q_min clients"))
        known = self.proposals.get(ev["pd"])
        ghost = ev.get("ghost")
        if known is not None:
            if known[2] and len(known[2]) != ev["size"]:
                out.append(Violation("I-2", f"{node}: size {ev['size']} != proposal size {len(known[2])}"))
            if ghost is not None:
                out += self._check_sum(node, tau, c, known[2], ghost["sum"])
        return out

    def _check_sum(self, node: str, tau: int, c: int, clients: tuple[int, ...], got: str) -> list[Violation]:
        total = np.zeros(self.cfg["dim"], dtype=np.uint64)
        for i in clients:
            sub = self.submits.get((f"C{i}", tau))
            if sub is None or sub[1] is None:
                return []
            total = (total + _vec(sub[1]["x"])) % P
        if not np.array_equal(total, _vec(got) % P):
            return [Violation("P-1", f"{node}'s result for ({tau}, {c}) != sum of the set's updates")]
        return []

    def _on_aggregate(self, ev: dict[str, Any]) -> list[Violation]:
        node, tau1 = ev["node"], ev["round"]
        out = []
        last = self.agg_round.get(node, 0)
        if tau1 != last + 1:
            out.append(Violation("I-3", f"{node} produced round {tau1} after round {last} (R-13)"))
        self.agg_round[node] = tau1
        prev = self.models.get(node, self.genesis_model)
        if ev["prev"] != prev:
            out.append(Violation("I-3", f"{node}'s model for round {tau1} does not extend its own chain"))
        self.models[node] = ev["model"]
        clusters = ev["clusters"]
        if len(set(clusters)) < self.quorum or len(set(clusters)) != len(clusters):
            out.append(Violation("I-3", f"{node} aggregated clusters {clusters}, need {self.quorum} (R-13)"))
        for c in clusters:
            if (node, tau1 - 1, c) not in self.reconstructed:
                out.append(Violation("I-2", f"{node} used cluster {c} of round {tau1 - 1} without a result"))
        return out

    def _on_accept(self, ev: dict[str, Any]) -> list[Violation]:
        node, tau = ev["node"], ev["round"]
        last = self.accepted.get(node, 0)
        self.accepted[node] = tau
        if tau != last + 1:
            return [Violation("I-3", f"{node} accepted round {tau} after round {last} (R-15b)")]
        return []


class WhiteBoxOracle:
    """Checks that need the run itself (see the module docstring)."""

    def __init__(self) -> None:
        self._seen = 0
        self.submits: dict[tuple[int, int], dict[str, Any]] = {}
        self.models: dict[int, set[str]] = defaultdict(set)
        self.released: dict[str, set[tuple[int, int]]] = defaultdict(set)

    def _accepted(self, world: World, node: str, tau: int, c: int) -> Any:
        agg = world.built.aggregators.get(node)
        st = agg.clusters.get((tau, c)) if agg is not None else None
        return None if st is None else st.accepted

    def _endorse(self, world: World, ev: dict[str, Any]) -> list[Violation]:
        """S-4, S-5 on what an honest aggregator endorsed (Byzantine proposals included)."""
        tau, c = ev["round"], ev["cluster"]
        acc = self._accepted(world, ev["node"], tau, c)
        if acc is None:
            return []
        clients = [e.client for e in acc.proposal.entries]
        members = set(_members(world.events[0]["config"], tau)[c])
        out = []
        for e in acc.proposal.entries:
            sub = self.submits.get((e.client, tau))
            if sub is None or sub["sd"] != e.sd(tau).hex():
                out.append(
                    Violation(
                        "I-2",
                        f"{ev['node']} endorsed ({tau}, {c}) with an entry for "
                        f"C{e.client} that is not its signed submission (R-8)",
                        ev["seq"],
                        "oracle",
                    )
                )
                break
        if len(set(clients)) != len(clients) or not set(clients) <= members:
            out.append(
                Violation(
                    "S-4",
                    f"{ev['node']} endorsed ({tau}, {c}) naming {clients}, "
                    f"members {sorted(members)}, each once",
                    ev["seq"],
                    "oracle",
                )
            )
        if len(set(clients)) < world.setup.q_min:
            out.append(
                Violation(
                    "S-5",
                    f"{ev['node']} endorsed ({tau}, {c}) with {len(set(clients))} < q_min clients",
                    ev["seq"],
                    "oracle",
                )
            )
        return out

    def _counts(self, world: World, ev: dict[str, Any]) -> list[Violation]:
        """D-12: the coordinator's count view is its released (certified and held) sets."""
        node, tau = ev["node"], ev["round"]
        want = dict.fromkeys(ev["members"], 0)
        for t, c in self.released[node]:
            acc = self._accepted(world, node, t, c)
            if t < tau and acc is not None:
                for e in acc.proposal.entries:
                    if e.client in want:
                        want[e.client] += 1
        got = dict(zip(ev["members"], ev["counts"], strict=False))
        if got != want:
            return [
                Violation(
                    "F-3",
                    f"{node}'s count view for ({tau}, {ev['cluster']}) is {got}, "
                    f"its certified sets give {want} (D-12)",
                    ev["seq"],
                    "oracle",
                )
            ]
        return []

    def feed(self, ev: dict[str, Any]) -> list[Violation]:
        return []

    def after_step(self, world: World) -> list[Violation]:
        out: list[Violation] = []
        events = world.events
        while self._seen < len(events):
            ev = events[self._seen]
            self._seen += 1
            kind = ev["kind"]
            if kind == "submit":
                self.submits[(int(ev["node"][1:]), ev["round"])] = ev
            elif kind == "aggregate":
                self.models[ev["round"]].add(ev["model"])
            elif kind == "reconstruct":
                out += self._reconstruct(world, ev)
            elif kind == "endorse":
                out += self._endorse(world, ev)
            elif kind == "release":
                self.released[ev["node"]].add((ev["round"], ev["cluster"]))
            elif kind == "propose":
                out += self._counts(world, ev)
            elif kind == "accept":
                legit = set(self.models[ev["round"]])
                for b in world.byz.values():
                    legit |= b.genuine_models
                if ev["model"] not in legit:
                    out.append(
                        Violation(
                            "I-3",
                            f"{ev['node']} accepted a model for round {ev['round']} "
                            f"from {ev['from']} that no aggregator certified",
                            ev["seq"],
                            "oracle",
                        )
                    )
        return out

    def _reconstruct(self, world: World, ev: dict[str, Any]) -> list[Violation]:
        agg = world.built.aggregators.get(ev["node"])
        if agg is None:
            return []
        tau, c = ev["round"], ev["cluster"]
        st = agg.clusters.get((tau, c))
        if st is None or st.accepted is None:
            return [
                Violation(
                    "I-2", f"{ev['node']} reconstructed ({tau}, {c}) with no proposal", ev["seq"], "oracle"
                )
            ]
        total = np.zeros(world.cfg.dim, dtype=np.uint64)
        for e in st.accepted.proposal.entries:
            sub = self.submits.get((e.client, tau))
            if sub is None or sub["sd"] != e.sd(tau).hex():
                return [
                    Violation(
                        "I-2",
                        f"{ev['node']}'s set for ({tau}, {c}) holds C{e.client}'s entry, "
                        "which is not that client's signed submission",
                        ev["seq"],
                        "oracle",
                    )
                ]
            total = (total + _vec(sub["ghost"]["x"])) % P
        if "ghost" in ev and not np.array_equal(total, _vec(ev["ghost"]["sum"]) % P):
            return [
                Violation(
                    "P-1",
                    f"{ev['node']}'s result for ({tau}, {c}) != sum of the set's updates",
                    ev["seq"],
                    "oracle",
                )
            ]
        return []

    def finish(self, world: World | None) -> list[Violation]:
        return []


def default_monitors(world: World | None = None) -> list[Monitor]:
    """The interim trace monitors, the white-box oracles and, when available, the checker."""
    monitors: list[Monitor] = [TraceMonitor(), WhiteBoxOracle()]
    checker = CheckerMonitor.maybe()
    if checker is not None:
        monitors.append(checker)
    return monitors


class CheckerMonitor:
    """Adapter to ``checker/`` (replay against the model, schema, signatures, all monitors).

    ``checker.replay.Checker`` checks whole traces, so this adapter runs it once at the
    end of a run on the in-memory trace (the online, per-step checks are the interim
    monitors'). The header's ``crashed`` list is completed with the clients the schedule
    crashed, which a header written before the run cannot know. Disable with the
    environment variable ``ASFL_HARNESS_CHECKER=0``.

    Known gap, filtered out: a Byzantine aggregator that *forwards* another node's signed
    message (``replay``) is a legitimate delivery of that message, but the trace names
    the forwarder as sender, so the checker reports the original's endorsement or
    release as "never delivered" (I-2). Reported to the checker's owner.
    """

    def __init__(self, checker_cls: Any) -> None:
        self.checker_cls = checker_cls

    @classmethod
    def maybe(cls) -> CheckerMonitor | None:
        if os.environ.get("ASFL_HARNESS_CHECKER", "1") == "0":
            return None
        try:
            from checker.replay import Checker
        except Exception:  # noqa: BLE001 - checker absent or unfinished
            return None
        return cls(Checker)

    def feed(self, ev: dict[str, Any]) -> list[Violation]:
        return []

    def after_step(self, world: World) -> list[Violation]:
        return []

    def finish(self, world: World | None) -> list[Violation]:
        if world is None:
            return []
        from checker.replay import Unusable

        events = world.events
        header = dict(events[0])
        header["crashed"] = sorted(
            set(header["crashed"]) | {int(n[1:]) for n in world.sim.crashed if n[0] == "C"}
        )
        lines = [json.dumps(header)] + [json.dumps(e) for e in events[1:]]
        try:
            rep = self.checker_cls(signatures="all").check_lines(lines)
        except Unusable as exc:
            return [Violation("T-SCHEMA", f"checker: unusable trace: {exc}", None, "checker")]
        except Exception as exc:  # noqa: BLE001 - the checker itself failed
            return [Violation("checker-error", f"checker raised {exc!r}", None, "checker")]
        forwards = any(
            b.mode in ("replay", "chaos", "scripted", "silent") and b.sent_replays for b in world.byz.values()
        )
        out = []
        for v in rep.violations:
            if forwards and v.prop == "I-2" and "never delivered" in v.message:
                continue
            out.append(Violation(v.prop, f"{v.message} [checker]", v.line - 1, "checker"))
        return out
