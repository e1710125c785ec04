"""A server's sandbox profile: what its process may touch, as the policy files state it.

The security team writes one under `servers.<name>.sandbox` in `policies/*.yaml`;
the sandbox launcher (`sandbox/`) turns it into bubblewrap arguments, resource
limits and an egress allow-list. This module holds only the data model, so both
the policy loader and the launcher can use it without knowing each other.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field


class SandboxMode(enum.StrEnum):
    STRICT = "strict"  # bubblewrap or the server does not start
    DEGRADED_OK = "degraded-ok"  # a weaker confinement is acceptable where bwrap cannot run
    OFF = "off"  # no sandbox: development only, reported loudly


class Limits(BaseModel):
    """Resource limits applied to the server process (prlimit) and by the host (wall clock)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_seconds: int | None = Field(default=None, ge=1, description="CPU time limit (RLIMIT_CPU), in seconds.")
    memory_mb: int = Field(default=1024, ge=16, description="Address-space limit (RLIMIT_AS), in MiB.")
    open_files: int = Field(default=256, ge=16, description="Open file descriptors (RLIMIT_NOFILE).")
    processes: int = Field(default=64, ge=1, description="Processes and threads (RLIMIT_NPROC).")
    file_size_mb: int = Field(default=256, ge=1, description="Largest file the server may write (RLIMIT_FSIZE), in MiB.")
    tmp_size_mb: int = Field(default=64, ge=1, description="Size cap of the private /tmp, in MiB.")
    wall_clock_s: int | None = Field(
        default=None, ge=1, description="Kill the process after this many seconds (none: runs until stopped)."
    )


class SandboxProfile(BaseModel):
    """What one server's process may read, write, reach and receive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: SandboxMode = Field(default=SandboxMode.STRICT, description="strict, degraded-ok or off.")
    read_only_mounts: tuple[str, ...] = Field(
        default=(), description="Extra host paths bound read-only at the same path inside."
    )
    workspace: bool = Field(
        default=False, description="Give the server a private writable workspace (per tenant where it keeps files)."
    )
    egress: tuple[str, ...] = Field(
        default=(), description="host:port pairs the server may connect to, through its egress proxy."
    )
    database_socket: bool = Field(
        default=False, description="Bind the PostgreSQL socket directory read-only (no network needed)."
    )
    secrets: tuple[str, ...] = Field(
        default=(), description="Names of environment variables passed through to the server; nothing else is."
    )
    limits: Limits = Field(default_factory=Limits, description="Resource limits.")
