"""The protocol's messages, their digests and envelopes (Rule R-3, §4 of the spec).

Each message kind is a frozen dataclass with ``encode`` and a ``decode``
class method that validates every length against the configuration (``Dims``).
Decoding never raises anything but :class:`impl.wire.WireError`.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from bisect import bisect_left
from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import cached_property
from typing import ClassVar

import numpy as np

from asfl.impl import crypto, field
from asfl.impl.wire import Reader, WireError, Writer, byte_view

DIGEST_LEN = 32
SIG_LEN = 64
MAX_RULE_LEN = 32


@dataclass(frozen=True)
class Dims:
    """What a decoder must know to validate lengths: clients, aggregators, rounds, dimension."""

    n_clients: int
    n_aggregators: int
    rounds: int
    dim: int


def _u32(value: int) -> bytes:
    return value.to_bytes(8, "little")


def field_digest(vector: np.ndarray) -> bytes:
    """``H(v)`` of a field vector (used for ``md``, share digests in traces, results)."""
    return crypto.digest(b"fvec", field.words_view(vector))


def model_digest(model: np.ndarray) -> bytes:
    """Digest of a float64 model vector (§4: header ``prev`` and ``model``)."""
    return crypto.digest(b"model", byte_view(np.ascontiguousarray(model, dtype="<f8")))


def same_model(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two model vectors have the same bytes under :func:`model_digest`, hence the
    same digest: a compare, several times cheaper than hashing (``-0.0`` differs from ``0.0``)."""
    a, b = np.ascontiguousarray(a, dtype="<f8"), np.ascontiguousarray(b, dtype="<f8")
    return a.shape == b.shape and bool(np.array_equal(a.view("<u8"), b.view("<u8")))


def submission_digest(tau: int, client: int, y: np.ndarray, share_digests: tuple[bytes, ...]) -> bytes:
    """``sd_i = H("submit", tau, i, H(y_i), h_0, ..., h_{n_a-1})`` (§4)."""
    return crypto.digest(b"submit", _u32(tau), _u32(client), field_digest(y), *share_digests)


def proposal_digest(tau: int, cluster: int, entries: list[tuple[int, bytes]]) -> bytes:
    """``pd = H("proposal", tau, c, (i, sd_i) for i in I sorted)`` (§4)."""
    parts: list[bytes] = []
    for client, sd in sorted(entries):
        parts += [_u32(client), sd]
    return crypto.digest(b"proposal", _u32(tau), _u32(cluster), *parts)


def _digest_list(reader: Reader, n: int) -> tuple[bytes, ...]:
    if reader.count() != n:
        raise WireError(f"expected {n} digests")
    return tuple(reader.blob(DIGEST_LEN) for _ in range(n))


class _Message(ABC):
    """What every message kind shares: its D-14 encoding is what :meth:`writer` writes."""

    @abstractmethod
    def writer(self) -> Writer:
        """A writer holding this body's encoding (its buffers are joined once, by the caller)."""

    def encode(self) -> bytes:
        return self.writer().getvalue()


@dataclass(frozen=True, eq=False)
class Submit(_Message):
    """Client → coordinator: masked update, encrypted shares, client signature on ``sd``."""

    KIND: ClassVar[str] = "submit"
    tau: int
    client: int
    y: np.ndarray
    share_digests: tuple[bytes, ...]
    ciphertexts: tuple[bytes, ...]
    client_sig: bytes

    def sd(self) -> bytes:
        return self._sd

    @cached_property
    def _sd(self) -> bytes:
        return submission_digest(self.tau, self.client, self.y, self.share_digests)

    def writer(self) -> Writer:
        w = Writer().uint(self.tau).uint(self.client).field_vector(self.y)
        w.uint(len(self.share_digests))
        for h in self.share_digests:
            w.blob(h)
        w.uint(len(self.ciphertexts))
        for ct in self.ciphertexts:
            w.blob(ct)
        return w.blob(self.client_sig)

    @classmethod
    def decode(cls, data: bytes | memoryview, dims: Dims) -> Submit:
        r = Reader(data)
        tau, client = r.uint(dims.rounds), r.uint(dims.n_clients)
        y = r.field_vector(dims.dim)
        digests = _digest_list(r, dims.n_aggregators)
        if r.count() != dims.n_aggregators:
            raise WireError("wrong number of ciphertexts")
        cts = tuple(r.blob(4 * dims.dim + 16) for _ in range(dims.n_aggregators))
        sig = r.blob(SIG_LEN)
        r.done()
        return cls(tau, client, y, digests, cts, sig)


