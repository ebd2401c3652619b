"""``asfl keygen``, ``asfl node`` and ``asfl merge`` on loopback, and their configuration errors."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from asfl.cli import main
from asfl.impl.net.keys import load_roster

SMALL = ["--clients", "8", "--aggregators", "4", "--t-c", "0", "--rounds", "1", "--byzantine", "0"]
SMALL += ["--crashed", "0"]


def free_base(n: int) -> int:
    """A base port with ``n`` consecutive free loopback ports (probed by binding them)."""
    for base in range(20000 + os.getpid() % 20000, 65000, 97):
        socks = []
        try:
            for k in range(n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + k))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


@pytest.fixture
def keydir(tmp_path: Path) -> Path:
    d = tmp_path / "keys"
    assert main(["keygen", str(d), *SMALL, "--base-port", str(free_base(12))]) == 0
    return d


def test_keygen_writes_private_keys_readable_only_by_owner_and_a_public_roster(keydir: Path) -> None:
    roster = load_roster(keydir / "roster.json")
    assert sorted(roster.peers) == sorted([f"A{j}" for j in range(4)] + [f"C{i}" for i in range(8)])
    for name in roster.peers:
        for part in ("sign", "kx"):
            mode = stat.S_IMODE((keydir / f"{name}.{part}.pem").stat().st_mode)
            assert mode == 0o600
    assert "PRIVATE" not in (keydir / "roster.json").read_text()


def test_nodes_run_as_separate_processes_and_their_merged_trace_validates(
    keydir: Path, tmp_path: Path
) -> None:
    roster = keydir / "roster.json"
    traces = tmp_path / "nodes"
    groups = [[f"A{j}" for j in range(4)], [f"C{i}" for i in range(8)]]  # several nodes per process
    procs = []
    for group in groups:
        cmd = [sys.executable, "-m", "asfl", "node", "--roster", str(roster), "--keys", str(keydir)]
        cmd += ["--trace-dir", str(traces), "--linger", "1", "--max-seconds", "90"]
        for name in group:
            cmd += ["--id", name]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=150)
        assert p.returncode == 0, err
    merged = tmp_path / "merged.jsonl"
    assert main(["merge", "--roster", str(roster), str(traces), "--trace", str(merged)]) == 0
    assert main(["check", str(merged)]) == 0


def _node(keydir: Path, *extra: str) -> list[str]:
    return [
        "node",
        "--roster",
        str(keydir / "roster.json"),
        "--keys",
        str(keydir),
        "--max-seconds",
        "1",
        *extra,
    ]


def test_unknown_node_is_a_usage_error(keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_node(keydir, "--id", "A9")) == 2
    assert "A9 is not in" in capsys.readouterr().err


def test_missing_private_key_names_the_node(keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (keydir / "A2.kx.pem").unlink()
    assert main(_node(keydir, "--id", "A2")) == 2
    err = capsys.readouterr().err
    assert "A2: cannot read private key" in err and len(err.strip().splitlines()) == 1


def test_wrong_private_key_names_the_node(keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(keydir / "A1.sign.pem", keydir / "A2.sign.pem")
    assert main(_node(keydir, "--id", "A2")) == 2
    assert "A2: the private keys" in capsys.readouterr().err


def test_garbage_key_file_names_the_node(keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (keydir / "A0.sign.pem").write_text("not a key")
    assert main(_node(keydir, "--id", "A0")) == 2
    assert "A0:" in capsys.readouterr().err


def test_port_in_use_names_the_node(keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    peer = load_roster(keydir / "roster.json").peers["A3"]
    with socket.socket() as s:
        s.bind((peer.host, peer.port))
        s.listen()
        assert main(_node(keydir, "--id", "A3")) == 2
    assert f"A3: cannot listen on {peer.host}:{peer.port}" in capsys.readouterr().err


def test_malformed_roster_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "roster.json"
    bad.write_text("{")
    assert main(["node", "--roster", str(bad), "--keys", str(tmp_path), "--id", "A0"]) == 2
    assert "not a JSON roster" in capsys.readouterr().err


def test_unreachable_peers_end_in_the_watchdog_naming_the_stuck_node(
    keydir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """C0 alone: its coordinator never answers; the watchdog stops it (exit 1) and says where it is."""
    assert main([*_node(keydir, "--id", "C0"), "--trace-dir", str(tmp_path / "t")]) == 1
    err = capsys.readouterr().err
    assert "watchdog after 1 s: C0 at round 0" in err


def test_deploy_rejects_more_kills_than_nodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["deploy", *SMALL, "--kill-aggregators", "5", "--trace", str(tmp_path / "t.jsonl")]
    assert main(args) == 2
    assert "cannot kill 5 aggregators" in capsys.readouterr().err


def test_roster_without_a_flag_is_a_usage_error(keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = keydir / "roster.json"
    raw = json.loads(path.read_text())
    del raw["run"]["seed"]
    path.write_text(json.dumps(raw))
    assert main(_node(keydir, "--id", "A0")) == 2
    assert "lacks the flag 'seed'" in capsys.readouterr().err
