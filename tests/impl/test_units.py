"""Focused unit tests: wire format (D-14), messages and digests (R-3, §4), the inclusion rule
(R-6, F-1, F-2) and configuration validity (R-1)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from asfl.impl import crypto, inclusion
from asfl.impl import field as gf
from asfl.impl.config import ConfigError, ProtocolConfig
from asfl.impl.messages import (
    KINDS,
    Announce,
    Attest,
    ClusterEvidence,
    ClusterSet,
    Dims,
    Endorse,
    Envelope,
    Header,
    Offer,
    ProposalEntry,
    Propose,
    Release,
    Submit,
    envelope_digest,
    field_digest,
    model_digest,
    proposal_digest,
    seal,
    submission_digest,
)
from asfl.impl.node import Dropped, PublicKeys, open_envelope
from asfl.impl.wire import MAX_BYTES, MAX_ITEMS, Reader, WireError, Writer

# -- wire format (D-14) ------------------------------------------------------------------

FIELDS = st.one_of(
    st.tuples(st.just("uint"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("blob"), st.binary(max_size=40)),
    st.tuples(st.just("text"), st.text(max_size=10)),
    st.tuples(st.just("fvec"), st.lists(st.integers(0, gf.P - 1), max_size=6)),
    st.tuples(st.just("f64"), st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=6)),
)


def write(fields: list[tuple[str, object]]) -> bytes:
    w = Writer()
    for kind, value in fields:
        if kind == "uint":
            w.uint(value)
        elif kind == "blob":
            w.blob(value)
        elif kind == "text":
            w.text(value)
        elif kind == "fvec":
            w.field_vector(np.array(value, dtype=np.uint64))
        else:
            w.float_vector(np.array(value, dtype=np.float64))
    return w.getvalue()


def read(data: bytes, fields: list[tuple[str, object]]) -> list[object]:
    r = Reader(data)
    out: list[object] = []
    for kind, value in fields:
        if kind == "uint":
            out.append(r.uint())
        elif kind == "blob":
            out.append(r.blob())
        elif kind == "text":
            out.append(r.text(64))
        elif kind == "fvec":
            out.append([int(x) for x in r.field_vector(len(value))])
        else:
            out.append([float(x) for x in r.float_vector(len(value))])
    r.done()
    return out


@settings(max_examples=100, deadline=None)
@given(st.lists(FIELDS, max_size=8))
def test_wire_round_trip(fields: list[tuple[str, object]]) -> None:
    """I-4, D-14: every sequence of typed fields reads back exactly as written."""
    data = write(fields)
    assert read(data, fields) == [v if k != "f64" else [float(x) for x in v] for k, v in fields]


@settings(max_examples=100, deadline=None)
@given(st.lists(FIELDS, min_size=1, max_size=6), st.data())
def test_wire_truncation_and_trailing_bytes_raise(
    fields: list[tuple[str, object]], data: st.DataObject
) -> None:
    """I-4, D-14 (total decoder): every strict prefix of an encoding and every extension of it
    raises WireError, never anything else."""
    encoded = write(fields)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(WireError):
        read(encoded[:cut], fields)
    with pytest.raises(WireError, match="trailing"):
        read(encoded + data.draw(st.binary(min_size=1, max_size=8)), fields)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_wire_uint_is_canonical_leb128(value: int) -> None:
    """I-4, L-2, D-14: an integer has exactly one encoding: the shortest LEB128 (regression: a
    redundant zero group used to decode, so a signed body could differ from its re-encoding)."""
    encoded = Writer().uint(value).getvalue()
    assert len(encoded) == max(1, -(-value.bit_length() // 7))
    padded = encoded[:-1] + bytes([encoded[-1] | 0x80, 0x00])
    with pytest.raises(WireError, match="non-canonical"):
        Reader(padded).uint()


def test_wire_reader_rejects_hostile_prefixes_and_values() -> None:
    """I-4, D-14 / R-3: huge length prefixes, over-long or out-of-range integers, non-UTF-8 or over-
    long text, field elements >= P, non-finite floats, wrong vector lengths and non-bytes input all
    raise WireError without allocating."""
    huge_blob = Writer().uint(MAX_BYTES + 1).getvalue()
    with pytest.raises(WireError, match="out of range"):
        Reader(huge_blob).blob()
    with pytest.raises(WireError, match="truncated"):
        Reader(Writer().uint(MAX_BYTES).getvalue() + b"abc").blob()
    with pytest.raises(WireError, match="truncated"):
        Reader(Writer().uint(10).getvalue() + b"abc").blob()  # claims 10 bytes, has 3
    with pytest.raises(WireError, match="out of range"):
        Reader(Writer().uint(MAX_ITEMS + 2).getvalue()).count()
    with pytest.raises(WireError, match="too long"):
        Reader(b"\xff" * 12 + b"\x01").uint()
    with pytest.raises(WireError, match="out of range"):
        Reader(Writer().uint(2**64).getvalue()).uint()
    with pytest.raises(WireError, match="out of range"):
        Reader(Writer().uint(5).getvalue()).uint(limit=5)
    with pytest.raises(WireError, match="truncated integer"):
        Reader(b"\x80").uint()
    with pytest.raises(WireError, match="UTF-8"):
        Reader(Writer().blob(b"\xff\xfe").getvalue()).text()
    with pytest.raises(WireError, match="too long"):
        Reader(Writer().text("x" * 20).getvalue()).text(max_len=10)
    with pytest.raises(WireError):
        Reader(Writer().blob((gf.P).to_bytes(4, "little")).getvalue()).field_vector(1)
    with pytest.raises(WireError, match="expected 8"):
        Reader(Writer().field_vector(np.zeros(3, dtype=np.uint64)).getvalue()).field_vector(2)
    with pytest.raises(WireError, match="non-finite"):
        Reader(Writer().blob(np.array([np.nan]).tobytes()).getvalue()).float_vector(1)
    with pytest.raises(WireError, match="non-finite"):
        Reader(Writer().blob(np.array([-np.inf]).tobytes()).getvalue()).float_vector(1)
    with pytest.raises(WireError, match="expected bytes"):
        Reader("not bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Writer().uint(-1)


# -- messages and digests (R-3, section 4) -----------------------------------------------

DIMS = Dims(n_clients=6, n_aggregators=3, rounds=4, dim=3)
D32 = st.binary(min_size=32, max_size=32)
SIG = st.binary(min_size=64, max_size=64)
FVEC = st.lists(st.integers(0, gf.P - 1), min_size=DIMS.dim, max_size=DIMS.dim).map(
    lambda v: np.array(v, dtype=np.uint64)
)
CT = st.binary(min_size=4 * DIMS.dim + 16, max_size=4 * DIMS.dim + 16)
TAU = st.integers(0, DIMS.rounds - 1)
AGG = st.integers(0, DIMS.n_aggregators - 1)
CLIENT = st.integers(0, DIMS.n_clients - 1)
DIGESTS = st.lists(D32, min_size=DIMS.n_aggregators, max_size=DIMS.n_aggregators).map(tuple)

SUBMIT = st.builds(
    Submit,
    TAU,
    CLIENT,
    FVEC,
    DIGESTS,
    st.lists(CT, min_size=DIMS.n_aggregators, max_size=DIMS.n_aggregators).map(tuple),
    SIG,
)
ENTRY = st.builds(ProposalEntry, CLIENT, FVEC, DIGESTS, CT, SIG)
PROPOSE = st.builds(
    Propose,
    TAU,
    AGG,
    st.lists(st.integers(0, DIMS.rounds), max_size=DIMS.n_clients).map(tuple),
    st.lists(ENTRY, max_size=4).map(tuple),
)
ENDORSE = st.builds(Endorse, TAU, AGG, D32, D32)
RELEASE = st.builds(Release, TAU, AGG, D32, FVEC)
EVIDENCE = st.builds(
    ClusterEvidence,
    AGG,
    st.lists(st.tuples(CLIENT, D32), max_size=4).map(tuple),
    D32,
    st.lists(st.tuples(AGG, SIG), max_size=3).map(tuple),
    FVEC,
    st.lists(st.tuples(AGG, FVEC, SIG), max_size=3).map(tuple),
)
MODEL = st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=DIMS.dim, max_size=DIMS.dim).map(
    np.array
)
RULE = st.sampled_from(["trimmed_mean", "mean", ""])
HEADER = st.builds(
    Header,
    st.integers(0, DIMS.rounds),
    D32,
    D32,
    RULE,
    st.lists(st.builds(ClusterSet, AGG, D32, st.lists(CLIENT, max_size=4).map(tuple)), max_size=3).map(tuple),
)
ATTESTATIONS = st.lists(st.tuples(AGG, SIG), max_size=3).map(tuple)
ANNOUNCE = st.builds(Announce, HEADER, ATTESTATIONS, st.none() | MODEL)
OFFER = st.one_of(
    st.builds(Offer, st.integers(0, DIMS.rounds), RULE, st.none(), st.just(()), st.none(), st.just(())),
    st.builds(
        Offer,
        st.integers(0, DIMS.rounds),
        RULE,
        HEADER,
        ATTESTATIONS,
        MODEL,
        st.lists(EVIDENCE, max_size=3).map(tuple),
    ),
)
ATTEST = st.builds(Attest, st.integers(0, DIMS.rounds), AGG, D32, SIG)
BODIES = st.one_of(SUBMIT, PROPOSE, ENDORSE, RELEASE, OFFER, ATTEST, ANNOUNCE)


def canon(value: object) -> object:
    """A comparable form of a (nested) message: arrays as lists, dataclasses as dicts."""
    if dataclasses.is_dataclass(value):
        return {f.name: canon(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | list):
        return [canon(v) for v in value]
    return value


@settings(max_examples=100, deadline=None)
@given(BODIES)
def test_message_round_trip_every_kind(body: object) -> None:
    """I-4, R-3 / D-14: every kind decodes to the same message and re-encodes to the same bytes, and
    its pd/sd digests are unchanged by the round trip."""
    data = body.encode()
    back = type(body).decode(data, DIMS)
    assert canon(back) == canon(body)
    assert back.encode() == data
    if isinstance(body, Propose):
        assert back.pd() == body.pd()
    if isinstance(body, Submit):
        assert back.sd() == body.sd()


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(KINDS)), st.binary(max_size=200))
def test_message_decoders_are_total(kind: str, data: bytes) -> None:
    """D-14 / I-4: any bytes either decode as the kind or raise WireError, never anything else."""
    with contextlib.suppress(WireError):
        KINDS[kind].decode(data, DIMS)


def test_message_decoders_enforce_dimensions() -> None:
    """I-4, R-3: a round outside [0, R), a cluster or client outside range, a vector of the wrong
    length or a wrong number of digests is refused at decoding."""
    ok = Endorse(0, 0, b"\1" * 32, b"\2" * 32)
    Endorse.decode(ok.encode(), DIMS)
    for bad in (
        dataclasses.replace(ok, tau=DIMS.rounds),
        dataclasses.replace(ok, cluster=DIMS.n_aggregators),
        dataclasses.replace(ok, pd=b"\1" * 31),
    ):
        with pytest.raises(WireError):
            Endorse.decode(bad.encode(), DIMS)
    rel = Release(0, 0, b"\1" * 32, np.zeros(DIMS.dim + 1, dtype=np.uint64))
    with pytest.raises(WireError):
        Release.decode(rel.encode(), DIMS)
    sub = Submit(
        0,
        DIMS.n_clients,
        np.zeros(DIMS.dim, dtype=np.uint64),
        (b"\0" * 32,) * 3,
        (b"\0" * (4 * DIMS.dim + 16),) * 3,
        b"\0" * 64,
    )
    with pytest.raises(WireError):
        Submit.decode(sub.encode(), DIMS)
    sub = dataclasses.replace(sub, client=0, share_digests=(b"\0" * 32,) * 2)
    with pytest.raises(WireError):
        Submit.decode(sub.encode(), DIMS)
    header = Header(DIMS.rounds + 1, b"\0" * 32, b"\0" * 32, "mean", ())
    with pytest.raises(WireError):
        Announce.decode(Announce(header, (), None).encode(), DIMS)
    header = dataclasses.replace(header, tau=1)
    Announce.decode(Announce(header, (), np.zeros(DIMS.dim)).encode(), DIMS)
    with pytest.raises(WireError):
        Announce.decode(Announce(header, (), np.zeros(DIMS.dim + 1)).encode(), DIMS)
    with pytest.raises(WireError):
        Offer.decode(Offer(1, "mean", header, (), np.zeros(DIMS.dim - 1), ()).encode(), DIMS)
    with pytest.raises(WireError):  # more attestations than aggregators
        Announce.decode(Announce(header, ((0, b"\0" * 64),) * (DIMS.n_aggregators + 1), None).encode(), DIMS)


def H(*parts: bytes) -> bytes:
    """The spec's H (D-2), written independently: SHA-256 over length-prefixed parts."""
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little") + p)
    return h.digest()