@dataclass(frozen=True, eq=False)
class ProposalEntry:
    """One client of a proposal, as seen by one recipient (Decision D-6)."""

    client: int
    y: np.ndarray
    share_digests: tuple[bytes, ...]
    ciphertext: bytes
    client_sig: bytes

    def sd(self, tau: int) -> bytes:
        """``sd_i`` for round ``tau``, memoised (it hashes the whole masked vector)."""
        cached = self.__dict__.get("_sd")
        if cached is None or cached[0] != tau:
            cached = (tau, submission_digest(tau, self.client, self.y, self.share_digests))
            self.__dict__["_sd"] = cached
        return cached[1]


@dataclass(frozen=True, eq=False)
class Propose(_Message):
    """Coordinator → aggregator ``j``: the closed set with ``j``'s ciphertexts (R-7)."""

    KIND: ClassVar[str] = "propose"
    tau: int
    cluster: int
    counts: tuple[int, ...]
    entries: tuple[ProposalEntry, ...]

    def pd(self) -> bytes:
        return proposal_digest(self.tau, self.cluster, [(e.client, e.sd(self.tau)) for e in self.entries])

    def writer(self) -> Writer:
        w = Writer().uint(self.tau).uint(self.cluster).uint(len(self.counts))
        for count in self.counts:
            w.uint(count)
        w.uint(len(self.entries))
        for e in self.entries:
            w.uint(e.client).field_vector(e.y).uint(len(e.share_digests))
            for h in e.share_digests:
                w.blob(h)
            w.blob(e.ciphertext).blob(e.client_sig)
        return w

    @classmethod
    def decode(cls, data: bytes | memoryview, dims: Dims) -> Propose:
        r = Reader(data)
        tau, cluster = r.uint(dims.rounds), r.uint(dims.n_aggregators)
        n_counts = r.count()
        if n_counts > dims.n_clients:
            raise WireError("too many counts")
        counts = tuple(r.uint(dims.rounds + 1) for _ in range(n_counts))
        n_entries = r.count()
        if n_entries > dims.n_clients:
            raise WireError("too many entries")
        entries = []
        for _ in range(n_entries):
            client = r.uint(dims.n_clients)
            y = r.field_vector(dims.dim)
            digests = _digest_list(r, dims.n_aggregators)
            ct = r.blob(4 * dims.dim + 16)
            sig = r.blob(SIG_LEN)
            entries.append(ProposalEntry(client, y, digests, ct, sig))
        r.done()
        return cls(tau, cluster, counts, tuple(entries))


@dataclass(frozen=True)
class Endorse(_Message):
    """Aggregator → all: endorsement of ``(tau, c, pd, md)`` (R-8)."""

    KIND: ClassVar[str] = "endorse"
    tau: int
    cluster: int
    pd: bytes
    md: bytes

    def writer(self) -> Writer:
        return Writer().uint(self.tau).uint(self.cluster).blob(self.pd).blob(self.md)

    @classmethod
    def decode(cls, data: bytes | memoryview, dims: Dims) -> Endorse:
        r = Reader(data)
        out = cls(r.uint(dims.rounds), r.uint(dims.n_aggregators), r.blob(DIGEST_LEN), r.blob(DIGEST_LEN))
        r.done()
        return out


@dataclass(frozen=True, eq=False)
class Release(_Message):
    """Aggregator → all: its share of the mask sum of a certified set (R-10)."""

    KIND: ClassVar[str] = "release"
    tau: int
    cluster: int
    pd: bytes
    share_sum: np.ndarray

    def writer(self) -> Writer:
        w = Writer().uint(self.tau).uint(self.cluster).blob(self.pd)
        return w.field_vector(self.share_sum)

    @classmethod
    def decode(cls, data: bytes | memoryview, dims: Dims) -> Release:
        r = Reader(data)
        out = cls(
            r.uint(dims.rounds),
            r.uint(dims.n_aggregators),
            r.blob(DIGEST_LEN),
            r.field_vector(dims.dim),
        )
        r.done()
        return out


