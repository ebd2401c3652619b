"""What a client keeps of every round, compactly (D-17): the model digests it verified
(R-15b) and the distinct sets naming it in verified headers (D-12).

Both are kept for every round (R-15b accepts any late announcement whose ``prev`` was
verified, and D-12 counts its sets), so they are stored as one list slot per round holding a
reference to an object the client shares with the message it came from (a digest, a
``(cluster, pd)`` pair), or a tuple or list of them in the rare round with more than one: about 8
bytes per client and round instead of a set per round (D-17).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

SetKey = tuple[int, bytes]
"""``(cluster, pd)``: one set of a header (D-12 counts distinct ``(round, cluster, pd)``)."""


_TUPLES: OrderedDict[tuple[bytes, ...], tuple[bytes, ...]] = OrderedDict()
_TUPLES_KEPT = 256


def _shared(digests: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """One tuple object for equal tuples of digests, for the most recently made ones: the
    clients of one process that verified the same two models of a round in the same order
    (an equivocating coordinator splits the honest aggregators' sets, so they announce two
    models) share one tuple, 8 bytes a client and round instead of a 2-tuple's 56 (D-17).
    A pure interning: equal tuples, whichever object is kept; bounded in entries."""
    kept = _TUPLES.get(digests)
    if kept is not None:
        _TUPLES.move_to_end(digests)
        return kept
    _TUPLES[digests] = digests
    if len(_TUPLES) > _TUPLES_KEPT:
        _TUPLES.popitem(last=False)
    return digests


class VerifiedDigests:
    """R-15b: the model digests of the headers a client verified, by round. Rounds are
    verified in order (a header's ``prev`` is verified first), so the rounds held are
    ``0 .. n - 1``; a round's slot is its one digest or a tuple of its digests."""

    __slots__ = ("_by_round",)

    def __init__(self, genesis: bytes) -> None:
        self._by_round: list[bytes | tuple[bytes, ...] | None] = [genesis]

    def has(self, tau: int, digest: bytes) -> bool:
        """Whether a header of round ``tau`` with model digest ``digest`` was verified."""
        if not 0 <= tau < len(self._by_round):
            return False
        held = self._by_round[tau]
        return held == digest if isinstance(held, bytes) else held is not None and digest in held

    def add(self, tau: int, digest: bytes) -> bool:
        """Record a verified digest of round ``tau`` (``tau >= 0``); False if it was held."""
        if tau >= len(self._by_round):
            self._by_round.extend([None] * (tau + 1 - len(self._by_round)))
        held = self._by_round[tau]
        if held is None:
            self._by_round[tau] = digest
        elif self.has(tau, digest):
            return False
        else:
            self._by_round[tau] = _shared((held, digest) if isinstance(held, bytes) else (*held, digest))
        return True

    def items(self) -> Iterator[tuple[int, tuple[bytes, ...]]]:
        """``(round, digests in the order verified)`` for every round holding one."""
        for tau, held in enumerate(self._by_round):
            if held is not None:
                yield tau, (held,) if isinstance(held, bytes) else held


class Inclusions:
    """D-12: the distinct ``(round, cluster, pd)`` sets that list the client in the headers
    it verified, and their number. A round's slot is its one :data:`SetKey` (the pair
    object the header's check built, shared by the clients it lists) or a list of them."""

    __slots__ = ("_by_round", "_count")

    def __init__(self) -> None:
        self._by_round: list[SetKey | list[SetKey] | None] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _at(self, tau: int) -> list[SetKey]:
        held = self._by_round[tau] if 0 <= tau < len(self._by_round) else None
        if held is None:
            return []
        return held if isinstance(held, list) else [held]

    def has(self, tau: int, key: SetKey) -> bool:
        """Whether set ``key`` of round ``tau`` was recorded."""
        return key in self._at(tau)

    def add(self, tau: int, key: SetKey) -> bool:
        """Record set ``key`` of round ``tau`` (``tau >= 0``); False if it was held."""
        if tau >= len(self._by_round):
            self._by_round.extend([None] * (tau + 1 - len(self._by_round)))
        held = self._at(tau)
        if key in held:
            return False
        self._by_round[tau] = [*held, key] if held else key
        self._count += 1
        return True

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        """Every ``(round, cluster, pd)`` held, by round, in the order recorded."""
        for tau in range(len(self._by_round)):
            for cluster, pd in self._at(tau):
                yield tau, cluster, pd
