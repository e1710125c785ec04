"""The `tessera` command: help everywhere, exit codes 0/1/2, one-line errors, masked secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mcp_servers.kit.context import ContextVerifier, load_verification_keys
from tessera.cli import build_parser, main

SUBCOMMANDS = [
    [], ["up"], ["host"], ["audit"], ["audit", "verify"], ["serve"], ["servers"], ["db"], ["db", "up"], ["db", "down"], ["db", "status"],
    ["db", "migrate"], ["config"], ["config", "show"], ["keys"], ["keys", "init"], ["token"],
    ["conformance"],
]


@pytest.fixture
def env(monkeypatch, settings, tmp_path):
    """The environment of an installation that uses the test database and keys."""
    values = {
        "TESSERA_DATA_DIR": str(tmp_path),
        "TESSERA_DATABASE_URL": settings.database_url.get_secret_value(),
        "TESSERA_DATABASE_ADMIN_URL": settings.database_admin_url.get_secret_value(),
        "TESSERA_CONTEXT_SIGNING_KEY_FILE": str(settings.signing_key_path),
        "TESSERA_CONTEXT_VERIFICATION_KEYS_FILE": str(settings.verification_keys_path),
    }
    for name in [n for n in os.environ if n.startswith("TESSERA_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    return values


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=lambda w: " ".join(w) or "tessera")
def test_every_command_has_help(words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*words, "--help"])
    assert exit_.value.code == 0
    assert "usage: tessera" in capsys.readouterr().out


def test_the_installed_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "tessera", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "conformance" in result.stdout


def test_every_subcommand_is_documented_in_the_parser():
    parser = build_parser()
    names = set(parser._subparsers._group_actions[0].choices)
    assert names == {"up", "serve", "servers", "db", "config", "keys", "token", "conformance",
                     "kb", "eval", "simulate", "policy", "host", "audit"}


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["serve"], ["db", "explode"],
                                  ["serve", "memory", "--transport", "carrier-pigeon"]])
def test_a_wrong_command_line_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


def test_an_invalid_setting_is_one_line_and_exit_1(env, monkeypatch, capsys):
    monkeypatch.setenv("TESSERA_DATABASE_POOL_MAX", "0")
    assert main(["config", "show"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("tessera: error: invalid setting TESSERA_DATABASE_POOL_MAX")


def test_config_show_masks_secrets(env, monkeypatch, capsys):
    monkeypatch.setenv("TESSERA_EMBEDDING_API_KEY", "sk-very-secret-123")
    monkeypatch.setenv("TESSERA_DATABASE_URL", "postgresql://app:pw-secret-456@db.example/tessera")

    assert main(["config", "show"]) == 0
    table = capsys.readouterr().out
    assert main(["config", "show", "--json"]) == 0
    rows = {row["variable"]: row for row in json.loads(capsys.readouterr().out)}

    for output in (table, json.dumps(rows)):
        assert "sk-very-secret-123" not in output and "pw-secret-456" not in output
    assert rows["TESSERA_EMBEDDING_API_KEY"]["value"] == "********"
    assert rows["TESSERA_DATABASE_URL"]["value"] == "postgresql://app:****@db.example/tessera"
    assert rows["TESSERA_DATABASE_URL"]["source"] == "environment"
    assert rows["TESSERA_MEMORY_DEDUPE_SIMILARITY"]["source"] == "default"


def test_serving_an_unknown_server_is_one_line_and_exit_1(env, capsys):
    assert main(["serve", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tessera: error: there is no server named 'nope' (installed: ")
    assert "memory" in err and err.count("\n") == 1


def test_db_status_and_migrate_are_idempotent(env, capsys):
    assert main(["db", "migrate"]) == 0
    assert "nothing to apply" in capsys.readouterr().out
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "core" in out and "memory" in out and "pending" not in out


def test_production_refuses_the_embedded_database(env, monkeypatch, capsys):
    monkeypatch.setenv("TESSERA_ENV", "production")
    monkeypatch.delenv("TESSERA_DATABASE_URL")
    assert main(["db", "up"]) == 1
    assert "production does not use the embedded database" in capsys.readouterr().err


def test_token_signs_a_context_a_server_accepts(env, settings, capsys):
    assert main(["token", "--audience", "memory", "--tenant", "acme", "--user", "ann",
                 "--roles", "viewer,admin", "--clearance", "III"]) == 0
    token = capsys.readouterr().out.strip()
    verifier = ContextVerifier(load_verification_keys(settings.verification_keys_path),
                               audience="memory", issuers=["tessera-host"])
    context = verifier.verify(token)
    assert (context.tenant, context.user, context.roles, context.clearance.value) == (
        "acme", "ann", ("viewer", "admin"), "III")


def test_conformance_over_stdio_against_a_real_server_process(env):
    command = f"{sys.executable} -m tessera serve memory --transport stdio"
    result = subprocess.run(
        [sys.executable, "-m", "tessera", "conformance", "--stdio", command, "--allow-writes"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("0 failed, 0 skipped")


def test_conformance_against_nothing_fails_cleanly(env, capsys):
    assert main(["conformance", "--url", "http://127.0.0.1:9/mcp"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tessera: error:") and err.count("\n") == 1