@dataclass(frozen=True, eq=False)
class ClusterEvidence:
    """What lets anyone recheck one cluster result (R-12, R-17)."""

    cluster: int
    entries: tuple[tuple[int, bytes], ...]  # (client, sd), sorted by client
    md: bytes
    endorsements: tuple[tuple[int, bytes], ...]  # (aggregator, envelope signature)
    masked_sum: np.ndarray
    releases: tuple[tuple[int, np.ndarray, bytes], ...]  # (aggregator, share sum, signature)
    # the digest of every byte of this evidence (asfl.impl.certify's memo key), computed once
    # per object: a decoded body is shared by every node it is delivered to and never changed
    # in place (asfl.impl.node's opening memo); dataclasses.replace does not copy it
    _key: bytes | None = dc_field(default=None, init=False, compare=False, repr=False)

    def write(self, w: Writer) -> Writer:
        """Append this evidence to ``w`` (its wire form inside an ``offer``)."""
        w.uint(self.cluster).uint(len(self.entries))
        for client, sd in self.entries:
            w.uint(client).blob(sd)
        w.blob(self.md).uint(len(self.endorsements))
        for agg, sig in self.endorsements:
            w.uint(agg).blob(sig)
        w.field_vector(self.masked_sum).uint(len(self.releases))
        for agg, vec, sig in self.releases:
            w.uint(agg).field_vector(vec).blob(sig)
        return w

    @classmethod
    def read(cls, r: Reader, dims: Dims) -> ClusterEvidence:
        """Read one evidence written by :meth:`write`, validating every length."""
        cluster = r.uint(dims.n_aggregators)
        n_entries = r.count()
        if n_entries > dims.n_clients:
            raise WireError("too many entries")
        entries = tuple((r.uint(dims.n_clients), r.blob(DIGEST_LEN)) for _ in range(n_entries))
        md = r.blob(DIGEST_LEN)
        n_end = r.count()
        if n_end > dims.n_aggregators:
            raise WireError("too many endorsements")
        endorsements = tuple((r.uint(dims.n_aggregators), r.blob(SIG_LEN)) for _ in range(n_end))
        masked_sum = r.field_vector(dims.dim)
        n_rel = r.count()
        if n_rel > dims.n_aggregators:
            raise WireError("too many releases")
        releases = tuple(
            (r.uint(dims.n_aggregators), r.field_vector(dims.dim), r.blob(SIG_LEN)) for _ in range(n_rel)
        )
        return cls(cluster, entries, md, endorsements, masked_sum, releases)


SET_LIST, SET_BITMAP = 0, 1
"""The two wire forms of a header's client set inside an ``announce`` (D-20)."""


