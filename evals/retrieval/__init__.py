"""Retrieval quality of the kb server on public IR collections (Cranfield, Vaswani/NPL).

Run:  .venv/bin/python -m evals.retrieval --dataset cranfield   (or: tessera eval retrieval ...)
"""
