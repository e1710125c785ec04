"""Call-context tokens: signing, verification, and the keys behind them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from mcp_servers.kit.context import (
    CallContext,
    ContextSigner,
    ContextVerifier,
    SigningKey,
    VerificationKey,
    algorithm_for,
    generate_key_pair,
    key_id_of,
    load_signing_key,
    load_verification_keys,
    public_jwks,
)
from mcp_servers.kit.errors import AuthFailed, ErrorCategory
from mcp_servers.kit.spec import DataClass

AUDIENCE = "memory"
ISSUER = "tessera-host"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

FULL_CONTEXT = CallContext(
    tenant="acme",
    user="ann@acme.example",
    roles=("planner", "admin"),
    clearance=DataClass.III,
    run_id="run-42",
    traceparent=TRACEPARENT,
)


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def p384() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def rsa_2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_private_pem(path: Path, key: Any) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def public_pem(key: Any) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_public_pem(path: Path, key: Any) -> Path:
    path.write_bytes(public_pem(key))
    return path


def write_jwks(path: Path, *keys: Any) -> Path:
    path.write_text(json.dumps(public_jwks([key.public_key() for key in keys])))
    return path


def signing_key_for(private: Any) -> SigningKey:
    return SigningKey(private, key_id_of(private.public_key()), algorithm_for(private))


def verifier_for(path: Path, *, leeway_s: float = 0.0, issuers: tuple[str, ...] = (ISSUER,)
                 ) -> ContextVerifier:
    return ContextVerifier(
        load_verification_keys(path), audience=AUDIENCE, issuers=list(issuers), leeway_s=leeway_s
    )


def claims(*, drop: tuple[str, ...] = (), **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "ann@acme.example",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "tenant": "acme",
        "roles": ["planner"],
        "clearance": "II",
        **overrides,
    }
    return {name: value for name, value in payload.items() if name not in drop}


def hand_made_token(header: dict[str, Any], payload: dict[str, Any], sign: Callable[[bytes], bytes]
                    ) -> str:
    signing_input = (
        f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}".encode()
    )
    return f"{signing_input.decode()}.{b64url(sign(signing_input))}"


@dataclass(frozen=True)
class Keys:
    """The site's key (known to the verifier) and a stranger's key (unknown)."""

    private: ec.EllipticCurvePrivateKey
    known: SigningKey
    stranger: SigningKey
    jwks_path: Path

    def signer(self, *, issuer: str = ISSUER, key: SigningKey | None = None) -> ContextSigner:
        return ContextSigner(key or self.known, issuer=issuer, ttl_s=60)

    def encode(self, payload: dict[str, Any], key: SigningKey | None = None) -> str:
        key = key or self.known
        return jwt.encode(payload, key.key, algorithm=key.algorithm, headers={"kid": key.key_id})


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    private_path, jwks_path = generate_key_pair(tmp_path_factory.mktemp("context-keys"))
    known = load_signing_key(private_path)
    stranger = p256()
    return Keys(
        private=known.key,
        known=known,
        stranger=SigningKey(stranger, key_id_of(stranger.public_key()), "ES256"),
        jwks_path=jwks_path,
    )


@pytest.fixture(scope="module")
def verifier(keys: Keys) -> ContextVerifier:
    return verifier_for(keys.jwks_path)


def assert_auth_failure_without_internals(failure: AuthFailed, token: str | None) -> None:
    message = failure.human_message
    assert failure.category is ErrorCategory.AUTH
    assert message.startswith("The call") and message.endswith(".")
    assert failure.details is None
    assert failure.__cause__ is None
    assert failure.__context__ is None or failure.__suppress_context__
    for internal in ("Error", "Traceback", "pydantic", "jwt.", "BEGIN", "validation error"):
        assert internal not in message
    if token and len(token) > 8:
        for segment in token.split("."):
            assert not segment or segment not in message


def test_a_signed_context_verifies_to_the_same_context(keys: Keys, verifier: ContextVerifier):
    token = keys.signer().sign(FULL_CONTEXT, audience=AUDIENCE)

    assert verifier.verify(token) == FULL_CONTEXT


def test_a_minimal_context_verifies_with_defaults(keys: Keys, verifier: ContextVerifier):
    minimal = CallContext(tenant="acme", user="bob")
    token = keys.signer().sign(minimal, audience=AUDIENCE)

    verified = verifier.verify(token)

    assert (verified.roles, verified.clearance, verified.run_id, verified.traceparent) == (
        (), DataClass.II, None, None
    )
    payload = jwt.decode(token, options={"verify_signature": False})
    assert {"run_id", "traceparent"}.isdisjoint(payload)


def test_the_token_names_its_key_and_algorithm(keys: Keys):
    token = keys.signer().sign(FULL_CONTEXT, audience=AUDIENCE)

    header = jwt.get_unverified_header(token)

    assert (header["alg"], header["kid"]) == ("ES256", keys.known.key_id)


@pytest.mark.parametrize("override, expected_lifetime", [(None, 60), (5, 5), (3600, 3600)])
def test_lifetime_is_the_signer_default_unless_overridden(
    keys: Keys, override: float | None, expected_lifetime: int
):
    token = keys.signer().sign(FULL_CONTEXT, audience=AUDIENCE, ttl_s=override)
    payload = jwt.decode(token, options={"verify_signature": False})

    assert payload["exp"] - payload["iat"] == expected_lifetime
    assert (payload["iss"], payload["aud"], payload["sub"]) == (
        ISSUER, AUDIENCE, "ann@acme.example"
    )


def test_each_token_has_its_own_id(keys: Keys):
    first, second = (keys.signer().sign(FULL_CONTEXT, audience=AUDIENCE) for _ in range(2))

    ids = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in (first, second)}

    assert len(ids) == 2


def test_any_of_the_trusted_issuers_is_accepted(keys: Keys):
    verifier = verifier_for(keys.jwks_path, issuers=("old-host", ISSUER))
    token = keys.signer(issuer="old-host").sign(FULL_CONTEXT, audience=AUDIENCE)

    assert verifier.verify(token).tenant == "acme"


def test_an_expired_token_within_the_leeway_is_accepted(keys: Keys):
    token = keys.signer().sign(FULL_CONTEXT, audience=AUDIENCE, ttl_s=-3)

    assert verifier_for(keys.jwks_path, leeway_s=30).verify(token) == FULL_CONTEXT


def test_an_expired_token_beyond_the_leeway_is_refused(keys: Keys):
    token = keys.signer().sign(FULL_CONTEXT, audience=AUDIENCE, ttl_s=-3)

    with pytest.raises(AuthFailed, match="expired"):
        verifier_for(keys.jwks_path, leeway_s=1).verify(token)


def _hs256_with_public_key_as_secret(keys: Keys) -> str:
    secret = public_pem(keys.private)
    return hand_made_token(
        {"alg": "HS256", "typ": "JWT", "kid": keys.known.key_id},
        claims(),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )


def _alg_none(keys: Keys) -> str:
    return hand_made_token({"alg": "none", "typ": "JWT"}, claims(), lambda _: b"")


def _tampered(keys: Keys) -> str:
    header, _, signature = keys.encode(claims()).split(".")
    forged = b64url(json.dumps(claims(tenant="globex")).encode())
    return f"{header}.{forged}.{signature}"


def _stranger_posing_as_known_kid(keys: Keys) -> str:
    impostor = SigningKey(keys.stranger.key, keys.known.key_id, "ES256")
    return keys.encode(claims(), impostor)


def _rs256_when_only_es256_is_known(keys: Keys) -> str:
    return keys.encode(claims(), signing_key_for(rsa_2048()))


REJECTED_TOKENS: list[Any] = [
    pytest.param(lambda k: None, "carries no call context", id="missing"),
    pytest.param(lambda k: "", "carries no call context", id="empty"),
    pytest.param(lambda k: "not a token at all", "not a well-formed JWT", id="garbage"),
    pytest.param(lambda k: "a.b.c", "not a well-formed JWT", id="three-garbage-segments"),
    pytest.param(lambda k: k.signer().sign(FULL_CONTEXT, audience=AUDIENCE, ttl_s=0), "expired",
                 id="expired"),
    pytest.param(lambda k: k.signer().sign(FULL_CONTEXT, audience="sap"), "not meant for 'memory'",
                 id="wrong-audience"),
    pytest.param(lambda k: k.signer(issuer="rogue-host").sign(FULL_CONTEXT, audience=AUDIENCE),
                 "issuer this server does not trust", id="wrong-issuer"),
    pytest.param(lambda k: k.encode(claims(nbf=int(time.time()) + 600)), "not valid yet",
                 id="not-yet-valid"),
    pytest.param(_alg_none, "signing algorithm is not accepted", id="alg-none"),
    pytest.param(_hs256_with_public_key_as_secret, "signing algorithm is not accepted",
                 id="hs256-public-key-as-secret"),
    pytest.param(_stranger_posing_as_known_kid, "signature is invalid",
                 id="other-key-same-kid"),
    pytest.param(lambda k: k.encode(claims(), k.stranger), "signature is invalid",
                 id="unknown-kid"),
    pytest.param(_rs256_when_only_es256_is_known, "key this server does not know",
                 id="algorithm-without-a-key"),
    pytest.param(_tampered, "signature is invalid", id="tampered-payload"),
    *(
        pytest.param(lambda k, c=claim: k.encode(claims(drop=(c,))), f"lacks the {claim!r} claim",
                     id=f"missing-{claim}")
        for claim in ("exp", "iat", "sub", "aud", "iss")
    ),
    pytest.param(lambda k: k.encode(claims(drop=("tenant",))), "claims are malformed",
                 id="missing-tenant"),
    pytest.param(lambda k: k.encode(claims(clearance="V")), "claims are malformed",
                 id="unknown-clearance"),
    pytest.param(lambda k: k.encode(claims(clearance=2)), "claims are malformed",
                 id="numeric-clearance"),
    pytest.param(lambda k: k.encode(claims(roles="admin")), "claims are malformed",
                 id="roles-not-a-list"),
]


@pytest.mark.parametrize("make_token, message", REJECTED_TOKENS)
def test_a_bad_token_is_an_auth_failure_with_a_plain_message(
    keys: Keys, verifier: ContextVerifier, make_token: Callable[[Keys], str | None], message: str
):
    token = make_token(keys)

    with pytest.raises(AuthFailed) as caught:
        verifier.verify(token)

    assert message in caught.value.human_message
    assert_auth_failure_without_internals(caught.value, token)


@pytest.mark.parametrize(
    "overrides",
    [{"sub": ""}, {"tenant": ""}, {"tenant": "t" * 129}, {"sub": "u" * 257}],
    ids=["empty-sub", "empty-tenant", "tenant-too-long", "sub-too-long"],
)
def test_claims_outside_the_context_limits_are_an_auth_failure(
    keys: Keys, verifier: ContextVerifier, overrides: dict[str, str]
):
    token = keys.encode(claims(**overrides))

    with pytest.raises(AuthFailed, match="claims are malformed"):
        verifier.verify(token)


ACCEPTED_KEYS = [
    pytest.param(p256, "ES256", id="ES256-P256"),
    pytest.param(rsa_2048, "RS256", id="RS256-2048"),
    pytest.param(ed25519_key, "EdDSA", id="EdDSA-Ed25519"),
]


@pytest.mark.parametrize("make_key, algorithm", ACCEPTED_KEYS)
@pytest.mark.parametrize("public_format", ["pem", "jwks"])
def test_each_accepted_key_type_signs_and_verifies(
    tmp_path: Path, make_key: Callable[[], Any], algorithm: str, public_format: str
):
    private = make_key()
    signing = load_signing_key(write_private_pem(tmp_path / "private.pem", private))
    public_path = (
        write_public_pem(tmp_path / "public.pem", private)
        if public_format == "pem"
        else write_jwks(tmp_path / "keys.jwks.json", private)
    )
    [verification] = load_verification_keys(public_path)
    token = ContextSigner(signing, issuer=ISSUER, ttl_s=60).sign(FULL_CONTEXT, audience=AUDIENCE)

    assert (signing.algorithm, verification.algorithm) == (algorithm, algorithm)
    assert verification.key_id == signing.key_id == key_id_of(private.public_key())
    assert verifier_for(public_path).verify(token) == FULL_CONTEXT


def _refused_as_private_pem(path: Path, key: Any) -> Any:
    return load_signing_key(write_private_pem(path / "private.pem", key))


def _refused_as_public_pem(path: Path, key: Any) -> Any:
    return load_verification_keys(write_public_pem(path / "public.pem", key))


def _refused_as_jwks(path: Path, key: Any) -> Any:
    algorithm = "ES384" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"
    jwk = json.loads(jwt.get_algorithm_by_name(algorithm).to_jwk(key.public_key()))
    (path / "keys.jwks.json").write_text(json.dumps({"keys": [jwk]}))
    return load_verification_keys(path / "keys.jwks.json")


@pytest.mark.parametrize(
    "make_key, reason",
    [(p384, "P-256"), (rsa_1024, "at least 2048 bits")],
    ids=["EC-P384", "RSA-1024"],
)
@pytest.mark.parametrize(
    "load", [_refused_as_private_pem, _refused_as_public_pem, _refused_as_jwks]
)
def test_weak_or_unsupported_keys_are_refused(
    tmp_path: Path, make_key: Callable[[], Any], reason: str, load: Callable[[Path, Any], Any]
):
    with pytest.raises(ValueError, match=reason):
        load(tmp_path, make_key())


def test_a_verifier_needs_at_least_one_key():
    with pytest.raises(ValueError, match="at least one verification key"):
        ContextVerifier([], audience=AUDIENCE, issuers=[ISSUER])


def test_a_jwks_with_the_old_and_new_key_accepts_both(tmp_path: Path):
    old, new = p256(), p256()
    verifier = verifier_for(write_jwks(tmp_path / "keys.jwks.json", old, new))

    for private in (old, new):
        token = ContextSigner(signing_key_for(private), issuer=ISSUER, ttl_s=60).sign(
            FULL_CONTEXT, audience=AUDIENCE
        )
        assert verifier.verify(token) == FULL_CONTEXT


def test_a_jwks_without_key_ids_accepts_tokens_from_every_key(tmp_path: Path):
    first, second = p256(), p256()
    jwks = public_jwks([first.public_key(), second.public_key()])
    for entry in jwks["keys"]:
        del entry["kid"]
    (tmp_path / "keys.jwks.json").write_text(json.dumps(jwks))
    token = ContextSigner(signing_key_for(second), issuer=ISSUER, ttl_s=60).sign(
        FULL_CONTEXT, audience=AUDIENCE
    )

    assert verifier_for(tmp_path / "keys.jwks.json").verify(token) == FULL_CONTEXT


def test_key_id_matches_the_rfc_7638_rsa_example():
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
        "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQ"
        "R0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFT"
        "WhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    public = rsa.RSAPublicNumbers(e=65537, n=int.from_bytes(b64url_decode(n), "big")).public_key()

    assert key_id_of(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_key_id_matches_the_rfc_8037_ed25519_example():
    x = b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")

    assert key_id_of(ed25519.Ed25519PublicKey.from_public_bytes(x)) == (
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    )


def test_key_id_of_an_ec_key_pads_short_coordinates_to_32_bytes():
    public = ec.derive_private_key(43, ec.SECP256R1()).public_key()  # y has a leading zero byte
    numbers = public.public_numbers()
    members = {
        "crv": "P-256",
        "kty": "EC",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()

    assert numbers.y.bit_length() <= 248
    assert key_id_of(public) == b64url(hashlib.sha256(canonical).digest())


@pytest.mark.parametrize("make_key", [p256, rsa_2048, ed25519_key], ids=["EC", "RSA", "Ed25519"])
def test_key_id_is_the_same_however_the_key_is_loaded(tmp_path: Path, make_key: Callable[[], Any]):
    private = make_key()
    via_pem = load_verification_keys(write_public_pem(tmp_path / "public.pem", private))[0]
    via_jwks = load_verification_keys(write_jwks(tmp_path / "keys.jwks.json", private))[0]
    via_private = load_signing_key(write_private_pem(tmp_path / "private.pem", private))

    ids = {key_id_of(private.public_key()), via_pem.key_id, via_jwks.key_id, via_private.key_id}

    assert len(ids) == 1
    assert key_id_of(make_key().public_key()) not in ids


def test_generate_key_pair_writes_a_private_key_only_its_owner_can_read(tmp_path: Path):
    private_path, _ = generate_key_pair(tmp_path / "new" / "keys")

    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600


def test_generate_key_pair_tightens_the_mode_of_an_existing_key_file(tmp_path: Path):
    stale = tmp_path / "context-signing-key.pem"
    stale.write_text("old")
    stale.chmod(0o644)

    private_path, _ = generate_key_pair(tmp_path)

    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600


def test_generate_key_pair_publishes_only_the_public_half_with_its_key_id(tmp_path: Path):
    private_path, jwks_path = generate_key_pair(tmp_path)

    [entry] = json.loads(jwks_path.read_text())["keys"]

    assert (entry["kty"], entry["crv"], entry["alg"], entry["use"]) == (
        "EC", "P-256", "ES256", "sig"
    )
    assert entry["kid"] == load_signing_key(private_path).key_id
    assert "d" not in entry


def test_generated_keys_work_end_to_end(tmp_path: Path):
    private_path, jwks_path = generate_key_pair(tmp_path)
    signer = ContextSigner(load_signing_key(private_path), issuer=ISSUER, ttl_s=60)

    token = signer.sign(FULL_CONTEXT, audience=AUDIENCE)

    assert verifier_for(jwks_path).verify(token) == FULL_CONTEXT


def test_verification_keys_from_a_pem_carry_their_thumbprint(tmp_path: Path):
    private = p256()

    [key] = load_verification_keys(write_public_pem(tmp_path / "public.pem", private))

    assert key == VerificationKey(key.key, key_id_of(private.public_key()), "ES256")


@pytest.mark.parametrize(
    "asked, held, expected",
    [(("admin",), ("planner", "admin"), True), (("auditor", "admin"), ("admin",), True),
     (("admin",), ("planner",), False), (("admin",), (), False), ((), ("admin",), False)],
)
def test_has_role_is_true_when_any_asked_role_is_held(
    asked: tuple[str, ...], held: tuple[str, ...], expected: bool
):
    assert CallContext(tenant="acme", user="ann", roles=held).has_role(*asked) is expected
