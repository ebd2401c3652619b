"""Properties of the robust aggregators (impl/learning/robust.py) on random inputs.

Inputs are drawn with numpy from a Hypothesis-chosen seed: Gaussian honest rows and f
outliers of several kinds, so there are no ties (almost surely) and tie-breaking does
not matter. Checked: the input is never modified, permutation invariance, translation
equivariance, and the documented (f, kappa) / (f, lambda) bounds with S = honest rows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl.learning import robust

ATTACKS = ("far", "alie", "sign_flip", "cluster", "inner")

ROBUST = [a for a in robust.AGGREGATORS if a != "mean"]
RULES = [*ROBUST, *(f"nnm+{a}" for a in ROBUST), "bucketing+trimmed_mean", "clip+krum"]
TRANSLATION = [r for r in RULES if not r.startswith(("bucketing", "clip"))]


@st.composite
def attacked(draw):
    """(X, f, honest index array): n - f Gaussian rows and f outliers at random places."""
    f = draw(st.integers(0, 3))
    n = draw(st.integers(2 * f + 1, 2 * f + 6))
    d = draw(st.integers(1, 6))
    attack = draw(st.sampled_from(ATTACKS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.integers(-2, 2))
    honest = rng.normal(rng.normal(0, 3, d), 1.0, size=(n - f, d)) * scale
    mu, sd = honest.mean(axis=0), honest.std(axis=0)
    if attack == "far":
        bad = mu + rng.normal(0, 1e3 * scale, size=(f, d))
    elif attack == "alie":  # "a little is enough": just outside one std per coordinate
        bad = mu - 1.5 * sd + rng.normal(0, 1e-3 * scale, size=(f, d))
    elif attack == "sign_flip":
        bad = -5.0 * mu + rng.normal(0, 1e-3 * scale, size=(f, d))
    elif attack == "cluster":  # all Byzantine rows nearly equal, far away
        bad = mu + 50 * scale + rng.normal(0, 1e-6 * scale, size=(f, d))
    else:  # inside the honest cloud
        bad = mu + rng.normal(0, 0.5 * scale, size=(f, d))
    X = np.empty((n, d))
    where = rng.permutation(n)
    hon_idx = np.sort(where[: n - f])
    X[hon_idx] = honest
    X[np.sort(where[n - f :])] = bad
    X.flags.writeable = False  # any in-place write by a rule raises
    return X, f, hon_idx


def _applicable(rule: str, n: int, f: int) -> bool:
    return robust.check_rule(rule, n, n, f) is None


@settings(max_examples=120, deadline=None)
@given(attacked(), st.sampled_from(RULES), st.randoms(use_true_random=False))
def test_permutation_invariance(case, rule, rnd):
    X, f, _ = case
    if not _applicable(rule, X.shape[0], f):
        return
    agg = robust.get_aggregator(rule)
    perm = list(range(X.shape[0]))
    rnd.shuffle(perm)
    Xp = X[perm]
    Xp.flags.writeable = False
    a, b = agg(X, f), agg(Xp, f)
    scale = 1.0 + float(np.abs(X).max())
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * scale)


@settings(max_examples=120, deadline=None)
@given(attacked(), st.sampled_from(TRANSLATION), st.integers(0, 2**32 - 1))
def test_translation_equivariance(case, rule, seed):
    X, f, _ = case
    if not _applicable(rule, X.shape[0], f):
        return
    agg = robust.get_aggregator(rule)
    scale = 1.0 + float(np.abs(X).max())
    t = np.random.default_rng(seed).normal(0, scale, size=X.shape[1])
    np.testing.assert_allclose(agg(X + t, f), agg(X, f) + t, rtol=1e-8, atol=1e-8 * scale)


@pytest.mark.parametrize("pre", ["nnm", "bucketing", "clip"])
@settings(max_examples=40, deadline=None)
@given(case=attacked())
def test_preaggregators_are_permutation_equivariant_or_invariant(pre, case):
    X, f, _ = case
    func = robust.PREAGGREGATORS[pre][0]
    Y = func(X, f)
    perm = np.random.default_rng(0).permutation(X.shape[0])
    Yp = func(X[perm], f)
    if pre == "bucketing":  # hash order: the buckets do not depend on the row order
        np.testing.assert_allclose(Yp, Y, rtol=1e-12, atol=1e-12)
    else:  # row i of the output belongs to row i of the input
        np.testing.assert_allclose(Yp, Y[perm], rtol=1e-9, atol=1e-9 * (1 + np.abs(X).max()))


def _honest_stats(X, hon):
    H = X[hon]
    center = H.mean(axis=0)
    dev2 = ((H - center) ** 2).sum(axis=1)
    return H, center, dev2


@settings(max_examples=200, deadline=None)
@given(attacked(), st.sampled_from([r for r in RULES if robust.kappa(r, 3, 1) is not None]))
def test_kappa_robustness(case, rule):
    """(f, kappa)-robustness with S = the honest rows (Allouah et al. 2023, Def. 2)."""
    X, f, hon = case
    if not _applicable(rule, X.shape[0], f):
        return
    _, center, dev2 = _honest_stats(X, hon)
    k = robust.kappa(rule, X.shape[0], f)
    assert k is not None
    err2 = float(((robust.get_aggregator(rule)(X, f) - center) ** 2).sum())
    slack = 1e-9 * (1.0 + float(np.abs(X).max())) ** 2  # rounding, Weiszfeld tolerance
    assert err2 <= k * float(dev2.mean()) + slack


@settings(max_examples=100, deadline=None)
@given(attacked())
def test_mda_resilient_averaging(case):
    """MDA: ||F - mean_S|| <= 2f/(n-f) diam(S) exactly; 3f/(n-f) diam(S) with the ball
    approximation used beyond MDA_EXACT_MAX_SUBSETS."""
    X, f, hon = case
    n = X.shape[0]
    H, center, _ = _honest_stats(X, hon)
    diam = max(float(np.linalg.norm(a - b)) for a in H for b in H)
    tol = 1e-9 * (1.0 + float(np.abs(X).max()))
    exact = np.linalg.norm(robust.mda(X, f) - center)
    assert exact <= 2 * f / (n - f) * diam + tol
    approx = np.linalg.norm(robust.mda(X, f, max_subsets=0) - center)
    assert approx <= 3 * f / (n - f) * diam + tol


@settings(max_examples=100, deadline=None)
@given(attacked())
def test_meamed_coordinatewise_resilient_averaging(case):
    """MeaMed: |F_k - mean_S x_k| <= 2f/(n-f) (max_S x_k - min_S x_k) for every k."""
    X, f, hon = case
    n = X.shape[0]
    H, center, _ = _honest_stats(X, hon)
    width = H.max(axis=0) - H.min(axis=0)
    tol = 1e-9 * (1.0 + float(np.abs(X).max()))
    assert np.all(np.abs(robust.meamed(X, f) - center) <= 2 * f / (n - f) * width + tol)


@settings(max_examples=100, deadline=None)
@given(attacked(), st.integers(0, 5))
def test_centered_clipping_sanity_bound(case, iters):
    """The bound derived in centered_clipping's docstring."""
    X, f, hon = case
    n = X.shape[0]
    _, center, dev2 = _honest_stats(X, hon)
    D = math.sqrt(float(dev2.max()))
    k_med = robust.kappa("coordinate_median", n, f)
    assert k_med is not None
    bound = D * (math.sqrt(k_med) * (1 + iters) + iters)
    err = float(np.linalg.norm(robust.centered_clipping(X, f, iters=iters) - center))
    assert err <= bound + 1e-9 * (1.0 + float(np.abs(X).max()))


@settings(max_examples=100, deadline=None)
@given(attacked())
def test_multi_krum_sanity_bound(case):
    """No kappa is proved for Multi-Krum in the cited papers; Krum's holds here as a sanity bound."""
    X, f, hon = case
    _, center, dev2 = _honest_stats(X, hon)
    k = robust.kappa("krum", X.shape[0], f)
    assert k is not None
    err2 = float(((robust.multi_krum(X, f) - center) ** 2).sum())
    assert err2 <= k * float(dev2.mean()) + 1e-9 * (1.0 + float(np.abs(X).max())) ** 2
