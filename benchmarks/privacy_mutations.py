"""Privacy mutation check (issue 14, must hold): planted privacy bugs fail the default tests.

    .venv/bin/python benchmarks/privacy_mutations.py [--only NAME[,NAME]] [--all-tests] [--list]

For each mutation: copy the source tree to a temporary directory (the working tree as it
is, links kept), apply the mutation there (an exact text replacement; the script stops if
the text is not found, so a refactoring cannot make a mutation silently vanish), and run
the default suite's privacy-relevant tests (``--all-tests``: the whole default suite) with
``PYTHONPATH`` pointing at the copy. A mutation is *caught* when at least one test fails.
Prints, per mutation, the failing tests; exit status 1 if any mutation survives. Nothing is
written to the source tree. About 1-2 minutes of CPU per mutation on the relevant tests.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEVANT = [
    "tests/impl/test_noise_node.py",
    "tests/impl/test_fixed_point_edges.py",
    "tests/impl/test_mask_cancellation.py",
    "tests/checker/test_privacy_checks.py",
    "tests/checker/test_impl_traces.py",
    "tests/unit/test_learning_privacy.py",
    "tests/unit/test_learning_quantize.py",
    "tests/unit/test_learning_noise.py",
]


@dataclass(frozen=True)
class Mutation:
    """Replace ``old`` by ``new`` in ``path`` (exactly one occurrence)."""

    name: str
    kind: str  # which must-hold bug of issue 14 it plants
    path: str
    old: str
    new: str


MUTATIONS = [
    Mutation(
        "noise-x1.1",
        "noise scale off by a constant factor (std x1.1)",
        "impl/config.py",
        "return self.skellam.variance / (self.noise_shares or self.q_min)",
        "return 1.21 * self.skellam.variance / (self.noise_shares or self.q_min)",
    ),
    Mutation(
        "noise-over-qmin",
        "noise scale off by a constant factor (variance / q_min again, at the client's call)",
        "impl/client.py",
        "cfg.client_noise_var, self.rng)",
        "cfg.client_noise_var / cfg.q_min, self.rng)",
    ),
    Mutation(
        "noise-reused-in-catch-up",
        "one noise draw reused in two submissions (the catch-up submissions of one step)",
        "impl/client.py",
        "        for tau in range(st.next_submit, min(latest, cfg.rounds - 1) + 1):\n"
        "            out += self._submit(tau)\n",
        "        drawn = self.rng.bit_generator.state\n"
        "        for tau in range(st.next_submit, min(latest, cfg.rounds - 1) + 1):\n"
        "            self.rng.bit_generator.state = drawn\n"
        "            out += self._submit(tau)\n",
    ),
    Mutation(
        "noise-reused-always",
        "one noise draw reused in every submission of a client",
        "impl/client.py",
        "cfg.client_noise_var, self.rng)",
        "cfg.client_noise_var, np.random.default_rng(self.index))",
    ),
    Mutation(
        "sensitivity-without-rounding",
        "Delta_2 of the unrounded vector (C 2^f) instead of the rounded one (D-9)",
        "impl/learning/quantize.py",
        "return c * 2.0**frac_bits + math.sqrt(dim) / 2.0",
        "return c * 2.0**frac_bits",
    ),
    Mutation(
        "rdp-without-surcharge",
        "the Gaussian RDP curve for the Skellam mechanism (its discreteness term dropped)",
        "impl/learning/privacy.py",
        "return _ALPHA * l2sq / (2 * mu) + surcharge",
        "return _ALPHA * l2sq / (2 * mu) + 0 * surcharge",
    ),
    Mutation(
        "epsilon-x0.99",
        "a reported epsilon below the accountant's (1 % low)",
        "impl/learning/privacy.py",
        "return {client: epsilon(mechanism, n, delta) for client, n in inclusions.items()}",
        "return {client: 0.99 * epsilon(mechanism, n, delta) for client, n in inclusions.items()}",
    ),
    Mutation(
        "epsilon-one-inclusion-short",
        "a reported epsilon below the accountant's (one inclusion not counted)",
        "impl/learning/privacy.py",
        "epsilon(mechanism, n, delta) for client, n",
        "epsilon(mechanism, max(n - 1, 0), delta) for client, n",
    ),
    Mutation(
        "clamp-plus-one",
        "a clamp bound one too large (D-5 formula)",
        "impl/learning/quantize.py",
        "bound = (p_half - noise_headroom) // max_cluster_size\n",
        "bound = (p_half - noise_headroom) // max_cluster_size + 1\n",
    ),
    Mutation(
        "clamp-plus-one-config",
        "a clamp bound one too large (the configuration's Q)",
        "impl/config.py",
        "return max_abs_per_client(HALF, self.k_max, self.noise_headroom)",
        "return max_abs_per_client(HALF, self.k_max, self.noise_headroom) + 1",
    ),
    Mutation(
        "clamp-without-noise-headroom",
        "a clamp bound that leaves no room for the noise (D-5 before integer noise)",
        "impl/config.py",
        "return max_abs_per_client(HALF, self.k_max, self.noise_headroom)",
        "return max_abs_per_client(HALF, self.k_max)",
    ),
]

_IGNORE = shutil.ignore_patterns(".git", "runs", "build", "__pycache__", ".*_cache", "*.egg-info")


def scratch_copy(dest: Path) -> Path:
    """The working tree under ``dest`` (links such as asfl/impl -> ../impl kept as links)."""
    tree = dest / "tree"
    shutil.copytree(ROOT, tree, symlinks=True, ignore=_IGNORE)
    return tree


def apply(tree: Path, m: Mutation) -> None:
    path = tree / m.path
    text = path.read_text(encoding="utf-8")
    if text.count(m.old) != 1:
        raise SystemExit(f"{m.path}: mutation {m.name}: the text to replace occurs {text.count(m.old)} times")
    path.write_text(text.replace(m.old, m.new), encoding="utf-8")


def run_tests(tree: Path, tests: list[str]) -> tuple[int, list[str], float]:
    """(pytest exit code, failing test ids, seconds) for ``tests`` run against ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", *tests]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=3600)
    failed = sorted(set(re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, flags=re.M)))
    return proc.returncode, failed, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated mutation names (default: all)")
    ap.add_argument("--all-tests", action="store_true", help="run the whole default suite per mutation")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = ap.parse_args()
    chosen = MUTATIONS
    if args.only:
        names = set(args.only.split(","))
        unknown = names - {m.name for m in MUTATIONS}
        if unknown:
            print(f"--only: unknown mutation(s) {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        chosen = [m for m in MUTATIONS if m.name in names]
    if args.list:
        for m in chosen:
            print(f"{m.name:28} {m.path:28} {m.kind}")
        return 0
    tests = ["tests"] if args.all_tests else RELEVANT
    print(f"load: {os.getloadavg()[0]:.2f}; tests: {' '.join(tests)}")
    survived = []
    with tempfile.TemporaryDirectory(prefix="asfl-mutations-") as tmp:
        code, failed, secs = run_tests(scratch_copy(Path(tmp) / "baseline"), tests)
        print(f"\nbaseline (no mutation): exit {code}, {len(failed)} failing, {secs:.0f} s")
        if code != 0:
            print("the unmutated tree fails: " + ", ".join(failed), file=sys.stderr)
            return 2
        for m in chosen:
            tree = scratch_copy(Path(tmp) / m.name)
            apply(tree, m)
            code, failed, secs = run_tests(tree, tests)
            verdict = "CAUGHT" if code != 0 else "SURVIVED"
            print(f"\n{m.name} ({m.kind}; {m.path}): {verdict}, {len(failed)} failing, {secs:.0f} s")
            for test in failed:
                print(f"  {test}")
            if code == 0:
                survived.append(m.name)
            shutil.rmtree(tree)
    print(
        f"\n{len(chosen) - len(survived)}/{len(chosen)} mutations caught"
        + (f"; survived: {survived}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
