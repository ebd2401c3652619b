"""Keys and the public roster of a deployment (§1: a PKI set up before round 0).

``keygen`` draws each node's Ed25519 and X25519 private keys from the operating system
(``cryptography``'s key generation reads the OS CSPRNG) and writes them, one node per
pair of PKCS#8 PEM files (``<name>.sign.pem``, ``<name>.kx.pem``, mode 0600), beside a
public ``roster.json``: the run's configuration flags, and per node its ``host:port`` and
public keys. A node loads only its own private keys and checks them against the roster.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from asfl.impl import crypto
from asfl.impl.node import PublicKeys, aggregator_name, client_name

ROSTER_SCHEMA = "asfl-roster/1"
ROSTER_FILE = "roster.json"


class KeyFileError(ValueError):
    """A key or roster file is missing, unreadable or inconsistent; the message names it."""


@dataclass(frozen=True)
class Peer:
    """One roster entry: where a node listens and its public keys."""

    name: str
    host: str
    port: int
    sign: bytes
    kx: bytes


@dataclass(frozen=True)
class Roster:
    """The public part of a deployment: configuration flags and every node's address and keys."""

    run: dict[str, Any]
    peers: dict[str, Peer]

    @property
    def aggregators(self) -> list[str]:
        return [n for n in self.peers if n.startswith("A")]

    @property
    def clients(self) -> list[str]:
        return [n for n in self.peers if n.startswith("C")]

    def public_keys(self) -> PublicKeys:
        aggs = [self.peers[aggregator_name(j)] for j in range(len(self.aggregators))]
        clis = [self.peers[client_name(i)] for i in range(len(self.clients))]
        return PublicKeys(
            tuple(p.sign for p in aggs),
            tuple(p.kx for p in aggs),
            tuple(p.sign for p in clis),
            tuple(p.kx for p in clis),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": ROSTER_SCHEMA,
            "run": self.run,
            "nodes": {
                p.name: {"host": p.host, "port": p.port, "sign": p.sign.hex(), "kx": p.kx.hex()}
                for p in self.peers.values()
            },
        }


def node_names(n_aggregators: int, n_clients: int) -> list[str]:
    return [aggregator_name(j) for j in range(n_aggregators)] + [client_name(i) for i in range(n_clients)]


def _pem(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def keygen(directory: Path, run: dict[str, Any], addresses: dict[str, tuple[str, int]]) -> Roster:
    """Generate fresh keys (OS entropy) for every node of ``addresses`` and write them and the roster."""
    directory.mkdir(parents=True, exist_ok=True)
    peers = {}
    for name, (host, port) in addresses.items():
        sign, kx = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
        _write_private(directory / f"{name}.sign.pem", _pem(sign))
        _write_private(directory / f"{name}.kx.pem", _pem(kx))
        peers[name] = Peer(
            name, host, port, sign.public_key().public_bytes_raw(), kx.public_key().public_bytes_raw()
        )
    roster = Roster(run, peers)
    (directory / ROSTER_FILE).write_text(json.dumps(roster.to_json(), indent=1) + "\n", encoding="utf-8")
    return roster


def load_roster(path: Path) -> Roster:
    """Read and validate a roster; :class:`KeyFileError` naming the file and the problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read roster: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: not a JSON roster: {exc}") from None
    if not isinstance(raw, dict) or raw.get("schema") != ROSTER_SCHEMA:
        raise KeyFileError(f"{path}: not an {ROSTER_SCHEMA} roster")
    run, nodes = raw.get("run"), raw.get("nodes")
    if not isinstance(run, dict) or not isinstance(nodes, dict):
        raise KeyFileError(f"{path}: roster needs objects 'run' and 'nodes'")
    peers = {}
    for name, entry in nodes.items():
        try:
            host, port = entry["host"], entry["port"]
            sign, kx = bytes.fromhex(entry["sign"]), bytes.fromhex(entry["kx"])
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyFileError(f"{path}: node {name}: bad entry ({exc})") from None
        if not (isinstance(host, str) and isinstance(port, int) and 0 < port < 65536):
            raise KeyFileError(f"{path}: node {name}: bad host:port {host}:{port}")
        if len(sign) != crypto.PUB_LEN or len(kx) != crypto.PUB_LEN:
            raise KeyFileError(f"{path}: node {name}: public keys must be {crypto.PUB_LEN} bytes")
        peers[name] = Peer(name, host, port, sign, kx)
    n_a, n_c = run.get("aggregators"), run.get("clients")
    if not isinstance(n_a, int) or not isinstance(n_c, int) or sorted(peers) != sorted(node_names(n_a, n_c)):
        raise KeyFileError(f"{path}: the nodes do not match {n_a} aggregators and {n_c} clients")
    return Roster(run, peers)


def load_private(directory: Path, name: str, roster: Roster) -> crypto.NodeKeys:
    """Load ``name``'s own private keys and check them against its roster entry."""
    keys = []
    for part, cls in (("sign", Ed25519PrivateKey), ("kx", X25519PrivateKey)):
        path = directory / f"{name}.{part}.pem"
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except OSError as exc:
            raise KeyFileError(f"{name}: cannot read private key {path}: {exc.strerror or exc}") from None
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{name}: {path} is not an unencrypted PEM private key: {exc}") from None
        if not isinstance(key, cls):
            raise KeyFileError(f"{name}: {path} holds a {type(key).__name__}, not a {cls.__name__}")
        keys.append(key)
    sign_key, kx_key = keys
    assert isinstance(sign_key, Ed25519PrivateKey) and isinstance(kx_key, X25519PrivateKey)
    node = crypto.NodeKeys(sign_key, kx_key)
    peer = roster.peers[name]
    if node.sign_pub != peer.sign or node.kx_pub != peer.kx:
        raise KeyFileError(f"{name}: the private keys in {directory} do not match the roster's public keys")
    return node
