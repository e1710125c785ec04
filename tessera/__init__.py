"""The `tessera` command: the process edge that builds settings and starts the parts."""
