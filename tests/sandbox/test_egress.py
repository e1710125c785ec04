"""The egress proxy and the kit's client: listed host:ports pass, everything else is refused and audited."""

from __future__ import annotations

import asyncio

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mcp_servers.kit.egress import PROXY_SOCKET_ENV, async_client
from policies.sandbox_profile import SandboxProfile
from sandbox import EgressProxy
from tests.helpers import free_port, serving

pytestmark = pytest.mark.anyio


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"hello {request.url.path} host={request.headers['host']}")


@pytest.fixture
async def upstream(anyio_backend):
    async with serving(Starlette(routes=[Route("/{path:path}", _hello)])) as url:
        yield url


@pytest.fixture
async def proxy(upstream, tmp_path):
    port = int(upstream.rsplit(":", 1)[1])
    events = []
    proxy = EgressProxy("sap", [f"127.0.0.1:{port}", f"localhost:{port}"],
                        tmp_path / "proxy.sock", audit=events.append)
    await proxy.start()
    proxy.events = events
    try:
        yield proxy
    finally:
        await proxy.aclose()


async def test_a_listed_host_port_is_reached_through_the_proxy(proxy, upstream, monkeypatch):
    monkeypatch.setenv(PROXY_SOCKET_ENV, str(proxy.socket_path))
    async with async_client(timeout=5) as client:
        response = await client.get(f"{upstream}/orders?x=1")
    assert response.status_code == 200
    assert response.text == f"hello /orders host={upstream.removeprefix('http://')}"
    [event] = proxy.events
    assert (event.allowed, event.method, event.host, event.addresses) == (
        True, "GET", "127.0.0.1", ["127.0.0.1"])


async def test_an_unlisted_port_is_refused_and_audited(proxy, monkeypatch):
    monkeypatch.setenv(PROXY_SOCKET_ENV, str(proxy.socket_path))
    other = free_port()
    async with async_client(timeout=5) as client:
        with pytest.raises(httpx.ProxyError, match="not on the allow-list"):
            await client.get(f"http://127.0.0.1:{other}/")
        with pytest.raises(httpx.ProxyError, match="not on the allow-list"):
            await client.get(f"https://127.0.0.1:{other}/")  # CONNECT
    assert [(e.allowed, e.method, e.port) for e in proxy.events] == [
        (False, "GET", other), (False, "CONNECT", other)]


async def test_a_name_that_resolves_to_loopback_is_refused(proxy, upstream, monkeypatch):
    monkeypatch.setenv(PROXY_SOCKET_ENV, str(proxy.socket_path))
    port = int(upstream.rsplit(":", 1)[1])
    async with async_client(timeout=5) as client:
        with pytest.raises(httpx.ProxyError, match="loopback"):
            await client.get(f"http://localhost:{port}/")
    [event] = proxy.events
    assert not event.allowed and "127.0.0.1" in event.addresses or "::1" in event.addresses


async def test_connect_tunnels_bytes_both_ways(proxy, upstream):
    port = int(upstream.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_unix_connection(str(proxy.socket_path))
    writer.write(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    with anyio.fail_after(10):
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        writer.write(b"GET /tunnel HTTP/1.1\r\nHost: upstream\r\nConnection: close\r\n\r\n")
        reply = await reader.read()
    writer.close()
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"hello /tunnel host=upstream")


async def test_malformed_requests_get_400_and_no_dial(proxy):
    for request in (b"GET /relative HTTP/1.1\r\n\r\n", b"nonsense\r\n\r\n",
                    b"GET ftp://127.0.0.1/ HTTP/1.1\r\n\r\n"):
        reader, writer = await asyncio.open_unix_connection(str(proxy.socket_path))
        writer.write(request)
        with anyio.fail_after(10):
            assert (await reader.read()).startswith(b"HTTP/1.1 400")
        writer.close()
    assert proxy.events == []


async def test_inside_the_sandbox_only_the_listed_host_port_answers(run_probe, upstream):
    port = int(upstream.rsplit(":", 1)[1])
    other = free_port()
    events = []
    profile = SandboxProfile(egress=(f"127.0.0.1:{port}",))
    run = await anyio.to_thread.run_sync(lambda: run_probe(
        ["egress", f"{upstream}/inside", f"http://127.0.0.1:{other}/", "https://10.1.2.3:443/"],
        profile=profile, audit=events.append))
    assert run.returncode == 0, run.stderr
    assert run.result[f"{upstream}/inside"].startswith("ok:200:hello /inside")
    assert run.result[f"http://127.0.0.1:{other}/"].startswith("error:ProxyError")
    assert run.result["https://10.1.2.3:443/"].startswith("error:ProxyError")
    assert [(e.allowed, e.port) for e in events] == [(True, port), (False, other), (False, 443)]
    assert run.report.egress == [f"127.0.0.1:{port}"]


def _tls_files(directory):
    """A throwaway CA and a server certificate for 127.0.0.1, written as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tessera test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {name: directory / f"{name}.pem" for name in ("ca", "cert", "key")}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


async def test_https_goes_through_a_connect_tunnel_with_tls_verified_by_the_client(
        tmp_path, monkeypatch):
    import ssl

    import uvicorn

    files = _tls_files(tmp_path)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        Starlette(routes=[Route("/{path:path}", _hello)]), host="127.0.0.1", port=port,
        log_level="warning", ssl_certfile=str(files["cert"]), ssl_keyfile=str(files["key"])))
    events = []
    proxy = EgressProxy("sap", [f"127.0.0.1:{port}"], tmp_path / "proxy.sock",
                        audit=events.append)
    await proxy.start()
    monkeypatch.setenv(PROXY_SOCKET_ENV, str(proxy.socket_path))
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve)
            with anyio.fail_after(15):
                while not server.started:
                    await anyio.sleep(0.01)
            trusted = ssl.create_default_context(cafile=str(files["ca"]))
            async with async_client(verify=trusted, timeout=5) as client:
                response = await client.get(f"https://127.0.0.1:{port}/secure")
            async with async_client(timeout=5) as client:  # the system CAs do not know it
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await client.get(f"https://127.0.0.1:{port}/secure")
            server.should_exit = True
    finally:
        await proxy.aclose()
    assert response.status_code == 200 and response.text.startswith("hello /secure")
    assert [(e.method, e.allowed) for e in events] == [("CONNECT", True), ("CONNECT", True)]
