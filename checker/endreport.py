"""End of trace: the ``end`` event recomputed (T-END), what the model says must have
happened at quiescence (R-10, R-11, R-13 owed), liveness (L-1..L-3), fairness and the
F-3 count bounds, the certificate summary, and the privacy checks P-5 and P-6
(:mod:`asfl.checker.privacy`)."""

from __future__ import annotations

from typing import Any

from asfl.checker import privacy
from asfl.checker.aggregators import AggregatorRules
from asfl.checker.base import ids
from asfl.checker.privacy import epsilon, release_of
from asfl.model import protocol


class EndReport(AggregatorRules):
    def on_end(self, ev: dict[str, Any]) -> None:
        self.close_step()
        self.ended = True
        self.end = ev
        self.end_line = self.line

    def end_of_trace(self) -> None:
        """All end-of-trace checks, attributed to the end event's line."""
        self.line = self.end_line or self.rep.lines
        done_aggs = {f"A{j}": len(self.models[j]) - 1 for j in self.honest_aggs}
        done_clients = {f"C{i}": len(self.accepted[i]) - 1 for i in range(self.n_c)}
        crashed = set(self.crashed_at)
        byz_ok = len(self.byz) <= self.t_a
        crash_ok = len(self.crashed_cfg | {ids(c) for c in crashed}) <= self.t_c
        in_flight = [
            mid
            for mid, m in self.msgs.items()
            if not (m.dst[0] == "C" and m.dst in crashed)
            and m.src not in crashed  # a crashed client is not correct: its sends may be lost (§1)
            and not self.is_byz(m.dst)
            and not self.is_byz(m.src)
        ]
        behind_aggs = {n: d for n, d in done_aggs.items() if d < self.R}
        behind_clients = {n: d for n, d in done_clients.items() if d < self.R and n not in crashed}
        end = self.end
        status = end["status"] if end else None
        self.check_end_event(
            done_aggs, done_clients, crashed, bool(in_flight or behind_aggs or behind_clients)
        )
        if status in ("complete", "stalled"):
            self.owed_at_quiescence()
        live: dict[str, Any] = {
            "status": status,
            "faults_within_bounds": byz_ok and crash_ok,
            "byzantine": sorted(self.byz),
            "crashed": sorted(crashed),
            "rounds_done": {**done_aggs, **done_clients},
            "undelivered_between_correct_nodes": len(in_flight),
            "behind": {**behind_aggs, **behind_clients},
        }
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
        self.rep.liveness = live
        self.fairness(crashed)
        self.rep.certificates = [info.as_dict(self.clients_of(pd)) for pd, info in self.cert_info.items()]
        self.check_privacy()

    def check_privacy(self) -> None:
        """P-5 and P-6 (checker/privacy.py, an independent accounting path): on ghost traces
        no two submissions of one client carry the same quantised update; the epsilon the
        ``end`` event reports is not below the checker's own figure for the certified sets
        an honest aggregator released (D-10)."""
        released_pds = {s.pd for s in self.released.values()}
        released = [cl for pd in released_pds if (cl := self.clients_of(pd)) is not None]
        found = self.fresh.found + privacy.check_reported_epsilon(self.header, released, self.end)
        for v in found:
            self.viol_at(self.end_line or self.line if v.line is None else v.line, v.prop, v.message)

    def check_end_event(
        self, done_aggs: dict[str, int], done_clients: dict[str, int], crashed: set[str], unfinished: bool
    ) -> None:
        """T-END: the end event exists and says what the events show."""
        end = self.end
        if end is None:
            self.viol("T-END", "the trace has no end event (truncated?)")
            return
        if end["status"] == "stalled" and not unfinished:
            self.viol("T-END", "end says stalled, yet every correct node finished and nothing is in flight")
        claimed = end["rounds_done"]
        if not isinstance(claimed, dict):
            self.viol("T-END", "end rounds_done is not an object")
            return
        shown = {**done_aggs, **{n: d for n, d in done_clients.items() if n not in crashed}}
        for name, n in shown.items():
            got = claimed.get(name)
            if got is None:
                self.viol("T-END", f"end omits {name}'s rounds_done (the trace shows {n})")
            elif got != n:
                self.viol("T-END", f"end says {name} completed {got} rounds, the trace shows {n}")
        for name, got in claimed.items():
            if name in crashed and got != done_clients.get(name):
                self.viol(
                    "T-END",
                    f"end says crashed {name} completed {got} rounds, "
                    f"the trace shows {done_clients.get(name)}",
                )

    def owed_at_quiescence(self) -> None:
        """At quiescence nothing the model enables is left undone: an honest aggregator
        holding a certificate and its proposal has released (R-10); holding them and
        ``n_a - t_a`` honest releases for them it has reconstructed (R-11); holding
        results for ``n_a - t_a`` clusters of its round it has aggregated (R-13); offers and
        attestations were answered (R-17, R-14: :meth:`owed_attestations`)."""
        self.owed_attestations()
        self.owed_fetches()
        for j in self.honest_aggs:
            node = f"A{j}"
            for (tau, c), v in sorted(self.views[j].items()):
                if protocol.release_guard(self.p, v) is not None:
                    self.viol(
                        "R-10",
                        f"{node} holds the certificate and proposal of ({tau}, {c}), never releases",
                        key=(tau, c),
                    )
                q = protocol.reconstruct_guard(v)
                if q is not None:
                    cert = self.certified[(j, tau, c)].pd
                    good = {
                        s
                        for s in self.releases_got.get((node, tau, c), set())
                        if s not in self.byz
                        and (r := self.released.get((s, tau, c))) is not None
                        and r.pd == cert
                    }
                    if len(good) >= self.quorum:
                        self.viol(
                            "R-11",
                            f"{node} holds {len(good)} honest releases for its certified ({tau}, {c}), "
                            "never reconstructs",
                            key=(tau, c),
                        )
            tau = self.rounds[j]
            if tau < self.R:
                decoded = {cc for (t, cc), v in self.views[j].items() if t == tau and v.result is not None}
                if protocol.aggregation_clusters(self.p, decoded) is not None:
                    self.viol(
                        "R-13",
                        f"{node} holds results for {sorted(decoded)} of round {tau}, never aggregates",
                        node=node,
                    )

    def fairness(self, crashed: set[str]) -> None:
        """F-3: true inclusion counts from certified sets, the client count bounds and
        privacy spent (D-10)."""
        incl = dict.fromkeys(range(self.n_c), 0)
        unknown: list[str] = []
        for key, pds in sorted(self.cert_pds.items()):
            for pd in pds:
                cl = self.clients_of(pd)
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
            possible.setdefault(key, []).extend(self.clients_of(pd) for pd in pds)
        for pd, ends in self.endorsers.items():
            if len(ends) + len(self.byz) >= self.quorum:
                got = self.proposal_of(pd)
                if got is not None and (got.tau, got.c) not in self.cert_pds:
                    possible.setdefault((got.tau, got.c), []).append(got.clients)
        rounds_with: dict[int, list[int]] = {}
        for (t, c), cls in possible.items():
            members = self.clusters(t)[c]
            who: set[int] = set()
            for cl in cls:
                who |= set(members if cl is None else cl)
            for i in who:
                rounds_with.setdefault(i, []).append(t)
        for a in self.accept_counts:
            ub = sum(1 for t in rounds_with.get(a.client, ()) if t < a.round)
            if a.count > ub:
                self.viol_at(
                    a.line,
                    "F-3",
                    f"C{a.client} counts {a.count} inclusions up to round {a.round - 1}, "
                    f"at most {ub} certified",
                    node=f"C{a.client}",
                )
        release = release_of(self.header["config"])
        self.rep.fairness = {
            "inclusions": {f"C{i}": incl[i] for i in range(self.n_c)},
            "spread_correct": (max(vals) - min(vals)) if vals else 0,
            "min_correct": min(vals) if vals else 0,
            "max_correct": max(vals) if vals else 0,
            "unknown_sets": unknown,
            "delta": self.delta,
            "noise_multiplier": self.z,
            "epsilon": {f"C{i}": round(epsilon(incl[i], release, self.delta), 4) for i in range(self.n_c)},
            "epsilon_correct": [
                min((epsilon(v, release, self.delta) for v in vals), default=0.0),
                max((epsilon(v, release, self.delta) for v in vals), default=0.0),
            ],
            "epsilon_note": "RDP composition of the Skellam mechanism (Agarwal et al. 2021, Thm 3.5), "
            "reimplemented in checker/privacy.py",
        }
