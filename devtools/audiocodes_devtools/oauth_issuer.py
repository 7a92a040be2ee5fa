"""A local OAuth 2.0 authorization server for `make run`: client-credentials tokens and their JWKS.

VoiceAI Connect's OAuth bot authentication runs the client-credentials grant (RFC 6749 §4.4)
against the customer's server and sends the access token to the bot; this plays that server, so an
``auth: oauth2`` endpoint can be called locally (``make call`` with ``OAUTH_TOKEN_URL``) and tested.

- ``POST /token``: ``grant_type=client_credentials``, the client authenticated with HTTP Basic or
  ``client_id``/``client_secret`` in the form (§2.3.1), optional ``scope``; answers
  ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}`` (§5.1) or ``{"error"}`` (§5.2).
- ``GET /jwks.json``: the public keys (RFC 7517); ``GET /.well-known/openid-configuration`` names it.

Tokens are RS256 JWTs (RFC 9068 claims: ``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``nbf``, ``jti``,
``client_id``, ``scope``). Tests use :meth:`LocalIssuer.token` for tokens with other claims and
:meth:`LocalIssuer.rotate` for key rotation.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote

from .json_handler import QuietJsonHandler
from .local_server import LocalHTTPServer

DEFAULT_AUDIENCE = "audiocodes-endpoint"
DEFAULT_SCOPE = "bot-api"


@dataclass
class LocalIssuer:
    client_id: str = "local-vaic"
    client_secret: str = "local-vaic-secret"  # noqa: S105 - a local development credential
    audience: str = DEFAULT_AUDIENCE
    default_scope: str = DEFAULT_SCOPE
    lifetime_seconds: int = 3600
    url: str = ""
    _keys: dict[str, Any] = field(default_factory=dict)
    """By key id, newest last: the RSA private keys; the last one signs."""
    _server: LocalHTTPServer | None = None

    def __post_init__(self) -> None:
        if not self._keys:
            self.rotate()

    # --- keys and tokens ------------------------------------------------------------------------

    def rotate(self, *, retire_old: bool = False) -> str:
        """A new signing key (its kid returned); the old ones stay published unless retired."""
        from cryptography.hazmat.primitives.asymmetric import rsa

        if retire_old:
            self._keys.clear()
        kid = uuid.uuid4().hex[:16]
        self._keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    @property
    def signing_kid(self) -> str:
        return next(reversed(self._keys))

    def jwks(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        keys = []
        for kid, private in self._keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def token(self, *, scope: str | None = None, lifetime: int | None = None, kid: str | None = None,
              headers: dict[str, Any] | None = None, **claims: Any) -> str:  # fmt: skip
        """A signed access token; ``claims`` override or add (``None`` removes one)."""
        import jwt

        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.url,
            "sub": self.client_id,
            "aud": self.audience,
            "client_id": self.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + (lifetime if lifetime is not None else self.lifetime_seconds),
            "jti": uuid.uuid4().hex,
            "scope": scope if scope is not None else self.default_scope,
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        signing_kid = kid or self.signing_kid
        return jwt.encode(
            payload, self._keys[signing_kid], algorithm="RS256", headers={"kid": signing_kid, **(headers or {})}
        )

    # --- the HTTP server ------------------------------------------------------------------------

    def start(self, port: int = 0) -> LocalIssuer:
        self._server = LocalHTTPServer(("127.0.0.1", port), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, name="oauth-issuer", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def grant(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer to a request (status, JSON body)."""
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(authorization[6:].strip()).decode()
                client_id, _, secret = (unquote(part) for part in decoded.partition(":"))
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        known = hmac.compare_digest(f"{client_id}:{secret}".encode(), f"{self.client_id}:{self.client_secret}".encode())
        if not known:
            return 401, {"error": "invalid_client"}
        scope = form.get("scope") or self.default_scope
        return 200, {
            "access_token": self.token(scope=scope),
            "token_type": "Bearer",
            "expires_in": self.lifetime_seconds,
            "scope": scope,
        }


def _handler(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietJsonHandler):
        extra_headers: ClassVar[dict[str, str]] = {"Cache-Control": "no-store"}  # token answers (RFC 6749 §5.1)

        def do_GET(self) -> None:
            if self.path == "/jwks.json":
                self._send(200, issuer.jwks())
            elif self.path == "/.well-known/openid-configuration":
                self._send(
                    200,
                    {
                        "issuer": issuer.url,
                        "token_endpoint": issuer.token_url,
                        "jwks_uri": f"{issuer.url}/jwks.json",
                        "grant_types_supported": ["client_credentials"],
                    },
                )
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            if self.path != "/token":
                self._send(404, {"error": "not_found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8", "replace")).items()}
            self._send(*issuer.grant(form, self.headers.get("Authorization")))

    return Handler


def start(port: int = 0) -> LocalIssuer:
    """The issuer on ``port`` (or a free one), with the local client from the environment, if set."""
    issuer = LocalIssuer(
        client_id=os.environ.get("OAUTH_CLIENT_ID", "local-vaic"),
        client_secret=os.environ.get("OAUTH_CLIENT_SECRET", "local-vaic-secret"),
    )
    try:
        return issuer.start(port)
    except OSError:
        return issuer.start(0)


def fetch_token(token_url: str, client_id: str, client_secret: str, scope: str | None = None) -> str:
    """What VAIC does before calling an OAuth bot: the client-credentials grant, HTTP Basic client auth."""
    import httpx

    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    answer = httpx.post(token_url, data=form, auth=(client_id, client_secret), timeout=10)
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token
