"""The parts of `python -m bench.run`: worlds, servers, load, endpoints, statistics, report."""
