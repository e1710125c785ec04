"""Per-tenant connections: YAML files, every auth kind, secrets from env or file, the demo."""

from __future__ import annotations

import datetime as dt
import ssl

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastmcp import Client
from pydantic import SecretStr

from mcp_servers.kit.errors import Forbidden
from mcp_servers.sap import definition
from mcp_servers.sap.connections import connections_from_settings
from mcp_servers.sap.settings import SapSettings
from mcp_servers.sap.simulator import build_app
from tests.helpers import serving
from tests.sap.conftest import Sap, connect

pytestmark = pytest.mark.anyio


def _yaml(tmp_path, url, auth):
    path = tmp_path / "connections.yaml"
    path.write_text(yaml.safe_dump({"tenants": {"acme": {
        "base_url": f"{url}/sap/opu/odata/sap", "sap_client": "100", "auth": auth}}}))
    return path


async def test_yaml_file_with_a_password_from_the_environment(settings, tokens, sap_app, sap_url,
                                                              tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_SAP_PASSWORD", "demo")
    path = _yaml(tmp_path, sap_url, {"kind": "basic", "username": "TESSERA",
                                     "password_env": "ACME_SAP_PASSWORD"})
    async for sap in connect(settings, tokens, sap_app.state.simulator, path):
        assert (await sap.ok("list_materials", {"limit": 1}))["materials"]
    assert "x-tessera-user" not in sap_app.state.simulator.requests[-1].headers  # not asked to


async def test_bearer_auth_from_a_token_file(settings, tokens, tmp_path, anyio_backend):
    app = build_app(1000, clients=("100",), users={}, bearer_tokens={"tok-123": "SVC_BEARER"})
    (tmp_path / "token").write_text("tok-123\n")
    async with serving(app) as url:
        path = _yaml(tmp_path, url, {"kind": "bearer", "token_file": "token"})
        async for sap in connect(settings, tokens, app.state.simulator, path):
            assert (await sap.ok("list_cost_centers", {"limit": 1}))["cost_centers"]
    assert app.state.simulator.requests[-1].user == "SVC_BEARER"


async def test_a_missing_secret_is_an_internal_error_without_detail(settings, tokens, sap_app,
                                                                    sap_url, tmp_path):
    path = _yaml(tmp_path, sap_url, {"kind": "basic", "username": "TESSERA",
                                     "password_env": "TESSERA_TEST_UNSET_VARIABLE"})
    async for sap in connect(settings, tokens, sap_app.state.simulator, path):
        result = await sap.call("list_materials", {})
    assert result.structured_content["error_category"] == "internal"
    assert "TESSERA_TEST_UNSET_VARIABLE" not in str(result.content)


def test_a_client_certificate_is_loaded_into_the_tls_context(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tessera-sap")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "c.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    path = tmp_path / "connections.yaml"
    path.write_text(yaml.safe_dump({"tenants": {"acme": {
        "base_url": "https://sap.acme.example/sap/opu/odata/sap", "sap_client": "100",
        "auth": {"kind": "client_cert", "cert_file": "c.pem", "key_file": "c.key"}}}}))
    connections = connections_from_settings(SapSettings(_env_file=None, connections_file=path))
    options = connections.client_options(connections.for_tenant("acme"), 5.0)
    assert isinstance(options["verify"], ssl.SSLContext) and "auth" not in options
    httpx.AsyncClient(**options)  # httpx accepts it as is


def test_the_demo_gives_each_listed_tenant_its_own_client():
    connections = connections_from_settings(SapSettings(
        _env_file=None, demo_clients={"acme": "100", "globex": "200"},
        demo_password=SecretStr("pw")))
    assert connections.for_tenant("acme").sap_client == "100"
    assert connections.for_tenant("globex").sap_client == "200"
    options = connections.client_options(connections.for_tenant("acme"), 5.0)
    assert options["auth"]._auth_header == httpx.BasicAuth("TESSERA", "pw")._auth_header
    with pytest.raises(Forbidden):
        connections.for_tenant("initech")


def test_a_connections_file_cannot_hold_unknown_keys(tmp_path):
    path = tmp_path / "connections.json"
    path.write_text('{"tenants": {"acme": {"base_url": "http://x", "sap_client": "100", '
                    '"auth": {"kind": "basic", "password": "inline"}}}}')
    with pytest.raises(ValueError, match="password"):
        connections_from_settings(SapSettings(_env_file=None, connections_file=path))


async def test_the_demo_settings_reach_the_simulator(settings, tokens, sap_app, sap_url):
    demo = SapSettings(_env_file=None, demo_url=f"{sap_url}/sap/opu/odata/sap")
    async with Client(definition.create(settings, demo).mcp) as client:
        sap = Sap("sap", client, tokens, sap_app.state.simulator, "ann@acme.example")
        created = await sap.ok("create_purchase_order", {
            "idempotency_key": "demo-flow-0001", "supplier": "100001",
            "items": [{"material": "RM-10005", "quantity": 12, "plant": "1000"}]},
            user="buyer@acme.example")
    assert created["purchase_order"] in sap_app.state.simulator.clients["100"].purchase_orders
    assert created["created_by"] == "buyer@acme.example"
