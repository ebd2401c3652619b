"""The networked runtime: the same sans-I/O nodes as the simulator, over TCP between OS processes."""
