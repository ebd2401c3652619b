"""Replay a trace against the model (refinement, specs/refinement.md): the driver.

Every protocol event fires the model's own action on the abstract state of its node
(:mod:`asfl.model.protocol`: proposal validity, the count view, the close decision,
the release, reconstruct and aggregation guards exist there only); the checker adds
what the model cannot know. The rules live by responsibility:

- :mod:`checker.flow`        -- message flow (T-FLOW), steps (T-STEP), kinds and
  signatures of every send (I-4), prescribed and justified sends;
- :mod:`checker.clients`     -- client events (R-2, R-5, D-13, R-15, ghost updates);
- :mod:`checker.aggregators` -- aggregator events (R-6..R-13, S-*, P-1/P-2, I-*, F-1,
  F-3 count views), digests recomputed from the trace;
- :mod:`checker.attest`      -- offers, attestations and announcements (R-14, R-17,
  D-18, S-7);
- :mod:`checker.endreport`   -- the end event (T-END), owed actions at quiescence,
  liveness L-1..L-3, fairness, certificates, end-of-trace hooks.

Checker-specific IDs (trace well-formedness, properties.md section T): ``T-SEQ``,
``T-FLOW``, ``T-STEP``, ``T-END``, ``T-HEADER`` (header claims against the events).

Whole traces and online use share one mechanism: :meth:`Checker.check_lines` /
:meth:`Checker.check_file` are ``start(header)``, ``feed(event)`` for every later line,
``finish()``; an online monitor (the harness) calls the same methods as the run writes
the trace, and may call :meth:`Checker.end_step` when it knows a step is complete.
Per-event checks are returned by ``feed`` of that event; step checks (prescribed and
justified sends, I-4 on a dropped trigger, D-13 catch-up) when the step closes (next
trigger, ``end``, ``end_step`` or ``finish``), at the step's trigger line; end-of-trace
checks in ``finish``.

Input is streamed (:meth:`Checker.check_file`): lines split on ``\\n`` only, each
decoded as UTF-8 on its own, the header bound-checked before any state is allocated.
With signatures on, a whole trace is read one batch of lines ahead and the batch's
signatures are verified on a worker thread meanwhile (:meth:`Checker.feed_ahead`); the
online API verifies each send's signature when it is fed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from asfl.checker.endreport import EndReport
from asfl.checker.flow import KINDS
from asfl.checker.records import Report, Unusable, Violation
from asfl.checker.schema import TraceSchema
from asfl.checker.sigs import Ahead, SignatureChecker, Triple

__all__ = ["Checker", "Report", "Unusable", "Violation", "check"]

#: per event kind: schema predicate, range test, handler, stateful (:meth:`Checker.plan_kind`)
Plan = tuple[
    Callable[[dict[str, Any]], bool],
    Callable[[dict[str, Any]], bool] | None,
    Callable[[dict[str, Any]], None],
    bool,
]

#: the longest line the checker reads (a ghost vector of the largest ``dim``)
MAX_LINE_BYTES = 64 * 2**20


#: bytes read at a time (lines are split out of each block without a call per line)
BLOCK = 2**16


def _lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes)`` of a file, split on ``\\n`` only (the newline removed),
    read in blocks; memory: one block plus the longest line (at most
    :data:`MAX_LINE_BYTES`, else :class:`Unusable` naming the line)."""
    with open(path, "rb") as f:
        n = 0
        head: list[bytes] = []  # the start of a line that spans blocks
        size = 0
        while block := f.read(BLOCK):
            parts = block.split(b"\n")
            tail = parts.pop()
            if parts and head:
                head.append(parts[0])
                parts[0] = b"".join(head)
                head, size = [], 0
            for raw in parts:
                n += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise Unusable(n, f"line longer than {MAX_LINE_BYTES} bytes")
                yield n, raw
            if tail:
                head.append(tail)
                size += len(tail)
                if size > MAX_LINE_BYTES:
                    raise Unusable(n + 1, f"line longer than {MAX_LINE_BYTES} bytes")
        if head:
            yield n + 1, b"".join(head)


