"""The environment a sandboxed server starts with: nothing of the host's, only what it needs.

It is built from the settings objects the host already holds (pydantic-settings
models such as the kit's `Settings` and a server's `ServerSettings`), never by
copying `os.environ`: each field becomes its `TESSERA_*` variable, except

- secrets (`SecretStr` fields) unless the profile lists the variable in `secrets`
  (`TESSERA_DATABASE_URL` and the server's own `TESSERA_<SERVER>_DATABASE_URL`
  count as listed when the profile binds the database socket);
- fields that only the host may hold (`HOST_ONLY`: the admin URL, the signing key,
  the host's data directory).

The result goes to `Popen(env=...)`, never onto the command line, where
`/proc/*/cmdline` would show it to every process of the same user.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from policies.sandbox_profile import SandboxProfile

HOST_ONLY = frozenset({"data_dir", "database_admin_url", "context_signing_key_file",
                       "context_verification_keys_file"})
DATABASE_URL = "TESSERA_DATABASE_URL"


def base_environment(venv_bin: str) -> dict[str, str]:
    """What every sandboxed process gets: a PATH, a HOME on the private /tmp, UTF-8."""
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def settings_environment(settings: BaseModel | None, profile: SandboxProfile,
                         *, exclude: frozenset[str] = HOST_ONLY) -> dict[str, str]:
    """`TESSERA_*` variables for a settings object's fields, secrets only when listed."""
    if settings is None:
        return {}
    prefix = str(settings.model_config.get("env_prefix", ""))
    own_database_url = f"{prefix}DATABASE_URL".upper()  # e.g. TESSERA_SQL_DATABASE_URL
    listed = set(profile.secrets) | (
        {DATABASE_URL, own_database_url} if profile.database_socket else set())
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        if name in exclude:
            continue
        value = getattr(settings, name)
        variable = f"{prefix}{name}".upper()
        if isinstance(value, SecretStr | SecretBytes):
            if variable not in listed:
                continue
            value = value.get_secret_value()
        if value is None:
            continue
        env[variable] = _as_text(value)
    return env


def listed_secrets(profile: SandboxProfile, source: Mapping[str, str]) -> dict[str, str]:
    """The profile's listed secrets that are set in `source` (the host's environment)."""
    return {name: source[name] for name in profile.secrets if name in source}


def _as_text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Path):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=str)
