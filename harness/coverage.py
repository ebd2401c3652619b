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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asfl.model.actions import PROBES, REQUIRED_RULES

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
                if "@" not in tag:  # "probe:ID@kind": covering_probe's own per-kind counts
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


def _rule_order(item: tuple[str, int]) -> tuple[str, int, str]:
    """R- before D- and the rest, then by number, then by branch name."""
    tag = item[0]
    head, _, branch = tag.partition(".")
    prefix, _, num = head.partition("-")
    return ({"R": "0", "D": "1"}.get(prefix, "2"), int(num) if num.isdigit() else 0, branch)