#: a batch read ahead (:func:`read_batch`): at most this many lines ...
AHEAD_LINES = 512
#: ... and this many bytes, plus one line
AHEAD_BYTES = 2**20
#: the interpreter's thread switch interval while signatures are verified ahead: each
#: verification on the worker (~50-100 us) ends waiting for the GIL the checker's thread
#: holds, up to this long (the default is 5 ms; on the 1,000-client trace the checker's
#: thread then waited 0.24-0.31 s for results, at 100 us 0.09-0.14 s)
SWITCH = 1e-4


class Batch:
    """Lines read and parsed ahead: ``(line, event)`` per non-blank line (the raw line
    instead of an event it did not parse to, an exception of the reader last), the
    new signature triples of its sends, the last line number read, and whether the
    input may go on."""

    __slots__ = ("end", "entries", "more", "triples")

    def __init__(
        self, entries: list[tuple[int, Any]], triples: dict[Triple, None], end: int, more: bool
    ) -> None:
        self.entries = entries
        self.triples = triples
        self.end = end
        self.more = more


def read_batch(
    it: Iterator[tuple[int, str | bytes]], sigs: SignatureChecker, before: dict[Triple, None], end: int
) -> Batch:
    """The next :data:`AHEAD_LINES` lines of ``it`` (fewer if they reach
    :data:`AHEAD_BYTES`), parsed; ``(node, digest, sig)`` of each send of a signed kind
    that is neither cached (``sigs``) nor in the batch before (``before``): the sender's
    own signature, the one its check verifies first (I-4: a forwarded envelope's or a
    colluder's is verified when its event is fed). ``end``: the last line read before."""
    entries: list[tuple[int, Any]] = []
    triples: dict[Triple, None] = {}
    loads, bad, known = orjson.loads, orjson.JSONDecodeError, sigs.known
    count = size = 0
    try:
        for n, raw in it:
            end = n
            count += 1
            size += len(raw)
            if raw and not raw.isspace():
                try:
                    ev = loads(raw)
                except bad:
                    ev = raw
                if type(ev) is not dict:
                    ev = raw  # :meth:`Checker.parse` names what is wrong, in its turn
                elif ev.get("kind") == "send" and type(typ := ev.get("type")) is str and typ in KINDS:
                    t = (ev.get("node"), ev.get("digest"), ev.get("sig"))
                    if (
                        type(t[0]) is str
                        and type(t[1]) is str
                        and type(t[2]) is str
                        and t not in triples
                        and t not in before
                        and not known(t)  # type: ignore[arg-type]
                    ):
                        triples[t] = None  # type: ignore[index]
                entries.append((n, ev))
            if count >= AHEAD_LINES or size >= AHEAD_BYTES:
                return Batch(entries, triples, end, True)
    except Exception as e:  # the reader's (Unusable, OSError): raised in its turn
        entries.append((end + 1, e))
    return Batch(entries, triples, end, False)


