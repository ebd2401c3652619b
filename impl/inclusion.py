"""The inclusion rule: when a coordinator closes a cluster and whom it proposes (R-6, D-7, D-8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set


def floor_count(counts: Sequence[int], t_c: int) -> int:
    """``m``: the ``(t_c + 1)``-th smallest count over the members (R-6)."""
    return sorted(counts)[min(t_c, len(counts) - 1)]


def eligible(members: Sequence[int], counts: Mapping[int, int], t_c: int, lead_bound: int) -> set[int]:
    """``E = { i in M : n(i) <= m + B }`` (R-6)."""
    m = floor_count([counts[i] for i in members], t_c)
    return {i for i in members if counts[i] <= m + lead_bound}


def may_close(n_members: int, n_held: int, t_c: int) -> bool:
    """The close condition ``|H| >= |M| - t_c`` (R-6; it gives ``|H| >= q_min`` by R-1)."""
    return n_held >= n_members - t_c


def proposed_set(
    members: Sequence[int],
    counts: Mapping[int, int],
    held: Set[int],
    *,
    t_c: int,
    lead_bound: int,
    q_min: int,
) -> tuple[int, ...]:
    """The set ``I`` (sorted): ``H ∩ E``, topped up to ``q_min`` with the members of
    ``H \\ E`` of smallest ``(n(i), i)`` (R-6, D-8)."""
    chosen = eligible(members, counts, t_c, lead_bound) & held
    if len(chosen) < q_min:
        rest = sorted(held - chosen, key=lambda i: (counts[i], i))
        chosen.update(rest[: q_min - len(chosen)])
    return tuple(sorted(chosen))
