"""I-4: signatures of sends by honest nodes (Ed25519 over the envelope digest bytes).

Verification costs ~50 us per signature, more than the rest of the checker per event,
so each distinct ``(node, digest, sig)`` is verified once while it is among the last
:data:`CACHE` verified (a broadcast is one envelope sent ``n`` times in one step; a
replay much later is verified again, so memory stays bounded), and verification can be
switched off (``--signatures none``).

A whole trace's signatures can be verified ahead of their events on one worker thread
(:class:`Ahead`; ``cryptography`` releases the GIL while it verifies): the driver hands
it a batch's triples and the results it returns are taken by :meth:`SignatureChecker.verify`
in place of verifying on the checker's thread. A result is a function of the triple and
the header's keys only, so which thread computed it changes no verdict, and the cache
and its counts (``verified``, ``cache_hits``) are the same as without the worker."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover
    Ed25519PublicKey = None  # type: ignore[assignment,misc]


#: verification results remembered (oldest forgotten first)
CACHE = 4096

#: a signature to verify: (signer node, envelope digest, signature), hex strings
Triple = tuple[str, str, str]


class SignatureChecker:
    def __init__(self, keys: dict[str, dict[str, str]], enabled: bool = True) -> None:
        self.enabled = enabled and Ed25519PublicKey is not None
        self.keys = keys
        self._pub: dict[str, object] = {}
        self._seen: dict[Triple, bool] = {}
        #: results verified ahead by the worker (:class:`Ahead`), for the batch being fed
        self.ahead: dict[Triple, bool] = {}
        self.verified = 0
        self.cached = 0
        self.taken = 0  # of ``verified``, the results the worker computed
        self.seconds = 0.0

    def verify(self, node: str, digest: str, sig: str) -> bool:
        if not self.enabled:
            return True
        k = (node, digest, sig)
        got = self._seen.get(k)
        if got is not None:
            self.cached += 1
            return got
        ok = self.ahead.pop(k, None)
        if ok is None:
            t0 = time.perf_counter()
            ok = self._verify(node, digest, sig)
            self.seconds += time.perf_counter() - t0
        else:
            self.taken += 1
        self.verified += 1
        seen = self._seen
        if len(seen) >= CACHE:
            del seen[next(iter(seen))]
        seen[k] = ok
        return ok

    def known(self, k: Triple) -> bool:
        """Whether ``k``'s result is cached now (the worker need not verify it)."""
        return k in self._seen

    def _verify(self, node: str, digest: str, sig: str) -> bool:
        """The verdict on one triple (either thread: the public keys built are shared,
        building one twice is harmless)."""
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
            "ahead": self.taken,
            "seconds": round(self.seconds, 4),
        }


class Ahead:
    """One worker thread verifying batches of triples ahead of their events (a whole
    trace: :meth:`asfl.checker.replay.Checker.check_stream`). ``seconds`` of the
    checker's thread include its waits for a batch's results."""

    def __init__(self, sigs: SignatureChecker) -> None:
        self.sigs = sigs
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="asfl-sigs")

    def submit(self, triples: dict[Triple, None]) -> Future[dict[Triple, bool]] | None:
        return self.pool.submit(self._run, list(triples)) if triples else None

    def _run(self, triples: list[Triple]) -> dict[Triple, bool]:
        verify = self.sigs._verify
        out: dict[Triple, bool] = {}
        for t in triples:
            try:
                out[t] = verify(*t)
            except Exception:  # noqa: S112 -- left to the event's own check, as without the worker
                continue
        return out

    def take(self, results: Future[dict[Triple, bool]] | None) -> None:
        """The results of the batch about to be fed (those of the one before are
        dropped: each was taken by its event or is cached)."""
        if results is None:
            self.sigs.ahead = {}
            return
        t0 = time.perf_counter()
        self.sigs.ahead = results.result()
        self.sigs.seconds += time.perf_counter() - t0

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.sigs.ahead = {}
