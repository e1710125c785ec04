"""Who is calling: the call context, and how it is signed and verified.

The host authenticates a user and then calls each server with a short-lived JWT
that it signs with its own asymmetric key (audience = the server's name). The
token travels in the tool call's `_meta` under `CONTEXT_META_KEY`; a direct
streamable-HTTP client sends the same kind of token as `Authorization: Bearer`.
A server trusts nothing else to tell it the tenant: tools receive only what
`ContextVerifier.verify` returns, and every failure is an `AuthFailed`.

Keys are ES256 (P-256), RS256 or EdDSA. Verification keys come from a PEM public
key or a JWKS file, so air-gapped sites need no key server. The algorithm is
taken from the key, never from the token, so `alg=none` and algorithm-confusion
tokens are refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_servers.kit.errors import AuthFailed
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import DataClass

CONTEXT_META_KEY = "io.tessera/call-context"
ACCEPTED_ALGORITHMS = ("ES256", "RS256", "EdDSA")


class CallContext(BaseModel):
    """The verified identity a tool runs for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str = Field(min_length=1, max_length=128, description="Tenant the call acts for.")
    user: str = Field(min_length=1, max_length=256, description="The end user (JWT `sub`).")
    roles: tuple[str, ...] = Field(default=(), description="The user's roles in the tenant.")
    clearance: DataClass = Field(
        default=DataClass.II, description="Highest data class the user may see."
    )
    run_id: str | None = Field(default=None, description="The host run this call belongs to.")
    traceparent: str | None = Field(
        default=None, description="W3C trace parent, so server spans join the host's trace."
    )

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


class _Claims(BaseModel):
    """The token's claims as they appear on the wire."""

    model_config = ConfigDict(extra="ignore")

    sub: str = Field(description="The end user.")
    tenant: str = Field(description="Tenant the call acts for.")
    roles: list[str] = Field(default_factory=list, description="The user's roles.")
    clearance: DataClass = Field(default=DataClass.II, description="Highest data class allowed.")
    run_id: str | None = Field(default=None, description="Host run id.")
    traceparent: str | None = Field(default=None, description="W3C trace parent.")


@dataclass(frozen=True)
class SigningKey:
    """A private key with the id and algorithm it signs with."""

    key: Any
    key_id: str
    algorithm: str


@dataclass(frozen=True)
class VerificationKey:
    """A public key with the id and the one algorithm it verifies."""

    key: Any
    key_id: str | None
    algorithm: str


class ContextSigner:
    """Signs call contexts; only the host (and dev tooling) holds one."""

    def __init__(self, key: SigningKey, *, issuer: str, ttl_s: float) -> None:
        self._key = key
        self._issuer = issuer
        self._ttl_s = ttl_s

    @classmethod
    def from_settings(cls, settings: Settings) -> ContextSigner:
        return cls(load_signing_key(settings.signing_key_path), issuer=settings.context_issuer,
                   ttl_s=settings.context_ttl_s)

    def sign(self, context: CallContext, *, audience: str, ttl_s: float | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": audience,
            "sub": context.user,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl_s if ttl_s is not None else self._ttl_s),
            "jti": uuid.uuid4().hex,
            "tenant": context.tenant,
            "roles": list(context.roles),
            "clearance": context.clearance.value,
        }
        if context.run_id:
            claims["run_id"] = context.run_id
        if context.traceparent:
            claims["traceparent"] = context.traceparent
        return jwt.encode(
            claims,
            self._key.key,
            algorithm=self._key.algorithm,
            headers={"kid": self._key.key_id},
        )


