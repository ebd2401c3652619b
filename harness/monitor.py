"""Online monitors: the adapter interface between the harness and the trace checker.

Every monitor sees the trace one event at a time (``feed``), may look at the run after
each action (``after_step``) and gives its end-of-run verdict (``finish``, where
liveness is judged). Each returns the :class:`Violation` s it found.

Three monitors exist:

- :class:`CheckerMonitor` -- ``checker/`` (replay against the model, schema, signatures,
  every trace property of ``specs/properties.md``) fed online: each new trace event
  goes through :meth:`checker.replay.Checker.feed` as the run writes it, and after every
  action the step is closed (:meth:`~checker.replay.Checker.end_step`), so step checks
  are decided at once; liveness and the other end-of-trace checks come at ``finish``.
- :class:`WhiteBoxOracle` -- what only the harness can check because it owns the run:
  mask cancellation (P-1) and the client signatures of entries (I-2) for sets proposed
  by *Byzantine* coordinators (whose proposals leave no trace event), what honest
  aggregators endorsed from such proposals (S-4, S-5), coordinators' count views against
  their actual state (F-3 / D-12), that clients accept only models some aggregator
  certified and train on the body of the model they accepted (I-3, R-15e; the harness
  knows which announcements it forged), and that a fair
  completion reaches quiescence within its step budget (L-3);
- :class:`CoverageMonitor` -- judges nothing: counts, per rule ID, how often each
  model action and R-6 branch fired (:func:`asfl.model.actions.event_rules`) and which
  guard refused each dropped message, into the world's coverage counter (P-style
  coverage; the campaign's report and its coverage test read it).
"""

from __future__ import annotations

import base64
import os
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from asfl.harness.coverage import DELIVERED, OUTCOME
from asfl.impl.client import Client
from asfl.impl.messages import model_digest, proposal_digest
from asfl.model import actions, protocol
from asfl.model.params import Params
from asfl.model.types import Proposal, View

if TYPE_CHECKING:  # pragma: no cover
    from asfl.harness.world import World

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
    from asfl.model.shuffle import cluster_assignment  # independent of impl

    return cluster_assignment(cfg["clients"], cfg["aggregators"], bytes.fromhex(cfg["genesis"]), tau)


