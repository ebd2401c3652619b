"""Mask cancellation and decoding (P-1, I-1): the unmasked sum is the exact sum of the updates.

The Hypothesis part builds submissions exactly as ``impl/client.py`` does (clip, quantise,
mask with ``prg_field_vector``, Shamir-share the mask) and decodes released share sums with
``impl.certify.decode_releases`` while up to ``t`` of them are wrong. The end-to-end part
checks the ghost fields of a simulated run against the nodes' certified sets.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl import field as gf
from asfl.impl import shamir
from asfl.impl.certify import cluster_result, decode_releases
from asfl.impl.config import ProtocolConfig
from asfl.impl.crypto import prg_field_vector
from asfl.impl.learning.data import Task
from asfl.impl.learning.quantize import clip_l2, quantize
from asfl.impl.messages import proposal_digest
from asfl.impl.sim.run import RunConfig, execute

# (t, n) with n >= 3t + 1
TN = st.integers(0, 2).flatmap(lambda t: st.tuples(st.just(t), st.integers(max(3 * t + 1, 1), 3 * t + 3)))
SEED = st.binary(min_size=32, max_size=32)


def unb64(text: str) -> np.ndarray:
    return gf.from_bytes(base64.b64decode(text))


@st.composite
def scenario(draw: st.DrawFn) -> dict:
    t, n = draw(TN)
    k = draw(st.integers(2, 6))  # clients in the set
    d = draw(st.integers(1, 5))
    frac_bits = draw(st.integers(0, 16))
    clip = draw(st.sampled_from([None, 0.5, 2.0]))
    # values well inside and far outside the fixed-point range, so clamping is exercised
    value = st.one_of(
        st.floats(-4.0, 4.0, allow_nan=False),
        st.floats(-1e12, 1e12, allow_nan=False),
        st.sampled_from([0.0, -0.0, 1e300, -1e300]),
    )
    updates = draw(st.lists(st.lists(value, min_size=d, max_size=d), min_size=k, max_size=k))
    mask_seeds = draw(st.lists(SEED, min_size=k, max_size=k))
    coeff_seeds = draw(st.lists(SEED, min_size=k, max_size=k))
    wrong = draw(st.sets(st.integers(0, n - 1), max_size=t))
    # how each wrong share sum is wrong: random junk, or shifted by a degree-t polynomial
    # (a coordinated coalition whose points lie on one other polynomial)
    attack = draw(st.sampled_from(["junk", "poly"]))
    delta_coeffs = draw(st.lists(st.integers(1, gf.P - 1), min_size=t + 1, max_size=t + 1))
    junk_seed = draw(SEED)
    order = draw(st.permutations(list(range(n))))
    return {
        "t": t,
        "n": n,
        "k": k,
        "d": d,
        "frac_bits": frac_bits,
        "clip": clip,
        "updates": updates,
        "mask_seeds": mask_seeds,
        "coeff_seeds": coeff_seeds,
        "wrong": wrong,
        "attack": attack,
        "delta": delta_coeffs,
        "junk_seed": junk_seed,
        "order": order,
    }


def build(
    sc: dict,
) -> tuple[ProtocolConfig, np.ndarray, np.ndarray, dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Submissions as impl/client.py builds them, the per-aggregator share sums (true and
    as released, with the wrong ones), the masked sum ``Y`` and the exact integer sum."""
    t, n, k, d = sc["t"], sc["n"], sc["k"], sc["d"]
    cfg = dataclasses.replace(
        ProtocolConfig(), n_aggregators=n, t_a=t, dim=d, frac_bits=sc["frac_bits"], n_clients=n * k
    )
    bound = cfg.quant_bound  # D-5 with k_max = k: the sum of k clamped values cannot wrap
    qs, ys, shares = [], [], []
    for i in range(k):
        update = np.array(sc["updates"][i], dtype=np.float64)
        if sc["clip"] is not None and np.max(np.abs(update)) < 1e100:
            update = clip_l2(update, sc["clip"])  # (clip_l2 zeroes vectors whose norm overflows)
        q = quantize(update, cfg.frac_bits, bound)
        x = gf.encode_signed(q)
        mask = prg_field_vector(sc["mask_seeds"][i], d, b"mask")
        ys.append(gf.add(x, mask))
        shares.append(shamir.share_vector(mask, t, n, sc["coeff_seeds"][i]))
        qs.append(q)
    masked_sum = gf.vsum(ys, d)
    true_sums = {j: gf.vsum([s[j] for s in shares], d) for j in range(n)}
    released = dict(true_sums)
    junk = np.random.default_rng(np.frombuffer(sc["junk_seed"], dtype=np.uint32))
    for j in sc["wrong"]:
        if sc["attack"] == "junk":
            bad = junk.integers(0, gf.P, size=d, dtype=np.uint64)
        else:
            x = j + 1
            shift = sum(c * pow(x, e, gf.P) for e, c in enumerate(sc["delta"])) % gf.P
            bad = gf.add(true_sums[j], np.full(d, shift, dtype=np.uint64))
        released[j] = bad
    exact = np.sum(np.stack(qs), axis=0)
    return cfg, masked_sum, exact, true_sums, released


