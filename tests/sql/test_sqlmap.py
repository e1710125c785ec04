"""sqlmap against sql.query over streamable HTTP, the injection marker inside the JSON-RPC arguments.

The server runs as it would in production (the kit's streamable-HTTP app on
loopback, a bearer token); an MCP session is opened first and its id passed
to sqlmap as a header. The marker sits where a model splicing user text into
SQL would put it: in a string literal, or after a number. sqlmap is GPL: it
comes from the `test` extra (PyPI) and runs as a separate process. Three runs,
1–1.5 minutes together: enumeration (banner, user, database, DBA, tables, a dump
of the canary table) from each marker position, and a brute force of column
names on suppliers from sqlmap's word list.

sqlmap reports the parameter injectable (boolean-based): sql.query *does* run
the SELECTs it writes, which is its job; the DBMS is forced to PostgreSQL so
sqlmap goes on to enumerate although its fingerprint probes are refused. What
matters is what it gets out. The test records every call the server answered
and asserts, from the database side, that nothing was written and the canary
table was never read; that no response held another tenant's rows, a secret
column or a catalog value; and from sqlmap's side, that it retrieved nothing
and found no column beyond the allow-listed ones. The figures are printed for
docs/servers/sql.md.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastmcp.server.middleware import Middleware, MiddlewareContext

from mcp_servers.kit.server import MCP_PATH, http_app
from mcp_servers.sql import definition
from tests.helpers import serving
from tests.sql.conftest import canaries, fingerprint
from tests.sql.test_attack_corpora import canary_scans, quiesce

pytestmark = pytest.mark.anyio

SQLMAP_TIME_LIMIT_S = 240
ACCEPT = "application/json, text/event-stream"
PROTOCOL_VERSION = "2025-06-18"


class Recorder(Middleware):
    """Keeps every sql.query the server answered: the statement and the structured result."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        result = await call_next(context)
        arguments = context.message.arguments or {}
        self.calls.append((str(arguments.get("sql", "")), result.structured_content or {}))
        return result


async def open_session(url: str, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(url, headers=headers, json={
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                       "clientInfo": {"name": "sqlmap-harness", "version": "1"}}})
        response.raise_for_status()
        session = response.headers["mcp-session-id"]
        headers |= {"Mcp-Session-Id": session, "MCP-Protocol-Version": PROTOCOL_VERSION}
        done = await http.post(url, headers=headers,
                               json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert done.status_code in (200, 202)
    return session


LITERAL = ("SELECT material_id, description FROM plant_demo.materials "
           "WHERE material_id = 'M-10002*' ORDER BY material_id")
NUMBER = ("SELECT po_number, status FROM plant_demo.purchase_orders "
          "WHERE net_value > 40000* ORDER BY po_number")
ENUMERATE = ["--banner", "--current-user", "--current-db", "--is-dba", "--tables",
             "--dump", "-D", "plant_demo", "-T", "supplier_bank_accounts"]
# Each run: where the marker (*) sits, and what sqlmap is asked to get out. The last one
# brute-forces column names of suppliers from sqlmap's word list (2 890 names, tax_id among them).
RUNS = {
    "literal": (LITERAL, ENUMERATE),
    "number": (NUMBER, ENUMERATE),
    "brute-force": (LITERAL, ["--common-columns", "-D", "plant_demo", "-T", "suppliers",
                              "--threads=8"]),
}
SUPPLIER_COLUMNS = {"supplier_id", "name", "country", "city", "rating", "payment_terms"}


def sqlmap_command(url: str, token: str, session: str, workdir: Path, statement: str,
                   asks: list[str]) -> list[str]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "sql.query", "arguments": {"sql": statement}}})
    headers = "\n".join([f"Authorization: Bearer {token}", f"Accept: {ACCEPT}",
                         "Content-Type: application/json", f"Mcp-Session-Id: {session}",
                         f"MCP-Protocol-Version: {PROTOCOL_VERSION}"])
    executable = shutil.which("sqlmap", path=str(Path(sys.executable).parent))
    assert executable, "sqlmap is not installed: pip install -e '.[test]'"
    return [
        executable, "-u", url, "--method=POST", f"--data={body}", f"--headers={headers}",
        "--batch", "--flush-session", "--disable-coloring", f"--output-dir={workdir}",
        f"--har={workdir / 'traffic.har'}", "--dbms=PostgreSQL", "--force-dbms=PostgreSQL", "--technique=BEUST",
        "--level=3", "--risk=2", "--time-sec=1", "--timeout=10", "--retries=0",
        "--answers=process=Y,JSON=N,custom=Y", *asks,
    ]


