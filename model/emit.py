"""Render random executions of the model as traces in the format of
``specs/trace.schema.json`` (for testing the checker before, and independently of, the
implementation).

Symbolic values are made concrete deterministically and consistently within a trace:
digests are SHA-256 of the symbolic value, ghost updates ``x`` are small vectors derived
from ``(client, round)``, masks ``r`` uniform field vectors. The model does not sign:
pass ``signer`` (node name, digest bytes -> signature hex) and ``keys`` to get real
signatures, otherwise every signature is zero (check with signatures off).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Any

import numpy as np

from asfl.model.digests import endorse_digest, fetch_digest, proposal_digest
from asfl.model.field import P, derive, to_b64, vsum
from asfl.model.params import Params
from asfl.model.protocol import client_can_step
from asfl.model.system import BEHAVIOURS, Mode, byz_menu, complete, fire_actions, initial_state, step
from asfl.model.types import GENESIS, Action, Model, Msg, Proposal, Result, SysState


def H(*parts: object) -> str:
    h = hashlib.sha256()
    for x in parts:
        b = x if isinstance(x, bytes) else repr(x).encode()
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()


class Renderer:
    def __init__(
        self,
        p: Params,
        dim: int,
        seed: int,
        ghost: bool,
        signer: Callable[[str, bytes], str] | None,
    ) -> None:
        self.p, self.dim, self.seed, self.ghost, self.signer = p, dim, seed, ghost, signer
        self.seq = 0
        self.next_id = 0
        self.ids: dict[Msg, list[int]] = {}
        self.model_digests: dict[Model, str] = {GENESIS: H("genesis", p.genesis)}
        self.lines: list[dict[str, Any]] = []

    # -- concrete values ---------------------------------------------------------------
    def x(self, i: int, tau: int) -> np.ndarray:
        return derive(f"x/{self.seed}/{i}/{tau}", self.dim, modulus=2001, offset=-1000)

    def r(self, i: int, tau: int) -> np.ndarray:
        return derive(f"r/{self.seed}/{i}/{tau}", self.dim)

    @staticmethod
    def sd(i: int, tau: int) -> str:
        return H("sd", i, tau)

    def pd(self, q: Proposal) -> str:
        """The proposal digest of §4, from the submission digests of its set."""
        return proposal_digest(q.tau, q.c, [(i, self.sd(i, q.tau)) for i in q.clients])

    def md(self, q: Proposal) -> str:
        return H("md", self.pd(q))

    def result_vec(self, res: Result) -> np.ndarray:
        s = vsum([self.x(i, res.prop.tau) for i in res.prop.clients], self.dim)
        if res.garbage:
            s = (s + derive(f"garbage/{self.pd(res.prop)}", self.dim)) % P
        return s

    def model_digest(self, m: Model) -> str:
        d = self.model_digests.get(m)
        if d is None:
            prev = self.model_digest(m.prev) if m.prev is not None else "none"
            d = H("model", m.round, prev, m.parts, m.forged)
            self.model_digests[m] = d
        return d

    def header_digest(self, m: Model) -> str:
        """The model header's digest (R-17: round, prev, model, rule, sets)."""
        return H("header", self.model_digest(m))

    def env_digest(self, m: Msg) -> str:
        if m.kind == "endorse" and m.prop is not None:  # the spec's envelope (D-14, R-8)
            return endorse_digest(int(m.src[1:]), m.tau, m.c, self.pd(m.prop), self.md(m.prop))
        if m.kind == "fetch" and m.model is not None:  # the spec's envelope (D-14, D-22)
            return fetch_digest(int(m.src[1:]), m.tau, self.header_digest(m.model))
        body: tuple = (m.tau, m.c, m.prop, m.good)
        if m.model is not None:
            body += (self.model_digest(m.model), tuple(sorted(m.attesters)), m.body)
        if m.kind == "propose":
            body += (m.dst,)  # D-6: per-recipient ciphertext
        return H("asfl/1", m.kind, m.src, body)

    # -- lines ---------------------------------------------------------------------------
    def put(self, kind: str, node: str | None, **fields: Any) -> None:
        self.seq += 1
        rec: dict[str, Any] = {"seq": self.seq, "kind": kind}
        if node is not None:
            rec["node"] = node
        rec.update(fields)
        self.lines.append(rec)

    def event(self, e: tuple) -> None:
        kind, node = e[0], e[1]
        if kind == "send":
            m: Msg = e[2]
            mid = self.next_id
            self.next_id += 1
            self.ids.setdefault(m, []).append(mid)
            dg = self.env_digest(m)
            sig = self.signer(node, bytes.fromhex(dg)) if self.signer else "00" * 64
            self.put(
                "send",
                node,
                to=m.dst,
                msg=mid,
                type=m.kind,
                size=64,
                digest=dg,
                sig=sig,
                round=m.tau,
                cluster=m.c if m.c >= 0 else None,
            )
        elif kind == "deliver":
            m = e[2]
            mid = self.ids[m].pop(0)
            self.last_delivered = mid
            self.put("deliver", node, msg=mid, **{"from": m.src})
        elif kind == "drop":
            m = e[2]
            self.put("drop", node, msg=self.last_delivered, reason=e[3])
        elif kind == "crash":
            self.put("crash", node)
        elif kind == "local_step":
            self.put("local_step", node, model_round=e[2])
        elif kind == "submit":
            i, tau, c = int(node[1:]), e[2], e[3]
            f: dict[str, Any] = {"round": tau, "cluster": c, "sd": self.sd(i, tau)}
            if self.ghost:
                f["ghost"] = {"x": to_b64(self.x(i, tau)), "r": to_b64(self.r(i, tau))}
            self.put("submit", node, **f)
        elif kind == "propose":
            q: Proposal = e[2]
            self.put(
                "propose",
                node,
                round=q.tau,
                cluster=q.c,
                pd=self.pd(q),
                clients=list(q.clients),
                members=list(e[3]),
                counts=list(e[4]),
                held=list(e[5]),
            )
        elif kind == "endorse":
            q = e[2]
            self.put(
                "endorse",
                node,
                round=q.tau,
                cluster=q.c,
                pd=self.pd(q),
                md=self.md(q),
                clients=sorted(q.clients),
            )
        elif kind == "equivocation":
            q, o = e[2], e[3]
            self.put("equivocation", node, round=q.tau, cluster=q.c, first=self.pd(q), other=self.pd(o))
        elif kind == "certify":
            q = e[2]
            self.put(
                "certify",
                node,
                round=q.tau,
                cluster=q.c,
                pd=self.pd(q),
                md=self.md(q),
                endorsers=list(e[3]),
            )
        elif kind == "release":
            q = e[2]
            j = int(node[1:])
            self.put(
                "release",
                node,
                round=q.tau,
                cluster=q.c,
                pd=self.pd(q),
                share_digest=H("share", j, self.pd(q), e[3]),
            )
        elif kind == "reconstruct":
            q, support, wrong, res = e[2], e[3], e[4], e[5]
            vec = self.result_vec(res)
            f = {
                "round": q.tau,
                "cluster": q.c,
                "pd": self.pd(q),
                "support": list(support),
                "wrong": list(wrong),
                "size": len(q.clients),
                "result": H("result", vec.astype("<u4").tobytes()),
            }
            if self.ghost:
                f["ghost"] = {"sum": to_b64(vec)}
            self.put("reconstruct", node, **f)
        elif kind == "aggregate":
            m2: Model = e[2]
            assert m2.prev is not None
            self.put(
                "aggregate",
                node,
                round=m2.round,
                clusters=[c for c, _, _ in m2.parts],
                model=self.model_digest(m2),
                prev=self.model_digest(m2.prev),
                rule="trimmed_mean",
            )
        elif kind == "attest":
            m2 = e[2]
            assert m2.prev is not None  # an honest aggregator attests only valid offers
            self.put(
                "attest",
                node,
                round=m2.round,
                producer=f"A{e[3]}",
                model=self.model_digest(m2),
                prev=self.model_digest(m2.prev),
                clusters=[c for c, _, _ in m2.parts],
                header=self.header_digest(m2),
            )
        elif kind == "announce":
            m2 = e[2]
            self.put(
                "announce",
                node,
                round=m2.round,
                model=self.model_digest(m2),
                header=self.header_digest(m2),
                attesters=[f"A{k}" for k in e[3]],
            )
        elif kind == "accept":
            m2 = e[2]
            self.put(
                "accept",
                node,
                round=m2.round,
                model=self.model_digest(m2),
                count=e[4],
                attesters=[f"A{k}" for k in sorted(e[5])],
                **{"from": e[3]},
            )
        elif kind == "fetch":
            self.put("fetch", node, round=e[2], to=e[3], header=self.header_digest(e[4]))
        elif kind == "serve":
            self.put("serve", node, round=e[2], client=e[3], header=self.header_digest(e[4]))
        else:  # pragma: no cover
            raise ValueError(kind)