def le64(x: int) -> bytes:
    return x.to_bytes(8, "little")


def test_digests_follow_the_spec_layout() -> None:
    """I-2 (evidence anyone can recheck), Section 4 / R-3 digest stability: sd, pd, md, the envelope
    digest and the model digest are H over the documented parts (recomputed here with hashlib, so
    any change of layout, which model/ and checker/ rely on, fails this test), pinned to fixed
    values."""
    y = np.array([1, 2, 3], dtype=np.uint64)
    hy = H(b"fvec", y.astype("<u4").tobytes())
    assert field_digest(y) == hy
    assert hy.hex() == "1939d847c0a65417efc645da4891070774e3731e9d9c1c85d5ea0c3166e86370"
    digests = (b"\x01" * 32, b"\x02" * 32)
    sd = submission_digest(1, 2, y, digests)
    assert sd == H(b"submit", le64(1), le64(2), hy, *digests)
    assert sd.hex() == "a6227711aea9bac86d6d7eb640afd63573e78102fcb5ed03bb3c3288cf635e41"
    pd = proposal_digest(1, 0, [(3, b"\x03" * 32), (1, b"\x01" * 32)])
    assert pd == H(b"proposal", le64(1), le64(0), le64(1), b"\x01" * 32, le64(3), b"\x03" * 32)
    assert pd == proposal_digest(1, 0, [(1, b"\x01" * 32), (3, b"\x03" * 32)])  # sorted by client
    assert pd.hex() == "0487530acb8708b9ce5f7ece4f41b6092a6c1fba9e556cb560d32fe654469d50"
    assert envelope_digest("endorse", 2, b"body") == H(b"asfl/1", b"endorse", le64(2), b"body")
    model = np.array([0.5, -1.0])
    assert model_digest(model) == H(b"model", model.astype("<f8").tobytes())
    assert (
        Endorse(1, 2, b"\x01" * 32, b"\x02" * 32).encode()
        == bytes([1, 2, 32]) + b"\x01" * 32 + bytes([32]) + b"\x02" * 32
    )