@pytest.mark.parametrize("run", list(RUNS))
async def test_sqlmap_gets_nothing_out(run, settings, sql_settings, tokens, database,
                                       tmp_path, anyio_backend):
    secrets = canaries(database, "globex") + [
        v for v in canaries(database, "acme") if any(k in v for k in ("taxid", "iban", "buyer"))]
    before = fingerprint(database)
    server = definition.create(settings, sql_settings)
    recorder = Recorder()
    server.mcp.add_middleware(recorder)
    token = tokens(tenant="acme", audience="sql", ttl_s=3600)
    await quiesce(database)
    scans_before = canary_scans(database)

    async with serving(http_app(server.mcp, settings)) as base:
        url = f"{base}{MCP_PATH}"
        session = await open_session(url, token)
        with anyio.fail_after(SQLMAP_TIME_LIMIT_S):
            done = await anyio.run_process(sqlmap_command(url, token, session, tmp_path,
                                                          *RUNS[run]), check=False)
    output = done.stdout.decode(errors="replace")
    (tmp_path / "sqlmap.out").write_text(output)

    await quiesce(database)
    assert canary_scans(database) == scans_before
    assert fingerprint(database) == before

    outcomes = Counter(
        "ran" if "rows" in content else
        f"refused {content.get('error_category')}/{(content.get('details') or {}).get('rule')}"
        for _, content in recorder.calls)
    leaked = [sql for sql, content in recorder.calls
              if any(secret in json.dumps(content) for secret in secrets)]
    too_many = [sql for sql, content in recorder.calls
                if content.get("row_count", 0) > sql_settings.max_rows]
    tables_read = {t for _, content in recorder.calls for t in content.get("tables", [])}
    har = json.loads((tmp_path / "traffic.har").read_text())["log"]["entries"]

    print(f"\nsqlmap, {run}: {len(har)} HTTP requests, "
          f"{len(recorder.calls)} sql.query calls, exit {done.returncode}")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {count:5d}  {outcome}")
    claims = [line for line in output.splitlines()
              if re.search(r"(injectable|Type:|Title:|banner|current user|current database|"
                           r"DBA|fetched|retrieved|tables|back-end DBMS)", line, re.I)]
    print("\n".join(f"  | {line}" for line in claims[:60]))

    assert recorder.calls, "sqlmap never reached sql.query"
    assert leaked == [] and too_many == []
    assert tables_read <= {"plant_demo.materials", "plant_demo.suppliers", "plant_demo.po_items",
                           "plant_demo.purchase_orders", "plant_demo.machines",
                           "plant_demo.production_orders", "plant_demo.quality_inspections"}
    found_columns = set(re.findall(r"^\| (\w+)\s+\|", output, re.M)) - {"Column"}
    print(f"  columns sqlmap found: {sorted(found_columns)}")
    assert found_columns <= SUPPLIER_COLUMNS  # what sql.describe shows anyway
    retrieved = [line for line in output.splitlines() if re.search(
        r"(retrieved: \S|(banner|current user|current database): '|is DBA: True|"
        r"^Database: (?!plant_demo$)|entries\])", line)]
    assert retrieved == []
    for secret in ("PostgreSQL 18", "tessera_sql_reader", "tessera_app", "pg_catalog", "tax_id",
                   "iban", *secrets):
        assert secret.lower() not in output.lower(), secret
    assert not list(tmp_path.glob("*/dump/**/*.csv"))  # sqlmap dumped no table