class ContextVerifier:
    """Verifies call-context tokens for one audience (a server's name)."""

    def __init__(
        self,
        keys: list[VerificationKey],
        *,
        audience: str,
        issuers: list[str],
        leeway_s: float = 5.0,
    ) -> None:
        if not keys:
            raise ValueError("a context verifier needs at least one verification key")
        self._keys = keys
        self._audience = audience
        self._issuers = issuers
        self._leeway_s = leeway_s

    @property
    def audience(self) -> str:
        return self._audience

    def verify(self, token: str | None) -> CallContext:
        if not token:
            raise AuthFailed(
                "The call carries no call context.",
                model_fix_hint="Call through the Tessera host, or send a bearer token.",
            )
        claims = self._verified_claims(token)
        try:
            parsed = _Claims.model_validate(claims)
            return CallContext(
                tenant=parsed.tenant,
                user=parsed.sub,
                roles=tuple(parsed.roles),
                clearance=parsed.clearance,
                run_id=parsed.run_id,
                traceparent=parsed.traceparent,
            )
        except ValidationError:
            raise AuthFailed("The call context's claims are malformed.") from None

    def _verified_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token whose signature one of our keys verifies."""
        last_error: AuthFailed | None = None
        for key in self._candidate_keys(token):
            try:
                return jwt.decode(
                    token,
                    key.key,
                    algorithms=[key.algorithm],
                    audience=self._audience,
                    issuer=self._issuers,
                    leeway=self._leeway_s,
                    options={"require": ["exp", "iat", "sub", "aud", "iss"]},
                )
            except jwt.InvalidSignatureError:
                last_error = AuthFailed("The call context's signature is invalid.")
            except jwt.ExpiredSignatureError:
                raise AuthFailed("The call context has expired.") from None
            except jwt.InvalidAudienceError:
                raise AuthFailed(f"The call context is not meant for {self._audience!r}.") from None
            except jwt.InvalidIssuerError:
                raise AuthFailed(
                    "The call context comes from an issuer this server does not trust."
                ) from None
            except jwt.ImmatureSignatureError:
                raise AuthFailed("The call context is not valid yet.") from None
            except jwt.MissingRequiredClaimError as exc:
                raise AuthFailed(f"The call context lacks the {exc.claim!r} claim.") from None
            except jwt.InvalidTokenError:
                raise AuthFailed("The call context's signature or format is invalid.") from None
        assert last_error is not None
        raise last_error

    def _candidate_keys(self, token: str) -> list[VerificationKey]:
        """Keys to try, those whose id matches the token's `kid` first."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthFailed("The call context is not a well-formed JWT.") from None
        algorithm = header.get("alg")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise AuthFailed(
                "The call context's signing algorithm is not accepted "
                f"(accepted: {', '.join(ACCEPTED_ALGORITHMS)})."
            )
        same_algorithm = [k for k in self._keys if k.algorithm == algorithm]
        if not same_algorithm:
            raise AuthFailed("The call context was signed by a key this server does not know.")
        kid = header.get("kid")
        return sorted(same_algorithm, key=lambda k: k.key_id != kid)


def algorithm_for(key: Any) -> str:
    """The one algorithm a key is used with."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if key.curve.name != "secp256r1":
            raise ValueError(f"EC keys must use P-256, not {key.curve.name}")
        return "ES256"
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError("RSA keys must have at least 2048 bits")
        return "RS256"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise ValueError(f"unsupported key type {type(key).__name__}")


def load_signing_key(path: Path) -> SigningKey:
    """Load a PEM private key; its id is derived from its public half."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    algorithm = algorithm_for(key)
    return SigningKey(key=key, key_id=key_id_of(key.public_key()), algorithm=algorithm)


def load_verification_keys(path: Path) -> list[VerificationKey]:
    """Load public keys from a PEM file or a JWKS (JSON) file."""
    raw = path.read_bytes()
    if raw.lstrip().startswith(b"{"):
        jwks = jwt.PyJWKSet.from_dict(json.loads(raw))
        return [
            VerificationKey(key=k.key, key_id=k.key_id, algorithm=algorithm_for(k.key))
            for k in jwks.keys
        ]
    key = serialization.load_pem_public_key(raw)
    return [VerificationKey(key=key, key_id=key_id_of(key), algorithm=algorithm_for(key))]


def key_id_of(public_key: Any) -> str:
    """A stable key id: the RFC 7638 JWK thumbprint of the public key."""
    jwk = json.loads(_public_jwk_json(public_key))
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
    members = {name: jwk[name] for name in required[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def _public_jwk_json(public_key: Any) -> str:
    return jwt.get_algorithm_by_name(algorithm_for(public_key)).to_jwk(public_key)


def public_jwks(keys: list[Any]) -> dict[str, Any]:
    """A JWKS document holding the given public keys."""
    entries = []
    for key in keys:
        jwk = json.loads(_public_jwk_json(key))
        jwk.update({"kid": key_id_of(key), "alg": algorithm_for(key), "use": "sig"})
        entries.append(jwk)
    return {"keys": entries}


def generate_key_pair(directory: Path) -> tuple[Path, Path]:
    """Write a new ES256 private key (mode 0600) and its JWKS into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    private_path = directory / "context-signing-key.pem"
    jwks_path = directory / "context-verification.jwks.json"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written to a fresh 0600 file and renamed, so the key is never readable by others,
    # not even for a moment, and never inherits the mode of a file it replaces.
    scratch = directory / f".{private_path.name}.{uuid.uuid4().hex}"
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.replace(scratch, private_path)
    jwks_path.write_text(json.dumps(public_jwks([private.public_key()]), indent=2))
    return private_path, jwks_path
