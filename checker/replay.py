"""Replay a trace against the model (refinement) and check every property on it.

The checker keeps, per node, the part of the model's state that the trace reveals, and
checks every event as a step the model allows from that state (the guards of
``model.protocol``), with the rules of ``model.inclusion`` / ``model.shuffle``
recomputed independently of ``impl``. Each violation carries the property (or rule) ID,
the line, and the chain of earlier events it depends on.

Checker-specific IDs (trace well-formedness, no property in properties.md):
``T-SEQ`` sequence numbers, ``T-FLOW`` message flow (a deliver matches an undelivered
send to that node; a drop names a delivered message), ``T-STEP`` step structure (an
event belongs to a step of its node, Byzantine nodes write only wire events, nothing
after a crash), ``T-END`` the end event (present, consistent with the trace).

Whole traces and online use share one mechanism: :meth:`Checker.check_lines` is
``start(header)``, ``feed(event)`` for every later line, ``finish()``; an online monitor
(the harness) calls the same methods as the run writes the trace, and may call
:meth:`Checker.end_step` when it knows a step is complete. When each class of violation
is reported:

- per event (returned by ``feed`` of that event, at its line): T-SEQ, T-FLOW, per-event
  T-STEP, R-3 ranges, and every guard or property that the state so far decides (S-1..S-5,
  P-1, P-2, I-1..I-4, F-1, the F-3 count views of coordinators, R-n, D-13);
- per step (the checker groups events into steps of one node, opened by a ``deliver``,
  ``local_step`` or ``crash``): the sends a rule prescribes (R-5, R-7, R-8, R-10, R-14)
  and what a trigger message may do (I-4: a ``junk`` message delivered to an honest node
  is dropped; a dropped trigger is followed by no state-changing protocol event). These
  are decided when the step is complete: returned by ``feed`` of the next trigger or of
  ``end``, by ``end_step()`` or by ``finish()``, at the line of the step's trigger;
- end of trace (``finish()`` only): T-END, L-1, L-2, L-3, the F-3 bounds on the counts
  clients report (they need every certificate of the trace), P-5 and P-6
  (``checker.privacy``: fresh noise, the reported epsilon), and the report's liveness,
  fairness and certificate summaries.

Crashes: a ``crash`` event of a client is authoritative (the client is crashed from then
on, it needs no liveness) whether or not the header's ``crashed`` (planned crashes)
lists it; the fault bound ``t_c`` counts both.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from itertools import combinations
from math import comb
from pathlib import Path
from typing import Any

import numpy as np

from asfl.checker import privacy
from asfl.checker.obligations import TraceObligations
from asfl.checker.privacy import epsilon
from asfl.checker.schema import TraceSchema
from asfl.checker.sigs import SignatureChecker
from asfl.model import inclusion
from asfl.model.field import P, from_b64
from asfl.model.shuffle import cluster_assignment

SUBSET_SEARCH_LIMIT = 20000
_KINDS = frozenset({"submit", "propose", "endorse", "release", "announce"})
# protocol events that change a node's state: none may follow a dropped trigger
_STATEFUL = frozenset(
    {"submit", "propose", "endorse", "certify", "release", "reconstruct", "aggregate", "accept"}
)
HISTORY_LIMIT = 40


class Unusable(Exception):
    """The input cannot be checked (exit 2)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass
class Violation:
    prop: str
    line: int
    message: str
    history: list[int] = field(default_factory=list)  # line numbers

    def as_dict(self) -> dict[str, Any]:
        return {"property": self.prop, "line": self.line, "message": self.message, "history": self.history}


@dataclass
class Report:
    path: str
    lines: int = 0
    events: int = 0
    violations: list[Violation] = field(default_factory=list)
    liveness: dict[str, Any] = field(default_factory=dict)
    fairness: dict[str, Any] = field(default_factory=dict)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)  # the trace lines (for histories)

    @property
    def ok(self) -> bool:
        return not self.violations


def _ids(name: str) -> int:
    return int(name[1:])


