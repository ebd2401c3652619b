"""The client's fast paths against plain Python-int references (D-1, D-3, D-5, D-9, D-14).

Every vectorised shortcut of issue 11's client speed-up is compared with the obvious
arbitrary-precision formula, edge values 0 and P - 1 included.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl import crypto, field, shamir
from asfl.impl.field import P
from asfl.impl.learning.noise import noisy_update, skellam
from asfl.impl.learning.quantize import quantize
from asfl.impl.messages import field_digest, model_digest
from asfl.impl.wire import Reader, Writer

EDGES = [0, 1, 2, P - 2, P - 1, (P - 1) // 2, (P + 1) // 2]
elements = st.one_of(st.sampled_from(EDGES), st.integers(0, P - 1))
pairs = st.lists(st.tuples(elements, elements), min_size=1, max_size=40)


def vec(xs: list[int], dtype: type = np.uint64) -> np.ndarray:
    return np.array(xs, dtype=dtype)


def test_edge_values_exhaustively() -> None:
    a = [x for x in EDGES for _ in EDGES]
    b = [y for _ in EDGES for y in EDGES]
    assert field.add(vec(a), vec(b)).tolist() == [(x + y) % P for x, y in zip(a, b, strict=True)]
    assert field.sub(vec(a), vec(b)).tolist() == [(x - y) % P for x, y in zip(a, b, strict=True)]
    assert field.neg(vec(a)).tolist() == [(-x) % P for x in a]
    w = field.add_words(vec(a, np.uint32), vec(b, np.uint32))
    assert w.dtype == np.uint32 and w.tolist() == [(x + y) % P for x, y in zip(a, b, strict=True)]
    w = field.sub_words(vec(a, np.uint32), vec(b, np.uint32))
    assert w.dtype == np.uint32 and w.tolist() == [(x - y) % P for x, y in zip(a, b, strict=True)]


@settings(max_examples=200)
@given(pairs)
def test_modular_add_sub_neg_match_python_ints(ps: list[tuple[int, int]]) -> None:
    a, b = [x for x, _ in ps], [y for _, y in ps]
    assert field.add(vec(a), vec(b)).tolist() == [(x + y) % P for x, y in ps]
    assert field.sub(vec(a), vec(b)).tolist() == [(x - y) % P for x, y in ps]
    assert field.neg(vec(a)).tolist() == [(-x) % P for x in a]
    assert field.add_words(vec(a, np.uint32), vec(b, np.uint32)).tolist() == [(x + y) % P for x, y in ps]
    assert field.sub_words(vec(a, np.uint32), vec(b, np.uint32)).tolist() == [(x - y) % P for x, y in ps]


ints64 = st.one_of(
    st.sampled_from([0, 1, -1, P - 1, -(P - 1), P, -P, P + 1, -P - 1, 2**62, -(2**62), 2**63 - 1, -(2**63)]),
    st.integers(-(2**40), 2**40),
    st.integers(-(2**63), 2**63 - 1),
)


@settings(max_examples=200)
@given(st.lists(ints64, min_size=0, max_size=40), st.booleans())
def test_embed_int_is_mod_p(xs: list[int], overwrite: bool) -> None:
    """D-5's embedding: the fast path on [-P, P) and the ``np.mod`` path agree with ``x % P``."""
    v = np.array(xs, dtype=np.int64)
    got = field.embed_int(v.copy(), overwrite=overwrite)
    assert got.dtype == np.uint64 and got.tolist() == [x % P for x in xs]
    if not overwrite:
        kept = v.copy()
        field.embed_int(v)
        assert np.array_equal(v, kept)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 3).flatmap(lambda t: st.tuples(st.just(t), st.integers(t + 1, t + 5))),
    st.integers(0, 2**32),
)
def test_share_vector_matches_polynomial_evaluation(tn: tuple[int, int], seed_int: int) -> None:
    """D-3: share j is f(j + 1) = s + sum_k a_k (j + 1)^k mod P, by Python ints; forward
    differences and the uint32 words change nothing."""
    t, n = tn
    d = 9
    seed = seed_int.to_bytes(32, "little")
    s = vec([0, P - 1, 1, P - 2, *crypto.prg_field_vector(bytes(32), d - 4, b"s").tolist()])
    shares = shamir.share_vector(s, t, n, seed)
    coeffs = [crypto.prg_field_vector(seed, d, shamir.coeff_domain(k)).tolist() for k in range(1, t + 1)]
    assert len(shares) == n
    for j, share in enumerate(shares):
        x = j + 1
        ref = [(int(s[i]) + sum(coeffs[k - 1][i] * x**k for k in range(1, t + 1))) % P for i in range(d)]
        assert share.dtype == np.uint32 and share.tolist() == ref


