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


def close(
    members: Sequence[int],
    counts: Mapping[int, int],
    held: Set[int],
    *,
    t_c: int,
    lead_bound: int,
    q_min: int,
) -> tuple[int, ...] | None:
    """The proposed set if the coordinator may close now, else ``None`` (R-6).

    Closes when ``|H ∩ E| >= |E| - t_c`` and ``|H| >= q_min``; proposes ``H ∩ E``,
    topped up to ``q_min`` with the members of ``H \\ E`` of smallest ``(n(i), i)``.
    """
    elig = eligible(members, counts, t_c, lead_bound)
    held_eligible = held & elig
    if len(held_eligible) < len(elig) - t_c or len(held) < q_min:
        return None
    chosen = set(held_eligible)
    if len(chosen) < q_min:
        rest = sorted(held - elig, key=lambda i: (counts[i], i))
        chosen.update(rest[: q_min - len(chosen)])
    return tuple(sorted(chosen))
