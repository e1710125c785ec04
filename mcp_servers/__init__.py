"""Tessera's capability servers: one package per capability, plus the shared `kit`."""
