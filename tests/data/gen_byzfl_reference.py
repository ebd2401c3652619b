"""Generate tests/data/byzfl_reference.json: ByzFL 0.0.11 outputs on random inputs.

ByzFL (https://pypi.org/project/byzfl/) is an independent reference for our robust
aggregators (impl/learning/robust.py); it is *not* a dependency of asfl. To
regenerate:

    pip download --no-deps -d /tmp/byzfl byzfl==0.0.11
    unzip -q -o /tmp/byzfl/byzfl-0.0.11-py3-none-any.whl -d /tmp/byzfl/src
    .venv/bin/python tests/data/gen_byzfl_reference.py /tmp/byzfl/src

ByzFL imports torch at module level but never calls it on numpy inputs; when torch is
not installed (it is ~1 GB) this script registers an empty stand-in module so that
the import succeeds, and any torch call would fail loudly. It loads only
byzfl.aggregators (not byzfl/__init__.py, which pulls in torchvision).

Inputs are Gaussian rows plus f shifted outliers drawn with numpy's PCG64 from a
fixed seed: no ties (almost surely), so tie-breaking conventions do not matter.
Convention differences, and which one each test follows:
- Krum / Multi-Krum: ByzFL scores with the n-f-1 nearest vectors (Allouah et al.
  2023), not Blanchard et al.'s n-f-2; our default is the same (n-f-1).
- GeometricMedian: ByzFL's default (nu=0.1, T=3, start 0) is far from converged; we
  run it with T=3000 iterations and compare with ours run to convergence, same nu.
- CenteredClipping: ByzFL 0.0.11 rejects every ``m`` in its constructor (its type
  check is always true), so we set the attribute after construction; our stateless
  variant starts at the coordinate median, which we pass to ByzFL that way.
- Ties (Krum, Multi-Krum, MDA): ByzFL keeps the lowest index, we keep the
  lexicographically smallest row / subset mean (order-independent); for these rules
  ByzFL is also run on the reversed rows, and where its two answers differ the test
  accepts either.
- Bucketing: ByzFL shuffles with the global numpy RNG; we record the permutation it
  used (same seed) and pass it to ours as ``order``.
- Clipping: ByzFL clips in place, so it gets a copy.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("byzfl_reference.json")


def _load_byzfl(src: Path) -> tuple[types.ModuleType, types.ModuleType]:
    try:
        import torch  # noqa: F401
    except ImportError:
        torch = types.ModuleType("torch")
        torch.Tensor = type("Tensor", (), {})  # type: ignore[attr-defined]
        linalg = types.ModuleType("torch.linalg")
        torch.linalg = linalg  # type: ignore[attr-defined]
        sys.modules["torch"], sys.modules["torch.linalg"] = torch, linalg
    for pkg in ("byzfl", "byzfl.utils", "byzfl.aggregators"):  # skip the __init__ files
        mod = types.ModuleType(pkg)
        mod.__path__ = [str(src / pkg.replace(".", "/"))]  # type: ignore[attr-defined]
        sys.modules[pkg] = mod
    loaded = []
    for name in (
        "byzfl.utils.torch_tools",
        "byzfl.utils.misc",
        "byzfl.aggregators.aggregators",
        "byzfl.aggregators.preaggregators",
    ):
        spec = importlib.util.spec_from_file_location(name, src / (name.replace(".", "/") + ".py"))
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        loaded.append(mod)
    return loaded[2], loaded[3]


def _inputs(rng: np.random.Generator, n: int, f: int, d: int) -> np.ndarray:
    X = rng.normal(0.0, 1.0, size=(n, d))
    X[:f] += rng.normal(0.0, 5.0, size=(f, d)) + 4.0  # f outliers, first rows
    return X[rng.permutation(n)]


def main(src: Path) -> None:
    agg, pre = _load_byzfl(src)
    rng = np.random.default_rng(20260611)
    cases = []
    shapes = [
        (3, 1, 1),
        (3, 1, 4),
        (4, 1, 3),
        (5, 1, 6),
        (5, 2, 2),
        (6, 2, 8),
        (7, 2, 5),
        (7, 3, 3),
        (9, 3, 10),
        (10, 4, 4),
        (12, 3, 7),
        (13, 6, 2),
        (4, 0, 3),
    ]
    for k, (n, f, d) in enumerate(shapes):
        X = _inputs(rng, n, f, d)
        start = np.median(X, axis=0)
        tau = float(np.median(np.linalg.norm(X - start, axis=1)))
        cc = agg.CenteredClipping(L=3, tau=tau)
        cc.m = start.copy()
        np.random.seed(1000 + k)
        order = np.random.permutation(n)
        np.random.seed(1000 + k)
        buckets = pre.Bucketing(s=2)(X.copy())
        out = {
            "trimmed_mean": agg.TrMean(f=f)(X),
            "coordinate_median": agg.Median()(X),
            "krum": agg.Krum(f=f)(X),
            "multi_krum": agg.MultiKrum(f=f)(X),
            "geometric_median": agg.GeometricMedian(nu=1e-3, T=3000)(X),
            "mda": agg.MDA(f=f)(X),
            "meamed": agg.Meamed(f=f)(X),
            "centered_clipping": cc(X),
            "nnm": pre.NNM(f=f)(X),
            "bucketing": buckets,
            "clipping": pre.Clipping(c=1.5)(X.copy()),
        }
        # ties (Krum with one neighbour: two mutually nearest rows; MDA: subsets sharing
        # their farthest pair) are broken by index in ByzFL and by value in ours, so
        # ByzFL is also run on the reversed rows: where the two differ, there was a tie
        rev = X[::-1].copy()
        out["krum@reversed"] = agg.Krum(f=f)(rev)
        out["multi_krum@reversed"] = agg.MultiKrum(f=f)(rev)
        out["mda@reversed"] = agg.MDA(f=f)(rev)
        cases.append(
            {
                "n": n,
                "f": f,
                "d": d,
                "X": X.tolist(),
                "cc_tau": tau,
                "gm_nu": 1e-3,
                "bucket_order": order.tolist(),
                "bucket_s": 2,
                "clip_c": 1.5,
                "expected": {name: np.asarray(v, dtype=np.float64).tolist() for name, v in out.items()},
            }
        )
    OUT.write_text(json.dumps({"byzfl": "0.0.11", "seed": 20260611, "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
