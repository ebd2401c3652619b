"""Fixed point at the edges (D-5, P-1): the clamp bound ``Q`` the nodes use, at ``+-Q``.

Real updates stay far inside the fixed-point range (R-1 requires the clip norm below
``Q / 2^frac_bits``), so P-1 on ordinary traces says nothing about the clamp. Here every
client of the largest cluster sits at ``+Q`` or ``-Q``, plus its integer Skellam noise
(D-9), and the sum goes through the arithmetic the nodes run: the client's quantisation
with ``cfg.quant_bound``, masking, Shamir sharing (D-3), the aggregator's decoding (D-4)
and cluster result (R-12). ``Q`` leaves the noise headroom ``T`` of D-5 (the cluster's
noise sum exceeds it with probability at most ``2^-64``) and is shown to be the largest
bound that works: with the noise sum at ``T``, a full cluster at ``Q + 1`` wraps around.
"""

from __future__ import annotations

import base64
import hashlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl import field as gf
from asfl.impl import shamir
from asfl.impl.certify import cluster_mean, cluster_result, decode_releases
from asfl.impl.client import Client
from asfl.impl.config import ProtocolConfig
from asfl.impl.crypto import prg_field_vector
from asfl.impl.learning.noise import skellam
from asfl.impl.learning.quantize import quantize
from asfl.impl.node import Event, PublicKeys, aggregator_name, client_name
from asfl.impl.sim.run import DeterministicEntropy, node_keys

# (t_a, n_a) with n_a >= 3 t_a + 1, and clients per aggregator (so k_max varies)
TN = st.sampled_from([(0, 1), (0, 2), (1, 4), (1, 5), (2, 7)])


def config(t: int, n: int, n_clients: int, dim: int, frac_bits: int) -> ProtocolConfig:
    return ProtocolConfig(
        n_clients=n_clients, n_aggregators=n, t_a=t, t_c=0, q_min=2, dim=dim, frac_bits=frac_bits
    )


def sum_through_the_protocol(cfg: ProtocolConfig, qs: list[np.ndarray], seed: bytes) -> np.ndarray:
    """Mask, share and decode ``qs`` (each client's quantised update) as the nodes do; the
    cluster's revealed sum ``s = Y - rho`` (R-12)."""
    d = cfg.dim
    ys, shares = [], []
    for i, q in enumerate(qs):
        x = gf.encode_signed(q)
        mask = prg_field_vector(hashlib.sha256(seed + b"m" + bytes([i])).digest(), d, b"mask")
        ys.append(gf.add(x, mask))
        shares.append(
            shamir.share_vector(mask, cfg.t_a, cfg.n_aggregators, hashlib.sha256(seed + bytes([i])).digest())
        )
    share_sums = {j: gf.vsum([s[j] for s in shares], d) for j in range(cfg.n_aggregators)}
    decoded = decode_releases(cfg, share_sums)
    assert decoded is not None
    return cluster_result(gf.vsum(ys, d), decoded.secret)


@settings(max_examples=60, deadline=None)
@given(
    tn=TN,
    per=st.integers(2, 12),
    short=st.booleans(),
    dim=st.integers(1, 6),
    frac_bits=st.integers(0, 24),
    data=st.data(),
    seed=st.binary(min_size=8, max_size=8),
)
def test_p1_with_the_largest_cluster_at_plus_minus_q(
    tn: tuple[int, int], per: int, short: bool, dim: int, frac_bits: int, data: st.DataObject, seed: bytes
) -> None:
    """P-1 at the clamp: every client of the largest cluster quantises to +Q or -Q (values at,
    just past and far past the range) and adds its Skellam noise (D-9), and the revealed sum
    decodes to the exact integer sum, the cluster mean to that sum over 2^frac_bits |I|."""
    t, n = tn
    cfg = config(t, n, n * per - (1 if short and n > 1 else 0), dim, frac_bits)
    largest = max(cfg.clusters(0), key=len)
    k, q_bound = len(largest), cfg.quant_bound
    assert k == cfg.k_max
    scale = 2.0**frac_bits
    beyond = st.sampled_from([q_bound / scale, (q_bound + 0.5) / scale, (q_bound + 7) / scale, 1e300, np.inf])
    signs = data.draw(
        st.lists(st.lists(st.sampled_from([-1.0, 1.0]), min_size=dim, max_size=dim), min_size=k, max_size=k)
    )
    qs = []
    for row in signs:
        v = np.array([s * data.draw(beyond) for s in row])
        q = quantize(v, cfg.frac_bits, q_bound)  # the client's clamp (R-4, D-5)
        assert np.array_equal(np.abs(q), np.full(dim, q_bound))
        qs.append(q + skellam(cfg.client_noise_var, dim, np.random.default_rng(list(seed) + [len(qs)])))
    exact = np.sum(np.stack(qs), axis=0)
    s = sum_through_the_protocol(cfg, qs, seed)
    assert np.array_equal(gf.decode_signed(s), exact)
    assert np.array_equal(cluster_mean(cfg, s, k), exact / (scale * k))


