"""`tessera config show`: the effective settings, with secrets masked."""

from __future__ import annotations

import argparse
import enum
import json
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from tessera import runtime

MASK = "********"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="show the effective settings", description=__doc__)
    commands = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = commands.add_parser(
        "show", help="print every setting, where it came from, secrets masked"
    )
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(run=_show)


def effective_settings() -> list[dict[str, Any]]:
    """One row per setting of the core and of every registered server."""
    from mcp_servers.kit.definition import registered_servers

    sections: list[BaseSettings] = [runtime.load_settings()]
    for definition in registered_servers().values():
        server_settings = definition.server_settings()
        if server_settings is not None:
            sections.append(server_settings)
    rows = []
    for section in sections:
        prefix = section.model_config.get("env_prefix", "")
        for name, field in type(section).model_fields.items():
            value = getattr(section, name)
            rows.append(
                {
                    "variable": f"{prefix}{name}".upper(),
                    "value": _shown(name, value),
                    "source": "environment" if name in section.model_fields_set else "default",
                    "description": field.description or "",
                }
            )
    return rows


def _shown(name: str, value: Any) -> Any:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        return runtime.masked_url(secret) if name.endswith("_url") else MASK
    if value is None and name == "database_url":
        return "(unset: the embedded PostgreSQL)"
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, int | float | bool):
        return value
    return str(value)


def _show(args: argparse.Namespace) -> int:
    rows = effective_settings()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(row["variable"]) for row in rows)
    for row in rows:
        value = json.dumps(row["value"]) if isinstance(row["value"], list) else row["value"]
        marker = "" if row["source"] == "default" else "   (set)"
        print(f"{row['variable']:<{width}}  {value}{marker}")
    return 0
