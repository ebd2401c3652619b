"""Privacy checks of a whole trace (P-5, P-6) and privacy spent per client (D-10).

Written independently of ``impl``; pure functions of the header, the trace's ghost
submissions, the certified sets honest aggregators released and the ``end`` event.
:class:`FreshNoise` is what the replay feeds each ghost submission (P-5, online), and
:func:`check_reported_epsilon` what it calls at the end of a trace (P-6).

Accounting (D-10): one inclusion is one Skellam mechanism (D-9): the sum of the set's
fixed-point updates, an integer vector of L2 sensitivity ``l2 = C 2^f + sqrt(d)/2`` and L1
sensitivity ``l1 = sqrt(d) l2`` (one client's rounded update), plus Skellam noise of
variance ``mu = (z l2)^2`` per coordinate. Its Renyi DP at integer order ``a`` is
``a l2^2/(2 mu) + min(((2a-1) l2^2 + 6 l1)/(4 mu^2), 3 l1/(2 mu))`` (Agarwal, Kairouz, Liu
2021, Thm 3.5); ``k`` inclusions compose additively. The curve is written here, order by
order over D-10's orders ``2..256``, and converted to ``(epsilon, delta)`` by
``dp-accounting``'s ``compute_epsilon``: the library ``impl`` uses, by another path, so a
wrong count, sensitivity, variance, composition or a report rounded down shows as a
difference.

Fresh noise (P-5): two submissions of one client whose noise draws are independent are
equal with probability at most ``p^d``, where ``p`` bounds the probability that one
coordinate, an integer plus ``Sk(v)`` with ``v = mu / q_min``, hits a given integer: the
largest probability of ``Pois(v/2)``, at most ``1/sqrt(2 pi (v/2 - 1))`` (Stirling,
``v/2 >= 2``). The bound holds whatever the integers (the momenta) are, since the later
draw is independent of everything before it. The check applies when ``p^d <= 2^-64``, so
on a correct trace it raises a false alarm with probability below ``2^-64`` per pair of
submissions; with no or tiny noise, repeated updates are legitimate (D-13 catch-up
submissions of one step share their momentum) and the check is off.
A draw from D-9's certified table has point probabilities at most ``e^r`` (``r <= 2^-96``)
times Skellam's, which moves ``log2 p^d`` by less than ``d 2^-94``: nothing at float
resolution for any ``d < 2^40``, so the bound above stands for both samplers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

FALSE_ALARM_LOG2 = -64  # P-5 applies when a pair of fresh draws collides w.p. <= 2^-64
EPSILON_RTOL = 1e-9  # float noise between two evaluations of one figure


@dataclass(frozen=True)
class GhostSubmission:
    """A submission's ghost quantised update (``x``, as text: equal updates give equal
    texts) at its trace line."""

    client: int
    round: int
    x: str
    line: int


@dataclass(frozen=True)
class PrivacyViolation:
    """A violated property; ``line`` is None for the ``end`` event's line."""

    prop: str
    line: int | None
    message: str


@dataclass(frozen=True)
class Release:
    """One inclusion's mechanism, from the header's configuration (D-9): Skellam noise of
    variance ``mu`` on an integer vector of sensitivities ``l2``, ``l1``."""

    mu: float
    l2: float
    l1: float


def release_of(cfg: Mapping[str, Any]) -> Release:
    """D-9's mechanism for a header ``config``: ``l2 = C 2^f + sqrt(d)/2``, ``mu = (z l2)^2``."""
    l2 = cfg["clip"] * 2.0 ** cfg["frac_bits"] + math.sqrt(cfg["dim"]) / 2
    return Release((cfg["noise_multiplier"] * l2) ** 2, l2, math.sqrt(cfg["dim"]) * l2)


def rdp_at(order: int, r: Release) -> float:
    """The Skellam mechanism's RDP at integer ``order`` (module docstring)."""
    gauss = order * r.l2**2 / (2 * r.mu)
    return gauss + min(((2 * order - 1) * r.l2**2 + 6 * r.l1) / (4 * r.mu**2), 3 * r.l1 / (2 * r.mu))


@lru_cache(maxsize=4096)
def epsilon(k: int, r: Release, delta: float = 1e-5) -> float:
    """Epsilon at ``delta`` of ``k`` inclusions of ``r`` (D-10); cached, since clients share
    counts (about 1 ms per conversion)."""
    if k == 0:
        return 0.0
    if r.mu <= 0:
        return math.inf
    orders = list(range(2, 257))
    return float(compute_epsilon(orders, [k * rdp_at(a, r) for a in orders], delta)[0])


