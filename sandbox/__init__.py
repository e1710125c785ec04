"""Running each capability server under bubblewrap, as its policy profile says.

It arrives with the sandbox/policies issue; until then servers run unsandboxed in
development only.
"""
