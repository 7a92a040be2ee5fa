"""Who may call an endpoint's Bot API: VAIC's permanent bearer token, or an OAuth 2.0 access token.

AudioCodes offers both for a bot (VoiceAI Connect "Security", Live Hub: "Permanent token" and
"OAuth2.0"): with OAuth, VAIC runs the client-credentials flow against the customer's authorization
server and sends the access token as ``Authorization: Bearer`` on every request, the WebSocket
upgrade included. Here that token must be a JWT signed with a key from the issuer's JWKS, and its
``exp``, ``nbf``, ``iss``, ``aud`` and scopes must fit the endpoint's ``oauth2`` settings.

Signatures are PyJWT's (with ``cryptography``); only asymmetric algorithms are accepted, and an
algorithm must be the key's own, so ``alg: none`` and a public key used as an HMAC secret fail.
The key set is cached per process; a token naming an unknown key id fetches it once more
(rotation), at most every ``jwks_refetch_cooldown_seconds``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.channel import http_api
from audiocodes_endpoint.config.endpoint import EndpointSettings, OAuth2Settings
from audiocodes_endpoint.config.secrets import resolve_secret
from audiocodes_endpoint.observability import logger

if TYPE_CHECKING:
    from jwt import PyJWK

MAX_TOKEN_BYTES = 8 * 1024
JWKS_TIMEOUT_SECONDS = 3.0
_KEY_TYPES = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    """Why a token was refused (for the log, never for the caller): no secret, no claim values."""


def fetch_json(url: str) -> dict[str, Any]:
    """A JSON object over HTTPS (the JWKS, or the issuer's discovery document)."""
    import httpx  # with the first OAuth endpoint, not at cold import

    answer = httpx.get(url, timeout=JWKS_TIMEOUT_SECONDS, follow_redirects=False)
    answer.raise_for_status()
    document = answer.json()
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def discover_jwks_url(issuer: str, fetch: Callable[[str], dict[str, Any]]) -> str:
    """``jwks_uri`` from the issuer's metadata (OpenID Connect Discovery 1.0 §4, RFC 8414 §3).

    The document must name the same ``issuer`` (Discovery §4.3), so a look-alike cannot hand out keys.
    """
    document = fetch(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
    if document.get("issuer") != issuer:
        raise ValueError("discovery document names another issuer")
    uri = document.get("jwks_uri")
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise ValueError("discovery document has no jwks_uri")
    return uri


class KeySet:
    """One issuer's keys, fetched lazily, kept ``max_age`` seconds, refetched for an unknown key id."""

    def __init__(
        self,
        url: str | None,
        *,
        max_age: float,
        cooldown: float,
        issuer: str = "",
        fetch: Callable[[str], dict[str, Any]] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``url`` ``None``: discovered from ``issuer``'s metadata on the first fetch."""
        self.url, self.max_age, self.cooldown, self._fetch, self._clock = url, max_age, cooldown, fetch, clock
        self.issuer = issuer
        self._keys: dict[str | None, tuple[PyJWK, str | None]] = {}
        """By key id: the key and the algorithm its JWK declares (``alg``), if any."""
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str | None) -> tuple[PyJWK, str | None] | None:
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self.max_age:
                self._refresh(now)
            elif self._lookup(kid) is None and now - self._fetched_at >= self.cooldown:
                self._refresh(now)  # the issuer may have rotated its keys
            return self._lookup(kid)

    def _lookup(self, kid: str | None) -> tuple[PyJWK, str | None] | None:
        if kid is None:  # a token without kid is only unambiguous against a one-key set
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _refresh(self, now: float) -> None:
        from jwt import PyJWK

        self._fetched_at = now  # also on failure: a dead issuer is not asked on every request
        self.fetches += 1
        try:
            if self.url is None:
                self.url = discover_jwks_url(self.issuer, self._fetch)
            document = self._fetch(self.url)
            if not isinstance(document.get("keys"), list):
                raise ValueError("not a JWK Set")
        except Exception as error:  # unreachable, not JSON, not a key set: keep the keys we had
            logger.warning("JWKS unavailable; keeping the cached keys", extra={"error": type(error).__name__})
            return
        keys: dict[str | None, tuple[PyJWK, str | None]] = {}
        for data in document["keys"]:
            # Symmetric keys ("oct") have no place in an issuer's public set: never verify with one.
            if not isinstance(data, dict) or data.get("kty") not in _KEY_TYPES or data.get("use", "sig") != "sig":
                continue
            try:
                key = PyJWK(data)
            except Exception:  # a key PyJWT cannot read is skipped, the others still count
                logger.warning("JWKS key skipped", extra={"kid": str(data.get("kid"))[:64]})
                continue
            alg = data.get("alg")
            keys[data.get("kid")] = (key, alg if isinstance(alg, str) else None)
        self._keys = keys


class BotAuthenticator:
    """Per process: checks a request's credentials against its endpoint's ``auth`` settings."""

    def __init__(
        self,
        *,
        fetch: Callable[[str], dict[str, Any]] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch, self._clock = fetch, clock
        self._key_sets: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def check(self, endpoint: EndpointSettings, headers: Mapping[str, str] | None) -> Verdict:
        presented = http_api.presented_token(headers)
        if endpoint.auth == "token":
            expected = resolve_secret(endpoint.bot_token)
            ok = http_api.token_matches(presented, expected)
            return Verdict(ok, "" if ok else "missing or wrong token")
        assert endpoint.oauth2 is not None  # settings require it with auth: oauth2
        if not presented:
            return Verdict(False, "no bearer token")
        return self.check_jwt(presented, endpoint.oauth2)

    def key_set(self, settings: OAuth2Settings) -> KeySet:
        with self._lock:
            cache_key = settings.jwks_url or f"discover:{settings.issuer}"
            key_set = self._key_sets.get(cache_key)
            if key_set is None:
                key_set = KeySet(
                    settings.jwks_url,
                    max_age=settings.jwks_max_age_seconds,
                    cooldown=settings.jwks_refetch_cooldown_seconds,
                    issuer=settings.issuer,
                    fetch=self._fetch,
                    clock=self._clock,
                )
                self._key_sets[cache_key] = key_set
            return key_set

    def check_jwt(self, token: str, settings: OAuth2Settings) -> Verdict:
        if len(token.encode()) > MAX_TOKEN_BYTES:
            return Verdict(False, "token too large")
        signing = self._signing_key(token, settings)
        if isinstance(signing, Verdict):
            return signing
        claims = _decoded(token, *signing, settings)
        if isinstance(claims, Verdict):
            return claims
        missing = set(settings.scopes) - granted_scopes(claims)
        if missing:
            return Verdict(False, f"missing scope {sorted(missing)[0][:64]!r}")
        return Verdict(True)

    def _signing_key(self, token: str, settings: OAuth2Settings) -> tuple[Any, str] | Verdict:
        """The issuer's key the token's header names and the accepted algorithm it declares, or why not."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return Verdict(False, "not a JWT")
        algorithm = header.get("alg")
        if algorithm not in settings.algorithms:
            return Verdict(False, f"algorithm {str(algorithm)[:16]!r} not accepted")
        kid = header.get("kid")
        found = self.key_set(settings).key(kid if isinstance(kid, str) else None)
        if found is None:
            return Verdict(False, "unknown key id")
        key, declared = found
        if not algorithm.startswith(_KEY_TYPES[str(key.key_type)]) or declared not in (None, algorithm):
            return Verdict(False, "algorithm does not fit the key")
        return key, algorithm


def _decoded(token: str, key: Any, algorithm: str, settings: OAuth2Settings) -> dict[str, Any] | Verdict:
    """The token's claims once its signature, expiry, audience and issuer check out, or why not."""
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_seconds,
            options={"require": ["exp", "iss", "aud"], "verify_signature": True},
        )
    except jwt.InvalidTokenError as error:
        return Verdict(False, _refusal(error))
    return claims


def _refusal(error: Exception) -> str:
    """Why PyJWT refused a token, in the words the refusal log uses (the first matching kind wins)."""
    import jwt

    reasons = (
        (jwt.ExpiredSignatureError, "expired"),
        (jwt.ImmatureSignatureError, "not valid yet (nbf)"),
        (jwt.InvalidAudienceError, "wrong audience"),
        (jwt.InvalidIssuerError, "wrong issuer"),
    )
    reason = next((text for kind, text in reasons if isinstance(error, kind)), None)
    if reason is not None:
        return reason
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"missing claim {error.claim}"
    return f"invalid token ({type(error).__name__})"


def granted_scopes(claims: Mapping[str, Any]) -> set[str]:
    """``scope`` (RFC 9068: space-separated) or ``scp`` (Azure AD: a string or a list)."""
    granted: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            granted.update(value.split())
        elif isinstance(value, list):
            granted.update(item for item in value if isinstance(item, str))
    return granted


_authenticator = BotAuthenticator()


def authenticate(endpoint: EndpointSettings, headers: Mapping[str, str] | None) -> bool:
    """True when the request may use the endpoint; a refusal is logged with its reason."""
    verdict = _authenticator.check(endpoint, headers)
    if not verdict.allowed:
        logger.info("bot authentication refused", extra={"auth": endpoint.auth, "reason": verdict.reason})
    return verdict.allowed


def unauthorized(endpoint: EndpointSettings) -> dict[str, Any]:
    """The one 401 answer for both modes (RFC 6750's ``invalid_token`` hint for OAuth)."""
    challenge = 'Bearer error="invalid_token"' if endpoint.auth == "oauth2" else "Bearer"
    return http_api.error(401, "unauthorized", "missing or wrong bearer token", headers={"WWW-Authenticate": challenge})
