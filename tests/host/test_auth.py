"""Who may talk to the host: JWT checks (401), forbidden (403), rate limits (429 + Retry-After)."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from host.auth import UserAuthenticator
from host.llm import EndpointRefused, check_endpoint
from host.settings import HostSettings
from mcp_servers.kit.context import public_jwks
from mcp_servers.kit.errors import AuthFailed
from tests.host.harness import policy_copy, running_host
from tests.scripted_llm import Reply

pytestmark = pytest.mark.anyio


@pytest.fixture
def policies(tmp_path):
    return policy_copy(tmp_path / "policies")


def signed(key, claims: dict, kid: str = "k1", algorithm: str = "ES256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def claims(**overrides):
    now = int(time.time())
    return {"iss": "idp", "aud": "tessera", "sub": "ann", "tenant": "acme", "roles": ["viewer"],
            "iat": now, "exp": now + 300, **overrides}


@pytest.fixture
def idp(tmp_path, settings):
    """An identity provider's key, published as a local JWKS file (an air-gapped site)."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwks = public_jwks([key.public_key()])
    path = tmp_path / "idp.jwks.json"
    path.write_text(json.dumps(jwks))
    kid = jwks["keys"][0]["kid"]
    auth = UserAuthenticator(HostSettings(_env_file=None, jwks_file=path, jwt_issuers=["idp"],
                                          roles_claim="groups"), settings)
    return key, kid, auth


def test_a_valid_token_maps_its_configured_claims(idp):
    key, kid, auth = idp
    who = auth.authenticate("Bearer " + signed(key, claims(groups=["operator"], clearance="III"), kid))
    assert (who.tenant, who.user, who.roles, who.clearance.value) == ("acme", "ann", ("operator",), "III")


@pytest.mark.parametrize("case", ["missing", "expired", "audience", "issuer", "signature", "alg-none",
                                  "no-tenant", "garbage", "hs256-with-public-key"])
def test_bad_tokens_are_refused(idp, case):
    key, kid, auth = idp
    other = ec.generate_private_key(ec.SECP256R1())
    tokens = {
        "missing": None,
        "expired": "Bearer " + signed(key, claims(exp=int(time.time()) - 60), kid),
        "audience": "Bearer " + signed(key, claims(aud="someone-else"), kid),
        "issuer": "Bearer " + signed(key, claims(iss="evil"), kid),
        "signature": "Bearer " + signed(other, claims(), kid),
        "alg-none": "Bearer " + jwt.encode(claims(), None, algorithm="none"),
        "no-tenant": "Bearer " + signed(key, {k: v for k, v in claims().items() if k != "tenant"}, kid),
        "garbage": "Bearer not.a.token",
        "hs256-with-public-key": "Bearer " + jwt.encode(claims(), "secret", algorithm="HS256",
                                                        headers={"kid": kid}),
    }
    with pytest.raises(AuthFailed):
        auth.authenticate(tokens[case])


def test_production_refuses_a_model_endpoint_that_is_not_on_prem():
    remote = HostSettings(_env_file=None, llm_api_base="https://api.example.com/v1")
    with pytest.raises(EndpointRefused):
        check_endpoint(remote, production=True)
    check_endpoint(remote, production=False)
    check_endpoint(HostSettings(_env_file=None, llm_api_base="http://127.0.0.1:8000/v1"), production=True)


async def test_http_status_codes_for_auth_and_rate_limits(settings, tokens, policies):
    async with running_host(settings, policies, rate_limit_per_minute=2) as host:
        host.llm.default_reply = Reply(content="hello")
        anonymous = await host.http.post("/v1/chat", json={"message": "hi"})
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        expired = tokens("acme", "ann@acme.example", audience="tessera", roles=("viewer",), ttl_s=-60)
        assert (await host.http.post("/v1/chat", json={"message": "hi"},
                                     headers=host.headers(expired))).status_code == 401
        server_token = tokens("acme", "ann@acme.example", audience="memory", roles=("viewer",))
        assert (await host.http.post("/v1/chat", json={"message": "hi"},
                                     headers=host.headers(server_token))).status_code == 401
        viewer = tokens("acme", "ann@acme.example", audience="tessera", roles=("viewer",))
        bad_body = await host.http.post("/v1/chat", json={"msg": "hi"}, headers=host.headers(viewer))
        assert bad_body.status_code == 422 and bad_body.json()["error_category"] == "validation"
        for _ in range(2):
            assert (await host.http.post("/v1/chat", json={"message": "hi"},
                                         headers=host.headers(viewer))).status_code == 200
        limited = await host.http.post("/v1/chat", json={"message": "hi"}, headers=host.headers(viewer))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        other_user = tokens("acme", "bob@acme.example", audience="tessera", roles=("viewer",))
        assert (await host.http.post("/v1/chat", json={"message": "hi"},
                                     headers=host.headers(other_user))).status_code == 200
        stranger = tokens("initech", "eve@initech.example", audience="tessera", roles=("admin",))
        approvals = await host.http.get("/v1/approvals", headers=host.headers(stranger))
        assert approvals.status_code == 200 and approvals.json() == {"approvals": []}
        foreign = await host.http.get("/v1/approvals/00000000-0000-0000-0000-000000000000",
                                      headers=host.headers(viewer))
        assert foreign.status_code == 404


async def test_openai_compatible_completions(settings, tokens, policies):
    viewer = tokens("acme", "ann@acme.example", audience="tessera", roles=("viewer",))
    async with running_host(settings, policies) as host:
        host.llm.script = [Reply(content="Twelve fifty.")]
        response = await host.http.post("/v1/chat/completions", headers=host.headers(viewer), json={
            "model": "tessera", "messages": [{"role": "user", "content": "Price of a bolt?"}]})
        assert response.status_code == 200
        body = response.json()
        assert body["choices"][0]["message"]["content"] == "Twelve fifty."
        assert body["usage"]["total_tokens"] == 120
        host.llm.script = [Reply(content="Streamed answer.")]
        streamed = await host.http.post("/v1/chat/completions", headers=host.headers(viewer), json={
            "messages": [{"role": "user", "content": "again"}], "stream": True})
        chunks = [json.loads(line[5:]) for line in streamed.text.splitlines()
                  if line.startswith("data:") and "[DONE]" not in line]
        assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Streamed answer."
