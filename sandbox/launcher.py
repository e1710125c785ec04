"""Launching a server process under the confinement its profile asks for, and saying which it got.

`launch` is the general form (any command); `launch_server` starts a registered
capability server (`tessera serve NAME --inside-sandbox` over stdio) from the
host's settings. Each returns a `SandboxedProcess`: the `Popen` with stdin and
stdout pipes for MCP, and a `SandboxReport` naming the confinement it actually
got, for /readyz and the audit log.

Modes (`SandboxProfile.mode`):

    strict       bubblewrap, or SandboxUnavailable carrying bubblewrap's message and the fix
    degraded-ok  bubblewrap where it works; else Landlock + seccomp + rlimits + the sandbox
                 user (`python -m sandbox.confine`), or rlimits + user where Landlock is missing
    off          no confinement at all (development only; reported as `none`)
"""

from __future__ import annotations

import enum
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from psycopg.conninfo import conninfo_to_dict
from pydantic import BaseModel, Field

from policies.sandbox_profile import SandboxMode, SandboxProfile
from sandbox import layout
from sandbox.bwrap import bwrap_argv, limits_argv
from sandbox import confine
from sandbox.environment import base_environment, listed_secrets, settings_environment
from sandbox.layout import SandboxError, SandboxPlan, SandboxUser
from sandbox.probe import probe_bwrap
from sandbox.proxy import EgressAudit, ProxyThread
from sandbox.spawner import WallClock, kill_group, spawner

logger = logging.getLogger("tessera.sandbox")
STOP_TIMEOUT_S = 5.0


class SandboxUnavailable(SandboxError):
    """A strict server cannot start: bubblewrap cannot build its sandbox here."""


class Confinement(enum.StrEnum):
    BUBBLEWRAP = "bubblewrap"
    LANDLOCK = "landlock+seccomp+rlimits+user"
    RLIMITS = "rlimits+user"
    NONE = "none"


class SandboxReport(BaseModel):
    """Which confinement one server process actually got (for health checks and audit)."""

    server: str = Field(description="Server name.")
    tenant: str | None = Field(default=None, description="Tenant whose workspace it has, if any.")
    requested_mode: SandboxMode = Field(description="The mode its policy profile asks for.")
    confinement: Confinement = Field(description="What it runs under: bubblewrap, a weaker "
                                     "fallback, or none.")
    user: str = Field(description="OS account the process runs as.")
    reason: str | None = Field(default=None, description="Why it is not under bubblewrap, "
                               "when it is not.")
    bwrap_version: str | None = Field(default=None, description="bubblewrap version used.")
    workspace: str | None = Field(default=None, description="Host path of its writable workspace.")
    egress: list[str] = Field(default_factory=list, description="host:port pairs its proxy admits.")
    pid: int | None = Field(default=None, description="Host pid of the launched process.")

    @property
    def degraded(self) -> bool:
        return self.confinement is not Confinement.BUBBLEWRAP


