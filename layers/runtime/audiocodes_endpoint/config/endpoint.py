"""Endpoint settings (``agent/endpoints/*.yaml``) and the runtime environment.

Settings are validated once per process; a typo or a wrong type fails with the file and the key.
Secrets never live in the files: a setting names where the secret is (``config.secrets``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from audiocodes_endpoint.config.call_handling import (
    BotDelaySettings,
    CallEventSettings,
    OnErrorSettings,
    check_call_events,
    check_targets,
)
from audiocodes_endpoint.config.call_limits import SessionPolicySettings
from audiocodes_endpoint.config.data_protection import DataProtectionSettings
from audiocodes_endpoint.config.dialout import DialoutSettings
from audiocodes_endpoint.config.llm import LlmSettings
from audiocodes_endpoint.config.nlu import NluSettings
from audiocodes_endpoint.config.secrets import SecretRef
from audiocodes_endpoint.config.transformers import TransformerSettings
from audiocodes_endpoint.config.translation import TranslationSettings
from audiocodes_endpoint.config.validation import problems

_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::-(?P<default>[^}]*))?\}")

UrlToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
RESERVED_URL_TOKENS = frozenset({"inject", "notify", "conversation", "outbound"})
"""First path segments the APIs use themselves (``/inject/{URLToken}``, ``/notify/{URLToken}``)."""


class SettingsError(ValueError):
    """An endpoint file is missing, unreadable or invalid; the message names the file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionSettings(SessionPolicySettings):
    """``session:``: idle expiry here; the maximum call duration and its policy come from the base."""

    expires_seconds: int = Field(default=120, ge=10, le=3600)
    """``expiresSeconds`` told to VAIC; it refreshes the conversation about this often."""
    grace_seconds: int = Field(default=60, ge=0, le=3600)
    """How long past ``expires_seconds`` a silent session is kept before it answers 404."""

    @property
    def idle_seconds(self) -> int:
        return self.expires_seconds + self.grace_seconds


class FlowLimits(_Strict):
    max_steps: int = Field(default=200, ge=1, le=10_000)
    code_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    allow_private_network: bool = False
    """Let HTTP nodes reach loopback/private addresses (off: protects the VPC from flows).

    May be a ``${VAR:-false}`` reference: the demo turns it on only where the local emulator sets
    ``LOCAL_ALLOW_PRIVATE_NETWORK`` (its accounts stub listens on 127.0.0.1); deployed, it stays off."""

    @field_validator("allow_private_network", mode="before")
    @classmethod
    def _expand_environment(cls, value: Any) -> Any:
        return _expand(value) if isinstance(value, str) else value


AsymmetricAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class OAuth2Settings(_Strict):
    """``oauth2:`` with ``auth: oauth2``: VAIC's OAuth 2.0 bot authentication (client-credentials flow).

    VAIC gets an access token from the customer's authorization server (its ``oauthTokenUrl``,
    ``oauthScope``, ``credentials.oauthClientId/Secret``) and sends it as ``Authorization: Bearer``
    on every request; here that token must be a JWT signed by one of the issuer's keys (JWKS).
    ``${VAR:-default}`` in the URLs is expanded at load, as in ``variables``.
    """

    issuer: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    """The token's ``iss``, exactly."""
    audience: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    """Must be in the token's ``aud``."""
    jwks_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=1024)] | None = None
    """The issuer's JSON Web Key Set; unset: ``jwks_uri`` from ``<issuer>/.well-known/openid-configuration``."""
    scopes: list[Annotated[str, StringConstraints(pattern=r"^\S{1,256}$")]] = Field(default_factory=list)
    """Every one must be granted (``scope``, space-separated, or ``scp``)."""
    algorithms: list[AsymmetricAlgorithm] = Field(default=["RS256"], min_length=1)
    """Accepted signature algorithms: asymmetric only, so a public key can never act as an HMAC secret."""
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    """Clock skew allowed on ``exp`` and ``nbf``."""
    jwks_max_age_seconds: int = Field(default=300, ge=10, le=86_400)
    """Keys are fetched again after this long."""
    jwks_refetch_cooldown_seconds: int = Field(default=30, ge=1, le=3600)
    """A token naming an unknown key id fetches the set again at most this often (key rotation
    without letting forged key ids hammer the issuer)."""

    @field_validator("issuer", "audience", "jwks_url", mode="before")
    @classmethod
    def _expand_environment(cls, value: Any) -> Any:
        return _expand(value) if isinstance(value, str) else value


