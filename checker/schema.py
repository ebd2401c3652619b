"""Schema validation of trace lines against ``specs/trace.schema.json``.

``jsonschema`` is exact but slow (tens of microseconds per line, more than parsing), so
the schema is *compiled* once into per-kind check functions for the subset of JSON
Schema that the trace schema uses (``$ref``, ``allOf``, ``type``, ``const``, ``enum``,
``pattern``, ``minimum``, ``items``, ``required``, ``properties``,
``additionalProperties``, ``unevaluatedProperties: false``). Each kind gets two forms:
a *predicate*, generated as one flat Python expression (no per-event walk of
``allOf``/``$ref`` and no closures), which accepts only valid lines and decides the
common case; and the checking functions below, which decide a line the predicate does
not accept and name its first error. A line they reject is re-validated with
``jsonschema`` for its explanation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(str(resources.files("asfl") / "specs" / "trace.schema.json"))

Check = Callable[[Any], "str | None"]

_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


#: the predicate's type tests (exact types: ``json`` decodes to exactly these; a value
#: of a subclass is left to the checking functions)
_TYPE_EXPR = {
    "string": "type({}) is str",
    "integer": "type({}) is int",
    "number": "type({0}) is int or type({0}) is float",
    "boolean": "type({}) is bool",
    "object": "type({}) is dict",
    "array": "type({}) is list",
    "null": "{} is None",
}


#: strings remembered per pattern as matching (node names, digests a broadcast repeats)
MATCHED_KEEP = 1024


def matcher(pattern: str) -> tuple[set[str], Callable[[str], bool]]:
    """``(seen, match)``: ``match(v)`` is whether ``v`` matches ``pattern``, and adds a
    matching ``v`` to ``seen`` (at most :data:`MATCHED_KEEP` strings, then restarted),
    so ``v in seen or match(v)`` decides the pattern without a regex for repeats."""
    search = re.compile(pattern).search
    seen: set[str] = set()

    def match(v: str) -> bool:
        if search(v) is None:
            return False
        if len(seen) >= MATCHED_KEEP:
            seen.clear()
        seen.add(v)
        return True

    return seen, match


class Compiler:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.consts: dict[str, Any] = {"_M": object()}
        self.nvars = 0

    def _const(self, value: Any) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def _var(self) -> str:
        self.nvars += 1
        return f"_v{self.nvars}"

    def expr(self, s: dict[str, Any], x: str) -> str:
        """A Python expression, true only if the value named ``x`` is valid."""
        s = self.merged(s)
        parts: list[str] = []
        types = s.get("type")
        tlist = [] if types is None else types if isinstance(types, list) else [types]
        if "const" in s:
            parts.append(f"{x} == {self._const(s['const'])}")
        if "enum" in s:
            parts.append(f"{x} in {self._const(s['enum'])}")
        if tlist:
            parts.append("(" + " or ".join(_TYPE_EXPR[t].format(x) for t in tlist) + ")")
        if "pattern" in s:
            seen, match = matcher(s["pattern"])
            found = f"({x} in {self._const(seen)} or {self._const(match)}({x}))"
            parts.append(found if tlist == ["string"] else f"(type({x}) is not str or {found})")
        if "minimum" in s:
            mn = self._const(s["minimum"])
            numeric = bool(tlist) and all(t in ("integer", "number") for t in tlist)
            guard = "" if numeric else f"not (type({x}) is int or type({x}) is float) or "
            parts.append(f"({guard}{x} >= {mn})")
        if "items" in s:
            i = self._var()
            item = self.expr(s["items"], i)
            parts.append(f"(type({x}) is not list or all({item} for {i} in {x}))")
        if "properties" in s or "required" in s or "additionalProperties" in s:
            parts.append(self._object_expr(s, x))
        return "(" + " and ".join(parts or ["True"]) + ")"

    def _object_expr(self, s: dict[str, Any], x: str) -> str:
        props = s.get("properties", {})
        parts = []
        if s.get("required"):
            parts.append(f"{self._const(frozenset(s['required']))} <= {x}.keys()")
        closed = s.get("additionalProperties") is False or s.get("unevaluatedProperties") is False
        if closed:
            parts.append(f"{x}.keys() <= {self._const(frozenset(props))}")
        required = frozenset(s.get("required", ()))
        for k, sub in props.items():
            v = self._var()
            if k in required:  # present: the required test comes first (``and`` short-circuits)
                parts.append(f"(({v} := {x}[{k!r}]) is {v} and {self.expr(sub, v)})")
            else:
                parts.append(f"(({v} := {x}.get({k!r}, _M)) is _M or {self.expr(sub, v)})")
        extra = s.get("additionalProperties")
        if isinstance(extra, dict) and not closed:
            k = self._var()
            v = self._var()
            known = self._const(frozenset(props))
            parts.append(f"all({self.expr(extra, v)} for {k}, {v} in {x}.items() if {k} not in {known})")
        return f"(type({x}) is not dict or ({' and '.join(parts or ['True'])}))"

    def predicate(self, s: dict[str, Any]) -> Callable[[Any], bool]:
        """The schema ``s`` as one generated function ``f(obj) -> bool`` (true: valid)."""
        body = self.expr(s, "o")
        ns: dict[str, Any] = dict(self.consts)
        exec(compile(f"def f(o):\n    return {body}\n", "<trace-schema>", "exec"), ns)  # noqa: S102
        return ns["f"]  # type: ignore[no-any-return]

    def resolve(self, s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            ref = s["$ref"]
            assert ref.startswith("#/"), ref
            node: Any = self.schema
            for part in ref[2:].split("/"):
                node = node[part]
            s = {**node, **{k: v for k, v in s.items() if k != "$ref"}}
        return s

    def merged(self, s: dict[str, Any]) -> dict[str, Any]:
        """Flatten ``allOf`` (required lists and properties are merged)."""
        s = self.resolve(s)
        if "allOf" not in s:
            return s
        out: dict[str, Any] = {k: v for k, v in s.items() if k != "allOf"}
        req = list(out.get("required", []))
        props = dict(out.get("properties", {}))
        for sub in s["allOf"]:
            m = self.merged(sub)
            req += m.get("required", [])
            for k, v in m.get("properties", {}).items():
                props.setdefault(k, v)
        out["required"] = req
        out["properties"] = props
        return out

    def compile(self, s: dict[str, Any]) -> Check:
        s = self.merged(s)
        checks: list[Check] = []
        if "const" in s:
            const = s["const"]
            checks.append(lambda v: None if v == const else f"must be {const!r}")
        if "enum" in s:
            enum = s["enum"]
            checks.append(lambda v: None if v in enum else f"must be one of {enum}")
        if "type" in s:
            types = s["type"] if isinstance(s["type"], list) else [s["type"]]
            fns = [_TYPES[t] for t in types]
            checks.append(lambda v: None if any(f(v) for f in fns) else f"must be of type {'/'.join(types)}")
        if "pattern" in s:
            rx = re.compile(s["pattern"])
            pat = s["pattern"]
            checks.append(lambda v: None if not isinstance(v, str) or rx.search(v) else f"must match {pat}")
        if "minimum" in s:
            mn = s["minimum"]
            checks.append(
                lambda v: (
                    None
                    if not isinstance(v, int | float) or isinstance(v, bool) or v >= mn
                    else f"must be >= {mn}"
                )
            )
        if "items" in s:
            item = self.compile(s["items"])

            def items(v: Any) -> str | None:
                if not isinstance(v, list):
                    return None
                for k, x in enumerate(v):
                    e = item(x)
                    if e:
                        return f"[{k}] {e}"
                return None

            checks.append(items)
        if "properties" in s or "required" in s or "additionalProperties" in s:
            checks.append(self._object(s))
        if len(checks) == 1:
            return checks[0]

        def all_of(v: Any) -> str | None:
            for c in checks:
                e = c(v)
                if e:
                    return e
            return None

        return all_of

    def _object(self, s: dict[str, Any]) -> Check:
        required = list(s.get("required", []))
        props = {k: self.compile(v) for k, v in s.get("properties", {}).items()}
        closed = s.get("additionalProperties") is False or s.get("unevaluatedProperties") is False
        extra = s.get("additionalProperties")
        extra_check = self.compile(extra) if isinstance(extra, dict) else None

        def obj(v: Any) -> str | None:
            if not isinstance(v, dict):
                return None
            for k in required:
                if k not in v:
                    return f"missing required field {k!r}"
            for k, x in v.items():
                c = props.get(k)
                if c is not None:
                    e = c(x)
                    if e:
                        return f"field {k!r} {e}"
                elif closed:
                    return f"unexpected field {k!r}"
                elif extra_check is not None:
                    e = extra_check(x)
                    if e:
                        return f"field {k!r} {e}"
            return None

        return obj


class TraceSchema:
    """``validate(obj) -> None | error``; one compiled validator per ``kind``."""

    def __init__(self, path: Path = SCHEMA_PATH) -> None:
        self.schema = json.loads(path.read_text())
        comp = Compiler(self.schema)
        self.by_kind: dict[str, Check] = {}
        self.fast: dict[str, Callable[[Any], bool]] = {}
        self.props: dict[str, frozenset[str]] = {}
        for alt in self.schema["oneOf"]:
            name = alt["$ref"].rsplit("/", 1)[1]
            d = comp.merged(alt)
            kind = d.get("properties", {}).get("kind", {}).get("const", name)
            self.by_kind[kind] = comp.compile(alt)
            self.fast[kind] = comp.predicate(alt)
            self.props[kind] = frozenset(d.get("properties", {}))
        self._full: Any = None

    @staticmethod
    @cache
    def shared(path: Path = SCHEMA_PATH) -> TraceSchema:
        """One compiled schema per file for the process (compiling takes ~30 ms: the
        online checker starts one trace per campaign example); it is never modified
        after compilation (:meth:`explain` only builds its slow validator)."""
        return TraceSchema(path)

    def validate(self, obj: Any) -> str | None:
        if not isinstance(obj, dict):
            return "not a JSON object"
        kind = obj.get("kind")
        if not isinstance(kind, str) or kind not in self.by_kind:  # an unhashable kind too
            return f"unknown kind {kind!r}"
        if self.fast[kind](obj):
            return None
        return self.by_kind[kind](obj)

    def fields(self, kind: str) -> frozenset[str]:
        """The properties the schema defines for events of ``kind`` (none if unknown)."""
        return self.props.get(kind, frozenset())

    def explain(self, obj: Any) -> str:
        """The ``jsonschema`` explanation (slow; only for lines already rejected)."""
        try:
            import jsonschema
        except ImportError:  # pragma: no cover
            return ""
        if self._full is None:
            self._full = jsonschema.Draft202012Validator(self.schema)
        kind = obj.get("kind") if isinstance(obj, dict) else None
        sub = {"$defs": self.schema["$defs"], "$ref": f"#/$defs/{kind}"}
        if kind not in self.schema["$defs"]:
            sub = self.schema
        v = jsonschema.Draft202012Validator(sub)
        err = jsonschema.exceptions.best_match(v.iter_errors(obj))
        if err is None:
            return ""
        where = "/".join(str(x) for x in err.absolute_path)
        return f"{where + ': ' if where else ''}{err.message}"
