"""Unit and property tests for impl.shamir (Decisions D-3, D-4)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl import field, shamir
from asfl.impl.crypto import prg_field_vector
from asfl.impl.field import P


def seed(i: int) -> bytes:
    return i.to_bytes(32, "little")


def secret_vec(i: int, d: int) -> np.ndarray:
    return prg_field_vector(seed(10_000 + i), d, b"secret")


# (t, n) with n >= 3t + 1
params = st.integers(0, 3).flatmap(lambda t: st.tuples(st.just(t), st.integers(3 * t + 1, 3 * t + 3)))


def test_share_vector_degree_zero_and_any_t_plus_1_reconstruct() -> None:
    s = secret_vec(0, 50)
    assert all(np.array_equal(x, s) for x in shamir.share_vector(s, 0, 3, seed(1)))
    shares = shamir.share_vector(s, 2, 7, seed(2))
    assert len(shares) == 7 and all(x.dtype == np.uint32 and int(x.max()) < P for x in shares)  # wire words
    for sub in itertools.combinations(range(7), 3):
        assert np.array_equal(shamir.interpolate_at({j + 1: shares[j] for j in sub}, 0), s)
    # t shares alone differ from the secret (not a proof of secrecy, a sanity check)
    assert not np.array_equal(shares[0], s)


def test_share_vector_is_a_polynomial_of_degree_t() -> None:
    s = secret_vec(1, 20)
    shares = shamir.share_vector(s, 2, 6, seed(3))
    base = {1: shares[0], 2: shares[1], 3: shares[2]}
    for j in range(3, 6):
        assert np.array_equal(shamir.interpolate_at(base, j + 1), shares[j])


def test_share_vector_validation() -> None:
    with pytest.raises(ValueError):
        shamir.share_vector(secret_vec(0, 4), 2, 2, seed(0))
    with pytest.raises(ValueError):
        shamir.share_vector(np.zeros((2, 2), dtype=np.uint64), 0, 1, seed(0))


@settings(max_examples=30, deadline=None)
@given(params, st.integers(1, 30), st.integers(1, 4), st.integers(0, 2**16))
def test_linearity_sum_of_shares(tn: tuple[int, int], d: int, k: int, salt: int) -> None:
    t, n = tn
    secrets = [secret_vec(salt * 8 + i, d) for i in range(k)]
    all_shares = [shamir.share_vector(s, t, n, seed(salt * 8 + i + 1)) for i, s in enumerate(secrets)]
    sums = {j + 1: field.vsum([sh[j] for sh in all_shares], d) for j in range(n)}
    want = field.vsum(secrets, d)
    xs = list(range(1, t + 2))
    assert np.array_equal(shamir.interpolate_at({x: sums[x] for x in xs}, 0), want)
    res = shamir.decode(sums, t, n - t)
    assert res is not None and np.array_equal(res.secret, want)
    assert res.inconsistent == ()


def test_lagrange_at_zero() -> None:
    cs = shamir.lagrange_at_zero([1, 2, 3])
    # f(x) = 5 + 7x + 11x^2
    f = [(5 + 7 * x + 11 * x * x) % P for x in (1, 2, 3)]
    assert sum(c * y for c, y in zip(cs, f, strict=True)) % P == 5
    with pytest.raises(ValueError):
        shamir.lagrange_at_zero([1, 1])
    with pytest.raises(ValueError):
        shamir.lagrange_at_zero([P])


@settings(max_examples=80, deadline=None)
@given(params, st.integers(1, 12), st.data())
def test_decode_corrects_up_to_t_wrong(tn: tuple[int, int], d: int, data: st.DataObject) -> None:
    t, n = tn
    s = secret_vec(data.draw(st.integers(0, 2**16)), d)
    shares = shamir.share_vector(s, t, n, seed(data.draw(st.integers(0, 2**16))))
    wrong = data.draw(st.sets(st.integers(1, n), max_size=t))
    points = {j + 1: shares[j] for j in range(n)}
    for x in wrong:
        coord = data.draw(st.integers(0, d - 1))
        delta = data.draw(st.integers(1, P - 1))
        v = points[x].copy()
        v[coord] = (int(v[coord]) + delta) % P
        points[x] = v
    honest = sorted(set(range(1, n + 1)) - wrong)
    if data.draw(st.booleans()):  # enough honest points arrived, plus some wrong ones
        avail = data.draw(st.sets(st.sampled_from(honest), min_size=n - t))
        avail |= data.draw(st.sets(st.sampled_from(sorted(wrong)))) if wrong else set()
    else:  # any set of points may have arrived so far
        avail = data.draw(st.sets(st.integers(1, n), max_size=n))
    res = shamir.decode({x: points[x] for x in sorted(avail)}, t, n - t)
    if len(avail - wrong) >= n - t:  # liveness: enough correct points have arrived
        assert res is not None
    if res is None:
        return
    # safety: whenever decode answers, the answer is right and the blame is exact
    assert np.array_equal(res.secret, s)
    assert len(res.support) == n - t and set(res.support) <= avail
    assert set(res.support).isdisjoint(wrong)
    assert set(res.inconsistent) == wrong & avail


@settings(max_examples=30, deadline=None)
@given(params, st.data())
def test_decode_none_below_quorum(tn: tuple[int, int], data: st.DataObject) -> None:
    t, n = tn
    shares = shamir.share_vector(secret_vec(3, 5), t, n, seed(4))
    avail = data.draw(st.sets(st.integers(1, n), max_size=n - t - 1))
    assert shamir.decode({x: shares[x - 1] for x in avail}, t, n - t) is None


def test_decode_none_when_no_consistent_quorum_yet() -> None:
    # n=4, t=1, quorum=3: two of three received points wrong -> wait for more
    s = secret_vec(5, 8)
    shares = shamir.share_vector(s, 1, 4, seed(5))
    one = np.ones(8, dtype=np.uint64)
    pts = {1: field.add(shares[0], one), 2: field.add(shares[1], one + one), 3: shares[2]}
    assert shamir.decode(pts, 1, 3) is None
    pts[4] = shares[3]
    assert shamir.decode(pts, 1, 3) is None  # still 2 wrong of 4: no honest quorum of 3
    pts[1] = shares[0]
    res = shamir.decode(pts, 1, 3)
    assert res is not None and np.array_equal(res.secret, s)
    assert res.support == (1, 3, 4) and res.inconsistent == (2,)


def test_decode_lexicographic_support_and_validation() -> None:
    s = secret_vec(6, 4)
    shares = shamir.share_vector(s, 1, 5, seed(6))
    res = shamir.decode({j + 1: shares[j] for j in range(5)}, 1, 4)
    assert res is not None and res.support == (1, 2, 3, 4) and res.inconsistent == ()
    with pytest.raises(ValueError):
        shamir.decode({1: shares[0], 2: shares[1][:2], 3: shares[2]}, 1, 3)
    with pytest.raises(ValueError):
        shamir.decode({1: shares[0]}, 1, 2)  # quorum < 2t + 1


def test_decode_detects_error_only_in_last_coordinate() -> None:
    d = 1000
    s = secret_vec(7, d)
    shares = shamir.share_vector(s, 1, 4, seed(7))
    bad = shares[1].copy()
    bad[-1] = (int(bad[-1]) + 1) % P
    res = shamir.decode({1: shares[0], 2: bad, 3: shares[2], 4: shares[3]}, 1, 3)
    assert res is not None and np.array_equal(res.secret, s)
    assert res.support == (1, 3, 4) and res.inconsistent == (2,)
