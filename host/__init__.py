"""The thin agent host: federation, tool discovery, the budgeted tool loop, approvals.

It arrives with the host issue; until then the servers run standalone
(`tessera serve`) or side by side (`tessera up`).
"""
