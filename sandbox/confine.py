"""The degraded confinement, for where bubblewrap cannot run: Landlock + seccomp, then exec.

Run as `python -m sandbox.confine [--read P]... [--write P]... [--landlock] -- CMD...`
(the launcher does, already as the sandbox user). It sets PR_SET_PDEATHSIG so the
command dies with the host's spawner thread, sets no_new_privs, and with
`--landlock` restricts the process tree before `exec`:

- Landlock (kernel ABI 4+): read/execute only under the `--read` paths, write only
  under the `--write` paths; no TCP connect or bind at all; from ABI 6 also no
  abstract Unix sockets or signals outside the sandbox. ptrace and /proc/<pid> of
  processes outside are refused by Landlock itself.
- seccomp (`seccomp_program`, which bubblewrap also loads): `socket()` only for
  AF_UNIX (so no UDP, raw or netlink sockets, which Landlock does not cover); no
  io_uring (its socket op would bypass the filter), bpf, userfaultfd, perf
  events, kernel keyring or ptrace; no foreign-architecture system calls.

Plain ctypes: the kernel interface is four system calls and a BPF program, and
no well-kept PyPI package offered both (see docs/sandbox.md).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import signal
import struct
import sys

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP = 1, 38, 22
_SECCOMP_MODE_FILTER = 2
_RULE_PATH_BENEATH = 1

# Landlock filesystem rights, by ABI version that introduced them.
_FS_V1 = (1 << 13) - 1  # execute .. make_sym
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS_READ = (1 << 0) | (1 << 2)  # execute, read_file
_DIR_RIGHTS_READ = _FILE_RIGHTS_READ | (1 << 3)  # + read_dir
_FILE_RIGHTS_WRITE = _FILE_RIGHTS_READ | (1 << 1) | _FS_TRUNCATE
_NET_ALL = (1 << 0) | (1 << 1)  # bind_tcp, connect_tcp
_SCOPE_ALL = (1 << 0) | (1 << 1)  # abstract unix socket, signal

_ARCH = {"x86_64": (0xC000003E, 41, True), "aarch64": (0xC00000B7, 198, False)}
# Kernel interfaces a tool server never needs and sandbox escapes often start from:
# io_uring (its socket op would bypass this filter), bpf, userfaultfd, perf events,
# the kernel keyring, ptrace.
_DENIED = {
    "x86_64": {"io_uring_setup": 425, "bpf": 321, "userfaultfd": 323, "perf_event_open": 298,
               "keyctl": 250, "add_key": 248, "request_key": 249, "ptrace": 101},
    "aarch64": {"io_uring_setup": 425, "bpf": 280, "userfaultfd": 282, "perf_event_open": 241,
                "keyctl": 219, "add_key": 217, "request_key": 218, "ptrace": 117},
}
_AF_UNIX = 1


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def available() -> bool:
    """Whether this kernel and architecture can run the Landlock + seccomp confinement."""
    return seccomp_supported() and landlock_abi() >= 4


def seccomp_supported() -> bool:
    return platform.machine() in _ARCH


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none)."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


def apply_landlock(read: list[str], write: list[str]) -> int:
    """Restrict this process (and what it execs) to `read` and `write`; returns the ABI used."""
    abi = landlock_abi()
    if abi < 4:
        raise OSError(errno.ENOSYS, f"Landlock ABI {abi} has no network rules (need 4+)")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    fs = _FS_V1 | _FS_REFER | _FS_TRUNCATE | (_FS_IOCTL_DEV if abi >= 5 else 0)
    fields = [fs, _NET_ALL] + ([_SCOPE_ALL] if abi >= 6 else [])
    attr = struct.pack(f"<{len(fields)}Q", *fields)
    ruleset = _check(libc.syscall(_SYS_CREATE_RULESET, attr, ctypes.c_size_t(len(attr)),
                                  ctypes.c_uint32(0)), "landlock_create_ruleset")
    try:
        for paths, dir_rights, file_rights in ((read, _DIR_RIGHTS_READ, _FILE_RIGHTS_READ),
                                               (write, fs, _FILE_RIGHTS_WRITE)):
            for path in paths:
                if not os.path.exists(path):
                    continue
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                try:
                    rights = dir_rights if os.path.isdir(path) else file_rights
                    rule = struct.pack("<Qi", rights, fd)
                    _check(libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset),
                                        ctypes.c_int(_RULE_PATH_BENEATH), rule, ctypes.c_uint32(0)),
                           f"landlock_add_rule {path}")
                finally:
                    os.close(fd)
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)),
               "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


def seccomp_program() -> bytes:
    """The BPF filter: AF_UNIX sockets only, none of `_DENIED`, native architecture only.

    Used inside bubblewrap too (`--seccomp`), as a second wall behind the namespaces.
    """
    machine = platform.machine()
    arch, socket_nr, has_x32 = _ARCH[machine]
    deny = 0x00050000 | errno.EACCES  # SECCOMP_RET_ERRNO
    allow = 0x7FFF0000  # SECCOMP_RET_ALLOW
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    # (code, jump-if-true label, jump-if-false label, k); labels resolve to DENY/ALLOW.
    program = [
        (ld, None, None, 4), (jeq, None, "DENY", arch), (ld, None, None, 0),
        *([(jge, "DENY", None, 0x40000000)] if has_x32 else []),
        *[(jeq, "DENY", None, nr) for nr in _DENIED[machine].values()],
        (jeq, None, "ALLOW", socket_nr),
        (ld, None, None, 16), (jeq, "ALLOW", "DENY", _AF_UNIX),
    ]
    deny_at, allow_at = len(program), len(program) + 1
    code = b""
    for index, (op, true, false, k) in enumerate(program):
        target = {"DENY": deny_at, "ALLOW": allow_at}
        jt = target[true] - index - 1 if true else 0
        jf = target[false] - index - 1 if false else 0
        code += struct.pack("<HBBI", op, jt, jf, k)
    return code + struct.pack("<HBBI", ret, 0, 0, deny) + struct.pack("<HBBI", ret, 0, 0, allow)


def apply_seccomp() -> None:
    program = seccomp_program()
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("<HxxxxxxQ", len(program) // 8, ctypes.addressof(buffer))
    libc = _libc()
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.c_char_p(fprog), 0, 0),
           "seccomp")


def main(argv: list[str]) -> int:
    read: list[str] = []
    write: list[str] = []
    landlock = False
    while argv and argv[0] != "--":
        option = argv.pop(0)
        if option == "--landlock":
            landlock = True
        elif option in ("--read", "--write") and argv:
            (read if option == "--read" else write).append(argv.pop(0))
        else:
            print(f"sandbox.confine: unknown option {option}", file=sys.stderr)
            return 2
    command = argv[1:]
    if not command:
        print("sandbox.confine: no command after --", file=sys.stderr)
        return 2
    parent = os.getppid()
    _check(_libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    if os.getppid() != parent:  # the host died before the line above
        return 1
    if landlock:
        apply_landlock(read, write)
        apply_seccomp()
    os.execv(command[0], command)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
