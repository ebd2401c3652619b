"""Client events (R-2, R-5, D-13; R-15 acceptance is in :mod:`checker.attest`): each
fires the model's client action on the client's state as the trace shows it
(specs/refinement.md)."""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

import numpy as np

from asfl.checker.base import ids
from asfl.checker.flow import FlowRules
from asfl.checker.records import MaskUse, Submission
from asfl.model import protocol
from asfl.model.field import words_b64


def fingerprint(raw: bytes) -> bytes:
    """A ghost vector's collision-resistant fingerprint, of its little-endian uint32
    bytes (equal iff the vectors are, D-21)."""
    return blake2b(raw, digest_size=32).digest()


class ClientRules(FlowRules):
    def client(self, node: str, what: str) -> int | None:
        if node[0] != "C":
            self.viol("T-STEP", f"{what} by {node}, not a client")
            return None
        return ids(node)

    def on_local_step(self, ev: dict[str, Any]) -> None:
        """R-4 / D-13: a local step trains on the newest accepted model and owes one
        submission per accepted, unsubmitted round, in increasing order
        (:func:`model.protocol.pending_rounds`)."""
        node = ev["node"]
        self.new_step(node)
        i = self.client(node, "local_step")
        if i is None:
            return
        if node in self.crashed_at:
            self.viol("T-STEP", f"local_step by {node} after its crash")
        r, acc = ev["model_round"], self.accepted[i]
        if r >= len(acc):
            self.viol("R-15", f"{node} trains on round {r} without having accepted it", node=node)
        elif r != len(acc) - 1:
            self.viol("D-13", f"{node} trains on round {r}, not its newest model {len(acc) - 1}", node=node)
        due = protocol.pending_rounds(self.p, len(acc), self.submitted[i])
        if not due:  # the model's guard client_can_step: a step owes a submission
            self.viol("D-13", f"{node} takes a local step with no round to submit", node=node)
        self.step.submits_due = due
        self.hist(ev, None)

    def on_submit(self, ev: dict[str, Any]) -> None:
        node, tau, c = ev["node"], ev["round"], ev["cluster"]
        self.hist(ev, (tau, c))
        i = self.client(node, "submit")
        if i is None:
            return
        self.in_step(node, "submit")
        if tau >= self.R:
            self.viol("R-5", f"{node} submits for round {tau} >= R", key=(tau, c))
            return
        if tau in self.submitted[i]:
            self.viol("R-5", f"{node} submits twice for round {tau}", key=(tau, c))
        elif tau >= len(self.accepted[i]):
            self.viol("R-5", f"{node} submits for round {tau} without a model of round {tau}", key=(tau, c))
        due = self.step.submits_due
        if due and tau == due[0]:
            due.pop(0)
        else:
            self.viol("D-13", f"{node} submits round {tau}; its local step owes rounds {due}", key=(tau, c))
        self.submitted[i].add(tau)
        want = self.p.cluster_of(i, tau)
        if c != want:
            self.viol("R-2", f"{node} submits to cluster {c}, its cluster is {want}", key=(tau, c))
        x = self.ghost_x(ev, node, (tau, c))
        if x is not None and isinstance(c, int) and c < self.n_a and self.is_settled(tau, c):
            self.subs[(tau, i)] = Submission(c, ev["sd"], None, self.line, forgotten=True)  # D-21
        else:
            self.subs[(tau, i)] = Submission(c, ev["sd"], x, self.line)
            self.sub_index.setdefault((tau, c), []).append(i)
        self.expect("R-5", "submit", tau, c, 1)

    def ghost_x(self, ev: dict[str, Any], node: str, key: tuple[int, int]) -> Any:
        """The submission's ghost update; with a ghost header a missing or undecodable
        ghost is a P-1 violation (never a skipped check); masks are unique (P-2, D-2)."""
        g = ev.get("ghost")
        if not self.ghost:
            if g is not None:
                self.viol("T-HEADER", f"{node}'s submit carries ghost fields; the header says ghost: false")
            return None
        if g is None:
            self.viol("P-1", f"{node}'s submit has no ghost fields; the header declares them", key=key)
            return None
        try:  # decoded once; the sums of P-1 read the uint32s in place (no copy)
            xb = words_b64(g["x"])
            rb = words_b64(g["r"])
        except (ValueError, TypeError):
            self.viol("P-1", f"{node}'s ghost x or r is not base64 of uint32s", key=key)
            return None
        if len(xb) != 4 * self.dim or len(rb) != 4 * self.dim:
            self.viol(
                "P-1", f"{node}'s ghost vectors have length {len(xb) // 4}, not dim {self.dim}", key=key
            )
            return None
        # P-2 and P-5 compare whole-trace histories: one fingerprint per vector (D-21)
        prior = self.masks.setdefault(fingerprint(rb), MaskUse(node, key[0], self.line))
        if prior.line != self.line:
            self.viol(
                "P-2",
                f"{node}'s round-{key[0]} mask equals the mask of {prior.client} round {prior.round} "
                f"(line {prior.line}): the masks reveal the difference of the updates (D-2)",
                key=key,
            )
        self.fresh.add(ids(node), key[0], fingerprint(xb), self.line)
        return np.frombuffer(xb, dtype="<u4")
