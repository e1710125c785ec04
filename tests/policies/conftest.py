"""Fixtures for the policy tests: the shipped policy, and small policies written to a folder."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from policies import DEFAULT_DIRECTORY, Policy, load_policy


@pytest.fixture(scope="session")
def shipped() -> Policy:
    return load_policy(DEFAULT_DIRECTORY)


@pytest.fixture
def policy_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML files (name -> text) into a fresh policy folder and return it."""

    def write(**files: str) -> Path:
        folder = tmp_path / "policies"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / f"{name}.yaml").write_text(textwrap.dedent(text))
        return folder

    return write


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    """A copy of the shipped policy folder (YAML and test cases only) to modify."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    for path in DEFAULT_DIRECTORY.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    shutil.copytree(DEFAULT_DIRECTORY / "tests", folder / "tests")
    return folder
