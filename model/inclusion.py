"""R-6 (with D-7 and D-8): when a coordinator closes a cluster and which set it proposes.

Everything here is a pure function of the coordinator's view: the members ``M`` of the
cluster, their counts ``n(i)`` (D-12) and the members ``H`` whose submission it holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def floor_count(counts: Iterable[int], t_c: int) -> int:
    """``m``: the ``(t_c + 1)``-th smallest count. R-1 guarantees ``|M| > t_c``; should a
    cluster be smaller, the largest count is used (every member is then eligible)."""
    s = sorted(counts)
    return s[min(t_c, len(s) - 1)] if s else 0


def eligible(counts: Mapping[int, int], t_c: int, lead_bound: int) -> frozenset[int]:
    """``E = { i in M : n(i) <= m + B }`` (D-7: members running more than B ahead wait)."""
    m = floor_count(counts.values(), t_c)
    return frozenset(i for i, n in counts.items() if n <= m + lead_bound)


def close_condition(counts: Mapping[int, int], held: Iterable[int], t_c: int) -> bool:
    """``|H| >= |M| - t_c``: all members but ``t_c`` held, deferred ones included (D-7);
    R-1's ``q_min <= k_min - t_c`` makes it imply ``|H| >= q_min``. ``counts`` has one
    entry per member of ``M``."""
    return len(frozenset(held) & counts.keys()) >= len(counts) - t_c


def proposed_set(
    counts: Mapping[int, int], held: Iterable[int], t_c: int, lead_bound: int, q_min: int
) -> tuple[int, ...]:
    """The set ``I`` (sorted): ``H ∩ E`` if it has ``q_min`` clients, else topped up
    (D-8) with the members of ``H \\ E`` of smallest ``(n(i), i)``."""
    h = frozenset(held)
    e = eligible(counts, t_c, lead_bound)
    chosen = h & e
    if len(chosen) < q_min:
        extra = sorted(h - e, key=lambda i: (counts[i], i))[: q_min - len(chosen)]
        chosen = chosen | frozenset(extra)
    return tuple(sorted(chosen))


def close_decision(
    counts: Mapping[int, int], held: Iterable[int], t_c: int, lead_bound: int, q_min: int
) -> tuple[int, ...] | None:
    """R-6 in one call: the proposed set if the coordinator closes now, else ``None``."""
    if not close_condition(counts, held, t_c):
        return None
    return proposed_set(counts, held, t_c, lead_bound, q_min)
