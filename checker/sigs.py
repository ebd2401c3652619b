"""I-4: signatures of sends by honest nodes (Ed25519 over the envelope digest bytes).

Verification costs ~50 us per signature, more than the rest of the checker per event,
so each distinct ``(node, digest, sig)`` is verified once while it is among the last
:data:`CACHE` verified (a broadcast is one envelope sent ``n`` times in one step; a
replay much later is verified again, so memory stays bounded), and verification can be
switched off (``--signatures none``)."""

from __future__ import annotations

import time

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover
    Ed25519PublicKey = None  # type: ignore[assignment,misc]


#: verification results remembered (oldest forgotten first)
CACHE = 4096


class SignatureChecker:
    def __init__(self, keys: dict[str, dict[str, str]], enabled: bool = True) -> None:
        self.enabled = enabled and Ed25519PublicKey is not None
        self.keys = keys
        self._pub: dict[str, object] = {}
        self._seen: dict[tuple[str, str, str], bool] = {}
        self.verified = 0
        self.cached = 0
        self.seconds = 0.0

    def verify(self, node: str, digest: str, sig: str) -> bool:
        if not self.enabled:
            return True
        k = (node, digest, sig)
        got = self._seen.get(k)
        if got is not None:
            self.cached += 1
            return got
        t0 = time.perf_counter()
        ok = self._verify(node, digest, sig)
        self.seconds += time.perf_counter() - t0
        self.verified += 1
        seen = self._seen
        if len(seen) >= CACHE:
            del seen[next(iter(seen))]
        seen[k] = ok
        return ok

    def _verify(self, node: str, digest: str, sig: str) -> bool:
        pub = self._pub.get(node)
        if pub is None:
            entry = self.keys.get(node)
            if entry is None:
                return False
            try:
                pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(entry["sign"]))
            except ValueError:
                return False
            self._pub[node] = pub
        try:
            pub.verify(bytes.fromhex(sig), bytes.fromhex(digest))  # type: ignore[attr-defined]
            return True
        except (InvalidSignature, ValueError):
            return False

    def stats(self) -> dict[str, object]:
        return {
            "mode": "all" if self.enabled else "none",
            "verified": self.verified,
            "cache_hits": self.cached,
            "seconds": round(self.seconds, 4),
        }
