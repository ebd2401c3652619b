"""Narrate a replayed schedule event by event, citing the specification's rules.

``python -m harness.narrate FILE [--sends]`` prints the narration (used by ``asfl replay``,
also in a subprocess against a zoo bug's copy of ``impl``). Exit status: 0 if the replay
passes every monitor, 1 if it violates a property.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asfl.checker.html.data import RULES
from asfl.harness.schedule import Outcome, Schedule, replay


def describe_action(act: dict[str, Any]) -> str:
    if "deliver" in act:
        kind, src, dst, nth = act["deliver"]
        nth_s = "" if nth == 0 else f" (the {nth + 1}th such in flight)"
        return f"deliver {kind} {src} -> {dst}{nth_s}"
    if "step" in act:
        return f"local step of {act['step']}"
    if "timer" in act:
        return f"fetch timer of {act['timer']} fires (D-22)"
    if "crash" in act:
        return f"crash {act['crash']}"
    if "byz" in act:
        if "replay" in act:
            b, k, to = act["byz"], act["replay"], act["to"]
            return f"Byzantine {b} re-sends the {k}th message it received to {to}"
        kind, to, nth = act["out"]
        how = f"{act['do']} (seed {act.get('seed', 0)})"
        return f"Byzantine {act['byz']} sends its {kind} for {to} ({nth}) as: {how}"
    return str(act)


def describe_event(ev: dict[str, Any]) -> str:
    k = ev["kind"]
    node = ev.get("node", "")
    where = f"({ev['round']}, {ev['cluster']})" if "cluster" in ev and "round" in ev else ""
    if k == "submit":
        return f"{node} submits for round {ev['round']} to cluster {ev['cluster']}"
    if k == "propose":
        return f"{node} closes {where}: proposes {ev['clients']} (held {ev['held']}, counts {ev['counts']})"
    if k == "endorse":
        return f"{node} endorses {where} pd={ev['pd'][:8]}"
    if k == "certify":
        return f"{node} holds a certificate for {where} pd={ev['pd'][:8]} from {ev['endorsers']}"
    if k == "release":
        return f"{node} releases its share sum for {where} pd={ev['pd'][:8]}"
    if k == "reconstruct":
        wrong = f", wrong: {ev['wrong']}" if ev["wrong"] else ""
        return f"{node} reconstructs {where} from {ev['support']}{wrong}: {ev['size']} clients"
    if k == "aggregate":
        tau, model = ev["round"] - 1, ev["model"][:8]
        return f"{node} aggregates round {tau} from clusters {ev['clusters']} -> model {model}"
    if k == "accept":
        return f"{node} accepts the round-{ev['round']} model {ev['model'][:8]} from {ev['from']}"
    if k == "drop":
        return f"{node} drops message {ev['msg']}: {ev['reason']}"
    if k == "equivocation":
        return f"{node} sees a second proposal for {where}: {ev['first'][:8]} vs {ev['other'][:8]}"
    if k == "local_step":
        return f"{node} trains on its round-{ev['model_round']} model"
    if k == "crash":
        return f"{node} crashes"
    if k == "send":
        return f"{node} sends {ev['type']} to {ev['to']} (msg {ev['msg']})"
    if k == "deliver":
        return f"{node} receives msg {ev['msg']} from {ev['from']}"
    if k == "end":
        return f"end: {ev['status']} ({ev['detail']})"
    return k


def describe_completion(order: list[list[str]]) -> str:
    """How the replay completes after its actions: FIFO, reordered by ``Ordered``'s rules
    (``[when, what, node]``) if the schedule has any."""
    if not order:
        return "FIFO completion"
    what = {"from": "deliveries from", "to": "deliveries to", "step": "local steps of"}
    rules = "; ".join(f"{when} {what.get(w, w)} {node}" for when, w, node in order)
    return f"FIFO completion reordered ({rules})"


def narrate(sched: Schedule, out: Callable[[str], None] = print, sends: bool = False) -> Outcome:
    """Replay ``sched`` and narrate it; returns the outcome."""
    s = sched.setup
    byz = ", ".join(f"A{j} {m}" for j, m in sorted(s.byzantine.items())) or "none"
    out(
        f"schedule: {len(sched.actions)} actions, then {describe_completion(sched.order)}"
        + (f"; zoo bug {sched.bug}" if sched.bug else "")
    )
    out(
        f"setup: {s.n_clients} clients, {s.n_aggregators} aggregators, t_a={s.t_a}, t_c={s.t_c}, "
        f"q_min={s.q_min}, B={s.lead_bound}, rounds={s.rounds}, seed={s.seed}; Byzantine: {byz}; "
        f"crash after steps: {s.crash_after or 'none'}"
    )
    state = {"completing": False, "seen": 0}

    def on_action(k: int, act: dict[str, Any], applied: bool) -> None:
        if not applied:
            out(f"#{k + 1:<4} {describe_action(act)}  [does not apply now: skipped]")

    def on_event(ev: dict[str, Any]) -> None:
        kind = ev["kind"]
        if kind == "header":
            return
        if kind in ("deliver", "local_step", "crash"):
            state["seen"] += 1
        if kind in ("send",) and not sends:
            return
        rule = RULES.get(kind, "")
        indent = "  " if kind != "deliver" else ""
        out(f"{indent}[{ev.get('seq', ''):>4}] {rule:<11} {describe_event(ev)}")

    outcome = replay(sched, on_action=on_action, on_event=on_event)
    if outcome.violations:
        out("VIOLATIONS:")
        for v in outcome.violations:
            out(f"  {v}  [{v.source}]")
    else:
        out(f"PASS: no property violated; run {outcome.world.status}")
    return outcome


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    sends = "--sends" in args
    files = [a for a in args if not a.startswith("--")]
    outcome = narrate(Schedule.load(Path(files[0])), sends=sends)
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
