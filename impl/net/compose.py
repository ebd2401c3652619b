"""Build the nodes a process hosts from the roster, its own keys and the run's flags.

The same nodes and the same seeded scenario (:func:`asfl.impl.sim.run.plan`: Byzantine
aggregators, clean crashes, data partition) as ``asfl run``, with one difference the
spec requires (D-2, §9): entropy. Masks and Shamir coefficients come from ``os.urandom``
and each client's noise and minibatches from a ChaCha20 generator keyed by
``os.urandom`` (a CSPRNG, unlike numpy's default PCG64); no node writes ghost fields.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import randomgen  # type: ignore[import-untyped]

from asfl.impl import crypto
from asfl.impl.aggregator import Aggregator
from asfl.impl.client import Client
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning import data
from asfl.impl.learning.data import Task
from asfl.impl.learning.models import Model, get_model
from asfl.impl.messages import model_digest
from asfl.impl.net.host import Hosted, KillPoint, NetNode, open_node_trace
from asfl.impl.net.keys import Roster
from asfl.impl.sim.byzantine import ByzantineAggregator
from asfl.impl.sim.run import (
    Plan,
    RunConfig,
    certified_sets,
    client_trainer,
    genesis_params,
    plan,
    protocol_for_task,
)

OS_ENTROPY = "os"


def os_generator() -> np.random.Generator:
    """A numpy generator over ChaCha20 (20 rounds) keyed with 256 bits from ``os.urandom``."""
    key = int.from_bytes(os.urandom(32), "little")
    return np.random.Generator(randomgen.ChaCha(key=key, counter=0, rounds=20))


@dataclass
class Scenario:
    """What every process of a deployment derives identically from the flags."""

    run: RunConfig
    cfg: ProtocolConfig
    task: Task
    plan: Plan
    genesis_model: np.ndarray
    model: Model


def save_task(task: Task, path: Path) -> None:
    """Save the task's arrays (``asfl deploy`` loads the data set once for all its processes)."""
    np.savez(
        path,
        X_train=task.X_train,
        y_train=task.y_train,
        X_test=task.X_test,
        y_test=task.y_test,
        name=np.array(task.name),
    )


def load_task(path: Path) -> Task:
    with np.load(path) as z:
        X_train, y_train, X_test, y_test = (z[k] for k in ("X_train", "y_train", "X_test", "y_test"))
        name = str(z["name"])
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    return Task(X_train, y_train, X_test, y_test, int(X_train.shape[1]), n_classes, name)


def scenario(run: RunConfig, task_path: Path | None = None) -> Scenario:
    """The task (from ``task_path`` if given, else ``run.task`` by name), the model and the
    seeded plan: the same for every process of a deployment and for ``asfl run``."""
    model = get_model(run.model)
    task = load_task(task_path) if task_path is not None else data.load_task(run.task, seed=0)
    cfg = protocol_for_task(run.protocol, task, model)
    return Scenario(run, cfg, task, plan(run, cfg, task), genesis_params(cfg, task, model), model)


def make_node(sc: Scenario, roster: Roster, name: str, keys: crypto.NodeKeys) -> tuple[NetNode, bool]:
    """The node ``name`` and whether it is honest (writes protocol events)."""
    cfg, public = sc.cfg, roster.public_keys()
    index = int(name[1:])
    if name[0] == "A":
        core = Aggregator(cfg, index, keys, public, sc.genesis_model, ghost=False)
        if index in sc.plan.byzantine:
            rng = np.random.default_rng([sc.run.seed, 7, index])
            return ByzantineAggregator(core, sc.run.behaviour, rng), False
        return core, True
    trainer = client_trainer(sc.task, cfg, sc.plan.parts[index], sc.model)
    client = Client(
        cfg, index, keys, public, sc.genesis_model, trainer, os_generator(), os.urandom, ghost=False
    )
    return client, True


def hosted(
    sc: Scenario,
    roster: Roster,
    name: str,
    keys: crypto.NodeKeys,
    trace_dir: Path,
    kill: KillPoint | None,
) -> Hosted:
    node, honest = make_node(sc, roster, name, keys)
    trace = open_node_trace(trace_dir / f"{name}.jsonl", name, {"honest": honest, "entropy": OS_ENTROPY})
    crash_after = sc.plan.crash_after.get(name)
    return Hosted(name, node, keys, honest, trace, crash_after=crash_after, kill=kill)


def merged_header(sc: Scenario, roster: Roster, node_traces: dict[str, Path]) -> dict[str, Any]:
    """The merged trace's header, but for ``byzantine`` (the merge adds killed aggregators)."""
    return {
        "config": sc.cfg.trace_config(sc.run.seed),
        "keys": {n: {"sign": p.sign.hex(), "kx": p.kx.hex()} for n, p in roster.peers.items()},
        "behaviour": sc.run.behaviour if sc.plan.byzantine else "none",
        "crashed": sc.plan.crashed,
        "scheduler": "tcp",
        "ghost": False,
        "entropy": OS_ENTROPY,
        "nodes": {n: str(p) for n, p in node_traces.items()},
        "genesis_model": model_digest(sc.genesis_model).hex(),
    }


def final_report(sc: Scenario, nodes: dict[str, Hosted]) -> dict[str, Any]:
    """What the summary needs from this process: accuracy and certified sets per honest aggregator."""
    out: dict[str, Any] = {}
    for name, h in nodes.items():
        if isinstance(h.node, Aggregator) and h.honest:
            model = h.node.models[h.node.round]
            out[name] = {
                "accuracy": sc.model.accuracy(model, sc.task.X_test, sc.task.y_test, sc.task.n_classes),
                "certified": [[t, c, list(s)] for (t, c), s in certified_sets([h.node]).items()],
            }
    return {"nodes": out}
