"""Learning experiments run through the simulated protocol (``asfl experiment NAME``)."""
