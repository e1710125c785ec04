"""Hot reload: a changed policy goes into force; a broken one never replaces a good one."""

from __future__ import annotations

import os

import pytest

from policies import DecisionRequest, Outcome, PolicyError, PolicySettings, PolicyStore
from tests.policies.helpers import MINIMAL, tool

ASK = dict(tenant="acme", user="o", roles=("viewer",), tool=tool("kb.search"))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def touch(path, text: str, step: int) -> None:
    path.write_text(text)
    stat = path.stat()  # make sure the change shows even within one mtime tick
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + step * 1_000_000_000))


@pytest.fixture
def store(policy_dir):
    folder = policy_dir(main=MINIMAL)
    clock = Clock()
    return PolicyStore(folder, reload_interval_s=5, clock=clock), folder, clock


def test_a_change_goes_into_force_when_the_next_check_is_due(store):
    store, folder, clock = store
    first = store.current()
    assert first.decide(DecisionRequest(**ASK)).outcome is Outcome.ALLOW
    deny = "rules:\n  - {name: kb-closed, effect: deny, tools: ['kb.*']}\n"
    touch(folder / "rules.yaml", deny, 1)
    assert store.current() is first  # not due yet: no file system access at all
    clock.now = 5
    second = store.current()
    assert second is not first and store.reloads == 1
    assert second.decide(DecisionRequest(**ASK)).rule == "kb-closed"
    clock.now = 10
    assert store.current() is second  # unchanged files are not read again


def test_a_broken_file_keeps_the_old_policy_and_reports_the_error(store, caplog):
    store, folder, clock = store
    good = store.current()
    touch(folder / "main.yaml", MINIMAL.replace("roles: [viewer", "roles: [ghost"), 1)
    clock.now = 5
    assert store.current() is good
    assert store.last_error is not None
    assert "undefined role 'ghost'" in store.last_error.problems[0]
    assert "previous policy" in caplog.text
    health = store.health()
    assert health["policy_digest"] == good.digest and health["files"] == ["main.yaml"]
    assert "undefined role 'ghost'" in health["reload_error"][0]
    touch(folder / "main.yaml", "tenants: {acme: {roles: [viewer]", 2)  # broken YAML too
    clock.now = 10
    assert store.current() is good
    assert store.last_error.problems[0].startswith("main.yaml:1: YAML")
    touch(folder / "main.yaml", MINIMAL, 3)  # fixed: the new policy goes into force
    clock.now = 15
    assert store.current() is not good and store.last_error is None


def test_a_deleted_file_is_a_change_too(store):
    store, folder, clock = store
    touch(folder / "extra.yaml", "tenants:\n  globex: {roles: [viewer]}\n", 1)
    assert store.check()
    assert "globex" in store.current().document.tenants
    (folder / "extra.yaml").unlink()
    assert store.check()
    assert "globex" not in store.current().document.tenants


def test_a_broken_policy_at_start_is_an_error_not_an_empty_policy(policy_dir):
    with pytest.raises(PolicyError):
        PolicyStore(policy_dir(main="version: 7\n"))


def test_the_store_reads_its_directory_from_the_settings(policy_dir, monkeypatch):
    folder = policy_dir(main=MINIMAL)
    monkeypatch.setenv("TESSERA_POLICY_DIR", str(folder))
    monkeypatch.setenv("TESSERA_POLICY_RELOAD_INTERVAL_S", "0")
    store = PolicyStore.from_settings(PolicySettings(_env_file=None))
    assert store.directory == folder and store.reload_interval_s == 0