@settings(max_examples=100, deadline=None)
@given(ENTRY, ENTRY, TAU)
def test_proposal_digest_binds_every_submission(a: ProposalEntry, b: ProposalEntry, tau: int) -> None:
    """S-1, P-2 (pd names one set), Section 4: pd depends on each (i, sd_i) and not on the entries'
    order, nor on the recipient's ciphertext (D-6: every recipient computes the same pd)."""
    assume(a.client != b.client)
    p1 = Propose(tau, 0, (), (a, b))
    assert p1.pd() == Propose(tau, 0, (), (b, a)).pd()
    assert (
        p1.pd() == Propose(tau, 0, (), (dataclasses.replace(a, ciphertext=bytes(len(a.ciphertext))), b)).pd()
    )
    changed = dataclasses.replace(a, y=gf.add(a.y, np.ones_like(a.y)))
    assert Propose(tau, 0, (), (changed, b)).pd() != p1.pd()
    assert Propose(tau, 1, (), (a, b)).pd() != p1.pd()


def test_envelope_seal_open_and_role_checks() -> None:
    """I-4, R-3: a sealed envelope opens with the right keys; unknown kinds, unknown senders,
    client-kind messages signed by an aggregator and bad signatures are refused."""
    agg = [crypto.NodeKeys.from_seed(bytes([1, j]) + bytes(30)) for j in range(3)]
    cli = [crypto.NodeKeys.from_seed(bytes([2, i]) + bytes(30)) for i in range(6)]
    keys = PublicKeys(
        tuple(k.sign_pub for k in agg),
        tuple(k.kx_pub for k in agg),
        tuple(k.sign_pub for k in cli),
        tuple(k.kx_pub for k in cli),
    )
    cfg = dataclasses.replace(ProtocolConfig(), n_clients=6, n_aggregators=3, t_a=0, rounds=4, dim=3)
    endorse = Endorse(1, 2, b"\1" * 32, b"\2" * 32)
    env = seal(agg[1], 1, endorse)
    opened_env, body = open_envelope(cfg, keys, env.encode())
    assert opened_env == env and canon(body) == canon(endorse)
    assert Envelope.decode(env.encode()) == env
    with pytest.raises(WireError, match="unknown message kind"):
        Envelope.decode(dataclasses.replace(env, kind="hello").encode())
    with pytest.raises(Dropped, match="unknown sender"):
        open_envelope(cfg, keys, dataclasses.replace(env, sender=3).encode())
    with pytest.raises(Dropped, match="bad signature"):
        open_envelope(cfg, keys, dataclasses.replace(env, sender=0).encode())
    with pytest.raises(Dropped, match="bad signature"):
        open_envelope(cfg, keys, seal(cli[1], 1, endorse).encode())
    sub = Submit(1, 1, np.zeros(3, dtype=np.uint64), (b"\0" * 32,) * 3, (b"\0" * 28,) * 3, b"\0" * 64)
    with pytest.raises(Dropped, match="bad signature"):
        open_envelope(cfg, keys, seal(agg[1], 1, sub).encode())
    open_envelope(cfg, keys, seal(cli[1], 1, sub).encode())
    with pytest.raises(Dropped, match="malformed envelope"):
        open_envelope(cfg, keys, env.encode()[:-1])


