"""`tessera db`: the database — start and stop the embedded one, migrate, show status."""

from __future__ import annotations

import argparse

from tessera import runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="manage the database", description=__doc__)
    commands = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    commands.add_parser(
        "up", help="start the embedded PostgreSQL (creating it on first use)"
    ).set_defaults(run=_up)
    commands.add_parser("down", help="stop the embedded PostgreSQL").set_defaults(run=_down)
    commands.add_parser(
        "status", help="is the database reachable, and which migrations ran"
    ).set_defaults(run=_status)
    commands.add_parser(
        "migrate", help="apply pending migrations of every component (idempotent)"
    ).set_defaults(run=_migrate)


def _up(args: argparse.Namespace) -> int:
    settings = runtime.with_database(runtime.load_settings())
    print(f"database ready: {runtime.masked_url(settings.require_database_url())}")
    return 0


def _down(args: argparse.Namespace) -> int:
    settings = runtime.load_settings()
    if settings.database_url is not None:
        print("TESSERA_DATABASE_URL is set: that database is not Tessera's to stop")
        return 1
    stopped = runtime.embedded_database(settings).stop()
    print("embedded database stopped" if stopped else "embedded database was not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from mcp_servers.kit.store.migrate import status

    settings = runtime.load_settings()
    if settings.database_url is None and not runtime.embedded_database(settings).is_running():
        print("embedded database: not running (start it with `tessera db up`)")
        return 1
    settings = runtime.with_database(settings)
    admin = settings.database_admin_url
    assert admin is not None
    print(f"database: {runtime.masked_url(settings.require_database_url())}")
    behind = False
    for component, applied, latest in status(admin.get_secret_value(), runtime.migration_sets()):
        state = "up to date" if applied == latest else f"{latest - applied} pending"
        behind = behind or applied < latest
        print(f"  {component:<12} version {applied}/{latest}  {state}")
    return 1 if behind else 0


def _migrate(args: argparse.Namespace) -> int:
    settings = runtime.with_database(runtime.load_settings())
    applied = runtime.migrate(settings)
    for item in applied:
        print(f"applied {item.component}/{item.version:04d}_{item.name}")
    print("database is up to date" if applied else "nothing to apply: database is up to date")
    return 0
