"""The campaign's coverage report per rule ID (P / Coyote style).

A campaign counts, into one counter, the rule IDs of the model actions the online
checker fired for each trace event and the R-6 branches of each closing
(:func:`asfl.model.actions.event_rules`), the guard each dropped message failed
(:func:`asfl.harness.monitor.drop_clause`), and each Byzantine probe and replay it
exercised (``probe:<id>``, ``probe:replay:<kind>``). :class:`CoverageReport` lays the
counter out against what a campaign must exercise: every rule of
:data:`~asfl.model.actions.REQUIRED_RULES` and every probe of the model's menu
(:data:`~asfl.model.actions.PROBES`); the ones left at zero are :attr:`unexercised`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asfl.model.actions import PROBES, REQUIRED_RULES

PROBE = "probe:"


@dataclass(frozen=True)
class CoverageReport:
    rules: dict[str, int]  # rule ID or branch -> times fired (every required one listed)
    probes: dict[str, int]  # probe id -> times sent (every menu entry listed)
    replays: dict[str, int]  # kind of the replayed envelope -> times

    @classmethod
    def of(cls, counter: Mapping[str, int]) -> CoverageReport:
        rules = {r: 0 for r in REQUIRED_RULES}
        probes = {p.id: 0 for p in PROBES}
        replays: dict[str, int] = {}
        for tag, n in counter.items():
            if tag.startswith(PROBE + "replay:"):
                replays[tag.removeprefix(PROBE + "replay:")] = n
            elif tag.startswith(PROBE):
                if "@" not in tag:  # "probe:ID@kind": covering_probe's own per-kind counts
                    probes[tag.removeprefix(PROBE)] = n
            else:
                rules[tag] = n
        return cls(dict(sorted(rules.items(), key=_rule_order)), probes, dict(sorted(replays.items())))

    @property
    def unexercised(self) -> list[str]:
        """Required rules and menu probes that never fired."""
        return [r for r in REQUIRED_RULES if not self.rules.get(r)] + [
            PROBE + p for p, n in self.probes.items() if not n
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "probes": self.probes,
            "replays": self.replays,
            "unexercised": self.unexercised,
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
        out.append(
            "replays (kind of the envelope re-sent): "
            + (", ".join(f"{k} {n}" for k, n in self.replays.items()) or "none")
        )
        missing = self.unexercised
        out.append(
            f"unexercised: {', '.join(missing)}" if missing else "every required rule and probe exercised"
        )
        return out


def _rule_order(item: tuple[str, int]) -> tuple[str, int, str]:
    """R- before D- and the rest, then by number, then by branch name."""
    tag = item[0]
    head, _, branch = tag.partition(".")
    prefix, _, num = head.partition("-")
    return ({"R": "0", "D": "1"}.get(prefix, "2"), int(num) if num.isdigit() else 0, branch)