def test_prg_words_and_vector_agree() -> None:
    seed = bytes(range(32))
    words = crypto.prg_field_words(seed, 1000, b"mask")
    assert words.dtype == np.uint32 and int(words.max()) < P
    assert np.array_equal(crypto.prg_field_vector(seed, 1000, b"mask"), words)
    assert np.array_equal(crypto.prg_field_words(seed, 10, b"mask"), words[:10])  # a prefix


def test_noisy_update_is_the_reference_draw() -> None:
    """D-9: the same two Poisson draws as ``Pois(v/2) - Pois(v/2)``, added to q, reduced mod P."""
    q = np.array([0, 1, -1, 5, -(2**20), 2**20] * 50, dtype=np.int64)
    v = 1e6
    got = noisy_update(q, v, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    lam = v / 2
    ref = (q + (rng.poisson(lam, q.size) - rng.poisson(lam, q.size))) % P
    assert np.array_equal(got, ref.astype(np.uint64))
    rng = np.random.default_rng(7)
    diff = rng.poisson(lam, q.size) - rng.poisson(lam, q.size)
    assert np.array_equal(skellam(v, q.size, np.random.default_rng(7)), diff)


def test_skellam_law_at_a_fixed_seed() -> None:
    """Sk(v) = Pois(v/2) - Pois(v/2): mean 0, variance v, excess kurtosis 1/v, symmetric."""
    v, n = 8.0, 400_000
    x = skellam(v, n, np.random.default_rng(2026)).astype(np.float64)
    se = np.sqrt(v / n)
    assert abs(x.mean()) < 5 * se
    assert abs(x.var() / v - 1) < 5 * np.sqrt(2 / n) * 1.2
    # pmf of Sk(v) at 0, 1, 2 by the series sum_k Pois(k) Pois(k + m)
    lam = v / 2
    k = np.arange(0, 200)
    logp = -lam + k * np.log(lam) - np.array([np.sum(np.log(np.arange(1, i + 1))) for i in k])
    for m in (0, 1, 2):
        pm = float(np.sum(np.exp(logp[: 200 - m] + logp[m:])))
        emp = float(np.mean(x == m))
        assert abs(emp - pm) < 5 * np.sqrt(pm * (1 - pm) / n), (m, emp, pm)


@settings(max_examples=100)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=30),
    st.integers(0, 20),
    st.sampled_from([1, 7, 2**20, 2**53 - 1, 2**53 + 1, 2**62]),
)
def test_quantize_matches_the_scalar_definition(xs: list[float], frac_bits: int, bound: int) -> None:
    """D-5: clamp(rint(v 2^f), -bound, bound) for every coordinate, by Python arithmetic."""
    got = quantize(np.array(xs, dtype=np.float64), frac_bits, bound).tolist()
    ref = [max(-bound, min(bound, int(np.rint(x * 2.0**frac_bits)))) for x in xs]
    assert got == ref


def test_wire_views_round_trip_and_digests_unchanged() -> None:
    """D-14: the no-copy writer and reader produce and accept the same bytes as before."""
    y = vec([0, P - 1, 5, 123456789])
    model = np.array([0.5, -1.25, 3.0])
    w = Writer().uint(3).field_vector(y).float_vector(model).blob(b"abc").field_vector(y.astype(np.uint32))
    data = w.getvalue()
    expected = (
        b"\x03"
        + b"\x10"
        + y.astype("<u4").tobytes()
        + b"\x18"
        + model.astype("<f8").tobytes()
        + b"\x03abc"
        + b"\x10"
        + y.astype("<u4").tobytes()
    )
    assert data == expected
    for source in (data, memoryview(data), bytearray(data)):
        r = Reader(source)
        assert r.uint() == 3
        got = r.field_vector(4)
        assert got.dtype == np.uint64 and got.tolist() == y.tolist()
        m = r.float_vector(3)
        m[0] = 9.0  # an owned, writable copy
        assert r.blob() == b"abc" and r.field_vector(4).tolist() == y.tolist()
        r.done()
    assert field_digest(y) == crypto.digest(b"fvec", y.astype("<u4").tobytes())
    assert model_digest(model) == crypto.digest(b"model", model.astype("<f8").tobytes())