class EndpointSettings(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    url_token: UrlToken
    flow: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    auth: Literal["token", "oauth2"] = "token"
    """How VAIC authenticates: its permanent bearer token (``bot_token``), or OAuth 2.0 (``oauth2``)."""
    bot_token: SecretRef | None = None
    """Required with ``auth: token``."""
    oauth2: OAuth2Settings | None = None
    """Required with ``auth: oauth2``."""
    inject_api_key: SecretRef | None = None
    """Key for Inject & Notify on this endpoint (``X-API-Key`` / ``api_key``); unset: inject is off."""
    enabled: bool = True
    async_mode: bool = False
    default_region: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "US"
    """Region used to read caller numbers given in national form."""
    session: SessionSettings = SessionSettings()
    limits: FlowLimits = FlowLimits()
    variables: dict[str, str] = Field(default_factory=dict)
    """Exposed to flow templates as ``variables``; ``${ENV_VAR:-default}`` is expanded at load."""
    apology_text: Annotated[str, StringConstraints(min_length=1, max_length=500)] = (
        "Sorry, something went wrong on our side. Please call again later. Goodbye."
    )
    on_error: OnErrorSettings = OnErrorSettings()
    """When the flow fails: ``apology`` (``apology_text``, then hang up) or ``transfer`` (call failover)."""
    bot_delay: BotDelaySettings | None = None
    """VAIC's bot-delay filler for every call (``botNoInput*``), sent in the call's first answer."""
    call_events: Annotated[dict[str, CallEventSettings], AfterValidator(check_call_events)] = Field(
        default_factory=dict
    )
    """VAIC event or ``disconnect[:reasonCode]`` -> action (inject, flow, transfer, nothing)."""
    transformers: TransformerSettings = TransformerSettings()
    data_protection: DataProtectionSettings = DataProtectionSettings()
    nlu: NluSettings = NluSettings()
    translation: TranslationSettings = TranslationSettings()
    llm: LlmSettings | None = None
    """The language model of ``llm`` / ``llm_extract`` nodes; unset: they answer with their fallback."""
    dialout: DialoutSettings | None = None
    """Outbound calls through VAIC's dial-out API (``/outbound/<url_token>/calls``); unset: off."""

    @model_validator(mode="after")
    def _credentials_for_auth(self) -> EndpointSettings:
        if self.auth == "token" and self.bot_token is None:
            raise ValueError("bot_token is required with auth: token")
        if self.auth == "oauth2" and self.oauth2 is None:
            raise ValueError("oauth2 (issuer, audience, scopes) is required with auth: oauth2")
        return self

    @field_validator("url_token", mode="after")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.lower() in RESERVED_URL_TOKENS:
            raise ValueError(f"'{value}' is reserved for the endpoint's own routes")
        return value

    @field_validator("bot_token", "inject_api_key", mode="before")
    @classmethod
    def _reference_not_secret(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.match(r"^(env|ssm|secretsmanager):", value):
            raise ValueError("must be a reference (env:NAME, ssm:/path or secretsmanager:name), never the secret")
        return value

    @model_validator(mode="after")
    def _dialable_targets(self) -> EndpointSettings:
        check_targets(self.default_region, self.on_error, self.call_events)
        return self

    @field_validator("dialout", mode="before")
    @classmethod
    def _expand_dialout_urls(cls, value: Any) -> Any:
        # The demo's VAIC is a reference: the local stand-in under `make run`, a real one deployed.
        if isinstance(value, dict):
            return {
                k: _expand(v) if k in ("api_url", "token_url") and isinstance(v, str) else v for k, v in value.items()
            }
        return value

    @field_validator("variables", mode="after")
    @classmethod
    def _expand_environment(cls, value: dict[str, str]) -> dict[str, str]:
        return {key: _expand(text) for key, text in value.items()}


def _expand(text: str) -> str:
    """``${NAME}`` and ``${NAME:-default}``; as in the shell, an empty variable takes the default."""
    return _ENV_REFERENCE.sub(lambda m: os.environ.get(m["name"]) or m["default"] or "", text)


class RuntimeConfig(_Strict):
    """The process environment, read once (business logic never reads ``os.environ``)."""

    sessions_table: str = Field(min_length=1)
    agent_dir: Path
    analytics_table: str = ""
    """Turn records and transcripts; empty: analytics are not collected (e.g. in unit tests)."""
    # Async mode (empty when the deployment has no WebSocket API):
    websocket_url: str = ""
    """Where VAIC opens the side-channel, e.g. ``wss://abc.execute-api.eu-central-1.amazonaws.com/live``."""
    connections_url: str = ""
    """The management API for pushing to those sockets (``https://`` + the same host and stage)."""
    turn_queue_url: str = ""
    event_bus: str = "default"
    """EventBridge bus for outbound call statuses (``EVENT_BUS_NAME``)."""
    campaign_queue_url: str = ""
    """The outbound campaigns' pacing queue (``CAMPAIGN_QUEUE_URL``); empty: no campaigns."""
    initialization_type: str = ""
    """Lambda's AWS_LAMBDA_INITIALIZATION_TYPE: on-demand, provisioned-concurrency or snap-start."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RuntimeConfig:
        env = os.environ if environ is None else environ
        return cls(
            sessions_table=env.get("SESSIONS_TABLE", ""),
            analytics_table=env.get("ANALYTICS_TABLE", ""),
            agent_dir=Path(env.get("AGENT_DIR", "agent")),
            websocket_url=env.get("WEBSOCKET_URL", ""),
            connections_url=env.get("CONNECTIONS_URL", ""),
            turn_queue_url=env.get("TURN_QUEUE_URL", ""),
            initialization_type=env.get("AWS_LAMBDA_INITIALIZATION_TYPE", ""),
            event_bus=env.get("EVENT_BUS_NAME") or "default",
            campaign_queue_url=env.get("CAMPAIGN_QUEUE_URL", ""),
        )


def load_endpoints(agent_dir: Path) -> dict[str, EndpointSettings]:
    """All endpoints under ``agent_dir/endpoints``, keyed by URL token."""
    files = sorted((agent_dir / "endpoints").glob("*.yaml"))
    if not files:
        raise SettingsError(f"{agent_dir / 'endpoints'}: no endpoint files (*.yaml)")
    endpoints: dict[str, EndpointSettings] = {}
    for file in files:
        settings = _load_endpoint(file)
        if settings.url_token in endpoints:
            raise SettingsError(f"{file}: url_token: '{settings.url_token}' is already used by another endpoint")
        endpoints[settings.url_token] = settings
    return endpoints


def _load_endpoint(file: Path) -> EndpointSettings:
    import yaml  # only when endpoint files are read (first request), not at cold import

    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SettingsError(f"{file}: {error}") from error
    if not isinstance(document, dict):
        raise SettingsError(f"{file}: expected a mapping of settings")
    document.setdefault("name", file.stem)
    try:
        return EndpointSettings.model_validate(document)
    except ValidationError as error:
        raise SettingsError(f"{file}: {problems(error, top='(top level)')}") from error


@cache
def endpoints_for(agent_dir: Path) -> dict[str, EndpointSettings]:
    """Per-process cache of :func:`load_endpoints` (agent files do not change while a Lambda runs)."""
    return load_endpoints(agent_dir)