# -- the inclusion rule (R-6, F-1, F-2) ---------------------------------------------------


def close(members: list[int], counts: dict[int, int], held: set[int], **kw: int) -> tuple[int, ...] | None:
    """R-6 in one call: the proposed set if the coordinator closes now, else None."""
    if not inclusion.may_close(len(members), len(held), kw["t_c"]):
        return None
    return inclusion.proposed_set(members, counts, held, **kw)


def test_inclusion_examples() -> None:
    """F-1, R-6 examples: the floor is the (t_c+1)-th smallest count; a member more than B ahead is
    deferred (not proposed) but still waited for; closing waits for all members but t_c; top-up
    by (count, id)."""
    members = list(range(6))
    zero = dict.fromkeys(members, 0)
    assert inclusion.floor_count([5, 1, 3], 0) == 1
    assert inclusion.floor_count([5, 1, 3], 1) == 3
    assert inclusion.floor_count([5, 1, 3], 7) == 5
    assert close(members, zero, {0, 1, 2, 3, 4}, t_c=1, lead_bound=1, q_min=2) == (0, 1, 2, 3, 4)
    assert close(members, zero, {0, 1, 2, 3}, t_c=1, lead_bound=1, q_min=2) is None
    assert close(members, zero, {0, 1, 2, 3}, t_c=2, lead_bound=1, q_min=2) == (0, 1, 2, 3)
    counts = {0: 0, 1: 0, 2: 3, 3: 3, 4: 3, 5: 2}
    assert inclusion.eligible(members, counts, t_c=1, lead_bound=1) == {0, 1}
    assert close(members, counts, {2, 3, 4, 5}, t_c=1, lead_bound=1, q_min=2) is None
    assert close(members, counts, {0, 2, 3, 4, 5}, t_c=1, lead_bound=1, q_min=3) == (0, 2, 5)
    assert close(members, counts, {0, 1, 2, 3, 4}, t_c=1, lead_bound=1, q_min=2) == (0, 1)
    assert close(members, counts, {0, 1, 4}, t_c=1, lead_bound=1, q_min=2) is None  # 3 missing