class WhiteBoxOracle:
    """Checks that need the run itself (see the module docstring); none of them can be
    decided from the trace, so none duplicates the checker."""

    def __init__(self) -> None:
        self._seen = 0
        self.submits: dict[tuple[int, int], dict[str, Any]] = {}
        self.models: dict[int, set[str]] = defaultdict(set)

    def _accepted(self, world: World, node: str, tau: int, c: int) -> Any:
        agg = world.built.aggregators.get(node)
        st = agg.clusters.get((tau, c)) if agg is not None else None
        return None if st is None else st.accepted

    def _signed_set(self, tau: int, c: int, clients: list[int], pd: bytes) -> bool:
        """I-2: ``pd`` commits to these clients' signed round-``tau`` submissions, i.e. the
        proposal's entries are ``(i, sd_i)`` of the ``submit`` events (the aggregator keeps
        only the set and ``pd`` once its round is aggregated, D-17)."""
        entries = []
        for client in clients:
            sub = self.submits.get((client, tau))
            if sub is None:
                return False
            entries.append((client, bytes.fromhex(sub["sd"])))
        return proposal_digest(tau, c, entries) == pd

    def _endorse(self, world: World, ev: dict[str, Any]) -> list[Violation]:
        """S-4, S-5 on what an honest aggregator endorsed (Byzantine proposals included)."""
        tau, c = ev["round"], ev["cluster"]
        acc = self._accepted(world, ev["node"], tau, c)
        if acc is None:
            return []
        clients = acc.clients
        members = set(_members(world.events[0]["config"], tau)[c])
        out = []
        if not self._signed_set(tau, c, clients, acc.pd):
            out.append(
                Violation(
                    "I-2",
                    f"{ev['node']} endorsed ({tau}, {c}) with an entry that is not "
                    "its client's signed submission (R-8)",
                    ev["seq"],
                    "oracle",
                )
            )
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
        """D-12 on the coordinator's real state: the model's count view
        (:func:`asfl.model.protocol.count_view`, the checker's too) over the views the
        implementation holds (its accepted proposals and certificates)."""
        node, tau = ev["node"], ev["round"]
        agg = world.built.aggregators.get(node)
        if agg is None:
            return []
        views = []
        for (t, c), st in agg.clusters.items():
            if st.accepted is None:
                continue
            q = Proposal(t, c, tuple(st.accepted.clients))
            certified = st.certificate is not None and st.certificate.pd == st.accepted.pd
            views.append(View(first=q, cert=q if certified else None))
        view = protocol.count_view(views, tau)
        want = {i: view.get(i, 0) for i in ev["members"]}
        got = dict(zip(ev["members"], ev["counts"], strict=False))
        if got != want:
            return [
                Violation(
                    "F-3",
                    f"{node}'s count view for ({tau}, {ev['cluster']}) is {got}, "
                    f"the model's D-12 over its state gives {want}",
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
            elif kind == "attest":
                out += self._attest(world, ev)
            elif kind == "reconstruct":
                out += self._reconstruct(world, ev)
            elif kind == "endorse":
                out += self._endorse(world, ev)
            elif kind == "propose":
                out += self._counts(world, ev)
            elif kind == "accept":
                out += self._trained_on(world, ev)
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

    @staticmethod
    def _trained_on(world: World, ev: dict[str, Any]) -> list[Violation]:
        """I-3 / R-15e on the client's real state: the body it now trains on has the digest
        its ``accept`` names (the trace names the header's model, so a client that skipped
        R-15e's body check would otherwise train on a forged body unseen). Checked when the
        accept is the client's newest (a step may accept kept bodies after it)."""
        client = world.sim.nodes.get(ev["node"])
        if not isinstance(client, Client) or client.state.latest != ev["round"]:
            return []
        if model_digest(client.state.model).hex() == ev["model"]:
            return []
        return [
            Violation(
                "I-3",
                f"{ev['node']} trains on a round-{ev['round']} body whose digest is not the "
                f"accepted model {ev['model'][:12]} (R-15e)",
                ev["seq"],
                "oracle",
            )
        ]

    def _legit(self, world: World, tau: int) -> set[str]:
        """Digests of round-``tau`` models some aggregator computed by R-13 (the harness's
        Byzantine cores included: their forged messages are the mutations, not the core)."""
        legit = set(self.models[tau])
        for agg in world.built.aggregators.values():  # round 0: the genesis model
            if tau == 0 and 0 in agg.models:
                legit.add(model_digest(agg.models[0]).hex())
        for b in world.byz.values():
            legit |= {model_digest(m).hex() for r, m in b.core.models.items() if r == tau}
        return legit

    def _attest(self, world: World, ev: dict[str, Any]) -> list[Violation]:
        """I-3 / R-17 on what an honest aggregator attested for any producer (Byzantine ones
        included, whose offers leave no event): a model some aggregator computed, extending
        one some aggregator computed (the genesis model for round 1)."""
        tau = ev["round"]
        if ev["model"] in self._legit(world, tau) and ev["prev"] in self._legit(world, tau - 1):
            return []
        return [
            Violation(
                "I-3",
                f"{ev['node']} attested {ev['producer']}'s round-{tau} model {ev['model'][:12]} "
                f"(prev {ev['prev'][:12]}) that is not R-13 of certified results on a computed prev (R-17)",
                ev["seq"],
                "oracle",
            )
        ]

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
        clients = st.accepted.clients
        if not self._signed_set(tau, c, clients, st.accepted.pd):
            return [
                Violation(
                    "I-2",
                    f"{ev['node']}'s set for ({tau}, {c}) holds an entry that is not "
                    "its client's signed submission",
                    ev["seq"],
                    "oracle",
                )
            ]
        total = np.zeros(world.cfg.dim, dtype=np.uint64)
        for client in clients:
            total = (total + _vec(self.submits[(client, tau)]["ghost"]["x"])) % P
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
        """L-3 / L-1 beyond the trace: the completion was fair (every pending message is
        eventually delivered), so not reaching quiescence within its step budget is a
        livelock. The trace alone cannot tell (the checker calls ``step_limit``
        inconclusive); the harness knows the schedule it ran."""
        if world is None or world.status != "step_limit":
            return []
        return [
            Violation(
                "L-3",
                f"fair completion did not reach quiescence within its step budget "
                f"({len(world.actions)} actions; livelock)",
                None,
                "oracle",
            )
        ]


#: which guard a drop reason names (the implementation's reasons, R-3): first match wins;
#: a tuple key matches a reason holding all its parts
DROP_CLAUSES: tuple[tuple[str | tuple[str, ...], str], ...] = (
    (("invalid offer", "valid attestations <"), "R-17.prev"),  # the prev's attestations (R-17b)
    ("valid attestations <", "R-15.attestations"),
    ("uncertified announce", "R-15.sets"),
    ("body digest does not match", "R-15.body"),
    ("(R-17b)", "R-17.prev"),
    ("invalid offer", "R-17.evidence"),
    ("duplicate offer", "R-17.duplicate"),
    ("not its coordinator", "R-8.coordinator"),
    ("non-member or a client twice", "R-8.members"),
    ("< q_min", "R-8.q_min"),
    ("counts do not match", "R-8.counts"),
    ("my ciphertext does not match", "R-8.ct-hash"),
    ("bad client signature", "R-6.client-sig"),
    ("bad signature on submission digest", "R-8.client-sig"),
    ("does not decrypt", "R-8.decrypt"),
    ("not a field vector", "R-8.decrypt"),
    ("second proposal", "R-8.second"),
    ("duplicate proposal", "R-8.duplicate"),
    ("already endorsed", "R-9.duplicate"),
    ("already released", "R-11.duplicate"),
    ("already closed", "R-6.closed"),
    ("not in my cluster", "R-2.cluster"),
    ("duplicate submission", "R-6.duplicate"),
    ("does not match its digest", "R-5.ct-hash"),
    ("duplicate announce", "R-15.duplicate"),
    ("bad signature", "R-3.signature"),
    ("malformed", "R-3.malformed"),
    ("unknown sender", "R-3.sender"),
    ("accept", "R-3.kind"),
    ("outside", "R-3.round"),
)


@lru_cache(maxsize=1 << 12)
def drop_clause(reason: str) -> str:
    """The guard a drop reason names (:data:`DROP_CLAUSES`), ``R-3.other`` if none
    (memoised: a run's reasons repeat, each a scan of every clause)."""
    return next(
        (
            tag
            for key, tag in DROP_CLAUSES
            if (key in reason if isinstance(key, str) else all(k in reason for k in key))
        ),
        "R-3.other",
    )


class CoverageMonitor:
    """Counts the rule IDs each event exercises into ``coverage`` (see the module
    docstring), and what honest receivers did with each probe's messages
    (``probe_of``: message id -> probe; ``outcome:<probe>:<guard tag>`` per drop,
    ``outcome:<probe>:delivered`` per delivery to an honest node); never reports a
    violation."""

    def __init__(
        self,
        params: Params,
        coverage: Counter[str],
        probe_of: Mapping[int, str] | None = None,
        honest: Collection[str] = (),
    ) -> None:
        self.params, self.coverage = params, coverage
        self.probe_of: Mapping[int, str] = probe_of if probe_of is not None else {}
        self.honest = honest
        self.trained_on: dict[str, int] = {}  # client -> model round of its current step

    def feed(self, ev: dict[str, Any]) -> list[Violation]:
        kind = ev["kind"]
        if kind == "deliver":
            probe = self.probe_of.get(ev["msg"])
            if probe is not None and ev["node"] in self.honest:
                self.coverage[f"{OUTCOME}{probe}:{DELIVERED}"] += 1
            return []
        if kind in ("send", "header", "end"):
            return []
        node = ev.get("node", "")
        if kind == "local_step":
            self.trained_on[node] = ev["model_round"]
        for tag in actions.event_rules(self.params, ev, self.trained_on.get(node)):
            self.coverage[tag] += 1
        if kind == "drop":
            tag = drop_clause(ev["reason"])
            self.coverage[tag] += 1
            probe = self.probe_of.get(ev.get("msg"))  # type: ignore[arg-type]
            if probe is not None:
                self.coverage[f"{OUTCOME}{probe}:{tag}"] += 1
        return []

    def after_step(self, world: World) -> list[Violation]:
        return []

    def finish(self, world: World | None) -> list[Violation]:
        return []


def default_monitors(world: World | None = None) -> list[Monitor]:
    """The checker, fed online, the white-box oracles and (with a world) the coverage
    counter. ``ASFL_HARNESS_CHECKER=0`` leaves the checker out (white-box oracles only:
    faster, much weaker)."""
    monitors: list[Monitor] = []
    if os.environ.get("ASFL_HARNESS_CHECKER", "1") != "0":
        monitors.append(CheckerMonitor())
    monitors.append(WhiteBoxOracle())
    if world is not None:
        monitors.append(CoverageMonitor(world.params, world.coverage, world.probe_of, world.sim.honest))
    return monitors


class CheckerMonitor:
    """``checker.replay.Checker`` fed online (see the module docstring).

    The header starts the checker; every later event is fed as the run writes it (its
    line is ``seq + 1``), and the violations it reveals are reported at that event.
    After every action the harness has run one whole step (or only Byzantine sends, or
    nothing), so :meth:`after_step` closes the step and its step checks (prescribed
    sends, dropped or malformed triggers) are reported at that action, not one later.
    ``finish`` runs the end-of-trace checks (T-END, liveness, F-3 count bounds).

    A violation's ``seq`` is the event the checker attributes it to (``line - 1``; the
    trigger of the step for step checks), ``None`` for end-of-trace checks without one.
    An unusable event (schema) becomes a ``T-SCHEMA`` violation and stops the checker.
    """

    def __init__(self, signatures: str = "all") -> None:
        from asfl.checker.replay import Checker, Unusable

        self.checker = Checker(signatures=signatures)
        self._unusable: type[Unusable] = Unusable
        self.started = False
        self.dead = False

    def _convert(self, vs: list[Any]) -> list[Violation]:
        return [Violation(v.prop, v.message, v.line - 1 if v.line > 1 else None, "checker") for v in vs]

    def _guard(self, call: Any, *args: Any) -> list[Violation]:
        if self.dead:
            return []
        try:
            vs = call(*args)
            return self._convert(vs) if vs else []
        except self._unusable as exc:
            self.dead = True
            return [Violation("T-SCHEMA", f"unusable trace: {exc}", exc.line - 1, "checker")]
        except Exception as exc:  # noqa: BLE001 - the checker itself failed
            self.dead = True
            return [Violation("checker-error", f"checker raised {exc!r}", None, "checker")]

    def _start(self, header: dict[str, Any]) -> list[Any]:
        self.checker.start(header)
        return []

    def feed(self, ev: dict[str, Any]) -> list[Violation]:
        if ev["kind"] == "header" and not self.started:
            self.started = True
            return self._guard(self._start, ev)
        return self._guard(self.checker.feed, ev, ev.get("seq", 0) + 1)

    def after_step(self, world: World) -> list[Violation]:
        return self._guard(self.checker.end_step)

    def finish(self, world: World | None) -> list[Violation]:
        def run() -> list[Any]:
            n0 = len(self.checker.rep.violations)
            return self.checker.finish().violations[n0:]

        return self._guard(run)