class SandboxedProcess:
    """A launched server: the Popen, its report, and what to tear down with it."""

    def __init__(self, process: subprocess.Popen, report: SandboxReport, *,
                 proxy: ProxyThread | None, clock: WallClock, cleanup: Callable[[], None]):
        self.process = process
        self.report = report
        self.proxy = proxy
        self._clock = clock
        self._cleanup = cleanup

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stdin(self) -> IO[bytes] | None:
        return self.process.stdin

    @property
    def stdout(self) -> IO[bytes] | None:
        return self.process.stdout

    @property
    def killed_by_wall_clock(self) -> bool:
        return self._clock.fired.is_set()

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def transport(self) -> Any:
        """A fastmcp client transport speaking MCP over this process's stdin/stdout."""
        from sandbox.stdio import PipeTransport

        return PipeTransport(self.process)

    def close(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """Stop the server (EOF on stdin, then SIGKILL to its group) and release everything."""
        try:
            if self.process.poll() is None and self.process.stdin is not None:
                try:
                    self.process.stdin.close()
                except OSError:
                    pass
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            if self.process.poll() is None:
                kill_group(self.process)
                self.process.wait(timeout)
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
        finally:
            self._clock.cancel()
            if self.proxy is not None:
                self.proxy.stop()
            self._cleanup()
        return self.process.returncode

    def __enter__(self) -> SandboxedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def launch(
    server: str,
    profile: SandboxProfile,
    command: Sequence[str],
    *,
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    tenant: str | None = None,
    ro_binds: Sequence[tuple[str, str]] = (),
    data_files: Sequence[tuple[bytes, str]] = (),
    audit: EgressAudit | None = None,
    stdin: int | IO[Any] | None = subprocess.PIPE,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = None,
) -> SandboxedProcess:
    """Start `command` for `server` as `profile` says; see the module docstring for modes.

    `ro_binds` are (host path, sandbox path) pairs added to the profile's own
    mounts; `data_files` are (bytes, sandbox path) copied in read-only.
    """
    layout.check_name("server", server)
    if tenant is not None:
        layout.check_name("tenant", tenant)
    user = layout.sandbox_user() if profile.mode is not SandboxMode.OFF else layout.current_user()
    confinement, reason, version = _choose(profile, user)
    workspace = (layout.prepare_workspace(layout.workspace_dir(data_dir, server, tenant), user)
                 if profile.workspace else None)
    egress_dir = _private_dir("tessera-egress-", user) if profile.egress else None
    inside = confinement is Confinement.BUBBLEWRAP
    # Without a mount namespace there is no private /tmp: a private directory stands in,
    # and the files bubblewrap would copy in are written there.
    private_tmp = None if inside else _private_dir("tessera-sbx-tmp-", user)
    proxy = None
    try:
        if egress_dir is not None:
            proxy = ProxyThread(server, profile.egress, egress_dir / "proxy.sock", audit=audit,
                                socket_owner=user if user.drops_privileges else None)
            proxy.start()
        full_env = {
            **base_environment(str(Path(sys.prefix) / "bin")),
            "TESSERA_DATA_DIR": _inside(workspace, inside) or str(private_tmp or "/tmp/tessera"),
            **({"TESSERA_SANDBOX_WORKSPACE": _inside(workspace, inside)} if workspace else {}),
            **({"TESSERA_EGRESS_PROXY_SOCKET": layout.EGRESS_SOCKET if inside
                else str(egress_dir / "proxy.sock")} if egress_dir else {}),
            **({"HOME": str(private_tmp), "TMPDIR": str(private_tmp)} if private_tmp else {}),
            **dict(env or {}),
        }
        binds = [*[(p, p) for p in profile.read_only_mounts], *ro_binds]
        files = list(data_files)
        if private_tmp is not None:
            written = _write_files(files, private_tmp, user)
            full_env = {name: written.get(value, value) for name, value in full_env.items()}
            files = []
        argv, fds = _command(confinement, server, tenant, profile, command, user, binds, files,
                             workspace, [p for p in (egress_dir, private_tmp) if p])
        try:
            process = spawner().popen(layout.as_user(user) + argv, env=full_env, stdin=stdin,
                                      stdout=stdout, stderr=stderr, pass_fds=fds,
                                      start_new_session=True, cwd="/")
        finally:
            for fd in fds:
                os.close(fd)
    except BaseException:
        if proxy is not None:
            proxy.stop()
        _remove(egress_dir, private_tmp)
        raise
    report = SandboxReport(
        server=server, tenant=tenant, requested_mode=profile.mode, confinement=confinement,
        user=user.name, reason=reason, bwrap_version=version,
        workspace=str(workspace) if workspace else None, egress=list(profile.egress),
        pid=process.pid)
    log = logger.warning if report.degraded else logger.info
    log("server %s started (pid %s) under %s%s", server, process.pid, confinement.value,
        f": {reason}" if reason else "")
    return SandboxedProcess(
        process, report, proxy=proxy, clock=WallClock(process, profile.limits.wall_clock_s),
        cleanup=lambda: _remove(egress_dir, private_tmp))


def launch_server(
    name: str,
    profile: SandboxProfile,
    settings: BaseModel,
    tenant: str | None = None,
    *,
    server_settings: BaseModel | None = None,
    audit: EgressAudit | None = None,
    stdin: int | IO[Any] | None = subprocess.PIPE,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = None,
) -> SandboxedProcess:
    """Start the registered server `name` over stdio under its profile.

    `settings` is the host's resolved `Settings` (database URL filled in, keys in
    place); `server_settings` the server's own `ServerSettings`, if it has any.
    """
    env = {**settings_environment(settings, profile),
           **settings_environment(server_settings, profile, exclude=frozenset()),
           **listed_secrets(profile, os.environ)}
    binds: list[tuple[str, str]] = []
    if profile.database_socket:
        urls = [_secret(getattr(source, "database_url", None))
                for source in (settings, server_settings) if source is not None]
        for socket_dir in dict.fromkeys(database_socket_dir(url) for url in urls if url):
            binds.append((socket_dir, socket_dir))
        if not binds:
            database_socket_dir(None)  # raises, saying what is missing
    files: list[tuple[bytes, str]] = []
    keys = getattr(settings, "verification_keys_path", None)
    if keys is not None:
        try:
            files.append((Path(keys).read_bytes(), layout.KEYS_FILE))
        except OSError as exc:
            raise SandboxError(f"cannot read the context verification keys {keys}: {exc}") from None
        env["TESSERA_CONTEXT_VERIFICATION_KEYS_FILE"] = layout.KEYS_FILE
    command = [str(Path(sys.prefix) / "bin" / "python"), "-m", "tessera", "serve", name,
               "--transport", "stdio", "--inside-sandbox"]
    return launch(name, profile, command, data_dir=Path(settings.data_dir), env=env,
                  tenant=tenant, ro_binds=binds, data_files=files, audit=audit,
                  stdin=stdin, stdout=stdout, stderr=stderr)


def server_transport(name: str, profile: SandboxProfile, settings: BaseModel,
                     tenant: str | None = None, *, server_settings: BaseModel | None = None,
                     audit: EgressAudit | None = None,
                     on_launch: Callable[[SandboxReport], None] | None = None) -> Any:
    """A fastmcp transport that runs `launch_server(...)` on each connect and stops it after.

    For a supervisor that reconnects: every (re)connection is a fresh sandbox, and
    `on_launch` receives each launch's `SandboxReport` (for /readyz and the audit log).
    """
    from sandbox.stdio import SandboxedServerTransport

    return SandboxedServerTransport(
        lambda: launch_server(name, profile, settings, tenant, server_settings=server_settings,
                              audit=audit),
        on_launch=on_launch)


def database_socket_dir(url: str | None) -> str:
    """The Unix-socket directory a PostgreSQL URL connects through."""
    host = conninfo_to_dict(url).get("host", "") if url else ""
    directory = next((h for h in str(host).split(",") if h.startswith("/")), None)
    if directory is None or not os.path.isdir(directory):
        raise SandboxError(
            "the profile binds the database socket, but the database URL does not connect "
            "through a Unix-socket directory (host=/path): a sandboxed server has no network. "
            "Give it a socket URL, e.g. postgresql://role:pw@/db?host=/var/run/postgresql")
    return directory


def _choose(profile: SandboxProfile, user: SandboxUser
            ) -> tuple[Confinement, str | None, str | None]:
    if profile.mode is SandboxMode.OFF:
        return Confinement.NONE, "the policy profile sets mode off", None
    probe = probe_bwrap(user)
    if probe.ok:
        return Confinement.BUBBLEWRAP, None, probe.version
    if profile.mode is SandboxMode.STRICT:
        raise SandboxUnavailable(probe.explain())
    fallback = Confinement.LANDLOCK if confine.available() else Confinement.RLIMITS
    return fallback, f"bubblewrap unavailable: {probe.message}", probe.version


def _command(confinement: Confinement, server: str, tenant: str | None, profile: SandboxProfile,
             command: Sequence[str], user: SandboxUser, binds: list[tuple[str, str]],
             files: list[tuple[bytes, str]], workspace: Path | None,
             private: list[Path]) -> tuple[list[str], list[int]]:
    if confinement is Confinement.NONE:
        return list(command), []
    if confinement is not Confinement.BUBBLEWRAP:
        writable = [p for p in (workspace, *private) if p is not None]
        return _degraded_command(confinement, profile, command, binds, writable), []
    egress_dir = next((p for p in private if p.name.startswith("tessera-egress-")), None)
    system, links = layout.system_binds()
    installation = [*system, *layout.python_binds()]
    ro = [*installation, *binds]
    if egress_dir is not None:
        ro.append((str(egress_dir), layout.EGRESS_DIR))
    rw = [(str(workspace), layout.WORKSPACE)] if workspace else []
    layout.grant_traverse([source for source, _ in installation], user, remember=True)
    layout.grant_traverse([source for source, _ in ro[len(installation):] + rw], user)
    files = [*layout.identity_files(user), *files]
    plan = SandboxPlan(
        server=server, tenant=tenant, command=tuple(command), ro_binds=tuple(ro),
        rw_binds=tuple(rw), data_files=tuple(files), symlinks=tuple(links),
        tmp_size_bytes=profile.limits.tmp_size_mb << 20,
        chdir=layout.WORKSPACE if workspace else "/tmp", hostname=f"tessera-{server}", user=user)
    fds = [_memfd(content) for content, _ in files]
    seccomp = _memfd(confine.seccomp_program()) if confine.seccomp_supported() else None
    argv = bwrap_argv(plan, fds, profile.limits, bwrap=shutil.which("bwrap") or "bwrap",
                      seccomp_fd=seccomp)
    return argv, fds + ([seccomp] if seccomp is not None else [])


def _degraded_command(confinement: Confinement, profile: SandboxProfile, command: Sequence[str],
                      binds: list[tuple[str, str]], writable: list[Path]) -> list[str]:
    """`python -m sandbox.confine [--landlock paths] -- prlimit ... -- command`."""
    argv = [sys.executable, "-m", "sandbox.confine"]
    if confinement is Confinement.LANDLOCK:
        system, _ = layout.system_binds()
        for source, _ in [*system, *layout.python_binds(), *binds, ("/proc/self", ""),
                          ("/dev/urandom", "")]:
            argv += ["--read", source]
        for path in [*writable, Path("/dev/null")]:
            argv += ["--write", str(path)]
        argv.append("--landlock")
    return [*argv, "--", *limits_argv(profile.limits), *command]


def _private_dir(prefix: str, user: SandboxUser) -> Path:
    """A private directory under the system temp dir (short: sun_path holds 108 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    if user.drops_privileges:
        os.chown(directory, user.uid, user.gid)
    return directory


def _write_files(files: Sequence[tuple[bytes, str]], directory: Path, user: SandboxUser
                 ) -> dict[str, str]:
    """Write data files into `directory` (no mounts to copy them in); sandbox path -> real path."""
    written = {}
    for index, (content, dest) in enumerate(files):
        target = directory / f"{index}-{Path(dest).name}"
        target.write_bytes(content)
        target.chmod(0o444)
        if user.drops_privileges:
            os.chown(target, user.uid, user.gid)
        written[dest] = str(target)
    return written


def _remove(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)


def _memfd(content: bytes) -> int:
    fd = os.memfd_create("tessera-sandbox-file", 0)
    os.write(fd, content)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _inside(path: Path | None, inside: bool) -> str | None:
    if path is None:
        return None
    return layout.WORKSPACE if inside else str(path)


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
