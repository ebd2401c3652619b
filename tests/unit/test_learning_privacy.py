"""Tests for impl.learning.privacy: the Skellam mechanism's accounting (D-9, D-10)."""

import math

import numpy as np
import pytest

from asfl.impl.learning.privacy import DELTA, ORDERS, Skellam, client_epsilons, composed_epsilon, epsilon

MECH = Skellam(variance=100.0, l2=2.0, l1=3.0)


def test_rdp_curve_is_the_theorem_at_a_fixed_point():
    """Agarwal-Kairouz-Liu 2021, Thm 3.5, computed by hand at mu = 100, Delta_2 = 2,
    Delta_1 = 3: at order 2, 2*4/200 + min((3*4 + 18)/40000, 9/200) = 0.04075; at order
    256, 256*4/200 + min((511*4 + 18)/40000, 0.045) = 5.12 + 0.04 ... (the min's first
    term 0.05155 exceeds 0.045, so 0.045)."""
    curve = MECH.rdp()
    assert ORDERS[0] == 2 and ORDERS[-1] == 256 and len(curve) == 255
    assert curve[0] == pytest.approx(0.04075, rel=1e-12)
    assert curve[-1] == pytest.approx(5.12 + 0.045, rel=1e-12)


def test_epsilon_is_the_balle_conversion_of_the_hand_curve():
    """The accountant's epsilon equals min over orders of rdp + log(1 - 1/a) - log(delta a)
    / (a - 1) (Balle et al. 2020, Prop. 12) of the hand-written curve, for 7 inclusions."""
    k, delta = 7, 1e-5
    hand = []
    for a in range(2, 257):
        r = k * (a * 4 / 200 + min(((2 * a - 1) * 4 + 18) / 40000, 9 / 200))
        hand.append(r + math.log1p(-1 / a) - math.log(delta * a) / (a - 1))
    assert epsilon(MECH, k, delta) == pytest.approx(min(hand), rel=1e-12)


def test_epsilon_is_monotone():
    """More noise less epsilon; more inclusions, smaller delta or larger sensitivity more."""
    eps = [epsilon(MECH, m) for m in range(1, 30)]
    assert all(a < b for a, b in zip(eps, eps[1:], strict=False))
    mus = [epsilon(Skellam(mu, 2.0, 3.0), 10) for mu in (50.0, 100.0, 400.0, 1e4)]
    assert all(a > b for a, b in zip(mus, mus[1:], strict=False))
    assert epsilon(MECH, 10, 1e-3) < epsilon(MECH, 10, 1e-6)
    assert epsilon(MECH, 10) < epsilon(Skellam(100.0, 2.5, 3.0), 10)


def test_large_variance_approaches_the_gaussian():
    """At mu = (z Delta_2)^2 with Delta_2 large the surcharge vanishes: epsilon is that of the
    Gaussian mechanism with multiplier z at the same integer orders (RDP a / (2 z^2))."""
    z, l2, k = 3.0, 2.0**17, 20
    sk = epsilon(Skellam((z * l2) ** 2, l2, l2 * 123), k)
    gauss_curve = np.asarray(ORDERS) * k / (2 * z * z)
    pairs = zip(ORDERS, gauss_curve, strict=True)
    hand = min(r + math.log1p(-1 / a) - math.log(DELTA * a) / (a - 1) for a, r in pairs)
    assert hand <= sk <= hand * (1 + 1e-6)


def test_special_cases_and_missing_shares():
    assert epsilon(MECH, 0) == 0.0
    assert epsilon(Skellam(0.0, 2.0, 3.0), 0) == 0.0
    assert epsilon(Skellam(0.0, 2.0, 3.0), 1) == math.inf
    assert composed_epsilon([]) == 0.0
    # D-9: a set with only h of its q_min calibrated shares secret has variance mu h / q_min
    assert MECH.with_shares(3, 4) == Skellam(75.0, 2.0, 3.0)
    assert epsilon(MECH.with_shares(3, 4), 5) > epsilon(MECH, 5)
    assert composed_epsilon([MECH] * 4) == epsilon(MECH, 4)
    with pytest.raises(ValueError, match="present"):
        MECH.with_shares(5, 4)


@pytest.mark.parametrize(("args", "match"), [((MECH, -1, 1e-5), "inclusions"), ((MECH, 1, 0.0), "delta")])
def test_epsilon_validation(args, match):
    with pytest.raises(ValueError, match=match):
        epsilon(*args)


def test_client_epsilons_is_epsilon_per_count():
    """D-10: the per-client figures asfl run reports are epsilon of each client's count."""
    counts = {0: 1, 1: 3, 2: 3, 3: 0, 7: 1}
    eps = client_epsilons(MECH, counts)
    assert eps == {i: epsilon(MECH, n, DELTA) for i, n in counts.items()}
    assert eps[3] == 0.0 and eps[0] < eps[1]
    assert client_epsilons(Skellam(0.0, 1.0, 1.0), {0: 0, 1: 2}) == {0: 0.0, 1: math.inf}
    assert DELTA == 1e-5
