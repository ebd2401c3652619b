"""A bounded memo of a pure function's outcomes, shared by the nodes one process hosts.

Opening an envelope (R-3) and rechecking a cluster's evidence (R-17c) depend only on
their bytes, the configuration and the public keys. A simulator hosts every node in one
process and delivers one broadcast to each of them, so each check can run once per
distinct input instead of once per recipient, and still runs in full on any input not
seen before. Memory is bounded by entries and bytes, not by rounds (D-17).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Outcomes by key for the most recently used keys. Each outcome is stored with the
    *context* it was computed in (configuration, public keys); a lookup in another
    context misses."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.bytes = 0
        self.entries: OrderedDict[K, tuple[object, V, int]] = OrderedDict()

    def get(self, key: K, context: object) -> V | None:
        hit = self.entries.get(key)
        if hit is None or (hit[0] is not context and hit[0] != context):
            return None
        self.entries.move_to_end(key)
        return hit[1]

    def put(self, key: K, context: object, value: V, size: int) -> None:
        """Keep ``value`` (about ``size`` bytes), forgetting the least recently used."""
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        self.entries[key] = (context, value, size)
        self.bytes += size
        while len(self.entries) > self.max_entries or self.bytes > self.max_bytes:
            self.bytes -= self.entries.popitem(last=False)[1][2]