class Checker(EndReport):
    def __init__(
        self,
        signatures: str = "all",
        delta: float = 1e-5,
        max_violations: int = 1000,
        z3: bool = True,
    ) -> None:
        if signatures not in ("all", "none"):
            raise ValueError(f"signatures must be 'all' or 'none', not {signatures!r}")
        if not 0 < delta < 1:
            raise ValueError(f"delta must be in (0, 1), not {delta}")
        if max_violations < 1:
            raise ValueError(f"max_violations must be >= 1, not {max_violations}")
        self.sig_mode = signatures
        self.use_z3 = z3
        self.delta = delta
        self.max_violations = max_violations
        self.schema = TraceSchema.shared()
        self.fast = self.schema.fast  # kind -> the schema's predicate (valid lines only)
        self.line = 0
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "send": self.on_send,
            "deliver": self.on_deliver,
            "drop": self.on_drop,
            "crash": self.on_crash,
            "local_step": self.on_local_step,
            "submit": self.on_submit,
            "propose": self.on_propose,
            "endorse": self.on_endorse,
            "certify": self.on_certify,
            "release": self.on_release,
            "reconstruct": self.on_reconstruct,
            "aggregate": self.on_aggregate,
            "attest": self.on_attest,
            "announce": self.on_announce,
            "accept": self.on_accept,
            "fetch": self.on_fetch,
            "serve": self.on_serve,
            "equivocation": self.on_equivocation,
            "end": self.on_end,
        }

    # -- whole traces ----------------------------------------------------------------
    def check_file(self, path: str | Path) -> Report:
        """Check a trace file, streamed; the report cites the lines of its violations."""
        rep = self.check_stream(_lines(path), str(path))
        want = rep.cited()
        if want:
            rep.excerpts = {
                n: t.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
                for n, t in _lines(path)
                if n in want
            }
        return rep

    def check_lines(self, lines: list[str], path: str = "<trace>") -> Report:
        """Check a whole trace held in memory (its lines kept in the report)."""
        rep = self.check_stream(enumerate(lines, 1), path)
        rep.raw = lines
        return rep

    def check_stream(self, lines: Iterable[tuple[int, str | bytes]], path: str = "<trace>") -> Report:
        """``start`` on line 1, ``feed`` every other non-blank line, ``finish``. Stops
        feeding after ``max_violations`` violations. With signatures on, lines are read
        and parsed a batch ahead (:meth:`feed_ahead`)."""
        it = iter(lines)
        first = next(it, None)
        if first is None:
            raise Unusable(1, "empty file: no header")
        self.start(self.parse(first[1], 1), path)
        if self.sigs.enabled:
            return self.finish(lines=self.feed_ahead(it))
        last = 1
        feed, parse, violations, most = self.feed, self.parse, self.rep.violations, self.max_violations
        loads, bad = orjson.loads, orjson.JSONDecodeError
        for n, raw in it:
            last = n
            if not raw or raw.isspace():
                continue
            try:  # :meth:`parse`, inlined for the common case; it names what is wrong
                ev = loads(raw)
            except bad:
                ev = parse(raw, n)
            if type(ev) is not dict:
                ev = parse(raw, n)
            feed(ev, line=n)
            if len(violations) >= most:
                break
        return self.finish(lines=last)

    def feed_ahead(self, it: Iterator[tuple[int, str | bytes]]) -> int:
        """:meth:`check_stream`'s loop with the signatures verified ahead (I-4,
        :class:`Ahead`): while one batch of lines is fed, the next is read and parsed
        and its sends' signatures are verified on the worker thread. The same verdicts,
        in the same order, as feeding line by line: a line that cannot be read or parsed
        is reported when its turn comes (one after the stop at ``max_violations`` is
        not); memory: two batches (:func:`read_batch`). Returns the last line read."""
        ahead = Ahead(self.sigs)
        switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH)
        try:
            cur = read_batch(it, self.sigs, {}, 1)
            pending = ahead.submit(cur.triples)
            feed, parse, violations, most = self.feed, self.parse, self.rep.violations, self.max_violations
            while True:
                nxt = read_batch(it, self.sigs, cur.triples, cur.end) if cur.more else None
                following = ahead.submit(nxt.triples) if nxt is not None else None
                ahead.take(pending)
                for n, ev in cur.entries:
                    if type(ev) is not dict:
                        if isinstance(ev, Exception):
                            raise ev
                        ev = parse(ev, n)  # raises: it names what is wrong
                    feed(ev, line=n)
                    if len(violations) >= most:
                        return n
                if nxt is None:
                    return cur.end
                cur, pending = nxt, following
        finally:
            sys.setswitchinterval(switch)
            ahead.close()

    @staticmethod
    def parse(raw: str | bytes, line: int) -> dict[str, Any]:
        """One line as a JSON object (``orjson``: UTF-8 checked, nesting limited)."""
        try:
            ev = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            if isinstance(raw, bytes):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as u:
                    raise Unusable(line, f"not UTF-8 (byte {u.start + 1} of the line)") from None
            if e.msg.startswith("depth limit exceeded"):
                raise Unusable(line, "JSON nested too deeply") from None
            raise Unusable(line, f"invalid JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(ev, dict):
            raise Unusable(line, f"a line must be a JSON object, not {type(ev).__name__}")
        return ev

    # -- the online API --------------------------------------------------------------
    def start(self, header: dict[str, Any], path: str = "<trace>", raw: list[str] | None = None) -> None:
        """Begin a trace with its header (line 1). Raises :class:`Unusable` if the header
        does not validate or its sizes exceed the checker's bounds."""
        self.t0 = time.perf_counter()
        self.rep = Report(path, raw=raw if raw is not None else [])
        err = self.schema.validate(header)
        if err is None and header.get("kind") != "header":
            err = "line 1 must be the header"
        if err:
            raise Unusable(1, f"{err}. {self.schema.explain(header)}".strip())
        self.init_state(header)
        if self.obligations is not None:
            for res in self.obligations.for_config():
                if res.status != "proved":
                    self.viol(
                        res.prop_id, f"Z3 {res.status} at the trace's sizes: {res.title} {res.counterexample}"
                    )

    def feed(self, ev: dict[str, Any], line: int | None = None) -> list[Violation]:
        """Check one event (after :meth:`start`); the violations it reveals (see the
        module docstring for when each class is reported). Raises :class:`Unusable` if
        the event does not validate against the schema. The event is not modified."""
        self.line = line = self.line + 1 if line is None else line
        kind: str = ev.get("kind") if type(ev) is dict else None  # type: ignore[assignment]
        # one lookup per event: the kind's schema predicate, range test, handler, R-3 flag
        plan = self.plans.get(kind) if type(kind) is str else None
        if plan is None or not plan[0](ev):  # the schema's checking functions name the error
            err = self.schema.validate(ev)
            if err:
                raise Unusable(line, f"{err}. {self.schema.explain(ev)}".strip())
            kind = ev["kind"]
            if kind == "header":
                raise Unusable(line, "a second header")
            plan = self.plans.get(kind) or self.plan_kind(kind)
        _, in_range, handler, stateful = plan
        violations = self.rep.violations
        n0 = len(violations)
        self.cur_node = node = ev.get("node")
        self.events = events = self.events + 1
        if ev["seq"] != events:
            self.viol("T-SEQ", f"seq {ev['seq']}, expected {events}")
            self.events = ev["seq"]
        if self.ended:
            self.viol("T-END", "event after the end event")
        if in_range is not None and not in_range(ev) and not self.in_range(ev):
            return violations[n0:]  # the generated test decides the common case
        if stateful and node == self.step.node:
            self.step.protocol.append(kind)
        handler(ev)
        if kind == "accept" and node is not None and node == self.step.node:
            self.release_held(node, ev["from"], ev["round"])
        return violations[n0:] if len(violations) > n0 else []

    def plan_kind(self, kind: str) -> Plan:
        """What :meth:`feed` reads for events of a (valid) ``kind``, built at its first
        event: the schema predicate, the range test (None: ``end``, which has none), the
        handler and whether the kind changes a node's state (:data:`STATEFUL`)."""
        plan = self.plans[kind] = (
            self.fast[kind],
            None if kind == "end" else self.range_test(kind),
            self.handlers[kind],
            kind in STATEFUL,
        )
        return plan

    def end_step(self) -> list[Violation]:
        """Declare the current step complete (an online feeder that knows step
        boundaries): its step checks are decided now instead of at the next trigger."""
        n0 = len(self.rep.violations)
        self.close_step()
        return self.rep.violations[n0:]

    def finish(self, lines: int | None = None) -> Report:
        """End of the trace: close the last step and run the end-of-trace checks.
        ``lines`` is the trace's line count (default: the last line fed)."""
        rep = self.rep
        self.close_step()
        rep.lines = self.line if lines is None else lines
        t1 = time.perf_counter()
        self.end_of_trace()
        rep.events = self.events
        rep.stats = {
            "seconds": round(time.perf_counter() - self.t0, 4),
            "replay_seconds": round(t1 - self.t0, 4),
            "signatures": self.sigs.stats(),
            "p1_unsearched": self.p1_unsearched,
            "unmatched_accepts": self.unmatched_accepts,
        }
        if self.obligations is not None:
            rep.stats["z3"] = self.obligations.summary()
        return rep


#: protocol events that change a node's state: none may follow a dropped trigger (R-3)
STATEFUL = frozenset(
    {
        "submit",
        "propose",
        "endorse",
        "certify",
        "release",
        "reconstruct",
        "aggregate",
        "attest",
        "announce",
        "accept",
        "serve",
    }
)


def check(path: str | Path, signatures: str = "all", delta: float = 1e-5) -> Report:
    return Checker(signatures=signatures, delta=delta).check_file(path)