def header(
    p: Params, dim: int, seed: int, ghost: bool, behaviour: str, keys: dict[str, dict[str, str]] | None
) -> dict[str, Any]:
    names = list(p.aggregators) + list(p.client_names)
    if keys is None:
        keys = {n: {"sign": H("sign", n), "kx": H("kx", n)} for n in names}
    return {
        "kind": "header",
        "schema": "asfl-trace/1",
        "config": {
            "clients": p.n_c,
            "aggregators": p.n_a,
            "t_a": p.t_a,
            "t_c": p.t_c,
            "q_min": p.q_min,
            "lead_bound": p.B,
            "rounds": p.R,
            "dim": dim,
            "frac_bits": 16,
            "clip": 1.0,
            "noise_multiplier": 1.0,
            "lr": 0.1,
            "beta": 0.9,
            "rule": "trimmed_mean",
            "genesis": p.genesis.hex(),
            "seed": seed,
        },
        "keys": keys,
        "byzantine": sorted(p.byzantine),
        "behaviour": behaviour,
        "crashed": sorted(p.crashed),
        "scheduler": "model-random",
        "ghost": ghost,
        "genesis_model": H("genesis", p.genesis),
    }


def run(
    p: Params,
    seed: int = 0,
    behaviours: frozenset[str] = frozenset(),
    max_steps: int = 1_000_000,
    byz_prob: float = 0.05,
    crash_prob: float = 0.02,
    fire_prob: float = 0.02,
) -> tuple[SysState, list[list[tuple]], str]:
    """A random execution: returns the final state, the events of every step and the
    end status (complete | stalled | step_limit). A client's timer (D-22) fires with
    probability ``fire_prob`` at a step, and always once nothing else is left (every
    armed timer eventually fires, L-2)."""
    rng = random.Random(seed)
    mode = Mode(behaviours=behaviours, explorer=False, events=True)
    s = initial_state(p, mode)
    pending: list[Msg] = []
    steps: list[list[tuple]] = []
    for _ in range(max_steps):
        stepping = [i for i, c in enumerate(s.clients) if client_can_step(p, c)]
        crashing = [i for i in sorted(p.crashed) if s.clients[i].alive]
        firing = [a for i, c in enumerate(s.clients) if c.heads for a in fire_actions(p, i, c)]
        if not pending and not stepping and not firing:
            break
        a: Action | None = None
        if crashing and rng.random() < crash_prob:
            a = Action("crash", f"C{rng.choice(crashing)}")
        elif behaviours and rng.random() < byz_prob:
            menu = byz_menu(p, s, behaviours, latest_only=True)
            if menu:
                m = rng.choice(menu)
                a = Action("byz", m.src, m)
        if a is None and firing and (not (pending or stepping) or rng.random() < fire_prob):
            a = rng.choice(firing)  # D-22: a timer fires (any timeout, any fetchable target)
        if a is None:
            k = rng.randrange(len(pending) + len(stepping))
            if k < len(pending):
                pending[k], pending[-1] = pending[-1], pending[k]
                m = pending.pop()
                a = Action("deliver", m.dst, m)
            else:
                a = Action("step", f"C{stepping[k - len(pending)]}")
        s2, evs = step(p, s, a, mode)
        if a.kind == "crash":
            pending = [m for m in pending if m.dst != a.node]
        known = set(pending)
        for e in evs:
            if e[0] == "send" and e[2] in s2.net and e[2] not in known:
                pending.append(e[2])
                known.add(e[2])
        s = s2
        steps.append(evs)
    else:
        return s, steps, "step_limit"
    return s, steps, "complete" if complete(p, s) else "stalled"


