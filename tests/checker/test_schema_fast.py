"""The schema's generated per-kind predicates (checker/schema.py) against its checking
functions and ``jsonschema``: the predicate accepts a line only if it is valid, and it
accepts every line of the model's traces (the fast path is the common case)."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.checker.schema import TraceSchema
from asfl.model.emit import emit_trace
from asfl.model.params import Params

SCHEMA = TraceSchema()
FULL = jsonschema.Draft202012Validator(SCHEMA.schema)
P = Params(n_a=4, t_a=1, n_c=40, t_c=2, q_min=5, B=1, R=1, byzantine=frozenset({3}), crashed=frozenset({7}))
TRACE = emit_trace(P, seed=1, behaviours="equivocate,forge-endorse,wrong-release", dim=4)
BY_KIND = {e["kind"]: e for e in TRACE}

#: values a field may be replaced by: of every JSON type, edge cases of the patterns
ODD: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**70,
    "",
    "A1",
    "C01",
    "A1\n",
    "0" * 64,
    "0" * 64 + "\n",
    "g" * 64,
    "0" * 128,
    [],
    [0, 1],
    [-1],
    [True],
    {},
    {"x": "AA=="},
]


def test_every_model_line_takes_the_fast_path() -> None:
    assert set(SCHEMA.fast) - {"header"} <= BY_KIND.keys()
    for e in TRACE:
        assert SCHEMA.fast[e["kind"]](e), e


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    kind=st.sampled_from(sorted(BY_KIND)),
    edits=st.lists(st.tuples(st.integers(0, 20), st.sampled_from(ODD), st.booleans()), max_size=3),
)
def test_fast_accepts_only_valid_lines(kind: str, edits: list[tuple[int, Any, bool]]) -> None:
    ev = copy.deepcopy(BY_KIND[kind])
    for pos, value, delete in edits:
        keys = sorted(ev) + ["extra"]
        k = keys[pos % len(keys)]
        if delete:
            ev.pop(k, None)
        else:
            ev[k] = value
    valid = FULL.is_valid(ev)
    assert (SCHEMA.validate(ev) is None) == valid, ev
    if SCHEMA.fast[kind](ev):
        assert valid, ev


@pytest.mark.parametrize("field", ["seq", "msg", "round"])
def test_bool_is_not_an_integer(field: str) -> None:
    ev = copy.deepcopy(BY_KIND["send"])
    ev[field] = True
    assert not SCHEMA.fast["send"](ev)
    assert SCHEMA.validate(ev) is not None


@pytest.mark.parametrize("kind", [[], {}, 1, None])
def test_a_kind_that_is_not_a_string_is_unknown(kind: Any) -> None:
    """Regression: an unhashable kind raised TypeError (a traceback, not exit 2)."""
    ev = copy.deepcopy(BY_KIND["send"])
    ev["kind"] = kind
    assert SCHEMA.validate(ev) == f"unknown kind {kind!r}"
