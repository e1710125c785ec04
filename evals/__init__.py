"""Evaluations and benchmarks: they use Tessera as a client would, and print figures."""
