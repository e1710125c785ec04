"""Turning settings into a runnable installation: the database, the keys, the migrations.

The CLI calls these once, at start. In development they fill the gaps with
embedded defaults (the embedded PostgreSQL, generated keys); in production they
refuse to, and say what to configure instead.
"""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr, ValidationError

from mcp_servers.kit.context import generate_key_pair
from mcp_servers.kit.definition import ServerDefinition, registered_servers
from mcp_servers.kit.settings import Environment, Settings
from mcp_servers.kit.store.migrate import Applied, MigrationSet, core_migrations
from mcp_servers.kit.store.migrate import migrate as apply_migrations
from mcp_servers.kit.store.migrate import check_current
from tessera.embedded_db import EmbeddedDatabase


class SetupError(RuntimeError):
    """The installation cannot run as configured; the message says what to change."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        raise SetupError(f"invalid setting TESSERA_{field.upper()}: {error['msg']}") from None


def embedded_database(settings: Settings) -> EmbeddedDatabase:
    return EmbeddedDatabase(settings.data_dir / "postgres", settings.embedded_db_port,
                            shared_buffers=settings.embedded_db_shared_buffers)


def with_database(settings: Settings) -> Settings:
    """Settings whose database URLs are filled in, starting the embedded database if needed."""
    if settings.database_url is not None:
        admin = settings.database_admin_url or settings.database_url
        return settings.model_copy(update={"database_admin_url": admin})
    if settings.env is Environment.PRODUCTION:
        raise SetupError(
            "TESSERA_DATABASE_URL is not set; production does not use the embedded database."
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    urls = embedded_database(settings).ensure_running()
    return settings.model_copy(
        update={"database_url": SecretStr(urls.app), "database_admin_url": SecretStr(urls.admin)}
    )


def ensure_dev_keys(settings: Settings) -> None:
    """Generate the call-context key pair at its default paths, in development only.

    Configured key files are never generated or replaced: a missing one is an error
    where it is loaded.
    """
    if settings.context_signing_key_file or settings.context_verification_keys_file:
        return
    if settings.signing_key_path.exists() and settings.verification_keys_path.exists():
        return
    if settings.env is Environment.PRODUCTION:
        raise SetupError(
            "call-context keys are not configured; production does not generate keys: set "
            "TESSERA_CONTEXT_SIGNING_KEY_FILE and TESSERA_CONTEXT_VERIFICATION_KEYS_FILE."
        )
    generate_key_pair(settings.keys_dir)


def migration_sets() -> list[MigrationSet]:
    """Core first, then the host, then every registered server that has tables."""
    from host.store import host_migrations

    sets = [core_migrations(), host_migrations()]
    for definition in registered_servers().values():
        migration_set = definition.migration_set()
        if migration_set is not None:
            sets.append(migration_set)
    return sets


def migrate(settings: Settings) -> list[Applied]:
    """Apply every pending migration, with the admin URL."""
    admin = settings.database_admin_url or settings.database_url
    if admin is None:
        raise SetupError("no database URL is resolved; call with_database first")
    return apply_migrations(admin.get_secret_value(), migration_sets())


def with_dbname(url: str, dbname: str) -> str:
    """The same server and role, another database."""
    return make_conninfo(url, dbname=dbname)


def masked_url(url: str) -> str:
    """A database URL or DSN with its password replaced by ****."""
    parts = conninfo_to_dict(url)
    if "password" in parts:
        parts["password"] = "****"
    if url.startswith(("postgresql://", "postgres://")):
        user = parts.pop("user", "")
        password = parts.pop("password", None)
        dbname = parts.pop("dbname", "")
        host = parts.get("host", "")
        netloc = f"{user}{':' + password if password else ''}@" if user else ""
        if host and not host.startswith("/"):
            netloc += parts.pop("host") + (f":{parts.pop('port')}" if "port" in parts else "")
        query = "&".join(f"{key}={value}" for key, value in parts.items())
        return f"postgresql://{netloc}/{dbname}" + (f"?{query}" if query else "")
    return make_conninfo(**parts)


def server_definition(name: str) -> ServerDefinition:
    servers = registered_servers()
    if name not in servers:
        known = ", ".join(servers) or "none"
        raise SetupError(f"there is no server named {name!r} (installed: {known})")
    return servers[name]


def prepared_settings() -> Settings:
    """Settings for a process that serves: database resolved and migrated, keys in place.

    Development migrates automatically; production only checks, because schema
    changes there are an operator's deliberate step (`tessera db migrate`).
    """
    settings = with_database(load_settings())
    ensure_dev_keys(settings)
    if settings.env is Environment.PRODUCTION:
        admin = settings.database_admin_url or settings.database_url
        assert admin is not None
        check_current(admin.get_secret_value(), migration_sets())
    else:
        migrate(settings)
    return settings
