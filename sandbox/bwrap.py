"""Turning a `SandboxPlan` into the exact bubblewrap and prlimit command line.

Pure functions, so the argument list can be read, tested and probed as it is.
The flags that confine (`CONFINING_FLAGS`) are the same for every server:

    --unshare-all --unshare-user --unshare-cgroup   every namespace, user and cgroup mandatory
    --disable-userns                                no nested user namespaces inside
    --die-with-parent                               SIGKILL when the spawning thread dies
    --new-session                                   no controlling terminal (TIOCSTI)
    --cap-drop ALL                                  no capabilities, even inside the namespace

plus `--seccomp FD` with `sandbox.confine.seccomp_program()` (AF_UNIX sockets
only; no io_uring, bpf, ptrace...), then the filesystem (read-only binds, never
`/`; `/proc`, `/dev`, a size-capped `/tmp`, the workspace, `--remount-ro /`),
and the command wrapped in `prlimit`
*inside* the sandbox: RLIMIT_NPROC then counts only the sandbox's own processes
(the kernel charges a user namespace against the limit of whoever created it, so
a limit on bwrap itself would count every sandbox of the same user together).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from policies.sandbox_profile import Limits
from sandbox.layout import SandboxPlan

CONFINING_FLAGS = (
    "--unshare-all", "--unshare-user", "--unshare-cgroup", "--disable-userns",
    "--die-with-parent", "--new-session", "--cap-drop", "ALL",
)
MIB = 1 << 20


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


def find_prlimit() -> str:
    return shutil.which("prlimit") or "/usr/bin/prlimit"


def limits_argv(limits: Limits, prlimit: str | None = None) -> list[str]:
    """`prlimit --as=... --nproc=... ... --` for the profile's limits (core dumps off)."""
    argv = [
        prlimit or find_prlimit(),
        f"--as={limits.memory_mb * MIB}",
        f"--nproc={limits.processes}",
        f"--nofile={limits.open_files}",
        f"--fsize={limits.file_size_mb * MIB}",
        "--core=0",
    ]
    if limits.cpu_seconds is not None:
        argv.append(f"--cpu={limits.cpu_seconds}")
    return [*argv, "--"]


def bwrap_argv(plan: SandboxPlan, data_fds: Sequence[int], limits: Limits,
               bwrap: str = "bwrap", seccomp_fd: int | None = None) -> list[str]:
    """The full command: bwrap, its confinement, the plan's filesystem, prlimit, the command.

    `data_fds[i]` is an open file descriptor holding `plan.data_files[i]`'s bytes;
    `seccomp_fd` one holding a BPF program for `--seccomp`.
    """
    if len(data_fds) != len(plan.data_files):
        raise ValueError("one file descriptor per data file")
    argv = [bwrap, *CONFINING_FLAGS, "--hostname", plan.hostname]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    # The private /tmp comes first: binds of paths under /tmp (an installation or a
    # socket directory there) are then made inside it instead of being hidden by it.
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(plan.tmp_size_bytes), "--tmpfs", "/tmp"]
    for source, dest in plan.ro_binds:
        argv += ["--ro-bind", source, dest]
    for target, link in plan.symlinks:
        argv += ["--symlink", target, link]
    for directory in plan.directories:
        argv += ["--dir", directory]
    for fd, (_, dest) in zip(data_fds, plan.data_files, strict=True):
        argv += ["--perms", "0444", "--ro-bind-data", str(fd), dest]
    for source, dest in plan.rw_binds:
        argv += ["--bind", source, dest]
    argv += ["--remount-ro", "/", "--chdir", plan.chdir, "--"]
    return [*argv, *limits_argv(limits), *plan.command]


def probe_argv(bwrap: str, binds: Sequence[tuple[str, str]],
               links: Sequence[tuple[str, str]]) -> list[str]:
    """The confining flags with the system's own binds, running /usr/bin/true."""
    argv = [bwrap, *CONFINING_FLAGS]
    for source, dest in binds:
        argv += ["--ro-bind", source, dest]
    for target, link in links:
        argv += ["--symlink", target, link]
    return [*argv, "--proc", "/proc", "--dev", "/dev", "--size", str(MIB), "--tmpfs", "/tmp",
            "--remount-ro", "/", "--", "/usr/bin/true"]