@st.composite
def cluster(draw: st.DrawFn) -> dict:
    k = draw(st.integers(2, 10))
    members = sorted(draw(st.sets(st.integers(0, 50), min_size=k, max_size=k)))
    t_c = draw(st.integers(0, k - 2))
    q_min = draw(st.integers(2, k - t_c))
    lead = draw(st.integers(0, 3))
    counts = {i: draw(st.integers(0, 6)) for i in members}
    held = draw(st.sets(st.sampled_from(members)))
    return {"members": members, "t_c": t_c, "q_min": q_min, "B": lead, "counts": counts, "held": held}


@settings(max_examples=120, deadline=None)
@given(cluster())
def test_inclusion_rule_properties(c: dict) -> None:
    """R-6, F-1: the coordinator closes iff |H| >= |M| - t_c; the set has >= q_min members, all
    held; it is H ∩ E when that has >= q_min members (so every member has count <= m + B),
    else H ∩ E plus the lowest-(count, id) members of H minus E; either way no held member
    left out has a smaller (count, id) than one proposed outside E (F-4)."""
    members, counts, held = c["members"], c["counts"], c["held"]
    chosen = close(members, counts, held, t_c=c["t_c"], lead_bound=c["B"], q_min=c["q_min"])
    m = sorted(counts[i] for i in members)[c["t_c"]]
    elig = {i for i in members if counts[i] <= m + c["B"]}
    he = held & elig
    assert (chosen is not None) == (len(held) >= len(members) - c["t_c"])
    if chosen is None:
        return
    assert list(chosen) == sorted(set(chosen)) and set(chosen) <= held
    assert len(chosen) >= c["q_min"]
    assert len(elig - set(chosen)) <= c["t_c"]  # F-4: at most t_c eligible members left out
    if len(he) >= c["q_min"]:
        assert set(chosen) == he
        assert all(counts[i] <= m + c["B"] for i in chosen)
    else:
        extra = sorted(set(chosen) - he, key=lambda i: (counts[i], i))
        rest = sorted(held - elig, key=lambda i: (counts[i], i))
        assert set(chosen) >= he and extra == rest[: c["q_min"] - len(he)]
        assert len(chosen) == c["q_min"]
        left = held - set(chosen)
        assert all((counts[i], i) < (counts[j], j) for i in chosen for j in left)


