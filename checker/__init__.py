"""Verified-trace checker (``asfl check``): schema (:mod:`checker.schema`), replay
against the model with every property (:mod:`checker.replay`), signatures
(:mod:`checker.sigs`), privacy accounting (:mod:`checker.privacy`), reports
(:mod:`checker.report`). Never imports ``impl``."""