def emit_trace(
    p: Params,
    seed: int = 0,
    behaviours: frozenset[str] | str = frozenset(),
    dim: int = 2,
    ghost: bool = True,
    signer: Callable[[str, bytes], str] | None = None,
    keys: dict[str, dict[str, str]] | None = None,
    max_steps: int = 1_000_000,
    byz_prob: float = 0.05,
) -> list[dict[str, Any]]:
    """A whole trace (header, events, end) as a list of JSON-able dicts."""
    if isinstance(behaviours, str):
        behaviours = frozenset(b for b in behaviours.split(",") if b)
    assert set(behaviours) <= set(BEHAVIOURS), behaviours
    s, steps, status = run(p, seed, behaviours, max_steps, byz_prob)
    r = Renderer(p, dim, seed, ghost, signer)
    hdr = header(p, dim, seed, ghost, ",".join(sorted(behaviours)) or "silent", keys)
    for evs in steps:
        for e in evs:
            r.event(e)
    _end(r, s, status, f"model run, seed {seed}")
    return [hdr] + r.lines


def _end(r: Renderer, s: SysState, status: str, detail: str) -> None:
    done: dict[str, int] = {}
    for j, a in enumerate(s.aggs):
        done[f"A{j}"] = 0 if a is None else a.round
    for i, c in enumerate(s.clients):
        done[f"C{i}"] = len(c.accepted) - 1
    r.put("end", None, status=status, rounds_done=done, detail=detail)


def path_trace(
    p: Params, behaviours: frozenset[str], actions: list[Action], status: str, detail: str, dim: int = 2
) -> list[dict[str, Any]]:
    """The trace of one path of the explorer (a counterexample): its actions replayed
    with events in explorer mode, ending with ``status`` (``stalled`` for a deadlock,
    ``step_limit`` for a prefix cut at a safety violation). Unsigned."""
    mode = Mode(behaviours=behaviours, explorer=True, events=True)
    s = initial_state(p, mode)
    r = Renderer(p, dim, 0, True, None)
    for a in actions:
        s, evs = step(p, s, a, mode)
        for e in evs:
            r.event(e)
    _end(r, s, status, detail)
    return [header(p, dim, 0, True, ",".join(sorted(behaviours)) or "silent", None)] + r.lines
