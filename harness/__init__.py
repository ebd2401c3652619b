"""Adversarial property-based testing harness for asfl (issue 4).

Reusable parts of the Hypothesis campaign that drives the implementation (``impl``)
in the deterministic simulator and checks every step against the specification:

- :mod:`harness.world`    -- a controllable simulated run: setup, actions, fair completion;
- :mod:`harness.byz`      -- per-message Byzantine aggregator actions (scripted or automatic);
- :mod:`harness.policies` -- schedule policies: FIFO, uniform random, PCT, targeted windows;
- :mod:`harness.monitor`  -- the ``Monitor`` adapter interface: ``checker/`` fed online
  after every step, and the white-box oracles;
- :mod:`harness.schedule` -- readable JSON schedules, deterministic replay, second-stage shrinking;
- :mod:`harness.narrate`  -- event-by-event narration citing the spec's rules;
- :mod:`harness.record`   -- the trace of a replay, for its HTML report (``asfl replay --report``);
- :mod:`harness.campaign` -- Hypothesis campaigns (the model-driven stateful machine and
  whole-run strategies);
- :mod:`harness.coverage` -- the campaign's coverage report per rule ID and probe, and its
  coverage-guided choice of probes and replays;
- :mod:`harness.zoo`      -- the bug zoo: textual patches applied to a copy of ``impl``.

The harness imports ``impl`` (the system under test), ``checker`` (the judge of every
trace) and ``model`` for what the model defines: the actions enabled in a run's abstract
state, the Byzantine probe menu and the rule tags of events (:mod:`asfl.model.actions`),
the D-12 count view, and the R-2 shuffle.
"""
