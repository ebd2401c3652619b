"""Deployments draw keys, masks and noise from the operating system (D-2, issue 10)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import randomgen

from asfl import cli_run
from asfl.cli_keygen import roster_flags
from asfl.impl import field as gf
from asfl.impl.client import Client
from asfl.impl.messages import Envelope, Submit
from asfl.impl.net.compose import make_node, scenario
from asfl.impl.net.keys import keygen, load_private, node_names
from asfl.impl.node import Send

OPTS = dict(clients=8, aggregators=4, t_c=0, rounds=1, byzantine=0, crashed=0, noise_multiplier=0.0)


def _roster(tmp_path: Path, opts: dict[str, Any], name: str):  # type: ignore[no-untyped-def]
    addrs = {n: ("127.0.0.1", 1 + k) for k, n in enumerate(node_names(4, 8))}
    return keygen(tmp_path / name, roster_flags(opts), addrs)


def _submission(sc, roster, keys_dir: Path) -> np.ndarray:  # type: ignore[no-untyped-def]
    client, _ = make_node(sc, roster, "C0", load_private(keys_dir, "C0", roster))
    assert isinstance(client, Client)
    assert isinstance(client.rng.bit_generator, randomgen.ChaCha)  # noise and batches: ChaCha20
    client.state.momentum = np.full(sc.cfg.dim, 0.25)  # the same update x in both deployments
    send = next(o for o in client._submit(0) if isinstance(o, Send))
    body = Submit.decode(Envelope.decode(send.data).body, sc.cfg.dims)
    return body.y


def test_two_deployments_with_the_same_flags_draw_different_keys_and_masks(
    tmp_path: Path, flags: Callable[..., dict[str, Any]]
) -> None:
    opts = flags(**OPTS, trace_path=None)
    sc = scenario(cli_run.run_config(opts))
    first, second = _roster(tmp_path, opts, "one"), _roster(tmp_path, opts, "two")
    for name in first.peers:
        assert first.peers[name].sign != second.peers[name].sign
        assert first.peers[name].kx != second.peers[name].kx
    y1 = _submission(sc, first, tmp_path / "one")
    y2 = _submission(sc, second, tmp_path / "two")
    # y = x + mask with the same x (no noise, same momentum): different y means different masks
    assert not np.array_equal(y1, y2)
    assert np.count_nonzero(gf.sub(y1, y2)) > 0.99 * sc.cfg.dim


def test_deployment_nodes_write_no_ghost_fields(tmp_path: Path, flags: Callable[..., dict[str, Any]]) -> None:
    opts = flags(**OPTS, trace_path=None)
    sc = scenario(replace(cli_run.run_config(opts)))
    roster = _roster(tmp_path, opts, "k")
    for name in ("A0", "C0"):
        node, honest = make_node(sc, roster, name, load_private(tmp_path / "k", name, roster))
        assert honest and node.ghost is False  # type: ignore[attr-defined]


def test_run_no_ghost_writes_a_simulator_trace_without_ghost_fields(tmp_path: Path) -> None:
    from asfl.cli import main

    trace = tmp_path / "t.jsonl"
    args = ["run", "--no-ghost", "--clients", "8", "--aggregators", "4", "--t-c", "0", "--rounds", "1"]
    assert main([*args, "--crashed", "0", "--trace", str(trace)]) == 0
    lines = trace.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["ghost"] is False and header["entropy"].startswith("deterministic (simulation only)")
    assert not any("ghost" in json.loads(line) for line in lines[1:])
    assert main(["check", str(trace)]) == 0
