"""Shared parts of the HTTP connectors (sap, mes, ...): connections, error mapping, simulators.

`backend` names the system in messages, `connections` reads the per-tenant
connections file and builds one pooled egress client per tenant,
`http_errors` maps httpx exceptions and HTTP statuses to the taxonomy, and
`simulator` injects faults into a simulator app and serves it on loopback.
Each connector keeps only what differs (its connection fields, how its error
bodies carry a message, its simulator's routes) in its own package.
"""
