"""Benchmarks of the portal (issue 11 §4): `python -m bench.run`, `make bench`."""
