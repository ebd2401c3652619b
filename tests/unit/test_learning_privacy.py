"""Tests for impl.learning.privacy (Decision D-10)."""

import math

import dp_accounting
import pytest
from dp_accounting.rdp import RdpAccountant

from asfl.impl.learning.privacy import DELTA, client_epsilons, epsilon


def test_epsilon_special_cases():
    assert epsilon(1.0, 0, 1e-5) == 0.0
    assert epsilon(0.0, 0, 1e-5) == 0.0
    assert epsilon(0.0, 1, 1e-5) == math.inf


def test_epsilon_matches_explicit_composition_and_is_monotone():
    acc = RdpAccountant()
    for _ in range(5):
        acc.compose(dp_accounting.GaussianDpEvent(1.1))
    assert epsilon(1.1, 5, 1e-5) == pytest.approx(acc.get_epsilon(1e-5), rel=1e-12)
    eps = [epsilon(1.1, m, 1e-5) for m in range(1, 30)]
    assert all(a < b for a, b in zip(eps, eps[1:], strict=False))
    assert epsilon(2.0, 10, 1e-5) < epsilon(1.0, 10, 1e-5)
    assert epsilon(1.0, 10, 1e-3) < epsilon(1.0, 10, 1e-6)


def test_epsilon_close_to_zcdp_bound():
    # Gaussian with multiplier z is (1/(2 z^2))-zCDP; m compositions: rho = m/(2 z^2),
    # eps <= rho + 2 sqrt(rho log(1/delta)); the RDP conversion is at most that.
    z, m, delta = 4.0, 50, 1e-5
    rho = m / (2 * z * z)
    bound = rho + 2 * math.sqrt(rho * math.log(1 / delta))
    assert 0.7 * bound < epsilon(z, m, delta) <= bound


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1.0, 1, 1e-5), "noise_multiplier"),
        ((1.0, -1, 1e-5), "inclusions"),
        ((1.0, 1, 0.0), "delta"),
        ((1.0, 1, 1.0), "delta"),
    ],
)
def test_epsilon_validation(args, match):
    with pytest.raises(ValueError, match=match):
        epsilon(*args)


def test_client_epsilons_is_epsilon_per_count():
    """D-10: the per-client figures asfl run reports are epsilon of each client's count."""
    counts = {0: 1, 1: 3, 2: 3, 3: 0, 7: 1}
    eps = client_epsilons(1.0, counts)
    assert eps == {i: epsilon(1.0, n, DELTA) for i, n in counts.items()}
    assert eps[3] == 0.0 and eps[0] < eps[1]
    assert client_epsilons(0.0, {0: 0, 1: 2}) == {0: 0.0, 1: math.inf}
    assert DELTA == 1e-5