def _uint_len(value: int) -> int:
    """Bytes of ``value``'s LEB128 encoding (D-14)."""
    return max(1, -(-value.bit_length() // 7))


def _increasing_list_len(clients: tuple[int, ...]) -> int:
    """Bytes of the list form ``count(I) uint(i)...`` of a strictly increasing list of
    non-negative ids: each id takes one byte, and one more for every power ``2^(7k)``
    (``k >= 1``) it reaches; for a sorted list those are counted by bisection."""
    n = len(clients)
    size = _uint_len(n) + n
    bound = 1 << 7
    while clients and bound <= clients[-1]:
        size += n - bisect_left(clients, bound)
        bound <<= 7
    return size


def _set_form(clients: tuple[int, ...]) -> tuple[int, bytes | None]:
    """The form D-20 writes ``clients`` in, and the bitmap if that is the form.

    The bitmap (bit ``i`` of byte ``i // 8`` set iff client ``i`` is in the set, least
    significant bit first, ``max(I) // 8 + 1`` bytes) is used iff the list is strictly
    increasing and ``blob(bitmap)`` is not longer than the list form ``count(I) uint(i)...``.
    """
    if clients and (clients[0] < 0 or not all(map(operator.lt, clients, clients[1:]))):
        return SET_LIST, None
    size = clients[-1] // 8 + 1 if clients else 0
    if _uint_len(size) + size > _increasing_list_len(clients):
        return SET_LIST, None
    bits = np.zeros(8 * size, dtype=np.uint8)
    bits[list(clients)] = 1
    return SET_BITMAP, np.packbits(bits, bitorder="little").tobytes()


def _write_client_set(w: Writer, clients: tuple[int, ...]) -> None:
    """``uint(form)`` then ``blob(bitmap)`` or ``count(I) uint(i)...`` (D-20)."""
    form, bitmap = _set_form(clients)
    w.uint(form)
    if bitmap is not None:
        w.blob(bitmap)
        return
    w.uint(len(clients))
    for client in clients:
        w.uint(client)


def _read_client_list(r: Reader, dims: Dims) -> tuple[int, ...]:
    n = r.count()
    if n > dims.n_clients:
        raise WireError("too many clients in a set")
    return tuple(r.uint(dims.n_clients) for _ in range(n))


def _read_client_set(r: Reader, dims: Dims) -> tuple[int, ...]:
    """Read :func:`_write_client_set`'s output; reject ids ``>= n_clients`` and a set not in
    the form D-20 writes it in (canonical encoding: a bitmap of the wrong length, a list
    that the bitmap would encode in fewer bytes)."""
    form = r.uint(2)
    if form == SET_LIST:
        clients = _read_client_list(r, dims)
    else:
        raw = r.view()
        if len(raw) > -(-dims.n_clients // 8):
            raise WireError(f"set bitmap of {len(raw)} bytes, more than {dims.n_clients} clients")
        ids = np.flatnonzero(np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little"))
        if ids.size and int(ids[-1]) >= dims.n_clients:
            raise WireError(f"set bitmap names client {int(ids[-1])} >= {dims.n_clients}")
        clients = tuple(ids.tolist())
        if len(raw) != (clients[-1] // 8 + 1 if clients else 0):
            raise WireError(f"set bitmap of {len(raw)} bytes, not max(I) // 8 + 1 (D-20)")
    if _set_form(clients)[0] != form:
        raise WireError("client set not in its canonical form (D-20)")
    return clients


@dataclass(frozen=True)
class ClusterSet:
    """One certified set a model was aggregated from: ``(c, pd_c, I_c)`` (§4 headers)."""

    cluster: int
    pd: bytes
    clients: tuple[int, ...]


@dataclass(frozen=True)
class Header:
    """The header of model ``w_tau``: ``(tau, prev, model, rule, sets)`` (§4, R-14, R-17)."""

    tau: int
    prev: bytes
    model: bytes
    rule: str
    sets: tuple[ClusterSet, ...]

    def write(self, w: Writer, compact: bool = False) -> Writer:
        """The header's D-14 encoding (what its digest hashes); with ``compact``, each set's
        clients in the wire form of D-20 (inside an ``announce``). The compact form is
        encoded once per header (a header is immutable, and announced to every client)."""
        return w.raw(self._compact if compact else self._encode(compact=False))

    @cached_property
    def _compact(self) -> bytes:
        return self._encode(compact=True)

    def _encode(self, compact: bool) -> bytes:
        w = Writer().uint(self.tau).blob(self.prev).blob(self.model).text(self.rule).uint(len(self.sets))
        for s in self.sets:
            w.uint(s.cluster).blob(s.pd)
            if compact:
                _write_client_set(w, s.clients)
            else:
                w.uint(len(s.clients))
                for client in s.clients:
                    w.uint(client)
        return w.getvalue()

    @classmethod
    def read(cls, r: Reader, dims: Dims, compact: bool = False) -> Header:
        """Read :meth:`write`'s encoding (``compact`` as it was written), validating it."""
        tau, prev, model, rule = (
            r.uint(dims.rounds + 1),
            r.blob(DIGEST_LEN),
            r.blob(DIGEST_LEN),
            r.text(MAX_RULE_LEN),
        )
        n_sets = r.count()
        if n_sets > dims.n_aggregators:
            raise WireError("too many sets in header")
        sets = []
        for _ in range(n_sets):
            cluster, pd = r.uint(dims.n_aggregators), r.blob(DIGEST_LEN)
            clients = _read_client_set(r, dims) if compact else _read_client_list(r, dims)
            sets.append(ClusterSet(cluster, pd, clients))
        return cls(tau, prev, model, rule, tuple(sets))

    def digest(self) -> bytes:
        """``hd = H("header", encoding)`` (§4)."""
        return self._digest

    @cached_property
    def _digest(self) -> bytes:
        return crypto.digest(b"header", self.write(Writer()).getvalue())


def attestation_digest(header_digest: bytes) -> bytes:
    """What an attestation signs: ``H("asfl/attest", hd)`` (§4, R-17)."""
    return crypto.digest(b"asfl/attest", header_digest)


Attestation = tuple[int, bytes]  # (aggregator index, signature on attestation_digest(hd))


def _write_attestations(w: Writer, attestations: tuple[Attestation, ...]) -> Writer:
    w.uint(len(attestations))
    for agg, sig in attestations:
        w.uint(agg).blob(sig)
    return w


def _read_attestations(r: Reader, dims: Dims) -> tuple[Attestation, ...]:
    n = r.count()
    if n > dims.n_aggregators:
        raise WireError("too many attestations")
    return tuple((r.uint(dims.n_aggregators), r.blob(SIG_LEN)) for _ in range(n))


@dataclass(frozen=True, eq=False)
class Offer(_Message):
    """Aggregator → all aggregators: a model to attest, with what lets anyone recheck it (R-17).

    ``prev_header``, ``prev_attestations`` and ``prev_model`` are the producer's attested
    round ``tau - 1`` model; all absent for ``tau = 1`` (the genesis model is public)."""

    KIND: ClassVar[str] = "offer"
    tau: int  # the round of the offered model (tau + 1 in the spec's notation)
    rule: str
    prev_header: Header | None
    prev_attestations: tuple[Attestation, ...]
    prev_model: np.ndarray | None
    evidence: tuple[ClusterEvidence, ...]

    def writer(self) -> Writer:
        w = Writer().uint(self.tau).text(self.rule)
        if self.prev_header is None or self.prev_model is None:
            w.uint(0)
        else:
            self.prev_header.write(w.uint(1))
            _write_attestations(w, self.prev_attestations).float_vector(self.prev_model)
        w.uint(len(self.evidence))
        for ev in self.evidence:
            ev.write(w)
        return w

    @classmethod
    def decode(cls, data: bytes | memoryview, dims: Dims) -> Offer:
        r = Reader(data)
        tau, rule = r.uint(dims.rounds + 1), r.text(MAX_RULE_LEN)
        header: Header | None = None
        attestations: tuple[Attestation, ...] = ()
        model: np.ndarray | None = None
        if r.uint(2):
            header = Header.read(r, dims)
            attestations = _read_attestations(r, dims)
            model = r.float_vector(dims.dim)
        n_ev = r.count()
        if n_ev > dims.n_aggregators:
            raise WireError("too many clusters in evidence")
        evidence = tuple(ClusterEvidence.read(r, dims) for _ in range(n_ev))
        r.done()
        return cls(tau, rule, header, attestations, model, evidence)


@dataclass(frozen=True)
class Attest(_Message):
    """Aggregator ``k`` → producer: its attestation of the header ``hd`` of an offer (R-17)."""

    KIND: ClassVar[str] = "attest"
    tau: int
    producer: int
    header_digest: bytes
    sig: bytes  # k's signature on attestation_digest(header_digest)

    def writer(self) -> Writer:
        return Writer().uint(self.tau).uint(self.producer).blob(self.header_digest).blob(self.sig)

    @classmethod
    def decode(cls, data: bytes | memoryview, dims: Dims) -> Attest:
        r = Reader(data)
        out = cls(r.uint(dims.rounds + 1), r.uint(dims.n_aggregators), r.blob(DIGEST_LEN), r.blob(SIG_LEN))
        r.done()
        return out


@dataclass(frozen=True, eq=False)
class Announce(_Message):
    """Aggregator → clients: an attested model header, with the body for D-18's clients (R-14)."""

    KIND: ClassVar[str] = "announce"
    header: Header
    attestations: tuple[Attestation, ...]
    body: np.ndarray | None

    @property
    def tau(self) -> int:
        """The round of the announced model (tau + 1 in the spec's notation)."""
        return self.header.tau

    def writer(self) -> Writer:
        w = _write_attestations(self.header.write(Writer(), compact=True), self.attestations)
        if self.body is None:
            return w.uint(0)
        return w.uint(1).float_vector(self.body)

    @classmethod
    def decode(cls, data: bytes | memoryview, dims: Dims) -> Announce:
        r = Reader(data)
        header = Header.read(r, dims, compact=True)
        attestations = _read_attestations(r, dims)
        body = r.float_vector(dims.dim) if r.uint(2) else None
        r.done()
        return cls(header, attestations, body)


@dataclass(frozen=True)
class Fetch(_Message):
    """Client → aggregator: the body of the round-``tau`` model whose header ``hd`` that
    aggregator announced to it without a body (D-22); ``uint(tau) blob(hd)`` (D-14)."""

    KIND: ClassVar[str] = "fetch"
    tau: int  # the round of the fetched model (tau + 1 in the spec's notation)
    header_digest: bytes

    def writer(self) -> Writer:
        return Writer().uint(self.tau).blob(self.header_digest)

    @classmethod
    def decode(cls, data: bytes | memoryview, dims: Dims) -> Fetch:
        r = Reader(data)
        out = cls(r.uint(dims.rounds + 1), r.blob(DIGEST_LEN))
        r.done()
        return out


Body = Submit | Propose | Endorse | Release | Offer | Attest | Announce | Fetch
KINDS: dict[
    str,
    type[Submit]
    | type[Propose]
    | type[Endorse]
    | type[Release]
    | type[Offer]
    | type[Attest]
    | type[Announce]
    | type[Fetch],
] = {cls.KIND: cls for cls in (Submit, Propose, Endorse, Release, Offer, Attest, Announce, Fetch)}
CLIENT_KINDS = frozenset({Submit.KIND, Fetch.KIND})  # kinds only a client may send


def envelope_digest(kind: str, sender: int, body: crypto.Buffer | list[crypto.Buffer]) -> bytes:
    """What an envelope's signature signs: ``H("asfl/1", kind, sender, body)`` (R-3); the
    body may be given as the list of its chunks."""
    return crypto.digest(b"asfl/1", kind.encode(), _u32(sender), body)


@dataclass(frozen=True)
class Envelope:
    """A signed message on the wire (R-3). A decoded envelope's ``body`` is a read-only view
    into the received bytes (bodies can be megabytes: not copied)."""

    kind: str
    sender: int
    body: bytes | memoryview
    sig: bytes
    _digest: bytes | None = dc_field(default=None, compare=False, repr=False)
    # the encoding seal() built (not copied by dataclasses.replace, which re-encodes)
    _encoded: bytes | None = dc_field(default=None, init=False, compare=False, repr=False)

    def digest(self) -> bytes:
        """What ``sig`` signs; computed once (bodies can be megabytes)."""
        if self._digest is None:
            object.__setattr__(self, "_digest", envelope_digest(self.kind, self.sender, self.body))
        assert self._digest is not None
        return self._digest

    def encode(self) -> bytes:
        if self._encoded is not None:
            return self._encoded
        return Writer().text(self.kind).uint(self.sender).blob(self.body).blob(self.sig).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        r = Reader(data)
        kind = r.text(16)
        if kind not in KINDS:
            raise WireError(f"unknown message kind {kind!r}")
        out = cls(kind, r.uint(1 << 32), r.view(), r.blob(SIG_LEN))
        r.done()
        return out


def seal(keys: crypto.NodeKeys, sender: int, message: Body) -> Envelope:
    """Sign a message body into an envelope. The body's buffers are hashed as they are and
    copied once, into the envelope's encoding; the envelope's ``body`` is a view into it."""
    chunks = message.writer().parts()  # bytes or read-only byte views (what Writer keeps)
    digest = envelope_digest(message.KIND, sender, chunks)
    sig = keys.sign(digest)
    size = sum(map(crypto.nbytes, chunks))
    head = Writer().text(message.KIND).uint(sender).uint(size).getvalue()
    data = b"".join([head, *chunks, Writer().blob(sig).getvalue()])  # blob(body), blob(sig)
    env = Envelope(message.KIND, sender, memoryview(data)[len(head) : len(head) + size], sig, digest)
    object.__setattr__(env, "_encoded", data)
    return env


def share_context(tau: int, client: int, aggregator: int) -> bytes:
    """Key-derivation context and AEAD associated data of one share (D-2)."""
    return crypto.digest(b"share", _u32(tau), _u32(client), _u32(aggregator))
