"""Tests of the thin agent host."""
