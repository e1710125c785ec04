"""The published schema is current, validates the shipped files, and every key is documented."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from policies import DEFAULT_DIRECTORY, PolicySettings
from tessera.commands.policy import schema_text

REPO = Path(__file__).resolve().parents[2]
SCHEMA = DEFAULT_DIRECTORY / "schema.json"


def _keys(node, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found.update(value)
            _keys(value, found)
    elif isinstance(node, list):
        for item in node:
            _keys(item, found)
    return found


def test_the_committed_schema_is_up_to_date():
    assert SCHEMA.read_text() == schema_text(), "run `tessera policy schema`"


@pytest.mark.parametrize("key", sorted(_keys(json.loads(SCHEMA.read_text()), set())))
def test_every_policy_key_is_documented(key):
    assert f"`{key}`" in (REPO / "docs" / "policies.md").read_text()


@pytest.mark.parametrize("path", sorted(DEFAULT_DIRECTORY.glob("*.yaml")), ids=lambda p: p.name)
def test_the_shipped_files_validate_against_the_published_schema(path):
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(SCHEMA.read_text()))


def test_the_schema_rejects_what_the_loader_rejects():
    schema = json.loads(SCHEMA.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"roles": {"viewer": {"colour": "red"}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rules": [{"name": "r", "effect": "allow"}]}, schema)


@pytest.mark.parametrize("name", sorted(PolicySettings.model_fields))
def test_the_policy_settings_are_documented(name):
    assert f"`TESSERA_POLICY_{name.upper()}`" in (REPO / "docs" / "settings.md").read_text()
