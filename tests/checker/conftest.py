"""Traces shared by the checker tests, generated once per session: the
implementation's (one per Byzantine behaviour, real signatures, ghost fields, a
crashed client) and the model's (one per model behaviour, signed)."""

from __future__ import annotations

import pytest
from trace_sets import P_SIGNED, Signer, Trace, impl_trace_set

from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.model.emit import emit_trace
from asfl.model.system import BEHAVIOURS as MODEL_BEHAVIOURS


@pytest.fixture(scope="session")
def impl_traces(
    tmp_path_factory: pytest.TempPathFactory, small_cfg: ProtocolConfig, tiny_task: Task
) -> dict[str, Trace]:
    """One implementation trace per Byzantine behaviour on the small configuration."""
    return impl_trace_set(tmp_path_factory.mktemp("impl-traces"), small_cfg, tiny_task, seed=5, crashed=1)


@pytest.fixture(scope="session")
def model_traces() -> dict[str, Trace]:
    """One signed model trace per model Byzantine behaviour, and one with all of them."""
    s = Signer(P_SIGNED)
    out = {b: emit_trace(P_SIGNED, seed=1, behaviours=b, signer=s, keys=s.keys) for b in MODEL_BEHAVIOURS}
    out["all"] = emit_trace(P_SIGNED, seed=1, behaviours=",".join(MODEL_BEHAVIOURS), signer=s, keys=s.keys)
    return out
