"""The campaign's coverage report per rule ID (P / Coyote style).

A campaign counts, into one counter, the rule IDs of the model actions the online
checker fired for each trace event and the R-6 branches of each closing
(:func:`asfl.model.actions.event_rules`), the guard each dropped message failed
(:func:`asfl.harness.monitor.drop_clause`), and each Byzantine probe and replay it
exercised (``probe:<id>``, ``probe:replay:<kind>``), and what honest receivers did with
each probe's messages (``outcome:<id>:<guard tag>`` per drop, ``outcome:<id>:delivered``
per delivery to an honest node; :class:`asfl.harness.monitor.CoverageMonitor`).
:class:`CoverageReport` lays the counter out against what a campaign must exercise:
every rule of :data:`~asfl.model.actions.REQUIRED_RULES`, every probe of the model's
menu (:data:`~asfl.model.actions.PROBES`), and for every probe an honest node must
refuse (:data:`REFUSALS`) a refusal by that guard; the ones left at zero are
:attr:`unexercised`. :attr:`misjudged` lists the probes some honest receiver did not
refuse with the guard they target (dropped for another reason, or absorbed).

:class:`ProbeGuide` is the campaign's coverage-guided choice of the probe each held
message goes out as (P / Coyote style prioritisation): the probe whose coverage item
(:meth:`CoverageReport.exercised`) the campaign has fired least so far.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asfl.model.actions import (
    ANNOUNCE_PROBES,
    BY_ID,
    PROBES,
    REQUIRED_RULES,
    Flight,
    ProbeSend,
    Replay,
    probes_for,
)
from asfl.model.params import Params

PROBE = "probe:"
OUTCOME = "outcome:"
REFUSAL = "refusal:"  # an unexercised entry: a probe never refused by its guard
DELIVERED = "delivered"

#: probe -> the coverage tag of the guard every honest receiver must refuse it with
#: (:func:`asfl.harness.monitor.drop_clause`; a tag also covers its sub-tags, ``R-3`` is
#: any R-3 guard). Probes not listed need no refusal: the honest nodes absorb them (a
#: vote, a release or a set the Byzantine may choose, an omission, an honest copy).
REFUSALS: dict[str, str] = {
    "R-8.coordinator": "R-8.coordinator",
    "R-8.non-member": "R-8.members",
    "R-8.duplicate": "R-8.members",
    "R-8.small": "R-8.q_min",
    "R-8.counts": "R-8.counts",
    "R-8.client-sig": "R-8.client-sig",
    "R-8.ct-hash": "R-8.ct-hash",
    "R-8.undecryptable": "R-8.client-sig",  # h_j is signed: the signature guard comes first
    "R-8.equivocation": "R-8.second",
    "R-15c.sets": "R-15.sets",
    "R-15c.small": "R-15.sets",
    "R-15c.rule": "R-15.sets",
    "R-15d.attesters": "R-15.attestations",
    "R-15d.distinct": "R-15.attestations",
    "R-15d.forged": "R-15.attestations",
    "R-15e.body": "R-15.body",
    "R-17b.prev": "R-17.prev",
    "R-17c.clusters": "R-17.evidence",
    "R-17c.certificate": "R-17.evidence",
    "R-17c.entries": "R-17.evidence",
    "R-17c.masked-sum": "R-17.evidence",
    "R-17c.releases": "R-17.evidence",
    "R-17c.rule": "R-17.evidence",
    "R-3.junk": "R-3",
}


#: the kinds an insider sends itself that its core needs to go on: its own offer, which
#: its core attests, and that attestation (R-17, R-14); honest when sent to itself
SELF_NEEDS = frozenset({"offer", "attest"})

#: probes sent as two messages to one recipient, the honest one and a variant: whichever
#: arrives second must be refused (one refusal per two deliveries)
PAIRS = frozenset({"R-8.equivocation"})


def covers(tag: str, guard: str) -> bool:
    """Whether drop tag ``tag`` is guard ``guard`` or one of its sub-tags."""
    return tag == guard or tag.startswith(guard + ".")


@dataclass(frozen=True)
class CoverageReport:
    rules: dict[str, int]  # rule ID or branch -> times fired (every required one listed)
    probes: dict[str, int]  # probe id -> times sent (every menu entry listed)
    replays: dict[str, int]  # kind of the replayed envelope -> times
    outcomes: dict[str, dict[str, int]]  # probe id -> {"delivered": n, guard tag: drops}

    @classmethod
    def of(cls, counter: Mapping[str, int]) -> CoverageReport:
        rules = {r: 0 for r in REQUIRED_RULES}
        probes = {p.id: 0 for p in PROBES}
        replays: dict[str, int] = {}
        outcomes: dict[str, dict[str, int]] = {}
        for tag, n in counter.items():
            if tag.startswith(PROBE + "replay:"):
                replays[tag.removeprefix(PROBE + "replay:")] = n
            elif tag.startswith(PROBE):
                probes[tag.removeprefix(PROBE)] = n
            elif tag.startswith(OUTCOME):
                probe, _, what = tag.removeprefix(OUTCOME).rpartition(":")
                outcomes.setdefault(probe, {})[what] = n
            else:
                rules[tag] = n
        return cls(
            dict(sorted(rules.items(), key=_rule_order)),
            probes,
            dict(sorted(replays.items())),
            {p: dict(sorted(o.items())) for p, o in sorted(outcomes.items())},
        )

    def refused(self, probe: str) -> int:
        """How many honest receivers refused ``probe`` with the guard it targets."""
        guard = REFUSALS[probe]
        return sum(n for t, n in self.outcomes.get(probe, {}).items() if covers(t, guard))

    def exercised(self, probe: str) -> int:
        """The count of ``probe``'s coverage item: its refusals by the guard it targets if
        it owes one (:data:`REFUSALS`), else the times it was sent."""
        return self.refused(probe) if probe in REFUSALS else self.probes.get(probe, 0)

    @property
    def unexercised(self) -> list[str]:
        """Required rules, menu probes, and refusals owed by a guard that never fired."""
        return (
            [r for r in REQUIRED_RULES if not self.rules.get(r)]
            + [PROBE + p for p, n in self.probes.items() if not n]
            + [REFUSAL + p for p in REFUSALS if not self.refused(p)]
        )

    @property
    def misjudged(self) -> list[str]:
        """Probes some honest receiver did not refuse with the guard they target: their
        deliveries, the refusals by that guard, and the other outcomes."""
        out = []
        for p, guard in REFUSALS.items():
            got = self.outcomes.get(p, {})
            delivered, ok = got.get(DELIVERED, 0), self.refused(p)
            if ok * (2 if p in PAIRS else 1) != delivered:
                other = {t: n for t, n in got.items() if t != DELIVERED and not covers(t, guard)}
                absorbed = delivered - ok - sum(other.values())
                out.append(
                    f"{p}: {delivered} delivered, {ok} refused by {guard}, other {other}, absorbed {absorbed}"
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "probes": self.probes,
            "replays": self.replays,
            "outcomes": self.outcomes,
            "unexercised": self.unexercised,
            "misjudged": self.misjudged,
        }

    def lines(self) -> list[str]:
        """The report as text: one rule or probe per line, with its count."""
        out = ["coverage per rule ID (times fired):"]
        out += [f"  {r:<22} {n:>9}" + ("  NEVER" if not n else "") for r, n in self.rules.items()]
        out.append("Byzantine probes (times sent):")
        by_id = {p.id: p for p in PROBES}
        for pid, n in self.probes.items():
            p = by_id.get(pid)
            what = f"  ({p.rule}: {p.breaks})" if p else ""
            out.append(f"  {pid:<22} {n:>9}" + ("  NEVER" if not n else "") + what)
            if pid in REFUSALS:
                got = self.outcomes.get(pid, {})
                out.append(
                    f"  {'':<22} {self.refused(pid):>9}  of {got.get(DELIVERED, 0)} honest deliveries "
                    f"refused by {REFUSALS[pid]}"
                )
        out.append(
            "replays (kind of the envelope re-sent): "
            + (", ".join(f"{k} {n}" for k, n in self.replays.items()) or "none")
        )
        missing = self.unexercised
        out.append(
            f"unexercised: {', '.join(missing)}" if missing else "every required rule and probe exercised"
        )
        out += [f"MISJUDGED {m}" for m in self.misjudged]
        return out


@dataclass
class ProbeGuide:
    """The coverage-guided choice of the probe each held message goes out as (P / Coyote
    style prioritisation), for one example of a campaign.

    ``prior``: each probe's coverage item (:meth:`CoverageReport.exercised`) as counted by
    the campaign's earlier examples -- read once, when the example starts, so that an
    example replays deterministically; ``aimed``: the probes this guide chose in this
    example, each on a message that can fire its item; ``replayed``: the kinds of the
    envelopes replayed so far (:meth:`replay`). A held message (the first one of
    the first scripted Byzantine aggregator holding one) goes out

    - honestly if it is an offer or attestation to a node that is not honest (the
      sender itself, :data:`SELF_NEEDS`, or another Byzantine aggregator);
    - honestly if it is an offer to one of the ``t_a`` honest attesters of its round
      (rotating with the round; :meth:`reserved`): with its own attestation that makes
      the ``t_a + 1`` its core needs to announce (R-17, R-14), so that its announcements
      exist for the R-15 probes and its next round's offer for the R-17 ones (an
      aggregator offers round ``tau + 1`` only once round ``tau`` is attested); its other
      offers are probed, and in the last round all of them once every announcement
      probe was chosen;
    - otherwise as the probe enabled on it (:func:`~asfl.model.actions.probes_for`; to a
      node that is not honest, only one that owes no refusal: no honest guard can refuse
      it there, while a probe the honest nodes absorb is exercised by being sent) whose
      item the campaign has fired least (``prior + aimed``): an item no earlier example
      fired comes first; among equals, a probe of this kind before one of any kind
      (``R-3.junk``, ``omit``, ``honest``: a kind with few messages, such as a
      coordinator's proposals or an insider's offers, is not spent on what every kind
      can fire), then menu order rotated by ``turn``.

    The choice only steers which enabled probe is sent; every coverage count is still
    what the implementation did and the online checker judged."""

    params: Params
    prior: Mapping[str, int] = field(default_factory=dict)
    replayed: set[str] = field(default_factory=set)  # kinds replayed (campaign, this example)
    aimed: Counter[str] = field(default_factory=Counter)
    _scanned: dict[str, int] = field(default_factory=dict)  # Byzantine -> received entries read

    @classmethod
    def of(cls, params: Params, campaign: Mapping[str, int]) -> ProbeGuide:
        """A guide whose prior is a campaign's coverage counter (its earlier examples)."""
        report = CoverageReport.of(campaign)
        return cls(params, {p.id: report.exercised(p.id) for p in PROBES}, set(report.replays))

    def honest(self, node: str) -> bool:
        return node[0] == "C" or int(node[1:]) not in self.params.byzantine

    def attesters(self, byz: str, tau: int | None) -> tuple[str, ...]:
        """The ``t_a`` honest aggregators ``byz`` sends its round-``tau`` offer honestly to."""
        others = [f"A{j}" for j in self.params.honest if f"A{j}" != byz]
        if not others:
            return ()
        start = tau or 0
        return tuple(others[(start + i) % len(others)] for i in range(min(self.params.t_a, len(others))))

    def reserved(self, byz: str, offer: Flight) -> bool:
        """Whether ``offer`` goes to one of its round's attesters (:meth:`attesters`) while
        its attestation can still help: a round before the last (its next offer follows
        it, R-17), or the last one while some announcement probe was never chosen (the
        round's announcements follow it, R-14)."""
        if offer.dst not in self.attesters(byz, offer.tau):
            return False
        if offer.tau is None or offer.tau < self.params.R:
            return True
        return any(not self.prior.get(q.id, 0) + self.aimed[q.id] for q in ANNOUNCE_PROBES)

    def choose(self, held: Mapping[str, Sequence[Flight]], turn: int = 0) -> ProbeSend:
        """The probe the first held message goes out as (``held``: ``Env.held``)."""
        b = next(b for b in sorted(held) if held[b])
        m = held[b][0]
        honest = self.honest(m.dst)
        if (m.kind in SELF_NEEDS and not honest) or (m.kind == "offer" and self.reserved(b, m)):
            return ProbeSend(b, 0, m, BY_ID["honest"])
        menu = [q for q in probes_for(self.params, m) if honest or q.id not in REFUSALS]

        def count(q: int) -> int:
            pid = menu[q].id
            return self.prior.get(pid, 0) + self.aimed[pid]

        k = min(range(len(menu)), key=lambda q: (count(q), menu[q].kind == "*", (q - turn) % len(menu)))
        self.aimed[menu[k].id] += 1
        return ProbeSend(b, 0, m, menu[k])

    def replay(self, received: Mapping[str, Sequence[tuple[str, str]]], turn: int = 0) -> Replay | None:
        """A replay (R-3) of the first envelope received of a kind the campaign never
        replayed, to an honest node (rotating with ``turn``), or ``None``; ``received``:
        each scripted Byzantine aggregator's received (kind, signer) pairs, in order (each
        entry is read once)."""
        for b in sorted(received):
            got = received[b]
            for k in range(self._scanned.get(b, 0), len(got)):
                self._scanned[b] = k + 1
                kind = got[k][0]
                if kind not in self.replayed:
                    self.replayed.add(kind)
                    nodes = [n for n in (*self.params.aggregators, *self.params.client_names) if n != b]
                    to = [n for n in nodes if self.honest(n)]
                    return Replay(b, k, Flight(kind, got[k][1], b, None, None), to[turn % len(to)])
        return None


def _rule_order(item: tuple[str, int]) -> tuple[str, int, str]:
    """R- before D- and the rest, then by number, then by branch name."""
    tag = item[0]
    head, _, branch = tag.partition(".")
    prefix, _, num = head.partition("-")
    return ({"R": "0", "D": "1"}.get(prefix, "2"), int(num) if num.isdigit() else 0, branch)
