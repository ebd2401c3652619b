"""Privacy checks of a whole trace (P-5, P-6) and privacy spent per client (D-10).

Written independently of ``impl``; pure functions of the header, the trace's ghost
submissions, the certified sets honest aggregators released and the ``end`` event.
:func:`violations` is what the replay calls at the end of a trace.

Accounting (D-10): one inclusion is one Gaussian mechanism with noise multiplier ``z``
(sensitivity 1 after scaling); its Rényi DP at order ``a`` is ``a / (2 z^2)`` (Mironov
2017, Prop. 7) and ``k`` inclusions compose additively to ``k a / (2 z^2)``. The curve is
written here and converted to ``(epsilon, delta)`` by ``dp-accounting``'s
``compute_epsilon`` over the library's default orders: the library ``impl`` uses, by
another path (no DP events, no accountant object), so a wrong count, a wrong composition
or a report rounded down shows as a difference.

Fresh noise (P-5): two submissions of one client whose noise draws are independent
quantise to the same update with probability at most ``p^d``, where ``p`` bounds the
probability that one coordinate of ``N(mu, s^2)`` rounded to the fixed-point grid hits
a given integer: ``1 / (s sqrt(2 pi))`` for ``s`` the noise std in grid steps (the
density's maximum times the cell's width), plus the mass clamped to ``+-Q`` (D-5). The
bound holds whatever the means (the momenta) are, since the later draw is independent
of everything before it. The check applies when ``p^d <= 2^-64``, so on a correct trace
it raises a false alarm with probability below ``2^-64`` per pair of submissions; with no
or tiny noise, repeated updates are legitimate (D-13 catch-up submissions of one step
share their momentum) and the check is off.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dp_accounting.rdp.rdp_privacy_accountant import DEFAULT_RDP_ORDERS, compute_epsilon

from asfl.model.field import P

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


@lru_cache(maxsize=4096)
def epsilon(k: int, z: float, delta: float = 1e-5) -> float:
    """Epsilon at ``delta`` of ``k`` Gaussian mechanisms with noise multiplier ``z`` (D-10);
    cached, since clients share counts (about 1 ms per conversion)."""
    if k == 0:
        return 0.0
    if z <= 0:
        return math.inf
    rdp = [k * a / (2 * z * z) for a in DEFAULT_RDP_ORDERS]
    return float(compute_epsilon(DEFAULT_RDP_ORDERS, rdp, delta)[0])


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
    if not 0 < delta < 1:
        return [PrivacyViolation("P-6", None, f"privacy report at delta {delta}, outside (0, 1)")]
    out: list[PrivacyViolation] = []
    reported: dict[str, float | None] = report["epsilon"]
    for name in sorted(set(reported) - {f"C{i}" for i in range(n_c)}):
        out.append(PrivacyViolation("P-6", None, f"privacy report names {name}, not a client of the trace"))
    for i, k in released_counts(n_c, released_sets).items():
        own = epsilon(k, z, delta)
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
                    f"accountant's figure for its {k} released certified sets at z = {z}, "
                    f"delta = {delta} (D-10)",
                )
            )
    return out


def collision_log2(header: Mapping[str, Any]) -> float:
    """log2 of the bound on the probability that two fresh submissions of one client
    quantise to the same update (module docstring); 0.0 when noise gives no bound."""
    cfg = header["config"]
    sigma = cfg["noise_multiplier"] * cfg["clip"] / math.sqrt(cfg["q_min"])  # D-9
    steps = sigma * 2.0 ** cfg["frac_bits"]
    if steps <= 0:
        return 0.0
    k_max = -(-cfg["clients"] // cfg["aggregators"])
    margin = ((P - 1) // 2 // k_max) / 2.0 ** cfg["frac_bits"] - cfg["clip"]  # Q (D-5) minus |mean|
    clamped = 1.0 if margin <= 0 else math.erfc(margin / (sigma * math.sqrt(2)))  # both tails
    p = min(1.0, 1 / (steps * math.sqrt(2 * math.pi)) + clamped)
    return cfg["dim"] * math.log2(p) if p > 0 else -math.inf


def check_fresh_noise(
    header: Mapping[str, Any], submissions: Iterable[GhostSubmission]
) -> list[PrivacyViolation]:
    """P-5: with ghost fields and enough noise, no two submissions of one client carry the
    same quantised update (each carries a fresh draw, D-9, D-13)."""
    if not header.get("ghost") or collision_log2(header) > FALSE_ALARM_LOG2:
        return []
    seen: dict[tuple[int, str], GhostSubmission] = {}
    out: list[PrivacyViolation] = []
    for sub in sorted(submissions, key=lambda s: s.line):
        first = seen.setdefault((sub.client, sub.x), sub)
        if first is not sub:
            out.append(
                PrivacyViolation(
                    "P-5",
                    sub.line,
                    f"C{sub.client}'s round-{sub.round} quantised update equals its round-{first.round} "
                    f"one (line {first.line}): the noise was not drawn afresh (D-9, D-13)",
                )
            )
    return out


def violations(
    header: Mapping[str, Any],
    submissions: Iterable[GhostSubmission],
    released_sets: Iterable[Sequence[int]],
    end: Mapping[str, Any] | None,
) -> list[PrivacyViolation]:
    """Every end-of-trace privacy check: P-5 then P-6."""
    return check_fresh_noise(header, submissions) + check_reported_epsilon(header, released_sets, end)
