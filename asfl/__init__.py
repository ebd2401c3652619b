"""asfl: asynchronous secure federated learning with Byzantine aggregators.

One installed namespace. ``asfl.impl`` (the implementation), ``asfl.model`` (the executable
reference model), ``asfl.checker`` (trace validation and Z3 obligations), ``asfl.harness``
(the adversarial campaign) and the command line (``asfl.cli``); ``asfl/specs`` ships the
normative specification and the trace schema as package data. In the repository these are
the design card's top-level folders, linked from here.
"""
