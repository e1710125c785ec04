"""Who is asking: user tokens (JWT, RS256/ES256/EdDSA) verified against a JWKS file or URL.

Air-gapped sites point `TESSERA_HOST_JWKS_FILE` at their identity provider's keys;
connected ones may use `TESSERA_HOST_JWKS_URL`. With neither, development uses the
local call-context keys, so `tessera token --audience tessera` makes a valid user
token. Tenant, roles and clearance come from configurable claims. Every failure is
an `AuthFailed` (HTTP 401); the algorithm comes from the key, never from the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from host.settings import HostSettings
from mcp_servers.kit.context import VerificationKey, load_verification_keys
from mcp_servers.kit.errors import AuthFailed
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import DataClass


@dataclass(frozen=True)
class Principal:
    tenant: str
    user: str
    roles: tuple[str, ...]
    clearance: DataClass


class UserAuthenticator:
    def __init__(self, settings: HostSettings, base: Settings) -> None:
        self._settings = settings
        self._leeway = base.context_leeway_s
        self._jwks_client = jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        self._keys: list[VerificationKey] = []
        if self._jwks_client is None:
            self._keys = load_verification_keys(settings.jwks_file or base.verification_keys_path)

    def authenticate(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthFailed("A bearer token is required.",
                             model_fix_hint="Send Authorization: Bearer <token>.")
        claims = self._verify(token.strip())
        s = self._settings
        tenant, user = claims.get(s.tenant_claim), claims.get("sub")
        roles = claims.get(s.roles_claim) or []
        if not isinstance(tenant, str) or not tenant or not isinstance(user, str) or not user:
            raise AuthFailed("The token names no tenant or user.")
        if isinstance(roles, str):
            roles = roles.split()
        try:
            clearance = DataClass(claims.get(s.clearance_claim, "II"))
        except ValueError:
            raise AuthFailed("The token's clearance claim is not I, II, III or IV.") from None
        return Principal(tenant=tenant, user=user, roles=tuple(str(r) for r in roles),
                         clearance=clearance)

    def _verify(self, token: str) -> dict[str, Any]:
        options = {"require": ["exp", "sub", "aud", "iss"]}
        try:
            if self._jwks_client is not None:
                signing = self._jwks_client.get_signing_key_from_jwt(token)
                candidates = [(signing.key, signing.algorithm_name)]
            else:
                kid = jwt.get_unverified_header(token).get("kid")
                ordered = sorted(self._keys, key=lambda k: k.key_id != kid)
                candidates = [(k.key, k.algorithm) for k in ordered]
        except jwt.PyJWTError:
            raise AuthFailed("The token is malformed or its key is unknown.") from None
        for key, algorithm in candidates:
            try:
                return jwt.decode(token, key, algorithms=[algorithm], audience=self._settings.jwt_audience,
                                  issuer=self._settings.jwt_issuers, leeway=self._leeway, options=options)
            except jwt.ExpiredSignatureError:
                raise AuthFailed("The token has expired.", model_fix_hint="Get a new token.") from None
            except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
                raise AuthFailed("The token is not meant for Tessera.") from None
            except jwt.PyJWTError:
                continue
        raise AuthFailed("The token's signature is not valid.")
