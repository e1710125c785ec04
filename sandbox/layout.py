"""What a sandboxed server sees: the filesystem plan, its workspace and the OS user it runs as.

`SandboxPlan` is plain data: the read-only binds (the system libraries under
/usr, the interpreter prefix, the virtualenv, the project's code packages, a few
/etc files), the writable binds (the server's workspace), the small files copied
in (a passwd/group naming only the sandbox user, the context verification keys),
and the command. `bwrap.py` turns a plan into bubblewrap arguments; nothing here
runs a process except `useradd`, once, to create the sandbox user as root.

As root, the sandboxed process runs as the system user `tessera-sbx`, so a file
only root may read stays unreadable even when bound in. bubblewrap resolves bind
sources by name as that user, so their parent directories must be traversable by
others; `grant_traverse` adds the search bit where it is missing (and logs it),
as the embedded database does for its own user.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("tessera.sandbox")

SANDBOX_USER = "tessera-sbx"
WORKSPACE = "/workspace"
EGRESS_DIR = "/run/tessera/egress"
EGRESS_SOCKET = f"{EGRESS_DIR}/proxy.sock"
KEYS_FILE = "/run/tessera/context-verification.jwks.json"
# The project's top-level packages a server process may import (its code, not its data).
CODE_PACKAGES = ("tessera", "mcp_servers", "policies", "sandbox", "host")
# Public system files only: /etc/ssl/private, shadow, the host's passwd stay out.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/ssl/certs",
             "/etc/ssl/openssl.cnf")
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SERVER = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_traversable: set[tuple[str, int]] = set()  # bind sources already checked, per user


class SandboxError(RuntimeError):
    """The sandbox cannot be built as asked; the message says why and how to fix it."""


@dataclass(frozen=True)
class SandboxUser:
    """The OS account a sandboxed process runs as (the caller's own when not root)."""

    name: str
    uid: int
    gid: int

    @property
    def drops_privileges(self) -> bool:
        return self.uid != os.getuid()


@dataclass(frozen=True)
class SandboxPlan:
    """Everything bubblewrap needs to build one server's sandbox."""

    server: str
    tenant: str | None
    command: tuple[str, ...]
    ro_binds: tuple[tuple[str, str], ...]
    rw_binds: tuple[tuple[str, str], ...] = ()
    data_files: tuple[tuple[bytes, str], ...] = ()
    symlinks: tuple[tuple[str, str], ...] = ()
    directories: tuple[str, ...] = ()
    tmp_size_bytes: int = 64 << 20
    chdir: str = "/tmp"
    hostname: str = "tessera-sandbox"
    user: SandboxUser = field(default_factory=lambda: current_user())


def current_user() -> SandboxUser:
    entry = pwd.getpwuid(os.getuid())
    return SandboxUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def sandbox_user() -> SandboxUser:
    """`tessera-sbx` as root (created on first use); the caller itself otherwise."""
    if os.geteuid() != 0:
        return current_user()
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        logger.info("creating the system user %s for sandboxed servers", SANDBOX_USER)
        result = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SANDBOX_USER], capture_output=True, text=True, check=False)
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise SandboxError(f"cannot create the user {SANDBOX_USER}: {result.stderr.strip()}")
        entry = pwd.getpwnam(SANDBOX_USER)
    return SandboxUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def as_user(user: SandboxUser) -> list[str]:
    """`setpriv` to become `user` before exec ([] when already them).

    Dropping privileges in a tiny exec'd program rather than in Popen(user=...)
    lets Python spawn with vfork: forking a large host costs tens of milliseconds.
    """
    if not user.drops_privileges:
        return []
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    return [setpriv, f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups", "--"]


def check_name(kind: str, value: str) -> str:
    """Server and tenant names become path components: only safe slugs are accepted."""
    pattern = _SERVER if kind == "server" else _TENANT
    if not pattern.fullmatch(value) or value in (".", ".."):
        raise SandboxError(f"{kind} name {value!r} is not a safe name ({pattern.pattern})")
    return value


def workspace_dir(data_dir: Path, server: str, tenant: str | None) -> Path:
    """`<data_dir>/sandbox/<server>/workspace`, or `.../tenants/<tenant>` for one tenant."""
    base = Path(data_dir) / "sandbox" / check_name("server", server)
    if tenant is None:
        return base / "workspace"
    return base / "tenants" / check_name("tenant", tenant)


def prepare_workspace(path: Path, user: SandboxUser) -> Path:
    """Create the workspace (mode 0700) owned by the sandbox user."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    if user.drops_privileges:
        os.chown(path, user.uid, user.gid)
    return path


@functools.cache
def system_binds() -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """Read-only binds and symlinks for the system: /usr and the merged-/usr links."""
    binds = [("/usr", "/usr")]
    links = []
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            links.append((os.readlink(name), name))
        elif os.path.isdir(name):
            binds.append((name, name))
    binds += [(path, path) for path in ETC_FILES if os.path.exists(path)]
    return tuple(binds), tuple(links)


@functools.cache
def python_binds() -> tuple[tuple[str, str], ...]:
    """The interpreter prefix, the virtualenv and the project's code packages."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    for package in CODE_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            paths.update(os.path.realpath(p) for p in spec.submodule_search_locations)
    # Keep /usr-contained paths out: /usr is bound already; nested binds only add noise.
    kept = sorted(p for p in paths if not _under(p, "/usr"))
    return tuple((path, path) for path in kept
                 if not any(_under(path, o) and o != path for o in kept))


def identity_files(user: SandboxUser) -> list[tuple[bytes, str]]:
    """A passwd and group that name only root, nobody and the sandbox user."""
    passwd = (f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
              f"{user.name}:x:{user.uid}:{user.gid}:Tessera sandbox:/tmp:/usr/sbin/nologin\n"
              f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    group = f"root:x:0:\n{user.name}:x:{user.gid}:\nnogroup:x:65534:\n"
    return [(passwd.encode(), "/etc/passwd"), (group.encode(), "/etc/group")]


def grant_traverse(paths: list[str], user: SandboxUser, *, remember: bool = False) -> None:
    """Let the sandbox user reach each bind source by name (bubblewrap resolves them so).

    `remember` skips paths already granted: for the installation's own folders, which
    nothing else changes; per-launch paths are checked every time.
    """
    if not user.drops_privileges:
        return
    for path in paths:
        if remember and (path, user.uid) in _traversable:
            continue
        for parent in Path(path).parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                logger.warning("allowing other users to traverse %s for %s", parent, user.name)
                parent.chmod(mode | stat.S_IXOTH)
        _traversable.add((path, user.uid))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
