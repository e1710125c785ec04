"""The server kit: what every capability server is built from.

It holds the tool contract (`spec`), the error taxonomy (`errors`), the call
context (`context`), the tool boundary (`tool`), the server wrapper (`server`),
settings, the shared PostgreSQL store, embeddings and the conformance checks.
It imports nothing else of Tessera's.
"""