@settings(max_examples=120, deadline=None)
@given(cluster(), st.data())
def test_closing_possible_when_all_but_t_c_held(c: dict, data: st.DataObject) -> None:
    """F-2 / L-1 (reachability): whatever the counts, holding every member but at most t_c
    closes the cluster (q_min <= |M| - t_c, as R-1 guarantees for k_min)."""
    members = c["members"]
    missing = set(data.draw(st.sets(st.sampled_from(members), max_size=c["t_c"])))
    held = set(members) - missing
    chosen = close(members, c["counts"], held, t_c=c["t_c"], lead_bound=c["B"], q_min=c["q_min"])
    assert chosen is not None and len(chosen) >= c["q_min"]


@settings(max_examples=120, deadline=None)
@given(cluster(), st.data())
def test_bounded_lead_is_inductive(c: dict, data: st.DataObject) -> None:
    """F-2: in a cluster with fixed membership, if max n - m <= B + 1 holds and a closing
    without top-up includes the proposed set, the invariant holds again; proposed members
    have n <= m + B."""
    members, t_c, lead = c["members"], c["t_c"], c["B"]
    base = data.draw(st.integers(0, 5))
    # counts within [base, base + B + 1] and floor >= base: the invariant holds by construction
    counts = {i: base + data.draw(st.integers(0, lead + 1)) for i in members}
    assert max(counts.values()) - sorted(counts.values())[t_c] <= lead + 1
    for _ in range(data.draw(st.integers(1, 4))):
        missing = data.draw(st.sets(st.sampled_from(members), max_size=t_c))
        held = set(members) - missing
        chosen = close(members, counts, held, t_c=t_c, lead_bound=lead, q_min=c["q_min"])
        assert chosen is not None
        floor = sorted(counts.values())[t_c]
        if len(held & inclusion.eligible(members, counts, t_c, lead)) < c["q_min"]:
            return  # a top-up round: F-2 makes no claim
        assert all(counts[i] <= floor + lead for i in chosen)
        for i in chosen:
            counts[i] += 1
        assert max(counts.values()) - sorted(counts.values())[t_c] <= lead + 1


# -- configuration validity (R-1) ---------------------------------------------------------

