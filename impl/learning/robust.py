"""Robust aggregation of certified cluster results (Rule R-13, D-15; RESAM).

Every aggregator takes ``X`` of shape ``(n, d)`` (one row per cluster result, rows
ordered by cluster) and ``f``, the number of rows that may be arbitrary, and returns
a new ``(d,)`` float64 vector. Every pre-aggregator takes the same arguments and
returns a new ``(m, d)`` matrix. ``X`` is never modified (tests pass read-only
arrays). Inputs must be finite: cluster results are decoded from field elements,
so a NaN/inf can only come from a caller bug and is rejected. Everything is
deterministic (ties are broken by the lowest row index, never by randomness) and
uses only element-wise numpy and numpy reductions, no BLAS, so every node that
rechecks a model (R-15d) computes the same bits.

Robustness notions
------------------
*(f, kappa)-robustness* (Allouah, Farhadkhani, Guerraoui, Gupta, Pinot, Stephan,
"Fixing by Mixing: A Recipe for Optimal Byzantine ML under Heterogeneity",
AISTATS 2023, Def. 2): for every set ``S`` of ``n - f`` rows,

    ||F(X) - mean(X_S)||^2 <= kappa / |S| * sum_{i in S} ||x_i - mean(X_S)||^2.

No rule has ``kappa < f / (n - 2f)`` (ibid., Prop. 1). The values quoted below are
the upper bounds of Allouah et al. 2023 (Table 1 and Thm. 1), all for ``n > 2f``.

*(f, lambda)-resilient averaging* (Farhadkhani, Guerraoui, Gupta, Pinot, Stephan,
"Byzantine Machine Learning Made Easy by Resilient Averaging of Momentums",
ICML 2022, Def. 1): for every such ``S``,

    ||F(X) - mean(X_S)|| <= lambda * max_{i, j in S} ||x_i - x_j||.

:func:`kappa` returns the documented coefficient of a rule name, or ``None`` when
the cited papers prove none for our variant. Tests check these bounds on random
inputs with ``f`` outliers (``tests/learning/test_robust_properties.py``).

Rule names (the protocol's ``rule``, R-13/R-14)
-----------------------------------------------
A rule is ``pre_1+...+pre_k+agg``: zero or more pre-aggregators applied left to
right, then one aggregator, all with the same ``f`` (e.g. ``nnm+trimmed_mean``).
A pre-aggregator may carry one numeric parameter in parentheses: ``clip(1.5)``,
``bucketing(3)``. The name is a plain deterministic string, so a client checks
``announce.rule == cfg.rule`` and recomputes the model with
:func:`get_aggregator` (impl/certify.next_model). Custom parameters of the
aggregators themselves are available in Python through :func:`compose` and
``functools.partial``, not as protocol rules.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache, partial

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Aggregator = Callable[[FloatArray, int], FloatArray]
PreAggregator = Callable[[FloatArray, int], FloatArray]

_BLOCK = 1 << 15

MDA_EXACT_MAX_SUBSETS = 100_000
"""MDA searches all C(n, f) subsets exactly up to this many (every f for n <= 19)."""


# -- helpers -------------------------------------------------------------------------


def _check(X: FloatArray, f: int, *, need_honest_majority: bool) -> FloatArray:
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] == 0:
        raise ValueError(f"X must be a 2-D array with at least one row, got shape {A.shape}")
    if f < 0:
        raise ValueError(f"f must be >= 0, got {f}")
    n = A.shape[0]
    if need_honest_majority and n <= 2 * f:
        raise ValueError(f"need n > 2f rows, got n={n}, f={f}")
    if not np.all(np.isfinite(A)):
        raise ValueError("X contains NaN or infinite entries")
    return A


def _sq_dists(A: FloatArray) -> FloatArray:
    """Pairwise squared Euclidean distances from row differences (exact-ish, no BLAS).

    Costs n(n-1)/2 * d multiply-adds; the Gram-matrix shortcut would be faster but
    loses precision by cancellation and depends on the BLAS build.
    """
    n, d = A.shape
    D = np.zeros((n, n), dtype=np.float64)
    block = _BLOCK  # columns per block: temporaries stay small (cache, no page faults)
    buf = np.empty((n, min(d, block)), dtype=np.float64)
    for lo in range(0, d, block):
        Ab = A[:, lo : lo + block]
        for i in range(n - 1):
            diff = np.subtract(Ab[i + 1 :], Ab[i], out=buf[: n - i - 1, : Ab.shape[1]])
            row = np.einsum("ij,ij->i", diff, diff)
            D[i, i + 1 :] += row
    return D + D.T


def _row_norms(A: FloatArray) -> FloatArray:
    return np.sqrt(np.einsum("ij,ij->i", A, A))


def _lex_order(A: FloatArray, idx: IntArray) -> IntArray:
    """``idx`` sorted by the values of its rows (lexicographically, first column first)."""
    if idx.size <= 1:
        return idx
    return idx[np.lexsort(A[idx].T[::-1])]


def _rank(scores: FloatArray, A: FloatArray) -> IntArray:
    """Row indices by increasing score; equal scores ordered by row values, so the
    ranking does not depend on the order of the rows (Krum's scores tie structurally:
    with one neighbour, two mutually nearest rows have the same score)."""
    order = np.argsort(scores, kind="stable")
    s = scores[order]
    out = order.copy()
    start = 0
    for stop in [*(np.flatnonzero(s[1:] != s[:-1]) + 1).tolist(), len(s)]:
        if stop - start > 1:
            out[start:stop] = _lex_order(A, order[start:stop])
        start = stop
    return out


def _mean_rows(A: FloatArray, idx: IntArray | Sequence[int]) -> FloatArray:
    """Mean of the given rows, summed in increasing row order (deterministic)."""
    return np.asarray(np.mean(A[np.sort(np.asarray(idx, dtype=np.int64))], axis=0))


# -- aggregators -----------------------------------------------------------------------


def mean(X: FloatArray, f: int) -> FloatArray:
    """Plain coordinate-wise mean: the non-robust baseline (f is only validated).

    Not (f, kappa)-robust for any finite kappa when f >= 1: one row moves it anywhere.
    """
    return np.asarray(np.mean(_check(X, f, need_honest_majority=False), axis=0))


def trimmed_mean(X: FloatArray, f: int) -> FloatArray:
    """Coordinate-wise trimmed mean: drop the f largest and f smallest values per coordinate.

    Needs n > 2f. kappa = 6f/(n-2f) * (1 + f/(n-2f)) (Allouah et al. 2023, Table 1).
    """
    A = _check(X, f, need_honest_majority=True)
    s = np.sort(A, axis=0)  # a sorted copy; A itself is untouched
    return np.asarray(np.mean(s[f : A.shape[0] - f], axis=0))


def coordinate_median(X: FloatArray, f: int) -> FloatArray:
    """Coordinate-wise median (mean of the two middle values for even n).

    Needs n > 2f. kappa = 4 (1 + f/(n-2f))^2 (Allouah et al. 2023, Table 1).
    """
    return np.asarray(np.median(_check(X, f, need_honest_majority=True), axis=0))


def _krum_scores(A: FloatArray, f: int, neighbours: int | None) -> FloatArray:
    n = A.shape[0]
    m = n - f - 1 if neighbours is None else neighbours
    if not 0 <= m <= n - 1:
        raise ValueError(f"Krum needs 0 <= neighbours <= n - 1, got {m} for n={n}, f={f}")
    D = np.sort(_sq_dists(A), axis=1)  # column 0 is the row itself (distance 0)
    return np.asarray(D[:, 1 : 1 + m].sum(axis=1))


def krum(X: FloatArray, f: int, neighbours: int | None = None) -> FloatArray:
    """Krum (Blanchard et al., NeurIPS 2017): the row with the least sum of squared
    distances to its ``neighbours`` nearest other rows; among equal scores, the
    lexicographically smallest row (so the result does not depend on the row order;
    ByzFL takes the lowest index).

    Convention: ``neighbours = n - f - 1`` by default, as in Allouah et al. 2023 and
    ByzFL (needs only n > 2f, which R-13 guarantees since n >= n_a - t_a >= 2 t_a + 1).
    Blanchard et al.'s original uses ``n - f - 2`` and needs n > 2f + 2: pass
    ``neighbours=n - f - 2`` for it. kappa = 6 (1 + f/(n-2f)) (Allouah et al. 2023,
    Table 1), n > 2f.
    """
    A = _check(X, f, need_honest_majority=True)
    return A[int(_rank(_krum_scores(A, f, neighbours), A)[0])].copy()


def multi_krum(X: FloatArray, f: int, m: int | None = None, neighbours: int | None = None) -> FloatArray:
    """Multi-Krum: the mean of the ``m`` rows with the lowest Krum scores (default m = n - f,
    as in Allouah et al. 2023 and ByzFL; equal scores ordered as in :func:`krum`).

    Needs n > 2f. No kappa is proved for it in the papers cited here (the first bound is
    Bareilles, Bouaziz, Fageot, El Mhamdi, arXiv 2602.03899, 2026); tests use Krum's
    kappa as a sanity bound only.
    """
    A = _check(X, f, need_honest_majority=True)
    n = A.shape[0]
    k = n - f if m is None else m
    if not 1 <= k <= n:
        raise ValueError(f"Multi-Krum needs 1 <= m <= n, got m={k}, n={n}")
    return _mean_rows(A, _rank(_krum_scores(A, f, neighbours), A)[:k])


def geometric_median(
    X: FloatArray,
    f: int,
    nu: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> FloatArray:
    """Geometric median by the smoothed Weiszfeld algorithm (Pillutla, Kakade, Harchaoui,
    "Robust Aggregation for Federated Learning", IEEE TSP 2022).

    Starts at the coordinate-wise median z_0 and iterates
    ``z <- sum_i w_i x_i / sum_i w_i`` with ``w_i = 1 / max(nu, ||x_i - z||)`` until the
    step is at most ``tol * s`` (``s`` the mean distance of the rows to z_0) or
    ``max_iter`` iterations. ``nu`` is the smoothing epsilon; ``None`` means
    ``1e-8 * s``, so the rule is translation- and scale-equivariant. With rows not all
    collinear the fixed point is unique; it is the exact geometric median unless the
    median lies within ``nu`` of a row.

    Needs n > 2f. kappa = 4 (1 + f/(n-2f))^2 for the exact geometric median
    (Allouah et al. 2023, Table 1); our output is within the Weiszfeld tolerance of
    the smoothed median. (ByzFL's ``GeometricMedian`` defaults to nu = 0.1 and only
    3 iterations from 0, far from converged; tests compare with it run to
    convergence.)
    """
    A = _check(X, f, need_honest_majority=True)
    if max_iter < 0 or not tol >= 0:
        raise ValueError(f"need max_iter >= 0 and tol >= 0, got {max_iter}, {tol}")
    z = np.median(A, axis=0)
    scale = float(np.mean(_row_norms(A - z)))
    if scale == 0.0:  # every row equals the median
        return np.asarray(z)
    smooth = 1e-8 * scale if nu is None else float(nu)
    if not smooth > 0:
        raise ValueError(f"smoothing nu must be > 0, got {nu}")
    buf = np.empty_like(A)
    for _ in range(max_iter):
        w = 1.0 / np.maximum(_row_norms(np.subtract(A, z, out=buf)), smooth)
        z_next = np.einsum("i,ij->j", w, A) / w.sum()
        step = float(np.linalg.norm(z_next - z))
        z = z_next
        if step <= tol * scale:
            break
    return np.asarray(z)


def _subset_diameters(D: FloatArray, subsets: IntArray) -> FloatArray:
    """Max pairwise (squared) distance within each row of ``subsets``, in chunks."""
    k = subsets.shape[1]
    out = np.empty(subsets.shape[0], dtype=np.float64)
    step = max(1, 2_000_000 // max(1, k * k))
    for lo in range(0, subsets.shape[0], step):
        s = subsets[lo : lo + step]
        out[lo : lo + step] = D[s[:, :, None], s[:, None, :]].max(axis=(1, 2))
    return out


def mda(X: FloatArray, f: int, max_subsets: int = MDA_EXACT_MAX_SUBSETS) -> FloatArray:
    """Minimum-diameter averaging (El Mhamdi, Guerraoui, Rouault, ICML 2018): the mean of
    the n - f rows whose diameter (largest pairwise distance) is the smallest.

    Exact when C(n, f) <= ``max_subsets`` (every f for n <= 19 with the default):
    among subsets of equal minimal diameter (they tie structurally when they share
    their farthest pair) the one with the lexicographically smallest mean is kept,
    so the result does not depend on the row order (ByzFL keeps the first subset in
    lexicographic index order). Resilient averaging with lambda = 2f/(n-f): the
    chosen set T has diam(T) <= diam(S) = Delta and meets S, so each of the <= f rows
    swapped between T and S are within 2 Delta (Farhadkhani et al. 2022, Table 1).

    Beyond that the search is exponential, so we use the *ball* 2-approximation:
    for each row i the n - f rows nearest to it (itself included); the ball of least
    diameter is kept (ties as above). Its diameter is at most 2 diam(S) (for i in
    S, the n - f nearest lie within diam(S) of x_i), hence lambda = 3f/(n-f). Needs
    n > 2f.
    """
    A = _check(X, f, need_honest_majority=True)
    n = A.shape[0]
    k = n - f
    if f == 0:
        return np.asarray(np.mean(A, axis=0))
    D = _sq_dists(A)  # squared distances order subsets exactly like distances
    if math.comb(n, f) <= max_subsets:
        subsets = np.fromiter(
            itertools.chain.from_iterable(itertools.combinations(range(n), k)),
            dtype=np.int64,
            count=math.comb(n, k) * k,
        ).reshape(-1, k)
    else:
        subsets = np.sort(np.argsort(D, axis=1, kind="stable")[:, :k], axis=1)
    diam = _subset_diameters(D, subsets)
    best = np.flatnonzero(diam == diam.min())
    means = np.stack([_mean_rows(A, subsets[b]) for b in best])
    return np.asarray(means[_lex_order(means, np.arange(len(best)))[0]])


def meamed(X: FloatArray, f: int) -> FloatArray:
    """Mean around the median (Xie, Koyejo, Gupta, arXiv 1802.10116, 2018): per coordinate,
    the mean of the n - f values closest to the coordinate-wise median (ties to the
    lowest row index).

    Needs n > 2f. Coordinate-wise resilient averaging with lambda = 2f/(n-f): for
    every coordinate k, |F_k - mean_S x_k| <= 2f/(n-f) * (max_S x_k - min_S x_k)
    (the median lies in the honest range, every selected value within that range's
    width of it; Farhadkhani et al. 2022 prove the same order).
    """
    A = _check(X, f, need_honest_majority=True)
    k = A.shape[0] - f
    med = np.median(A, axis=0)
    idx = np.argsort(np.abs(A - med), axis=0, kind="stable")[:k]
    vals = np.take_along_axis(A, np.sort(idx, axis=0), axis=0)
    return np.asarray(np.mean(vals, axis=0))


def centered_clipping(
    X: FloatArray,
    f: int,
    tau: float | None = None,
    iters: int = 3,
    start: FloatArray | None = None,
) -> FloatArray:
    """Centered clipping (Karimireddy, He, Jaggi, "Learning from History for Byzantine
    Robust Optimization", ICML 2021): ``iters`` times
    ``v <- v + mean_i clip_tau(x_i - v)`` with ``clip_tau(y) = y min(1, tau/||y||)``.

    Stateless variant, so that the model stays a function of the round's certified
    results (R-13): ``v`` starts at ``start`` or else the coordinate-wise median (the
    paper starts at the previous aggregate, which a rechecking client does not hold),
    and ``tau`` defaults to the (n-f)-th smallest distance of the rows to the start,
    so only the f farthest rows are clipped (scale-free). Needs n > 2f.

    No (f, kappa) bound is proved for this variant in the cited papers. A sound
    sanity bound (each step moves v by at most tau; tau <= D + ||v_0 - mean_S||,
    v_0 the median): ||F - mean_S|| <= D (sqrt(kappa_med) (1 + iters) + iters) with
    D = max_{i in S} ||x_i - mean_S|| and kappa_med the coordinate median's kappa.
    """
    A = _check(X, f, need_honest_majority=True)
    if iters < 0:
        raise ValueError(f"iters must be >= 0, got {iters}")
    v = np.median(A, axis=0) if start is None else np.array(start, dtype=np.float64)
    if v.shape != A.shape[1:]:
        raise ValueError(f"start must have shape {A.shape[1:]}, got {v.shape}")
    n = A.shape[0]
    radius = float(tau) if tau is not None else float(np.sort(_row_norms(A - v))[n - f - 1])
    if not radius >= 0:
        raise ValueError(f"tau must be >= 0, got {tau}")
    for _ in range(iters):
        diff = A - v
        norms = _row_norms(diff)
        scale = np.ones_like(norms)
        far = norms > radius
        scale[far] = radius / norms[far]
        v = v + np.mean(diff * scale[:, None], axis=0)
    return np.asarray(v)


# -- pre-aggregators -------------------------------------------------------------------


def nnm(X: FloatArray, f: int) -> FloatArray:
    """Nearest-neighbour mixing (Allouah et al. 2023, Alg. 1): replace every row by the
    mean of its n - f nearest rows (itself included; ties to the lowest index).

    Needs n > 2f for the guarantee: if F is (f, kappa)-robust then F o NNM is
    (f, 8f/(n-f) (kappa + 1))-robust (Allouah et al. 2023, Thm. 1), which makes
    kappa O(f/n) for Krum, the geometric median and the coordinate median.
    """
    A = _check(X, f, need_honest_majority=True)
    n = A.shape[0]
    k = n - f
    near = np.sort(np.argsort(_sq_dists(A), axis=1, kind="stable")[:, :k], axis=1)
    out = np.zeros_like(A)
    for i in range(n):  # row by row: never an (n, k, d) temporary
        for j in near[i]:
            out[i] += A[j]
    out /= k
    return out


def hash_order(A: FloatArray) -> IntArray:
    """Rows sorted by SHA-256 of their float64 bytes (then by index): a deterministic
    pseudo-random order that does not depend on the order of the rows."""
    keys = [(hashlib.sha256(np.ascontiguousarray(row).tobytes()).digest(), i) for i, row in enumerate(A)]
    return np.asarray([i for _, i in sorted(keys)], dtype=np.int64)


def bucketing(X: FloatArray, f: int, s: int = 2, order: IntArray | None = None) -> FloatArray:
    """Bucketing (Karimireddy, He, Jaggi, "Byzantine-Robust Learning on Heterogeneous
    Datasets via Bucketing", ICLR 2022): permute the rows, average consecutive groups
    of ``s``; floor(n/s) full buckets then one bucket of the remainder, as in ByzFL,
    so ceil(n/s) rows come out.

    The paper draws a fresh random permutation; a certified model must be recomputable,
    so ``order`` defaults to :func:`hash_order` (a Byzantine row can grind its value to
    choose its bucket: the guarantee is then only the deterministic one). At most f
    buckets contain a faulty row, so the aggregator after it needs ceil(n/s) > 2f.
    Karimireddy et al. show bucketing with s <= n/(2f) preserves robustness and cuts
    the honest heterogeneity by s; Allouah et al. 2023 show NNM does better.
    """
    A = _check(X, f, need_honest_majority=False)
    if s < 1:
        raise ValueError(f"bucket size s must be >= 1, got {s}")
    n = A.shape[0]
    perm = hash_order(A) if order is None else np.asarray(order, dtype=np.int64)
    if sorted(perm.tolist()) != list(range(n)):
        raise ValueError("order must be a permutation of the row indices")
    P = A[perm]
    full = n // s
    rows = [P[: full * s].reshape(full, s, -1).mean(axis=1)] if full else []
    if full * s < n:
        rows.append(P[full * s :].mean(axis=0, keepdims=True))
    return np.concatenate(rows, axis=0)


def clipping(X: FloatArray, f: int, c: float = 2.0) -> FloatArray:
    """Static clipping: every row scaled down to L2 norm at most ``c`` (a new array;
    ByzFL's ``Clipping`` clips in place). Not robust by itself: it caps any row's
    influence before the aggregator. The registry default c = 2.0 is ProtocolConfig's
    default client clip C, so it never changes an honest noiseless cluster mean.
    """
    A = _check(X, f, need_honest_majority=False)
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"clip norm c must be finite and > 0, got {c}")
    norms = _row_norms(A)
    scale = np.ones_like(norms)
    far = norms > c
    scale[far] = c / norms[far]
    return np.asarray(A * scale[:, None])


# -- registry and rule names -----------------------------------------------------------

AGGREGATORS: dict[str, Aggregator] = {
    "mean": mean,
    "trimmed_mean": trimmed_mean,
    "coordinate_median": coordinate_median,
    "krum": krum,
    "multi_krum": multi_krum,
    "geometric_median": geometric_median,
    "mda": mda,
    "meamed": meamed,
    "centered_clipping": centered_clipping,
}

PREAGGREGATORS: dict[str, tuple[Callable[..., FloatArray], str | None, type | None]] = {
    # name -> (function, name of its one optional parameter, parameter type)
    "nnm": (nnm, None, None),
    "bucketing": (bucketing, "s", int),
    "clip": (clipping, "c", float),
}

_PRE_RE = re.compile(r"^([a-z_]+)(?:\(([0-9]+(?:\.[0-9]+)?)\))?$")


def compose(pre: Sequence[PreAggregator], agg: Aggregator) -> Aggregator:
    """``agg(pre_k(... pre_1(X, f) ..., f), f)``: pre-aggregators left to right, then ``agg``."""
    stages = tuple(pre)

    def composed(X: FloatArray, f: int) -> FloatArray:
        Y = np.asarray(X, dtype=np.float64)
        for stage in stages:
            Y = stage(Y, f)
        return agg(Y, f)

    return composed


def _parse_pre(part: str) -> PreAggregator:
    m = _PRE_RE.match(part)
    if m is None or m.group(1) not in PREAGGREGATORS:
        raise ValueError(f"unknown pre-aggregator {part!r}; valid: {', '.join(sorted(PREAGGREGATORS))}")
    func, param, kind = PREAGGREGATORS[m.group(1)]
    if m.group(2) is None:
        return func
    if param is None or kind is None:
        raise ValueError(f"pre-aggregator {m.group(1)!r} takes no parameter")
    value = kind(float(m.group(2))) if kind is int else kind(m.group(2))
    if kind is int and float(m.group(2)) != value:
        raise ValueError(f"{m.group(1)} needs an integer parameter, got {m.group(2)}")
    return partial(func, **{param: value})


@lru_cache(maxsize=256)
def get_aggregator(name: str) -> Aggregator:
    """The rule called ``name`` (R-13): ``[pre+...+]agg``; ValueError lists the valid names."""
    parts = name.split("+")
    agg_name = parts[-1]
    if agg_name not in AGGREGATORS:
        valid = ", ".join(sorted(AGGREGATORS))
        raise ValueError(f"unknown aggregator {agg_name!r}; valid names: {valid}")
    agg = AGGREGATORS[agg_name]
    if len(parts) == 1:
        return agg
    return compose([_parse_pre(p) for p in parts[:-1]], agg)


def rule_names() -> tuple[str, ...]:
    """The named rules offered on the command line: every aggregator, and NNM before
    every robust one. Any other well-formed name (``clip(1.5)+bucketing+krum``) is
    also a valid protocol rule."""
    robust = [a for a in AGGREGATORS if a != "mean"]
    return (*AGGREGATORS, *(f"nnm+{a}" for a in robust))


def check_rule(name: str, n_min: int, n_max: int, f: int) -> str | None:
    """Why rule ``name`` cannot aggregate ``n_min..n_max`` rows with ``f``, or None if it can.

    Runs the rule on zero matrices of every size, so it catches both unknown names and
    impossible combinations (e.g. bucketing leaving <= 2f rows).
    """
    try:
        rule = get_aggregator(name)
    except ValueError as exc:
        return str(exc)
    for n in range(n_min, n_max + 1):
        try:
            rule(np.zeros((n, 2)), f)
        except ValueError as exc:
            return f"rule {name!r} cannot aggregate {n} cluster results with f={f}: {exc}"
    return None


def _kappa_base(name: str, n: int, f: int) -> float | None:
    r = f / (n - 2 * f)
    return {
        "trimmed_mean": 6 * r * (1 + r),
        "coordinate_median": 4 * (1 + r) ** 2,
        "geometric_median": 4 * (1 + r) ** 2,
        "krum": 6 * (1 + r),
    }.get(name)


def kappa(name: str, n: int, f: int) -> float | None:
    """The (f, kappa) coefficient of a rule from Allouah et al. 2023, or None if unproved.

    Covers ``trimmed_mean``, ``coordinate_median``, ``geometric_median``, ``krum`` and
    ``nnm+`` any of them (Thm. 1: 8f/(n-f) (kappa + 1)); needs n > 2f. MDA and MeaMed
    have resilient-averaging lambdas instead (see :func:`mda`, :func:`meamed`).
    """
    if n <= 2 * f or f < 0:
        raise ValueError(f"need 0 <= f and n > 2f, got n={n}, f={f}")
    parts = name.split("+")
    base = _kappa_base(parts[-1], n, f)
    if base is None:
        return None
    for pre in reversed(parts[:-1]):
        if pre != "nnm":
            return None
        base = 8 * f / (n - f) * (base + 1)
    return base
