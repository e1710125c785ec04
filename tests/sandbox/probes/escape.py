"""Escape probes, run INSIDE a sandbox with the venv interpreter; each prints one JSON object.

    escape.py read PATH...           what could be read (first bytes) or the error
    escape.py write PATH...          what could be written
    escape.py fill PATH MB           write MB mebibytes, report how far it got
    escape.py env                    own environment and every readable /proc/*/environ
    escape.py net SPEC...            tcp:HOST:PORT  udp:HOST:PORT  dns:NAME  abstract:NAME
    escape.py syscalls               io_uring, bpf, ptrace... and socket families
    escape.py traverse FILE TARGET.. fuzzdb payloads ({FILE} -> each target) opened from the workspace
    escape.py egress URL...          GET each URL through mcp_servers.kit.egress.async_client
    escape.py forkbomb | memhog | spin | sleep
"""

import json
import os
import socket
import sys
import urllib.parse


def _try(action):
    try:
        return "ok:" + str(action())
    except BaseException as exc:  # the probe reports, never fails
        return f"error:{type(exc).__name__}:{exc}"


def read(paths):
    def one(path):
        if os.path.isdir(path):
            return ",".join(sorted(os.listdir(path)))
        with open(path, "rb") as handle:
            return handle.read(300).decode("latin-1")
    return {path: _try(lambda p=path: one(p)) for path in paths}


def write(paths):
    def one(path):
        with open(path, "w") as handle:
            handle.write("escaped")
        return "written"
    return {path: _try(lambda p=path: one(p)) for path in paths}


def fill(args):
    path, megabytes = args[0], int(args[1])
    written = 0
    try:
        with open(path, "wb") as handle:
            for _ in range(megabytes):
                handle.write(b"x" * (1 << 20))
                handle.flush()
                written += 1
    except OSError as exc:
        return {"written_mb": written, "stopped_by": f"{type(exc).__name__}:{exc}"}
    return {"written_mb": written, "stopped_by": None}


def env(_):
    found = {"own": dict(os.environ), "proc": {}}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            found["proc"][pid] = _try(lambda p=pid: open(f"/proc/{p}/environ", "rb").read()
                                      .decode("latin-1"))
    return found


def net(specs):
    def tcp(host, port):
        with socket.create_connection((host, int(port)), timeout=3):
            return "connected"

    def udp(host, port):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(3)
            sock.sendto(b"\x00", (host, int(port)))
            return "sent"

    def dns(name):
        return socket.getaddrinfo(name, 443)[0][4][0]

    def abstract(name):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect("\0" + name)
            return "connected"

    out = {}
    for spec in specs:
        kind, _, rest = spec.partition(":")
        args = rest.rsplit(":", 1) if kind in ("tcp", "udp") else [rest]
        out[spec] = _try(lambda k=kind, a=args: {"tcp": tcp, "udp": udp, "dns": dns,
                                                 "abstract": abstract}[k](*a))
    return out


def traverse(args):
    payload_file, targets = args[0], args[1:]
    base = os.getcwd()
    reads = {}
    with open(payload_file, encoding="latin-1") as handle:
        payloads = [line.rstrip("\n") for line in handle if line.strip()]
    for payload in payloads:
        for target in targets:
            raw = payload.replace("{FILE}", target)
            once = urllib.parse.unquote(raw)
            for candidate in {raw, once, urllib.parse.unquote(once), raw.replace("\\", "/"),
                              once.replace("\\", "/")}:
                path = os.path.join(base, candidate.split("\0")[0])
                try:
                    with open(path, "rb") as opened:
                        data = opened.read(200).decode("latin-1")
                except (OSError, ValueError):
                    continue
                reads[os.path.realpath(path)] = data
    return {"payloads": len(payloads), "reads": reads}


def egress(urls):
    import asyncio

    from mcp_servers.kit.egress import async_client

    async def main():
        out = {}
        async with async_client(timeout=5) as client:
            for url in urls:
                try:
                    response = await client.get(url)
                    out[url] = f"ok:{response.status_code}:{response.text[:100]}"
                except Exception as exc:
                    out[url] = f"error:{type(exc).__name__}:{exc}"
        return out
    return asyncio.run(main())


def syscalls(_):
    """Kernel interfaces the seccomp filter closes: each should fail with EACCES."""
    import ctypes
    import platform

    numbers = {"x86_64": {"io_uring_setup": 425, "bpf": 321, "userfaultfd": 323,
                          "perf_event_open": 298, "keyctl": 250, "ptrace": 101},
               "aarch64": {"io_uring_setup": 425, "bpf": 280, "userfaultfd": 282,
                           "perf_event_open": 241, "keyctl": 219, "ptrace": 117}}
    libc = ctypes.CDLL(None, use_errno=True)
    out = {}
    for name, number in numbers[platform.machine()].items():
        result = libc.syscall(number, 0, 0, 0, 0, 0)
        out[name] = f"errno:{os.strerror(ctypes.get_errno())}" if result < 0 else f"ok:{result}"
    for family in ("AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "AF_UNIX"):
        out[family] = _try(lambda f=family: socket.socket(getattr(socket, f),
                                                          socket.SOCK_DGRAM).close())
    return out


def forkbomb(_):
    children = 0
    try:
        while True:
            if os.fork() == 0:
                import time
                time.sleep(30)
                os._exit(0)
            children += 1
    except OSError as exc:
        return {"children": children, "stopped_by": str(exc)}


def memhog(_):
    chunks = []
    try:
        while True:
            chunks.append(bytearray(64 << 20))
    except MemoryError:
        return {"allocated_mb": 64 * len(chunks), "stopped_by": "MemoryError"}


def spin(_):
    while True:
        pass


def sleep(_):
    import time
    print(json.dumps({"pid": os.getpid()}), flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    result = globals()[command](rest)
    print(json.dumps(result), flush=True)
