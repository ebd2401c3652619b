"""The trace sets the checker tests share (a module, not the conftest, so that test
modules can import it: several test folders have a conftest): the implementation's (one
per Byzantine behaviour, real signatures, ghost fields, a crashed client) and the model's
signing keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.impl.sim.byzantine import BEHAVIOURS as IMPL_BEHAVIOURS
from asfl.impl.sim.run import RunConfig, execute
from asfl.model.params import Params

Trace = list[dict[str, Any]]

P_SIGNED = Params(n_a=4, t_a=1, n_c=9, t_c=0, q_min=2, B=1, R=3, byzantine=frozenset({0}))


class Signer:
    """Ed25519 keys for every node of ``p``; signs envelope digests for the emitter."""

    def __init__(self, p: Params) -> None:
        self.sk = {n: Ed25519PrivateKey.generate() for n in list(p.aggregators) + list(p.client_names)}
        self.keys = {
            n: {"sign": k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex(), "kx": "00" * 32}
            for n, k in self.sk.items()
        }

    def __call__(self, node: str, digest: bytes) -> str:
        return self.sk[node].sign(digest).hex()


def read(path: Path) -> Trace:
    return [json.loads(line) for line in path.read_text().splitlines()]


def impl_trace_set(d: Path, cfg: ProtocolConfig, task: Task, seed: int, crashed: int) -> dict[str, Trace]:
    """One implementation trace per Byzantine behaviour (random scheduler, one Byzantine
    aggregator, ``crashed`` crashed clients), written under ``d``."""
    out: dict[str, Trace] = {}
    for b in sorted(IMPL_BEHAVIOURS):
        path = d / f"{b}.jsonl"
        run = RunConfig(
            cfg, trace=path, seed=seed, scheduler="random", behaviour=b, byzantine=1, crashed=crashed
        )
        summary, _ = execute(run, task=task)
        assert summary.status == "complete"
        out[b] = read(path)
    return out
