"""The installed package works outside the checkout (issue 13).

Builds the wheel from a temporary copy of the repository (so no build/ or egg-info lands in
the source tree), installs it into a fresh virtual environment outside the checkout (its
dependencies come from the running environment's site-packages, linked by a .pth file;
the ``asfl`` it imports is the wheel's, which the test checks), and from an empty
directory runs ``asfl run``, ``asfl check`` on the trace it wrote, ``asfl prove`` and
``asfl zoo --bug``: data files come from the package (importlib.resources), not the repo.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(
    ".git", ".venv*", "runs", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".*_cache"
)


def sh(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{argv} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A venv with the freshly built wheel installed: its bin directory and a clean environment."""
    if not (ROOT / "pyproject.toml").exists():
        pytest.skip("not a source checkout")
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    src = base / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=IGNORE)
    sh(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(src)],
        base,
        env,
    )
    (wheel,) = (base / "dist").glob("asfl-*.whl")
    venv = base / "venv"
    sh([sys.executable, "-m", "venv", "--without-pip", str(venv)], base, env)
    vpython = venv / "bin" / "python"
    purelib = sh([str(vpython), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base, env)
    site = Path(purelib.stdout.strip())
    (site / "asfl-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    sh(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(vpython),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        base,
        env,
    )
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return venv / "bin", env


def test_installed_wheel_runs_from_an_empty_directory(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Packaging (issue 13; exercises R-1, S-6/I-1 proofs and the zoo's I-2 catch): from an
    installed wheel, in an empty directory, a small run writes its trace under runs/, check
    accepts it, prove proves every quick obligation and the zoo catches a planted bug."""
    bin_dir, env = installed
    work = tmp_path / "empty"
    work.mkdir()
    where = sh(
        [str(bin_dir / "python"), "-c", "import asfl, asfl.impl; print(asfl.__file__, asfl.impl.__file__)"],
        work,
        env,
    )
    for path in where.stdout.split():
        assert Path(path).resolve().is_relative_to(bin_dir.parent.resolve()), where.stdout
    asfl = str(bin_dir / "asfl")
    run = sh([asfl, "run", "--clients", "16", "--rounds", "2", "--json"], work, env)
    assert '"status": "complete"' in run.stdout
    assert (work / "runs" / "latest.jsonl").is_file()
    check = sh([asfl, "check", "runs/latest.jsonl", "--json"], work, env)
    assert '"valid": true' in check.stdout
    prove = sh([asfl, "prove", "--json"], work, env)
    assert '"refuted"' not in prove.stdout and '"proved"' in prove.stdout
    zoo = sh(
        [asfl, "zoo", "--bug", "certify-quorum-off-by-one", "--budget", "30", "--shrink", "1", "--no-save"],
        work,
        env,
    )
    assert "caught 1 of 1" in zoo.stdout
    assert sorted(p.name for p in work.iterdir()) == ["runs"]  # nothing written beside the outputs
