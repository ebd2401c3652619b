"""Schema validation of trace lines against ``specs/trace.schema.json``.

``jsonschema`` is exact but slow (tens of microseconds per line, more than parsing), so
the schema is *compiled* once into per-kind check functions for the subset of JSON
Schema that the trace schema uses (``$ref``, ``allOf``, ``type``, ``const``, ``enum``,
``pattern``, ``minimum``, ``items``, ``required``, ``properties``,
``additionalProperties``, ``unevaluatedProperties: false``). A line the compiled
validator rejects is re-validated with ``jsonschema`` for its explanation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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


class Compiler:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

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
        for alt in self.schema["oneOf"]:
            name = alt["$ref"].rsplit("/", 1)[1]
            d = comp.merged(alt)
            kind = d.get("properties", {}).get("kind", {}).get("const", name)
            self.by_kind[kind] = comp.compile(alt)
        self._full: Any = None

    def validate(self, obj: Any) -> str | None:
        if not isinstance(obj, dict):
            return "not a JSON object"
        c = self.by_kind.get(obj.get("kind"))  # type: ignore[arg-type]
        if c is None:
            return f"unknown kind {obj.get('kind')!r}"
        return c(obj)

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