def released_counts(n_clients: int, released_sets: Iterable[Sequence[int]]) -> dict[int, int]:
    """Inclusions per client: released certified sets containing it (each set once)."""
    counts = dict.fromkeys(range(n_clients), 0)
    for clients in released_sets:
        for i in set(clients):
            if i in counts:
                counts[i] += 1
    return counts


def check_reported_epsilon(
    header: Mapping[str, Any], released_sets: Iterable[Sequence[int]], end: Mapping[str, Any] | None
) -> list[PrivacyViolation]:
    """P-6: the epsilon the ``end`` event reports for each client is at least this module's
    figure for the client's released certified sets (a lower bound of its true count, since
    sets of unknown membership are left out) at the header's noise multiplier."""
    report = (end or {}).get("privacy")
    if report is None:
        return []
    cfg = header["config"]
    n_c, z, delta = cfg["clients"], cfg["noise_multiplier"], report["delta"]
    release = release_of(cfg)
    if not 0 < delta < 1:
        return [PrivacyViolation("P-6", None, f"privacy report at delta {delta}, outside (0, 1)")]
    out: list[PrivacyViolation] = []
    reported: dict[str, float | None] = report["epsilon"]
    for name in sorted(set(reported) - {f"C{i}" for i in range(n_c)}):
        out.append(PrivacyViolation("P-6", None, f"privacy report names {name}, not a client of the trace"))
    for i, k in released_counts(n_c, released_sets).items():
        own = epsilon(k, release, delta)
        name = f"C{i}"
        if name not in reported:
            if own > 0:
                out.append(PrivacyViolation("P-6", None, f"privacy report omits {name}: epsilon {own:.6g}"))
            continue
        got = reported[name]
        claimed = math.inf if got is None else got
        if claimed < own * (1 - EPSILON_RTOL):
            out.append(
                PrivacyViolation(
                    "P-6",
                    None,
                    f"end reports epsilon {claimed:.6g} for {name}, below {own:.6g}: the RDP "
                    f"accountant's figure for its {k} released certified sets (Skellam) at z = {z}, "
                    f"delta = {delta} (D-10)",
                )
            )
    return out


def collision_log2(header: Mapping[str, Any]) -> float:
    """log2 of the bound on the probability that two fresh submissions of one client are
    equal (module docstring); 0.0 when the noise gives no bound."""
    cfg = header["config"]
    lam = release_of(cfg).mu / cfg["q_min"] / 2  # each Poisson of a client's Sk(mu / q_min), D-9
    if lam < 2:
        return 0.0
    p = min(1.0, 1 / math.sqrt(2 * math.pi * (lam - 1)))
    return cfg["dim"] * math.log2(p)


class FreshNoise:
    """P-5 decided online, submission by submission in trace order: one fingerprint of
    each update is kept (an equal update has an equal fingerprint), not the update
    (D-21). ``found`` holds the violations so far."""

    def __init__(self, header: Mapping[str, Any]) -> None:
        self.on = bool(header.get("ghost")) and collision_log2(header) <= FALSE_ALARM_LOG2
        # (the update's bytes, then the client's as 4 bytes) -> round * 2**40 + line: one
        # bytes key and one int per submission, kept for the whole trace (D-21)
        self.seen: dict[bytes, int] = {}
        self.found: list[PrivacyViolation] = []

    def add(self, client: int, rnd: int, x: str | bytes, line: int) -> None:
        """A submission of ``client`` for round ``rnd`` whose update is (fingerprinted) ``x``."""
        if not self.on:
            return
        key = (x.encode() if isinstance(x, str) else x) + client.to_bytes(4, "little")
        first = self.seen.setdefault(key, (rnd << 40) | line)
        r0, l0 = first >> 40, first & (2**40 - 1)
        if l0 != line:
            self.found.append(
                PrivacyViolation(
                    "P-5",
                    line,
                    f"C{client}'s round-{rnd} quantised update equals its round-{r0} "
                    f"one (line {l0}): the noise was not drawn afresh (D-9, D-13)",
                )
            )


def check_fresh_noise(
    header: Mapping[str, Any], submissions: Iterable[GhostSubmission]
) -> list[PrivacyViolation]:
    """P-5: with ghost fields and enough noise, no two submissions of one client carry the
    same quantised update (each carries a fresh draw, D-9, D-13)."""
    fresh = FreshNoise(header)
    for sub in sorted(submissions, key=lambda s: s.line):
        fresh.add(sub.client, sub.round, sub.x, sub.line)
    return fresh.found
