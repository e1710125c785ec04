"""Benchmarks: `python -m evals.bench.<name>`; each prints its figures (see docs/benchmarks.md)."""
