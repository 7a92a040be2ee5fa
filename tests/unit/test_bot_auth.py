"""OAuth 2.0 bot authentication: access tokens checked against a real (local) issuer's JWKS over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from audiocodes_devtools.oauth_issuer import LocalIssuer, fetch_token
from audiocodes_endpoint.channel.bot_auth import BotAuthenticator, KeySet, fetch_json, granted_scopes
from audiocodes_endpoint.config.endpoint import EndpointSettings, OAuth2Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    running = LocalIssuer().start()
    yield running
    running.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fetches() -> list[str]:
    return []


@pytest.fixture
def verifier(clock: Clock, fetches: list[str]) -> BotAuthenticator:
    def counted_fetch(url: str) -> dict:
        fetches.append(url)
        return fetch_json(url)  # the real HTTP fetch, counted

    return BotAuthenticator(fetch=counted_fetch, clock=clock)


def settings(local: LocalIssuer, **overrides) -> OAuth2Settings:
    values = {
        "issuer": local.url,
        "audience": "audiocodes-endpoint",
        "scopes": ["bot-api"],
        "jwks_url": f"{local.url}/jwks.json",
        **overrides,
    }
    return OAuth2Settings.model_validate(values)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict, payload: dict, signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"


def claims_of(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# --- accepted ----------------------------------------------------------------------------------------


def test_a_token_from_the_client_credentials_grant_is_accepted(issuer, verifier):
    token = fetch_token(issuer.token_url, issuer.client_id, issuer.client_secret, "bot-api")
    assert verifier.check_jwt(token, settings(issuer)).allowed


def test_scopes_may_come_as_scp_and_all_required_ones_must_be_granted(issuer, verifier):
    assert granted_scopes({"scope": "a b", "scp": ["c"]}) == {"a", "b", "c"}
    both = settings(issuer, scopes=["bot-api", "calls"])
    assert verifier.check_jwt(issuer.token(scope=None, scp=["bot-api", "calls"]), both).allowed
    assert verifier.check_jwt(issuer.token(scope="bot-api calls"), both).allowed


# --- refused: claims ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"lifetime": -120}, "expired"),
        ({"nbf": 4_000_000_000}, "not valid yet (nbf)"),
        ({"aud": "someone-else"}, "wrong audience"),
        ({"iss": "https://evil.example.com"}, "wrong issuer"),
        ({"scope": "profile"}, "missing scope 'bot-api'"),
        ({"exp": None}, "missing claim exp"),
        ({"aud": None}, "missing claim aud"),
    ],
)
def test_a_token_with_wrong_claims_is_refused(issuer, verifier, claims, reason):
    verdict = verifier.check_jwt(issuer.token(**claims), settings(issuer))
    assert (verdict.allowed, verdict.reason) == (False, reason)


def test_leeway_covers_small_clock_skew_only(issuer, verifier):
    assert verifier.check_jwt(issuer.token(lifetime=-10), settings(issuer, leeway_seconds=30)).allowed
    assert not verifier.check_jwt(issuer.token(lifetime=-10), settings(issuer, leeway_seconds=0)).allowed


# --- refused: signatures and algorithms ---------------------------------------------------------------


def test_a_tampered_payload_fails_the_signature(issuer, verifier):
    header, _payload, signature = issuer.token(scope="profile").split(".")
    payload = b64(json.dumps({**claims_of(issuer.token()), "scope": "bot-api"}).encode())
    verdict = verifier.check_jwt(f"{header}.{payload}.{signature}", settings(issuer))
    assert (verdict.allowed, verdict.reason) == (False, "invalid token (InvalidSignatureError)")


def test_alg_none_is_refused(issuer, verifier):
    token = forged({"alg": "none", "typ": "JWT", "kid": issuer.signing_kid}, claims_of(issuer.token()))
    verdict = verifier.check_jwt(token, settings(issuer))
    assert (verdict.allowed, verdict.reason) == (False, "algorithm 'none' not accepted")


def test_an_hmac_token_keyed_with_the_public_key_is_refused(issuer, verifier):
    # The classic HS/RS confusion: sign HS256 with the issuer's public key (PEM) as the HMAC secret
    public_pem = (
        issuer._keys[issuer.signing_kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.signing_kid}
    signing_input = forged(header, claims_of(issuer.token())).rsplit(".", 1)[0]
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(signature)}"
    assert verifier.check_jwt(token, settings(issuer)).reason == "algorithm 'HS256' not accepted"


def test_a_key_set_never_lends_out_a_symmetric_key(issuer):
    # Given a JWK Set that (wrongly) publishes an HMAC key next to the issuer's RSA key
    published = issuer.jwks()["keys"] + [{"kty": "oct", "kid": "oct-key", "k": b64(b"public-secret")}]
    key_set = KeySet("https://issuer/jwks.json", max_age=300, cooldown=30, fetch=lambda _url: {"keys": published})
    # Then only the RSA key can be used
    assert key_set.key("oct-key") is None
    assert key_set.key(issuer.signing_kid) is not None


def test_an_algorithm_the_key_does_not_declare_is_refused(issuer, verifier):
    # RS256 key, PS256 accepted by the endpoint: the JWK's "alg" still binds the key to RS256
    token = forged({"alg": "PS256", "kid": issuer.signing_kid}, claims_of(issuer.token()), b"x" * 256)
    verdict = verifier.check_jwt(token, settings(issuer, algorithms=["RS256", "PS256"]))
    assert verdict.reason == "algorithm does not fit the key"


def test_settings_accept_only_asymmetric_algorithms(issuer):
    with pytest.raises(ValueError, match="algorithms"):
        settings(issuer, algorithms=["HS256"])


def test_garbage_and_oversized_tokens_are_refused(issuer, verifier):
    assert verifier.check_jwt("not-a-jwt", settings(issuer)).reason == "not a JWT"
    assert verifier.check_jwt("a" * 9000, settings(issuer)).reason == "token too large"


# --- keys: unknown key id, rotation, caching ----------------------------------------------------------


def test_a_key_the_issuer_never_published_is_refused_after_one_refetch(issuer, verifier, fetches):
    stranger = LocalIssuer(url=issuer.url)  # same claims, its own key
    config = settings(issuer)
    assert verifier.check_jwt(issuer.token(), config).allowed
    verdict = verifier.check_jwt(stranger.token(headers={"kid": "rogue"}), config)
    assert (verdict.allowed, verdict.reason) == (False, "unknown key id")
    # the first fetch was within the cooldown: no refetch for a forged kid right after it
    assert len(fetches) == 1


def test_key_rotation_is_picked_up_with_one_refetch_and_refetches_are_rate_limited(issuer, verifier, fetches, clock):
    config = settings(issuer, jwks_refetch_cooldown_seconds=30)
    # Given keys cached a while ago
    assert verifier.check_jwt(issuer.token(), config).allowed
    clock.now += 60
    # When the issuer rotates and signs with the new key
    issuer.rotate()
    # Then the unknown kid fetches the set once more and the token is accepted
    assert verifier.check_jwt(issuer.token(), config).allowed
    assert len(fetches) == 2
    # And within the cooldown another unknown kid costs no fetch; after it, one
    stranger = LocalIssuer(url=issuer.url)
    assert not verifier.check_jwt(stranger.token(headers={"kid": "rogue-1"}), config).allowed
    assert len(fetches) == 2
    clock.now += 31
    assert not verifier.check_jwt(stranger.token(headers={"kid": "rogue-2"}), config).allowed
    assert len(fetches) == 3
    # And known kids never refetch inside max age
    for _ in range(5):
        assert verifier.check_jwt(issuer.token(), config).allowed
    assert len(fetches) == 3


def test_a_retired_key_stops_working_once_the_cache_expires(issuer, verifier, clock):
    config = settings(issuer, jwks_max_age_seconds=300)
    old_kid = issuer.signing_kid
    old_token = issuer.token()
    assert verifier.check_jwt(old_token, config).allowed
    issuer.rotate(retire_old=True)
    clock.now += 301
    assert issuer.signing_kid != old_kid
    assert verifier.check_jwt(old_token, config).reason == "unknown key id"


def test_an_unreachable_issuer_refuses_tokens_without_raising(issuer, clock):
    config = settings(issuer, jwks_url="http://127.0.0.1:9/jwks.json")
    verdict = BotAuthenticator(clock=clock).check_jwt(issuer.token(), config)
    assert (verdict.allowed, verdict.reason) == (False, "unknown key id")


# --- the endpoint: token mode unchanged, oauth2 needs its settings -------------------------------------


def test_endpoint_settings_require_the_credentials_of_their_auth_mode(issuer):
    with pytest.raises(ValueError, match="bot_token is required"):
        EndpointSettings(name="a", url_token="a", flow="main")
    with pytest.raises(ValueError, match=r"oauth2 .* is required"):
        EndpointSettings(name="a", url_token="a", flow="main", auth="oauth2")
    endpoint = EndpointSettings(name="a", url_token="a", flow="main", auth="oauth2", oauth2=settings(issuer))
    verifier = BotAuthenticator()
    assert verifier.check(endpoint, {"Authorization": f"Bearer {issuer.token()}"}).allowed
    assert verifier.check(endpoint, {}).reason == "no bearer token"
    assert not verifier.check(endpoint, {"Authorization": "Bearer local-demo-token"}).allowed


# --- anything at all as a bearer -----------------------------------------------------------------------


@settings_hypothesis(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    garbage=st.one_of(
        st.text(max_size=300),
        st.builds(lambda h, p, sig: f"{h}.{p}.{sig}", st.text(max_size=60), st.text(max_size=60), st.text(max_size=60)),
        st.builds(
            lambda header, body: forged(header, body),
            st.dictionaries(
                st.sampled_from(["alg", "kid", "typ", "crit", "jku"]),
                st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers())),
            ),
            st.dictionaries(st.text(max_size=5), st.integers()),
        ),
    )
)
def test_no_bearer_value_raises_or_gets_in(issuer, verifier, garbage):
    endpoint = EndpointSettings(name="a", url_token="a", flow="main", auth="oauth2", oauth2=settings(issuer))
    assert not verifier.check(endpoint, {"Authorization": f"Bearer {garbage}"}).allowed


def test_without_jwks_url_the_keys_are_found_through_the_issuers_metadata(issuer, verifier, fetches):
    config = settings(issuer, jwks_url=None)
    assert verifier.check_jwt(issuer.token(), config).allowed
    assert fetches == [f"{issuer.url}/.well-known/openid-configuration", f"{issuer.url}/jwks.json"]
    assert verifier.check_jwt(issuer.token(), config).allowed
    assert len(fetches) == 2  # discovered once, keys cached


def test_metadata_that_names_another_issuer_lends_no_keys(issuer, verifier):
    # Given settings whose issuer differs from what the metadata document says (OIDC Discovery 4.3)
    config = settings(issuer, issuer=issuer.url + "/", jwks_url=None)
    verdict = verifier.check_jwt(issuer.token(iss=issuer.url + "/"), config)
    assert (verdict.allowed, verdict.reason) == (False, "unknown key id")