@settings(max_examples=40, deadline=None)
@given(tn=TN, per=st.integers(2, 40), short=st.booleans(), seed=st.binary(min_size=8, max_size=8))
def test_q_is_the_largest_bound_for_which_a_cluster_sum_cannot_wrap(
    tn: tuple[int, int], per: int, short: bool, seed: bytes
) -> None:
    """D-5: k_max clients at +Q or at -Q, with a noise sum of +-T, decode exactly
    (k_max Q + T <= (P-1)/2), while at Q + 1 a full cluster of positive updates with noise
    sum T decodes as a negative sum: Q is the largest clamp for headroom T. T is at least
    9 standard deviations of the cluster's noise sum (a Gaussian reaches 2^-64 at 9.3)."""
    t, n = tn
    cfg = config(t, n, n * per - (1 if short and n > 1 else 0), 2, 16)
    k, q_bound, headroom = cfg.k_max, cfg.quant_bound, cfg.noise_headroom
    assert headroom >= 9 * np.sqrt(k * cfg.client_noise_var) > 0
    assert k * q_bound + headroom <= gf.HALF < k * (q_bound + 1) + headroom
    for sign in (1, -1):
        qs = [np.full(2, sign * q_bound, dtype=np.int64)] * k
        qs[0] = qs[0] + sign * headroom  # the whole noise sum on one client
        s = sum_through_the_protocol(cfg, qs, seed)
        assert np.array_equal(gf.decode_signed(s), np.full(2, sign * (k * q_bound + headroom)))
    over = [np.full(2, q_bound + 1, dtype=np.int64)] * k
    over[0] = over[0] + headroom
    wrapped = gf.decode_signed(sum_through_the_protocol(cfg, over, seed))
    assert np.all(wrapped < 0) and np.all(wrapped == k * (q_bound + 1) + headroom - gf.P)


def test_the_client_node_clamps_at_q() -> None:
    """R-4 / D-5 at the node: a client whose clipped momentum is far past the range (a
    configuration R-1 would refuse: a clip norm of 1e12) submits exactly +-cfg.quant_bound."""
    cfg = ProtocolConfig(
        n_clients=8, n_aggregators=4, t_a=1, dim=6, clip=1e12, noise_multiplier=0.0, beta=0.0
    )
    a_keys = [node_keys(0, aggregator_name(j)) for j in range(cfg.n_aggregators)]
    c_keys = [node_keys(0, client_name(i)) for i in range(cfg.n_clients)]
    public = PublicKeys(
        tuple(k.sign_pub for k in a_keys),
        tuple(k.kx_pub for k in a_keys),
        tuple(k.sign_pub for k in c_keys),
        tuple(k.kx_pub for k in c_keys),
    )
    signs = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    client = Client(
        cfg,
        0,
        c_keys[0],
        public,
        np.zeros(cfg.dim),
        lambda model, rng: signs * 1e10,
        np.random.default_rng(0),
        DeterministicEntropy(0, client_name(0)),
        ghost=True,
    )
    client.start()
    (submit,) = [o for o in client.local_step() if isinstance(o, Event) and o.kind == "submit"]
    x = gf.from_bytes(base64.b64decode(submit.fields["ghost"]["x"]), cfg.dim)
    assert np.array_equal(gf.decode_signed(x), (signs * cfg.quant_bound).astype(np.int64))