class Checker:
    handlers: dict[str, Any]
    cur_node: str | None
    events: int
    ended: bool
    rep: Report

    def __init__(
        self,
        signatures: str = "all",
        delta: float = 1e-5,
        max_violations: int = 1000,
        z3: bool = True,
    ) -> None:
        assert signatures in ("all", "none")
        self.sig_mode = signatures
        self.use_z3 = z3
        self.line = 0  # the line of the event being checked
        self.step_node: str | None = None  # the node whose step is open
        self.delta = delta
        self.max_violations = max_violations
        self.schema = TraceSchema()

    # ================================================================================
    # driver: whole traces (check_file, check_lines) are a loop over the incremental API
    # ================================================================================
    def check_file(self, path: str | Path) -> Report:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        return self.check_lines(lines, str(path))

    def check_lines(self, lines: list[str], path: str = "<trace>") -> Report:
        """Check a whole trace: ``start`` on line 1, ``feed`` every other non-blank line,
        ``finish``. Stops feeding after ``max_violations`` violations."""
        if not lines:
            raise Unusable(1, "empty file: no header")
        self.start(self._parse(lines[0], 1), path, raw=lines)
        for n in range(1, len(lines)):
            raw = lines[n]
            if not raw.strip():
                continue
            self.feed(self._parse(raw, n + 1), line=n + 1)
            if len(self.rep.violations) >= self.max_violations:
                break
        return self.finish(lines=len(lines))

    @staticmethod
    def _parse(raw: str, line: int) -> dict[str, Any]:
        try:
            ev = json.loads(raw)
        except json.JSONDecodeError as e:
            raise Unusable(line, f"invalid JSON: {e.msg} (column {e.colno})") from None
        return ev

    def start(self, header: dict[str, Any], path: str = "<trace>", raw: list[str] | None = None) -> None:
        """Begin a trace with its header (line 1). Raises :class:`Unusable` if the header
        does not validate. ``raw`` (the trace's lines, optional) is kept in the report for
        rendering histories."""
        self._t0 = time.perf_counter()
        self.rep = Report(path, raw=raw if raw is not None else [])
        err = self.schema.validate(header)
        if err is None and header.get("kind") != "header":
            err = "line 1 must be the header"
        if err:
            raise Unusable(1, f"{err}. {self.schema.explain(header)}".strip())
        self._init(header)

    def feed(self, ev: dict[str, Any], line: int | None = None) -> list[Violation]:
        """Check one event (after :meth:`start`); the violations it reveals.

        ``line`` is the event's line in the trace file (default: the previous event's
        line + 1, i.e. ``seq + 1`` in a well-formed trace). Raises :class:`Unusable` if
        the event does not validate against the schema. The event is not modified.

        When a violation is reported (see also the module docstring):

        - checks of one event against the state so far (guards, S/P/I properties, T-SEQ,
          T-FLOW, per-event T-STEP, F-1, R-n) are returned by the ``feed`` of that event;
        - checks of a whole step (the sends a rule prescribes, R-5/R-7/R-8/R-10/R-14, and
          what a dropped or malformed trigger may do, I-4) are decided when the step
          ends: they are returned by the ``feed`` of the next step's trigger (``deliver``,
          ``local_step``, ``crash``) or of ``end``, by :meth:`end_step`, or by
          :meth:`finish`; their line is the step's trigger line;
        - end-of-trace checks (T-END, L-1, L-2, L-3, the F-3 client count bounds, which
          need every certificate of the trace) only in :meth:`finish`.
        """
        self.line = line = self.line + 1 if line is None else line
        err = self.schema.validate(ev)
        if err:
            raise Unusable(line, f"{err}. {self.schema.explain(ev)}".strip())
        kind = ev["kind"]
        if kind == "header":
            raise Unusable(line, "a second header")
        rep = self.rep
        n0 = len(rep.violations)
        self.cur_node = node = ev.get("node")
        self.events += 1
        if ev["seq"] != self.events:
            self.viol("T-SEQ", f"seq {ev['seq']}, expected {self.events}")
            self.events = ev["seq"]
        if self.ended:
            self.viol("T-END", "event after the end event")
        if kind != "end" and not self._in_range(ev):
            return rep.violations[n0:]
        if kind in _STATEFUL and node == self.step_node:
            self.step_proto.append(kind)
        try:
            self.handlers[kind](ev)
        except (KeyError, IndexError, ValueError, TypeError) as e:  # defensive
            self.viol("T-STEP", f"event not interpretable against the model: {type(e).__name__} {e}")
        return rep.violations[n0:]

    def end_step(self) -> list[Violation]:
        """Declare the current step complete (an online feeder that knows step
        boundaries, e.g. a simulator after each action): its step checks are decided
        now instead of at the next trigger. Events of an honest node after this and
        before its next trigger are outside any step (T-STEP)."""
        n0 = len(self.rep.violations)
        self._close_step()
        self.step_node = None
        return self.rep.violations[n0:]

    def finish(self, lines: int | None = None) -> Report:
        """End of the trace: close the last step and run the end-of-trace checks
        (T-END, liveness L-1..L-3, fairness and the F-3 count bounds). ``lines`` is the
        trace's line count (default: the last line fed)."""
        rep = self.rep
        self._close_step()
        t1 = time.perf_counter()
        self._finish()
        rep.lines = self.line if lines is None else lines
        rep.events = self.events
        rep.stats = {
            "seconds": round(time.perf_counter() - self._t0, 4),
            "replay_seconds": round(t1 - self._t0, 4),
            "signatures": self.sigs.stats(),
        }
        if self.obligations is not None:
            rep.stats["z3"] = self.obligations.summary()
        return rep

    # ================================================================================
    # state
    # ================================================================================
    def _init(self, h: dict[str, Any]) -> None:
        cfg = h["config"]
        self.n_a, self.t_a = cfg["aggregators"], cfg["t_a"]
        self.n_c, self.t_c = cfg["clients"], cfg["t_c"]
        self.q_min, self.B, self.R = cfg["q_min"], cfg["lead_bound"], cfg["rounds"]
        self.dim, self.rule, self.z = cfg["dim"], cfg["rule"], cfg["noise_multiplier"]
        self.genesis = bytes.fromhex(cfg["genesis"])
        self.quorum = self.n_a - self.t_a
        self.obligations = TraceObligations(self.n_a, self.t_a) if self.use_z3 else None
        if self.obligations is not None:
            for res in self.obligations.for_config():
                if res.status != "proved":
                    self.viol(
                        res.prop_id, f"Z3 {res.status} at the trace's sizes: {res.title} {res.counterexample}"
                    )
        self.header = h
        self.byz = set(h["byzantine"])
        self.crashed_cfg = set(h["crashed"])
        self.ghost = h["ghost"]
        self.genesis_model = h["genesis_model"]
        self.honest_aggs = [j for j in range(self.n_a) if j not in self.byz]
        self.sigs = SignatureChecker(h["keys"], enabled=self.sig_mode == "all")
        for j in self.byz:
            if not 0 <= j < self.n_a:
                raise Unusable(1, f"byzantine id {j} out of range")
        self.line = 1
        self.events = 0
        self.ended = False
        self.end: dict[str, Any] | None = None
        self._clusters: dict[int, tuple[tuple[int, ...], ...]] = {}
        self._cluster_of: dict[int, dict[int, int]] = {}
        # wire
        self.msgs: dict[int, tuple] = {}  # id -> (src, dst, type, round, cluster, line, digest)
        # envelope digest -> (signer, type, round, cluster) of its first send: by the honest
        # node that signed it (signature verified), else by the Byzantine node that sent
        # it first. A forwarded copy of the envelope counts as the signer's message.
        self.author: dict[str, tuple[str, str, Any, Any]] = {}
        self.byz_author: dict[str, tuple[str, str, Any, Any]] = {}
        self.first_sent: dict[tuple, int] = {}  # (honest src, type, round, cluster) -> line
        self.last_wild: dict[str, int] = {}  # node -> line of last opaque Byzantine deliver
        self.delivered: dict[int, int] = {}  # id -> line
        self.got: set[tuple] = set()  # (dst, type, src, round, cluster) delivered
        self.got_announce: set[tuple[str, str]] = set()  # (client, aggregator)
        # step structure
        self.step_node = None
        self.step_line = 0
        self.step_msg: int | None = None  # the message delivered by the step's trigger
        self.step_junk = False  # ... sent as junk (bytes that do not decode) to an honest node
        self.step_dropped = False  # ... dropped by its receiver in the step
        self.step_proto: list[str] = []  # state-changing protocol events of the step's node
        self.expect: dict[tuple, int] = {}
        self.sent: dict[tuple, int] = {}
        # clients
        self.crashed_at: dict[str, int] = {}
        self.masks: dict[str, tuple[str, int, int]] = {}  # ghost mask -> (client, round, line)
        self.accepted: dict[int, list[str]] = {i: [self.genesis_model] for i in range(self.n_c)}
        self.submitted: dict[int, set[int]] = {i: set() for i in range(self.n_c)}
        self.last_model_round: dict[int, int] = {}
        self.accept_counts: list[tuple[int, int, int, int]] = []  # (line, client, round, count)
        # submissions (tau, i) -> (cluster, sd, ghost x b64 or None, line)
        self.subs: dict[tuple[int, int], tuple[int, str, str | None, int]] = {}
        self._x: dict[tuple[int, int], np.ndarray] = {}
        # aggregators (honest)
        self.models: dict[int, list[str]] = {j: [self.genesis_model] for j in self.honest_aggs}
        self.proposed: dict[tuple[int, int], tuple[str, int]] = {}  # (tau,c) -> (pd, line)
        self.props: dict[str, tuple[int, int, tuple[int, ...]]] = {}  # pd -> (tau, c, I)
        self.inferred: dict[str, tuple[int, ...]] = {}  # pd -> I found from ghost sums
        self.endorsed_sets: dict[str, tuple[int, ...]] = {}  # pd -> I named by honest endorsers
        self.endorsed: dict[tuple[int, int, int], tuple[str, str, int]] = {}  # (j,tau,c)->(pd,md,line)
        self.endorsers: dict[str, set[int]] = {}  # pd -> honest endorsers
        self.md_of: dict[str, str] = {}
        self.certified: dict[tuple[int, int, int], tuple[str, str, int]] = {}  # (j,tau,c)->(pd,md,line)
        self.cert_pds: dict[tuple[int, int], dict[str, int]] = {}  # (tau,c) -> pd -> first line
        self.cert_info: dict[str, dict[str, Any]] = {}
        self.released: dict[tuple[int, int, int], tuple[str, int]] = {}
        self.releasers: dict[str, set[int]] = {}
        self.recon: dict[tuple[int, int, int], tuple[str, str, int]] = {}
        self.results: dict[str, str] = {}  # pd -> result digest
        self.recon_by_round: dict[int, dict[int, set[int]]] = {j: {} for j in self.honest_aggs}
        self.agg_models: dict[tuple[int, str], int] = {}  # (round, model digest) -> producer
        self.agg_by: dict[tuple[int, int], str] = {}  # (j, round) -> model digest
        # histories
        self.hist_tc: dict[tuple[int, int], list[tuple[int, str, bool]]] = {}
        self.cur_node = None
        self.hist_node: dict[str, list[int]] = {}
        self.handlers = {
            "send": self.on_send,
            "deliver": self.on_deliver,
            "drop": self.on_drop,
            "crash": self.on_crash,
            "local_step": self.on_local_step,
            "submit": self.on_submit,
            "propose": self.on_propose,
            "endorse": self.on_endorse,
            "certify": self.on_certify,
            "release": self.on_release,
            "reconstruct": self.on_reconstruct,
            "aggregate": self.on_aggregate,
            "accept": self.on_accept,
            "equivocation": self.on_equivocation,
            "end": self.on_end,
        }

    # -- helpers ------------------------------------------------------------------------
    def _in_range(self, ev: dict[str, Any]) -> bool:
        """Node names, clusters, rounds and client lists within the configuration."""
        for f in ("node", "to", "from"):
            n = ev.get(f)
            if n is not None and _ids(n) >= (self.n_a if n[0] == "A" else self.n_c):
                self.viol("R-3", f"unknown node {n} in field {f!r}")
                return False
        c = ev.get("cluster")
        if isinstance(c, int) and c >= self.n_a and ev["kind"] not in ("send",):
            self.viol("R-3", f"cluster {c} out of range")
            return False
        r = ev.get("round")
        lim = self.R + 1 if ev["kind"] in ("aggregate", "accept", "send") else self.R
        if isinstance(r, int) and r >= lim:
            self.viol("R-3", f"round {r} out of range [0, {lim})")
            return False
        for f in ("clients", "members", "held"):
            if any(i >= self.n_c for i in ev.get(f, ())):
                self.viol("S-4", f"unknown client id in {f}: {ev[f]}", key=(ev["round"], ev["cluster"]))
                return False
        for f in ("endorsers", "support", "wrong", "clusters"):
            if any(i >= self.n_a for i in ev.get(f, ())):
                self.viol("I-2", f"unknown aggregator id in {f}: {ev[f]}")
                return False
        return True

    def clusters(self, tau: int) -> tuple[tuple[int, ...], ...]:
        got = self._clusters.get(tau)
        if got is None:
            got = cluster_assignment(self.n_c, self.n_a, self.genesis, tau)
            self._clusters[tau] = got
            self._cluster_of[tau] = {i: c for c, ms in enumerate(got) for i in ms}
        return got

    def cluster_of(self, i: int, tau: int) -> int:
        self.clusters(tau)
        return self._cluster_of[tau][i]

    def viol(self, prop: str, msg: str, key: tuple[int, int] | None = None, node: str | None = None) -> None:
        hist: list[int] = []
        if key is not None:
            # protocol events of every node on (tau, c), wire events of this node only
            me = self.cur_node
            hist = [
                x for x, who, proto in self.hist_tc.get(key, []) if x < self.line and (proto or who == me)
            ]
        elif node is not None:
            hist = [x for x in self.hist_node.get(node, []) if x < self.line]
        self.rep.violations.append(Violation(prop, self.line, msg, hist[-HISTORY_LIMIT:]))

    def _hist(self, ev: dict[str, Any], key: tuple[int, int] | None) -> None:
        if key is not None:
            self.hist_tc.setdefault(key, []).append((self.line, ev["node"], True))
        self.hist_node.setdefault(ev["node"], []).append(self.line)

    def _honest_agg(self, node: str) -> int | None:
        """Aggregator id of an honest aggregator, else report and return None."""
        if node[0] != "A":
            self.viol("T-STEP", f"{node} is not an aggregator")
            return None
        j = _ids(node)
        if j >= self.n_a:
            self.viol("T-STEP", f"unknown aggregator {node}")
            return None
        if j in self.byz:
            self.viol("T-STEP", f"Byzantine {node} wrote a protocol event")
            return None
        return j

    def _in_step(self, node: str, what: str) -> bool:
        if self.step_node != node:
            self.viol("T-STEP", f"{what} by {node} outside a step of {node} (step of {self.step_node})")
            return False
        if node in self.crashed_at:
            self.viol("T-STEP", f"{what} by {node} after its crash")
            return False
        return True

    def _received(self, node: str, typ: str, src: str, tau: int, c: int | None) -> bool:
        """Was a ``typ`` message of ``src`` for (tau, c) delivered to ``node``? Also
        true when ``src`` had sent one (to anyone) before a Byzantine node delivered
        an undecodable or replayed message to ``node``: the trace does not say what
        such a message carried, so it may have been ``src``'s envelope (any
        Byzantine node can carry any Byzantine node's signed message)."""
        if (node, typ, src, tau, c) in self.got:
            return True
        if src[0] == "A" and _ids(src) in self.byz:  # colluding Byzantine nodes sign anything
            return node in self.last_wild
        sent = self.first_sent.get((src, typ, tau, c))
        return sent is not None and self.last_wild.get(node, 0) > sent

    def _x_of(self, tau: int, i: int) -> np.ndarray | None:
        got = self._x.get((tau, i))
        if got is None:
            sub = self.subs.get((tau, i))
            if sub is None or sub[2] is None:
                return None
            try:
                got = from_b64(sub[2])
            except ValueError:
                return None
            self._x[(tau, i)] = got
        return got

    # -- step structure ------------------------------------------------------------------
    def _new_step(self, node: str) -> None:
        self._close_step()
        self.step_node = node
        self.step_line = self.line

    def _close_step(self) -> None:
        """Step checks, decided once the step is complete (reported at its trigger line)."""
        if self.step_msg is not None:
            saved = self.line
            self.line = self.step_line
            node, mid = self.step_node or "?", self.step_msg
            if self.step_junk and not self.step_dropped:
                self.viol("I-4", f"{node} did not drop malformed message {mid} (R-3)", node=node)
            if self.step_dropped and self.step_proto:
                self.viol(
                    "I-4",
                    f"{node} dropped message {mid} yet performed {self.step_proto} in that step (R-3)",
                    node=node,
                )
            self.line = saved
            self.step_msg, self.step_junk, self.step_dropped = None, False, False
        self.step_proto = []
        if self.expect:
            for k, n in self.expect.items():
                got = self.sent.get(k, 0)
                if got < n:
                    rule, typ, tau, c = k
                    saved = self.line
                    self.line = self.step_line
                    self.viol(
                        rule,
                        f"step of {self.step_node}: {got} sends of {typ} "
                        f"(round {tau}, cluster {c}), expected {n}",
                        key=(tau, c) if c is not None else None,
                    )
                    self.line = saved
            self.expect = {}
        self.sent = {}

    def _expect(self, rule: str, typ: str, tau: int, c: int | None, n: int) -> None:
        k = (rule, typ, tau, c)
        self.expect[k] = self.expect.get(k, 0) + n

    # ================================================================================
    # wire events
    # ================================================================================
    def on_send(self, ev: dict[str, Any]) -> None:
        node, mid = ev["node"], ev["msg"]
        honest = not (node[0] == "A" and _ids(node) in self.byz)
        if honest:
            self._in_step(node, "send")
            if not self.sigs.verify(node, ev["digest"], ev["sig"]):
                self.viol("I-4", f"send by honest {node}: signature does not verify", node=node)
        if mid in self.msgs:
            self.viol("T-FLOW", f"message id {mid} sent twice")
        tau, c = ev.get("round"), ev.get("cluster")
        self.msgs[mid] = (node, ev["to"], ev["type"], tau, c, self.line, ev["digest"])
        if honest:
            self.author.setdefault(ev["digest"], (node, ev["type"], tau, c))
            self.first_sent.setdefault((node, ev["type"], tau, c), self.line)
        elif ev["type"] in _KINDS:
            self.byz_author.setdefault(ev["digest"], (node, ev["type"], tau, c))
        k = (ev["type"], tau, c)
        for rule in ("R-5", "R-7", "R-8", "R-10", "R-14"):
            kk = (rule, *k)
            if kk in self.expect:
                self.sent[kk] = self.sent.get(kk, 0) + 1
        if isinstance(tau, int) and isinstance(c, int) and ev["type"] != "announce":
            self.hist_tc.setdefault((tau, c), []).append((self.line, node, False))

    def on_deliver(self, ev: dict[str, Any]) -> None:
        node, mid = ev["node"], ev["msg"]
        self._new_step(node)
        if node in self.crashed_at:
            self.viol("T-STEP", f"deliver to {node} after its crash")
        m = self.msgs.get(mid)
        if m is None:
            self.viol("T-FLOW", f"deliver of message {mid}, never sent")
            return
        if m[1] != node:
            self.viol("T-FLOW", f"message {mid} was sent to {m[1]}, delivered to {node}")
        if m[0] != ev["from"]:
            self.viol("T-FLOW", f"message {mid} is from {m[0]}, deliver says {ev['from']}")
        if mid in self.delivered:
            self.viol("T-FLOW", f"message {mid} delivered twice (first at line {self.delivered[mid]})")
        self.delivered[mid] = self.line
        self.step_msg = mid
        self.step_junk = m[2] == "junk" and not (node[0] == "A" and _ids(node) in self.byz)
        self.got.add((node, m[2], m[0], m[3], m[4]))
        if m[2] not in _KINDS and m[0][0] == "A" and _ids(m[0]) in self.byz:
            self.last_wild[node] = self.line
        orig = self.author.get(m[6]) or self.byz_author.get(m[6])
        if orig is not None:
            # a signed envelope relayed (forwarded, replayed) by any node, its signer
            # included, is its signer's message for the round and cluster of the first send
            self.got.add((node, orig[1], orig[0], orig[2], orig[3]))
            if orig[1] == "announce":
                self.got_announce.add((node, orig[0]))
        if m[2] == "announce":
            self.got_announce.add((node, m[0]))
        if isinstance(m[3], int) and isinstance(m[4], int) and m[2] != "announce":
            self.hist_tc.setdefault((m[3], m[4]), []).append((self.line, node, False))

    def on_drop(self, ev: dict[str, Any]) -> None:
        mid = ev["msg"]
        if self.delivered.get(mid) is None or self.msgs[mid][1] != ev["node"]:
            self.viol("T-FLOW", f"drop of message {mid} not delivered to {ev['node']}")
        elif mid == self.step_msg and ev["node"] == self.step_node:
            self.step_dropped = True

    def on_crash(self, ev: dict[str, Any]) -> None:
        node = ev["node"]
        self._new_step(node)
        # The crash event is authoritative: the header's ``crashed`` lists the planned
        # crashes, a run (e.g. a test harness) may crash other clients too.
        if node[0] != "C":
            self.viol("T-STEP", f"{node} crashed but only clients crash")
        if node in self.crashed_at:
            self.viol("T-STEP", f"{node} crashed twice")
        self.crashed_at[node] = self.line

    # ================================================================================
    # client events
    # ================================================================================
    def on_local_step(self, ev: dict[str, Any]) -> None:
        node = ev["node"]
        self._new_step(node)
        if node[0] != "C" or _ids(node) >= self.n_c:
            self.viol("T-STEP", f"local_step by {node}, not a client")
            return
        if node in self.crashed_at:
            self.viol("T-STEP", f"local_step by {node} after its crash")
        i, r = _ids(node), ev["model_round"]
        acc = self.accepted[i]
        if r >= len(acc):
            self.viol("R-15", f"{node} trains on round {r} without having accepted it", node=node)
        elif r < self.last_model_round.get(i, 0):
            self.viol("D-13", f"{node} trains on round {r}, older than its previous step", node=node)
        self.last_model_round[i] = r
        self._hist(ev, None)

    def on_submit(self, ev: dict[str, Any]) -> None:
        node, tau, c = ev["node"], ev["round"], ev["cluster"]
        self._hist(ev, (tau, c))
        if node[0] != "C" or _ids(node) >= self.n_c:
            self.viol("T-STEP", f"submit by {node}, not a client")
            return
        i = _ids(node)
        self._in_step(node, "submit")
        if tau >= self.R:
            self.viol("R-5", f"{node} submits for round {tau} >= R", key=(tau, c))
            return
        if tau in self.submitted[i]:
            self.viol("R-5", f"{node} submits twice for round {tau}", key=(tau, c))
        if tau >= len(self.accepted[i]):
            self.viol("R-5", f"{node} submits for round {tau} without a model of round {tau}", key=(tau, c))
        pending = [t for t in range(min(len(self.accepted[i]), self.R)) if t not in self.submitted[i]]
        if pending and tau != pending[0]:
            self.viol("D-13", f"{node} submits round {tau} before round {pending[0]}", key=(tau, c))
        self.submitted[i].add(tau)
        if c != self.cluster_of(i, tau):
            self.viol(
                "R-2",
                f"{node} submits to cluster {c}, its cluster is {self.cluster_of(i, tau)}",
                key=(tau, c),
            )
        g = ev.get("ghost")
        self.subs[(tau, i)] = (c, ev["sd"], g["x"] if g else None, self.line)
        if g is not None:
            prior = self.masks.setdefault(g["r"], (node, tau, self.line))
            if prior[2] != self.line:
                self.viol(
                    "P-2",
                    f"{node}'s round-{tau} mask equals the mask of {prior[0]} round {prior[1]} "
                    f"(line {prior[2]}): the masks reveal the difference of the updates (D-2)",
                    key=(tau, c),
                )
        self._expect("R-5", "submit", tau, c, 1)

    def on_accept(self, ev: dict[str, Any]) -> None:
        node, r, frm, model = ev["node"], ev["round"], ev["from"], ev["model"]
        self._hist(ev, None)
        if node[0] != "C" or _ids(node) >= self.n_c:
            self.viol("T-STEP", f"accept by {node}, not a client")
            return
        i = _ids(node)
        self._in_step(node, "accept")
        acc = self.accepted[i]
        if r == 0 or r > self.R:
            self.viol("R-15", f"{node} accepts a model of round {r} outside 1..R", node=node)
            return
        if r < len(acc):
            self.viol("R-15", f"{node} accepts a second model for round {r}", node=node)
            return
        if r > len(acc):
            self.viol("R-15", f"{node} accepts round {r} before round {len(acc)}", node=node)
        if (node, frm) not in self.got_announce and not self._received(node, "announce", frm, r, None):
            self.viol("R-15", f"{node} accepts from {frm} without an announce from it", node=node)
        if frm[0] == "A" and _ids(frm) < self.n_a and _ids(frm) not in self.byz:
            mine = self.agg_by.get((_ids(frm), r))
            if mine != model:
                self.viol(
                    "I-3",
                    f"{node} accepts model {model[:12]} from {frm}, "
                    f"which made {str(mine)[:12]} for round {r}",
                    node=node,
                )
        elif (r, model) not in self.agg_models:
            # a Byzantine aggregator may announce a model no honest one made; R-15 lets
            # the client verify it; the trace cannot show the evidence. Informational.
            self.unmatched_accepts = getattr(self, "unmatched_accepts", 0) + 1
        while len(acc) < r:
            acc.append("?")
        acc.append(model)
        self.accept_counts.append((self.line, i, r, ev["count"]))

    # ================================================================================
    # aggregator events
    # ================================================================================
    def on_propose(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd = ev["node"], ev["round"], ev["cluster"], ev["pd"]
        key = (tau, c)
        j = self._honest_cluster_event(ev, key, "propose")
        if j is None:
            return
        if c != j:
            self.viol("R-2", f"{node} proposes for cluster {c}, it coordinates cluster {j}", key=key)
        if tau >= self.R:
            self.viol("R-3", f"{node} proposes for round {tau} >= R", key=key)
            return
        if key in self.proposed:
            self.viol("F-1", f"{node} closes (tau={tau}, c={c}) twice", key=key)
        self.proposed[key] = (pd, self.line)
        clients, members, counts, held = ev["clients"], ev["members"], ev["counts"], ev["held"]
        self.props[pd] = (tau, c, tuple(clients))
        true_members = self.clusters(tau)[c] if c < self.n_a else ()
        if sorted(members) != list(true_members):
            self.viol("S-4", f"members {members} differ from R-2's {list(true_members)}", key=key)
        if len(set(clients)) != len(clients) or not set(clients) <= set(true_members):
            self.viol("S-4", f"proposed set {clients} has non-members or repeats", key=key)
        if clients != sorted(clients):
            self.viol("R-7", f"proposed set {clients} not sorted", key=key)
        if len(clients) < self.q_min:
            self.viol("S-5", f"proposed set of {len(clients)} < q_min = {self.q_min} clients", key=key)
        if len(counts) != len(members) or len(set(members)) != len(members):
            self.viol("F-1", "counts not aligned with members", key=key)
            return
        if not set(held) <= set(members):
            self.viol("F-1", f"held {held} not within members", key=key)
        for i in held:
            if not self._received(node, "submit", f"C{i}", tau, c):
                self.viol("F-1", f"{node} claims to hold C{i}'s submission, never delivered to it", key=key)
        cmap = dict(zip(members, counts, strict=True))
        if not inclusion.close_condition(cmap, held, self.t_c, self.B, self.q_min):
            self.viol("F-1", f"closed without the close condition (counts {counts}, held {held})", key=key)
        want = inclusion.proposed_set(cmap, held, self.t_c, self.B, self.q_min)
        if tuple(sorted(clients)) != want:
            self.viol("F-1", f"proposed {clients}, R-6 gives {list(want)}", key=key)
        self._check_view(j, tau, members, counts, key)
        self._expect("R-7", "propose", tau, c, self.n_a)

    def _check_view(
        self, j: int, tau: int, members: list[int], counts: list[int], key: tuple[int, int]
    ) -> None:
        """F-3 / D-12: the coordinator's counts are the certified proposals of earlier
        rounds containing i for which it holds certificate and proposal."""
        lo = dict.fromkeys(members, 0)
        hi = dict.fromkeys(members, 0)
        for (jj, t, c2), (pd, _md, _l) in self.certified.items():
            if jj != j or t >= tau:
                continue
            e = self.endorsed.get((j, t, c2))
            if e is None or e[0] != pd:
                continue
            cl = self._clients_of(pd)
            if cl is not None:
                for i in cl:
                    if i in lo:
                        lo[i] += 1
                        hi[i] += 1
            else:
                for i in self.clusters(t)[c2]:
                    if i in hi:
                        hi[i] += 1
        for i, n in zip(members, counts, strict=True):
            if n > hi[i]:
                self.viol("F-3", f"count view n(C{i}) = {n} exceeds the D-12 count {hi[i]}", key=key)
            elif n < lo[i]:
                self.viol("F-3", f"count view n(C{i}) = {n} below the D-12 count {lo[i]}", key=key)

    def _honest_cluster_event(self, ev: dict[str, Any], key: tuple[int, int], what: str) -> int | None:
        """Record ``ev`` in the history of its ``(round, cluster)``; if an honest aggregator
        wrote it, place it in that node's current step and return the aggregator's index."""
        self._hist(ev, key)
        j = self._honest_agg(ev["node"])
        if j is not None:
            self._in_step(ev["node"], what)
        return j

    def _clients_of(self, pd: str) -> tuple[int, ...] | None:
        """The set a proposal digest commits to: from the honest coordinator's ``propose``,
        else from an honest ``endorse`` (Byzantine coordinators), else inferred from ghosts."""
        got = self.props.get(pd)
        if got is not None:
            return got[2]
        return self.endorsed_sets.get(pd) or self.inferred.get(pd)

    def on_endorse(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd, md = ev["node"], ev["round"], ev["cluster"], ev["pd"], ev["md"]
        key = (tau, c)
        j = self._honest_cluster_event(ev, key, "endorse")
        if j is None:
            return
        prev = self.endorsed.get((j, tau, c))
        if prev is not None:
            self.viol(
                "S-2",
                f"{node} endorses a second proposal for (tau={tau}, c={c}) (first at line {prev[2]})",
                key=key,
            )
            return
        self.endorsed[(j, tau, c)] = (pd, md, self.line)
        clients = tuple(ev["clients"])
        known = self.props.get(pd)
        first = self.endorsed_sets.setdefault(pd, clients)
        if (known is not None and tuple(known[2]) != clients) or first != clients:
            self.viol(
                "I-2",
                f"{node} endorses {pd[:12]} as set {list(clients)}, another event names another set",
                key=key,
            )
        members = set(self.clusters(tau)[c])
        if not set(clients) <= members or len(set(clients)) != len(clients) or len(clients) < self.q_min:
            self.viol(
                "R-8",
                f"{node} endorses set {list(clients)}: non-members, repeats or fewer than q_min",
                key=key,
            )
        if not self._received(node, "propose", f"A{c}", tau, c):
            self.viol("R-8", f"{node} endorses without a proposal from A{c} delivered", key=key)
        own = self.proposed.get(key)
        if c not in self.byz and own is not None and own[0] != pd:
            self.viol("R-8", f"{node} endorses {pd[:12]}, honest A{c} proposed {own[0][:12]}", key=key)
        if c not in self.byz and own is None:
            self.viol("R-8", f"{node} endorses a proposal honest A{c} never made", key=key)
        old = self.md_of.setdefault(pd, md)
        if old != md:
            self.viol("I-2", f"two masked-sum digests for one proposal {pd[:12]}", key=key)
        self.endorsers.setdefault(pd, set()).add(j)
        self._expect("R-8", "endorse", tau, c, self.n_a)

    def on_equivocation(self, ev: dict[str, Any]) -> None:
        node, tau, c = ev["node"], ev["round"], ev["cluster"]
        key = (tau, c)
        self._hist(ev, key)
        j = self._honest_agg(node)
        if j is None:
            return
        self._in_step(node, "equivocation")
        if ev["first"] == ev["other"]:
            self.viol("R-8", "equivocation with two equal proposals", key=key)
        e = self.endorsed.get((j, tau, c))
        if e is not None and e[0] != ev["first"]:
            self.viol(
                "R-8", f"equivocation: first {ev['first'][:12]} is not the endorsed {e[0][:12]}", key=key
            )
        if c not in self.byz:
            self.viol("R-8", f"{node} reports equivocation by honest A{c}", key=key)

    def on_certify(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd, md = ev["node"], ev["round"], ev["cluster"], ev["pd"], ev["md"]
        key = (tau, c)
        j = self._honest_cluster_event(ev, key, "certify")
        if j is None:
            return
        if (j, tau, c) in self.certified:
            self.viol("R-9", f"{node} certifies (tau={tau}, c={c}) twice", key=key)
            return
        self.certified[(j, tau, c)] = (pd, md, self.line)
        ends = ev["endorsers"]
        if len(set(ends)) != len(ends):
            self.viol("I-2", f"certificate lists an endorser twice: {ends}", key=key)
        if len(set(ends)) < self.quorum:
            self.viol(
                "I-2", f"certificate has {len(set(ends))} < n_a - t_a = {self.quorum} endorsers", key=key
            )
        for e in set(ends):
            if not 0 <= e < self.n_a:
                self.viol("I-2", f"unknown endorser {e}", key=key)
                continue
            if not self._received(node, "endorse", f"A{e}", tau, c):
                self.viol("I-2", f"endorsement of A{e} never delivered to {node}", key=key)
            if e not in self.byz:
                got = self.endorsed.get((e, tau, c))
                if got is None or got[0] != pd or got[1] != md:
                    self.viol(
                        "I-2",
                        f"certificate names honest A{e}, which did not endorse ({pd[:12]}, {md[:12]})",
                        key=key,
                    )
        old = self.md_of.get(pd)
        if old is not None and old != md:
            self.viol("I-2", f"certified md {md[:12]} differs from the endorsed {old[:12]}", key=key)
        pds = self.cert_pds.setdefault(key, {})
        pds.setdefault(pd, self.line)
        if len(pds) > 1:
            others = ", ".join(f"{p[:12]} (line {ln})" for p, ln in pds.items())
            self.viol("S-1", f"two proposals certified for (tau={tau}, c={c}): {others}", key=key)
        info = self.cert_info.setdefault(
            pd,
            {
                "round": tau,
                "cluster": c,
                "pd": pd,
                "md": md,
                "certified_by": [],
                "endorsers": sorted(set(ends)),
            },
        )
        info["certified_by"].append(j)
        cl = self._clients_of(pd)
        if cl is not None:
            self._check_certified_set(tau, c, pd, cl, key)

    def _check_certified_set(
        self, tau: int, c: int, pd: str, cl: tuple[int, ...], key: tuple[int, int]
    ) -> None:
        members = set(self.clusters(tau)[c])
        if not set(cl) <= members or len(set(cl)) != len(cl):
            self.viol("S-4", f"certified set {list(cl)} has non-members of cluster {c} or repeats", key=key)
        if len(cl) < self.q_min:
            self.viol("S-5", f"certified set of {len(cl)} < q_min clients", key=key)
        owners = self.__dict__.setdefault("_owner", {})
        for i in cl:
            o = owners.setdefault((tau, i), pd)
            if o != pd:
                self.viol("P-2", f"C{i} of round {tau} is in two certified sets", key=key)

    def on_release(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd = ev["node"], ev["round"], ev["cluster"], ev["pd"]
        key = (tau, c)
        j = self._honest_cluster_event(ev, key, "release")
        if j is None:
            return
        prev = self.released.get((j, tau, c))
        if prev is not None:
            self.viol(
                "S-3", f"{node} releases twice for (tau={tau}, c={c}) (first at line {prev[1]})", key=key
            )
            return
        self.released[(j, tau, c)] = (pd, self.line)
        cert = self.certified.get((j, tau, c))
        if cert is None or cert[0] != pd:
            self.viol("S-3", f"{node} releases for {pd[:12]} without holding its certificate", key=key)
        e = self.endorsed.get((j, tau, c))
        if e is None or e[0] != pd:
            self.viol("S-3", f"{node} releases for {pd[:12]} without holding that proposal (R-10)", key=key)
        self.releasers.setdefault(pd, set()).add(j)
        self._expect("R-10", "release", tau, c, self.n_a)

    def on_reconstruct(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd = ev["node"], ev["round"], ev["cluster"], ev["pd"]
        key = (tau, c)
        j = self._honest_cluster_event(ev, key, "reconstruct")
        if j is None:
            return
        if (j, tau, c) in self.recon:
            self.viol("R-11", f"{node} reconstructs (tau={tau}, c={c}) twice", key=key)
            return
        cert = self.certified.get((j, tau, c))
        if cert is None or cert[0] != pd:
            self.viol("P-2", f"{node} reveals the sum of {pd[:12]}, not certified at {node}", key=key)
        e = self.endorsed.get((j, tau, c))
        if e is None or e[0] != pd:
            self.viol("I-2", f"{node} reconstructs without holding the proposal {pd[:12]}", key=key)
        sup, wrong = ev["support"], ev["wrong"]
        if self.obligations is not None:
            res = self.obligations.for_reconstruction(ev["size"], sup)
            if res is not None and res.status != "proved":
                self.viol(
                    "P-1", f"Z3 {res.status}: masks do not cancel for this decoding: {res.detail}", key=key
                )
        if len(set(sup)) != len(sup) or len(set(sup)) != self.quorum:
            self.viol("I-2", f"decoding support {sup} is not {self.quorum} distinct releases", key=key)
        if set(sup) & set(wrong):
            self.viol(
                "I-2", f"aggregators both in support and wrong: {sorted(set(sup) & set(wrong))}", key=key
            )
        for s in set(sup) | set(wrong):
            if not 0 <= s < self.n_a:
                self.viol("I-2", f"unknown releaser {s}", key=key)
                continue
            if not self._received(node, "release", f"A{s}", tau, c):
                self.viol("I-2", f"release of A{s} never delivered to {node}", key=key)
            if s not in self.byz and s in sup:
                r = self.released.get((s, tau, c))
                if r is None or r[0] != pd:
                    self.viol(
                        "I-2", f"support names honest A{s}, which did not release for {pd[:12]}", key=key
                    )
        for s in wrong:
            if s not in self.byz and 0 <= s < self.n_a:
                self.viol("I-1", f"{node} declares honest A{s}'s release wrong", key=key)
        size = ev["size"]
        if size < self.q_min:
            self.viol("S-5", f"revealed sum of {size} < q_min clients", key=key)
        old = self.results.setdefault(pd, ev["result"])
        if old != ev["result"]:
            self.viol("I-1", f"two honest aggregators decoded different results for {pd[:12]}", key=key)
        self.recon[(j, tau, c)] = (pd, ev["result"], self.line)
        self.recon_by_round[j].setdefault(tau, set()).add(c)
        cl = self._clients_of(pd)
        if cl is not None and len(cl) != size:
            self.viol("I-2", f"size {size} differs from the proposal's {len(cl)} clients", key=key)
        g = ev.get("ghost")
        if g is not None:
            self._check_p1(tau, c, pd, cl, size, g["sum"], key)
        info = self.cert_info.get(pd)
        if info is not None:
            info.setdefault("reconstructed_by", []).append(j)
            info["size"] = size
            info.setdefault("supports", {})[node] = sorted(sup)

    def _check_p1(
        self, tau: int, c: int, pd: str, cl: tuple[int, ...] | None, size: int, b64: str, key: tuple[int, int]
    ) -> None:
        """P-1 with ghost fields: the revealed sum is sum x_i over the certified set."""
        try:
            total = from_b64(b64)
        except ValueError:
            self.viol("P-1", "ghost sum is not base64 of uint32s", key=key)
            return
        if cl is not None:
            xs = [self._x_of(tau, i) for i in cl]
            if any(x is None for x in xs):
                return  # some submission without ghost fields
            s = self._vsum(xs)  # type: ignore[arg-type]
            if s.shape != total.shape or not np.array_equal(s, total % P):
                self.viol("P-1", f"revealed sum != sum of x_i over {list(cl)} (mod P)", key=key)
            return
        # Byzantine coordinator: the proposal's set is not in the trace; find the subsets
        # of the submissions to this cluster whose updates sum to the revealed sum.
        cand = sorted(i for (t, i), s in self.subs.items() if t == tau and s[0] == c)
        if comb(len(cand), size) > SUBSET_SEARCH_LIMIT:
            return
        xs_opt = {i: self._x_of(tau, i) for i in cand}
        xs_all = {i: x for i, x in xs_opt.items() if x is not None}
        if len(xs_all) != len(xs_opt):
            return
        found = [
            sub
            for sub in combinations(cand, size)
            if np.array_equal(self._vsum([xs_all[i] for i in sub]), total % P)
        ]
        if not found:
            self.viol("P-1", f"no {size} submitted updates of cluster {c} sum to the revealed sum", key=key)
        elif len(found) == 1:
            self.inferred[pd] = found[0]
            self._check_certified_set(tau, c, pd, found[0], key)

    def _vsum(self, xs: list[np.ndarray]) -> np.ndarray:
        acc = np.zeros(self.dim, dtype=np.uint64)
        for x in xs:
            if x.shape != acc.shape:
                return np.full(1, P + 1, dtype=np.uint64)
            acc += x
        return acc % P

    def on_aggregate(self, ev: dict[str, Any]) -> None:
        node, r, clusters, model, prev = ev["node"], ev["round"], ev["clusters"], ev["model"], ev["prev"]
        self._hist(ev, None)
        j = self._honest_agg(node)
        if j is None:
            return
        self._in_step(node, "aggregate")
        chain = self.models[j]
        tau = r - 1
        if r > self.R or r < 1:
            self.viol("I-3", f"{node} produces a model for round {r} outside 1..R", node=node)
            return
        if tau != len(chain) - 1:
            self.viol("I-3", f"{node} produces round {r} while in round {len(chain) - 1}", node=node)
        elif prev != chain[-1]:
            self.viol(
                "I-3", f"{node}'s model for round {r} is not built on its own previous model", node=node
            )
        if len(set(clusters)) != len(clusters) or len(set(clusters)) < self.quorum:
            self.viol(
                "I-3", f"{node} aggregates {len(set(clusters))} < n_a - t_a distinct clusters", node=node
            )
        have = self.recon_by_round[j].get(tau, set())
        missing = sorted(set(clusters) - have)
        if missing:
            self.viol("I-2", f"{node} aggregates clusters {missing} it has not reconstructed", node=node)
        if set(clusters) != have and not missing:
            self.viol(
                "I-3",
                f"{node} aggregates {sorted(clusters)}, R-13 takes all it holds: {sorted(have)}",
                node=node,
            )
        if ev["rule"] != self.rule:
            self.viol("I-3", f"{node} uses rule {ev['rule']!r}, configured {self.rule!r}", node=node)
        chain.append(model)
        self.agg_by[(j, r)] = model
        self.agg_models.setdefault((r, model), j)
        self._expect("R-14", "announce", r, None, self.n_c)

    # ================================================================================
    # end
    # ================================================================================
    def on_end(self, ev: dict[str, Any]) -> None:
        self._close_step()
        self.step_node = None
        self.ended = True
        self.end = ev
        self.end_line = self.line

    def _finish(self) -> None:
        rep = self.rep
        end = self.end
        self.line = getattr(self, "end_line", rep.lines)
        done_aggs = {f"A{j}": len(self.models[j]) - 1 for j in self.honest_aggs}
        done_clients = {f"C{i}": len(self.accepted[i]) - 1 for i in range(self.n_c)}
        crashed = set(self.crashed_at)
        byz_ok = len(self.byz) <= self.t_a
        crash_ok = len(self.crashed_cfg | {_ids(c) for c in crashed}) <= self.t_c
        live: dict[str, Any] = {
            "status": end["status"] if end else None,
            "faults_within_bounds": byz_ok and crash_ok,
            "byzantine": sorted(self.byz),
            "crashed": sorted(crashed),
            "rounds_done": {**done_aggs, **done_clients},
        }
        if end is None:
            self.viol("T-END", "the trace has no end event (truncated?)")
        else:
            for name, n in {**done_aggs, **done_clients}.items():
                claimed = end["rounds_done"].get(name)
                if claimed is not None and claimed != n:
                    self.viol("T-END", f"end says {name} completed {claimed} rounds, the trace shows {n}")
        in_flight = [
            mid
            for mid, m in self.msgs.items()
            if mid not in self.delivered
            and not (m[1][0] == "C" and m[1] in crashed)
            and m[0] not in crashed  # a crashed client is not correct: its sends may be lost (§1)
            and not (m[1][0] == "A" and _ids(m[1]) in self.byz)
            and not (m[0][0] == "A" and _ids(m[0]) in self.byz)
        ]
        live["undelivered_between_correct_nodes"] = len(in_flight)
        behind_aggs = {n: d for n, d in done_aggs.items() if d < self.R}
        behind_clients = {n: d for n, d in done_clients.items() if d < self.R and n not in crashed}
        live["behind"] = {**behind_aggs, **behind_clients}
        status = end["status"] if end else None
        if status in ("complete", "stalled") and in_flight:
            self.viol(
                "L-3",
                f"end claims quiescence ({status}) with {len(in_flight)} messages "
                f"between correct nodes in flight (e.g. msg {in_flight[0]})",
            )
        if status == "complete" and (behind_aggs or behind_clients):
            self.viol(
                "L-3", f"end says complete but {sorted({**behind_aggs, **behind_clients})} did not finish"
            )
        if status in ("complete", "stalled") and byz_ok and crash_ok:
            for name, d in behind_aggs.items():
                self.viol(
                    "L-1",
                    f"honest {name} produced {d} < R = {self.R} models; faults within bounds",
                    node=name,
                )
            for name, d in behind_clients.items():
                self.viol(
                    "L-2",
                    f"correct {name} accepted {d} < R = {self.R} models; faults within bounds",
                    node=name,
                )
            live["verdict"] = "live" if not (behind_aggs or behind_clients) else "liveness violated"
        elif status == "step_limit":
            live["verdict"] = "inconclusive (step limit)"
        elif status in ("complete", "stalled"):
            live["verdict"] = "fault bounds exceeded: " + (
                "complete anyway" if not (behind_aggs or behind_clients) else "stall expected"
            )
        else:
            live["verdict"] = "unknown (no end event)"
        if end:
            live["detail"] = end["detail"]
        rep.liveness = live
        # fairness (F-3): true inclusion counts from certified sets
        incl = dict.fromkeys(range(self.n_c), 0)
        unknown: list[str] = []
        for key, pds in sorted(self.cert_pds.items()):
            for pd in pds:
                cl = self._clients_of(pd)
                if cl is None:
                    unknown.append(f"(tau={key[0]}, c={key[1]})")
                    continue
                for i in cl:
                    if i in incl:
                        incl[i] += 1
        correct = [i for i in range(self.n_c) if f"C{i}" not in crashed]
        vals = [incl[i] for i in correct]
        # client count views never exceed the true counts (upper bound: possibly certified)
        possible: dict[tuple[int, int], list[tuple[int, ...] | None]] = {}
        for key, pds in self.cert_pds.items():
            possible.setdefault(key, []).extend(self._clients_of(pd) for pd in pds)
        for pd, ends in self.endorsers.items():
            if len(ends) + len(self.byz) >= self.quorum:
                got = self.props.get(pd)
                if got is not None and (got[0], got[1]) not in self.cert_pds:
                    possible.setdefault((got[0], got[1]), []).append(self._clients_of(pd))
        rounds_with: dict[int, list[int]] = {}
        for (t, c), cls in possible.items():
            members = self.clusters(t)[c]
            who: set[int] = set()
            for cl in cls:
                who |= set(members if cl is None else cl)
            for i in who:
                rounds_with.setdefault(i, []).append(t)
        for line, i, r, count in self.accept_counts:
            ub = sum(1 for t in rounds_with.get(i, ()) if t < r)
            if count > ub:
                self.line = line
                self.viol(
                    "F-3",
                    f"C{i} counts {count} inclusions up to round {r - 1}, at most {ub} certified",
                    node=f"C{i}",
                )
        rep.fairness = {
            "inclusions": {f"C{i}": incl[i] for i in range(self.n_c)},
            "spread_correct": (max(vals) - min(vals)) if vals else 0,
            "min_correct": min(vals) if vals else 0,
            "max_correct": max(vals) if vals else 0,
            "unknown_sets": unknown,
            "delta": self.delta,
            "noise_multiplier": self.z,
            "epsilon": {f"C{i}": round(epsilon(incl[i], self.z, self.delta), 4) for i in range(self.n_c)},
            "epsilon_correct": [
                min((epsilon(v, self.z, self.delta) for v in vals), default=0.0),
                max((epsilon(v, self.z, self.delta) for v in vals), default=0.0),
            ],
            "epsilon_note": "RDP of k Gaussian mechanisms, k a/(2 z^2), converted by dp-accounting "
            "(checker/privacy.py)",
        }
        rep.certificates = [
            {**info, "clients": list(self._clients_of(pd) or []) or None}
            for pd, info in self.cert_info.items()
        ]
        # P-5, P-6 (checker/privacy.py): fresh noise per submission, reported epsilon
        ghost = [privacy.GhostSubmission(i, t, s[2], s[3]) for (t, i), s in self.subs.items() if s[2]]
        released = [cl for pd in self.releasers if (cl := self._clients_of(pd)) is not None]
        for v in privacy.violations(self.header, ghost, released, end):
            line = getattr(self, "end_line", rep.lines) if v.line is None else v.line
            rep.violations.append(Violation(v.prop, line, v.message))


def check(path: str | Path, signatures: str = "all", delta: float = 1e-5) -> Report:
    return Checker(signatures=signatures, delta=delta).check_file(path)
