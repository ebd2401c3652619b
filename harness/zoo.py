"""The bug zoo: realistic protocol bugs as textual patches to a *copy* of ``impl``.

Each :class:`Bug` replaces one exact snippet of one ``impl/`` file. :func:`materialise`
copies the ``impl`` package into a temporary directory and applies the patch there; the
campaign then runs in a subprocess whose ``PYTHONPATH`` puts the copy first (and whose
working directory is the copy), so the bugged ``impl`` is the one imported and the real
one is never touched. A patch whose snippet does not occur exactly once fails loudly
(:class:`PatchError`): the zoo must never silently test the unmodified implementation,
and the worker also checks that the ``impl`` it imported is the patched copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asfl.impl as impl_package

IMPL_DIR = Path(impl_package.__file__).resolve().parent
REPO = IMPL_DIR.parent
CORPUS = REPO / "tests" / "regressions"


# a worker may overrun its search and shrink budgets by one example, Hypothesis's own
# shrinking and its start-up; past that it is killed and the bug reported as an error
WORKER_SLACK_S = 300.0


class PatchError(RuntimeError):
    """A zoo patch no longer applies: its old snippet is missing or ambiguous."""


@dataclass(frozen=True)
class Bug:
    id: str
    file: str  # relative to impl/
    old: str
    new: str
    what: str
    breaks: str  # the property the bug should violate (documentation)


BUGS: tuple[Bug, ...] = (
    Bug(
        "certify-quorum-off-by-one",
        "aggregator.py",
        "            if len(sigs) >= self.cfg.quorum:",
        "            if len(sigs) >= self.cfg.quorum - 1:",
        "a certificate needs n_a - t_a - 1 endorsements instead of n_a - t_a",
        "S-1 / R-9",
    ),
    Bug(
        "release-twice",
        "aggregator.py",
        "        st.released = True\n",
        "",
        "the released flag is never set: the share sum is released again on every progress",
        "S-3",
    ),
    Bug(
        "mask-seed-reuse",
        "client.py",
        'mask = crypto.prg_field_vector(self.entropy(32), cfg.dim, b"mask")',
        'mask = crypto.prg_field_vector(self.keys.sign_pub, cfg.dim, b"mask")',
        "the mask seed is derived from the client's key, so every round reuses one mask",
        "P-2 / D-2",
    ),
    Bug(
        "endorse-signature-skipped",
        "node.py",
        "    if not crypto.verify(senders[env.sender], env.digest(), env.sig, once=once):",
        '    if env.kind != "endorse" and not crypto.verify('
        "senders[env.sender], env.digest(), env.sig, once=once):",
        "envelope signatures of endorse messages are not checked",
        "I-4 / R-3",
    ),
    Bug(
        "client-signature-skipped",
        "aggregator.py",
        'raise Dropped(f"client {entry.client}: bad signature on submission digest")',
        "pass  # zoo: signature failure ignored",
        "endorsers do not verify the client signature of proposal entries",
        "I-2 / P-1",
    ),
    Bug(
        "membership-wrong-round",
        "aggregator.py",
        "        members = cfg.clusters(prop.tau)[prop.cluster]",
        "        members = cfg.clusters(0)[prop.cluster]",
        "endorsers check cluster membership against round 0's shuffle",
        "L-1 / R-2",
    ),
    Bug(
        "inclusion-count-not-updated",
        "aggregator.py",
        "            self.inclusions[client] = self.inclusions.get(client, 0) | (1 << tau)\n",
        "            pass\n",
        "the inclusion counter is not updated when a set is certified and released",
        "F-3 / D-12",
    ),
    Bug(
        "lagrange-sign",
        "shamir.py",
        "                num = num * (x - xm) % P",
        "                num = num * (xm - x) % P",
        "a wrong sign in the Lagrange numerator",
        "P-1 / I-1",
    ),
    Bug(
        "wrong-evaluation-point",
        "certify.py",
        "    points = {j + 1: vec for j, vec in releases.items()}",
        "    points = {j: vec for j, vec in releases.items()}",
        "releases decoded at x = j instead of x = j + 1 (wrong Lagrange coefficients)",
        "P-1",
    ),
    Bug(
        "topup-below-qmin",
        "inclusion.py",
        "        chosen.update(rest[: q_min - len(chosen)])",
        "        chosen.update(rest[: q_min - len(chosen) - 1])",
        "the top-up of R-6 adds one client too few: a cluster closes below q_min",
        "S-5 / F-1",
    ),
    Bug(
        "endorse-equivocation",
        "aggregator.py",
        "        if st.accepted is not None:\n            if st.accepted.pd == pd:",
        "        if st.accepted is not None and st.accepted.pd == pd:\n            if st.accepted.pd == pd:",
        "a second, different proposal for (tau, c) is endorsed too",
        "S-2",
    ),
    Bug(
        "release-for-other-proposal",
        "aggregator.py",
        "        if st.released or acc is None or cert is None or (acc.pd, acc.md) != (cert.pd, cert.md):",
        "        if st.released or acc is None or cert is None:",
        "releases for a certificate on a proposal other than the one it holds",
        "S-3 / R-10",
    ),
    Bug(
        "undersize-accepted",
        "aggregator.py",
        '        if len(clients) < cfg.q_min:\n            raise Dropped(f"proposal of',
        '        if len(clients) < cfg.q_min - 1:\n            raise Dropped(f"proposal of',
        "endorsers accept proposals of q_min - 1 clients",
        "S-5",
    ),
    Bug(
        "duplicate-entry-accepted",
        "aggregator.py",
        "        if len(set(clients)) != len(clients) or not set(clients) <= set(members):",
        "        if not set(clients) <= set(members):",
        "endorsers accept a proposal listing a client twice",
        "S-4",
    ),
    Bug(
        "aggregate-too-early",
        "aggregator.py",
        "            if len(results) < cfg.quorum:",
        "            if len(results) < cfg.quorum - 1:",
        "a round is aggregated from n_a - t_a - 1 cluster results",
        "I-3 / R-13",
    ),
    Bug(
        "resubmit-every-step",
        "client.py",
        "        st.next_submit = max(st.next_submit, min(latest, cfg.rounds - 1) + 1)\n",
        "",
        "the client forgets which rounds it submitted for and submits again",
        "R-5",
    ),
    # -- issue 11: compact certified models (R-15 a-e, R-17) -------------------------------
    Bug(
        "accept-uncertified-model",
        "certify.py",
        "    if n < cfg.t_a + 1:",
        "    if n < cfg.t_a:",
        "clients (and attesters, for prev) accept a header with only t_a valid attestations",
        "I-3 / S-7 / R-15d",
    ),
    Bug(
        "attesters-not-distinct",
        "certify.py",
        "    n = len(valid)",
        "    n = sum(1 for a in attestations if attesters(agg_keys, header.digest(), [a]))",
        "valid attestations are counted, not distinct attesters: one signature listed t_a + 1 times passes",
        "I-3 / S-7 / R-15d",
    ),
    Bug(
        "body-digest-unchecked",
        "client.py",
        '            raise Dropped("body digest does not match the header (R-15e)")',
        "            pass  # zoo: a body that does not match its header is trained on",
        "clients trust the attested header but never compare the body with its digest",
        "I-3 / R-15e",
    ),
    Bug(
        "prev-looked-up-in-wrong-round",
        "client.py",
        "                if not self.state.verified.has(ann.tau - 1, ann.header.prev):",
        "                if not self.state.verified.has(ann.tau, ann.header.prev):",
        "R-15b looks for prev among the headers of the announcement's own round: nothing is ever verified",
        "L-1 / R-15b",
    ),
    Bug(
        "header-sets-wrong-round",
        "certify.py",
        "    membership = cfg.clusters(header.tau - 1)",
        "    membership = cfg.clusters(header.tau)",
        "R-15c checks a round-tau+1 header's sets against round tau+1's clusters instead of round tau's",
        "L-1 / R-15c",
    ),
    Bug(
        "attest-twice",
        "aggregator.py",
        "        self.attested.add(key)\n",
        "",
        "an attester never records what it attested: a replayed or second offer is attested again",
        "R-17 (once per producer and round)",
    ),
    Bug(
        "attest-prev-unattested",
        "certify.py",
        "        check_attested(cfg, agg_keys, head, offer.prev_attestations)\n",
        "",
        "an attester checks the prev model against its header but not the header's t_a + 1 attestations",
        "I-3 / R-17b",
    ),
    Bug(
        "attest-uncertified-evidence",
        "certify.py",
        "    if len(endorsers) < cfg.quorum:",
        "    if len(endorsers) < 0:",
        "an attester recomputes the model from an offer's evidence without checking its certificates",
        "I-2 / I-3 / R-17c",
    ),
    # -- end of issue 11's block -------------------------------------------------------------
    Bug(
        "decode-quorum-minus-one",
        "certify.py",
        "    return shamir.decode(points, cfg.t_a, cfg.quorum)",
        "    return shamir.decode(points, cfg.t_a, cfg.quorum - 1)",
        "reconstruction asked for one release too few (the decoder refuses and raises)",
        "I-4",
    ),
    # -- R-6 inclusion rule, every branch (issue 11 / issue 9 deliverable 4) --------------
    Bug(
        "floor-is-minimum",
        "inclusion.py",
        "    return sorted(counts)[min(t_c, len(counts) - 1)]",
        "    return min(counts)",
        "the floor m is the smallest count, not the (t_c + 1)-th smallest",
        "F-1 / R-6",
    ),
    Bug(
        "eligible-strict",
        "inclusion.py",
        "    return {i for i in members if counts[i] <= m + lead_bound}",
        "    return {i for i in members if counts[i] < m + lead_bound}",
        "eligibility is n(i) < m + B instead of n(i) <= m + B",
        "F-1 / R-6",
    ),
    Bug(
        "deferral-ignored",
        "inclusion.py",
        "    chosen = eligible(members, counts, t_c, lead_bound) & held",
        "    chosen = set(held)",
        "members more than B ahead are proposed anyway (no deferral)",
        "F-1 / D-7",
    ),
    Bug(
        "topup-order-reversed",
        "inclusion.py",
        "        rest = sorted(held - chosen, key=lambda i: (counts[i], i))",
        "        rest = sorted(held - chosen, key=lambda i: (-counts[i], i))",
        "the top-up takes the deferred members with the largest counts first",
        "F-1 / D-8",
    ),
    Bug(
        "close-one-short",
        "inclusion.py",
        "    return n_held >= n_members - t_c",
        "    return n_held >= n_members - t_c - 1",
        "the coordinator closes with t_c + 1 members missing",
        "F-1 / R-6",
    ),
    Bug(
        "close-on-q-min",
        "aggregator.py",
        "        if not inclusion.may_close(len(members), len(st.held), cfg.t_c):  # R-6",
        "        if len(st.held) < cfg.q_min:  # R-6",
        "the coordinator closes as soon as it holds q_min submissions (the q_min clause alone)",
        "F-1 / R-6",
    ),
    Bug(
        "count-view-not-refreshed",
        "aggregator.py",
        "        if not inclusion.may_close(len(members), len(st.held), cfg.t_c):  # R-6\n"
        "            return []\n"
        "        counts = self.count_view(tau, members)\n",
        "        views = self.__dict__.setdefault('_zoo_views', {})\n"
        "        counts = views.setdefault(tau, self.count_view(tau, members))\n"
        "        if not inclusion.may_close(len(members), len(st.held), cfg.t_c):  # R-6\n"
        "            return []\n",
        "the count view is read at the round's first submission and not re-read when a release "
        "changes it before closing",
        "F-3 / D-12",
    ),
    # -- end of the R-6 block -----------------------------------------------------------
    # -- issue 9, zoo helper: D-13 catch-up, D-12 client counts, R-10 recipients, R-11 filter --
    Bug(
        "catch-up-reversed",
        "client.py",
        "        for tau in range(st.next_submit, min(latest, cfg.rounds - 1) + 1):",
        "        for tau in reversed(range(st.next_submit, min(latest, cfg.rounds - 1) + 1)):",
        "a catching-up client submits its owed rounds newest first",
        "D-13 / R-5",
    ),
    Bug(
        "catch-up-skips-pending",
        "client.py",
        "        for tau in range(st.next_submit, min(latest, cfg.rounds - 1) + 1):",
        "        for tau in range(min(latest, cfg.rounds - 1), min(latest, cfg.rounds - 1) + 1):",
        "a catching-up client submits only for its newest round and skips the rounds it owes",
        "D-13 / L-1",
    ),
    Bug(
        "catch-up-one-noise",
        "client.py",
        "        x = noisy_update(q, cfg.client_noise_var, self.rng)  # D-9: Skellam after rounding",
        "        x = noisy_update(q, cfg.client_noise_var, np.random.default_rng(self.state.next_submit))",
        "the noise is drawn once per local step: a catch-up submits one noisy update for several rounds",
        "P-5 / D-13",
    ),
    Bug(
        "client-counts-per-announcement",
        "client.py",
        "                st.included.add(ann.tau - 1, key)",
        "                st.included.add(ann.tau - 1, (key[0], key[1] + ann.header.model))",
        "a client counts a certified set once per verified header that carries it, not once",
        "F-3 / D-12",
    ),
    Bug(
        "release-to-certifiers-only",
        "aggregator.py",
        "            *broadcast(self.keys, self.index, self.all_aggregators, release),",
        "            *broadcast(self.keys, self.index, [aggregator_name(j) for j in cert.sigs], release),",
        "the share sum is released only to the certificate's endorsers, not to every aggregator",
        "R-10 / L-1",
    ),
    Bug(
        "decode-certified-pd",
        "aggregator.py",
        "        if st.result is not None or acc is None or cert is None or "
        "(acc.pd, acc.md) != (cert.pd, cert.md):\n"
        "            return []\n"
        "        shares = {j: r.share_sum for j, r in st.releases.items() if r.pd == acc.pd}",
        "        if st.result is not None or acc is None or cert is None:\n"
        "            return []\n"
        "        shares = {j: r.share_sum for j, r in st.releases.items() if r.pd == cert.pd}",
        "releases for the certified pd decode the mask sum of a different proposal the aggregator holds",
        "P-1 / R-11",
    ),
    Bug(
        "digest-filter-removed",
        "aggregator.py",
        "        shares = {j: r.share_sum for j, r in st.releases.items() if r.pd == acc.pd}",
        "        shares = {j: r.share_sum for j, r in st.releases.items()}",
        "R-11's digest filter deleted: releases naming another (uncertified) pd enter the decoding",
        "I-2 / R-11",
    ),
    # -- end of the issue 9 zoo helper's block --
    # -- stop 12: D-22 body fetches and D-18 pushers --------------------------------------
    Bug(
        "fetch-not-dispatched",
        "aggregator.py",
        "            if isinstance(body, Fetch):\n                return self._on_fetch(env.sender, body)\n",
        "",
        "the aggregator's dispatch has no case for the fetch kind: every fetch is dropped, none served",
        "D-22 / L-2",
    ),
    Bug(
        "serve-other-header",
        "aggregator.py",
        "        if fetch.header_digest != hd:\n"
        '            raise Dropped(f"fetch for round {tau}: other header (D-22)")\n',
        "",
        "a fetch naming another header than the one announced (a relayed fetch) is served anyway",
        "D-22",
    ),
    Bug(
        "serve-twice",
        "aggregator.py",
        "        self.served[client] = bits | 1 << tau\n",
        "",
        "the aggregator never records whom it served: a relayed or repeated fetch is served again",
        "D-22 (once per client and round)",
    ),
    Bug(
        "pusher-off-by-one",
        "aggregator.py",
        "            pushed = self.all_clients[self.index :: n_a]"
        "  # D-18: I push the body to i mod n_a = me\n"
        "            others = [c for i, c in enumerate(self.all_clients) if i % n_a != self.index]\n",
        "            pushed = [c for i, c in enumerate(self.all_clients) if (i + 1) % n_a == self.index]\n"
        "            others = [c for i, c in enumerate(self.all_clients) if (i + 1) % n_a != self.index]\n",
        "aggregator j pushes the body to the clients i with i + 1 = j mod n_a instead of i = j mod n_a",
        "D-18",
    ),
    Bug(
        "fetch-target-not-recorded",
        "client.py",
        "        j = fetchable[0]\n        rec.fetched.add(j)\n",
        "        j = fetchable[0]\n",
        "the client never records whom it fetched from: a re-armed timer fetches the same aggregator again",
        "D-22 (once per aggregator and round)",
    ),
    Bug(
        "fetch-never-rearmed",
        "client.py",
        "            send(self.keys, self.index, aggregator_name(j), Fetch(round, hd)),\n"
        "            *self._arm(rec, round),\n",
        "            send(self.keys, self.index, aggregator_name(j), Fetch(round, hd)),\n",
        "the timer is not re-armed after a fetch: a second aggregator that never answers leaves the "
        "client without its body",
        "L-2 / R-16 / D-22",
    ),
    # -- end of stop 12's block --
)
BY_ID = {b.id: b for b in BUGS}


@dataclass(frozen=True)
class Focus:
    """Directed search for one bug: what reaches the rule its patch touches, as a developer
    testing a change to that rule would choose it: the Byzantine behaviours
    (``harness.byz``; every Byzantine aggregator of a focused setup has one of them), the
    round counts, and the search family (whole runs under a ``random``, ``pct``,
    ``targeted`` or ``ordered`` policy, or the ``stateful`` machine). Three setups in four
    come from the focus, the rest from every configuration; every run is judged by the
    same oracle."""

    modes: tuple[str, ...] = ()  # empty: every behaviour
    rounds: tuple[int, ...] = (1, 2)
    strategy: str | None = None  # None: the strategy the zoo was asked for
    clients: int | None = None  # None: the campaign's size; else clients per run...
    q_min: int | None = None  # ...and q_min (R-6's branches need clusters larger than 3)
    aggregators: int | None = None  # None: the campaign's 4 (t_a = 1); else this many...
    t_a: int | None = None  # ...with this t_a (0: no Byzantine aggregator at all)
    t_c: int | None = None
    lead_bound: int | None = None
    byzantine: tuple[int, ...] = ()  # empty: the drawn one; else these ids (each given a mode)

    def shape(self) -> dict[str, int]:
        """The :class:`~harness.world.Setup` fields this focus fixes."""
        fields = {
            "n_clients": self.clients,
            "q_min": self.q_min,
            "n_aggregators": self.aggregators,
            "t_a": self.t_a,
            "t_c": self.t_c,
            "lead_bound": self.lead_bound,
        }
        return {k: v for k, v in fields.items() if v is not None}

    def to_json(self) -> dict[str, Any]:
        return {
            "modes": list(self.modes),
            "rounds": list(self.rounds),
            "shape": self.shape(),
            "byzantine": list(self.byzantine),
        }


#: the smallest configuration reaching every branch of R-6 but the top-up order
TINY_R6 = Focus(rounds=(3,), strategy="random", clients=6, q_min=3, aggregators=1, t_a=0, t_c=1, lead_bound=0)

# Why each focus (measured, /work/notes/issue-9-zoo.md): a bug that only a Byzantine
# behaviour reaches waits otherwise for the 1 setup in 14 that draws it; a catch-up needs
# a client slower than a whole round and a second round (the "ordered" family's "C_i's
# steps last"; the targeted family's "slow" window is undone by its other windows); a
# client's inclusion count shows at the next round's accept.
FOCUS: dict[str, Focus] = {
    # with the default clusters of 3 every closing proposes all it holds, so the floor,
    # eligibility, deferral and top-up order never show. The smallest world that shows
    # them (stop 10): one aggregator (t_a = 0) coordinating all 6 clients, t_c = 1, B = 0:
    # the straggler left out of each round's closing makes the counts differ by round 2;
    # whole random runs of ~60 actions, caught on the first examples, shrunk to "FIFO
    # with one client late". (Stop 9's clusters of 6 under 4 aggregators: runs 10x
    # longer, deferral-ignored missed under load.)
    "floor-is-minimum": TINY_R6,
    "eligible-strict": TINY_R6,
    "deferral-ignored": TINY_R6,
    "close-on-q-min": TINY_R6,
    # the top-up order shows only when deferred members' counts differ: two aggregators
    # with clusters of 6 reshuffled each round (q_min = 4, 5 rounds), one client slower
    # than everything else (the "ordered" family): its count stays behind while the
    # reshuffles spread the others'. Under random runs (stop 10-14) 5 to 29 examples,
    # 0.9-17 s, and witnesses of 2-23 actions that the shrinker could not always bring
    # under 20; ordered: the first example, one order rule (stop 15, seeds 0-7)
    "topup-order-reversed": Focus(
        rounds=(5,), strategy="ordered", clients=12, q_min=4, aggregators=2, t_a=0, t_c=1, lead_bound=0
    ),
    # a stale count view needs a release the coordinator gets after a member's submission
    # of the next round: quorum n_a - t_a < n_a (so 4 aggregators, t_a = 1); clusters of 2
    # are enough, the monitor compares the view itself (D-12)
    "count-view-not-refreshed": Focus(
        rounds=(2,), strategy="random", clients=8, q_min=2, t_c=0, lead_bound=0
    ),
    "accept-uncertified-model": Focus(modes=("forge",), strategy="random"),  # R-15d
    # the automatic forge sends R-15d (one signature listed t_a + 1 times) and R-15e (a body
    # that is not its header's) rewrites; uniform setups draw it 1 time in 14
    "attesters-not-distinct": Focus(modes=("forge",), rounds=(2,), strategy="random"),  # R-15d
    "body-digest-unchecked": Focus(modes=("forge",), rounds=(2,), strategy="random"),  # R-15e
    "attest-twice": Focus(modes=("replay",), strategy="random"),  # a replayed offer
    "attest-prev-unattested": Focus(modes=("forge",), rounds=(2,), strategy="random"),  # R-17b
    "attest-uncertified-evidence": Focus(modes=("forge",), strategy="random"),  # R-17c
    "duplicate-entry-accepted": Focus(modes=("dup-entry",), strategy="random"),
    "client-signature-skipped": Focus(modes=("tamper",), strategy="random"),
    "undersize-accepted": Focus(modes=("undersize",), strategy="random"),
    "endorse-equivocation": Focus(modes=("double",), strategy="random"),  # R-8, S-2
    "release-for-other-proposal": Focus(modes=("equivocate",), strategy="random"),
    "decode-certified-pd": Focus(modes=("equivocate",), strategy="random"),
    "digest-filter-removed": Focus(  # .uncertified; one round of clusters of 2
        modes=("scripted",), rounds=(1,), strategy="stateful", clients=8, q_min=2, t_c=0
    ),
    "endorse-signature-skipped": Focus(modes=("malformed",), strategy="random"),
    "catch-up-reversed": Focus(rounds=(2,), strategy="ordered"),  # D-13
    "catch-up-skips-pending": Focus(rounds=(2,), strategy="ordered"),
    "catch-up-one-noise": Focus(rounds=(2,), strategy="ordered"),
    # D-12 (client): two verified headers carrying one set with different models: an
    # equivocating aggregator's, under plain FIFO
    "client-counts-per-announcement": Focus(
        modes=("equivocate",), rounds=(2,), strategy="random", clients=8, q_min=2, t_c=0
    ),
    # D-22 / D-18 (stop 12). A client fetches only while it lacks a body: its pusher is
    # silent or Byzantine, or (under the random scheduler, whose idealised timer fires once
    # nothing is in flight to the client) its pusher has not announced yet. A silent pusher
    # makes its clients fetch under plain FIFO; a "replay" aggregator forwards the fetches it
    # gets to other aggregators (relayed fetches: another header, a second copy); a "chaos"
    # one announces honestly now and then and answers fetches with a probe.
    "fetch-not-dispatched": Focus(modes=("silent",), rounds=(1,), strategy="random"),
    # another header (stop 14): a "relay" aggregator forwards each fetch it gets to every
    # other aggregator, with no random draw (replay's forwards moved with every action the
    # shrinker deleted: witnesses of 122-228 actions); it is A0, the first aggregator a
    # fetching client asks; two headers of a round differ once two aggregators decode
    # another quorum of clusters first (three order rules, ``schedule.first_triples``)
    "serve-other-header": Focus(modes=("relay",), strategy="random", byzantine=(0,)),
    "serve-twice": Focus(modes=("replay",), strategy="random"),
    "pusher-off-by-one": Focus(rounds=(1,), strategy="random"),
    "fetch-target-not-recorded": Focus(modes=("chaos",), strategy="random"),
    # a fetch that goes unanswered needs t_a + 1 aggregators that withhold bodies: the
    # client's pusher and the lowest-index one it fetches from (7 aggregators, t_a = 2);
    # FIFO-like orders: under the random scheduler the timer often fires before the other
    # header-only announcements arrive, and each of them re-arms it (D-22)
    "fetch-never-rearmed": Focus(
        modes=("withhold",),
        rounds=(1,),
        strategy="ordered",
        clients=14,
        q_min=2,
        aggregators=7,
        t_a=2,
        t_c=0,
        byzantine=(0, 1),
    ),
}


def patch_text(bug: Bug, text: str) -> str:
    n = text.count(bug.old)
    if n != 1:
        raise PatchError(
            f"zoo bug {bug.id!r}: its snippet occurs {n} times in impl/{bug.file} "
            "(expected exactly once); update the patch in harness/zoo.py"
        )
    return text.replace(bug.old, bug.new)


def check_patches(bugs: tuple[Bug, ...] = BUGS) -> None:
    """Raise :class:`PatchError` if any patch does not apply to the current ``impl/``."""
    for bug in bugs:
        patch_text(bug, (IMPL_DIR / bug.file).read_text(encoding="utf-8"))


@contextmanager
def materialise(bug: Bug | None) -> Iterator[Path]:
    """A temporary directory holding a (patched) copy of ``impl``."""
    with tempfile.TemporaryDirectory(prefix=f"asfl-zoo-{bug.id if bug else 'clean'}-") as tmp:
        dest = Path(tmp)
        shutil.copytree(IMPL_DIR, dest / "impl", ignore=shutil.ignore_patterns("__pycache__"))
        if bug is not None:
            target = dest / "impl" / bug.file
            target.write_text(patch_text(bug, target.read_text(encoding="utf-8")), encoding="utf-8")
        yield dest


def worker_env(dest: Path, bug: Bug | None) -> dict[str, str]:
    """The environment variables that make a zoo worker import the copy at ``dest``."""
    return {
        "ASFL_ZOO_IMPL": str(dest / "impl"),
        "ASFL_ZOO_BUG": bug.id if bug else "",
        "ASFL_ZOO_CLEAN": str(IMPL_DIR),  # the shrinker's correct implementation (zoo_worker.serve)
    }


def run_worker(bug: Bug | None, request: dict[str, Any], timeout: float = 900.0) -> dict[str, Any]:
    """Run ``harness.zoo_worker`` on a copy of impl with ``bug`` applied; its JSON reply."""
    with materialise(bug) as dest:
        env = dict(os.environ)
        env.update(worker_env(dest, bug))
        proc = subprocess.run(
            [sys.executable, "-m", "asfl.harness.zoo_worker", json.dumps(request)],
            cwd=dest,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"zoo worker for {bug.id if bug else 'clean'} failed (exit {proc.returncode}):\n"
            f"{proc.stderr[-3000:]}"
        )
    return json.loads(lines[-1])


@dataclass
class ZooResult:
    bug: str
    caught: bool
    strategy: str
    time_to_first: float | None
    examples_to_first: int | None
    raw_length: int | None
    shrunk_length: int | None
    violation: dict[str, Any] | None
    seconds: float
    saved_file: str | None = None
    corpus_file: str | None = None
    error: str | None = None
    real_bug_file: str | None = None  # a schedule the correct implementation fails too

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def hunt(
    bug: Bug,
    strategy: str = "stateful",
    budget_s: float = 60.0,
    seed: int = 0,
    shrink_budget_s: float = 40.0,
    out_dir: Path | None = None,
    save_regression: bool = False,
    directed: bool = True,
) -> ZooResult:
    """Search for ``bug`` with ``strategy`` (directed by its :data:`FOCUS`, if any, unless
    ``directed`` is false); write its shrunk counterexample (checked to
    pass on the correct implementation) to ``out_dir`` and, with ``save_regression``, to
    the regression corpus ``tests/regressions`` too. Nothing is written when neither.
    A counterexample that also fails the correct implementation is a real bug: it is
    reported as an error and saved the same way as ``real-<bug>.json`` (``bug``
    ``null``, the correct implementation's violation), so that it can be replayed."""
    from asfl.harness.schedule import Schedule, replay

    focus = FOCUS.get(bug.id) if directed else None
    strategy = focus.strategy or strategy if focus is not None else strategy
    t0 = time.monotonic()
    reply = run_worker(
        bug,
        {
            "op": "campaign",
            "strategy": strategy,
            "budget_s": budget_s,
            "seed": seed,
            "shrink_budget_s": shrink_budget_s,
            "focus": None if focus is None else focus.to_json(),
        },
        timeout=budget_s + 1.5 * shrink_budget_s + WORKER_SLACK_S,  # shrink's step (4): half more
    )
    res = ZooResult(
        bug.id,
        bool(reply.get("found")),
        strategy,
        reply.get("time_to_first"),
        reply.get("examples_to_first"),
        reply.get("raw_length"),
        reply.get("shrunk_length"),
        reply.get("violation"),
        time.monotonic() - t0,
    )
    if not res.caught:
        return res
    sched = Schedule.from_json(reply["schedule"])
    sched.bug = bug.id
    sched.note = f"zoo bug {bug.id}: {bug.what}"
    clean = replay(sched).first()
    name = f"zoo-{bug.id}.json"
    if clean is not None:  # the schedule must pass on the correct implementation
        res.error = f"counterexample also fails the correct implementation: {clean}"
        sched.bug, sched.violation = None, clean.to_json()
        sched.note = f"found by asfl zoo hunting {bug.id}; fails the correct implementation: {clean}"
        name = f"real-{bug.id}.json"
    if out_dir is None and not save_regression:
        return res
    if out_dir is not None:
        res.saved_file = str(sched.save(out_dir / name))
    if save_regression:
        res.corpus_file = str(sched.save(CORPUS / name).relative_to(REPO))
    if clean is not None:
        res.real_bug_file = res.saved_file or res.corpus_file
    return res


def replay_under_bug(bug: Bug, schedule_json: dict[str, Any]) -> dict[str, Any]:
    """Replay a schedule against the bugged copy (in a subprocess); the worker's reply."""
    return run_worker(bug, {"op": "replay", "schedule": schedule_json})
