"""Documentation is tested: every setting, tool, command and error category is documented,
the README's two commands are the ones CI runs, and the kit's worked example runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from fastmcp import Client

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.definition import registered_servers
from mcp_servers.kit.errors import ErrorCategory
from mcp_servers.kit.settings import Settings
from tessera.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def _setting_variables() -> list[str]:
    from host.discovery.settings import DiscoverySettings
    from host.settings import HostSettings
    from policies.store import PolicySettings

    sections = [Settings, HostSettings, DiscoverySettings, PolicySettings] + [
        d.settings_model for d in registered_servers().values() if d.settings_model]
    return [f"{section.model_config.get('env_prefix', '')}{name}".upper()
            for section in sections for name in section.model_fields]


def _commands() -> list[str]:
    found = []

    def walk(parser, words):
        for action in parser._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for name, sub in action.choices.items():
                    found.append(" ".join([*words, name]))
                    walk(sub, [*words, name])

    walk(build_parser(), ["tessera"])
    return found


@pytest.mark.parametrize("variable", _setting_variables())
def test_every_setting_is_documented(variable):
    assert f"`{variable}`" in (DOCS / "settings.md").read_text()


@pytest.mark.parametrize("name", sorted(registered_servers()))
def test_every_tool_is_documented(name, settings):
    page = (DOCS / "servers" / f"{name}.md").read_text()
    for tool in registered_servers()[name].create(settings).specs:
        assert f"`{tool}`" in page, tool


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented(command):
    assert f"`{command}" in (DOCS / "cli.md").read_text()


@pytest.mark.parametrize("category", list(ErrorCategory))
def test_every_error_category_is_documented(category):
    assert f"`{category.value}`" in (DOCS / "errors.md").read_text()


def test_the_readme_opens_with_exactly_the_two_commands_ci_runs():
    readme = (REPO / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()
                if line.split("#")[0].strip()]
    assert commands == ["./scripts/run", "./scripts/test"]
    ci = [line for line in (REPO / ".ci/run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == "exec ./scripts/test"


def test_every_document_the_readme_names_exists():
    for path in re.findall(r"`(docs/[\w/.-]+\.md)`", (REPO / "README.md").read_text()):
        assert (REPO / path).exists(), path


@pytest.mark.anyio
async def test_the_kit_guide_example_server_runs(settings, tokens, anyio_backend):
    spec = importlib.util.spec_from_file_location("notes_server",
                                                  DOCS / "examples" / "notes_server.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    server = example.build(settings)

    async with Client(server.mcp) as client:
        meta = {CONTEXT_META_KEY: tokens(tenant="acme", audience="notes")}
        found = await client.call_tool_mcp("notes.lookup", {"machine": "M-101"}, meta=meta)
        missing = await client.call_tool_mcp("notes.lookup", {"machine": "M-999"}, meta=meta)
        other_tenant = await client.call_tool_mcp(
            "notes.lookup", {"machine": "M-101"},
            meta={CONTEXT_META_KEY: tokens(tenant="globex", audience="notes")})

    assert found.structured_content["note"].startswith("Bearing noise")
    assert missing.structured_content["error_category"] == "not_found"
    assert other_tenant.structured_content["error_category"] == "not_found"
