"""The tree keeps the architecture of BRIEF.md: who may import whom, and small modules.

    host ──► mcp_servers/kit, sandbox, policies
    mcp_servers/<server> ──► mcp_servers/kit
    sandbox ──► policies
    the kit imports nothing else of ours; nothing imports tests/ or evals/
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ["host", "mcp_servers", "sandbox", "policies", "tessera"]
OURS = {"host", "mcp_servers", "sandbox", "policies", "tessera", "evals", "tests"}
MAX_LINES = 800


def _modules() -> list[Path]:
    return sorted(p for top in PRODUCT for p in (REPO / top).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in OURS}


def _allowed(path: Path, module: str) -> bool:
    part = path.relative_to(REPO).parts
    top = module.split(".")
    if top[0] in ("tests", "evals"):
        return False
    if part[0] == "mcp_servers" and part[1] == "kit":
        return top[:2] == ["mcp_servers", "kit"]
    if part[0] == "mcp_servers":
        return top[:2] in (["mcp_servers", "kit"], ["mcp_servers", part[1]])
    if part[0] == "host":
        return top[0] in ("host", "sandbox", "policies") or top[:2] == ["mcp_servers", "kit"]
    if part[0] == "sandbox":
        return top[0] in ("sandbox", "policies")
    if part[0] == "policies":
        return top[0] == "policies"
    return True  # tessera/: the CLI is the process edge and may compose every part


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_respect_the_architecture(path):
    forbidden = sorted(module for module in _imports(path) if not _allowed(path, module))
    assert forbidden == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_modules_are_small_and_say_what_they_hold(path):
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_LINES
    if path.name != "__main__.py" and source.strip():
        assert ast.get_docstring(ast.parse(source)), "a module opens with a docstring"


def test_the_layout_of_the_design_card_exists():
    for name in ["pyproject.toml", "host", "mcp_servers", "sandbox", "policies", "skills",
                 "evals", "tests", "deploy", "docker-compose.yml", "README.md", ".ci/run"]:
        assert (REPO / name).exists(), name