R1_VIOLATIONS = [
    (dict(t_a=-1), r"t_a must be >= 0"),
    (dict(n_aggregators=3, t_a=1), r"n_a >= 3 t_a \+ 1"),
    (dict(n_aggregators=6, t_a=2), r"n_a >= 3 t_a \+ 1.*6 aggregators tolerate at most 1"),
    (dict(n_clients=7), r"at least 2 clients per cluster"),
    (dict(t_c=-1), r"t_c must be >= 0"),
    (dict(q_min=1), r"q_min must be >= 2"),
    (dict(q_min=0), r"q_min must be >= 2"),  # regression: ZeroDivisionError from an eager later check
    (dict(q_min=-1), r"q_min must be >= 2"),  # regression: "math domain error"
    (dict(n_aggregators=0, t_a=0), r"n_a >= 3 t_a \+ 1"),  # regression: ZeroDivisionError in k_min
    (dict(q_min=9), r"q_min <= k_min - t_c.*clusters of 10 with t_c = 2.*8 < q_min = 9"),
    (dict(t_c=6), r"q_min <= k_min - t_c"),
    (dict(lead_bound=-1), r"lead bound B must be >= 0"),
    (dict(rounds=0), r"rounds must be >= 1"),
    (dict(dim=0), r"dim must be >= 1"),
    (dict(frac_bits=25), r"frac_bits"),
    (dict(clip=0.0), r"clip must be > 0"),
    (dict(clip=float("inf")), r"clip must be > 0"),
    (dict(noise_multiplier=-0.1), r"noise multiplier"),
    (dict(beta=1.0), r"beta"),
    (dict(lr=0.0), r"learning rate"),
    (dict(rule="no_such_rule"), r"aggregation rule: unknown aggregator 'no_such_rule'"),
    (dict(batch_size=0), r"batch size"),
    (dict(genesis=b"\0" * 31), r"genesis seed must be 32 bytes"),
    (dict(frac_bits=24, clip=100.0), r"fixed-point range"),
]


@pytest.mark.parametrize("change,message", R1_VIOLATIONS, ids=[str(c) for c, _ in R1_VIOLATIONS])
def test_config_validate_names_each_violated_condition(change: dict, message: str) -> None:
    """S-6, S-5, L-1 (their R-1 preconditions), R-1: each violated condition raises ConfigError
    whose message names that condition (regression: degenerate values such as q_min = 0 or n_a = 0
    used to raise ZeroDivisionError/ValueError from a later check evaluated eagerly)."""
    cfg = dataclasses.replace(ProtocolConfig(), **change)
    with pytest.raises(ConfigError, match=message):
        cfg.validate()


def test_default_config_is_valid() -> None:
    """S-6, L-1, R-1: the defaults satisfy every condition; validate() returns the configuration."""
    cfg = ProtocolConfig()
    assert cfg.validate() is cfg
    assert cfg.k_min == 10 and cfg.quorum == 3


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(0, 12),
    st.integers(-1, 4),
    st.integers(-1, 5),
    st.integers(-2, 12),
    st.integers(-1, 2),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_config_validity_matches_r1(
    n_c: int, n_a: int, t_a: int, t_c: int, q_min: int, lead: int, rounds: int, dim: int
) -> None:
    """S-6, S-5, L-1 (their R-1 preconditions), R-1: validate() accepts exactly the parameter
    combinations of the R-1 table and rejects every other one with a ConfigError (degenerate values
    such as n_a = 0 or q_min <= 0 included: regression for the eagerly evaluated checks)."""
    cfg = dataclasses.replace(
        ProtocolConfig(),
        n_clients=n_c,
        n_aggregators=n_a,
        t_a=t_a,
        t_c=t_c,
        q_min=q_min,
        lead_bound=lead,
        rounds=rounds,
        dim=dim,
    )
    k_min = n_c // n_a if n_a else 0
    valid = (
        t_a >= 0
        and n_a >= 3 * t_a + 1
        and n_c >= 2 * n_a
        and t_c >= 0
        and 2 <= q_min <= k_min - t_c
        and lead >= 0
        and rounds >= 1
        and dim >= 1
    )
    try:
        cfg.validate()
        accepted = True
    except ConfigError as exc:
        accepted = False
        assert re.search(r"t_a|n_a|clients|t_c|q_min|lead|rounds|dim", str(exc))
    assert accepted == valid