@settings(max_examples=60, deadline=None)
@given(scenario())
def test_unmasked_sum_is_exact_sum_under_wrong_releases(sc: dict) -> None:
    """P-1, I-1: for every subset of at least n - t released share sums containing at most t
    wrong ones, decoding either waits (None) or yields exactly the mask sum, and the unmasked
    result decodes to the exact integer sum of the quantised updates; a subset holding
    n - t correct share sums always decodes (D-4 terminates)."""
    cfg, masked_sum, exact, true_sums, released = build(sc)
    n, t = sc["n"], sc["t"]
    really_wrong = {j for j in sc["wrong"] if not np.array_equal(released[j], true_sums[j])}
    # online decoding: releases arrive one by one in a random order
    got: dict[int, np.ndarray] = {}
    decoded_at = None
    for step, j in enumerate(sc["order"]):
        got[j] = released[j]
        result = decode_releases(cfg, got)
        if len(got) < cfg.quorum:
            assert result is None
            continue
        correct_held = sum(1 for i in got if i not in really_wrong)
        if result is None:
            assert correct_held < cfg.quorum, "n - t correct share sums must decode"
            continue
        decoded_at = step if decoded_at is None else decoded_at
        assert len(result.support) == n - t
        assert {x - 1 for x in result.inconsistent} <= really_wrong  # only wrong ones are flagged
        s = cluster_result(masked_sum, result.secret)
        assert np.array_equal(gf.decode_signed(s), exact)
    assert decoded_at is not None  # all n releases, at most t wrong: decodes
    # any fixed subset of size n - t .. n behaves the same way
    for size in range(n - t, n + 1):
        for subset in itertools.islice(itertools.combinations(range(n), size), 6):
            result = decode_releases(cfg, {j: released[j] for j in subset})
            if result is not None:
                assert np.array_equal(gf.decode_signed(cluster_result(masked_sum, result.secret)), exact)
            else:
                assert sum(1 for j in subset if j not in really_wrong) < n - t


@settings(max_examples=40, deadline=None)
@given(scenario())
def test_share_sums_are_shares_of_the_mask_sum(sc: dict) -> None:
    """P-1 (linearity, D-3): aggregator j's sum of the clients' shares lies on a polynomial of
    degree t whose constant term is the sum of the masks, so Y minus it is the sum of x."""
    cfg, masked_sum, exact, true_sums, _ = build(sc)
    t = sc["t"]
    base = {j + 1: true_sums[j] for j in range(t + 1)}
    for j in range(sc["n"]):
        assert np.array_equal(shamir.interpolate_at(base, j + 1), true_sums[j])
    rho = shamir.interpolate_at(base, 0)
    masks = [prg_field_vector(seed, sc["d"], b"mask") for seed in sc["mask_seeds"]]
    assert np.array_equal(rho, gf.vsum(masks, sc["d"]))
    assert np.array_equal(gf.decode_signed(cluster_result(masked_sum, rho)), exact)


def check_ghost_sums(events: list[dict], built) -> int:
    """Every reconstruct's ghost sum is the sum mod P of the ghost x of its certified set."""
    ghost_x: dict[tuple[int, int], np.ndarray] = {}
    sds: dict[tuple[int, int], bytes] = {}
    for e in events:
        if e["kind"] == "submit":
            key = (e["round"], int(e["node"][1:]))
            ghost_x[key], sds[key] = unb64(e["ghost"]["x"]), bytes.fromhex(e["sd"])
    proposals = {e["pd"]: e for e in events if e["kind"] == "propose"}
    checked = 0
    for e in events:
        if e["kind"] != "reconstruct":
            continue
        tau, c, pd = e["round"], e["cluster"], e["pd"]
        acc = built.aggregators[e["node"]].clusters[(tau, c)].accepted
        assert acc is not None and acc.pd.hex() == pd
        clients = acc.clients
        if pd in proposals:  # honest coordinator: its trace event names the same set
            assert proposals[pd]["clients"] == sorted(clients)
            assert (proposals[pd]["round"], proposals[pd]["cluster"]) == (tau, c)
        assert e["size"] == len(clients)
        # the set's entries are its clients' signed submissions: pd commits to them (D-17
        # keeps the set and pd, not the entries, once the round is aggregated)
        assert proposal_digest(tau, c, [(i, sds[(tau, i)]) for i in clients]).hex() == pd
        xs = [ghost_x[(tau, i)] for i in clients]
        assert np.array_equal(unb64(e["ghost"]["sum"]), gf.vsum(xs, built.cfg.dim))
        checked += 1
    return checked


def test_end_to_end_ghost_sums_match_certified_sets(small_cfg: ProtocolConfig, tiny_task: Task) -> None:
    """P-1 end to end: in a simulated run with ghost fields and a Byzantine aggregator
    releasing wrong share sums, every reconstruct event's ghost sum equals the sum mod P of
    the ghost x of the submissions of the certified set (from the propose event with that pd,
    or the node's accepted proposal for a Byzantine coordinator's cluster)."""
    total = 0
    for behaviour, seed in [("wrong-shares", 0), ("censor", 1), ("equivocate", 2)]:
        run = RunConfig(
            small_cfg,
            seed=seed,
            byzantine=small_cfg.t_a,
            behaviour=behaviour,
            crashed=small_cfg.t_c,
            ghost=True,
            trace=None,
        )
        summary, built = execute(run, task=tiny_task)
        assert summary.status == "complete"
        events = built.sim.trace.events
        checked = check_ghost_sums(events, built)
        honest = len(built.aggregators)
        # every honest aggregator reconstructed at least a quorum of clusters per round
        assert checked >= honest * small_cfg.rounds * small_cfg.quorum
        if behaviour == "wrong-shares":
            assert any(e["kind"] == "reconstruct" and e["wrong"] for e in events) or all(
                built.byzantine[0] not in e["support"] for e in events if e["kind"] == "reconstruct"
            )
        total += checked
    assert total > 0
