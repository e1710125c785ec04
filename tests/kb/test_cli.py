"""`tessera kb ingest` and `tessera eval`, run in-process against the test database."""

from __future__ import annotations

import pytest

from tessera.cli import main
from tests.kb import documents


@pytest.fixture
def test_env(monkeypatch, settings):
    monkeypatch.setenv("TESSERA_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("TESSERA_DATABASE_ADMIN_URL", settings.database_admin_url.get_secret_value())
    monkeypatch.setenv("TESSERA_CONTEXT_SIGNING_KEY_FILE", str(settings.signing_key_path))
    monkeypatch.setenv("TESSERA_CONTEXT_VERIFICATION_KEYS_FILE", str(settings.verification_keys_path))
    monkeypatch.setenv("TESSERA_DATA_DIR", str(settings.data_dir))


def test_kb_ingest_loads_a_folder_and_reports_bad_files(tmp_path, test_env, database, capsys):
    (tmp_path / "guide.md").write_text(documents.MARKDOWN)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "spindle.pdf").write_bytes(documents.pdf(["Grease every 500 hours."]))
    (tmp_path / "sub" / "broken.pdf").write_bytes(b"%PDF-1.4 nothing else")
    (tmp_path / "ignored.png").write_bytes(b"\x89PNG")

    code = main(["kb", "ingest", str(tmp_path), "--tenant", "cli-kb"])
    again = main(["kb", "ingest", str(tmp_path / "guide.md"), "--tenant", "cli-kb"])

    out = capsys.readouterr().out
    assert code == 1 and again == 0
    assert "2 created" in out and "1 failed" in out and "1 unchanged" in out
    assert "broken.pdf: The document could not be read" in out
    with database.admin() as conn:
        uris = sorted(r[0] for r in conn.execute(
            "SELECT source_uri FROM kb_documents WHERE tenant_id = 'cli-kb'"))
    assert uris == [(tmp_path / "guide.md").as_uri(), (tmp_path / "sub" / "spindle.pdf").as_uri()]


def test_eval_runs_a_suite_as_a_module_and_refuses_unknown_ones(capsys):
    assert main(["eval", "retrieval", "--help"]) == 0
    assert main(["eval", "no_such_suite"]) == 1
    assert "no evaluation suite 'no_such_suite'" in capsys.readouterr().err
