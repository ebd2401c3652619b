"""HTML report of a checked trace (``asfl report``, ``asfl replay --report``,
``asfl explore --report``): one self-contained file, data and scripts inline.

:mod:`.data` turns a trace and the checker's :class:`~asfl.checker.replay.Report` into
the compact JSON the page embeds, :mod:`.page` inlines it with the assets, :mod:`.specs`
pulls property and rule statements from ``specs/``, :mod:`.shiviz` exports the trace for
ShiViz, :mod:`.build` is the check-then-write pipeline. Never imports ``impl``."""
