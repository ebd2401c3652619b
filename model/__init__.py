"""Executable reference model of the asfl protocol (specs/protocol.md).

Read it in this order:

- :mod:`model.params`    -- R-1: parameters, their validity, quorums;
- :mod:`model.shuffle`   -- R-2: the swap-or-not shuffle and the cluster assignment;
- :mod:`model.inclusion` -- R-6 / D-7 / D-8: the inclusion rule, a pure function;
- :mod:`model.types`     -- abstract values: proposals, messages, models, node states;
- :mod:`model.protocol`  -- the node transitions (client R-4/R-5/D-13/R-15, aggregator
  R-6..R-14), each a pure function ``(state, input) -> (state, outputs, events)``;
- :mod:`model.system`    -- the whole system: nodes + network + Byzantine menu, with
  ``enabled(state)`` and ``step(state, action) -> state``;
- :mod:`model.invariants` -- the safety invariants, named by property ID;
- :mod:`model.explore`   -- the bounded exhaustive explorer (``asfl explore``), with
  :mod:`model.symmetry` (its symmetry reduction);
- :mod:`model.emit`      -- renders random model executions as traces (trace.schema.json);
- :mod:`model.field`     -- GF(P) vectors and their base64 encoding (ghost fields).

Abstraction: secrets are symbolic. A submission is the token ``(client, round)``; a mask
sum is the set of tokens it covers; a release is *good* (a share of the true mask sum) or
*bad* (a Byzantine's wrong share). Decoding (D-4) is modelled by counting good and bad
points (see :func:`model.protocol.decode`). Concrete field values only appear in
:mod:`model.emit`, where they are derived deterministically from the tokens.

The model imports only the standard library, numpy and networkx (never ``impl``).
"""
